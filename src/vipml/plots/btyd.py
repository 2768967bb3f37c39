"""Plots of the BTYD purchase models: the diagnostic figures of Fader, Hardie & Lee (2005).

* :func:`calibration_holdout_figure`: mean holdout purchases, actual and predicted, by the
  number of repeat purchases in the calibration window (the paper's conditional expectations);
* :func:`frequency_recency_figure`: expected purchases in the next ``t`` by frequency and
  recency, for customers of full age;
* :func:`p_alive_figure`: P(alive) by frequency and recency;
* :func:`cumulative_purchases_figure`: cumulative repeat purchases over time, actual against
  the model's prediction for the calibration cohort (the paper's tracking plot).

Each returns a :class:`matplotlib.figure.Figure` (not registered with pyplot); the numbers
behind the first and last come from :func:`calibration_holdout_table` and
:func:`cumulative_purchases`, and the matrices from :func:`model_matrix`.

Examples
--------
>>> from vipml.data.datasets import load_cdnow
>>> from vipml.features.rfm import btyd_summary
>>> from vipml.modeling.btyd import BetaGeoModel
>>> s = btyd_summary(load_cdnow(sample=True), "1997-09-30", freq="D", time_unit="W")
>>> fig = p_alive_figure(BetaGeoModel().fit(s), s)
>>> fig.axes[0].get_title()
'P(alive) by frequency and recency (BG/NBD)'
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vipml.errors import InvalidArgumentError
from vipml.features.rfm import day_numbers, period_start, purchases_only
from vipml.modeling.btyd import HistoryGrid, PurchaseModel
from vipml.modeling.params import check_is_fitted
from vipml.units import PERIOD_DAYS

__all__ = [
    "calibration_holdout_table",
    "calibration_holdout_figure",
    "model_matrix",
    "frequency_recency_figure",
    "p_alive_figure",
    "cumulative_purchases",
    "cumulative_purchases_figure",
]

_UNIT_NAMES = {"D": "days", "W": "weeks"}
_ACTUAL, _MODEL = "#333333", "#2a7ab0"


def _figure(width: float = 7.0, height: float = 4.5) -> Figure:
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def calibration_holdout_table(
    model: PurchaseModel, cal_holdout: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean holdout repeat purchases, actual and predicted, by calibration frequency.

    ``cal_holdout`` as :func:`vipml.features.calibration_holdout` (``frequency, recency, T,
    frequency_holdout, duration_holdout``). Frequencies above ``max_frequency`` are pooled in
    the last row.

    Parameters
    ----------
    model
        A fitted purchase model.
    cal_holdout
        Calibration summary with the holdout outcomes.
    max_frequency
        Frequencies from this one up are pooled.

    Returns
    -------
    pandas.DataFrame
        Columns ``customers, actual, predicted`` indexed by ``frequency``.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 20.0, 30.0],
    ...                   "T": [38.0, 38.0, 38.0], "frequency_holdout": [0, 1, 3],
    ...                   "duration_holdout": [39.0, 39.0, 39.0]})
    >>> calibration_holdout_table(model, s)["customers"].tolist()
    [1, 1, 1]
    """
    predicted = model.expected_purchases(
        cal_holdout, cal_holdout["duration_holdout"].to_numpy(dtype=np.float64)
    )
    group = np.minimum(cal_holdout["frequency"].to_numpy(), max_frequency).astype(int)
    frame = pd.DataFrame(
        {
            "frequency": group,
            "actual": cal_holdout["frequency_holdout"].to_numpy(dtype=np.float64),
            "predicted": predicted.to_numpy(),
        }
    )
    table = frame.groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    return table


