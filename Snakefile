# emorepro: re-run the experiments of four audio-visual emotion-recognition papers.
# Thin root: version gate, config (validated: a typo stops `snakemake -n` naming the key),
# one rule file per stage, target list.
from snakemake.utils import min_version

min_version("9.0")


configfile: "benchmarks/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/postprocess.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/tables.smk"


rule all:
    default_target: True
    input:
        all_targets,
