"""Raw cells to typed columns: amounts, true/false flags and text, each bad cell reported.

Every parser appends its problems (written by :func:`vipml.data.problems.describe_rows`) to the
``problems`` list it is given, so one pass over a table finds every fault at once.

Examples
--------
>>> import pandas as pd
>>> problems = []
>>> parse_number(pd.Series(["1,234.50", "3,5", "x"]), "revenue", problems, True, "fix it").tolist()
[1234.5, nan, nan]
>>> len(problems)
2
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.data.messages import (
    AMOUNTS_NOT_BOOL,
    DECIMAL_COMMA,
    DECIMAL_COMMA_FIX,
    FALSE_TEXT,
    GROUPED_NUMBER,
    MISSING,
    NOT_A_NUMBER,
    NOT_TRUE_FALSE,
    TRUE_FALSE_FIX,
    TRUE_TEXT,
)
from vipml.data.problems import describe_rows

__all__ = ["parse_number", "parse_bool", "as_text"]



def parse_number(
    raw: pd.Series, column: str, problems: list[str], required: bool, fix: str
) -> pd.Series:
    """Read a column of amounts as floats; report text, decimal commas and missing values.

    Thousands separators (``1,234.50``) are removed; a decimal comma (``3,5``) is a problem, not
    a number. Infinite values count as missing.

    Parameters
    ----------
    raw : pandas.Series
        The column as read.
    column : str
        Its name in the messages.
    problems : list of str
        Problems found are appended here.
    required : bool
        Whether a missing value is a problem.
    fix : str
        The fix the messages suggest.

    Returns
    -------
    pandas.Series
        Floats, NaN where a value is missing or unreadable.

    Examples
    --------
    >>> problems = []
    >>> parse_number(pd.Series([2, None]), "quantity", problems, True, "fix").tolist()
    [2.0, nan]
    >>> problems
    ['quantity: missing quantity in 1 of 2 rows (rows 2; values nan): fix']
    """
    if pd.api.types.is_bool_dtype(raw):
        problems.append(AMOUNTS_NOT_BOOL.format(column=column, fix=fix))
        return pd.Series(np.nan, index=raw.index)
    decimal_comma = None
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        text = raw.astype("string").str.strip()
        comma = text.str.contains(",", regex=False).fillna(False)
        if comma.any():  # thousands separators (1,234.50) go; a decimal comma (3,5) is no number
            grouped = text.str.fullmatch(GROUPED_NUMBER).fillna(False)
            decimal_comma = (comma & ~grouped).to_numpy(dtype=bool)
            text = text.where(~comma, text.str.replace(",", "", regex=False).where(grouped))
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    values = values.replace([np.inf, -np.inf], np.nan)
    null = raw.isna().to_numpy(dtype=bool)
    bad = values.isna().to_numpy(dtype=bool) & ~null
    if decimal_comma is not None and decimal_comma.any():
        problems.append(
            describe_rows(
column, DECIMAL_COMMA, decimal_comma, raw, DECIMAL_COMMA_FIX)
        )
        bad &= ~decimal_comma
    if bad.any():
        problems.append(describe_rows(column, NOT_A_NUMBER, bad, raw, fix))
    if required and null.any():
        problems.append(describe_rows(column, MISSING.format(column=column), null, raw, fix))
    return values


def parse_bool(raw: pd.Series, column: str, problems: list[str]) -> pd.Series:
    """Read a column of flags (true/false, yes/no, 1/0; empty is false); report other values.

    Parameters
    ----------
    raw : pandas.Series
        The column as read.
    column : str
        Its name in the messages.
    problems : list of str
        Problems found are appended here.

    Returns
    -------
    pandas.Series
        Booleans (an unreadable value is False, and reported).

    Examples
    --------
    >>> problems = []
    >>> parse_bool(pd.Series(["Yes", "0", "maybe"]), "is_return", problems).tolist()
    [True, False, False]
    >>> problems  # doctest: +ELLIPSIS
    ["is_return: not true/false in 1 of 3 rows (rows 3; values 'maybe'): use true/false, ..."]
    """
    if pd.api.types.is_bool_dtype(raw) and not raw.isna().any():
        return raw.astype(bool)
    text = raw.astype("string").str.strip().str.lower().fillna("")
    truthy = text.isin(TRUE_TEXT)
    bad = (~truthy & ~text.isin(FALSE_TEXT)).to_numpy(dtype=bool)
    if bad.any():
        problems.append(
            describe_rows(column, NOT_TRUE_FALSE, bad, raw, TRUE_FALSE_FIX)
        )
    return truthy.astype(bool)


def as_text(raw: pd.Series) -> pd.Series:
    """A column as stripped text, ``"unknown"`` where a value is missing.

    Parameters
    ----------
    raw : pandas.Series
        The column as read.

    Returns
    -------
    pandas.Series
        Python strings (object dtype).

    Examples
    --------
    >>> as_text(pd.Series([" books ", None, 7])).tolist()
    ['books', 'unknown', '7']
    """
    return raw.astype("string").str.strip().fillna("unknown").astype(object)
