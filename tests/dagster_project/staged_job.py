"""A reconstructable handle on the staged git job, so Dagster's multiprocess executor can rebuild it in each process."""

import os
from pathlib import Path

import dagster as dg

from dagster_project.defs.build import build_definitions


def staged_job() -> dg.JobDefinition:
    return build_definitions(Path(os.environ["SPRINTPROOF_CONFIG"])).resolve_job_def("ingest_git")
