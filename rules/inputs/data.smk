# Input functions of the data rules (rules/data.smk).


def get_manifest_inputs(wildcards):
    """The demo folder (made by a rule), or a user's root with its listing of files."""
    if config["data"]["source"] == "demo":
        return {"root": DATA_ROOT}
    return {"root": DATA_ROOT, "listing": DATA_LISTING}


def get_split_inputs(wildcards):
    """The manifest and its QC table (for the preflight), and the patient lists when given: an
    edited list reruns the split."""
    return {
        "manifest": rules.manifest.output.manifest,
        "qc": rules.manifest.output.qc,
        **{f"list_{split}": path for split, path in SPLIT_LISTS.items()},
    }
