"""The segments' population thresholds from a Spark table of scores, without collecting it.

:func:`vipml.segments.thresholds_of` does the arithmetic; :class:`SparkPopulation` answers its
questions with distributed queries. Counts and means are one aggregation each. An exact order
statistic (the value at a rank, ties included) takes three small jobs:

1. ``percentile_approx`` (relative rank error at most ``1 / ACCURACY``) brackets each rank
   between two values whose ranks are surely below and above it;
2. one aggregation counts the customers below each bracket;
3. the customers inside the brackets, grouped by value (a run of ties is one row), come to the
   driver, where the cumulative counts find the exact value.

What reaches the driver is a few thousand ``(value, count)`` rows whatever the number of
customers, and the result is the very order statistic pandas takes: the thresholds equal
:func:`vipml.segments.segment_thresholds` on the same scores (tested on data with ties), but
for the predicted-VIP base rate, a mean whose sum runs in another order (equal to 1e-12
relative; it moves the predicted-VIP bar only when the bar is its multiple). Had
``percentile_approx`` been used alone, a threshold could sit up to ``n / ACCURACY`` customers
from the exact one (100 customers in 1M at the default accuracy) and a run of ties could be
split differently from pandas. If a bracket ever misses its rank, that rank is found over
every distinct value instead (exact, slower).

Examples
--------
Needs a JVM (``tests/test_spark.py`` runs it)::

    >>> spark_thresholds(scores, Config())["vip_threshold"]  # doctest: +SKIP
    1245.5
"""

from __future__ import annotations

import copy
import functools
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F

from vipml.config import Config
from vipml.errors import InvalidArgumentError
from vipml.segments import Subset, as_config, thresholds_of, value_columns
from vipml.spark.session import quiet_pyspark

__all__ = ["ACCURACY", "SparkPopulation", "spark_thresholds"]

#: ``percentile_approx``'s accuracy for the brackets: a rank is off by at most n / ACCURACY.
ACCURACY = 10_000
_MARGIN = 3.0 / ACCURACY  # each bracket reaches three times the worst error either side


def _finite(column: Column) -> Column:
    return column.isNotNull() & ~F.isnan(column) & (F.abs(column) != math.inf)


