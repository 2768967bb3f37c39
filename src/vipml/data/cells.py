"""Cells that stay text when a person opens the file (no formula injection).

A spreadsheet program reads a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula: a customer id ``=HYPERLINK("http://x","click")`` becomes a live
link, ``+cmd|' /C calc'!A0`` may run a program. :func:`formula_like` is the one rule deciding
which values are at risk; each writer renders them as literal text in its own way:

* CSV (:func:`safe_text`, :func:`safe_frame`): the value gets a leading ``'``, the common
  defence (a spreadsheet shows the text, never evaluates it);
* XLSX (:func:`keep_as_text`): the cell is written as a string (``t="inlineStr"``, never an
  ``<f>`` formula) with Excel's quote prefix, what Excel itself stores for a typed ``'=...``.

Numbers stay numbers: only text is ever changed (``-2.5`` is a number, ``"-2+3"`` is text).
Parquet files are data, not opened by people: their values are written unchanged.

Examples
--------
>>> import pandas as pd
>>> table = pd.DataFrame({"customer_id": ["=1+2", "42", "@SUM(1)"], "gap": [-2.5, 0.0, 1.0]})
>>> safe = safe_frame(table)
>>> safe["customer_id"].tolist(), safe["gap"].tolist()
(["'=1+2", '42', "'@SUM(1)"], [-2.5, 0.0, 1.0])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_REGEX", "FORMULA_TRIGGERS", "formula_like", "is_formula_like", "keep_as_text",
           "original_text", "safe_frame", "safe_text"]

#: A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

#: The same rule as a regular expression (Python and Java syntax), for writers that escape in
#: their own engine (Spark): text matching it is formula-like.
FORMULA_REGEX = r"^[=+\-@\t\r]"

#: What :func:`safe_text` puts before such a text in a CSV file.
_CSV_PREFIX = "'"


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would read as a formula.

    Parameters
    ----------
    value : object
        A cell's value.

    Returns
    -------
    bool
        True for text starting with a formula trigger.

    Examples
    --------
    >>> [is_formula_like(v) for v in ("=A1", "+1", "-2+3", "@x", "\\t=1", "\\r=1", "a=1")]
    [True, True, True, True, True, True, False]
    >>> is_formula_like(-2.5), is_formula_like(None)
    (False, False)
    >>> import re
    >>> all(bool(re.match(FORMULA_REGEX, t + "x")) for t in FORMULA_TRIGGERS)
    True
    """
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def safe_text(value: Any) -> Any:
    """``value`` for a CSV cell: formula-like text behind a ``'``, anything else unchanged.

    Applying it twice changes nothing more (``'`` is not a trigger).

    Parameters
    ----------
    value : object
        A cell's value.

    Returns
    -------
    object
        The value to write.

    Examples
    --------
    >>> safe_text("=HYPERLINK(\\"http://x\\",\\"click\\")")
    '\\'=HYPERLINK("http://x","click")'
    >>> safe_text("Anna"), safe_text(-2), safe_text(safe_text("+1"))
    ('Anna', -2, "'+1")
    """
    return _CSV_PREFIX + value if is_formula_like(value) else value


def original_text(value: Any) -> Any:
    """The value a CSV cell written with :func:`safe_text` stands for: the ``'`` before
    formula-like text removed (reading a list back, e.g. ``--previous vip_list.csv``).

    Parameters
    ----------
    value : object
        A cell's value as read back.

    Returns
    -------
    object
        The value it stands for.

    Examples
    --------
    >>> original_text("'=1+2"), original_text("'quoted"), original_text(7)
    ('=1+2', "'quoted", 7)
    """
    if isinstance(value, str) and value.startswith(_CSV_PREFIX):
        rest = value[len(_CSV_PREFIX):]
        if is_formula_like(rest):
            return rest
    return value


def _may_hold_text(values: pd.Series | pd.Index) -> bool:
    dtype = values.dtype
    return not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    )


def formula_like(values: pd.Series | pd.Index) -> np.ndarray:
    """Which of ``values`` are formula-like text (numbers, dates and missing values never are).

    Parameters
    ----------
    values : pandas.Series or pandas.Index
        The values of a column (or the column names).

    Returns
    -------
    numpy.ndarray
        One boolean per value.

    Examples
    --------
    >>> formula_like(pd.Series(["-2+3", "ok", None])).tolist()
    [True, False, False]
    >>> formula_like(pd.Series([-2.5, 3.0])).tolist()
    [False, False]
    """
    if not _may_hold_text(values):
        return np.zeros(len(values), dtype=bool)
    objects = values.to_numpy(dtype=object, na_value=None)
    return np.fromiter((is_formula_like(v) for v in objects), dtype=bool, count=len(objects))


def _safe_values(values: pd.Series | pd.Index) -> pd.Series | pd.Index | None:
    """``values`` with formula-like text escaped, or None when nothing needs it."""
    hits = formula_like(values)
    if not hits.any():
        return None
    objects = values.to_numpy(dtype=object, na_value=None).copy()
    objects[hits] = [safe_text(v) for v in objects[hits]]
    if isinstance(values, pd.Index):
        return pd.Index(objects, name=values.name, dtype=object)
    return pd.Series(objects, index=values.index, name=values.name, dtype=object)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` for a CSV file: formula-like text in values, column names and index labels
    escaped with :func:`safe_text`; numbers, dates and other text unchanged.

    The frame given is not modified; when nothing needs escaping it is returned as it is.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to write.

    Returns
    -------
    pandas.DataFrame
        The table with formula-like text escaped.

    Examples
    --------
    >>> table = pd.DataFrame({"=total": [1.5], "note": ["\\t=cmd"]})
    >>> safe_frame(table).to_dict("list")
    {"'=total": [1.5], 'note': ["'\\t=cmd"]}
    """
    out = df
    for position in range(len(df.columns)):
        escaped = _safe_values(df.iloc[:, position])
        if escaped is not None:
            if out is df:
                out = df.copy()
            out.isetitem(position, escaped)
    for axis in ("columns", "index"):
        labels = getattr(df, axis)
        if isinstance(labels, pd.MultiIndex):
            continue
        escaped = _safe_values(labels)
        if escaped is not None:
            if out is df:
                out = df.copy()
            setattr(out, axis, escaped)
    return out


def keep_as_text(cell: Any) -> None:
    """Make an openpyxl ``cell`` holding formula-like text a literal string cell.

    openpyxl reads a ``str`` starting with ``=`` as a formula; here the cell is written as a
    string (``t="inlineStr"``, no ``<f>``) with Excel's quote prefix, so it stays text even
    when edited. Other cells are left alone.

    Parameters
    ----------
    cell : openpyxl cell
        A worksheet cell.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> sheet = Workbook().active
    >>> sheet["A1"] = '=HYPERLINK("http://x","click")'
    >>> sheet["A1"].data_type
    'f'
    >>> keep_as_text(sheet["A1"])
    >>> sheet["A1"].data_type, sheet["A1"].quotePrefix, sheet["A1"].value
    ('s', True, '=HYPERLINK("http://x","click")')
    """
    if is_formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
