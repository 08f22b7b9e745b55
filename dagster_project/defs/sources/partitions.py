"""One partition set per API source: its scopes (repositories, projects, boards, teams)."""

import re

import dagster as dg


def partitions_name(source: str) -> str:
    return "scopes_" + re.sub(r"[^A-Za-z0-9_]", "_", source)


def source_partitions(source: str) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=partitions_name(source))
