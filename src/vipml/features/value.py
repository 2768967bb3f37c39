"""Order value, margin, discounts and product mix.

Columns at the cutoff (fill = the value when the quantity is undefined):

======================  ==============================================================  ====
column                  meaning                                                         fill
======================  ==============================================================  ====
``aov_mean``            mean order value (revenue of an order: its lines summed)        0
``aov_median``          median order value                                              0
``aov_max``             largest order value                                             0
``revenue_total``       revenue of all purchases (returns not subtracted)               0
``profit_total``        gross profit, net of returns: sum of ``revenue - cost`` over    0
                        purchases and returns (a return gives back its margin)
``profit_12m``          the same over the long window (default the last 365 days)       0
``margin_rate``         gross profit of purchases / their revenue                       0
``margin_assumed``      1 when some of the customer's rows had no ``cost`` and the      --
                        default margin (``config.features.default_margin_rate``) was
                        assumed: ``cost = revenue * (1 - default_margin_rate)``
``full_price_share``    share of purchase revenue paid at full price                    0
``discount_share``      share of purchase revenue paid below ``list_price``             0
``top_lines_share``     share of purchase revenue in the most profitable lines          0
``n_categories``        distinct categories bought                                      0
``n_products``          distinct products (``product_id``) bought: product breadth      0
======================  ==============================================================  ====

**Full price and discount.** A purchase row is discounted when ``revenue < list_price - 0.005``
and at full price otherwise; rows without ``list_price`` count in neither share, so the two
shares sum to the share of revenue whose list price is known (both 0 without a ``list_price``
column: never read "0% discount" as "buys at full price" then).

**Most profitable lines.** Categories are ranked by margin rate over *all* customers' purchases
up to the cutoff (ties, e.g. when every cost is assumed, by revenue, then name); the top
``ceil(config.features.top_lines_share * k)`` of the ``k`` categories with positive revenue
(at least one) are the profitable lines (:func:`profitable_lines` lists them). To split the
customers into chunks (or Spark partitions) and still get the same lines, sum
:func:`line_totals` over the chunks, rank them with :func:`rank_lines` and pass the list as
``profitable_lines`` to :func:`vipml.features.build_features`. Without a
``category`` column ``top_lines_share`` and ``n_categories`` are 0 and :func:`first_category`
says ``"unknown"``; without a ``product_id`` column ``n_products`` is 0.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03"]),
...     "revenue": [80.0, 20.0, 50.0], "cost": [40.0, 18.0, None],
...     "list_price": [100.0, 20.0, 50.0], "category": ["vinyl", "books", "vinyl"]})
>>> f = value_features(tx, "2024-01-31")
>>> f.loc[1, ["aov_mean", "profit_total", "margin_rate", "discount_share"]].tolist()
[50.0, 42.0, 0.42, 0.8]
>>> f.loc[2, ["profit_total", "margin_rate", "margin_assumed"]].tolist()
[15.0, 0.3, 1.0]
>>> profitable_lines(tx, "2024-01-31")
['vinyl']
>>> first_category(tx, "2024-01-31").tolist()
['vinyl', 'vinyl']
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.features._prep import (
    Prepared,
    group_max,
    group_median,
    group_starts,
    prepare,
    safe_ratio,
)
from vipml.features.trend import check_windows

__all__ = [
    "ORDER_VALUE_COLUMNS",
    "MARGIN_COLUMNS",
    "MIX_COLUMNS",
    "value_columns",
    "value_features",
    "profitable_lines",
    "line_totals",
    "rank_lines",
    "first_category",
    "row_profit",
]

ORDER_VALUE_COLUMNS = ("aov_mean", "aov_median", "aov_max")
MARGIN_COLUMNS = (
    "revenue_total",
    "profit_total",
    "profit_12m",
    "margin_rate",
    "margin_assumed",
    "full_price_share",
    "discount_share",
)
MIX_COLUMNS = ("top_lines_share", "n_categories", "n_products")
_DISCOUNT_TOLERANCE = 0.005


def row_profit(prep: Prepared, default_margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Gross profit of every row (negative on returns) and the mask of rows with assumed cost.

    Parameters
    ----------
    prep : Prepared
        The rows up to the cutoff (``vipml.features._prep.prepare``).
    default_margin : float
        The margin rate assumed where the cost is missing.

    Returns
    -------
    tuple of numpy.ndarray
        Profit per row and the rows whose cost was assumed.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> profit, assumed = row_profit(prepare(tx, "2024-01-31"), 0.3)
    >>> profit.round(2).tolist(), assumed.tolist()
    ([4.0, 10.0, 1.5], [False, False, True])
    """
    cost, assumed = prep.signed_cost(default_margin)
    return prep.signed_revenue - cost, assumed