def calibration_holdout_figure(
    model: PurchaseModel,
    cal_holdout: pd.DataFrame,
    max_frequency: int = 7,
    time_unit: Literal["D", "W"] = "W",
) -> Figure:
    """Actual and predicted mean holdout purchases by calibration frequency.

    Parameters
    ----------
    model
        A fitted purchase model.
    cal_holdout
        Calibration summary with the holdout outcomes (as :func:`calibration_holdout_table`).
    max_frequency
        Frequencies from this one up are pooled.
    time_unit
        Unit of ``duration_holdout``, for the axis label.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 20.0, 30.0],
    ...                   "T": [38.0, 38.0, 38.0], "frequency_holdout": [0, 1, 3],
    ...                   "duration_holdout": [39.0, 39.0, 39.0]})
    >>> calibration_holdout_figure(model, s).axes[0].get_xlabel()
    'repeat purchases in the calibration period'
    """
    table = calibration_holdout_table(model, cal_holdout, max_frequency)
    fig = _figure()
    ax = fig.add_subplot()
    labels = [str(f) for f in table.index]
    if len(labels) and table.index[-1] == max_frequency:
        labels[-1] = f"{max_frequency}+"
    pos = np.arange(len(table))
    ax.plot(pos, table["actual"], "o-", color=_ACTUAL, label="actual")
    ax.plot(pos, table["predicted"], "s--", color=_MODEL, label=f"{model.label} prediction")
    ax.set_xticks(pos, labels)
    length = cal_holdout["duration_holdout"].median()
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel(f"mean repeat purchases in the holdout ({length:g} {_UNIT_NAMES[time_unit]})")
    ax.set_title(f"Calibration vs holdout purchases ({model.label})")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def model_matrix(
    model: PurchaseModel,
    summary: pd.DataFrame,
    kind: Literal["p_alive", "expected_purchases"] = "p_alive",
    t: float = 1.0,
    max_frequency: int | None = None,
    max_recency: float | None = None,
) -> pd.DataFrame:
    """P(alive) or expected purchases in ``t`` on a grid of frequency and recency.

    Customers are of full age (``T`` = the largest ``T`` of the summary, or ``max_recency``);
    recency runs over whole time units from 0 to ``T``, frequency from 0 to the largest
    observed (at most 40). Cells with frequency 0 and recency > 0 cannot occur and are NaN.

    Parameters
    ----------
    model
        A fitted purchase model.
    summary
        The BTYD summary the ranges come from.
    kind
        ``'p_alive'`` or ``'expected_purchases'``.
    t
        Horizon of the expected purchases.
    max_frequency, max_recency
        Ranges of the grid (default: from the summary).

    Returns
    -------
    pandas.DataFrame
        Rows: recency; columns: frequency.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 20.0, 30.0],
    ...                   "T": [38.0, 38.0, 38.0], "frequency_holdout": [0, 1, 3],
    ...                   "duration_holdout": [39.0, 39.0, 39.0]})
    >>> model_matrix(model, s, max_frequency=2, max_recency=3).shape
    (4, 3)
    """
    check_is_fitted(model, "params_")
    T = float(max_recency if max_recency is not None else summary["T"].max())
    if max_frequency is None:
        max_frequency = int(min(summary["frequency"].max(), 40))
    freqs = np.arange(max_frequency + 1, dtype=np.float64)
    recs = np.arange(int(np.floor(T)) + 1, dtype=np.float64)
    x, rec = (a.ravel() for a in np.meshgrid(freqs, recs))
    grid = HistoryGrid(x, rec, np.full(len(x), T), compress=False)
    with np.errstate(all="ignore"):
        if kind == "p_alive":
            values = model._p_alive(grid)
        elif kind == "expected_purchases":
            values = model._cond_expected(grid, float(t))
        else:
            raise InvalidArgumentError(
                f"kind {kind!r} is not one of 'p_alive', 'expected_purchases'"
            )
    values = np.where((x == 0) & (rec > 0), np.nan, values)
    return pd.DataFrame(
        values.reshape(len(recs), len(freqs)),
        index=pd.Index(recs, name="recency"),
        columns=pd.Index(freqs.astype(int), name="frequency"),
    )