class SparkPopulation:
    """A Spark table of scores as a :class:`vipml.segments.Population`.

    Persist the table first: every question is a query over it.

    Parameters
    ----------
    scores
        ``customer_id``, the rule's value and CLV columns and optionally ``p_future_vip``.
    config
        The VIP rule (which value column).

    Examples
    --------
    Needs a JVM::

        >>> population = SparkPopulation(scores.persist(), Config())  # doctest: +SKIP
        >>> population.order_statistics("spend_12m", [0], "all")       # doctest: +SKIP
        [0.0]
    """

    def __init__(self, scores: SparkDataFrame, config: Config | Mapping[str, Any] | None) -> None:
        self._scores = scores
        self._value = F.col(value_columns(as_config(config).vip)[0]).cast("double")
        self._vip_now: Column | None = None
        self._sizes: dict[str, int] = {}

    def has(self, column: str) -> bool:
        return column in self._scores.columns

    def size(self, subset: Subset) -> int:
        if subset not in self._sizes:
            with quiet_pyspark():
                self._sizes[subset] = self._rows(subset).count()
        return self._sizes[subset]

    def mean(self, column: str, subset: Subset) -> float:
        with quiet_pyspark():
            row = self._rows(subset).agg(F.mean(F.col(column).cast("double"))).first()
        return float(row[0]) if row is not None and row[0] is not None else math.nan

    def with_vip_threshold(self, threshold: float) -> SparkPopulation:
        marked = copy.copy(self)
        value = self._value
        # as numpy: NaN and null are below every threshold (Spark sorts NaN above all)
        marked._vip_now = F.coalesce(
            (value >= F.lit(float(threshold))) & (value > 0) & ~F.isnan(value), F.lit(False)
        )
        marked._sizes = {k: v for k, v in self._sizes.items() if k == "all"}
        return marked

    def order_statistics(self, column: str, ranks: Sequence[int], subset: Subset) -> list[float]:
        n = self.size(subset)
        if not ranks:
            return []
        if min(ranks) < 0 or max(ranks) >= n:
            raise InvalidArgumentError(f"ranks {list(ranks)} outside the {n} values of {subset}")
        values = self._rows(subset).select(F.col(column).cast("double").alias("v"))
        brackets = self._brackets(values, ranks, n)
        found = _resolve(values, ranks, brackets)
        missed = [i for i, v in enumerate(found) if v is None]
        if missed:  # a bracket missed its rank: search every distinct value for those
            wide = [(-math.inf, math.inf)] * len(missed)
            again = _resolve(values, [ranks[i] for i in missed], wide)
            for i, v in zip(missed, again, strict=True):
                found[i] = v
        return [float(v) for v in found]  # type: ignore[arg-type]

    def _rows(self, subset: Subset) -> SparkDataFrame:
        if subset == "all":
            return self._scores
        if self._vip_now is None:
            raise InvalidArgumentError(
                f"subset {subset!r} needs a VIP threshold: use with_vip_threshold"
            )
        if subset == "vips":
            return self._scores.filter(self._vip_now)
        return self._scores.filter(~self._vip_now & _finite(F.col("p_future_vip")))

    @staticmethod
    def _brackets(
        values: SparkDataFrame, ranks: Sequence[int], n: int
    ) -> list[tuple[float, float]]:
        """Per rank, values surely at or below and at or above it (infinite at the ends)."""
        fractions = [r / (n - 1) if n > 1 else 0.0 for r in ranks]
        probes = sorted({min(max(f + s * _MARGIN, 0.0), 1.0) for f in fractions for s in (-1, 1)})
        with quiet_pyspark():
            row = values.agg(F.percentile_approx("v", probes, ACCURACY)).first()
        at = dict(zip(probes, row[0] if row is not None and row[0] else [], strict=False))
        out = []
        for f in fractions:
            lo, hi = max(f - _MARGIN, 0.0), min(f + _MARGIN, 1.0)
            low = -math.inf if lo <= 0.0 or lo not in at else float(at[lo])
            high = math.inf if hi >= 1.0 or hi not in at else float(at[hi])
            out.append((low, high))
        return out


def _resolve(
    values: SparkDataFrame, ranks: Sequence[int], brackets: Sequence[tuple[float, float]]
) -> list[float | None]:
    """The exact value at each rank, from the counts below each bracket and the values inside
    it grouped by value; None where the bracket does not hold the rank."""
    v = F.col("v")
    inside = [v.between(F.lit(lo), F.lit(hi)) for lo, hi in brackets]
    with quiet_pyspark():
        counts = [F.count(F.when(v < F.lit(lo), 1)) for lo, _ in brackets]
        below = values.agg(*counts).first()
        runs = (
            values.filter(functools.reduce(operator.or_, inside))
            .groupBy("v")
            .count()
            .collect()
        )
    runs_sorted = sorted((float(r["v"]), int(r["count"])) for r in runs)
    out: list[float | None] = []
    for i, (rank, (lo, hi)) in enumerate(zip(ranks, brackets, strict=True)):
        position = rank - int(below[i]) if below is not None else -1
        answer = None
        if position >= 0:
            for value, count in runs_sorted:
                if lo <= value <= hi:
                    if position < count:
                        answer = value
                        break
                    position -= count
        out.append(answer)
    return out


def spark_thresholds(scores: SparkDataFrame, config: Config | Mapping[str, Any] | None) -> dict:
    """:func:`vipml.segments.segment_thresholds` of a Spark table of scores, computed there.

    Parameters
    ----------
    scores
        The scores of every customer (persist it: it is read a dozen times).
    config
        The VIP rule and segments.

    Returns
    -------
    dict
        The same statistics as :func:`vipml.segments.segment_thresholds` (an earlier run's
        fixed-mode statuses are not carried over on Spark).

    Examples
    --------
    Needs a JVM (``tests/test_spark.py`` compares it with pandas)::

        >>> spark_thresholds(scores.persist(), Config())["tier_bounds"]  # doctest: +SKIP
        {'platinum': 2890.1, 'gold': 1311.6, 'silver': 655.0, 'bronze': 312.4}
    """
    return thresholds_of(SparkPopulation(scores, config), config)
