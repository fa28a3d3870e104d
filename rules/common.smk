# Wiring shared by all rules: wildcard constraints, config lookups, input functions.
SPLITS = ("train", "val", "test")
ARMS = config["arms"]
SEEDS = config["classifier"]["seeds"]
DEMO_ROOT = "results/data/demo"


wildcard_constraints:
    split="|".join(SPLITS),
    arm="|".join(ARMS),
    seed=r"\d+",


def data_root():
    """The folder the manifest scans: the generated demo set or the user's data."""
    if config["data"]["source"] == "demo":
        return DEMO_ROOT
    return config["data"]["root"]


def packed(split):
    """Both files of a packed split, named for a rule's input."""
    return {
        f"{split}_images": f"results/data/packed/{split}.npy",
        f"{split}_table": f"results/data/packed/{split}.parquet",
    }


def classifier_settings(wildcards):
    """Training settings for one arm and seed, as TrainSettings fields."""
    settings = {
        key: config["classifier"][key]
        for key in (
            "arch",
            "max_epochs",
            "batch_size",
            "learning_rate",
            "weight_decay",
            "patience",
        )
    }
    return {**settings, "seed": int(wildcards.seed)}
