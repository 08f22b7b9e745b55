"""SprintProof ingestion: turns git, forge, tracker and telemetry sources into raw warehouse rows."""

__version__ = "0.1.0"
