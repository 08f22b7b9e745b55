"""Delivery metrics: velocity, commitment and carry-over, velocity per engineer and acceleration against the pre-AI baseline, and the story-point inflation guards.

Velocity is read from `mart_sprint_scope` (metrics/tickets.py). The organisation's velocity is the
sum of its teams' sprint velocities, each team sprint counted in the organisation sprint that
contains its midpoint. A ratio to a baseline compares a sprint with the mean of the same team's
baseline sprints: the closed sprints that ended by its `ai_rollout` date, else its first
`baseline_sprints` closed sprints with data (the organisation: before the earliest rollout).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from metrics.common import METRIC_ROW_SCHEMA, NeedsFullRecompute, by_team_and_org, ratio, rows
from metrics.model import ORG, Settings
from metrics.stats import bootstrap_ratio_to_mean, ratio_sums
from metrics.tickets import delivery_facts

if TYPE_CHECKING:
    from metrics.marts import Context

# Story-point inflation: a sprint is flagged when its points per PR (or per KLOC) exceed both the
# baseline mean plus two baseline standard deviations and the baseline mean plus 30 %. The first
# alone fires on noise when a handful of baseline sprints happen to be alike; the second alone
# flags teams whose sprints always swing widely. Both together mean a change that is unusual for
# the team and large enough to matter.
INFLATION_SD = 2.0
INFLATION_RISE = 0.3

BASIS_NAMES = {
    "points": "story points",
    "issues": "completed issues",
    "merged_prs": "merged PRs",
}
BASIS_METRIC = {
    "points": "velocity_points",
    "issues": "velocity_issues",
    "merged_prs": "merged_prs",
}

GUARDS_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "metric_id": pl.String,
    "value": pl.Float64,
    "is_baseline": pl.Boolean,
    "after_rollout": pl.Boolean,
    "baseline_sprints": pl.Int32,
    "baseline_mean": pl.Float64,
    "baseline_sd": pl.Float64,
    "envelope_high": pl.Float64,
    "inflated": pl.Boolean,
}


# mart_sprint_series: every team sprint's value of each series a baseline is taken over, and whether
# the sprint is in that baseline. A latest-sprint recompute takes earlier sprints' values from here.
SERIES_SCHEMA = {
    "team": pl.String,
    "sprint_id": pl.String,
    "series": pl.String,
    "value": pl.Float64,
    "sample": pl.Int64,
    "is_baseline": pl.Boolean,
}
_KEYS = ["team", "sprint_id"]


def _stored_series(ctx: "Context") -> pl.DataFrame:
    """mart_sprint_series as the last recompute left it (a latest-sprint recompute's input)."""
    if "stored_series" not in ctx.memo:
        ctx.memo["stored_series"] = (
            ctx.inputs.extra["sprint_series"].collect().cast(SERIES_SCHEMA)  # type: ignore[arg-type]
        )
    return ctx.memo["stored_series"]


def with_history(
    ctx: "Context", frame: pl.DataFrame, series: dict[str, tuple[str, str | None]]
) -> pl.DataFrame:
    """`frame` (team, sprint_id, ...) with its series recorded for mart_sprint_series.

    `series`: series id -> (value column, sample column or None). In a latest-sprint recompute
    the columns of sprints outside the scope are replaced by the stored values: the inputs hold
    only the window's facts, so what they give for earlier sprints is partial.
    """
    if ctx.scope is not None:
        stored = _stored_series(ctx)
        marked = frame.join(
            ctx.scope.sprints.with_columns(pl.lit(True).alias("_fresh")),
            on=_KEYS,
            how="left",
            maintain_order="left",
        )
        for sid, (value, sample) in series.items():
            kept = stored.filter(pl.col("series") == sid).select(
                *_KEYS, pl.col("value").alias("_value"), pl.col("sample").alias("_sample")
            )
            marked = marked.join(kept, on=_KEYS, how="left", maintain_order="left")
            fresh = pl.col("_fresh").fill_null(False)
            replaced = [
                pl.when(fresh)
                .then(pl.col(value))
                .otherwise(pl.col("_value"))
                .cast(frame.schema[value])
                .alias(value)
            ]
            if sample is not None:
                replaced.append(
                    pl.when(fresh)
                    .then(pl.col(sample))
                    .otherwise(pl.col("_sample"))
                    .cast(frame.schema[sample])
                    .alias(sample)
                )
            marked = marked.with_columns(replaced).drop("_value", "_sample")
        frame = marked.drop("_fresh")
    for sid, (value, sample) in series.items():
        ctx.memo[f"series:{sid}"] = frame.select(
            *_KEYS,
            pl.lit(sid).alias("series"),
            pl.col(value).cast(pl.Float64).alias("value"),
            (pl.col(sample) if sample is not None else pl.lit(None)).cast(pl.Int64).alias("sample"),
        )
    return frame


def scope_keys(ctx: "Context") -> set[tuple[str, str]]:
    """(team, sprint_id) of a latest-sprint recompute's sprints; empty for a full one."""
    return set() if ctx.scope is None else set(ctx.scope.sprints.select(_KEYS).iter_rows())


def baseline_check(ctx: "Context", sid: str) -> Callable[[str, "Baseline"], None]:
    """Record a team's baseline sprints of series `sid`; in a latest-sprint recompute, insist that they did not change.

    A baseline that now holds a recomputed sprint, or other sprints than the last recompute's,
    changes every sprint's ratio or envelope, earlier ones too: `NeedsFullRecompute`.
    """
    chosen = ctx.baselines.setdefault(sid, set())
    before: dict[str, set[str]] = {}
    if ctx.scope is not None:
        stored = _stored_series(ctx).filter((pl.col("series") == sid) & pl.col("is_baseline"))
        for team, sprint in stored.select(_KEYS).iter_rows():
            before.setdefault(team, set()).add(sprint)
    fresh = scope_keys(ctx)

    def check(team: str, base: "Baseline") -> None:
        ids = {(team, sprint) for sprint in base.sprint_ids}
        if ctx.scope is not None and (
            ids & fresh or set(base.sprint_ids) != before.get(team, set())
        ):
            raise NeedsFullRecompute(f"the {sid} baseline of {team} changed")
        chosen.update(ids)

    return check


def series_mart(ctx: "Context") -> pl.DataFrame:
    """mart_sprint_series from the series the families recorded (`with_history`, `baseline_check`)."""
    parts = []
    for name, frame in ctx.memo.items():
        if not name.startswith("series:"):
            continue
        chosen = pl.DataFrame(
            sorted(ctx.baselines.get(name.removeprefix("series:"), set())),
            schema={"team": pl.String, "sprint_id": pl.String},
            orient="row",
        ).with_columns(pl.lit(True).alias("is_baseline"))
        flagged = frame.join(chosen, on=_KEYS, how="left").with_columns(
            pl.col("is_baseline").fill_null(False)
        )
        parts.append(flagged.select(list(SERIES_SCHEMA)))
    if not parts:
        return pl.DataFrame(schema=SERIES_SCHEMA)
    return pl.concat(parts).cast(SERIES_SCHEMA).sort("series", "team", "sprint_id")  # type: ignore[arg-type]


def _note(*parts: pl.Expr) -> pl.Expr:
    """Join the non-null parts with "; " (NULL when there is nothing to say)."""
    joined = pl.concat_list([p.cast(pl.String) for p in parts]).list.drop_nulls().list.join("; ")
    return pl.when(joined != "").then(joined)


# --------------------------------------------------------------------------- scope totals


def scope_totals(scope: pl.LazyFrame) -> pl.LazyFrame:
    """Per team sprint and organisation sprint: counts and points of the scope, by how they are known."""
    method = pl.col("method")
    return by_team_and_org(
        scope,
        [
            pl.len().alias("n_scope"),
            pl.struct("team", "sprint_id").n_unique().alias("n_team_sprints"),
            (method == "changelog").sum().alias("n_changelog"),
            (method == "sprint_field").sum().alias("n_sprint_field"),
            (method == "resolution").sum().alias("n_resolution"),
            (method != "resolution").sum().alias("n_tracker"),
            (pl.col("points_start").is_not_null() | pl.col("points_end").is_not_null())
            .sum()
            .alias("n_estimated"),
            pl.col("points_end").filter(pl.col("completed")).sum().alias("completed_points"),
            pl.col("completed").sum().alias("completed_issues"),
            (pl.col("completed") & pl.col("points_end").is_null()).sum().alias("unestimated_done"),
            pl.col("points_start").filter(pl.col("committed")).sum().alias("committed_points"),
            pl.col("points_end").filter(pl.col("added")).sum().alias("added_points"),
            pl.col("points_end").filter(pl.col("carried_over")).sum().alias("carry_over_points"),
        ],
    )


def _scope_note() -> pl.Expr:
    n = pl.col("n_scope")
    return _note(
        pl.when(pl.col("team") == ORG).then(
            pl.format("sum of {} team sprints (midpoint in this sprint)", "n_team_sprints")
        ),
        pl.when(pl.col("n_sprint_field") > 0).then(
            pl.format(
                "{} of {} issues from the sprint field as it is now and the resolution time (no changelog)",
                "n_sprint_field",
                n,
            )
        ),
        pl.when(pl.col("n_resolution") > 0).then(
            pl.format(
                "{} issues resolved in the sprint (cadence sprints: no commitment or carry-over)",
                "n_resolution",
            )
        ),
        pl.when(pl.col("sprint_state") == "active").then(pl.lit("sprint still running: so far")),
    )


def velocity_rows(totals: pl.LazyFrame) -> pl.LazyFrame:
    """velocity_points, velocity_issues, commitment_points, added_points, carry_over_points."""
    has_points = pl.col("n_estimated") > 0
    tracker = pl.col("n_tracker") > 0
    coverage = pl.col("n_changelog") / pl.col("n_scope")
    note = _scope_note()
    points_note = _note(
        note,
        pl.when(~has_points).then(
            pl.lit("no story points in this sprint's scope: see velocity_issues")
        ),
        pl.when(has_points & (pl.col("unestimated_done") > 0)).then(
            pl.format(
                "completed issues without an estimate (counted as 0 points): {}", "unestimated_done"
            )
        ),
    )
    tracker_note = _note(
        note, pl.when(~tracker).then(pl.lit("no tracker sprint: commitment is unknown"))
    )
    return pl.concat(
        [
            rows(
                totals,
                "velocity_points",
                value=pl.when(has_points).then(pl.col("completed_points")),
                numerator=pl.col("completed_points"),
                coverage=coverage,
                note=points_note,
            ),
            rows(
                totals,
                "velocity_issues",
                value=pl.col("completed_issues"),
                numerator=pl.col("completed_issues"),
                coverage=coverage,
                note=note,
            ),
            *[
                rows(
                    totals,
                    metric,
                    value=pl.when(has_points & tracker).then(pl.col(column)),
                    numerator=pl.when(tracker).then(pl.col(column)),
                    coverage=coverage,
                    note=tracker_note,
                )
                for metric, column in (
                    ("commitment_points", "committed_points"),
                    ("added_points", "added_points"),
                    ("carry_over_points", "carry_over_points"),
                )
            ],
        ]
    )


def commitment_completion(scope: pl.LazyFrame, confidence: float) -> pl.LazyFrame:
    """Share of the committed points (as estimated at the start) that were completed; issues are the units."""
    committed = scope.filter(
        pl.col("committed") & pl.col("points_start").is_not_null()
    ).with_columns(
        pl.when(pl.col("completed")).then(pl.col("points_start")).otherwise(0.0).alias("_done")
    )
    sums = by_team_and_org(committed, ratio_sums("_done", "points_start"))
    return ratio(sums, "commitment_completion", confidence)


def merged_pr_counts(prs: pl.LazyFrame) -> pl.LazyFrame:
    """team, sprint_id, merged: merged non-bot PRs where the team finished any non-bot PR."""
    return by_team_and_org(
        prs.filter(~pl.col("is_bot")), [pl.col("is_merged").sum().alias("merged")]
    )


def active_engineers(commits: pl.LazyFrame, prs: pl.LazyFrame, scope: pl.LazyFrame) -> pl.LazyFrame:
    """team, sprint_id, engineers: people with work commits, PRs or completed issues in the sprint."""
    cols = ["team", "sprint_id", "org_sprint_id", "person_id"]
    people = pl.concat(
        [
            commits.filter(pl.col("is_work")).select(cols),
            prs.filter(~pl.col("is_bot")).select(cols),
            scope.filter(pl.col("completed")).select(cols),
        ]
    ).filter(pl.col("person_id").is_not_null())
    return by_team_and_org(people, [pl.col("person_id").n_unique().alias("engineers")])


# --------------------------------------------------------------------------- baselines


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _cut(rollout: date | None) -> datetime | None:
    return None if rollout is None else _midnight(rollout)


@dataclass(frozen=True)
class Baseline:
    sprint_ids: tuple[str, ...]
    values: np.ndarray
    description: str
    after: frozenset[str]  # sprints after the rollout (or after the baseline window)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def mean(self) -> float | None:
        return float(self.values.mean()) if self.values.size else None

    @property
    def sd(self) -> float | None:
        return float(self.values.std(ddof=1)) if self.values.size > 1 else None


def rollout_of(team: str, settings: Settings) -> date | None:
    """A team's AI rollout date; the organisation's is the earliest of its teams'."""
    if team == ORG:
        dates = [t.ai_rollout for t in settings.teams if t.ai_rollout is not None]
        return min(dates) if dates else None
    return next((t.ai_rollout for t in settings.teams if t.name == team), None)


Row = dict[str, Any]


def team_rows(
    series: pl.DataFrame, settings: Settings, only: set[tuple[str, str]] | None = None
) -> dict[str, list[Row]]:
    """A series' rows by team (teams in order of appearance, rows in the frame's order).

    With `only`, just those team sprints and the ones `baseline` can choose (closed sprints with a
    value that ended by the rollout, else each team's first `baseline_sprints` of them): the
    baselines are the same. Sprint starts and ends are microseconds since the epoch: Python
    datetimes for every row of every sprint would cost more than the baselines they serve.
    """
    if only is not None:
        present = series.get_column("team").unique().to_list()
        cuts = pl.DataFrame(
            {"team": present, "_cut": [_cut(rollout_of(t, settings)) for t in present]},
            schema={"team": pl.String, "_cut": series.schema["sprint_end"]},
        )
        wanted = pl.DataFrame(
            sorted(only), schema={"team": pl.String, "sprint_id": pl.String}, orient="row"
        )
        closed = series.join(cuts, on="team", how="left").filter(
            (pl.col("sprint_state") == "closed") & pl.col("value").is_not_null()
        )
        candidates = pl.concat(
            [
                closed.filter(
                    pl.col("_cut").is_not_null() & (pl.col("sprint_end") <= pl.col("_cut"))
                ),
                closed.filter(pl.col("_cut").is_null())
                .sort("sprint_start")
                .group_by("team", maintain_order=True)
                .head(settings.baseline_sprints),
            ]
        ).select(_KEYS)
        keep = pl.concat([candidates, wanted]).unique()
        series = series.join(keep, on=_KEYS, how="semi", maintain_order="left")
    columns = series.with_columns(pl.col("sprint_start", "sprint_end").dt.epoch("us")).to_dict(
        as_series=False
    )
    names = list(columns)
    teams: dict[str, list[Row]] = {}
    for values in zip(*columns.values(), strict=True):
        row = dict(zip(names, values, strict=True))
        teams.setdefault(row["team"], []).append(row)
    return teams


def baseline(rows: Sequence[Row], team: str, settings: Settings) -> Baseline:
    """The baseline of one team's series.

    `rows` (`team_rows`): sprint_id, sprint_start, sprint_end (microseconds since the epoch),
    sprint_state, value for that team. Baseline sprints are closed sprints with a value: those
    that ended by the rollout date, else the first `baseline_sprints` of them.
    """
    ordered = sorted(rows, key=lambda row: row["sprint_start"])
    closed = [r for r in ordered if r["sprint_state"] == "closed" and r["value"] is not None]
    rollout = rollout_of(team, settings)
    if rollout is not None:
        cut = (_midnight(rollout) - _EPOCH) // timedelta(microseconds=1)
        base = [r for r in closed if r["sprint_end"] <= cut]
        after = [r["sprint_id"] for r in ordered if r["sprint_end"] > cut]
        description = f"{len(base)} sprints before the AI rollout on {rollout.isoformat()}"
    else:
        base = closed[: settings.baseline_sprints]
        last = base[-1]["sprint_start"] if base else None
        after = [r["sprint_id"] for r in ordered if last is not None and r["sprint_start"] > last]
        description = f"the first {len(base)} sprints with data (no AI rollout date)"
    return Baseline(
        sprint_ids=tuple(r["sprint_id"] for r in base),
        values=np.array([float(r["value"]) for r in base], dtype=np.float64),
        description=description,
        after=frozenset(after),
    )


def ratio_to_baseline(
    series: pl.DataFrame,
    settings: Settings,
    *,
    minus_one: bool = False,
    check: Callable[[str, Baseline], None] | None = None,
    only: set[tuple[str, str]] | None = None,
) -> pl.DataFrame:
    """value / mean(baseline value) per team sprint, with a percentile bootstrap over the baseline sprints.

    `series`: team, sprint_id, sprint_start, sprint_end, sprint_state, value (`only`: the team
    sprints to return, every one's baseline still taken from the whole series). Returns team,
    sprint_id, current, base_mean, ratio, ci_low, ci_high, note. No ratio with fewer than
    `baseline_min_sprints` baseline sprints, a zero baseline mean, or a sprint still running.
    """
    out = []
    for team, sprints in team_rows(series, settings, only).items():
        base = baseline(sprints, team, settings)
        if check is not None:
            check(team, base)
        # current / mean over the resampled means scales with `current`, so one resampling per
        # team (current = 1) gives every sprint's interval; the same seed for every team keeps
        # the result independent of team names.
        interval: list[tuple[float | None, float | None]] = []  # resampled once, when needed
        enough = base.n >= settings.baseline_min_sprints
        mean = base.mean
        for row in sprints:
            if only is not None and (team, row["sprint_id"]) not in only:
                continue
            current = row["value"]
            why = None
            if not enough:
                why = f"baseline has {base.n} sprints with data ({settings.baseline_min_sprints} needed)"
            elif not mean:
                why = "the baseline mean is 0: no ratio"
            elif row["sprint_state"] == "active":
                why = "sprint still running"
            ratio = low = high = None
            if why is None and current is not None and mean:
                shift = 1.0 if minus_one else 0.0
                ratio = current / mean - shift
                if not interval:
                    interval.append(
                        bootstrap_ratio_to_mean(
                            1.0,
                            base.values,
                            samples=settings.bootstrap_samples,
                            confidence=settings.confidence,
                            seed=settings.seed,
                        )
                    )
                q_low, q_high = interval[0]
                if q_low is not None and q_high is not None:
                    low, high = current * q_low - shift, current * q_high - shift
            role = "baseline sprint; " if row["sprint_id"] in base.sprint_ids else ""
            out.append(
                {
                    "team": team,
                    "sprint_id": row["sprint_id"],
                    "current": current,
                    "base_mean": mean,
                    "ratio": ratio,
                    "ci_low": low,
                    "ci_high": high,
                    "note": f"{role}baseline: {base.description}" + (f"; {why}" if why else ""),
                }
            )
    return pl.DataFrame(
        out,
        schema={
            "team": pl.String,
            "sprint_id": pl.String,
            "current": pl.Float64,
            "base_mean": pl.Float64,
            "ratio": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
            "note": pl.String,
        },
    )


# --------------------------------------------------------------------------- velocity basis


def velocity_series(ctx: "Context") -> tuple[pl.DataFrame, dict[str, str]]:
    """Each team sprint's velocity in its team's basis (points, else issues, else merged PRs), and the bases.

    The basis is chosen per team over all its sprints, so a series never mixes units; the
    organisation uses points when every team with data does, issues when every such team has
    tickets, else merged PRs.
    """
    facts = delivery_facts(ctx)
    totals = scope_totals(facts["mart_sprint_scope"]).select(
        "team",
        "sprint_id",
        pl.when(pl.col("n_estimated") > 0).then(pl.col("completed_points")).alias("points"),
        pl.col("completed_issues").cast(pl.Float64).alias("issues"),
    )
    merged = merged_pr_counts(ctx.prs).select(
        "team", "sprint_id", pl.col("merged").cast(pl.Float64).alias("merged_prs")
    )
    calendar = ctx.calendar.filter(pl.col("sprint_state") != "future").select(
        "team", "sprint_id", "sprint_start", "sprint_end", "sprint_state"
    )
    series = with_history(
        ctx,
        calendar.join(totals, on=["team", "sprint_id"], how="left")
        .join(merged, on=["team", "sprint_id"], how="left")
        .collect(),
        {"velocity_points": ("points", None), "velocity_issues": ("issues", None),
         "merged_prs": ("merged_prs", None)},
    )  # fmt: skip
    bases = _bases(series)
    if ctx.scope is not None and bases != _bases(
        series.join(ctx.scope.sprints, on=["team", "sprint_id"], how="anti")
    ):
        raise NeedsFullRecompute("the latest sprint changes a team's velocity basis")
    basis = pl.col("team").replace_strict(bases, default=None, return_dtype=pl.String)
    valued = (
        series.with_columns(basis.alias("basis"))
        .with_columns(
            pl.when(pl.col("basis") == "points")
            .then(pl.col("points"))
            .when(pl.col("basis") == "issues")
            .then(pl.col("issues"))
            .when(pl.col("basis") == "merged_prs")
            .then(pl.col("merged_prs"))
            .alias("value")
        )
        .select("team", "sprint_id", "sprint_start", "sprint_end", "sprint_state", "basis", "value")
    )
    return with_history(ctx, valued, {"velocity": ("value", None)}), bases


def _bases(series: pl.DataFrame) -> dict[str, str]:
    """Each team's velocity basis: the first of points, issues, merged PRs that any of its sprints has."""
    bases: dict[str, str] = {}
    for (team,), frame in series.partition_by("team", as_dict=True).items():
        for basis in ("points", "issues", "merged_prs"):
            if frame.get_column(basis).is_not_null().any():
                bases[str(team)] = basis
                break
    teams = [b for t, b in bases.items() if t != ORG]
    if teams and all(b == "points" for b in teams):
        bases[ORG] = "points"
    elif teams and all(b in ("points", "issues") for b in teams):
        bases[ORG] = "issues"
    else:
        bases[ORG] = "merged_prs"
    return bases


def _basis_note() -> pl.Expr:
    return pl.format(
        "velocity in {}",
        pl.col("basis").replace_strict(BASIS_NAMES, default="no data", return_dtype=pl.String),
    )


def per_engineer_and_acceleration(ctx: "Context") -> pl.LazyFrame:
    """velocity_per_engineer and velocity_acceleration in each team's basis."""
    series, _ = velocity_series(ctx)
    scope = delivery_facts(ctx)["mart_sprint_scope"]
    engineers = active_engineers(ctx.commits, ctx.prs, scope).collect()
    per_engineer = (
        series.join(engineers, on=["team", "sprint_id"], how="left")
        .filter(pl.col("value").is_not_null() | pl.col("engineers").is_not_null())
        .lazy()
        .pipe(
            rows,
            "velocity_per_engineer",
            value=pl.when(pl.col("engineers") > 0).then(pl.col("value") / pl.col("engineers")),
            numerator=pl.col("value"),
            denominator=pl.col("engineers"),
            note=_basis_note(),
        )
    )
    ratios = ratio_to_baseline(
        series.drop("basis"),
        ctx.settings,
        check=baseline_check(ctx, "velocity"),
        only=None if ctx.scope is None else scope_keys(ctx),
    )
    acceleration = (
        ratios.join(series.select("team", "sprint_id", "basis"), on=["team", "sprint_id"])
        .filter(pl.col("current").is_not_null())
        .lazy()
        .pipe(
            rows,
            "velocity_acceleration",
            value=pl.col("ratio"),
            numerator=pl.col("current"),
            denominator=pl.col("base_mean"),
            ci_low=pl.col("ci_low"),
            ci_high=pl.col("ci_high"),
            note=_note(_basis_note(), pl.col("note")),
        )
    )
    return pl.concat([per_engineer, acceleration])


def delivery(ctx: "Context") -> pl.LazyFrame:
    """The delivery family: velocity (points, issues, merged PRs), commitment, added and carried-over scope, commitment completion, velocity per engineer and acceleration."""
    confidence = ctx.settings.confidence
    scope = delivery_facts(ctx)["mart_sprint_scope"]
    states = ctx.calendar.select("team", "sprint_id", "sprint_state")
    totals = scope_totals(scope).join(states, on=["team", "sprint_id"], how="left")
    merged = merged_pr_counts(ctx.prs).pipe(
        rows, "merged_prs", value=pl.col("merged"), numerator=pl.col("merged")
    )
    return pl.concat(
        [
            velocity_rows(totals),
            commitment_completion(scope, confidence),
            merged,
            per_engineer_and_acceleration(ctx),
        ]
    ).select(list(METRIC_ROW_SCHEMA))


# --------------------------------------------------------------------------- guards


def guard_series(ctx: "Context") -> pl.LazyFrame:
    """points_per_pr and points_per_kloc per team sprint (completed points over merged PRs, over KLOC added); computed once."""
    if "guard_series" not in ctx.memo:
        ctx.memo["guard_series"] = _guard_series(ctx).collect()
    return ctx.memo["guard_series"].lazy()


def _guard_series(ctx: "Context") -> pl.LazyFrame:
    scope = delivery_facts(ctx)["mart_sprint_scope"]
    points = scope_totals(scope).select(
        "team",
        "sprint_id",
        pl.when(pl.col("n_estimated") > 0).then(pl.col("completed_points")).alias("points"),
    )
    merged = merged_pr_counts(ctx.prs)
    work = ctx.commits.filter(pl.col("is_work"))
    lines = by_team_and_org(
        work,
        [
            pl.col("lines_added").filter(pl.col("stats_complete")).sum().alias("lines"),
            pl.col("stats_complete").sum().alias("complete"),
            pl.col("stats_complete").mean().alias("complete_share"),
        ],
    )
    keys = ["team", "sprint_id"]
    joined = points.join(merged, on=keys, how="full", coalesce=True).join(
        lines, on=keys, how="full", coalesce=True
    )
    kloc = pl.col("lines") / 1000
    return pl.concat(
        [
            rows(
                joined,
                "points_per_pr",
                value=pl.when(pl.col("merged") > 0).then(pl.col("points") / pl.col("merged")),
                numerator=pl.col("points"),
                denominator=pl.col("merged"),
                sample=pl.col("merged"),
            ),
            rows(
                joined,
                "points_per_kloc",
                value=pl.when(pl.col("lines") > 0).then(pl.col("points") / kloc),
                numerator=pl.col("points"),
                denominator=kloc,
                coverage=pl.col("complete_share"),
                sample=pl.col("complete"),
            ),
        ]
    )


def guard_table(ctx: "Context") -> pl.DataFrame:
    """mart_guards: each guard value with its baseline envelope and the inflation flag (computed once)."""
    if "mart_guards" in ctx.memo:
        return ctx.memo["mart_guards"]
    settings = ctx.settings
    values = guard_series(ctx).collect()
    calendar = (
        ctx.calendar.filter(pl.col("sprint_state") != "future")
        .select("team", "sprint_id", "sprint_start", "sprint_end", "sprint_state")
        .collect()
    )
    out = []
    for metric in ("points_per_pr", "points_per_kloc"):
        # Values below min_sample units are not published, so they cannot define an envelope either.
        usable = values.filter(
            (pl.col("metric_id") == metric) & (pl.col("sample") >= settings.min_sample)
        ).select("team", "sprint_id", "value")
        series = with_history(
            ctx,
            calendar.join(usable, on=["team", "sprint_id"], how="left"),
            {metric: ("value", None)},
        )
        check = baseline_check(ctx, metric)
        keep = scope_keys(ctx)
        for team, sprints in team_rows(series, settings, keep if ctx.scope else None).items():
            base = baseline(sprints, team, settings)
            check(team, base)
            enough = base.n >= settings.baseline_min_sprints
            mean, sd = base.mean, base.sd
            envelope = (
                max(mean + INFLATION_SD * (sd or 0.0), (1 + INFLATION_RISE) * mean)
                if enough and mean is not None
                else None
            )
            for row in sprints:
                if ctx.scope is not None and (team, row["sprint_id"]) not in keep:
                    continue
                is_base = row["sprint_id"] in base.sprint_ids
                after = row["sprint_id"] in base.after
                out.append(
                    {
                        "team": team,
                        "sprint_id": row["sprint_id"],
                        "metric_id": metric,
                        "value": row["value"],
                        "is_baseline": is_base,
                        "after_rollout": after,
                        "baseline_sprints": base.n,
                        "baseline_mean": mean,
                        "baseline_sd": sd,
                        "envelope_high": envelope,
                        "inflated": bool(
                            after
                            and envelope is not None
                            and row["value"] is not None
                            and row["value"] > envelope
                        ),
                    }
                )
    table = pl.DataFrame(out, schema=GUARDS_SCHEMA)
    ctx.memo["mart_guards"] = table
    return table


def guard(ctx: "Context") -> pl.LazyFrame:
    """The guard family: points per PR and per KLOC, with a note when a sprint after the rollout leaves the baseline envelope."""
    flags = guard_table(ctx).lazy()
    envelope = pl.format(
        "{} = max(mean + {} sd, {} × mean) of {} baseline sprints",
        pl.col("envelope_high").round(2),
        pl.lit(f"{INFLATION_SD:g}"),
        pl.lit(f"{1 + INFLATION_RISE:g}"),
        pl.col("baseline_sprints"),
    )
    note = (
        pl.when(pl.col("inflated"))
        .then(
            pl.format(
                "possible story-point inflation: {} is above the baseline envelope {}",
                pl.col("value").round(2),
                envelope,
            )
        )
        .when(pl.col("after_rollout") & pl.col("envelope_high").is_not_null())
        .then(pl.format("within the baseline envelope {}", envelope))
        .when(pl.col("is_baseline"))
        .then(pl.lit("baseline sprint"))
        .when(pl.col("envelope_high").is_null())
        .then(
            pl.format(
                "no envelope: baseline has {} sprints with data ({} needed)",
                pl.col("baseline_sprints"),
                pl.lit(ctx.settings.baseline_min_sprints),
            )
        )
    )
    return (
        guard_series(ctx)
        .drop("note")
        .join(
            flags.select("team", "sprint_id", "metric_id", note.alias("note")),
            on=["team", "sprint_id", "metric_id"],
            how="left",
        )
        .select(list(METRIC_ROW_SCHEMA))
    )
