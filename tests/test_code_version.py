"""The code-version digest that reruns a rule when the idc_synth modules it imports change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from idc_synth.code_version import code_digest, imported_files, library_files

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow_scripts"


def test_library_files_follow_imports_through_the_package():
    files = {
        path.relative_to(SCRIPTS).as_posix()
        for path in library_files(SCRIPTS / "train_diffusion.py", SCRIPTS)
    }
    # imported directly, and through idc_synth.diffusion.training
    assert {"idc_synth/diffusion/training.py", "idc_synth/checkpoint.py"} <= files
    assert "idc_synth/diffusion/__init__.py" in files
    assert not any(file.startswith("idc_synth/dcgan/") for file in files)
    assert "idc_synth/classifier.py" not in files


def test_library_files_of_the_dcgan_scripts_hold_the_dcgan_package_modules_they_import():
    def files(script: str) -> set[str]:
        paths = library_files(SCRIPTS / script, SCRIPTS)
        return {path.relative_to(SCRIPTS).as_posix() for path in paths}

    package = {"idc_synth/dcgan/__init__.py", "idc_synth/dcgan/model.py"}
    train = files("train_dcgan.py")
    # training imported directly, and model both directly and through dcgan.training
    assert package | {"idc_synth/dcgan/training.py", "idc_synth/checkpoint.py"} <= train
    sample = files("sample_dcgan.py")
    assert package <= sample
    assert "idc_synth/dcgan/training.py" not in sample


def test_digest_changes_with_imported_code_only_and_not_with_the_checkout(tmp_path):
    copy = Path(shutil.copytree(SCRIPTS, tmp_path / "workflow_scripts"))
    script = copy / "train_dcgan.py"
    before = code_digest(script, copy)
    assert before == code_digest(SCRIPTS / "train_dcgan.py", SCRIPTS)  # location-free
    unrelated = copy / "idc_synth" / "statistics.py"
    unrelated.write_text(unrelated.read_text() + "\n# edited\n")
    assert code_digest(script, copy) == before
    sampler = copy / "sample_dcgan.py"
    sampled = code_digest(sampler, copy)
    # train_dcgan runs both dcgan modules; sample_dcgan runs model.py only
    for module, resamples in (("training.py", False), ("model.py", True)):
        edited = copy / "idc_synth" / "dcgan" / module
        edited.write_text(edited.read_text() + "\n# edited\n")
        after = code_digest(script, copy)
        assert after != before, module
        assert (code_digest(sampler, copy) != sampled) == resamples, module
        before, sampled = after, code_digest(sampler, copy)


def test_a_checkpoint_removes_the_state_of_other_code_versions(tmp_path):
    from idc_synth.checkpoint import load_checkpoint, save_checkpoint

    job = tmp_path / "state/classifiers/baseline/seed0"
    for old in ("code-aaaa", "code-bbbb"):
        (job / old).mkdir(parents=True)
        (job / old / "checkpoint.pt").write_bytes(b"stale")
    (job / "notes").mkdir()  # not a code-version folder: kept
    current = job / "code-cccc" / "checkpoint.pt"
    save_checkpoint(current, {"step": 3})
    assert sorted(p.name for p in job.iterdir()) == ["code-cccc", "notes"]
    assert load_checkpoint(current) == {"step": 3}
    # a checkpoint outside a code-version folder (tests, direct calls) prunes nothing
    save_checkpoint(tmp_path / "plain" / "checkpoint.pt", {"step": 1})
    assert (job / "notes").is_dir()


def test_the_figure_rules_digest_every_module_of_the_figures_package(tmp_path):
    """plot_figure imports idc_synth.figures; each topic module of the package counts, so an
    edited figure function redraws its figures."""
    copy = Path(shutil.copytree(SCRIPTS, tmp_path / "workflow_scripts"))
    script = copy / "plot_figure.py"
    package = copy / "idc_synth" / "figures"
    files = {
        path.relative_to(package).as_posix()
        for path in library_files(script, copy)
        if path.is_relative_to(package)
    }
    assert files == {path.name for path in package.glob("*.py")}
    before = code_digest(script, copy)
    training = package / "training.py"
    training.write_text(training.read_text() + "\n# edited\n")
    assert code_digest(script, copy) != before


def test_relative_imports_inside_a_package_are_followed(tmp_path):
    package = tmp_path / "idc_synth" / "pkg"
    package.mkdir(parents=True)
    (tmp_path / "idc_synth" / "__init__.py").write_text("")
    (tmp_path / "idc_synth" / "top.py").write_text("X = 1\n")
    (package / "__init__.py").write_text("from .a import A\n")
    (package / "a.py").write_text("from . import b\nfrom ..top import X\nA = 1\n")
    (package / "b.py").write_text("B = 1\n")
    (tmp_path / "script.py").write_text("from idc_synth.pkg import A\n")
    files = {
        p.relative_to(tmp_path).as_posix() for p in library_files(tmp_path / "script.py", tmp_path)
    }
    assert files == {
        "idc_synth/__init__.py",
        "idc_synth/top.py",
        "idc_synth/pkg/__init__.py",
        "idc_synth/pkg/a.py",
        "idc_synth/pkg/b.py",
    }


def test_the_summary_rule_digests_its_wording_template(tmp_path):
    """write_summary's wording is idc_synth/report/summary.md.j2: its module's template counts
    as code, by its path inside the scripts folder, so a moved checkout keeps its digest."""
    copy = Path(shutil.copytree(SCRIPTS, tmp_path / "workflow_scripts"))
    script = copy / "write_summary.py"
    template = copy / "idc_synth" / "report" / "summary.md.j2"
    assert template in library_files(script, copy)
    assert template not in library_files(copy / "train_classifier.py", copy)
    assert template not in library_files(copy / "cost_table.py", copy)  # same package
    before = code_digest(script, copy)
    template.write_text(template.read_text().replace("# IDC-Synth: summary", "# Summary"))
    assert code_digest(script, copy) != before


def test_the_library_import_graph_has_no_cycle():
    """A module never imports, directly or through others, a module that imports it (a
    package's __init__.py aside: importing a submodule runs it); and only the report layer
    imports idc_synth.report."""
    files = [path for path in (SCRIPTS / "idc_synth").rglob("*.py") if path.name != "__init__.py"]
    graph = {
        path: {f for f in imported_files(path, SCRIPTS) if f.name != "__init__.py"} - {path}
        for path in files
    }
    done: set[Path] = set()

    def visit(path: Path, stack: list[Path]) -> None:
        for module in graph.get(path, ()):
            assert module not in stack, " -> ".join(p.stem for p in [*stack, module])
            if module not in done:
                visit(module, [*stack, module])
        done.add(path)

    for path in files:
        visit(path, [path])
    # the report layer sits on top: no library module outside it imports it (entry scripts,
    # outside the package, may)
    report = SCRIPTS / "idc_synth" / "report"
    upward = [
        f"{path.relative_to(SCRIPTS)} -> {module.relative_to(SCRIPTS)}"
        for path in files
        if not path.is_relative_to(report)
        for module in imported_files(path, SCRIPTS)
        if module.is_relative_to(report)
    ]
    assert upward == []


def test_the_quality_rules_digest_the_quality_modules_they_run():
    def files(script: str) -> set[str]:
        paths = library_files(SCRIPTS / script, SCRIPTS)
        return {path.relative_to(SCRIPTS).as_posix() for path in paths}

    package = "idc_synth/quality/"
    gather = files("gather_image_quality.py")
    assert {f"{package}intervals.py", f"{package}metrics.py", f"{package}table.py"} <= gather
    assert f"{package}features.py" not in gather  # no feature extraction: a new extractor
    measure = files("image_quality.py")  # reruns the extraction jobs, not the gather
    assert {f"{package}features.py", f"{package}assess.py", f"{package}metrics.py"} <= measure
    assert {f"{package}table.py", f"{package}features.py"} <= files("quality_reference.py")


@pytest.mark.parametrize("script", ["train_dcgan.py", "train_diffusion.py"])
def test_a_generator_digests_the_quality_over_training_math_not_the_quality_table(script):
    """Training scores its snapshots with block-mean pixels, FID and seeded subsets: an edit to
    those retrains, an edit to the image-quality table, its encoders or its extractors does not."""
    paths = {
        path.relative_to(SCRIPTS).as_posix() for path in library_files(SCRIPTS / script, SCRIPTS)
    }
    package = "idc_synth/quality/"
    assert {f"{package}{name}.py" for name in ("pixels", "metrics", "subsets")} <= paths
    for name in ("table", "encoders", "features", "assess", "sampling", "intervals"):
        assert f"{package}{name}.py" not in paths, name
