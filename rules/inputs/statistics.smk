# Input functions and settings of the statistics rules (rules/statistics.smk).


def primary_family_size():
    """How many comparisons the primary family decides: idc_synth.arms.comparisons' count (which
    classic arm is best, chosen on val later, does not change it)."""
    return len(comparisons(ARMS, CLASSIC_ARMS[0] if CLASSIC_ARMS else None)[0])
