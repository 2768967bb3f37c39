"""The VIP profile: how VIPs differ from everyone else, signal by signal and attribute by
attribute."""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import pandas as pd

from vipml.data.schema import align_ids, transaction_attributes
from vipml.errors import SchemaError
from vipml.features.attributes import row_attributes
from vipml.segments.vocabulary import PROFILE_ATTRIBUTES, require_segments

logger = logging.getLogger(__name__)


#: An attribute with more values than this is not profiled; above ``_PROFILE_LEVELS`` values,
#: the most common ones are shown and the rest counted together as ``(other)``.
_PROFILE_MAX_VALUES = 200
_PROFILE_LEVELS = 30

#: Value signals compared in the VIP profile, when present (mean per group).
_PROFILE_SIGNALS = (
    "spend_12m",
    "profit_12m",
    "orders_12m",
    "aov_mean",
    "days_since_last",
    "clv",
    "clv_profit",
    "p_alive",
    "p_churn",
    "full_price_share",
    "discount_share",
    "top_lines_share",
    "n_products",
    "return_rate_orders",
    "support_tickets",
    "referrals",
    "trend_3m",
)


def customer_attributes(
    transactions: pd.DataFrame | None = None, customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Attributes for the VIP profile: the customers table, plus ``first_category`` bought and
    the attributes carried on the transaction rows (``input.customer_attributes``).

    ``first_category`` is the category of each customer's earliest purchase row (returns and
    refunds left out) when the transactions carry a ``category`` column. A row attribute is the
    value on the customer's latest row; the customers table wins for the same name.

    Parameters
    ----------
    transactions
        Validated transactions, or ``None``.
    customers
        The customers table, or ``None``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` and the attributes, one row per customer.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...     "timestamp": pd.to_datetime(["2024-02-01", "2024-01-05", "2024-03-01"]),
    ...     "revenue": [10.0, 20.0, 5.0], "category": ["books", "vinyl", "apparel"]})
    >>> customer_attributes(tx).to_dict("list")
    {'customer_id': [1, 2], 'first_category': ['vinyl', 'apparel']}
    """
    out: pd.DataFrame | None = None
    if transactions is not None and "category" in transactions.columns:
        tx = transactions
        keep = tx["revenue"].to_numpy(dtype=np.float64) >= 0
        if "is_return" in tx:
            keep &= ~tx["is_return"].to_numpy(dtype=bool)
        tx = tx.loc[keep & tx["category"].notna().to_numpy(), ["customer_id", "timestamp"]]
        tx = tx.assign(first_category=transactions.loc[tx.index, "category"])
        first = tx.sort_values(["customer_id", "timestamp"], kind="stable").drop_duplicates(
            "customer_id"
        )
        out = first[["customer_id", "first_category"]].reset_index(drop=True)
    carried = [] if transactions is None else transaction_attributes(transactions)
    if carried and transactions is not None:
        latest = transactions["timestamp"].max()
        rows = row_attributes(transactions, latest, carried).reset_index()
        out = rows if out is None else out.merge(rows, on="customer_id", how="outer")
    if customers is not None:
        if transactions is not None:
            customers = align_ids(customers, transactions["customer_id"])
        attrs = cast(pd.DataFrame, customers).drop_duplicates("customer_id")
        if out is None:
            out = attrs.reset_index(drop=True)
        else:
            keep = ("customer_id", "first_category")
            wins = [c for c in attrs.columns if c in out and c not in keep]
            out = out.drop(columns=wins)
            extra = attrs.drop(columns=[c for c in ("first_category",) if c in attrs])
            out = out.merge(extra, on="customer_id", how="outer")
    if out is None:
        return pd.DataFrame({"customer_id": []})
    return out


def is_text(values: pd.Series) -> bool:
    """Whether a column holds text (object, string or categorical).

    Parameters
    ----------
    values
        The column.

    Returns
    -------
    bool
        True for text.

    Examples
    --------
    >>> is_text(pd.Series(["a"])), is_text(pd.Series([1.5]))
    (True, False)
    """
    return (
        pd.api.types.is_object_dtype(values)
        or pd.api.types.is_string_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
    )


def _profile_groups(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    vip = scores["vip_now"].to_numpy(dtype=bool)
    predicted = (scores["segment"] == "predicted_vip").to_numpy()
    return {"vip": vip, "predicted_vip": predicted, "everyone_else": ~vip & ~predicted}


def vip_profile(scores: pd.DataFrame, attributes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Who the VIPs and predicted VIPs are, against everyone else.

    For each categorical attribute (:data:`PROFILE_ATTRIBUTES` and other text columns of
    ``attributes`` with at most 200 values; above 30, the 29 most common and
    ``(other)``), the share of each group in each value; for each
    value signal present (spend, orders, order value, CLV, churn risk, full-price share, returns,
    support, ...), the group means. ``vip_index`` = VIP figure / everyone else's (1.4: VIPs are
    40% more likely to come from there, or have 40% more of it); likewise
    ``predicted_vip_index``. The first row counts the customers of each group.

    Parameters
    ----------
    scores
        The output of :func:`assign_segments` (attribute columns may already be in it).
    attributes
        Optional table with ``customer_id`` and attributes (e.g. from
        :func:`customer_attributes`); joined on ``customer_id``.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (count / attribute / signal), ``attribute``, ``value``, ``statistic``
        (count / share / mean), ``vip``, ``predicted_vip``, ``everyone_else``, ``vip_index``,
        ``predicted_vip_index``.

    Examples
    --------
    >>> from vipml.segments import INPUT_COLUMNS, assign_segments
    >>> scores = assign_segments(pd.DataFrame({c: [0.0] * 3 for c in INPUT_COLUMNS}).assign(
    ...     customer_id=[1, 2, 3], spend_12m=[900.0, 100.0, 10.0], reasons=""))
    >>> profile = vip_profile(scores, pd.DataFrame({"customer_id": [1, 2, 3],
    ...     "region": ["north", "south", "south"]}))
    >>> profile.loc[:1, ["kind", "attribute"]].to_dict("list")
    {'kind': ['count', 'attribute'], 'attribute': ['customers', 'region']}
    """
    require_segments(scores)
    df = scores
    if attributes is not None and len(attributes.columns) > 1:
        if "customer_id" not in attributes:
            raise SchemaError(["missing column customer_id"], table="attributes")
        extra = [c for c in attributes.columns if c != "customer_id" and c not in df.columns]
        if extra:
            right = attributes[["customer_id", *extra]].drop_duplicates("customer_id")
            right = right.assign(customer_id=right["customer_id"].astype(str))
            df = (
                df.assign(_key=df["customer_id"].astype(str))
                .merge(right.rename(columns={"customer_id": "_key"}), on="_key", how="left")
                .drop(columns="_key")
            )
    groups = _profile_groups(df)
    rows: list[dict[str, Any]] = [
        {"kind": "count", "attribute": "customers", "value": "all", "statistic": "count",
         **{g: float(m.sum()) for g, m in groups.items()}}
    ]
    categorical = [c for c in PROFILE_ATTRIBUTES if c in df.columns]
    if attributes is not None:
        for c in attributes.columns:
            if (
                c not in categorical
                and c != "customer_id"
                and c in df.columns
                and is_text(df[c])
                and df[c].nunique() <= _PROFILE_MAX_VALUES
            ):
                categorical.append(c)
    for attr in categorical:
        values = df[attr].astype(object).where(df[attr].notna(), "(unknown)").astype(str)
        if values.nunique() > _PROFILE_LEVELS:  # the most common values, the rest together
            common = values.value_counts().index[: _PROFILE_LEVELS - 1]
            values = values.where(values.isin(common), "(other)")
        for level in sorted(values.unique()):
            hit = (values == level).to_numpy()
            row = {"kind": "attribute", "attribute": attr, "value": level, "statistic": "share"}
            for g, m in groups.items():
                row[g] = float(hit[m].mean()) if m.any() else 0.0
            rows.append(row)
    for signal in _PROFILE_SIGNALS:
        if signal not in df.columns or not pd.api.types.is_numeric_dtype(df[signal]):
            continue
        x = df[signal].to_numpy(dtype=np.float64)
        row = {"kind": "signal", "attribute": signal, "value": "", "statistic": "mean"}
        for g, m in groups.items():
            row[g] = float(np.nanmean(x[m])) if m.any() and np.isfinite(x[m]).any() else 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    base = table["everyone_else"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for g in ("vip", "predicted_vip"):
            ratio = table[g].to_numpy(dtype=np.float64) / base
            table[f"{g}_index"] = np.where(np.isfinite(ratio), ratio, np.nan)
    table.loc[table["kind"] == "count", ["vip_index", "predicted_vip_index"]] = np.nan
    return table


def profile_attributes_used(profile: pd.DataFrame) -> list[str]:
    """The categorical attributes a :func:`vip_profile` table compares.

    Parameters
    ----------
    profile
        A :func:`vip_profile` table.

    Returns
    -------
    list of str
        The attribute names, in the table's order.

    Examples
    --------
    >>> profile = pd.DataFrame({"kind": ["count", "attribute", "attribute", "signal"],
    ...     "attribute": ["customers", "region", "region", "spend_12m"]})
    >>> profile_attributes_used(profile)
    ['region']
    """
    return list(dict.fromkeys(profile.loc[profile["kind"] == "attribute", "attribute"]))


