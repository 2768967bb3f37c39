"""How a data problem is described: column, rows at fault, example values, fix.

Every data check (the contract in :mod:`vipml.data.schema`, the date reader in
:mod:`vipml.data.dates`) writes its problems with :func:`describe_rows`, so messages look the same
wherever they come from.

Examples
--------
>>> import numpy as np, pandas as pd
>>> values = pd.Series(["a", "b", "c"])
>>> describe_rows("revenue", "not a number", np.array([True, False, True]), values, "fix it")
"revenue: not a number in 2 of 3 rows (rows 1, 3; values 'a', 'c'): fix it"
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.errors import format_examples

__all__ = ["data_rows", "describe_rows"]


def data_rows(mask: np.ndarray, index: pd.Index | None = None) -> np.ndarray:
    """1-based data row numbers where ``mask`` holds (the header not counted).

    With an integer ``index`` (a table whose index counts its rows from 0, as the checks
    make it, some rows perhaps dropped by a policy), the numbers are the index labels + 1, so
    they still point at the file's rows; otherwise they are positions + 1.
    """
    if index is not None and pd.api.types.is_integer_dtype(index.dtype):
        return np.asarray(index)[mask] + 1
    return np.flatnonzero(mask) + 1


def describe_rows(column: str, what: str, mask: np.ndarray, values: pd.Series, fix: str) -> str:
    """One problem line: the column, how many rows, up to five example rows and values, the fix.

    Rows are numbered as :func:`data_rows` does with the index of ``values``.
    """
    n_bad, n = int(mask.sum()), len(mask)
    rows = data_rows(mask, values.index)
    examples = [repr(v) for v in values[mask].head(5).tolist()]
    return (
        f"{column}: {what} in {n_bad:,} of {n:,} rows (rows {format_examples(rows)}; "
        f"values {format_examples(examples)}): {fix}"
    )
