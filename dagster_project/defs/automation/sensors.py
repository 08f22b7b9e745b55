"""Sensors: keep partitions in step with the configuration, and report failed runs."""

from collections.abc import Callable, Mapping

import dagster as dg

from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.notify import Notifier


def partitions_sensor(
    desired: Callable[[WarehouseResource], Mapping[str, list[str]]],
) -> dg.SensorDefinition:
    """Adds and removes dynamic partitions so they match the configuration (a repository or project added or removed)."""

    @dg.sensor(name="configuration_partitions", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Adds a partition for every configured repository, project, board or team; removes the ones no longer configured.")  # fmt: skip
    def _sensor(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        requests: list[dg.AddDynamicPartitionsRequest | dg.DeleteDynamicPartitionsRequest] = []
        for name, keys in desired(warehouse).items():
            current = set(context.instance.get_dynamic_partitions(name))
            add = [k for k in keys if k not in current]
            remove = sorted(current - set(keys))
            if add:
                requests.append(
                    dg.AddDynamicPartitionsRequest(partitions_def_name=name, partition_keys=add)
                )
            if remove:
                requests.append(
                    dg.DeleteDynamicPartitionsRequest(
                        partitions_def_name=name, partition_keys=remove
                    )
                )
        if not requests:
            return dg.SkipReason("partitions match the configuration")
        return dg.SensorResult(dynamic_partitions_requests=requests)

    return _sensor


@dg.run_failure_sensor(name="notify_run_failure", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Sends failed runs to the configured webhook and e-mail.")  # fmt: skip
def notify_run_failure(context: dg.RunFailureSensorContext, warehouse: WarehouseResource) -> None:
    run = context.dagster_run
    message = context.failure_event.message or "the run failed"
    Notifier(warehouse.runtime().config.notifications).send(
        "run_failure",
        f"run {run.job_name} failed",
        f"Run {run.run_id} of {run.job_name} failed: {message}",
    )