def _matrix_figure(matrix: pd.DataFrame, title: str, label: str, cmap: str) -> Figure:
    fig = _figure(7.0, 5.5)
    ax = fig.add_subplot()
    image = ax.imshow(
        matrix.to_numpy(),
        origin="lower",
        aspect="auto",
        cmap=cmap,
        interpolation="nearest",
        extent=(-0.5, matrix.shape[1] - 0.5, -0.5, matrix.shape[0] - 0.5),
    )
    fig.colorbar(image, ax=ax, label=label)
    ax.set_xlabel("frequency (repeat purchases)")
    ax.set_ylabel("recency (age at the last purchase)")
    ax.set_title(title)
    return fig


def frequency_recency_figure(
    model: PurchaseModel,
    summary: pd.DataFrame,
    t: float = 1.0,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    time_unit: Literal["D", "W"] = "W",
) -> Figure:
    """Heat map of expected purchases in the next ``t`` by frequency and recency.

    Parameters
    ----------
    model
        A fitted purchase model.
    summary
        The BTYD summary the ranges come from.
    t
        Horizon, in ``time_unit``.
    max_frequency, max_recency
        Ranges of the grid (default: from the summary).
    time_unit
        Unit of the summary, for the title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 20.0, 30.0],
    ...                   "T": [38.0, 38.0, 38.0], "frequency_holdout": [0, 1, 3],
    ...                   "duration_holdout": [39.0, 39.0, 39.0]})
    >>> frequency_recency_figure(model, s, t=4).axes[0].get_title()
    'Expected purchases in the next 4 weeks (BG/NBD)'
    """
    matrix = model_matrix(model, summary, "expected_purchases", t, max_frequency, max_recency)
    unit = _UNIT_NAMES[time_unit] if t != 1 else _UNIT_NAMES[time_unit][:-1]
    return _matrix_figure(
        matrix,
        f"Expected purchases in the next {t:g} {unit} ({model.label})",
        "expected purchases",
        "viridis",
    )


def p_alive_figure(
    model: PurchaseModel,
    summary: pd.DataFrame,
    max_frequency: int | None = None,
    max_recency: float | None = None,
) -> Figure:
    """Heat map of P(alive) by frequency and recency.

    Parameters
    ----------
    model
        A fitted purchase model.
    summary
        The BTYD summary the ranges come from.
    max_frequency, max_recency
        Ranges of the grid (default: from the summary).

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> s = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 20.0, 30.0],
    ...                   "T": [38.0, 38.0, 38.0], "frequency_holdout": [0, 1, 3],
    ...                   "duration_holdout": [39.0, 39.0, 39.0]})
    >>> p_alive_figure(model, s).axes[0].get_xlabel()
    'frequency (repeat purchases)'
    """
    matrix = model_matrix(model, summary, "p_alive", 1.0, max_frequency, max_recency)
    return _matrix_figure(
        matrix, f"P(alive) by frequency and recency ({model.label})", "P(alive)", "RdYlGn"
    )


