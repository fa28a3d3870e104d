"""The documentation says what the project does: every command in a ```bash block of README.md
and docs/ works as written, and the configuration reference is the schema's.

Workflow commands are dry-run (`-n`), each distinct one once, in one copy of the workflow, with
HOME set to a folder whose `data/IDC_regular_ps50_idx5` is a tree with the real data set's
patients, so the documented `~/data/...` root exists; a benchmark's options must be ones its
--help lists; files a command reads must exist. A program no check knows fails the test, so a
new kind of command cannot slip through unchecked.
"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from make_full_scale_tree import FULL_SCALE, write_tree
from workflow_helpers import REPO, checkout_env, copy_workflow, default_config, dry_runs

from idc_synth.config_reference import SCHEMA, render

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^( *)```bash\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
# Commands documented but not run here, each with the reason.
NOT_RUN = {
    "python -m pytest": "the test suite itself",
    "curl": "a download (no network at test time); its URL is clean-fid's own",
}


def documented_commands() -> list[tuple[str, str]]:
    """(page, command) for every command of every ```bash block: continuation lines joined,
    comments dropped, `a && b` split into two commands."""
    found = []
    for page in PAGES:
        for match in FENCE.finditer(page.read_text()):
            block = match[2].replace("\\\n", " ")
            for line in block.splitlines():
                words = shlex.split(line, comments=True)
                command = []
                for word in [*words, "&&"]:
                    if word == "&&":
                        if command:
                            found.append((page.name, shlex.join(command)))
                        command = []
                    else:
                        command.append(word)
    return found


COMMANDS = documented_commands()


def test_the_docs_hold_commands_of_every_kind_checked_here():
    programs = {shlex.split(command)[0] for _, command in COMMANDS}
    assert {"snakemake", "pip", "python"} <= programs
    assert len(COMMANDS) >= 10


@pytest.fixture(scope="module")
def documented_home(tmp_path_factory) -> Path:
    """A HOME whose ~/data/IDC_regular_ps50_idx5 has the full set's 279 patients (4,000
    patches: the DAG depends on the patients, not on the patch count)."""
    home = tmp_path_factory.mktemp("home")
    idc = round(4000 * FULL_SCALE["idc"] / FULL_SCALE["patches"])
    root = home / "data" / "IDC_regular_ps50_idx5"
    write_tree(root, patches=4000, patients=FULL_SCALE["patients"], idc=idc, seed=0)
    return home


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory, documented_home):
    """The documented commands' dry runs, in one copy of the workflow (the default config);
    pages repeat commands, each distinct one runs once."""
    workdir = copy_workflow(tmp_path_factory.mktemp("docs"), default_config())
    return dry_runs(workdir, env={"HOME": str(documented_home)})


NO_GPU = "device: cuda, but this machine has no visible GPU; fix: "


def check_snakemake(words: list[str], dry_run) -> None:
    if "--rulegraph" in words:  # a drawing of the graph, on stdout (here, not into the file)
        run = dry_run(*words[1 : words.index(">") if ">" in words else None])
        assert run.returncode == 0 and "flowchart" in run.stdout, run.stderr[-3000:]
        assert "make_demo_data" in run.stdout and "write_summary" in run.stdout
        return
    arguments = [word for word in words[1:] if word != "-n"]
    run = dry_run(*arguments)
    if run.returncode and NO_GPU in run.stdout + run.stderr:
        # a GPU profile on a machine without one: refused as it should be; its plan is checked
        # with the expert's override, added to the command's own --config values
        if "--config" in arguments:
            arguments.insert(arguments.index("--config") + 1, "preflight=warn")
        else:
            arguments += ["--config", "preflight=warn"]
        run = dry_run(*arguments)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "Job stats:" in run.stdout + run.stderr or "Nothing to be done" in run.stdout


def check_python(words: list[str]) -> None:
    if words[1] == "-m":
        module = words[2]
        assert module in ("pytest", "idc_synth.config_reference"), f"unknown module {module}"
        return
    script = REPO / words[1]
    assert script.is_file(), f"{words[1]} does not exist"
    usage = script_usage(script)
    assert usage.returncode == 0, usage.stderr[-2000:]
    for option in (word.split("=")[0] for word in words[2:] if word.startswith("--")):
        assert option in usage.stdout, f"{words[1]} has no option {option}"


@functools.cache
def script_usage(script: Path) -> subprocess.CompletedProcess:
    """`python script --help`, once per script: the docs run one benchmark with many option
    sets, and each start imports torch."""
    return subprocess.run(
        [sys.executable, str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env=checkout_env(),
    )


def check_pip(words: list[str]) -> None:
    assert words[1] == "install"
    for index, word in enumerate(words):
        if word == "-r":
            assert (REPO / words[index + 1]).is_file(), f"{words[index + 1]} does not exist"
    pinned = [word for word in words[2:] if "==" in word]
    requirements = (REPO / "requirements.txt").read_text().split()
    assert all(pin in requirements for pin in pinned), f"{pinned} differ from requirements.txt"


@pytest.mark.workflow
@pytest.mark.parametrize(("page", "command"), COMMANDS)
def test_every_documented_command_works_as_written(page, command, dry_run):
    words = shlex.split(command)
    if words[0] == "PYTHONPATH=workflow_scripts":
        words = words[1:]
    if any(command.startswith(prefix) for prefix in NOT_RUN):
        return
    if words[0] == "snakemake":
        check_snakemake(words, dry_run)
    elif words[0] == "python":
        check_python(words)
    elif words[0] == "pip":
        check_pip(words)
    else:
        pytest.fail(f"{page}: no check knows how to run {command!r}; add one")


# An inline `--config ...` example in the prose, e.g. `--config 'split={preset: null}'`.
INLINE_CONFIG = re.compile(r"`(--config [^`]+)`")
CONFIG_EXAMPLES = sorted(
    {(page.name, match[1]) for page in PAGES for match in INLINE_CONFIG.finditer(page.read_text())}
)


def test_the_docs_show_config_examples_of_every_type():
    examples = " ".join(example for _, example in CONFIG_EXAMPLES)
    assert "seeds: [0, 1, 2, 3, 4]" in examples and "preset: null" in examples


@pytest.mark.workflow
@pytest.mark.parametrize(("page", "example"), CONFIG_EXAMPLES)
def test_every_inline_config_example_plans_as_written(page, example, dry_run):
    check_snakemake(["snakemake", *shlex.split(example)], dry_run)


def test_the_configuration_reference_is_the_schemas():
    page = (REPO / "docs/configuration.md").read_text()
    assert page == render(yaml.safe_load(SCHEMA.read_text())), (
        "docs/configuration.md is stale: PYTHONPATH=workflow_scripts python -m "
        "idc_synth.config_reference > docs/configuration.md"
    )


def test_the_reference_lists_every_key_with_its_default():
    schema = yaml.safe_load(SCHEMA.read_text())
    page = render(schema)
    assert "| `classifier.seeds` | `[0, 1, 2]` | list of (integer, ≥ 0), at least 1 |" in page
    assert "| `synthetic.generator_realizations` | `one` | `one` \\| `per_draw` |" in page
    # a key added to the schema appears in the page
    schema["properties"]["classifier"]["properties"]["new_key"] = {
        "description": "Added.",
        "type": "integer",
        "minimum": 2,
        "default": 3,
    }
    assert "| `classifier.new_key` | `3` | integer, ≥ 2 | Added. |" in render(schema)


def test_the_readme_stays_the_front_door():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for link in re.findall(r"docs/[\w-]+\.md", readme):
        assert (REPO / link).is_file(), f"README links {link}, which does not exist"
    for name in ("LICENSE", "CITATION.cff", "CHANGELOG.md"):
        assert (REPO / name).is_file()
