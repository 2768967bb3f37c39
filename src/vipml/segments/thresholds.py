"""The population thresholds of the segments, written once over any :class:`Population`.

Every threshold is an exact order statistic, a count or a mean of one column over everyone,
the VIPs or the non-VIPs: :func:`thresholds_of` asks a :class:`Population` for those and does
the arithmetic (which rank, which quantile interpolation, which bar) itself. A pandas table
answers from memory (:class:`TablePopulation`, behind :func:`segment_thresholds`); the Spark
engine answers with distributed queries (``vipml.spark.thresholds``), so both engines draw
the same lines from the same numbers, ties included.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from vipml.config import Config, VipConfig
from vipml.errors import InvalidArgumentError, SchemaError
from vipml.segments.status import run_date_of, value_columns, vip_status
from vipml.segments.vocabulary import as_config

__all__ = [
    "Subset",
    "Population",
    "TablePopulation",
    "thresholds_of",
    "segment_thresholds",
    "interpolated_quantiles",
]

#: Whose values a statistic reads: everyone, the VIPs now, or the non-VIPs with a finite
#: ``p_future_vip`` (the predicted-VIP candidates). The last two need a VIP threshold.
Subset = Literal["all", "vips", "candidates"]


class Population(Protocol):
    """The whole customer table, as the thresholds read it.

    ``order_statistics(column, ranks, subset)`` returns the values at those 0-based ranks of
    the column sorted ascending within the subset, exactly (ties count once per customer).

    Attributes
    ----------
    size, mean, order_statistics, with_vip_threshold, has
        The questions :func:`thresholds_of` asks (methods).

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": [1, 2], "spend_12m": [4.0, 1.0], "clv": [0.0, 1.0]})
    >>> population: Population = TablePopulation(table)
    >>> population.size("all"), population.order_statistics("clv", [1], "all")
    (2, [1.0])
    """

    def size(self, subset: Subset) -> int:
        """Number of customers in the subset."""
        ...

    def mean(self, column: str, subset: Subset) -> float:
        """Mean of the column over the subset."""
        ...

    def order_statistics(self, column: str, ranks: Sequence[int], subset: Subset) -> list[float]:
        """The column's values at these ascending 0-based ranks within the subset."""
        ...

    def with_vip_threshold(self, threshold: float) -> Population:
        """The same customers, knowing who is a VIP at this threshold."""
        ...

    def has(self, column: str) -> bool:
        """Whether the table has the column."""
        ...


def interpolated_quantiles(
    population: Population, column: str, qs: Sequence[float], subset: Subset
) -> list[float]:
    """Quantiles of a column as :func:`numpy.quantile` computes them (linear interpolation).

    Parameters
    ----------
    population
        The customers.
    column
        The column.
    qs
        Probabilities in [0, 1].
    subset
        Whose values (:data:`Subset`).

    Returns
    -------
    list of float
        One quantile per probability, bit for bit ``numpy.quantile``'s, from the two order
        statistics around each; 0.0 each when the subset is empty.

    Examples
    --------
    >>> table = TablePopulation(pd.DataFrame({"customer_id": [1, 2, 3, 4],
    ...     "spend_12m": [1.0, 2.0, 2.0, 10.0], "clv": [0.0, 0.0, 0.0, 0.0]}))
    >>> interpolated_quantiles(table, "spend_12m", [0.5, 0.9], "all")
    [2.0, 7.600000000000001]
    """
    n = population.size(subset)
    if n == 0:
        return [0.0 for _ in qs]
    positions = [(n - 1) * float(q) for q in qs]
    ranks = sorted({min(int(math.floor(h)) + step, n - 1) for h in positions for step in (0, 1)})
    value_at = dict(zip(ranks, population.order_statistics(column, ranks, subset), strict=True))
    out = []
    for h in positions:
        below = int(math.floor(h))
        a, b, t = value_at[below], value_at[min(below + 1, n - 1)], h - below
        diff = b - a  # numpy's _lerp: from the nearer end, so a tie gives that value exactly
        out.append(float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t))
    return out


