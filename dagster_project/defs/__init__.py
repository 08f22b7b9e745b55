"""Dagster definitions of SprintProof, one folder per area with the same file names: assets, partitions, resources, checks, schedules, sensors."""

import warnings

import dagster as dg

# Single-run backfills (one run over all of a source's partitions) are marked beta; SprintProof
# relies on them deliberately, so the warning would only be noise in every command's output.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
