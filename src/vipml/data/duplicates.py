"""Rows that exactly repeat an earlier row: found cheaply, counted, dropped or warned about.

Examples
--------
>>> import pandas as pd
>>> raw = pd.DataFrame({"customer_id": [1, 1], "revenue": [5.0, 5.0]})
>>> duplicate_warning(raw)  # doctest: +ELLIPSIS
['1 of 2 rows are exact duplicates of another row: if they are not separate orders, ...']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.data.messages import DUPLICATES_WARNING

__all__ = ["duplicate_key", "duplicate_mask", "duplicate_count", "duplicate_warning"]


def duplicate_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The parsed columns whose hash finds candidate repeats cheaply: the timestamp and the
    amount, and the customer when its ids are numbers (hashing millions of text ids costs more
    than the few extra candidates it would rule out).

    Parameters
    ----------
    frame : pandas.DataFrame
        Parsed transactions.

    Returns
    -------
    pandas.DataFrame
        The key columns of ``frame`` (``frame`` itself when it has none of them).

    Examples
    --------
    >>> key = duplicate_key(pd.DataFrame({"customer_id": ["a"], "revenue": [1.0], "x": [0]}))
    >>> list(key.columns)
    ['revenue']
    """
    names = [c for c in ("timestamp", "revenue") if c in frame]
    if "customer_id" in frame and pd.api.types.is_numeric_dtype(frame["customer_id"]):
        names.insert(0, "customer_id")
    return frame[names] if names else frame


def duplicate_mask(frame: pd.DataFrame, key: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` that exactly repeat an earlier row.

    ``key`` holds parsed columns of the same rows (ids, timestamps, amounts): rows that repeat
    each other also repeat their key, so only rows whose key hash occurs twice are compared
    whole. Sorting one 64-bit hash per row is several times faster than hashing every column
    of every row (a hash collision only adds a candidate, it never changes the result).

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows as read.
    key : pandas.DataFrame
        Columns of the same rows (see :func:`duplicate_key`).

    Returns
    -------
    numpy.ndarray
        One boolean per row, True where the row repeats an earlier one.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": [1, 1, 2, 1], "note": ["a", "a", "a", "b"]})
    >>> duplicate_mask(raw, raw[["customer_id"]]).tolist()
    [False, True, False, False]
    """
    keys = pd.util.hash_pandas_object(key, index=False).to_numpy()
    ranked = np.sort(keys)
    repeated = ranked[1:][ranked[1:] == ranked[:-1]]
    out = np.zeros(len(frame), dtype=bool)
    if not len(repeated):
        return out
    repeat = pd.Series(keys).isin(repeated).to_numpy()
    hashes = pd.util.hash_pandas_object(frame.loc[repeat], index=False)
    out[repeat] = hashes.duplicated().to_numpy()
    return out


def duplicate_count(frame: pd.DataFrame, key: pd.DataFrame) -> int:
    """How many rows of ``frame`` exactly repeat an earlier row (see :func:`duplicate_mask`).

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows as read.
    key : pandas.DataFrame
        Columns of the same rows (see :func:`duplicate_key`).

    Returns
    -------
    int
        The number of repeats.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": [1, 1, 2, 1], "note": ["a", "a", "a", "b"]})
    >>> duplicate_count(raw, raw[["customer_id"]])
    1
    """
    return int(duplicate_mask(frame, key).sum())


def duplicate_warning(frame: pd.DataFrame, key: pd.DataFrame | None = None) -> list[str]:
    """The warning on exact repeats, as a list of zero or one line.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows as read.
    key : pandas.DataFrame, optional
        Columns of the same rows (see :func:`duplicate_key`); by default ``frame`` itself.

    Returns
    -------
    list of str
        The warning, or nothing when no row repeats (or the values cannot be hashed).

    Examples
    --------
    >>> duplicate_warning(pd.DataFrame({"a": [1, 2]}))
    []
    """
    try:
        n_dupes = duplicate_count(frame, frame if key is None or key.empty else key)
    except TypeError:  # unhashable values; other problems are reported already
        return []
    if not n_dupes:
        return []
    return [DUPLICATES_WARNING.format(repeats=n_dupes, rows=len(frame))]
