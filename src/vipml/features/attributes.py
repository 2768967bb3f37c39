"""Customer attributes carried on the transaction rows (``input.customer_attributes``).

A column such as ``Country`` on every order line describes the customer, not the order. At a
cutoff, each customer's value is the one on their latest row on or before the cutoff's day
(ties: the last such row in the input), so a customer who moved is placed where they are now,
and nothing after the cutoff leaks in.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05"]),
...     "Country": ["France", "Spain", "EIRE"]})
>>> row_attributes(tx, "2024-01-31", ["Country"])["Country"].to_dict()
{1: 'France', 2: 'EIRE'}
>>> row_attributes(tx, "2024-12-31", ["Country"])["Country"].to_dict()
{1: 'Spain', 2: 'EIRE'}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from vipml.features._prep import cutoff_day, day_end_ns, timestamps_ns

__all__ = ["row_attributes"]


def row_attributes(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, names: Sequence[str]
) -> pd.DataFrame:
    """Each customer's value of the row attributes ``names`` at ``cutoff`` (see the module
    docs), indexed by ``customer_id`` (sorted); customers without a row up to the cutoff are
    absent.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.
    names : sequence of str
        The attribute columns.

    Returns
    -------
    pandas.DataFrame
        One row per customer: the attributes of its latest row up to the cutoff.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> rows = tx.assign(Country=["FR", "DE", "UK"])
    >>> row_attributes(rows, "2024-01-31", ["Country"])["Country"].tolist()
    ['DE', 'UK']
    """
    names = list(names)
    if not names:
        return pd.DataFrame(index=pd.Index([], name="customer_id"))
    ns = timestamps_ns(transactions["timestamp"])
    up_to = np.flatnonzero(ns < day_end_ns(cutoff_day(cutoff)))
    order = up_to[np.argsort(ns[up_to], kind="stable")]
    rows = transactions.iloc[order][["customer_id", *names]]
    latest = rows.drop_duplicates("customer_id", keep="last")
    return latest.set_index("customer_id")[names].astype(object).sort_index()
