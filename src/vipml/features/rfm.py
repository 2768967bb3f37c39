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

from vipml.errors import InvalidArgumentError
from vipml.features._prep import cutoff_day, day_end_ns, group_sort, timestamps_ns
from vipml.units import NS_PER_DAY, PERIOD_DAYS

__all__ = [
    "BTYD_COLUMNS",
    "Period",
    "btyd_arrays",
    "btyd_summary",
    "day_numbers",
    "purchases_only",
]

BTYD_COLUMNS = ("frequency", "recency", "T", "monetary_value")
Period = Literal["D", "W"]


def day_numbers(timestamps: pd.Series | np.ndarray) -> np.ndarray:
    """Whole days since 1970-01-01 (int64) of each timestamp.

    Parameters
    ----------
    timestamps : pandas.Series or numpy.ndarray
        Naive datetimes.

    Returns
    -------
    numpy.ndarray
        int64 day numbers.

    Examples
    --------
    >>> day_numbers(pd.Series(pd.to_datetime(["1970-01-02 23:00", "2024-01-01 00:00"]))).tolist()
    [1, 19723]
    """
    values = np.asarray(timestamps, dtype="datetime64[ns]")
    return values.astype("datetime64[D]").astype(np.int64)


def period_start(days: np.ndarray, freq: Period) -> np.ndarray:
    """First day of each day's period (the day itself, or the Monday of its week).

    Parameters
    ----------
    days : numpy.ndarray
        Day numbers (:func:`day_numbers`).
    freq : str
        ``'D'`` or ``'W'``.

    Returns
    -------
    numpy.ndarray
        The first day of each day's period.

    Examples
    --------
    >>> wednesday = day_numbers(pd.Series(pd.to_datetime(["2024-01-03"])))
    >>> period_start(wednesday, "W") == wednesday - 2  # the Monday
    array([ True])
    """
    if freq == "D":
        return days
    return days - (days + 3) % 7  # 1970-01-05 was a Monday


def _purchase_mask(tx: pd.DataFrame, cutoff: str | pd.Timestamp) -> np.ndarray:
    """Mask of the purchase rows on or before the cutoff's day."""
    revenue = tx["revenue"].to_numpy(dtype=np.float64)
    keep = (timestamps_ns(tx["timestamp"]) < day_end_ns(cutoff_day(cutoff))) & ~(revenue < 0)
    if "is_return" in tx:
        keep &= ~tx["is_return"].to_numpy(dtype=bool)
    return keep


def purchases_only(tx: pd.DataFrame, cutoff: str | pd.Timestamp) -> pd.DataFrame:
    """Rows on or before the cutoff's day that are purchases.

    Returns are left out: rows flagged ``is_return`` and rows with negative revenue (a refund,
    per the transaction contract). Zero-revenue rows are purchases.

    Parameters
    ----------
    tx : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.

    Returns
    -------
    pandas.DataFrame
        Those rows (returns and later rows left out).

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> purchases_only(tx.assign(revenue=[10.0, -30.0, 5.0]), "2024-01-31")["revenue"].tolist()
    [10.0, 5.0]
    """
    keep = _purchase_mask(tx, cutoff)
    return tx if keep.all() else tx.loc[keep]


def _check_periods(freq: str, time_unit: str | None) -> Period:
    if freq not in PERIOD_DAYS:
        raise InvalidArgumentError(f"freq {freq!r} is not one of 'D', 'W'")
    time_unit = time_unit or freq
    if time_unit not in PERIOD_DAYS:
        raise InvalidArgumentError(f"time_unit {time_unit!r} is not one of 'D', 'W'")
    return time_unit  # type: ignore[return-value]


def btyd_arrays(
    code: np.ndarray,
    day: np.ndarray,
    revenue: np.ndarray,
    n: int,
    cutoff_day: int,
    freq: Period,
    time_unit: Period,
) -> dict[str, np.ndarray]:
    """The BTYD columns from purchase rows already sorted by ``(code, day)``.

    Customers without a purchase get ``frequency = recency = monetary_value = 0`` and ``T = 0``.

    Parameters
    ----------
    code : numpy.ndarray
        Customer code per purchase row.
    day : numpy.ndarray
        Day number per row.
    revenue : numpy.ndarray
        Revenue per row.
    n : int
        The number of customers.
    cutoff_day : int
        The cutoff's day number.
    freq : str
        ``'D'`` or ``'W'``: the period purchases are aggregated into.
    time_unit : str
        ``'D'`` or ``'W'``: the unit of ``recency`` and ``T``.

    Returns
    -------
    dict of str to numpy.ndarray
        Each of :data:`BTYD_COLUMNS`.

    Examples
    --------
    >>> arrays = btyd_arrays(np.array([0, 0]), np.array([0, 10]), np.array([5.0, 7.0]), 1, 20,
    ...                      "D", "D")
    >>> {k: v.tolist() for k, v in arrays.items()}
    {'frequency': [1.0], 'recency': [10.0], 'T': [20.0], 'monetary_value': [7.0]}
    """
    period = period_start(day, freq)
    # One entry per (customer, period): runs of equal keys, revenue summed within a run.
    new_run = np.ones(len(code), dtype=bool)
    new_run[1:] = (code[1:] != code[:-1]) | (period[1:] != period[:-1])
    starts = np.flatnonzero(new_run)
    run_customer = code[starts]
    run_period = period[starts]
    run_value = np.add.reduceat(revenue, starts) if len(starts) else revenue[:0]

    count = np.bincount(run_customer, minlength=n)
    has = count > 0
    first_run = np.cumsum(count) - count
    last_run = first_run + count - 1
    end = int(period_start(np.array([cutoff_day]), freq)[0])
    first = np.full(n, end, dtype=np.int64)
    last = first.copy()
    first[has] = run_period[first_run[has]]
    last[has] = run_period[last_run[has]]
    first_value = np.zeros(n)
    first_value[has] = run_value[first_run[has]]
    repeat_value = np.bincount(run_customer, weights=run_value, minlength=n) - first_value
    frequency = np.maximum(count - 1, 0).astype(np.float64)
    monetary = np.zeros(n)
    np.divide(repeat_value, frequency, out=monetary, where=frequency > 0)
    unit = PERIOD_DAYS[time_unit]
    return {
        "frequency": frequency,
        "recency": (last - first) / unit,
        "T": (end - first) / unit,
        "monetary_value": monetary,
    }


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
        ``is_return`` or with negative revenue, are left out).
    cutoff
        Last day observed (inclusive); later rows are ignored.
    freq
        Period purchases are aggregated into: ``'D'`` or ``'W'`` (as lifetimes' ``freq``).
    time_unit
        Unit of ``recency`` and ``T``; defaults to ``freq`` (lifetimes' behaviour).

    Returns
    -------
    DataFrame indexed by ``customer_id`` (sorted), float columns :data:`BTYD_COLUMNS`.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> btyd_summary(tx, "2024-01-31").loc[1].tolist()
    [1.0, 19.0, 30.0, 30.0]
    """
    time_unit = _check_periods(freq, time_unit)
    rows = np.flatnonzero(_purchase_mask(transactions, cutoff))
    day = timestamps_ns(transactions["timestamp"])[rows] // NS_PER_DAY
    perm, code, customers = group_sort(transactions["customer_id"].iloc[rows], day)
    revenue = transactions["revenue"].to_numpy(dtype=np.float64)[rows[perm]]
    columns = btyd_arrays(
        code, day[perm], revenue, len(customers), cutoff_day(cutoff), freq, time_unit
    )
    return pd.DataFrame(columns, index=customers)
