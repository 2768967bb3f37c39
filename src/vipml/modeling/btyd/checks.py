"""Checks of what the BTYD models read: summaries, horizons, saved parameters; and the
clipping of what they predict (never NaN, inf or negative).

Examples
--------
>>> import pandas as pd
>>> summary = pd.DataFrame({"frequency": [0, 2], "recency": [0.0, 5.0], "T": [9.0, 8.0]})
>>> [a.tolist() for a in history_arrays(summary)]
[[0.0, 2.0], [0.0, 5.0], [9.0, 8.0]]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vipml.data.problems import require_columns
from vipml.errors import InvalidArgumentError, ModelFormatError, SchemaError, format_examples

__all__ = [
    "BtydWarning",
    "DEFAULT_PENALIZERS",
    "FORMAT_VERSION",
    "check_columns",
    "float_column",
    "history_arrays",
    "check_time_unit",
    "clip_predictions",
    "horizons",
    "checked_params",
]

DEFAULT_PENALIZERS: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
"""Penalizers tried in turn until a fit converges to sane parameters."""
FORMAT_VERSION = 1
"""Version of the dictionaries written by the models' ``to_dict``."""


class BtydWarning(UserWarning):
    """A BTYD fit needed a penalizer, or predictions were clipped."""


def check_columns(summary: pd.DataFrame, columns: Sequence[str], table: str = "summary") -> None:
    """Raise :class:`~vipml.errors.SchemaError` unless ``summary`` is a frame with ``columns``.

    Parameters
    ----------
    summary
        The table to check.
    columns
        Columns it must have.
    table
        Name of the table in the error message.

    Examples
    --------
    >>> import pandas as pd
    >>> check_columns(pd.DataFrame({"frequency": [1]}), ["frequency", "T"])
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: summary: 1 problem found
      - missing column T (found: frequency): build the summary with \
vipml.features.rfm.btyd_summary(tx, cutoff)
    """
    if not isinstance(summary, pd.DataFrame):
        raise SchemaError(
            [f"expected a DataFrame (the BTYD summary), got {type(summary).__name__}"], table
        )
    require_columns(
        summary.columns,
        columns,
        table=table,
        fix="build the summary with vipml.features.rfm.btyd_summary(tx, cutoff)",
    )


def float_column(summary: pd.DataFrame, column: str, problems: list[str]) -> np.ndarray:
    """A column as floats; a problem is appended for values that are missing or negative.

    Parameters
    ----------
    summary
        The table.
    column
        The column to read.
    problems
        List the problems found are appended to (one line each).

    Returns
    -------
    numpy.ndarray
        The values (zeros when the column is not numeric).

    Examples
    --------
    >>> import pandas as pd
    >>> problems = []
    >>> float_column(pd.DataFrame({"T": [1, -2]}), "T", problems).tolist(), len(problems)
    ([1.0, -2.0], 1)
    """
    try:
        values = summary[column].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        problems.append(f"column {column} is not numeric: convert it to numbers")
        return np.zeros(len(summary))
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        problems.append(
            f"{column} is missing, infinite or negative for {int(bad.sum()):,} of "
            f"{len(values):,} customers (customer_id {format_examples(summary.index[bad])}): "
            "drop or fix those rows"
        )
    return values


