"""The study's arms: what each classifier trains on besides the real train patches.

- ``baseline``: real train patches with the dihedral flips every arm gets;
- a generator arm (``dcgan``, ``diffusion``): plus that generator's synthetic patches;
- a classic augmentation arm, no generator, the same equal-steps budget: ``stain`` (HED stain
  jitter, Tellez et al. 2019), ``rebalance`` (class-balanced sampling of the real train set)
  or ``mixup`` (Zhang et al. 2018);
- a combined arm ``<generator>+<classic>`` (e.g. ``diffusion+stain``): a generator's patches
  on top of a classic augmentation, to tell whether synthetic data adds anything beyond it;
- a train-on-synthetic arm ``<generator>_only``: that generator's patches and nothing real;
- a selected arm ``<generator>_<selection>`` (e.g. ``diffusion_confident``): as many of that
  generator's patches as its plain arm, kept from a larger sampled pool by a score of models
  that saw only the train split (``SELECTIONS``, idc_synth.selection).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from idc_synth.defaults import schema_generators

BASELINE = "baseline"
# The generators: the config sections the schema marks x-generator (docs/generators.md).
GENERATORS = schema_generators()
CLASSIC = ("stain", "rebalance", "mixup")
COMBINE = "+"
SYNTHETIC_ONLY = "_only"
# A selected arm's suffix -> its score: the confidence of a real-data classifier in the patch's
# intended class, or the realism score (Kynkäänniemi et al. 2019) in that classifier's embedding.
SELECTIONS = {"confident": "confidence", "realistic": "realism"}
# Display order: the reference, then what the study asks about, then what it compares with.
_KIND_ORDER = {
    "baseline": 0,
    "generator": 1,
    "selected": 2,
    "combined": 3,
    "classic": 4,
    "synthetic_only": 5,
}


@dataclass(frozen=True)
class Arm:
    name: str
    generator: str | None
    classic: str | None
    synthetic_only: bool = False
    selection: str | None = None  # a key of SELECTIONS

    @classmethod
    def parse(cls, name: str) -> Arm:
        if name == BASELINE:
            return cls(name, None, None)
        if name.endswith(SYNTHETIC_ONLY) and name.removesuffix(SYNTHETIC_ONLY) in GENERATORS:
            return cls(name, name.removesuffix(SYNTHETIC_ONLY), None, synthetic_only=True)
        generator, _, selection = name.rpartition("_")
        if generator in GENERATORS and selection in SELECTIONS:
            return cls(name, generator, None, selection=selection)
        parts = name.split(COMBINE)
        generator = next((part for part in parts if part in GENERATORS), None)
        classic = next((part for part in parts if part in CLASSIC), None)
        known = [generator, classic] if len(parts) == 2 else [generator or classic]
        if parts != [part for part in known if part]:
            raise ValueError(
                f"unknown arm {name!r}: expected {BASELINE!r}, a generator {GENERATORS}, a "
                f"classic augmentation {CLASSIC}, '<generator>{COMBINE}<classic>' or "
                f"'<generator>_<selection>' (selections {tuple(SELECTIONS)})"
            )
        return cls(name, generator, classic)

    @property
    def kind(self) -> str:
        if self.name == BASELINE:
            return "baseline"
        if self.synthetic_only:
            return "synthetic_only"
        if self.selection:
            return "selected"
        if self.generator and self.classic:
            return "combined"
        return "generator" if self.generator else "classic"


def arm_sort_key(arm: str) -> tuple[int, str]:
    """The order arms appear in every table and figure: the baseline, the generator arms, the
    combined ones, the classic augmentations, then other names (e.g. the data-efficiency map's
    cells, "dcgan@0.5"), each by name."""
    try:
        return (_KIND_ORDER[Arm.parse(arm).kind], arm)
    except ValueError:
        return (len(_KIND_ORDER), arm)


def arms_of_kind(arms: Iterable[str], kind: str) -> list[str]:
    return [arm for arm in arms if Arm.parse(arm).kind == kind]


def selected_sets(arms: Iterable[str]) -> list[str]:
    """The selected arms, each also the name of its synthetic set (results/synthetic/<name>)."""
    return arms_of_kind(arms, "selected")


def study_generators(arms: Iterable[str]) -> list[str]:
    """The generators any (real-data) arm samples from, in GENERATORS order."""
    used = {Arm.parse(arm).generator for arm in arms}
    return [generator for generator in GENERATORS if generator in used]


def comparisons(
    arms: Iterable[str], best_classic: str | None = None
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(primary family, secondary pairs) of (arm_a, arm_b), differences arm_a - arm_b.

    The family decides: every generator arm vs the baseline, every generator arm vs
    ``best_classic`` (the classic augmentation arm chosen on val, see ``best_classic_arm``),
    and every combined arm vs its classic augmentation (does synthetic data add anything
    beyond it?). Secondary: generator vs generator, each classic and combined arm vs the
    baseline, each combined arm vs its generator. Without a baseline the generator pairs are
    the family (there is nothing else to decide). A selected arm is decided against the
    baseline and against its generator's plain arm (does selecting help?)."""
    arms = list(dict.fromkeys(arms))
    generators = arms_of_kind(arms, "generator")
    combined = [Arm.parse(arm) for arm in arms_of_kind(arms, "combined")]
    pairs = [(b, a) for i, a in enumerate(generators) for b in generators[i + 1 :]]
    if BASELINE not in arms:
        return pairs, []
    family = [(arm, BASELINE) for arm in generators]
    if best_classic is not None:
        family += [(arm, best_classic) for arm in generators]
    family += [(arm.name, arm.classic) for arm in combined if arm.classic in arms]
    for arm in map(Arm.parse, selected_sets(arms)):
        family.append((arm.name, BASELINE))
        if arm.generator in arms:
            family.append((arm.name, arm.generator))
    secondary = [
        *pairs,
        *((arm, BASELINE) for arm in arms_of_kind(arms, "classic")),
        *((arm.name, BASELINE) for arm in combined),
        *((arm.name, arm.generator) for arm in combined if arm.generator in arms),
    ]
    return family, secondary
