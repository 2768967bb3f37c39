"""One row per customer at a cutoff: every value signal, joined in a fixed order.

:func:`build_features` prepares the log once (rows on or before the cutoff's day, customers
factorized, rows sorted by customer and day) and hands the same arrays to each family:

1. BTYD summary (:mod:`vipml.features.rfm`): ``frequency, recency, T, monetary_value``;
2. purchases and intervals (:mod:`vipml.features.trend`);
3. order value, 4. margin, 5. product mix (:mod:`vipml.features.value`);
6. indirect costs (:mod:`vipml.features.costs`);
7. engagement (:mod:`vipml.features.engagement`).

:func:`calibration_holdout` adds the outcomes in ``(cutoff, cutoff + horizon]``.

The columns are :data:`FEATURE_COLUMNS`, in that order; counts are int64, everything else
float64, and no value is NaN or inf (each family's module documents its fill values). A
customer is a row when it has a purchase or a return on or before the cutoff's day.

BTYD block: purchases per ``config.btyd.freq`` period, recency and T in
``config.btyd.time_unit`` (default: days, counted in weeks), equal to
:func:`vipml.features.rfm.btyd_summary`. A customer whose only rows are returns has
``frequency = recency = monetary_value = 0`` and ``T`` counted from its first return.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 3],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-15", "2024-01-10", "2024-02-10"]),
...     "revenue": [10.0, 20.0, 7.0, 99.0]})
>>> f = build_features(tx, "2024-01-29")
>>> list(f.index), f.columns.tolist() == list(FEATURE_COLUMNS)
([1, 2], True)
>>> f.loc[1, ["frequency", "recency", "T", "orders", "aov_mean"]].tolist()
[1.0, 2.0, 4.0, 2.0, 15.0]
>>> h = calibration_holdout(tx, "2024-01-29", "4W")
>>> h.loc[:, ["frequency_holdout", "duration_holdout", "holdout_revenue"]]
... # doctest: +NORMALIZE_WHITESPACE
             frequency_holdout  duration_holdout  holdout_revenue
customer_id
1                          0.0               4.0              0.0
2                          0.0               4.0              0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from vipml.config import Config, parse_duration
from vipml.data.schema import require_validated
from vipml.errors import ConfigError
from vipml.features._prep import (
    NS_PER_DAY,
    Prepared,
    cutoff_day,
    day_end_ns,
    event_codes,
    first_occurrences,
    prepare,
    safe_ratio,
    timestamps_ns,
)
from vipml.features.costs import COST_COLUMNS, cost_columns, support_arrays
from vipml.features.engagement import ENGAGEMENT_COLUMNS, engagement_columns
from vipml.features.rfm import BTYD_COLUMNS, btyd_arrays, period_start
from vipml.features.trend import PURCHASE_COLUMNS, check_windows, purchase_columns
from vipml.features.value import (
    MARGIN_COLUMNS,
    MIX_COLUMNS,
    ORDER_VALUE_COLUMNS,
    first_category_of,
    value_columns,
)
from vipml.units import PERIOD_DAYS

__all__ = [
    "FEATURE_COLUMNS",
    "INT_COLUMNS",
    "HOLDOUT_COLUMNS",
    "build_features",
    "features_and_first_category",
    "calibration_holdout",
]

FEATURE_COLUMNS: tuple[str, ...] = (
    BTYD_COLUMNS
    + PURCHASE_COLUMNS
    + ORDER_VALUE_COLUMNS
    + MARGIN_COLUMNS
    + MIX_COLUMNS
    + COST_COLUMNS
    + ENGAGEMENT_COLUMNS
)
"""Every feature column, in the order :func:`build_features` returns them."""

INT_COLUMNS: frozenset[str] = frozenset(
    (
        "orders",
        "purchase_days",
        "days_since_last",
        "tenure_days",
        "orders_3m",
        "orders_6m",
        "orders_12m",
        "margin_assumed",
        "n_categories",
        "n_products",
        "returns",
        "support_tickets",
        "referrals",
        "reviews",
        "ugc",
        "days_since_engagement",
    )
)
"""Feature columns held as int64 (counts, days and flags); the others are float64."""

HOLDOUT_COLUMNS = (
    "frequency_holdout",
    "duration_holdout",
    "monetary_value_holdout",
    "holdout_purchases",
    "holdout_revenue",
    "holdout_profit",
)
"""Outcome columns :func:`calibration_holdout` appends."""

Family = Literal["all", "btyd"]


def _btyd_columns(prep: Prepared, config: Config) -> dict[str, np.ndarray]:
    """The BTYD block for every prepared customer (return-only customers filled)."""
    freq, unit = config.btyd.freq, config.btyd.time_unit
    out = btyd_arrays(prep.p_code, prep.p_day, prep.p_revenue, prep.n, prep.cutoff_day, freq, unit)
    no_purchase = np.bincount(prep.p_code, minlength=prep.n) == 0
    if no_purchase.any():
        end = period_start(np.array([prep.cutoff_day]), freq)[0]
        start = period_start(prep.first_row_day[no_purchase], freq)
        out["T"][no_purchase] = (end - start) / PERIOD_DAYS[unit]
    return out


def _frame(prep: Prepared, columns: dict[str, np.ndarray], names: tuple[str, ...]) -> pd.DataFrame:
    data = {
        name: np.asarray(columns[name], dtype=np.int64 if name in INT_COLUMNS else np.float64)
        for name in names
    }
    # one block per column, not copied into two (int, float) blocks: the columns are new here
    return pd.DataFrame(data, index=prep.customers, columns=list(names), copy=False)


def _build(
    prep: Prepared,
    events: pd.DataFrame | None,
    config: Config,
    family: Family,
    profitable_lines: Sequence[str] | None = None,
) -> pd.DataFrame:
    columns = _btyd_columns(prep, config)
    if family == "btyd":
        return _frame(prep, columns, BTYD_COLUMNS)
    columns.update(purchase_columns(prep, config))
    columns.update(value_columns(prep, config, profitable_lines))
    columns.update(cost_columns(prep, config, events))
    columns.update(engagement_columns(prep, events))
    return _frame(prep, columns, FEATURE_COLUMNS)


def build_features(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    events: pd.DataFrame | None = None,
    config: Config | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
    family: Family = "all",
) -> pd.DataFrame:
    """Every value signal per customer at ``cutoff``, in the order of :data:`FEATURE_COLUMNS`.

    Parameters
    ----------
    transactions
        Validated transactions (:func:`vipml.data.schema.validate_transactions`). Only rows
        on or before the cutoff's day are read.
    cutoff
        Last day observed; the whole day is included.
    events
        Optional validated events (support tickets, referrals, reviews, ugc); same rule.
    config
        Settings: ``features`` (margin fill, top lines, windows) and ``btyd`` (freq, time unit).
    profitable_lines
        Category names counted as the most profitable lines (``top_lines_share``). By default
        they are ranked from these transactions; pass the list when the customers are split
        into chunks, so that every chunk uses the same lines
        (:func:`vipml.features.value.line_totals`, :func:`vipml.features.value.rank_lines`).
        Every other column depends on the customer's own rows only.
    family
        ``'all'`` (default), or ``'btyd'`` for the :data:`BTYD_COLUMNS` block alone, for the
        same customers (several times faster: what a BTYD fit needs).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with a purchase or a return
        on or before the cutoff; int64 and float64 columns, no NaN or inf.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> features = build_features(tx, "2024-01-31")
    >>> features.shape[0], list(features.columns[:4])
    (2, ['frequency', 'recency', 'T', 'monetary_value'])
    """
    require_validated(transactions)
    config = config or Config()
    check_windows(config)
    if family not in ("all", "btyd"):
        raise ConfigError(f"family={family!r}: use 'all' or 'btyd'")
    prep = prepare(transactions, cutoff, minimal=family == "btyd")
    return _build(prep, events, config, family, profitable_lines)


def features_and_first_category(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    events: pd.DataFrame | None = None,
    config: Config | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """:func:`build_features` and :func:`vipml.features.first_category` from one pass over the
    log (what scoring a model with the ``first_category`` attribute needs).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.
    events : pandas.DataFrame, optional
        Validated events.
    config : Config, optional
        The settings (``features``, ``btyd``); the defaults otherwise.
    profitable_lines : sequence of str, optional
        The categories counted as the most profitable lines; ranked from these transactions by
        default.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.Series)
        The features and each customer's first category.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> tx = load_cdnow(sample=True).assign(category="music")
    >>> features, first = features_and_first_category(tx, "1997-12-31")
    >>> features.equals(build_features(tx, "1997-12-31")), set(first)
    (True, {'music'})
    """
    require_validated(transactions)
    config = config or Config()
    check_windows(config)
    prep = prepare(transactions, cutoff)
    return _build(prep, events, config, "all", profitable_lines), first_category_of(prep)


def _holdout_columns(
    transactions: pd.DataFrame,
    prep: Prepared,
    end_day: int,
    events: pd.DataFrame | None,
    config: Config,
) -> dict[str, np.ndarray]:
    """Outcomes of the prepared customers in ``(cutoff, end_day]`` (whole days)."""
    n, c = prep.n, prep.cutoff_day
    freq, unit = config.btyd.freq, config.btyd.time_unit
    ns = timestamps_ns(transactions["timestamp"])
    rows = np.flatnonzero((ns >= day_end_ns(c)) & (ns < day_end_ns(end_day)))
    code = prep.customers.get_indexer(transactions["customer_id"].iloc[rows])
    known = code >= 0
    rows, code = rows[known], code[known]
    revenue = transactions["revenue"].to_numpy(dtype=np.float64)[rows]
    is_return = revenue < 0
    if "is_return" in transactions:
        is_return |= transactions["is_return"].to_numpy(dtype=bool)[rows]
    buy = ~is_return
    b_code, b_revenue = code[buy], revenue[buy]

    # repeat-purchase periods, as lifetimes counts them: distinct (customer, period)
    period = period_start(ns[rows][buy] // NS_PER_DAY, freq)
    periods = np.zeros(n, dtype=np.int64)
    if len(period):
        key = b_code.astype(np.int64) * (int(period.max() - period.min()) + 1) + (
            period - period.min()
        )
        key.sort()
        starts = np.ones(len(key), dtype=bool)
        starts[1:] = key[1:] != key[:-1]
        periods = np.bincount(key[starts] // (int(period.max() - period.min()) + 1), minlength=n)
    if "order_id" in transactions and len(b_code):
        order = pd.factorize(transactions["order_id"].iloc[rows[buy]])[0].astype(np.int64)
        index = pd.factorize(b_code.astype(np.int64) * (int(order.max()) + 1) + order)[0]
        purchases = np.bincount(b_code[first_occurrences(index)], minlength=n)
    else:
        purchases = np.bincount(b_code, minlength=n)

    signed = np.where(is_return, -np.abs(revenue), revenue)
    margin = config.features.default_margin_rate
    cost = signed * (1.0 - margin)
    if "cost" in transactions:
        given = transactions["cost"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
        given = np.where(is_return, -np.abs(given), given)
        cost = np.where(np.isnan(given), cost, given)
    ev = event_codes(events, prep.customers, day_end_ns(end_day), day_end_ns(c))
    _, support = support_arrays(ev, n)
    net_revenue = np.bincount(code, weights=signed, minlength=n)
    end_period = period_start(np.array([end_day]), freq)[0]
    start_period = period_start(np.array([c]), freq)[0]
    return {
        "frequency_holdout": periods.astype(np.float64),
        "duration_holdout": np.full(n, (end_period - start_period) / PERIOD_DAYS[unit]),
        "monetary_value_holdout": safe_ratio(
            np.bincount(b_code, weights=b_revenue, minlength=n),
            np.bincount(b_code, minlength=n),
            0.0,
        ),
        "holdout_purchases": purchases,
        "holdout_revenue": net_revenue,
        "holdout_profit": net_revenue - np.bincount(code, weights=cost, minlength=n) - support,
    }


def calibration_holdout(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    events: pd.DataFrame | None = None,
    config: Config | None = None,
    features: Family = "all",
    *,
    profitable_lines: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Features at ``cutoff`` plus the outcomes in ``(cutoff, cutoff + horizon]``.

    Calibration rows are the customers of :func:`build_features` (customers first seen in the
    holdout are left out, as in lifetimes). Both ends cover whole days: the holdout holds
    the rows after the cutoff's day up to the end of the day ``cutoff + horizon``.

    Holdout columns (:data:`HOLDOUT_COLUMNS`):

    - ``frequency_holdout``: distinct ``config.btyd.freq`` periods with a purchase (lifetimes'
      ``frequency_holdout``);
    - ``duration_holdout``: the holdout's length in ``config.btyd.time_unit`` (from the
      cutoff's period to the end's period, as lifetimes);
    - ``monetary_value_holdout``: mean revenue of the holdout's purchase *rows* (lifetimes'
      definition; 0 without one);
    - ``holdout_purchases``: orders; ``holdout_revenue``: revenue net of refunds;
      ``holdout_profit``: net revenue - net cost of goods (default margin where cost is
      missing) - support cost (when events are given).

    With ``freq == time_unit`` the shared columns equal
    ``lifetimes.utils.calibration_and_holdout_data`` (with ``monetary_value_col``).

    Parameters
    ----------
    horizon
        A duration such as ``"26W"`` (:func:`vipml.config.parse_duration`) or a Timedelta.
    features
        ``"all"`` (:data:`FEATURE_COLUMNS`) or ``"btyd"`` (only the BTYD block: faster).
    profitable_lines
        As in :func:`build_features`.

    Returns
    -------
    pandas.DataFrame
        The features and the holdout columns, one row per customer known at the cutoff.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> holdout = calibration_holdout(tx, "2024-01-10", "2W", features="btyd")
    >>> holdout[["frequency", "holdout_purchases", "holdout_revenue"]].to_dict("list")
    {'frequency': [0.0, 0.0], 'holdout_purchases': [1, 0], 'holdout_revenue': [30.0, 0.0]}
    """
    require_validated(transactions)
    config = config or Config()
    if features not in ("all", "btyd"):
        raise ConfigError(f"features: {features!r} is not one of 'all', 'btyd'")
    span = parse_duration(horizon) if not isinstance(horizon, pd.Timedelta) else horizon
    if span <= pd.Timedelta(0):
        raise ConfigError(f"horizon: {horizon!r} must be positive, e.g. 26W")
    if features == "all":
        check_windows(config)
    prep = prepare(transactions, cutoff, minimal=features == "btyd")
    frame = _build(prep, events, config, features, profitable_lines)
    end_day = cutoff_day(pd.Timestamp(cutoff).normalize() + span)
    holdout = _holdout_columns(transactions, prep, end_day, events, config)
    for name in HOLDOUT_COLUMNS:
        dtype = np.int64 if name == "holdout_purchases" else np.float64
        frame[name] = np.asarray(holdout[name], dtype=dtype)
    return frame
