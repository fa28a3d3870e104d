# IDC-Synth: does synthetic data (DCGAN, latent diffusion) improve an IDC patch classifier?
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"  # first: checks the config before any rule exists
include: "rules/data.smk"


# each generator's rules (the generator contract, rules/common.smk)
for generator in GENERATORS:

    include: f"rules/{generator}.smk"


include: "rules/synthetic.smk"
include: "rules/classifier.smk"
include: "rules/evaluate.smk"
include: "rules/quality.smk"
include: "rules/statistics.smk"
include: "rules/robustness.smk"
include: "rules/sweep.smk"
include: "rules/figures.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
