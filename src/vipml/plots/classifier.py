"""Backtest plots: the lift chart and the calibration curve of both classifiers.

Both take a :class:`vipml.modeling.backtest.BacktestResult` and return a matplotlib
:class:`~matplotlib.figure.Figure` with one panel per target (future VIP, churn); save it with
:func:`vipml.plots.save_figure` or embed it with :func:`vipml.plots.figure_to_data_uri`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from vipml.modeling.backtest import BacktestResult, evaluate
>>> rng = np.random.default_rng(0)
>>> n = 500
>>> pred = pd.DataFrame({"p_future_vip": rng.random(n), "p_churn": rng.random(n),
...     "spend_12m": rng.random(n), "expected_value": rng.random(n),
...     "days_since_last": rng.random(n), "p_alive": rng.random(n),
...     "p_no_purchase": rng.random(n), "churn_eligible": True})
>>> pred["future_vip"] = rng.random(n) < pred["p_future_vip"] * 0.3
>>> pred["churn"] = rng.random(n) < pred["p_churn"]
>>> result = BacktestResult(evaluate(pred), pred, pd.Timestamp("2024-01-01"), "26W")
>>> len(lift_chart(result).axes), len(calibration_curve(result).axes)
(2, 2)
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

import vipml.plots  # noqa: F401  (selects the headless backend)
from vipml.modeling.backtest import (
    BASELINES,
    PROBABILITY,
    TARGETS,
    BacktestResult,
    baseline_score,
    lift_table,
)

__all__ = ["lift_chart", "calibration_curve"]

_TITLES = {"future_vip": "future VIP", "churn": "churn (customers active at the cutoff)"}


def lift_chart(result: BacktestResult, bins: int = 10) -> Figure:
    """Lift per score decile (highest scores first): LightGBM bars, baseline lines.

    Parameters
    ----------
    result
        A backtest.
    bins
        Score groups.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per target.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from vipml.modeling.backtest import BacktestResult, evaluate
    >>> rng = np.random.default_rng(1)
    >>> pred = pd.DataFrame({c: rng.random(200) for c in ("p_future_vip", "p_churn",
    ...     "spend_12m", "expected_value", "days_since_last", "p_alive", "p_no_purchase")})
    >>> pred["future_vip"], pred["churn"] = pred["p_future_vip"] > 0.7, pred["p_churn"] > 0.5
    >>> result = BacktestResult(evaluate(pred), pred, pd.Timestamp("2024-01-01"), "26W")
    >>> lift_chart(result).axes[0].get_xlabel()
    'score decile (1 = highest scores)'
    """
    fig = Figure(figsize=(11, 4.2), dpi=110, layout="constrained")
    axes = fig.subplots(1, len(TARGETS))
    for ax, target in zip(np.atleast_1d(axes), TARGETS, strict=True):
        frame = result.target_frame(target)
        y = frame[target].to_numpy(dtype=bool)
        model = lift_table(y, frame[PROBABILITY[target]].to_numpy(dtype=np.float64), bins)
        groups = model["group"].to_numpy()
        ax.bar(groups, model["lift"], color="#2f6db5", alpha=0.85, label="LightGBM")
        for name, (column, sign) in BASELINES[target].items():
            table = lift_table(y, baseline_score(frame, column, sign), bins)
            ax.plot(groups, table["lift"], marker="o", linewidth=1.4, label=name)
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_xticks(groups)
        ax.set_xlabel("score decile (1 = highest scores)")
        ax.set_ylabel("lift (positive rate / base rate)")
        ax.set_title(f"{_TITLES[target]}: base rate {y.mean():.1%}")
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Lift chart, cutoff {result.cutoff:%Y-%m-%d}, horizon {result.horizon}", fontsize=11
    )
    return fig


def calibration_curve(result: BacktestResult, bins: int = 10) -> Figure:
    """Mean predicted probability against the observed rate, in equal-count groups.

    Parameters
    ----------
    result
        A backtest.
    bins
        Probability groups.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per target.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from vipml.modeling.backtest import BacktestResult, evaluate
    >>> rng = np.random.default_rng(1)
    >>> pred = pd.DataFrame({c: rng.random(200) for c in ("p_future_vip", "p_churn",
    ...     "spend_12m", "expected_value", "days_since_last", "p_alive", "p_no_purchase")})
    >>> pred["future_vip"], pred["churn"] = pred["p_future_vip"] > 0.7, pred["p_churn"] > 0.5
    >>> result = BacktestResult(evaluate(pred), pred, pd.Timestamp("2024-01-01"), "26W")
    >>> calibration_curve(result).axes[0].get_ylabel()
    'observed rate'
    """
    fig = Figure(figsize=(11, 4.2), dpi=110, layout="constrained")
    axes = fig.subplots(1, len(TARGETS))
    for ax, target in zip(np.atleast_1d(axes), TARGETS, strict=True):
        table = result.calibration_table(target, bins)
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--", label="perfect")
        ax.plot(table["predicted"], table["observed"], marker="o", color="#2f6db5",
                label="LightGBM (calibrated)")
        brier = result.table.loc[(target, "lightgbm"), "brier"]
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("predicted probability (group mean)")
        ax.set_ylabel("observed rate")
        ax.set_title(f"{_TITLES[target]}: Brier {brier:.4f}")
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(
        f"Calibration, cutoff {result.cutoff:%Y-%m-%d}, horizon {result.horizon}", fontsize=11
    )
    return fig
