"""Per-source secret resources: each `*_env` key of an API source becomes a Dagster EnvVar."""

import re

import dagster as dg

from dagster_project.defs.warehouse.resources import SourceSecrets
from ingestion.connectors import SourceSettings


def secrets_key(source: str) -> str:
    return "secrets_" + re.sub(r"[^A-Za-z0-9_]", "_", source)


def source_secrets(settings: SourceSettings) -> SourceSecrets:
    """The source's secrets as EnvVars (unset variables fail when a run starts, naming the variable)."""
    names = {
        key: getattr(settings, f"{key}_env", None) for key in ("token", "email", "private_key")
    }
    if getattr(settings, "replay_dir", None):
        names = {key: None for key in names}  # a replayed source needs no credentials
    values = {key: dg.EnvVar(name) for key, name in names.items() if name}
    return SourceSecrets(
        token_env=names["token"],
        email_env=names["email"],
        private_key_env=names["private_key"],
        **values,  # type: ignore[arg-type]
    )
