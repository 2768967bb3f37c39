"""Wording for marketers: each customer's top drivers of a score as phrases, and the
formatting of amounts, counts, shares and ratios in them.

The drivers are the features with the largest *positive* contributions to the score's log-odds
(:meth:`vipml.modeling.classifier.VipClassifier.contributions`: LightGBM's ``pred_contrib`` plus
the linear prior's terms). Each driver becomes a phrase that quotes the customer's own value of
that feature, e.g. ``"ordered at 4.2× their 12-month rate in the last 3 months"`` or
``"last purchase 12 days ago"``. Features without a phrase of their own read
``"<feature> is <value>"``.

Examples
--------
>>> import pandas as pd
>>> values = pd.DataFrame({"days_since_last": [12, 300], "spend_12m": [950.0, 20.0],
...                        "trend_3m": [4.2, 0.0]}, index=[7, 8])
>>> contrib = pd.DataFrame({"days_since_last": [0.1, 0.9], "spend_12m": [0.8, -0.2],
...                         "trend_3m": [0.5, 0.0]}, index=[7, 8])
>>> top_reasons(contrib, values).loc[7].tolist()
['spent 950 in the last 12 months', 'ordered at 4.2× their 12-month rate in the last 3 months', \
'last purchase 12 days ago']
>>> join_reasons(top_reasons(contrib, values)).loc[8]
'last purchase 300 days ago'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["PHRASES", "phrase", "top_reasons", "join_reasons", "REASON_SEPARATOR"]

REASON_SEPARATOR = "; "


def _money(x: float) -> str:
    """An amount: whole numbers from 100 up, two decimals below. Rounded to 1e-6 first, so
    sums added up in another order (Spark, chunks) that straddle a half give the same text."""
    x = round(x, 6)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}".rstrip("0").rstrip(".")


def _count(x: float, one: str, many: str | None = None) -> str:
    n = int(round(x))
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _times(x: float) -> str:
    return f"{x:.1f}×"


_WINDOW = {"3m": "3 months", "6m": "6 months", "12m": "12 months"}

Phrase = Callable[[float, Mapping[str, Any]], str]

#: One phrase per feature: ``(value, the customer's row) -> text``.
PHRASES: dict[str, Phrase] = {
    "frequency": lambda x, r: (
        "has bought only once so far" if x == 0 else f"came back to buy {_count(x, 'time')}"
    ),
    "recency": lambda x, r: f"bought over a span of {x:.0f} weeks",
    "T": lambda x, r: f"a customer for {x:.0f} weeks",
    "monetary_value": lambda x, r: f"repeat purchases average {_money(x)}",
    "orders": lambda x, r: f"{_count(x, 'order')} in total",
    "purchase_days": lambda x, r: f"bought on {_count(x, 'different day')}",
    "mean_days_between": lambda x, r: f"buys every {_count(x, 'day')} on average",
    "median_days_between": lambda x, r: f"typically {_count(x, 'day')} between purchases",
    "days_since_last": lambda x, r: (
        "bought today" if x == 0 else f"last purchase {_count(x, 'day')} ago"
    ),
    "tenure_days": lambda x, r: f"a customer for {_count(x, 'day')}",
    "trend_3m": lambda x, r: f"ordered at {_times(x)} their 12-month rate in the last 3 months",
    "trend_6m": lambda x, r: f"ordered at {_times(x)} their 12-month rate in the last 6 months",
    "aov_mean": lambda x, r: f"average order {_money(x)}",
    "aov_median": lambda x, r: f"typical order {_money(x)}",
    "aov_max": lambda x, r: f"largest order {_money(x)}",
    "revenue_total": lambda x, r: f"spent {_money(x)} in total",
    "profit_total": lambda x, r: f"brought {_money(x)} gross profit in total",
    "profit_12m": lambda x, r: f"brought {_money(x)} gross profit in the last 12 months",
    "margin_rate": lambda x, r: (
        f"{_pct(x)} margin on their purchases"
        + (" (assumed: no cost data)" if r.get("margin_assumed", 0) else "")
    ),
    "margin_assumed": lambda x, r: (
        "margin assumed (no cost data)" if x else "margin known from cost data"
    ),
    "full_price_share": lambda x, r: f"{_pct(x)} of spend at full price",
    "discount_share": lambda x, r: f"{_pct(x)} of spend on discount",
    "top_lines_share": lambda x, r: f"{_pct(x)} of spend in the most profitable lines",
    "n_categories": lambda x, r: f"bought from {_count(x, 'category', 'categories')}",
    "n_products": lambda x, r: f"bought {_count(x, 'different product')}",
    "returns": lambda x, r: "no returns" if x == 0 else f"returned {_count(x, 'order')}",
    "return_rate_orders": lambda x, r: f"returns {_pct(x)} of orders",
    "return_rate_value": lambda x, r: f"returned {_pct(x)} of what they spent",
    "net_revenue": lambda x, r: f"net spend {_money(x)} after returns",
    "support_tickets": lambda x, r: (
        "no support tickets" if x == 0 else f"{_count(x, 'support ticket')}"
    ),
    "support_cost": lambda x, r: "no support cost" if x == 0 else f"support cost {_money(x)}",
    "net_profit": lambda x, r: f"net profit {_money(x)} after every cost",
    "referrals": lambda x, r: "no referrals yet" if x == 0 else f"referred {_count(x, 'customer')}",
    "reviews": lambda x, r: "no reviews yet" if x == 0 else f"wrote {_count(x, 'review')}",
    "ugc": lambda x, r: "no posts yet" if x == 0 else f"posted {_count(x, 'piece')} of content",
    "days_since_engagement": lambda x, r: (
        "no referral, review or post yet"
        if x == r.get("tenure_days", -1)
        and not (r.get("referrals", 0) or r.get("reviews", 0) or r.get("ugc", 0))
        else f"last referral, review or post {_count(x, 'day')} ago"
    ),
    # BTYD outputs (horizon = the label horizon, CLV over config.btyd.clv_months)
    "expected_purchases": lambda x, r: f"expected to buy {x:.1f} times in the horizon",
    "p_alive": lambda x, r: f"{_pct(x)} likely to still be an active customer",
    "p_no_purchase": lambda x, r: f"{_pct(1 - x)} chance of buying in the horizon",
    "expected_spend": lambda x, r: f"expected order value {_money(x)}",
    "expected_value": lambda x, r: f"expected to spend {_money(x)} in the horizon",
    "clv": lambda x, r: f"predicted lifetime value {_money(x)}",
    "clv_profit": lambda x, r: f"predicted lifetime profit {_money(x)}",
    # ratios the pipeline derives
    "overdue_ratio": lambda x, r: f"idle for {_times(x)} their usual gap between purchases",
    "idle_share": lambda x, r: f"idle for {_pct(x)} of their time as a customer",
    "spend_rate_monthly": lambda x, r: f"spends {_money(x)} a month on average",
    "order_rate_monthly": lambda x, r: f"orders {x:.2f} times a month on average",
}


def _window_phrases(label: str) -> tuple[Phrase, Phrase]:
    """The phrases of the orders and spend of one window (``label``: e.g. "3 months")."""
    return (
        lambda x, r: f"{_count(x, 'order')} in the last {label}",
        lambda x, r: f"spent {_money(x)} in the last {label}",
    )


for _w, _label in _WINDOW.items():
    PHRASES[f"orders_{_w}"], PHRASES[f"spend_{_w}"] = _window_phrases(_label)


#: Features whose phrase also reads other values of the customer's row.
ROW_DEPENDENT = frozenset({"margin_rate", "days_since_engagement"})


def _is_numbers(column: Any) -> bool:
    return isinstance(column, np.ndarray) and column.dtype.kind in "biuf"


def _numbers(columns: Mapping[str, np.ndarray], name: str, rows: np.ndarray) -> np.ndarray | None:
    """A column's values at ``rows`` (None when absent)."""
    column = columns.get(name)
    return None if column is None else column[rows]


