"""SprintProof metrics: Polars transforms from raw warehouse tables to per-sprint marts."""