def cumulative_purchases(
    model: PurchaseModel,
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    end: str | pd.Timestamp | None = None,
    freq: Literal["D", "W"] = "D",
    time_unit: Literal["D", "W"] = "W",
) -> pd.DataFrame:
    """Cumulative repeat purchases of the calibration cohort, actual and predicted, by day.

    The cohort is every customer whose first purchase is on or before ``cutoff``; a repeat
    purchase is a purchase period (``freq``) after the customer's first, as in the BTYD
    summary. The prediction on day ``d`` is ``sum_i E[N(d - first_i)]`` (the model's expected
    repeat purchases of a new customer, in ``time_unit``), so it is a forecast after the cutoff
    and a fit before it.

    Parameters
    ----------
    model
        A fitted purchase model.
    transactions
        Validated transactions.
    cutoff
        End of the calibration window.
    end
        Last day shown (default: the last transaction).
    freq
        Purchase period (``'D'``: a day with purchases counts once).
    time_unit
        Time unit of the model.

    Returns
    -------
    pandas.DataFrame
        Columns ``actual, predicted`` indexed by date.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 2], "revenue": [10.0] * 5,
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05",
    ...                                  "2024-01-20", "2024-03-01"])})
    >>> table = cumulative_purchases(model, tx, "2024-01-31")
    >>> len(table), float(table["actual"].iloc[-1])
    (61, 3.0)
    """
    check_is_fitted(model, "params_")
    cutoff = pd.Timestamp(cutoff).normalize()
    end = pd.Timestamp(end if end is not None else transactions["timestamp"].max()).normalize()
    tx = purchases_only(transactions, end)
    codes, _ = pd.factorize(tx["customer_id"])
    period = period_start(day_numbers(tx["timestamp"]), freq)
    first = np.full(codes.max() + 1 if len(codes) else 0, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, period)
    cutoff_day = int(day_numbers(np.array([cutoff]))[0])
    end_day = int(day_numbers(np.array([end]))[0])
    cohort = first <= cutoff_day
    if not cohort.any():
        raise InvalidArgumentError(
            f"no customer made a first purchase on or before {cutoff:%Y-%m-%d}"
        )
    start = int(first[cohort].min())
    days = end_day - start + 1
    # distinct (customer, period) purchases after the customer's first period
    offset = period - start
    span = int(offset.max()) + 1
    key = np.unique(codes.astype(np.int64) * span + offset)
    customer, offset = key // span, key % span
    repeat = cohort[customer] & (offset + start > first[customer])
    actual = np.cumsum(np.bincount(offset[repeat], minlength=days)[:days])
    births = np.bincount(first[cohort] - start, minlength=days)[:days].astype(np.float64)
    lags = np.arange(days, dtype=np.float64) / PERIOD_DAYS[time_unit]
    expected = model.expected_purchases_new(lags)
    predicted = np.convolve(births, expected)[:days]
    index = pd.date_range(pd.Timestamp(start, unit="D"), periods=days, freq="D", name="date")
    return pd.DataFrame({"actual": actual.astype(np.float64), "predicted": predicted}, index=index)


def cumulative_purchases_figure(
    model: PurchaseModel,
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    end: str | pd.Timestamp | None = None,
    freq: Literal["D", "W"] = "D",
    time_unit: Literal["D", "W"] = "W",
) -> Figure:
    """Cumulative repeat purchases over time, actual against predicted, cutoff marked.

    Parameters
    ----------
    model
        A fitted purchase model.
    transactions
        Validated transactions.
    cutoff
        End of the calibration window.
    end
        Last day shown (default: the last transaction).
    freq
        Purchase period.
    time_unit
        Time unit of the model.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.

    Examples
    --------
    >>> from vipml.modeling.btyd import model_from_dict
    >>> model = model_from_dict({"model": "bgnbd", "format_version": 1,
    ...     "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}})
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2, 2, 2], "revenue": [10.0] * 5,
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05",
    ...                                  "2024-01-20", "2024-03-01"])})
    >>> cumulative_purchases_figure(model, tx, "2024-01-31").axes[0].get_ylabel()
    'cumulative repeat purchases'
    """
    table = cumulative_purchases(model, transactions, cutoff, end, freq, time_unit)
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    ax.plot(table.index, table["actual"], color=_ACTUAL, label="actual")
    ax.plot(table.index, table["predicted"], "--", color=_MODEL, label=f"{model.label}")
    ax.axvline(pd.Timestamp(cutoff), color="#999999", linestyle=":", label="end of calibration")
    ax.set_xlabel("date")
    ax.set_ylabel("cumulative repeat purchases")
    ax.set_title(f"Tracking cumulative repeat purchases ({model.label})")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig
