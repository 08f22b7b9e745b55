"""The metric definitions registry, read from definitions.yaml: id, version, unit, meaning, reference bands."""

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

UNITS = frozenset(
    {
        "share",
        "ratio",
        "count",
        "hours",
        "per_100_points",
        "per_kloc",
        "per_pr",
        "per_day",
        "lines",
        "points",
    }
)
FAMILIES = ("ai", "delivery", "quality", "flow", "dora", "durability", "guard")


@dataclass(frozen=True)
class Band:
    label: str
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Definition:
    id: str
    version: int
    family: str
    name: str
    unit: str
    better: str
    numerator: str
    denominator: str | None
    description: str
    bands: tuple[Band, ...] = ()


@functools.cache
def definitions() -> dict[str, Definition]:
    """Every metric definition by id (validated once per process)."""
    # The safe loader, in C where PyYAML has it (a tenth of the pure-Python loader's time).
    raw = yaml.load(
        resources.files("metrics").joinpath("definitions.yaml").read_text(encoding="utf-8"),
        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
    )
    found: dict[str, Definition] = {}
    for item in raw["metrics"]:
        definition = _build(item)
        if definition.id in found:
            raise ValueError(f"metrics/definitions.yaml: metric {definition.id!r} is defined twice")
        found[definition.id] = definition
    return found


def definition(metric_id: str) -> Definition:
    try:
        return definitions()[metric_id]
    except KeyError:
        raise KeyError(f"no metric definition {metric_id!r} in metrics/definitions.yaml") from None


def _build(item: dict[str, Any]) -> Definition:
    where = f"metrics/definitions.yaml: {item.get('id', '?')}"
    if item.get("unit") not in UNITS:
        raise ValueError(f"{where}: unit {item.get('unit')!r} is not one of {sorted(UNITS)}")
    if item.get("family") not in FAMILIES:
        raise ValueError(f"{where}: family {item.get('family')!r} is not one of {FAMILIES}")
    if item.get("better") not in ("up", "down", "none"):
        raise ValueError(f"{where}: better must be up, down or none")
    return Definition(
        id=str(item["id"]),
        version=int(item["version"]),
        family=str(item["family"]),
        name=str(item["name"]),
        unit=str(item["unit"]),
        better=str(item["better"]),
        numerator=str(item["numerator"]),
        denominator=None if item.get("denominator") is None else str(item["denominator"]),
        description=str(item["description"]).strip(),
        bands=tuple(
            Band(str(b["label"]), b.get("low"), b.get("high")) for b in item.get("bands", [])
        ),
    )
