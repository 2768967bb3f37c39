"""The column names of the data contract, for every layer (the checks are in
:mod:`vipml.data.schema`; the config checks mapping targets against these names).

Examples
--------
>>> "unit_price" in TRANSACTION_OPTIONAL, "unit_price" in TRANSACTION_COLUMNS
(True, False)
"""

from __future__ import annotations

__all__ = [
    "TRANSACTION_REQUIRED",
    "TRANSACTION_OPTIONAL",
    "TRANSACTION_COLUMNS",
    "STAND_IN_COLUMNS",
    "KEPT_OPTIONAL",
    "EVENT_REQUIRED",
    "EVENT_OPTIONAL",
    "EVENT_KINDS",
    "CUSTOMER_REQUIRED",
    "CUSTOMER_DATES",
]

TRANSACTION_REQUIRED = ("customer_id", "timestamp", "revenue")
#: Optional columns kept in a validated frame.
KEPT_OPTIONAL = (
    "order_id",
    "cost",
    "list_price",
    "quantity",
    "category",
    "is_return",
    "product_id",
)
#: Optional columns that stand in for a missing one (revenue, cost, list price) and are then
#: dropped: revenue = quantity x unit_price, cost = revenue - profit, list_price = revenue /
#: (1 - discount).
STAND_IN_COLUMNS = ("unit_price", "profit", "discount")
TRANSACTION_OPTIONAL = KEPT_OPTIONAL + STAND_IN_COLUMNS
#: Columns of a validated transaction frame other than customer attributes.
TRANSACTION_COLUMNS = TRANSACTION_REQUIRED + KEPT_OPTIONAL
EVENT_REQUIRED = ("customer_id", "timestamp", "kind")
EVENT_OPTIONAL = ("cost",)
EVENT_KINDS = ("support_ticket", "referral", "review", "ugc")
CUSTOMER_REQUIRED = ("customer_id",)
CUSTOMER_DATES = ("signup_date",)