def history_arrays(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked ``frequency, recency, T`` arrays of a BTYD summary.

    Parameters
    ----------
    summary
        One row per customer with ``frequency``, ``recency`` and ``T``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(frequency, recency, T)``; recency is capped at T (rounding).

    Examples
    --------
    >>> import pandas as pd
    >>> history_arrays(pd.DataFrame({"frequency": [1.5], "recency": [1.0], "T": [2.0]}))
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: summary: 1 problem found
      - frequency is not a whole number for 1 of 1 customers (customer_id 0): frequency \
counts repeat periods
    """
    check_columns(summary, ("frequency", "recency", "T"))
    if len(summary) == 0:
        raise SchemaError(["the summary has no customers: is the cutoff before the data?"])
    problems: list[str] = []
    x = float_column(summary, "frequency", problems)
    rec = float_column(summary, "recency", problems)
    T = float_column(summary, "T", problems)
    n = len(summary)
    ids = summary.index
    if not problems:
        not_int = x != np.round(x)
        if not_int.any():
            problems.append(
                f"frequency is not a whole number for {int(not_int.sum()):,} of {n:,} customers "
                f"(customer_id {format_examples(ids[not_int])}): frequency counts repeat periods"
            )
        late = rec > T * (1 + 1e-12) + 1e-12
        if late.any():
            problems.append(
                f"recency > T for {int(late.sum()):,} of {n:,} customers (customer_id "
                f"{format_examples(ids[late])}): is the cutoff before their last purchase?"
            )
        lone = (x == 0) & (rec > 0)
        if lone.any():
            problems.append(
                f"recency > 0 with frequency 0 for {int(lone.sum()):,} of {n:,} customers "
                f"(customer_id {format_examples(ids[lone])}): recency must be 0 without "
                "repeat purchases"
            )
    if problems:
        raise SchemaError(problems, "summary")
    return x, np.minimum(rec, T), T


def customer_weights(weights: Any, rows: int) -> np.ndarray | None:
    """Checked per-row customer counts of a summary whose rows stand for several customers
    (e.g. distinct histories with how many customers share each), or None.

    Parameters
    ----------
    weights
        None, or one whole number >= 0 per row.
    rows
        The summary's number of rows.

    Returns
    -------
    numpy.ndarray or None
        The counts as floats.

    Examples
    --------
    >>> customer_weights([3, 1], 2).tolist()
    [3.0, 1.0]
    >>> customer_weights([1.5], 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.InvalidArgumentError: weights: one whole number >= 0 per summary row ...
    """
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    bad = int((~np.isfinite(w) | (w < 0) | (w != np.round(w))).sum()) if len(w) else 0
    if len(w) != rows or bad:
        raise InvalidArgumentError(
            f"weights: one whole number >= 0 per summary row (customers with that history); "
            f"got {rows:,} row(s), {len(w):,} value(s), {bad:,} not whole or negative"
        )
    return w


def check_time_unit(T: np.ndarray, fitted_max_T: float | None) -> None:
    """Warn when T looks 7 times longer or shorter than at fit: days against weeks.

    Parameters
    ----------
    T
        The customers' ages in the summary being scored.
    fitted_max_T
        The largest age in the summary the model was fitted on (``None``: no check).

    Examples
    --------
    >>> import numpy as np
    >>> check_time_unit(np.array([10.0, 52.0]), 52.0)  # same unit: silent
    """
    if not fitted_max_T or not len(T) or T.max() <= 0:
        return
    ratio = float(T.max()) / fitted_max_T
    if 5 <= ratio <= 9 or 1 / 9 <= ratio <= 1 / 5:
        warnings.warn(
            f"T runs to {T.max():g} here but to {fitted_max_T:g} in the data the model was "
            f"fitted on ({ratio:.2g} times): are both summaries in the same time unit (days "
            "or weeks)? Build both with the same btyd_summary(..., time_unit=...)",
            BtydWarning,
            stacklevel=4,
        )


def clip_predictions(values: np.ndarray, what: str, upper: float | None = None) -> np.ndarray:
    """Replace NaN and negative values by 0 and +inf by the largest finite value; warn.

    Parameters
    ----------
    values
        Predictions.
    what
        Their name, for the warning.
    upper
        Values above it are clipped to it too (1 for probabilities).

    Returns
    -------
    numpy.ndarray
        The clipped values (the input itself when nothing needed clipping).

    Examples
    --------
    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     clip_predictions(np.array([0.5, np.nan, -1.0, np.inf]), "p").tolist()
    [0.5, 0.0, 0.0, 0.5]
    """
    values = np.asarray(values, dtype=np.float64)
    nan = np.isnan(values)
    neg = values < 0
    pos_inf = np.isposinf(values)
    over = values > upper if upper is not None else np.zeros(len(values), dtype=bool)
    n_bad = int(nan.sum() + neg.sum() + pos_inf.sum() + (over & ~pos_inf).sum())
    if n_bad == 0:
        return values
    values = values.copy()
    finite = values[np.isfinite(values)]
    values[nan | neg] = 0.0
    values[pos_inf] = finite.max() if len(finite) else 0.0
    if upper is not None:
        values = np.minimum(values, upper)
    warnings.warn(
        f"{what}: {n_bad:,} of {len(values):,} values were not finite or out of range "
        f"({int(nan.sum()):,} NaN, {int(neg.sum()):,} negative, {int(pos_inf.sum()):,} infinite) "
        "and were clipped",
        BtydWarning,
        stacklevel=3,
    )
    return values


def horizons(t: float | np.ndarray | pd.Series, summary: pd.DataFrame) -> np.ndarray | float:
    """A horizon: one number, or one per customer (a Series is aligned on the summary).

    Parameters
    ----------
    t
        One horizon, or one per customer.
    summary
        The customers.

    Returns
    -------
    float or numpy.ndarray
        One number when every customer has the same horizon, else one per customer.

    Examples
    --------
    >>> import pandas as pd
    >>> summary = pd.DataFrame(index=[1, 2])
    >>> horizons(pd.Series([4.0, 4.0], index=[2, 1]), summary)
    4.0
    """
    if isinstance(t, pd.Series):
        t = t.reindex(summary.index).to_numpy(dtype=np.float64)
    arr = np.asarray(t, dtype=np.float64)
    if arr.ndim == 0:
        value = float(arr)
        if not math.isfinite(value) or value < 0:
            raise InvalidArgumentError(f"the horizon t={t!r} must be a finite number >= 0")
        return value
    if arr.shape != (len(summary),):
        raise InvalidArgumentError(f"t has {arr.size} values for {len(summary)} customers")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidArgumentError("every horizon t must be a finite number >= 0")
    if len(arr) and (arr == arr[0]).all():
        return float(arr[0])
    return arr


def checked_params(d: Any, names: Sequence[str], what: str) -> dict[str, float]:
    """Saved parameters, checked: every name present, each a positive finite number.

    Parameters
    ----------
    d
        The saved parameters (a mapping).
    names
        The parameter names the model needs.
    what
        The model's name, for error messages.

    Returns
    -------
    dict
        ``{name: float}`` in the order of ``names``.

    Examples
    --------
    >>> checked_params({"p": 1, "q": "2.5"}, ["p", "q"], "Gamma-Gamma")
    {'p': 1.0, 'q': 2.5}
    """
    if not isinstance(d, Mapping):
        raise ModelFormatError(f"{what}: expected a mapping of parameters, got {type(d).__name__}")
    missing = [n for n in names if n not in d]
    if missing:
        raise ModelFormatError(
            f"{what}: missing parameter{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(expected {', '.join(names)}): the bundle is damaged or from another model"
        )
    out = {}
    for n in names:
        try:
            value = float(d[n])
        except (TypeError, ValueError):
            raise ModelFormatError(f"{what}: parameter {n}={d[n]!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise ModelFormatError(f"{what}: parameter {n}={value} must be a positive number")
        out[n] = value
    return out
