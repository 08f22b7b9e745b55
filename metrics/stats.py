"""Intervals and sample rules: Wilson intervals for shares, linearised intervals for ratios of sums, bootstrap for ratios to a baseline."""

from collections.abc import Callable, Mapping
from statistics import NormalDist

import numpy as np
import polars as pl


def z_value(confidence: float) -> float:
    return NormalDist().inv_cdf((1 + confidence) / 2)


def wilson(k: pl.Expr, n: pl.Expr, confidence: float) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval of k successes in n trials (null when n is 0)."""
    z = z_value(confidence)
    n_f = n.cast(pl.Float64)
    p = k.cast(pl.Float64) / n_f
    denom = 1 + z * z / n_f
    centre = (p + z * z / (2 * n_f)) / denom
    half = z * ((p * (1 - p) / n_f) + z * z / (4 * n_f * n_f)).sqrt() / denom
    ok = n_f > 0
    return (
        pl.when(ok).then((centre - half).clip(0.0, 1.0)),
        pl.when(ok).then((centre + half).clip(0.0, 1.0)),
    )


def ratio_sums(y: str, x: str) -> list[pl.Expr]:
    """Aggregations a linearised ratio interval needs, for use inside `group_by(...).agg(...)`."""
    yf, xf = pl.col(y).cast(pl.Float64), pl.col(x).cast(pl.Float64)
    return [
        yf.sum().alias("_sy"),
        xf.sum().alias("_sx"),
        (yf * yf).sum().alias("_syy"),
        (xf * xf).sum().alias("_sxx"),
        (xf * yf).sum().alias("_sxy"),
        pl.len().alias("_n"),
    ]


def ratio_interval(
    confidence: float, *, clip: tuple[float, float] | None = (0.0, 1.0)
) -> tuple[pl.Expr, pl.Expr]:
    """Interval of R = Σy/Σx over n units by linearisation: Var(R) ≈ Σ(y - R·x)² / (n(n-1)·x̄²).

    Reads the columns `ratio_sums` produced; the units (commits, PRs) are the sampling units,
    so a few huge commits widen the interval as they should.
    """
    z = z_value(confidence)
    n = pl.col("_n").cast(pl.Float64)
    r = pl.col("_sy") / pl.col("_sx")
    resid = pl.col("_syy") - 2 * r * pl.col("_sxy") + r * r * pl.col("_sxx")
    xbar = pl.col("_sx") / n
    se = (resid.clip(lower_bound=0.0) / (n * (n - 1) * xbar * xbar)).sqrt()
    ok = (n > 1) & (pl.col("_sx") > 0)
    low, high = r - z * se, r + z * se
    if clip is not None:
        low, high = low.clip(*clip), high.clip(*clip)
    return pl.when(ok).then(low), pl.when(ok).then(high)


def bootstrap_ratio_to_mean(
    current: float, baseline: np.ndarray, *, samples: int, confidence: float, seed: int
) -> tuple[float | None, float | None]:
    """Percentile interval of current / mean(baseline), resampling the baseline sprints.

    The interval expresses how sure the baseline level is: with few or noisy baseline sprints it
    is wide. None when the baseline has fewer than two values or a zero mean.
    """
    values = np.asarray(baseline, dtype=float)
    if values.size < 2 or values.mean() <= 0:
        return None, None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(samples, values.size))].mean(axis=1)
    ratios = current / means[means > 0]
    if ratios.size == 0:
        return None, None
    alpha = (1 - confidence) / 2
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return float(low), float(high)


def lookup(
    key: str,
    table: Callable[[tuple[int, ...]], pl.DataFrame],
    fields: Mapping[str, pl.DataType | type[pl.DataType]],
) -> pl.Expr:
    """Per row, the `fields` of `table` at the row's integer `key`, as a struct.

    `table(keys)` returns rows keyed by `key` for the keys asked: a table of constants that is
    costly in full (an interval for every sample size) is computed for the sizes the rows hold.
    """

    def batch(keys: pl.Series) -> pl.Series:
        found = table(tuple(sorted(set(keys.drop_nulls().to_list()))))
        return (
            keys.cast(pl.Int64)
            .to_frame(key)
            .join(found, on=key, how="left", maintain_order="left")
            .select(pl.struct(list(fields)))
            .to_series()
        )

    return pl.col(key).map_batches(batch, return_dtype=pl.Struct(fields))
