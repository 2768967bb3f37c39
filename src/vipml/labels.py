"""Targets from the future window ``(cutoff, cutoff + horizon]`` only.

The customers *known at the cutoff* are those with a purchase or a return on or before the
cutoff's day (the rows :func:`vipml.features.build_features` returns); every label is indexed by
them. Rows on or before the cutoff's day are never read for an outcome, and rows after
``cutoff + horizon`` are never read at all, so appending later rows changes nothing.

Definitions (settings in ``config.labels``):

* **future value** (:func:`future_value`): the customer's net value in the window: *profit*
  (``revenue - cost``) when the transactions have a ``cost`` column (rows without a cost assume
  ``config.features.default_margin_rate``, as the features do), else *revenue*. Returns (rows
  flagged ``is_return`` or with negative revenue) subtract their refund, and their cost comes
  back.
* **future VIP** (:func:`future_vip`): future value above ``labels.vip_fixed_amount`` when that is
  set; otherwise among the top ``labels.vip_top_pct`` (default 10%) of the customers known at the
  cutoff: value at least the ``k``-th largest value, ``k = ceil(vip_top_pct * n)``, and positive
  (ties at the threshold are all VIPs; a customer who buys nothing is never a VIP).
* **churn** (:func:`churn`): the customer was *active* (a purchase in the last
  ``labels.churn_active_days`` days up to the cutoff, default 365) and makes no purchase in the
  window. Inactive customers are not churn candidates: :func:`churn_eligible` marks the active
  ones and models are trained and judged on them only.

A label window that reaches past the last date in the data is incomplete: purchases in the
missing days count as none, and :class:`IncompleteHorizonWarning` says so.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 4],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-01-20",
...                                  "2024-02-01", "2024-03-01"]),
...     "revenue": [10.0, 50.0, 20.0, 5.0, 8.0, 99.0]})
>>> labels = make_labels(tx, "2024-01-31", "4W")
>>> labels  # doctest: +NORMALIZE_WHITESPACE
             future_vip  churn  future_value  future_purchases  churn_eligible
customer_id
1                  True  False          50.0                 1            True
2                 False   True           0.0                 0            True
3                 False  False           8.0                 1            True
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from vipml.config import Config, parse_duration
from vipml.data.schema import require_validated
from vipml.units import NS_PER_DAY

__all__ = [
    "LABEL_COLUMNS",
    "IncompleteHorizonWarning",
    "known_customers",
    "future_value",
    "future_vip",
    "churn",
    "churn_eligible",
    "make_labels",
]

LABEL_COLUMNS = ("future_vip", "churn", "future_value", "future_purchases", "churn_eligible")


class IncompleteHorizonWarning(UserWarning):
    """The label window reaches past the last date in the data."""


class _Window(NamedTuple):
    customers: pd.Index
    value: np.ndarray
    purchases: np.ndarray
    active: np.ndarray


def _day(cutoff: str | pd.Timestamp) -> int:
    return int(pd.Timestamp(cutoff).normalize().value // NS_PER_DAY)


def _ns(transactions: pd.DataFrame) -> np.ndarray:
    return np.asarray(transactions["timestamp"], dtype="datetime64[ns]").view(np.int64)


def _returns(transactions: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    revenue = transactions["revenue"].to_numpy(dtype=np.float64)[rows]
    out = revenue < 0
    if "is_return" in transactions:
        out |= transactions["is_return"].to_numpy(dtype=bool)[rows]
    return out


def known_customers(transactions: pd.DataFrame, cutoff: str | pd.Timestamp) -> pd.Index:
    """Sorted ids of the customers with a purchase or a return on or before the cutoff's day.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive).

    Returns
    -------
    pandas.Index
        Their ids, sorted.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [2, 1, 3], "revenue": [1.0, 2.0, 3.0],
    ...     "timestamp": pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-09"])})
    >>> known_customers(tx, "2024-01-05").tolist()
    [1, 2]
    """
    require_validated(transactions)
    end = (_day(cutoff) + 1) * NS_PER_DAY
    ids = transactions["customer_id"].to_numpy()[_ns(transactions) < end]
    return pd.Index(pd.unique(ids), name="customer_id").sort_values()


def _window(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config,
    warn: bool = True,
) -> _Window:
    """Per known customer: value and purchases in the window, activity before the cutoff."""
    require_validated(transactions)
    days = parse_duration(horizon).days
    c = _day(cutoff)
    ns = _ns(transactions)
    start, end = (c + 1) * NS_PER_DAY, (c + 1 + days) * NS_PER_DAY
    customers = known_customers(transactions, cutoff)
    n = len(customers)
    ids = transactions["customer_id"]

    # activity: a purchase in (c - active_days, c]
    past = np.flatnonzero((ns >= (c + 1 - config.labels.churn_active_days) * NS_PER_DAY)
                          & (ns < start))
    past = past[~_returns(transactions, past)]
    code = customers.get_indexer(ids.iloc[past])
    active = np.bincount(code[code >= 0], minlength=n) > 0

    rows = np.flatnonzero((ns >= start) & (ns < end))
    code = customers.get_indexer(ids.iloc[rows])
    keep = code >= 0
    rows, code = rows[keep], code[keep]
    is_return = _returns(transactions, rows)
    revenue = np.abs(transactions["revenue"].to_numpy(dtype=np.float64)[rows])
    signed = np.where(is_return, -revenue, revenue)
    value = signed
    if "cost" in transactions:
        cost = transactions["cost"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
        cost = np.where(is_return, -np.abs(cost), cost)
        assumed = signed * (1.0 - config.features.default_margin_rate)
        value = signed - np.where(np.isnan(cost), assumed, cost)
    total = np.bincount(code, weights=value, minlength=n) if n else np.zeros(0)
    purchases = np.bincount(code[~is_return], minlength=n) if n else np.zeros(0, dtype=np.int64)

    if warn and len(ns):
        last = int(ns.max() // NS_PER_DAY)
        missing = c + days - last
        if missing > 0:
            first = pd.Timestamp(cutoff).normalize()
            window = f"({first:%Y-%m-%d}, {first + pd.Timedelta(days=days):%Y-%m-%d}]"
            warnings.warn(
                f"the data end on {pd.Timestamp(last * NS_PER_DAY):%Y-%m-%d}, {missing} "
                f"day{'s' if missing != 1 else ''} before the end of the label window "
                f"{window}: purchases in the missing days count as none",
                IncompleteHorizonWarning,
                stacklevel=3,
            )
    return _Window(customers, total, purchases.astype(np.int64), active)


def _vip(value: np.ndarray, config: Config) -> np.ndarray:
    fixed = config.labels.vip_fixed_amount
    if fixed is not None:
        return value > fixed
    n = len(value)
    if n == 0:
        return np.zeros(0, dtype=bool)
    k = max(1, math.ceil(config.labels.vip_top_pct * n - 1e-9))
    threshold = np.partition(value, n - k)[n - k]
    return (value >= threshold) & (value > 0)


def future_value(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
) -> pd.Series:
    """Net value of each known customer in ``(cutoff, cutoff + horizon]`` (profit or revenue).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive).
    horizon : str, int or pandas.Timedelta
        The window's length, such as ``'26W'`` (:func:`vipml.config.parse_duration`).
    config : Config, optional
        The settings (``labels``, ``features``); the defaults otherwise.

    Returns
    -------
    pandas.Series
        Net value per known customer (0 without a row in the window).

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 1], "revenue": [10.0, 40.0, -10.0],
    ...     "cost": [6.0, 30.0, -5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-12"])})
    >>> future_value(tx, "2024-01-05", "1W").tolist()  # 40 - 30 - (10 - 5)
    [5.0]
    """
    w = _window(transactions, cutoff, horizon, config or Config())
    return pd.Series(w.value, index=w.customers, name="future_value")


def future_vip(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
) -> pd.Series:
    """True for the known customers whose future value makes them VIPs (see module docs).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive).
    horizon : str, int or pandas.Timedelta
        The window's length, such as ``'26W'`` (:func:`vipml.config.parse_duration`).
    config : Config, optional
        The settings (``labels``, ``features``); the defaults otherwise.

    Returns
    -------
    pandas.Series
        Booleans per known customer.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-02-01"]),
    ...     "revenue": [10.0, 50.0, 20.0, 8.0]})
    >>> future_vip(tx, "2024-01-31", "4W").tolist()
    [True, False]
    """
    config = config or Config()
    w = _window(transactions, cutoff, horizon, config)
    return pd.Series(_vip(w.value, config), index=w.customers, name="future_vip")


def churn_eligible(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, config: Config | None = None
) -> pd.Series:
    """True for the known customers with a purchase in the last ``churn_active_days`` days.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive).
    config : Config, optional
        The settings (``labels``, ``features``); the defaults otherwise.

    Returns
    -------
    pandas.Series
        Booleans per known customer.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-02-01"]),
    ...     "revenue": [10.0, 50.0, 20.0, 8.0]})
    >>> churn_eligible(tx, "2024-01-31").tolist()
    [True, True]
    """
    w = _window(transactions, cutoff, "1D", config or Config(), warn=False)
    return pd.Series(w.active, index=w.customers, name="churn_eligible")


def churn(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
) -> pd.Series:
    """True for active customers (see :func:`churn_eligible`) with no purchase in the window.

    Inactive customers are False here; select :func:`churn_eligible` ones to train or judge.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive).
    horizon : str, int or pandas.Timedelta
        The window's length, such as ``'26W'`` (:func:`vipml.config.parse_duration`).
    config : Config, optional
        The settings (``labels``, ``features``); the defaults otherwise.

    Returns
    -------
    pandas.Series
        Booleans per known customer.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-02-01"]),
    ...     "revenue": [10.0, 50.0, 20.0, 8.0]})
    >>> churn(tx, "2024-01-31", "4W").tolist()
    [False, True]
    """
    w = _window(transactions, cutoff, horizon, config or Config())
    return pd.Series(w.active & (w.purchases == 0), index=w.customers, name="churn")


def make_labels(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
    warn: bool = True,
) -> pd.DataFrame:
    """Every label of every known customer: :data:`LABEL_COLUMNS`, indexed by ``customer_id``.

    ``future_purchases`` counts purchase rows in the window; ``warn=False`` silences
    :class:`IncompleteHorizonWarning`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive).
    horizon : str, int or pandas.Timedelta
        The window's length, such as ``'26W'`` (:func:`vipml.config.parse_duration`).
    config : Config, optional
        The settings (``labels``, ``features``); the defaults otherwise.
    warn : bool, default True
        Warn when the window reaches past the data.

    Returns
    -------
    pandas.DataFrame
        The :data:`LABEL_COLUMNS`, indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-05", "2024-02-01"]),
    ...     "revenue": [10.0, 50.0, 20.0, 8.0]})
    >>> make_labels(tx, "2024-01-31", "4W")["future_purchases"].tolist()
    [1, 0]
    """
    config = config or Config()
    w = _window(transactions, cutoff, horizon, config, warn=warn)
    return pd.DataFrame(
        {
            "future_vip": _vip(w.value, config),
            "churn": w.active & (w.purchases == 0),
            "future_value": w.value,
            "future_purchases": w.purchases,
            "churn_eligible": w.active,
        },
        index=w.customers,
    )
