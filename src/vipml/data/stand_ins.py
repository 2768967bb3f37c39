"""The stand-in columns: ``revenue``, ``cost`` and ``list_price`` derived from the columns an
export has instead (``quantity`` x ``unit_price``, revenue - ``profit``, revenue / (1 -
``discount``)), with a note saying which was used.

Examples
--------
>>> out, notes = {}, []
>>> derive_revenue(pd.DataFrame({"revenue": ["1,200.50"]}), out, [], notes)
>>> out["revenue"].tolist()
[1200.5]
"""

from __future__ import annotations

import pandas as pd

from vipml.data.coerce import parse_number
from vipml.data.messages import (
    COST_FROM_PROFIT,
    DISCOUNT_FIX,
    DISCOUNT_NOT_USED,
    LIST_PRICE_FROM_DISCOUNT,
    MONEY_FIX,
    NOT_A_FRACTION,
    PROFIT_NOT_USED,
    QUANTITY_FIX,
    REVENUE_FROM_PRICE,
    UNIT_PRICE_ALONE,
    UNIT_PRICE_NOT_USED,
)
from vipml.data.problems import describe_rows

__all__ = ["MONEY_FIX", "derive_revenue", "derive_cost_and_list_price"]


def derive_revenue(
    df: pd.DataFrame, out: dict[str, pd.Series], problems: list[str], notes: list[str]
) -> None:
    """``revenue`` as given, or quantity x unit_price; ``quantity`` parsed either way.

    Parameters
    ----------
    df : pandas.DataFrame
        The raw rows, with the contract's column names.
    out : dict of str to pandas.Series
        The parsed columns; ``quantity`` and ``revenue`` are added.
    problems : list of str
        Problems found are appended here.
    notes : list of str
        How ``revenue`` was found is appended here.

    Examples
    --------
    >>> out, problems, notes = {}, [], []
    >>> derive_revenue(pd.DataFrame({"quantity": [2], "unit_price": ["4.5"]}), out, problems,
    ...                notes)
    >>> out["revenue"].tolist(), problems
    ([9.0], [])
    """
    if "quantity" in df:
        out["quantity"] = parse_number(
            df["quantity"], "quantity", problems, "revenue" not in df, QUANTITY_FIX
        )
    if "revenue" in df:
        out["revenue"] = parse_number(df["revenue"], "revenue", problems, True, MONEY_FIX)
        if "unit_price" in df:
            notes.append(UNIT_PRICE_NOT_USED)
    elif "unit_price" in df and "quantity" in df:
        price = parse_number(df["unit_price"], "unit_price", problems, True, MONEY_FIX)
        out["revenue"] = out["quantity"] * price
        notes.append(REVENUE_FROM_PRICE)
    elif "unit_price" in df:
        problems.append(UNIT_PRICE_ALONE)


def derive_cost_and_list_price(
    df: pd.DataFrame, out: dict[str, pd.Series], problems: list[str], notes: list[str]
) -> None:
    """``cost`` (or revenue - profit) and ``list_price`` (or revenue / (1 - discount)).

    Parameters
    ----------
    df : pandas.DataFrame
        The raw rows, with the contract's column names.
    out : dict of str to pandas.Series
        The parsed columns (with ``revenue`` when it was found); ``cost`` and ``list_price``
        are added.
    problems : list of str
        Problems found are appended here.
    notes : list of str
        How the columns were found is appended here.

    Examples
    --------
    >>> out = {"revenue": pd.Series([80.0])}
    >>> derive_cost_and_list_price(pd.DataFrame({"profit": [30], "discount": [0.2]}), out, [], [])
    >>> out["cost"].tolist(), out["list_price"].tolist()
    ([50.0], [100.0])
    """
    revenue = out.get("revenue")
    if "cost" in df:
        out["cost"] = parse_number(df["cost"], "cost", problems, False, MONEY_FIX)
        if "profit" in df:
            notes.append(PROFIT_NOT_USED)
    elif "profit" in df:
        profit = parse_number(df["profit"], "profit", problems, False, MONEY_FIX)
        if revenue is not None:
            out["cost"] = revenue - profit
            notes.append(COST_FROM_PROFIT)
    if "list_price" in df:
        out["list_price"] = parse_number(
            df["list_price"], "list_price", problems, False, MONEY_FIX
        )
        if "discount" in df:
            notes.append(DISCOUNT_NOT_USED)
    elif "discount" in df:
        discount = parse_number(df["discount"], "discount", problems, False, DISCOUNT_FIX)
        bad = (discount.notna() & ((discount < 0) | (discount >= 1))).to_numpy(dtype=bool)
        if bad.any():
            problems.append(
                describe_rows("discount", NOT_A_FRACTION, bad, df["discount"], DISCOUNT_FIX)
            )
        if revenue is not None:
            out["list_price"] = revenue / (1.0 - discount.where(~bad))
            notes.append(LIST_PRICE_FROM_DISCOUNT)