def _truthy(values: np.ndarray | None) -> np.ndarray | bool:
    """``bool(v)`` of each number (NaN is true, as in Python); False when absent."""
    return False if values is None else values != 0


def _margin_key(columns: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """What the ``margin_rate`` phrase reads besides its value: is the margin assumed."""
    return np.broadcast_to(_truthy(_numbers(columns, "margin_assumed", rows)), rows.shape)


def _engagement_key(columns: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
    """What the ``days_since_engagement`` phrase reads besides its value: is it the whole
    tenure with no referral, review or post."""
    value = _numbers(columns, "days_since_engagement", rows)
    tenure = _numbers(columns, "tenure_days", rows)
    same = (value == (-1 if tenure is None else tenure)) if value is not None else False
    active = (
        _truthy(_numbers(columns, "referrals", rows))
        | _truthy(_numbers(columns, "reviews", rows))
        | _truthy(_numbers(columns, "ugc", rows))
    )
    return np.broadcast_to(np.logical_and(same, np.logical_not(active)), rows.shape)


#: For each row-dependent feature: per row, everything its phrase reads besides the value (a
#: boolean), so that rows with the same value and key read the same phrase; and the columns
#: the key reads (NumPy numbers, else the rows are phrased one by one).
_ROW_KEYS: dict[str, Callable[[Mapping[str, np.ndarray], np.ndarray], np.ndarray]] = {
    "margin_rate": _margin_key,
    "days_since_engagement": _engagement_key,
}
_ROW_READS = {
    "margin_rate": ("margin_assumed",),
    "days_since_engagement": ("tenure_days", "referrals", "reviews", "ugc"),
}


def _row_phrases(
    name: str, columns: Mapping[str, np.ndarray], rows: np.ndarray
) -> np.ndarray:
    """:func:`phrase` of feature ``name`` at ``rows``, with each row's context: once per
    distinct (value, key of :data:`_ROW_KEYS`) when the columns are NumPy numbers, else row by
    row."""
    series = columns[name]
    reads = [columns[c] for c in (name, *_ROW_READS.get(name, ())) if c in columns]
    if name not in _ROW_KEYS or not all(_is_numbers(c) for c in reads):
        return np.array(
            [phrase(name, series[i], _Row(columns, int(i))) for i in rows.tolist()], dtype=object
        )
    key = _ROW_KEYS[name](columns, rows).astype(np.int64)
    values = series[rows]
    if values.dtype.kind == "f":  # by bit pattern: -0.0 and 0.0 read differently
        values = values.astype(np.float64).view(np.int64)
    codes, _ = pd.factorize(values)
    _, first, inverse = np.unique(codes * 2 + key, return_index=True, return_inverse=True)
    texts = [phrase(name, series[i], _Row(columns, int(i))) for i in rows[first].tolist()]
    return np.array(texts, dtype=object)[inverse.reshape(-1)]


class _Row(Mapping[str, Any]):
    """One customer's values, read lazily from column arrays."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: Mapping[str, np.ndarray], i: int) -> None:
        self._columns, self._i = columns, i

    def __getitem__(self, key: str) -> Any:
        return self._columns[key][self._i]

    def __iter__(self):  # noqa: ANN204
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def phrase(feature: str, value: Any, row: Mapping[str, Any] | None = None) -> str:
    """The phrase for one feature's value (``row``: the customer's other values, if needed).

    Parameters
    ----------
    feature
        The feature's name.
    value
        The customer's value of it.
    row
        The customer's other values (some phrases read them).

    Returns
    -------
    str
        The phrase; ``"<feature> is <value>"`` for a feature without a phrase of its own.

    Examples
    --------
    >>> phrase("spend_3m", 1234.5)
    'spent 1,234 in the last 3 months'
    >>> phrase("region", "north")
    'region is north'
    """
    row = row or {}
    func = PHRASES.get(feature)
    if func is not None:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if np.isfinite(number):
            return func(number, row)
    if isinstance(value, float | np.floating):
        shown = f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        shown = str(value)
    return f"{feature.replace('_', ' ')} is {shown}"


def _phrases(feature: str, values: np.ndarray) -> np.ndarray:
    """:func:`phrase` of each value (no row context), calling the feature's phrase directly.

    >>> _phrases("returns", np.array([0, 2, None], dtype=object)).tolist()
    ['no returns', 'returned 2 orders', 'returns is None']
    """
    func = PHRASES.get(feature)
    if func is None or values.dtype.kind not in "biuf":
        return np.array([phrase(feature, v) for v in values], dtype=object)
    numbers = values.astype(np.float64)
    finite = np.isfinite(numbers)
    return np.array(
        [
            func(x, _NO_ROW) if ok else phrase(feature, v)
            for x, ok, v in zip(numbers.tolist(), finite.tolist(), values, strict=True)
        ],
        dtype=object,
    )


_NO_ROW: Mapping[str, Any] = {}


def top_reasons(
    contributions: pd.DataFrame, values: pd.DataFrame, k: int = 3, min_contribution: float = 0.0
) -> pd.DataFrame:
    """The ``k`` strongest positive drivers per row, as phrases: columns ``reason_1..k``.

    Parameters
    ----------
    contributions
        Per-feature contributions to the log-odds (a ``bias`` column is ignored).
    values
        The customers' feature values, same index; phrases quote them.
    k
        Reasons per customer; fewer when fewer features push the score up (the rest are "").
    min_contribution
        Only contributions above this count as drivers.

    Returns
    -------
    pandas.DataFrame
        Columns ``reason_1 .. reason_k``, indexed like ``contributions``.

    Examples
    --------
    >>> import pandas as pd
    >>> contrib = pd.DataFrame({"returns": [0.4], "orders": [0.9], "bias": [2.0]})
    >>> top_reasons(contrib, pd.DataFrame({"returns": [0], "orders": [3]}), k=2).iloc[0].tolist()
    ['3 orders in total', 'no returns']
    """
    features = [c for c in contributions.columns if c != "bias"]
    matrix = contributions[features].to_numpy(dtype=np.float64)
    matrix = np.where(np.isfinite(matrix), matrix, -np.inf)
    k = max(0, min(k, len(features)))
    order, top = _top_k(matrix, k)
    out = np.full((len(matrix), k), "", dtype=object)
    records = values.reindex(contributions.index)
    columns = {str(c): records[c].to_numpy() for c in records.columns}
    picked = top > min_contribution
    # a row's reasons stop at its first non-positive driver
    picked = np.cumprod(picked, axis=1).astype(bool)
    for j in range(k):
        for col in np.unique(order[picked[:, j], j]):
            name = features[col]
            rows = np.flatnonzero(picked[:, j] & (order[:, j] == col))
            series = columns.get(name)
            if series is None:
                out[rows, j] = phrase(name, None)
            elif name in ROW_DEPENDENT:
                out[rows, j] = _row_phrases(name, columns, rows)
            else:  # one phrase per distinct value: counts and days repeat a lot
                codes, uniques = pd.factorize(pd.Series(series[rows]), use_na_sentinel=False)
                out[rows, j] = _phrases(name, np.asarray(uniques))[codes]
    return pd.DataFrame(
        out, index=contributions.index, columns=[f"reason_{j + 1}" for j in range(k)]
    )


def _top_k(matrix: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the columns of the ``k`` largest values, largest first (ties: the first column
    first), and those values: the first ``k`` of a stable descending sort, by ``k`` passes of
    ``argmax``. ``matrix`` has no NaN. Once a row has only ``-inf`` left, its later columns
    may differ from the sort's, and their values are ``-inf`` as the sort's are.

    >>> order, top = _top_k(np.array([[1.0, 3.0, 3.0, -np.inf]]), 3)
    >>> order.tolist(), top.tolist()
    ([[1, 2, 0]], [[3.0, 3.0, 1.0]])
    """
    n = len(matrix)
    order = np.zeros((n, k), dtype=np.intp)
    top = np.full((n, k), -np.inf)
    if k == 0 or n == 0:
        return order, top
    work = matrix.copy()
    every = np.arange(n)
    for j in range(k):
        best = np.argmax(work, axis=1)
        order[:, j] = best
        top[:, j] = work[every, best]
        work[every, best] = -np.inf
    return order, top


def join_reasons(reasons: pd.DataFrame) -> pd.Series:
    """One string per row: the non-empty reasons joined by ``"; "`` (missing ones skipped).

    Parameters
    ----------
    reasons
        One column per reason (as :func:`top_reasons`).

    Returns
    -------
    pandas.Series
        Named ``reasons``, indexed like ``reasons``.

    Examples
    --------
    >>> join_reasons(pd.DataFrame({"a": ["x", "", None], "b": ["y", "z", ""]})).tolist()
    ['x; y', 'z', '']
    """
    joined = np.full(len(reasons), "", dtype=object)
    for column in reasons.columns:  # element-wise string sums: no Python loop over rows
        part = reasons[column].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(part, skipna=False) == "string":  # text only (usual)
            given = part != ""
        else:
            given = np.fromiter((isinstance(p, str) and p != "" for p in part), bool, len(part))
        after = given & (joined != "")
        joined[after] = joined[after] + REASON_SEPARATOR + part[after]
        first = given & ~after
        joined[first] = part[first]
    return pd.Series(joined, index=reasons.index, name="reasons", dtype=object)
