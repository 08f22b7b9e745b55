"""Running the whole graph once, in process: the same assets the schedule runs, in order, with timings per asset."""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg

from dagster_project.defs.automation.schedules import range_tags
from dagster_project.defs.build import build_definitions, desired_partitions
from dagster_project.defs.policy import INSTANCE_YAML
from dagster_project.defs.report.assets import BOARD_PACK
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.runtime import Settings

# The CLI prints its own progress; Dagster's step-by-step console log stays in the instance's event log.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunReport:
    seconds: dict[str, float] = field(
        default_factory=dict
    )  # run (raw asset or "derive") -> wall seconds
    steps: dict[str, float] = field(default_factory=dict)  # step (asset or check) -> seconds
    metadata: dict[str, dict[str, object]] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)  # check name -> passed
    check_notes: dict[str, str] = field(default_factory=dict)  # check name -> what it found
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def instance_for(rt: Settings) -> dg.DagsterInstance:
    """The workspace's persistent Dagster instance (runs show up in the UI), created on first use."""
    home = rt.config.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    settings_file = home / "dagster.yaml"
    if not settings_file.exists() or settings_file.read_text() != INSTANCE_YAML:
        settings_file.write_text(INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def run_all(
    rt: Settings,
    *,
    instance: dg.DagsterInstance | None = None,
    on_step: Callable[[str, str], None] | None = None,
) -> RunReport:
    """Materialise every raw asset over all its partitions, then links, marts and the snapshot."""
    defs = build_definitions(rt.path)
    instance = instance or instance_for(rt)
    warehouse = WarehouseResource(config_path=str(rt.path) if rt.path else None)
    for name, keys in desired_partitions(warehouse).items():
        current = set(instance.get_dynamic_partitions(name))
        missing = [k for k in keys if k not in current]
        if missing:
            instance.add_dynamic_partitions(name, missing)
    report = RunReport()
    graph = defs.resolve_asset_graph()
    all_assets = [
        a
        for a in [*(defs.assets or []), *(defs.asset_checks or [])]
        if isinstance(a, dg.AssetsDefinition)
    ]
    raw_keys = [k for k in graph.get_all_asset_keys() if k.path[0] == "raw"]
    plan: list[tuple[str, list[dg.AssetKey], dict[str, str]]] = []
    for key in sorted(raw_keys, key=lambda k: (k.path[1] != "git", k.to_user_string())):
        partitions = graph.get(key).partitions_def
        keys = (
            instance.get_dynamic_partitions(str(partitions.name))
            if isinstance(partitions, dg.DynamicPartitionsDefinition)
            else []
        )
        if partitions is None:
            plan.append(
                (key.to_user_string(), [key], {})
            )  # staged git: fan-out happens inside the asset
        elif keys:
            plan.append((key.to_user_string(), [key], range_tags(list(keys))))
    derived = [k for k in graph.get_all_asset_keys() if k.path[0] != "raw"]
    # The board pack needs a browser and a closed sprint: the schedule, the sensor or `sprintproof report` make it.
    derived = [k for k in derived if k != BOARD_PACK]
    plan.append(("derive", derived, {}))
    resources = defs.resources or {}
    for label, selection, tags in plan:
        if label == "derive" and report.failed:
            # The snapshot is published only by successful runs; a failed source leaves it as it was.
            if on_step:
                on_step("skipped", label)
            break
        if on_step:
            on_step("start", label)
        started = time.perf_counter()
        chosen = dg.AssetSelection.assets(*selection) | dg.AssetSelection.checks_for_assets(
            *selection
        )
        result = dg.materialize(all_assets, selection=chosen, instance=instance, tags=tags, resources=resources,
                                run_config=QUIET, raise_on_error=False)  # fmt: skip
        report.seconds[label] = time.perf_counter() - started
        for event in result.all_events:
            if event.is_step_success:
                duration = getattr(event.event_specific_data, "duration_ms", None) or 0.0
                step = event.step_key or "?"
                report.steps[step] = report.steps.get(step, 0.0) + duration / 1000
            elif event.is_step_failure:
                error = getattr(event.event_specific_data, "error", None)
                user = getattr(event.event_specific_data, "user_failure_data", None)
                message = getattr(user, "description", None) or (
                    error.message.strip() if error else "failed"
                )
                report.errors.append(f"{label}: {message}")
            elif event.is_step_materialization:
                mat = event.step_materialization_data.materialization
                report.metadata[mat.asset_key.to_user_string()] = {
                    k: v.value for k, v in mat.metadata.items()
                }
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"  # type: ignore[union-attr]
                report.checks[name] = bool(evaluation.passed)  # type: ignore[union-attr]
                report.check_notes[name] = evaluation.description or ""  # type: ignore[union-attr]
        if not result.success:
            report.failed.append(label)
        if on_step:
            on_step("done" if result.success else "failed", label)
    return report
