"""Cross-cutting run policy: the warehouse writer pool, retries, and the instance settings that enforce them."""

import dagster as dg

# Every asset that writes the DuckDB file runs in this pool; the instance limits it to one slot,
# so writers are serialised (DuckDB allows one writer per file).
WAREHOUSE_POOL = "sprintproof_warehouse"

# Connectors already retry requests with backoff; a step retry covers a killed process or a lock.
STEP_RETRY = dg.RetryPolicy(max_retries=1, delay=30, backoff=dg.Backoff.EXPONENTIAL)

INSTANCE_YAML = """\
# Written by SprintProof: the Dagster instance for this workspace.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4
"""
