"""The contract's columns in a table: which are missing, and which carry customer attributes.

Both engines' checks (:mod:`vipml.data.schema`, :mod:`vipml.spark.validation`) read the column
names of a table through these, so a missing column is told the same way on each.

Examples
--------
>>> transaction_column_problems(["customer_id", "timestamp", "revenue"])
[]
"""

from __future__ import annotations

from collections.abc import Mapping

from vipml.contract import TRANSACTION_OPTIONAL, TRANSACTION_REQUIRED
from vipml.data.problems import missing_required_problems

__all__ = ["missing_contract_columns", "transaction_column_problems", "attribute_columns"]

_REVENUE_HINT = "; or map quantity and unit_price (revenue = quantity x unit_price)"


def missing_contract_columns(
    found: list[str],
    required: tuple[str, ...],
    table: str,
    hints: Mapping[str, str] | None = None,
) -> list[str]:
    """One problem per contract column ``required`` and missing from ``found``, with the
    config mapping that fixes it.

    Parameters
    ----------
    found : list of str
        The table's columns, after the mapping.
    required : tuple of str
        The columns required.
    table : str
        The table's key under ``columns:`` in the config (``transactions``, ``events``, ...).
    hints : mapping, optional
        More advice per column, appended to its fix.

    Returns
    -------
    list of str
        The problem lines (none when nothing is missing).

    Examples
    --------
    >>> missing_contract_columns(["id"], ("customer_id",), "customers")
    ["missing required column 'customer_id' (columns found: id): rename it, or map your name to \
it with `columns: {customers: {your_name: customer_id}}` in the config"]
    """
    hints = hints or {}
    return missing_required_problems(
        found,
        required,
        lambda col: f"rename it, or map your name to it with `columns: {{{table}: "
        f"{{your_name: {col}}}}}` in the config" + hints.get(col, ""),
    )


def transaction_column_problems(found: list[str]) -> list[str]:
    """One problem per required transaction column missing from ``found`` (``revenue`` is not
    required when ``quantity`` and ``unit_price`` stand in for it).

    Parameters
    ----------
    found : list of str
        The table's columns, after the mapping.

    Returns
    -------
    list of str
        The problem lines (none when nothing is missing).

    Examples
    --------
    >>> transaction_column_problems(["customer_id", "timestamp", "quantity", "unit_price"])
    []
    >>> transaction_column_problems(["customer_id", "revenue"])  # doctest: +ELLIPSIS
    ["missing required column 'timestamp' (columns found: customer_id, revenue): rename it, ..."]
    """
    has_price = "quantity" in found and "unit_price" in found
    required = tuple(c for c in TRANSACTION_REQUIRED if not (c == "revenue" and has_price))
    return missing_contract_columns(found, required, "transactions", {"revenue": _REVENUE_HINT})


def attribute_columns(
    found: list[str], columns: Mapping[str, str] | None, wanted: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """Resolve ``input.customer_attributes`` to columns of a mapped table; collect problems.

    A name may be the column's name in the data or the name it is mapped to.

    Parameters
    ----------
    found : list of str
        The table's columns, after the mapping.
    columns : mapping, optional
        The mapping ``{their_name: our_name}``.
    wanted : tuple of str
        ``input.customer_attributes``.

    Returns
    -------
    tuple of (list of str, list of str)
        The attribute columns found, and one problem per name that names none (or names a
        contract column).

    Examples
    --------
    >>> attribute_columns(["customer_id", "Country"], None, ("Country", "Region"))
    ... # doctest: +ELLIPSIS
    (['Country'], ["input.customer_attributes names 'Region' but the data have no such ..."])
    """
    names: list[str] = []
    problems: list[str] = []
    contract = set(TRANSACTION_REQUIRED + TRANSACTION_OPTIONAL)
    for name in wanted:
        resolved = name if name in found else (columns or {}).get(name, name)
        if resolved not in found:
            problems.append(
                f"input.customer_attributes names '{name}' but the data have no such column "
                f"(columns found: {', '.join(found) or 'none'}): fix the name"
            )
        elif resolved in contract:
            problems.append(
                f"input.customer_attributes names '{name}', which is the contract column "
                f"'{resolved}': list columns that describe the customer, such as a country or "
                "segment"
            )
        else:
            names.append(resolved)
    return names, problems
