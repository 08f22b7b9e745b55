"""The Dagster entry point: `defs`, built from the configuration SprintProof finds (see docs/operations.md)."""

from dagster_project.defs.build import build_definitions

defs = build_definitions()
