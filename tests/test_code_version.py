"""The code-version digest that reruns a rule when the idc_synth modules it imports change."""

from __future__ import annotations

import shutil
from pathlib import Path

from idc_synth.code_version import code_digest, library_files

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow_scripts"


def test_library_files_follow_imports_through_the_package():
    files = {
        path.relative_to(SCRIPTS).as_posix()
        for path in library_files(SCRIPTS / "train_diffusion.py", SCRIPTS)
    }
    # imported directly, and through idc_synth.diffusion.training
    assert {"idc_synth/diffusion/training.py", "idc_synth/checkpoint.py"} <= files
    assert "idc_synth/diffusion/__init__.py" in files
    assert "idc_synth/dcgan.py" not in files and "idc_synth/classifier.py" not in files


def test_digest_changes_with_imported_code_only_and_not_with_the_checkout(tmp_path):
    copy = Path(shutil.copytree(SCRIPTS, tmp_path / "workflow_scripts"))
    script = copy / "train_dcgan.py"
    before = code_digest(script, copy)
    assert before == code_digest(SCRIPTS / "train_dcgan.py", SCRIPTS)  # location-free
    unrelated = copy / "idc_synth" / "statistics.py"
    unrelated.write_text(unrelated.read_text() + "\n# edited\n")
    assert code_digest(script, copy) == before
    model = copy / "idc_synth" / "dcgan.py"
    model.write_text(model.read_text() + "\n# edited\n")
    assert code_digest(script, copy) != before
