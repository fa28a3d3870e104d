"""What the study is, in a few console lines, and the runs refused before their first job.

Printed and checked while the workflow loads (every command, `-n` included), from the config and
the data root's file names: a split that cannot be made, fewer test patients than the primary
test needs, or `device: cuda` where no GPU is visible would otherwise stop (or answer nothing)
hours later. Each refusal is one line naming the fix; `preflight: warn` prints it and goes on.
Light: the split's sizes come from idc_synth.split (pandas, which Snakemake has loaded already);
torch is imported only to look for a GPU when `device` is 'cuda'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idc_synth.presets import SPLITS, SplitError
from idc_synth.split import split_sizes

# The primary test's variance is over test patients (leave-one-patient-out pseudovalues): with
# fewer than two it is undefined, and the study can draw no conclusion.
MIN_TEST_PATIENTS = 2
CPU_ROUTE = (
    "run where a GPU is visible, or on this CPU at CPU-sized settings (not the full-scale ones "
    "with device: cpu): snakemake --profile profiles/idc-cpu --config 'data={root: ...}' "
    "(README: your own data, on a CPU)"
)


@dataclass(frozen=True)
class Refusal:
    problem: str
    fix: str

    def line(self) -> str:
        return f"{self.problem}; fix: {self.fix}"


def planned_sizes(
    source: str, n_patients: int, fractions: Mapping[str, float], fitted: Mapping | None
) -> tuple[dict[str, int] | None, Refusal | None]:
    """Patients per split as the split job will make them (the lists' fit, or the stratified
    split's sizes from the patient count), or the refusal of a split that cannot be made."""
    if fitted is not None:
        return dict(fitted), None
    try:
        return split_sizes(n_patients, dict(fractions)), None
    except SplitError as error:
        more = "raise demo.n_patients" if source == "demo" else "add patients to data.root"
        return None, Refusal(f"split: {error}", more)


def list_refusal(split: Mapping[str, Any], error: str | None) -> Refusal | None:
    """A preset or patient lists with no listed patient of some split in the root."""
    if error is None:
        return None
    if split["preset"]:
        fix = (
            "split.preset: null (a stratified split of the root's patients): "
            "--config 'split={preset: null}'"
        )
    else:
        fix = "list patients of data.root in split.patient_lists, or set split.patient_lists: null"
    return Refusal(f"split: {error}", fix)


def too_few_test_patients(source: str, sizes: Mapping[str, int]) -> Refusal | None:
    if sizes["test"] >= MIN_TEST_PATIENTS:
        return None
    if source == "demo":
        fix = "raise demo.n_patients"
    else:
        fix = "add patients to data.root, or raise split.fractions.test (stratified split)"
    return Refusal(
        f"{sizes['test']} test patient(s): the primary test needs at least {MIN_TEST_PATIENTS} "
        "(its variance is over test patients), so this study cannot conclude",
        fix,
    )


def gpu_visible() -> bool:
    import torch  # only for device: cuda; seconds, once per command

    return torch.cuda.is_available()


def device_refusal(device: str, scheduled: bool, visible=gpu_visible) -> Refusal | None:
    """`device: cuda` where jobs run on this machine (no cluster scheduler places them) and it
    has no GPU."""
    if device != "cuda" or scheduled or visible():
        return None
    return Refusal("device: cuda, but this machine has no visible GPU", CPU_ROUTE)


def study_lines(
    config: Mapping[str, Any], split: str, sizes: Mapping[str, int] | None, origin: str
) -> list[str]:
    """The study in a few lines: where its config comes from, data, split, design."""
    data = config["data"]
    root = "results/data/demo (generated)" if data["source"] == "demo" else data["root"]
    patients = (
        ", ".join(f"{name} {sizes[name]}" for name in SPLITS)
        if sizes
        else "decided by the split job"
    )
    return [
        f"Study ({origin}):",
        f"  data.source  {data['source']}",
        f"  data.root    {root}",
        f"  split        {split}; patients {patients}",
        f"  design       arms {', '.join(config['arms'])}; classifier seeds "
        f"{', '.join(map(str, config['classifier']['seeds']))}; device {config['device']}",
    ]


def profile_named(argv: Sequence[str], environ: Mapping[str, str]) -> str | None:
    """The --profile of this command (the last one given), or $SNAKEMAKE_PROFILE."""
    named = environ.get("SNAKEMAKE_PROFILE")
    for index, word in enumerate(argv):
        if word == "--profile" and index + 1 < len(argv):
            named = argv[index + 1]
        elif word.startswith("--profile="):
            named = word.partition("=")[2]
    return named


def replaced_configfiles(profile_files: Sequence[str], loaded: Sequence[Path]) -> str | None:
    """A warning when the command's --configfile replaced the profile's `configfiles` (Snakemake
    lets a command-line option replace a profile's value, lists included), with the fix."""
    wanted = [Path(name).absolute() for name in profile_files]
    if not wanted or [Path(path).absolute() for path in loaded][: len(wanted)] == wanted:
        return None
    listed = " ".join(profile_files)
    return (
        f"--configfile replaced the profile's configfiles ({listed}), whose settings this "
        f"study does not use; to add yours on top, list them first: --configfile {listed} "
        "yours.yaml"
    )
