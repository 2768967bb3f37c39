"""Engagement: referrals, reviews and user-generated content (from the optional events table).

======================  ===============================================================  =====
column                  meaning                                                          fill
======================  ===============================================================  =====
``referrals``           referral events on or before the cutoff                          0
``reviews``             review events                                                    0
``ugc``                 user-generated-content events                                    0
``days_since_engagement``  cutoff day minus the day of the last referral, review or ugc  tenure
======================  ===============================================================  =====

With no engagement event, ``days_since_engagement`` is the customer's tenure (days since the
first purchase): "nothing since they became a customer". Support tickets are costs, not
engagement (see :mod:`vipml.features.costs`). Without events every count is 0.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 2],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-11"]), "revenue": [10.0, 5.0]})
>>> ev = pd.DataFrame({"customer_id": [1, 1, 1], "kind": ["review", "referral", "review"],
...     "timestamp": pd.to_datetime(["2024-01-05", "2024-01-21", "2024-02-03"])})
>>> engagement_features(tx, "2024-01-31", ev)  # doctest: +NORMALIZE_WHITESPACE
             referrals  reviews  ugc  days_since_engagement
customer_id
1                    1        1    0                     10
2                    0        0    0                     20
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.features._prep import Prepared, day_end_ns, event_codes, prepare

__all__ = ["ENGAGEMENT_COLUMNS", "engagement_columns", "engagement_features"]

ENGAGEMENT_COLUMNS = ("referrals", "reviews", "ugc", "days_since_engagement")
_KINDS = {"referrals": "referral", "reviews": "review", "ugc": "ugc"}


def engagement_columns(prep: Prepared, events: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """The :data:`ENGAGEMENT_COLUMNS` from prepared rows and the events.

    Parameters
    ----------
    prep : Prepared
        The rows up to the cutoff (``vipml.features._prep.prepare``).
    events : pandas.DataFrame, optional
        Validated events.

    Returns
    -------
    dict of str to numpy.ndarray
        Each of :data:`ENGAGEMENT_COLUMNS`, one value per customer code.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> events = pd.DataFrame({"customer_id": [1, 2], "kind": ["support_ticket", "review"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-01-06"]), "cost": [4.0, 0.0]})
    >>> engagement_columns(prepare(tx, "2024-01-31"), events)["reviews"].tolist()
    [0, 1]
    """
    n, c = prep.n, prep.cutoff_day
    ev = event_codes(events, prep.customers, day_end_ns(c))
    out: dict[str, np.ndarray] = {}
    engaged = np.zeros(len(ev.code), dtype=bool)
    for column, kind in _KINDS.items():
        hit = ev.of_kind(kind)
        engaged |= hit
        out[column] = np.bincount(ev.code[hit], minlength=n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, ev.code[engaged], ev.day[engaged])
    tenure = c - prep.first_purchase_day
    out["days_since_engagement"] = np.where(last > np.iinfo(np.int64).min, c - last, tenure)
    return out


def engagement_features(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, events: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The :data:`ENGAGEMENT_COLUMNS` per customer at ``cutoff``.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.
    cutoff : str or pandas.Timestamp
        The last day observed (inclusive); later rows are ignored.
    events : pandas.DataFrame, optional
        Validated events.

    Returns
    -------
    pandas.DataFrame
        The :data:`ENGAGEMENT_COLUMNS`, indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> events = pd.DataFrame({"customer_id": [1, 2], "kind": ["support_ticket", "review"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-01-06"]), "cost": [4.0, 0.0]})
    >>> engagement_features(tx, "2024-01-31", events)["reviews"].tolist()
    [0, 1]
    """
    prep = prepare(transactions, cutoff)
    return pd.DataFrame(engagement_columns(prep, events), index=prep.customers)
