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
from vipml.data.problems import describe_rows

__all__ = ["MONEY_FIX", "derive_revenue", "derive_cost_and_list_price"]

#: The fix suggested for an amount that is not a number.
MONEY_FIX = "give plain numbers such as 19.99 (no currency symbols or text)"


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
            df["quantity"], "quantity", problems, "revenue" not in df, "give numbers such as 3"
        )
    if "revenue" in df:
        out["revenue"] = parse_number(df["revenue"], "revenue", problems, True, MONEY_FIX)
        if "unit_price" in df:
            notes.append("unit_price: not used (a revenue column is given)")
    elif "unit_price" in df and "quantity" in df:
        price = parse_number(df["unit_price"], "unit_price", problems, True, MONEY_FIX)
        out["revenue"] = out["quantity"] * price
        notes.append(
            "revenue: quantity x unit_price (no revenue column; a negative quantity is a return)"
        )
    elif "unit_price" in df:
        problems.append(
            "unit_price: revenue = quantity x unit_price needs a quantity column too: map your "
            "quantity column to `quantity` (or map a revenue column)"
        )


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
            notes.append("profit: not used (a cost column is given)")
    elif "profit" in df:
        profit = parse_number(df["profit"], "profit", problems, False, MONEY_FIX)
        if revenue is not None:
            out["cost"] = revenue - profit
            notes.append("cost: revenue - profit (no cost column)")
    if "list_price" in df:
        out["list_price"] = parse_number(
            df["list_price"], "list_price", problems, False, MONEY_FIX
        )
        if "discount" in df:
            notes.append("discount: not used (a list_price column is given)")
    elif "discount" in df:
        fix = "give the discount as a fraction of the list price, e.g. 0.15 for 15%"
        discount = parse_number(df["discount"], "discount", problems, False, fix)
        bad = (discount.notna() & ((discount < 0) | (discount >= 1))).to_numpy(dtype=bool)
        if bad.any():
            problems.append(
                describe_rows("discount", "not a fraction in [0, 1)", bad, df["discount"], fix)
            )
        if revenue is not None:
            out["list_price"] = revenue / (1.0 - discount.where(~bad))
            notes.append("list_price: revenue / (1 - discount) (no list_price column)")
