"""Asset checks: freshness, row-count anomalies and schema drift per source; identity, attribution and ticket-link coverage and metric drift on the marts."""

from collections.abc import Callable, Sequence

import dagster as dg

from dagster_project.defs.warehouse.assets import mart_key
from dagster_project.defs.warehouse.resources import WarehouseResource
from dagster_project.notify import Notifier
from metrics import health

WARN = dg.AssetCheckSeverity.WARN
ERROR = dg.AssetCheckSeverity.ERROR


def _notify(warehouse: WarehouseResource, event: str, subject: str, text: str) -> None:
    Notifier(warehouse.runtime().config.notifications).send(event, subject, text)


def _result(
    warehouse: WarehouseResource,
    name: str,
    passed: bool,
    severity: dg.AssetCheckSeverity,
    text: str,
    metadata: dict,
) -> dg.AssetCheckResult:
    if not passed:
        _notify(
            warehouse,
            "drift" if name == "metric_drift" else "check_failure",
            f"check {name} failed",
            text,
        )
    return dg.AssetCheckResult(
        passed=passed, severity=severity, description=text, metadata=metadata
    )


def source_checks(
    asset: dg.AssetKey, kind: str, source: str, scopes: Callable[[WarehouseResource], Sequence[str]]
) -> list[dg.AssetChecksDefinition]:
    """Freshness and row-count checks for a raw asset, plus schema drift for API sources."""

    @dg.asset_check(
        asset=asset, name="freshness", description="Every scope had a successful run recently."
    )
    def freshness(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        limit = warehouse.runtime().config.checks.freshness_hours
        with warehouse.reader() as con:
            found = health.freshness(con, kind, list(scopes(warehouse)))
        stale = [f.scope for f in found if f.age_hours is None or f.age_hours > limit]
        text = (
            f"stale (no successful run in {limit:g} h): {', '.join(stale)}"
            if stale
            else f"every scope ran within {limit:g} h"
        )
        ages = {f.scope: round(f.age_hours, 1) if f.age_hours is not None else None for f in found}
        return _result(
            warehouse,
            f"{source}.freshness",
            not stale,
            ERROR,
            text,
            {"age_hours": dg.MetadataValue.json(ages)},
        )

    @dg.asset_check(
        asset=asset, name="row_count", description="The newest run wrote about as much as usual."
    )
    def row_count(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        factor = warehouse.runtime().config.checks.row_count_factor
        scope_names = [source] if kind != "git" else list(scopes(warehouse))
        with warehouse.reader() as con:
            found = [health.row_count(con, kind, s, factor) for s in scope_names]
        odd = [
            f"{f.scope}: {f.last} rows, usually {f.usual:g}"
            for f in found
            if f.anomalous and f.usual is not None
        ]
        text = "; ".join(odd) if odd else "row counts as usual"
        return _result(warehouse, f"{source}.row_count", not odd, WARN, text,
                       {"last": dg.MetadataValue.json({f.scope: f.last for f in found})})  # fmt: skip

    checks = [freshness, row_count]
    if kind != "git":

        @dg.asset_check(
            asset=asset,
            name="schema_drift",
            description="The API's records have the fields the connector knows and needs.",
        )
        def schema_drift(warehouse: WarehouseResource) -> dg.AssetCheckResult:
            with warehouse.reader() as con:
                unknown, missing = health.schema_drift(con, source)
            if missing:
                text = f"fields the connector needs are missing: {', '.join(missing)}"
            elif unknown:
                text = f"new fields the connector does not read: {', '.join(unknown[:20])}"
            else:
                text = "no drift"
            return _result(warehouse, f"{source}.schema_drift", not (missing or unknown), ERROR if missing else WARN, text,
                           {"unknown": dg.MetadataValue.json(unknown), "missing": dg.MetadataValue.json(missing)})  # fmt: skip

        checks.append(schema_drift)
    return checks


def mart_checks() -> list[dg.AssetChecksDefinition]:
    """Coverage and drift checks on the metrics marts."""

    def coverage_check(
        name: str, asset: str, measure: Callable, threshold: Callable, what: str
    ) -> dg.AssetChecksDefinition:
        @dg.asset_check(asset=mart_key(asset), name=name, description=what)
        def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
            config = warehouse.runtime().config.checks
            with warehouse.reader() as con:
                found = measure(con, config.window_days)
            limit = threshold(config)
            if found is None or found.share is None:
                return dg.AssetCheckResult(passed=True, severity=WARN, description=f"{what}: no data to judge",
                                           metadata={"share": None})  # fmt: skip
            passed = found.share >= limit
            text = f"{what}: {found.share:.1%} ({found.covered} of {found.total}); expected at least {limit:.0%}"
            return _result(
                warehouse,
                name,
                passed,
                WARN,
                text,
                {"share": found.share, "covered": found.covered, "total": found.total},
            )

        return _check

    @dg.asset_check(asset=mart_key("sprint_metrics"), name="metric_drift",
                    description="ACR, bug density and cycle time of the newest sprint lie within the recent envelope.")  # fmt: skip
    def metric_drift(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        config = warehouse.runtime().config.checks
        with warehouse.reader() as con:
            flagged = health.metric_drift(
                con, window=config.drift_window, threshold=config.drift_threshold
            )
        lines = [
            f"{r['team']} {r['metric_id']} {r['sprint_id']}: {r['value']:.3g} (median {r['median']:.3g})"
            for r in flagged.iter_rows(named=True)
        ]
        text = (
            "outside the recent envelope: " + "; ".join(lines)
            if lines
            else "no metric outside its recent envelope"
        )
        return _result(
            warehouse,
            "metric_drift",
            not lines,
            WARN,
            text,
            {"flagged": dg.MetadataValue.json(lines)},
        )

    return [
        coverage_check("identity_coverage", "mart_commits", health.identity_coverage, lambda c: c.identity_coverage,
                       "work commits credited to a team"),
        coverage_check("attribution_coverage", "mart_commits", health.attribution_coverage, lambda c: c.attribution_coverage,
                       "work commits whose pull request is known"),
        coverage_check("ticket_link_coverage", "mart_prs", health.ticket_link_coverage, lambda c: c.ticket_link_coverage,
                       "merged PRs linked to a ticket"),
        metric_drift,
    ]  # fmt: skip
