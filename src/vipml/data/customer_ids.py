"""Customer ids: checked once (none empty, text stripped, whole decimals as integers), and made
of one kind across tables so that they join.

Examples
--------
>>> import pandas as pd
>>> problems = []
>>> check_ids(pd.DataFrame({"customer_id": [13085.0, 12346.0]}), problems).tolist()
[13085, 12346]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.data.messages import EMPTY_ID, EMPTY_ID_FIX, WHOLE_IDS_NOTE
from vipml.data.problems import describe_rows

__all__ = ["empty_ids", "check_ids", "align_ids"]

_NUMBER_TYPES = (int, float, np.int64, np.float64)


def empty_ids(ids: pd.Series) -> np.ndarray:
    """Rows whose customer id is missing or blank.

    Parameters
    ----------
    ids : pandas.Series
        The customer ids as read.

    Returns
    -------
    numpy.ndarray
        One boolean per row, True where the id is missing or blank.

    Examples
    --------
    >>> empty_ids(pd.Series(["a", " ", None])).tolist()
    [False, True, True]
    """
    as_text = ids.astype("string").str.strip()
    return (ids.isna() | as_text.isna() | (as_text == "")).to_numpy(dtype=bool)


def check_ids(
    df: pd.DataFrame, problems: list[str], notes: list[str] | None = None
) -> pd.Series | None:
    """The customer ids of ``df``, checked: none empty; text ids stripped; decimal ids that are
    whole numbers (``13085.0``, as spreadsheets and Parquet exports with gaps store them) read
    as whole numbers, so the lists join back to the source.

    Parameters
    ----------
    df : pandas.DataFrame
        A table with the contract's column names.
    problems : list of str
        Problems found (empty ids) are appended here.
    notes : list of str, optional
        How the ids were read (whole decimals as integers) is appended here.

    Returns
    -------
    pandas.Series or None
        The ids, or None when ``df`` has no ``customer_id`` column.

    Examples
    --------
    >>> problems = []
    >>> check_ids(pd.DataFrame({"customer_id": [" 007", 12]}), problems).tolist()
    ['007', '12']
    >>> check_ids(pd.DataFrame({"customer_id": ["a", ""]}), problems) is not None, len(problems)
    (True, 1)
    """
    if "customer_id" not in df:
        return None
    ids = df["customer_id"]
    empty = empty_ids(ids)
    if empty.any():
        problems.append(
describe_rows("customer_id", EMPTY_ID, empty, ids, EMPTY_ID_FIX)
        )
    as_text = None
    if ids.dtype == object:
        kinds = ids[~empty].map(type).unique()
        if len(kinds) > 1 or (len(kinds) == 1 and kinds[0] not in _NUMBER_TYPES):
            as_text = True  # strings, or mixed ints and strings: compare as text
    elif pd.api.types.is_string_dtype(ids):
        as_text = True
    if as_text:
        return ids.astype("string").str.strip().astype(object)
    if pd.api.types.is_float_dtype(ids) and not empty.any():
        values = ids.to_numpy(dtype=np.float64)
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
        if len(values) and whole.all():
            if notes is not None:
                notes.append(
                    WHOLE_IDS_NOTE.format(value=float(values[0]), whole=int(values[0]))
                )
            return pd.Series(values.astype(np.int64), index=ids.index, name=ids.name)
    return ids


def align_ids(table: pd.DataFrame | None, reference: pd.Series) -> pd.DataFrame | None:
    """``table`` with its ``customer_id`` of the same kind as ``reference`` (the transactions'
    ids), so that the tables join: a customers CSV read as text (``'12346'``) against integer
    ids from Parquet, or the other way round. Text ids that are not plain integers (``'007'``)
    stay text and match no integer id. ``None`` stays ``None``.

    Parameters
    ----------
    table : pandas.DataFrame or None
        A table with a ``customer_id`` column (customers, events, attributes).
    reference : pandas.Series
        The ids it must join with.

    Returns
    -------
    pandas.DataFrame or None
        ``table`` with its ids converted where needed (the same object when nothing changes).

    Examples
    --------
    >>> people = pd.DataFrame({"customer_id": ["12346", "007"], "region": ["N", "S"]})
    >>> align_ids(people, pd.Series([12346, 12347]))["customer_id"].tolist()
    [12346, '007']
    >>> align_ids(pd.DataFrame({"customer_id": [7]}), pd.Series(["7", "x"]))["customer_id"].tolist()
    ['7']
    """
    if table is None or "customer_id" not in table or not len(table):
        return table
    ids, like = table["customer_id"], reference
    integer = pd.api.types.is_integer_dtype
    if integer(like.dtype) and not integer(ids.dtype):
        text = ids.astype("string").str.strip()
        plain = text.str.fullmatch(r"-?(?:0|[1-9]\d{0,17})").fillna(False).to_numpy(dtype=bool)
        if not plain.any():
            return table
        values = ids.astype(object).to_numpy(copy=True)
        values[plain] = text[plain].astype("int64").to_numpy()
        aligned = pd.Series(values, index=ids.index, name=ids.name)
        if plain.all():
            aligned = aligned.astype("int64")
        return table.assign(customer_id=aligned)
    if not integer(like.dtype) and integer(ids.dtype):
        return table.assign(customer_id=ids.astype(str).astype(object))
    return table
