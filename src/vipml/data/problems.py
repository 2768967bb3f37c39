"""How a data problem is described: column, rows at fault, example values, fix.

Every data check (the contract in :mod:`vipml.data.schema`, the date reader in
:mod:`vipml.data.dates`) writes its problems with :func:`describe_rows`, so messages look the same
wherever they come from; a table that lacks columns some code needs is refused by
:func:`require_columns` (one message, wherever the table comes from).

Examples
--------
>>> import numpy as np, pandas as pd
>>> values = pd.Series(["a", "b", "c"])
>>> describe_rows("revenue", "not a number", np.array([True, False, True]), values, "fix it")
"revenue: not a number in 2 of 3 rows (rows 1, 3; values 'a', 'c'): fix it"
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from vipml.errors import SchemaError, format_examples

__all__ = [
    "data_rows",
    "describe_rows",
    "describe_problem",
    "missing_required_problems",
    "missing_columns_problem",
    "require_columns",
]


def data_rows(mask: np.ndarray, index: pd.Index | None = None) -> np.ndarray:
    """1-based data row numbers where ``mask`` holds (the header not counted).

    With an integer ``index`` (a table whose index counts its rows from 0, as the checks
    make it, some rows perhaps dropped by a policy), the numbers are the index labels + 1, so
    they still point at the file's rows; otherwise they are positions + 1.

    Parameters
    ----------
    mask : numpy.ndarray
        One boolean per row.
    index : pandas.Index, optional
        The table's index.

    Returns
    -------
    numpy.ndarray
        The row numbers.

    Examples
    --------
    >>> data_rows(np.array([False, True, True])).tolist()
    [2, 3]
    >>> data_rows(np.array([True, False]), pd.Index([4, 9])).tolist()
    [5]
    """
    if index is not None and pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index)[mask] + 1
    return np.flatnonzero(mask) + 1


def describe_rows(column: str, what: str, mask: np.ndarray, values: pd.Series, fix: str) -> str:
    """One problem line: the column, how many rows, up to five example rows and values, the fix.

    Rows are numbered as :func:`data_rows` does with the index of ``values``.

    Parameters
    ----------
    column : str
        The column at fault.
    what : str
        What is wrong with the rows.
    mask : numpy.ndarray
        One boolean per row, True at fault.
    values : pandas.Series
        The column's values (examples are taken from them).
    fix : str
        How to fix it.

    Returns
    -------
    str
        The problem line.

    Examples
    --------
    >>> describe_rows("quantity", "negative", np.array([True]), pd.Series([-2]), "drop it")
    'quantity: negative in 1 of 1 rows (rows 1; values -2): drop it'
    """
    rows = data_rows(mask, values.index)
    examples = [repr(v) for v in values[mask].head(5).tolist()]
    return describe_problem(column, what, int(mask.sum()), len(mask), examples, fix, rows)


def describe_problem(
    column: str,
    what: str,
    n_bad: int,
    n: int,
    examples: Sequence[str],
    fix: str,
    rows: Sequence[object] | np.ndarray | None = None,
) -> str:
    """One problem line from counts: what :func:`describe_rows` writes, for any engine.

    A table without row order (Spark) gives no ``rows``: the line then names example values
    only, and is otherwise the same.

    Parameters
    ----------
    column : str
        The column at fault.
    what : str
        What is wrong with the rows.
    n_bad : int
        Rows at fault.
    n : int
        Rows checked.
    examples : sequence of str
        Example values, already written as they are to be shown (``repr``); the first five
        are shown.
    fix : str
        How to fix it.
    rows : sequence, optional
        Example row numbers (1-based), when the rows have an order.

    Returns
    -------
    str
        The problem line.

    Examples
    --------
    >>> describe_problem("revenue", "not a number", 7, 9, ["'x'", "'y'"], "fix it")
    "revenue: not a number in 7 of 9 rows (values 'x', 'y'): fix it"
    >>> describe_problem("revenue", "not a number", 1, 9, ["'x'"], "fix it", [4])
    "revenue: not a number in 1 of 9 rows (rows 4; values 'x'): fix it"
    """
    values = format_examples(list(examples)[:5])
    where = "" if rows is None else f"rows {format_examples(rows)}; "
    return f"{column}: {what} in {n_bad:,} of {n:,} rows ({where}values {values}): {fix}"


def missing_required_problems(
    columns: Iterable[object], required: Iterable[str], fix: str | Callable[[str], str]
) -> list[str]:
    """One line per required column missing from a table: the column, the columns found, the fix.

    The contract's checks (:mod:`vipml.data.schema`) use it, so every table lacking a contract
    column is told so in the same words.

    Parameters
    ----------
    columns : iterable
        The table's columns.
    required : iterable of str
        The columns required, in the order to name them.
    fix : str or callable
        How to fix it, or a function of the missing column giving the fix.

    Returns
    -------
    list of str
        The problem lines (none when nothing is missing).

    Examples
    --------
    >>> missing_required_problems(["cust", "date"], ["customer_id", "date"], "rename it")
    ["missing required column 'customer_id' (columns found: cust, date): rename it"]
    """
    found = [str(c) for c in columns]
    listed = ", ".join(found) or "none"
    return [
        f"missing required column '{col}' (columns found: {listed}): "
        + (fix(col) if callable(fix) else fix)
        for col in required
        if col not in found
    ]


def missing_columns_problem(missing: Sequence[str], found: Iterable[object], fix: str) -> str:
    """The one message for a table lacking columns: which are missing, which were found, the fix.

    Parameters
    ----------
    missing : sequence of str
        The columns missing.
    found : iterable
        The table's columns (up to 20 are listed).
    fix : str
        How to fix it.

    Returns
    -------
    str
        The problem line.

    Examples
    --------
    >>> missing_columns_problem(["T"], ["frequency", "recency"], "build the summary first")
    'missing column T (found: frequency, recency): build the summary first'
    """
    names = format_examples([str(c) for c in found], limit=20) or "none"
    plural = "s" if len(missing) > 1 else ""
    return f"missing column{plural} {', '.join(missing)} (found: {names}): {fix}"


def require_columns(
    columns: Iterable[object], required: Iterable[str], *, table: str, fix: str
) -> None:
    """Raise :class:`~vipml.errors.SchemaError` when ``columns`` lack any of ``required``.

    Parameters
    ----------
    columns : iterable
        The table's columns (a pandas or Spark frame's ``columns``).
    required : iterable of str
        The columns the caller needs, in the order to name them.
    table : str
        The table named in the error.
    fix : str
        How to fix it (see :func:`missing_columns_problem`).

    Raises
    ------
    SchemaError
        Naming every missing column.

    Examples
    --------
    >>> require_columns(["customer_id", "revenue"], ["customer_id"], table="t", fix="map it")
    >>> require_columns(["client"], ["customer_id"], table="t", fix="map it")
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: t: 1 problem found
      - missing column customer_id (found: client): map it
    """
    found = list(columns)
    missing = [c for c in required if c not in found]
    if missing:
        raise SchemaError([missing_columns_problem(missing, found, fix)], table=table)