def thresholds_of(population: Population, config: Config | Mapping[str, Any] | None) -> dict:
    """The segments' population statistics (see :func:`segment_thresholds`) of any population.

    Parameters
    ----------
    population
        The whole customer table (:class:`TablePopulation`, or the Spark engine's).
    config
        A :class:`Config`, plain nested settings, or ``None`` for the defaults.

    Returns
    -------
    dict of str to Any
        ``vip_threshold``, ``tier_bounds``, ``clv_bar`` and, with ``p_future_vip``,
        ``predicted_vip_base_rate`` and ``predicted_vip_min_p``.

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": [1, 2, 3], "spend_12m": [5.0, 5.0, 1.0],
    ...     "clv": [1.0, 2.0, 3.0]})
    >>> thresholds_of(TablePopulation(table), {"vip": {"top_pct": 0.3}})["vip_threshold"]
    5.0
    """
    cfg = as_config(config)
    vip = cfg.vip
    value_col, clv_col = value_columns(vip)
    n = population.size("all")
    if vip.mode == "fixed":
        threshold = float(vip.threshold)
    elif n == 0:
        threshold = 0.0
    else:  # the value of the last customer inside the top top_pct (at least one customer)
        k = max(1, math.ceil(vip.top_pct * n - 1e-9))
        threshold = population.order_statistics(value_col, [n - k], "all")[0]
    marked = population.with_vip_threshold(threshold)
    q = cfg.segments.dormant_min_clv_quantile
    out: dict[str, Any] = {
        "vip_threshold": float(threshold),
        "tier_bounds": _tier_bounds(marked, value_col, vip),
        "clv_bar": interpolated_quantiles(population, clv_col, [q], "all")[0],
    }
    if population.has("p_future_vip"):
        out.update(_predicted_vip_bar(marked, cfg.segments))
    return out


def _tier_bounds(population: Population, value_col: str, vip: VipConfig) -> dict[str, float]:
    """Each tier's lower bound as an amount (quantiles of value among the VIPs now)."""
    if vip.tier_by == "amount":
        return {t.name: float(t.min_value) for t in vip.tiers}
    bounds = interpolated_quantiles(population, value_col, [t.min_value for t in vip.tiers], "vips")
    return {t.name: b for t, b in zip(vip.tiers, bounds, strict=True)}


def _predicted_vip_bar(population: Population, seg: Any) -> dict[str, float]:
    """The predicted-VIP bar over the non-VIPs' ``p_future_vip`` (see
    :func:`segment_thresholds`); above every probability when there is nobody to list."""
    m = population.size("candidates")
    if m == 0:
        return {"predicted_vip_base_rate": 0.0, "predicted_vip_min_p": math.inf}
    base = float(population.mean("p_future_vip", "candidates"))
    k = math.ceil(seg.predicted_vip_top_pct * m - 1e-9)
    capacity = math.inf
    if k > 0:
        capacity = population.order_statistics("p_future_vip", [m - k], "candidates")[0]
    bar = max(capacity, seg.predicted_vip_min_lift * base, seg.predicted_vip_min_p)
    return {"predicted_vip_base_rate": base, "predicted_vip_min_p": float(max(bar, 1e-12))}


class TablePopulation:
    """A pandas customer table as a :class:`Population`.

    Parameters
    ----------
    scores
        ``customer_id``, the value and CLV columns of the rule, and optionally
        ``p_future_vip``.
    config
        The VIP rule (which value column, fixed-mode terms).
    previous, as_of
        An earlier run and this run's date: in fixed mode a status still in its term holds.

    Examples
    --------
    >>> table = TablePopulation(pd.DataFrame({"customer_id": [1, 2, 3],
    ...     "spend_12m": [3.0, 1.0, 2.0], "clv": [0.0, 0.0, 0.0]}))
    >>> table.order_statistics("spend_12m", [0, 2], "all")
    [1.0, 3.0]
    >>> table.with_vip_threshold(2.0).size("vips")
    2
    """

    def __init__(
        self,
        scores: pd.DataFrame,
        config: Config | Mapping[str, Any] | None = None,
        previous: pd.DataFrame | None = None,
        as_of: str | pd.Timestamp | None = None,
    ) -> None:
        self._cfg = as_config(config)
        value_col, clv_col = value_columns(self._cfg.vip)
        missing = [c for c in ("customer_id", value_col, clv_col) if c not in scores.columns]
        if missing:
            raise SchemaError(
                [f"missing column(s) {', '.join(missing)}: thresholds need customer_id, "
                 f"{value_col} and {clv_col}"],
                table="scores",
            )
        names = [value_col, clv_col, *(["p_future_vip"] if "p_future_vip" in scores else [])]
        self._values = {
            c: pd.to_numeric(scores[c], errors="coerce").to_numpy(dtype=np.float64) for c in names
        }
        self._ids = scores["customer_id"].to_numpy()
        self._previous = previous
        self._run_date = run_date_of(scores, as_of)
        self._vip_now: np.ndarray | None = None

    def has(self, column: str) -> bool:
        return column in self._values

    def size(self, subset: Subset) -> int:
        return int(self._mask(subset).sum())

    def mean(self, column: str, subset: Subset) -> float:
        return float(self._values[column][self._mask(subset)].mean())

    def order_statistics(
        self, column: str, ranks: Sequence[int], subset: Subset
    ) -> list[float]:
        values = self._values[column][self._mask(subset)]
        return [float(v) for v in np.partition(values, list(ranks))[list(ranks)]]

    def with_vip_threshold(self, threshold: float) -> TablePopulation:
        value_col = value_columns(self._cfg.vip)[0]
        frame = pd.DataFrame({"customer_id": self._ids, value_col: self._values[value_col]})
        marked = copy.copy(self)
        marked._vip_now = vip_status(frame, self._cfg, self._previous, self._run_date, threshold)[0]
        return marked

    def _mask(self, subset: Subset) -> np.ndarray:
        n = len(self._ids)
        if subset == "all":
            return np.ones(n, dtype=bool)
        if self._vip_now is None:
            raise InvalidArgumentError(
                f"subset {subset!r} needs a VIP threshold: use with_vip_threshold"
            )
        if subset == "vips":
            return self._vip_now
        return ~self._vip_now & np.isfinite(self._values["p_future_vip"])


def segment_thresholds(
    scores: pd.DataFrame,
    config: Config | Mapping[str, Any] | None = None,
    previous: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The population statistics of the segments, from the whole customer table.

    ``vip_threshold`` (the fixed amount, or the dynamic top-X% boundary), ``tier_bounds``
    (amounts, highest tier first), ``clv_bar`` (the dormant high-potential CLV quantile), and
    for the predicted-VIP list ``predicted_vip_base_rate`` (the non-VIPs' mean
    ``p_future_vip``) and ``predicted_vip_min_p`` (the bar: the ``p_future_vip`` of the last
    customer within ``segments.predicted_vip_top_pct`` of the non-VIPs, and at least
    ``segments.predicted_vip_min_lift`` times the base rate). Only ``customer_id``, the value
    column (``spend_12m`` or ``profit_12m``), the CLV column (``clv`` or ``clv_profit``) and
    ``p_future_vip`` are read. Compute them once over all customers, then segment
    chunks or partitions with ``assign_segments(chunk, config, thresholds=...)``: the rows equal
    those of segmenting the whole table at once.

    Parameters
    ----------
    scores
        The whole customer table (columns as above).
    config
        A :class:`Config`, plain nested settings, or ``None`` for the defaults.
    previous
        The previous run's scores (fixed mode: VIP statuses still in their term).
    as_of
        The run's date (fixed mode).

    Returns
    -------
    dict of str to Any
        The statistics named above.

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": range(10), "spend_12m": [0.0] * 5 + [1.0] * 4
    ...     + [100.0], "clv": [float(i) for i in range(10)]})
    >>> t = segment_thresholds(table)
    >>> t["vip_threshold"], t["tier_bounds"]["gold"], t["clv_bar"]
    (100.0, 100.0, 7.2)
    >>> table["p_future_vip"] = [0.01] * 7 + [0.05, 0.6, 0.9]
    >>> t = segment_thresholds(table, {"segments": {"predicted_vip_top_pct": 0.2}})
    >>> # capacity: 2 of the 9 non-VIPs (0.6 and 0.05); 0.05 is below 2x the base rate
    >>> round(t["predicted_vip_base_rate"], 4), round(t["predicted_vip_min_p"], 4)
    (0.08, 0.16)
    """
    return thresholds_of(TablePopulation(scores, config, previous, as_of), config)
