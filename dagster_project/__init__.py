"""SprintProof composition root: configuration, the CLI, and (later) Dagster definitions."""
