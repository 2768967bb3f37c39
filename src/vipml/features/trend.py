"""Purchases and intervals: counts, days between purchases, recency, tenure, windows and trends.

Columns (:data:`PURCHASE_COLUMNS`), all at the cutoff ``c`` (a day; "days" are whole days):

========================  ============================================================  =========
column                    meaning                                                       fill
========================  ============================================================  =========
``orders``                purchase orders (order lines joined by ``order_id``)          0
``purchase_days``         distinct days with a purchase                                 0
``mean_days_between``     mean gap between consecutive purchase days                    tenure
``median_days_between``   median gap between consecutive purchase days                  tenure
``days_since_last``       ``c`` minus the last purchase day                             tenure
``tenure_days``           ``c`` minus the first purchase day                            (1)
``orders_3m/6m/12m``      orders in the last 91 / 182 / 365 days (``day > c - w``)      0
``spend_3m/6m/12m``       revenue of those orders (returns not subtracted)              0
``trend_3m/6m``           monthly order rate in the window / rate in the 12-month one   1.0
========================  ============================================================  =========

Gaps need two purchase days; with fewer, the gap is at least the tenure (right-censored), and
that is the fill. (1) A customer whose only rows are returns has no purchase: tenure counts from
the first return.

**Trend.** A window's rate is its orders divided by its *exposure*: the window length, or the
days since the first purchase (+1) when the customer is younger than the window. A customer
who buys at a steady rate therefore has a trend near 1 whatever their age; above 1 is
accelerating, below 1 slowing down. With no order in the 12-month window the ratio is
undefined and set to 1.0 (nothing changed that can be measured). The windows are
``config.features.windows_days`` (default 91, 182, 365 days); the column names keep the
``3m/6m/12m`` suffixes for the short, medium and long window.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 1, 2],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-11", "2024-01-31", "2024-01-20"]),
...     "revenue": [10.0, 20.0, 30.0, 5.0]})
>>> f = purchase_features(tx, "2024-01-31")
>>> f[["orders", "mean_days_between", "median_days_between", "days_since_last"]]
... # doctest: +NORMALIZE_WHITESPACE
             orders  mean_days_between  median_days_between  days_since_last
customer_id
1                 3               15.0                 15.0                0
2                 1               11.0                 11.0               11
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.errors import ConfigError
from vipml.features._prep import (
    Prepared,
    group_first_last,
    group_median,
    prepare,
    safe_ratio,
)

__all__ = ["PURCHASE_COLUMNS", "purchase_columns", "purchase_features", "check_windows"]

PURCHASE_COLUMNS = (
    "orders",
    "purchase_days",
    "mean_days_between",
    "median_days_between",
    "days_since_last",
    "tenure_days",
    "orders_3m",
    "orders_6m",
    "orders_12m",
    "spend_3m",
    "spend_6m",
    "spend_12m",
    "trend_3m",
    "trend_6m",
)
_SUFFIXES = ("3m", "6m", "12m")


def check_windows(config: Config) -> tuple[int, int, int]:
    """The three activity windows (days) of ``config.features.windows_days``, validated.

    Parameters
    ----------
    config : Config
        The settings.

    Returns
    -------
    tuple of int
        The three windows, shortest first (ConfigError when they are not increasing).

    Examples
    --------
    >>> check_windows(Config())
    (91, 182, 365)
    """
    windows = tuple(config.features.windows_days)
    if (
        len(windows) != 3
        or any(int(w) != w or w <= 0 for w in windows)
        or list(windows) != sorted(set(windows))
    ):
        raise ConfigError(
            f"features.windows_days: {list(windows)} must be three increasing whole numbers of "
            "days (the short, medium and long windows, e.g. [91, 182, 365])"
        )
    return int(windows[0]), int(windows[1]), int(windows[2])


def purchase_columns(prep: Prepared, config: Config) -> dict[str, np.ndarray]:
    """The :data:`PURCHASE_COLUMNS` from prepared rows (see the module docs).

    Parameters
    ----------
    prep : Prepared
        The rows up to the cutoff (``vipml.features._prep.prepare``).
    config : Config
        The settings (the activity windows).

    Returns
    -------
    dict of str to numpy.ndarray
        Each of :data:`PURCHASE_COLUMNS`, one value per customer code.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> sorted(purchase_columns(prepare(tx, "2024-01-31"), Config())) == sorted(PURCHASE_COLUMNS)
    True
    """
    windows = check_windows(config)
    n, c = prep.n, prep.cutoff_day
    p_code, p_day = prep.p_code, prep.p_day
    orders = prep.orders

    # distinct purchase days: runs of equal (customer, day) in the sorted purchase rows
    new = np.ones(len(p_code), dtype=bool)
    new[1:] = (p_code[1:] != p_code[:-1]) | (p_day[1:] != p_day[:-1])
    d_code, d_day = p_code[new], p_day[new]
    purchase_days = np.bincount(d_code, minlength=n)
    first, last = group_first_last(d_day, d_code, n, fill=0)
    tenure = c - prep.first_purchase_day
    several = purchase_days >= 2
    same = d_code[1:] == d_code[:-1]
    gaps = (d_day[1:] - d_day[:-1])[same]
    median_gap = group_median(gaps, d_code[1:][same], n)

    out: dict[str, np.ndarray] = {
        "orders": np.bincount(orders.code, minlength=n),
        "purchase_days": purchase_days,
        "mean_days_between": np.where(
            several, (last - first) / np.maximum(purchase_days - 1, 1), tenure
        ).astype(np.float64),
        "median_days_between": np.where(several, median_gap, tenure).astype(np.float64),
        "days_since_last": np.where(purchase_days > 0, c - last, tenure),
        "tenure_days": tenure,
    }
    rates = []
    for suffix, w in zip(_SUFFIXES, windows, strict=True):
        inside = orders.day > c - w
        codes = orders.code[inside]
        count = np.bincount(codes, minlength=n)
        out[f"orders_{suffix}"] = count
        out[f"spend_{suffix}"] = np.bincount(codes, weights=orders.revenue[inside], minlength=n)
        rates.append(count / np.minimum(w, tenure + 1))
    for suffix, rate in zip(_SUFFIXES[:2], rates[:2], strict=True):
        out[f"trend_{suffix}"] = safe_ratio(rate, rates[2], 1.0)
    return out


def purchase_features(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, config: Config | None = None
) -> pd.DataFrame:
    """The :data:`PURCHASE_COLUMNS` per customer at ``cutoff`` (one row per customer seen).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.
    config : Config, optional
        The settings (``features``, ``btyd``); the defaults otherwise.

    Returns
    -------
    pandas.DataFrame
        The :data:`PURCHASE_COLUMNS`, indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> purchase_features(tx, "2024-01-31").shape
    (2, 14)
    """
    prep = prepare(transactions, cutoff)
    return pd.DataFrame(purchase_columns(prep, config or Config()), index=prep.customers)