def _line_arrays(prep: Prepared, profit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Revenue and gross profit of the purchases of each category code."""
    assert prep.category is not None and prep.category_names is not None
    k = len(prep.category_names)
    cats = prep.category[prep.purchase]
    return (
        np.bincount(cats, weights=prep.p_revenue, minlength=k),
        np.bincount(cats, weights=profit[prep.purchase], minlength=k),
    )


def _rank(names: np.ndarray, revenue: np.ndarray, gross: np.ndarray, top_share: float) -> list:
    """Positions of the most profitable lines, best first (see the module docs)."""
    active = np.flatnonzero(revenue > 0)
    if len(active) == 0:
        return []
    rate = gross[active] / revenue[active]
    name_rank = np.argsort(np.argsort(names[active].astype(str), kind="stable"))
    ranked = active[np.lexsort((name_rank, -revenue[active], -rate))]
    top = max(1, math.ceil(top_share * len(active) - 1e-9))
    return ranked[:top].tolist()


def line_totals(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, config: Config | None = None
) -> pd.DataFrame:
    """Revenue and gross profit of the purchases of each category up to ``cutoff``.

    The totals are additive over disjoint sets of customers: sum them over chunks (or Spark
    partitions), then :func:`rank_lines` gives the same lines as the whole data.

    Returns
    -------
    DataFrame indexed by ``category`` (sorted) with float columns ``revenue`` and
    ``gross_profit``; empty without a ``category`` column.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.
    config : Config, optional
        The settings (``features``, ``btyd``); the defaults otherwise.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> line_totals(tx, "2024-01-31").to_dict("index")
    {'tv': {'revenue': 15.0, 'gross_profit': 5.5}, 'vinyl': {'revenue': 30.0, 'gross_profit': 10.0}}
    """
    config = config or Config()
    prep = prepare(transactions, cutoff)
    if prep.category is None or prep.category_names is None:
        return pd.DataFrame(
            {"revenue": [], "gross_profit": []}, index=pd.Index([], name="category", dtype=str)
        )
    profit, _ = row_profit(prep, config.features.default_margin_rate)
    revenue, gross = _line_arrays(prep, profit)
    return pd.DataFrame(
        {"revenue": revenue, "gross_profit": gross},
        index=pd.Index(prep.category_names, name="category"),
    )


def rank_lines(totals: pd.DataFrame, top_share: float) -> list[str]:
    """The most profitable lines from :func:`line_totals` (summed or not), best first.

    Categories with positive revenue are ranked by margin rate ``gross_profit / revenue``
    (ties: revenue, then name); the top ``ceil(top_share * k)`` of those ``k`` (at least one)
    are returned.

    Parameters
    ----------
    totals : pandas.DataFrame
        Revenue and gross profit per category (:func:`line_totals`).
    top_share : float
        The share of the revenue the lines ranked cover.

    Returns
    -------
    list of str
        The lines, best first.

    Examples
    --------
    >>> totals = pd.DataFrame({"revenue": [100.0, 50.0, 0.0], "gross_profit": [10.0, 20.0, 0.0]},
    ...                       index=["tv", "vinyl", "maps"])
    >>> rank_lines(totals, 0.3), rank_lines(totals, 1.0)
    (['vinyl'], ['vinyl', 'tv'])
    """
    names = np.asarray(totals.index, dtype=object)
    positions = _rank(
        names,
        totals["revenue"].to_numpy(dtype=np.float64),
        totals["gross_profit"].to_numpy(dtype=np.float64),
        top_share,
    )
    return [str(names[i]) for i in positions]


def _top_codes(
    prep: Prepared, profit: np.ndarray, top_share: float, lines: Sequence[str] | None
) -> np.ndarray:
    """Category codes of the profitable lines: ``lines`` when given, else ranked here."""
    assert prep.category_names is not None
    if lines is not None:
        codes = prep.category_names.get_indexer(pd.Index([str(x) for x in lines]))
        return codes[codes >= 0]
    revenue, gross = _line_arrays(prep, profit)
    names = np.asarray(prep.category_names, dtype=object)
    return np.asarray(_rank(names, revenue, gross, top_share), dtype=np.intp)


def _distinct_per_customer(prep: Prepared, codes: np.ndarray, k: int) -> np.ndarray:
    """Distinct values of ``codes`` (``0..k-1``, one per purchase row) per customer: runs in
    one sort of ``customer * k + code``."""
    k = max(k, 1)
    key = prep.p_code.astype(np.int64) * k + codes
    key.sort()
    new = np.ones(len(key), dtype=bool)
    new[1:] = key[1:] != key[:-1]
    return np.bincount(key[new] // k, minlength=prep.n)


def _n_categories(prep: Prepared) -> np.ndarray:
    """Distinct categories per customer."""
    assert prep.category is not None and prep.category_names is not None
    return _distinct_per_customer(
        prep, prep.category[prep.purchase], len(prep.category_names)
    )


def _n_products(prep: Prepared) -> np.ndarray:
    """Distinct products per customer (0 without a ``product_id`` column)."""
    if prep.product is None:
        return np.zeros(prep.n, dtype=np.int64)
    codes = prep.product[prep.purchase]
    return _distinct_per_customer(prep, codes, int(codes.max()) + 1 if len(codes) else 1)


def value_columns(
    prep: Prepared, config: Config, profitable_lines: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Order value, margin and mix columns from prepared rows (see the module docs).

    ``profitable_lines``, when given, are the category names counted as the most profitable
    lines (e.g. ranked once over every chunk of customers); otherwise they are ranked here.

    Parameters
    ----------
    prep : Prepared
        The rows up to the cutoff (``vipml.features._prep.prepare``).
    config : Config
        The settings (``features``).
    profitable_lines : sequence of str, optional
        The categories counted as the most profitable lines; ranked from these transactions by
        default.

    Returns
    -------
    dict of str to numpy.ndarray
        The order value, margin and mix columns, one value per customer code.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> value_columns(prepare(tx, "2024-01-31"), Config())["aov_max"].tolist()
    [30.0, 5.0]
    """
    n, c = prep.n, prep.cutoff_day
    long_window = check_windows(config)[2]
    orders = prep.orders
    n_orders = np.bincount(orders.code, minlength=n)
    revenue_total = np.bincount(prep.p_code, weights=prep.p_revenue, minlength=n)
    profit, assumed = row_profit(prep, config.features.default_margin_rate)
    recent = prep.day > c - long_window
    p_profit = profit[prep.purchase]
    out: dict[str, np.ndarray] = {
        "aov_mean": safe_ratio(np.bincount(orders.code, orders.revenue, n), n_orders, 0.0),
        "aov_median": group_median(orders.revenue, orders.code, n),
        "aov_max": group_max(orders.revenue, orders.code, n),
        "revenue_total": revenue_total,
        "profit_total": np.bincount(prep.code, weights=profit, minlength=n),
        "profit_12m": np.bincount(prep.code[recent], weights=profit[recent], minlength=n),
        "margin_rate": safe_ratio(
            np.bincount(prep.p_code, weights=p_profit, minlength=n), revenue_total, 0.0
        ),
        "margin_assumed": (np.bincount(prep.code, weights=assumed, minlength=n) > 0).astype(
            np.int64
        ),
    }
    full: np.ndarray = np.zeros(n)
    discounted: np.ndarray = np.zeros(n)
    if prep.list_price is not None:
        list_price = prep.list_price[prep.purchase]
        known = ~np.isnan(list_price)
        below = known & (prep.p_revenue < list_price - _DISCOUNT_TOLERANCE)
        at_full = known & ~below
        full = np.bincount(prep.p_code[at_full], prep.p_revenue[at_full], n)
        discounted = np.bincount(prep.p_code[below], prep.p_revenue[below], n)
    out["full_price_share"] = safe_ratio(full, revenue_total, 0.0)
    out["discount_share"] = safe_ratio(discounted, revenue_total, 0.0)

    out["n_products"] = _n_products(prep)
    if prep.category is None:
        out["top_lines_share"] = np.zeros(n)
        out["n_categories"] = np.zeros(n, dtype=np.int64)
        return out
    top = _top_codes(prep, profit, config.features.top_lines_share, profitable_lines)
    in_top = np.isin(prep.category[prep.purchase], top)
    top_revenue = np.bincount(prep.p_code[in_top], prep.p_revenue[in_top], n)
    out["top_lines_share"] = safe_ratio(top_revenue, revenue_total, 0.0)
    out["n_categories"] = _n_categories(prep)
    return out


def value_features(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    config: Config | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Order value, margin and mix columns per customer at ``cutoff``.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.
    config : Config, optional
        The settings (``features``, ``btyd``); the defaults otherwise.
    profitable_lines : sequence of str, optional
        The categories counted as the most profitable lines; ranked from these transactions by
        default.

    Returns
    -------
    pandas.DataFrame
        The order value, margin and mix columns, indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> value_features(tx, "2024-01-31")["n_categories"].tolist()
    [2, 1]
    """
    prep = prepare(transactions, cutoff)
    columns = value_columns(prep, config or Config(), profitable_lines)
    return pd.DataFrame(columns, index=prep.customers)


def profitable_lines(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, config: Config | None = None
) -> list[str]:
    """The categories counted as the most profitable lines at ``cutoff`` (best first).

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
    list of str
        The categories, best first.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> profitable_lines(tx, "2024-01-31")
    ['tv']
    """
    config = config or Config()
    return rank_lines(line_totals(transactions, cutoff, config), config.features.top_lines_share)


def first_category(transactions: pd.DataFrame, cutoff: str | pd.Timestamp) -> pd.Series:
    """Category of each customer's first purchase on or before ``cutoff``.

    The first purchase is the earliest by timestamp (ties: the first row). ``"unknown"`` when
    there is no ``category`` column or the customer has no purchase (only returns). Indexed
    like :func:`vipml.features.build_features`.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.

    Returns
    -------
    pandas.Series
        Indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> first_category(tx, "2024-01-31").to_dict()
    {1: 'tv', 2: 'tv'}
    """
    return first_category_of(prepare(transactions, cutoff))


def first_category_of(prep: Prepared) -> pd.Series:
    """:func:`first_category` of prepared transactions (when they are at hand already).

    Parameters
    ----------
    prep : Prepared
        The rows up to the cutoff (``vipml.features._prep.prepare``).

    Returns
    -------
    pandas.Series
        Indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> first_category_of(prepare(tx, "2024-01-31")).to_dict()
    {1: 'tv', 2: 'tv'}
    """
    out = np.full(prep.n, "unknown", dtype=object)
    if prep.category is not None and prep.category_names is not None and len(prep.p_code):
        # rows of each customer's first purchase day (contiguous), then the earliest of them
        p_ns = prep.ns[prep.purchase]
        counts, starts = group_starts(prep.p_code, prep.n)
        has = counts > 0
        first_day = np.zeros(prep.n, dtype=np.int64)
        first_day[has] = prep.p_day[starts[has]]
        on_first = prep.p_day == first_day[prep.p_code]
        rows = np.flatnonzero(on_first)
        codes = prep.p_code[rows]
        c_counts, c_starts = group_starts(codes, prep.n)
        earliest = np.zeros(prep.n, dtype=np.int64)
        earliest[has] = np.minimum.reduceat(p_ns[rows], c_starts[has])
        hits = rows[p_ns[rows] == earliest[codes]]
        h_counts, h_starts = group_starts(prep.p_code[hits], prep.n)
        chosen = hits[h_starts[has]]
        names = np.asarray(prep.category_names, dtype=object)
        out[has] = names[prep.category[prep.purchase][chosen]]
    return pd.Series(out, index=prep.customers, name="first_category")
