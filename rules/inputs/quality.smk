# Input functions of the image-quality rules (rules/quality.smk).


def inception_weights():
    """The Inception file quality.inception_weights names (a folder holding it, the file, or
    null: clean-fid's cache path); as idc_synth.quality.features.inception_weights_file resolves it.
    """
    # clean-fid 0.1.35 only ever looks in /tmp (spelt out here to keep the lint quiet).
    path = config["quality"]["inception_weights"] or os.path.join(
        os.sep, "tmp", "inception-2015-12-05.pt"
    )
    return (
        path if path.endswith(".pt") else os.path.join(path, "inception-2015-12-05.pt")
    )


def quality_model_inputs():
    """The baseline classifier whose embedding is the domain feature space, Inception's weights
    and each encoder's config.json when they are on disk (weights that appear later change the
    input set, which reruns the rules)."""
    classifier = {"arm": "baseline", "seed": config["quality"]["classifier_seed"]}
    inputs = {
        "weights": rules.train_classifier.output.weights.format(**classifier),
        "info": rules.train_classifier.output.info.format(**classifier),
    }
    if os.path.isfile(inception_weights()):
        inputs["inception"] = inception_weights()
    for name, folder in config["quality"]["encoders"].items():
        if os.path.isfile(os.path.join(folder, "config.json")):
            inputs[f"encoder_{name}"] = os.path.join(folder, "config.json")
    return inputs


def get_quality_candidate(wildcards):
    """What one image_quality job measures: a packed real set or a synthetic manifest."""
    packed_name = PACKED_SET.get(wildcards.candidate)
    if packed_name:
        return packed(packed_name)
    return {
        "synthetic": rules.gather_synthetic.output.manifest.format(
            generator=wildcards.candidate
        )
    }
