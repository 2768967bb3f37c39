"""The BTYD summary: frequency, recency, T and monetary value, exactly as lifetimes defines them.

Purchases are aggregated per period (``freq``: a day or a Monday-to-Sunday week); the first
period is the customer's birth and is excluded from ``frequency`` and ``monetary_value``;
``recency`` is the time from the first to the last purchase period and ``T`` from the first
period to the cutoff's period, both counted in ``time_unit``. The result equals
``lifetimes.utils.summary_data_from_transaction_data`` (with ``monetary_value_col``) whenever
``freq == time_unit``; the models' default (``freq='D'``, ``time_unit='W'``) is the convention
of the published CDNOW tables: purchases per day, time in weeks (days / 7).

One difference on purpose: a ``cutoff`` covers its whole day and nothing after it. With weekly
periods lifetimes keeps every transaction of the cutoff's *week*, including days after the
cutoff; vipml does not.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-10"]),
...     "revenue": [10.0, 5.0, 20.0, 7.0]})
>>> btyd_summary(tx, "2024-01-29", freq="D", time_unit="D")  # doctest: +NORMALIZE_WHITESPACE
             frequency  recency     T  monetary_value
customer_id
1                  1.0     14.0  28.0            20.0
2                  0.0      0.0  19.0             0.0
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["BTYD_COLUMNS", "Period", "btyd_summary", "day_numbers", "purchases_only"]

BTYD_COLUMNS = ("frequency", "recency", "T", "monetary_value")
Period = Literal["D", "W"]
_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def day_numbers(timestamps: pd.Series | np.ndarray) -> np.ndarray:
    """Whole days since 1970-01-01 (int64) of each timestamp."""
    values = np.asarray(timestamps, dtype="datetime64[ns]")
    return values.astype("datetime64[D]").astype(np.int64)


def _period_start(days: np.ndarray, freq: Period) -> np.ndarray:
    """First day of each day's period (the day itself, or the Monday of its week)."""
    if freq == "D":
        return days
    return days - (days + 3) % 7  # 1970-01-05 was a Monday


def purchases_only(tx: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows on or before the cutoff's day that are purchases (not returns)."""
    end = pd.Timestamp(cutoff).normalize() + pd.Timedelta(days=1)
    keep = (tx["timestamp"] < end).to_numpy()
    if "is_return" in tx:
        keep = keep & ~tx["is_return"].to_numpy(dtype=bool)
    return tx.loc[keep]


def btyd_summary(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    freq: Period = "D",
    time_unit: Period | None = None,
) -> pd.DataFrame:
    """Per-customer ``frequency, recency, T, monetary_value`` at ``cutoff``.

    Parameters
    ----------
    transactions
        Validated transactions (``customer_id``, ``timestamp``, ``revenue``; returns, flagged by
        ``is_return``, are left out).
    cutoff
        Last day observed (inclusive); later rows are ignored.
    freq
        Period purchases are aggregated into: ``'D'`` or ``'W'`` (as lifetimes' ``freq``).
    time_unit
        Unit of ``recency`` and ``T``; defaults to ``freq`` (lifetimes' behaviour).

    Returns
    -------
    DataFrame indexed by ``customer_id`` (sorted), float columns :data:`BTYD_COLUMNS`.
    """
    if freq not in _UNIT_DAYS:
        raise ValueError(f"freq {freq!r} is not one of 'D', 'W'")
    time_unit = time_unit or freq
    if time_unit not in _UNIT_DAYS:
        raise ValueError(f"time_unit {time_unit!r} is not one of 'D', 'W'")
    cutoff = pd.Timestamp(cutoff)
    tx = purchases_only(transactions, cutoff)
    codes, uniques = pd.factorize(tx["customer_id"], sort=True)
    period = _period_start(day_numbers(tx["timestamp"]), freq)
    revenue = tx["revenue"].to_numpy(dtype=np.float64)

    # One entry per (customer, period): sort, then sum revenue within runs of equal keys.
    order = np.lexsort((period, codes))
    codes, period, revenue = codes[order], period[order], revenue[order]
    new_run = np.ones(len(codes), dtype=bool)
    new_run[1:] = (codes[1:] != codes[:-1]) | (period[1:] != period[:-1])
    starts = np.flatnonzero(new_run)
    run_customer = codes[starts]
    run_period = period[starts]
    run_value = np.add.reduceat(revenue, starts) if len(starts) else revenue[:0]

    n = len(uniques)
    count = np.bincount(run_customer, minlength=n)
    first_run = np.concatenate([[0], np.cumsum(count)[:-1]]) if n else count
    last_run = first_run + count - 1
    first = run_period[first_run]
    last = run_period[last_run]
    repeat_value = np.bincount(run_customer, weights=run_value, minlength=n) - run_value[first_run]
    frequency = (count - 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, repeat_value / np.maximum(frequency, 1), 0.0)

    end = _period_start(day_numbers(np.array([cutoff.normalize()])), freq)[0]
    unit = _UNIT_DAYS[time_unit]
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first) / unit,
            "T": (end - first) / unit,
            "monetary_value": monetary,
        },
        index=pd.Index(uniques, name="customer_id"),
    )
