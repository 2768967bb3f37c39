"""Readable names of the columns and value signals, and which columns are amounts, shares or
dates: shared by the spreadsheet, the HTML page and the CSV file.

Examples
--------
>>> HEADERS["p_churn"], signal_name("trend_3m")
('P(churn)', 'Order rate, last 3 months vs last 12 months')
"""

from __future__ import annotations

__all__ = [
    "HEADERS",
    "SIGNAL_NAMES",
    "PROFILE_HEADERS",
    "MONEY_COLUMNS",
    "PERCENT_COLUMNS",
    "DATE_COLUMNS",
    "signal_name",
]

#: Readable column headers of the spreadsheet and the report.
HEADERS = {
    "customer_id": "Customer ID",
    "spend_12m": "Spend, last 12 months",
    "profit_12m": "Profit, last 12 months",
    "orders_12m": "Orders, last 12 months",
    "days_since_last": "Days since last purchase",
    "p_alive": "P(still active)",
    "expected_purchases": "Expected purchases",
    "clv": "Predicted value (CLV)",
    "clv_profit": "Predicted profit (CLV)",
    "p_future_vip": "P(future VIP)",
    "p_churn": "P(churn)",
    "vip_now": "VIP now",
    "tier": "Tier",
    "segment": "Segment",
    "gap_to_vip": "Still needed to reach VIP",
    "reasons": "Why this customer",
    "treatment": "Suggested treatment",
    "next_tier": "Next tier",
    "gap_to_next_tier": "Still needed for the next tier",
    "vip_since": "VIP since",
    "vip_until": "Status held until",
}
MONEY_COLUMNS = ("spend_12m", "profit_12m", "clv", "clv_profit", "gap_to_vip", "gap_to_next_tier")
PERCENT_COLUMNS = ("p_alive", "p_future_vip", "p_churn")
DATE_COLUMNS = ("vip_since", "vip_until")
PROFILE_HEADERS = {
    "kind": "Kind",
    "attribute": "Attribute",
    "value": "Value",
    "statistic": "Statistic",
    "vip": "VIPs now",
    "predicted_vip": "Predicted VIPs",
    "everyone_else": "Everyone else",
    "vip_index": "VIP index (vs everyone else)",
    "predicted_vip_index": "Predicted-VIP index",
}

#: Readable names of the value signals of :func:`vipml.segments.vip_profile`.
SIGNAL_NAMES = {
    **{c: HEADERS[c] for c in ("spend_12m", "profit_12m", "orders_12m", "days_since_last",
                               "clv", "clv_profit", "p_alive", "p_churn")},
    "customers": "Customers",
    "aov_mean": "Average order value",
    "full_price_share": "Share of spend at full price",
    "discount_share": "Share of spend on discount",
    "top_lines_share": "Share of spend in the most profitable lines",
    "n_products": "Different products bought",
    "return_rate_orders": "Share of orders with a return",
    "support_tickets": "Support tickets",
    "referrals": "Customers referred",
    "trend_3m": "Order rate, last 3 months vs last 12 months",
}


def signal_name(signal: str) -> str:
    """A value signal's readable name: :data:`SIGNAL_NAMES`, else the name spelled out.

    Parameters
    ----------
    signal
        The signal's column name.

    Returns
    -------
    str
        Its readable name.

    Examples
    --------
    >>> signal_name("spend_12m"), signal_name("loyalty_points")
    ('Spend, last 12 months', 'Loyalty points')
    """
    return SIGNAL_NAMES.get(signal, signal.replace("_", " ").capitalize())
