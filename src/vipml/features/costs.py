"""Indirect costs: returns and support.

Columns at the cutoff:

=======================  =============================================================  ====
column                   meaning                                                        fill
=======================  =============================================================  ====
``returns``              returned orders (distinct ``order_id`` among return rows;      0
                         without ``order_id``, return rows)
``return_rate_orders``   ``returns / max(orders, returns)``                             0
``return_rate_value``    ``refunded / max(revenue_total, refunded)``                    0
``net_revenue``          ``revenue_total - refunded`` (may be negative)                 0
``support_tickets``      support-ticket events                                          0
``support_cost``         their summed ``cost`` (0 without a ``cost`` column)            0
``net_profit``           ``profit_total - support_cost``: value after every cost        0
=======================  =============================================================  ====

A return row is one flagged ``is_return`` or with negative revenue; it refunds
``abs(revenue)``. Both rates lie in [0, 1]: a return of an order bought before the data began
can make returns exceed orders, and the rate is then capped at 1 (a customer whose only
activity is a return has both rates 1). Events need ``customer_id``, ``timestamp`` and
``kind``; events after the cutoff's day, and of customers without transactions up to it, are
ignored.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"customer_id": [1, 1, 1],
...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-09"]),
...     "revenue": [100.0, 50.0, -50.0], "is_return": [False, False, True]})
>>> ev = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-10"]),
...     "kind": ["support_ticket"], "cost": [12.0]})
>>> cost_features(tx, "2024-01-31", ev).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
{'returns': 1.0, 'return_rate_orders': 0.5, 'return_rate_value': 0.3333333333333333,
 'net_revenue': 100.0, 'support_tickets': 1.0, 'support_cost': 12.0, 'net_profit': 18.0}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.features._prep import (
    Events,
    Prepared,
    day_end_ns,
    event_codes,
    first_occurrences,
    prepare,
    safe_ratio,
)
from vipml.features.value import row_profit

__all__ = ["COST_COLUMNS", "cost_columns", "cost_features", "support_arrays"]

COST_COLUMNS = (
    "returns",
    "return_rate_orders",
    "return_rate_value",
    "net_revenue",
    "support_tickets",
    "support_cost",
    "net_profit",
)


def support_arrays(ev: Events, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Support tickets and their cost per customer code.

    Parameters
    ----------
    ev : Events
        Events of the known customers (``vipml.features._prep.event_codes``).
    n : int
        The number of customers.

    Returns
    -------
    tuple of numpy.ndarray
        Tickets (int64) and their cost (float64) per customer code.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> events = pd.DataFrame({"customer_id": [1, 2], "kind": ["support_ticket", "review"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-01-06"]), "cost": [4.0, 0.0]})
    >>> from vipml.features._prep import event_codes, prepare
    >>> prep = prepare(tx, "2024-01-31")
    >>> tickets, cost = support_arrays(event_codes(events, prep.customers, 2**62), 2)
    >>> tickets.tolist(), cost.tolist()
    ([1, 0], [4.0, 0.0])
    """
    ticket = ev.of_kind("support_ticket")
    return (
        np.bincount(ev.code[ticket], minlength=n),
        np.bincount(ev.code[ticket], weights=ev.cost[ticket], minlength=n),
    )


def cost_columns(
    prep: Prepared, config: Config, events: pd.DataFrame | None = None
) -> dict[str, np.ndarray]:
    """The :data:`COST_COLUMNS` from prepared rows and the events (see the module docs).

    Parameters
    ----------
    prep : Prepared
        The rows up to the cutoff (``vipml.features._prep.prepare``).
    config : Config
        The settings (``features.default_margin_rate``).
    events : pandas.DataFrame, optional
        Validated events.

    Returns
    -------
    dict of str to numpy.ndarray
        Each of :data:`COST_COLUMNS`, one value per customer code.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> from vipml.features._prep import prepare
    >>> sorted(cost_columns(prepare(tx, "2024-01-31"), Config())) == sorted(COST_COLUMNS)
    True
    """
    n = prep.n
    ret = prep.is_return
    if prep.order is None:
        returns = np.bincount(prep.code[ret], minlength=n)
    else:
        index, _ = prep.order_index(ret)
        returns = np.bincount(prep.code[ret][first_occurrences(index)], minlength=n)
    orders = np.bincount(prep.orders.code, minlength=n)
    refunded = np.bincount(prep.code[ret], weights=np.abs(prep.revenue[ret]), minlength=n)
    revenue_total = np.bincount(prep.p_code, weights=prep.p_revenue, minlength=n)
    profit, _ = row_profit(prep, config.features.default_margin_rate)
    ev = event_codes(events, prep.customers, day_end_ns(prep.cutoff_day))
    tickets, support_cost = support_arrays(ev, n)
    return {
        "returns": returns,
        "return_rate_orders": safe_ratio(returns, np.maximum(orders, returns), 0.0),
        "return_rate_value": safe_ratio(refunded, np.maximum(revenue_total, refunded), 0.0),
        "net_revenue": revenue_total - refunded,
        "support_tickets": tickets,
        "support_cost": support_cost,
        "net_profit": np.bincount(prep.code, weights=profit, minlength=n) - support_cost,
    }


def cost_features(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    events: pd.DataFrame | None = None,
    config: Config | None = None,
) -> pd.DataFrame:
    """The :data:`COST_COLUMNS` per customer at ``cutoff``.

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

    Returns
    -------
    pandas.DataFrame
        The :data:`COST_COLUMNS`, indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2], "revenue": [10.0, 30.0, 5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-05"]),
    ...     "cost": [6.0, 20.0, float("nan")], "category": ["tv", "vinyl", "tv"]})
    >>> events = pd.DataFrame({"customer_id": [1, 2], "kind": ["support_ticket", "review"],
    ...     "timestamp": pd.to_datetime(["2024-01-03", "2024-01-06"]), "cost": [4.0, 0.0]})
    >>> cost_features(tx, "2024-01-31", events)["support_tickets"].tolist()
    [1, 0]
    """
    prep = prepare(transactions, cutoff)
    return pd.DataFrame(cost_columns(prep, config or Config(), events), index=prep.customers)
