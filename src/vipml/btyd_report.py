"""BTYD model choice and the report of the ``btyd`` command: fit every purchase model on a
calibration window and compare them on a holdout.

This reads raw transactions (through :mod:`vipml.features`), so it sits above the modeling
layer.

Examples
--------
>>> from vipml.data.datasets import load_cdnow
>>> from vipml.features import calibration_holdout
>>> ch = calibration_holdout(load_cdnow(sample=True), "1997-09-30", "39W", features="btyd")
>>> compare_models(ch, models=("bgnbd",)).best
'bgnbd'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.errors import ConvergenceError
from vipml.features.build import calibration_holdout
from vipml.features.rfm import btyd_summary
from vipml.modeling.btyd import (
    DEFAULT_PENALIZERS,
    PURCHASE_MODELS,
    GammaGammaModel,
    PurchaseModel,
    PurchaseModelName,
    make_purchase_model,
)
from vipml.modeling.btyd.checks import check_columns
from vipml.units import PERIOD_DAYS

__all__ = ["ModelComparison", "compare_models", "fit_report"]


class ModelComparison(NamedTuple):
    """Holdout comparison of the purchase models.

    ``table`` has one row per model (index ``model``): ``log_likelihood``, the parameters,
    ``actual_purchases`` and ``predicted_purchases`` (holdout totals), ``aggregate_error``
    (predicted / actual - 1), ``mae`` (per customer), ``correlation`` (Pearson, per customer)
    and ``best``; ``best`` is the name of the model with the lowest per-customer MAE (ties:
    smallest absolute aggregate error); ``models`` holds the fitted models.

    Attributes
    ----------
    table
        The comparison, one row per model.
    best
        The best model's name.
    models
        The fitted models, by name.

    Examples
    --------
    >>> import pandas as pd
    >>> ModelComparison(pd.DataFrame(), "bgnbd", {}).best
    'bgnbd'
    """

    table: pd.DataFrame
    best: str
    models: dict[str, PurchaseModel]


def compare_models(
    cal_holdout: pd.DataFrame,
    models: Sequence[PurchaseModelName] = ("bgnbd", "pareto_nbd", "mbgnbd"),
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
) -> ModelComparison:
    """Fit each purchase model on the calibration columns and score it on the holdout.

    Parameters
    ----------
    cal_holdout
        One row per customer: ``frequency, recency, T`` (calibration, as ``btyd_summary``),
        ``frequency_holdout`` (repeat purchase periods in the holdout) and ``duration_holdout``
        (holdout length, in the unit of ``T``), as ``vipml.features.calibration_holdout``.
    models
        Names of the models to compare.
    penalizers
        Penalizer schedule of every fit.

    Returns
    -------
    ModelComparison
        ``(table, best, models)``: the comparison table, the best model's name (lowest
        per-customer MAE) and the fitted models. A model that does not converge is reported
        with its error in the ``error`` column and never chosen.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.features import calibration_holdout
    >>> ch = calibration_holdout(load_cdnow(sample=True), "1997-09-30", "39W", features="btyd")
    >>> result = compare_models(ch, models=("bgnbd", "mbgnbd"))
    >>> result.table[["actual_purchases", "predicted_purchases", "mae"]].round(1)
    ... # doctest: +NORMALIZE_WHITESPACE
            actual_purchases  predicted_purchases  mae
    model
    bgnbd             1882.0               1653.4  0.8
    mbgnbd            1882.0               1576.7  0.8
    >>> result.best
    'mbgnbd'
    """
    check_columns(
        cal_holdout,
        ("frequency", "recency", "T", "frequency_holdout", "duration_holdout"),
        "calibration/holdout",
    )
    actual = cal_holdout["frequency_holdout"].to_numpy(dtype=np.float64)
    duration = cal_holdout["duration_holdout"]
    rows = []
    fitted: dict[str, PurchaseModel] = {}
    for name in models:
        model = make_purchase_model(name, penalizers=penalizers)
        row: dict[str, Any] = {"model": name}
        try:
            model.fit(cal_holdout)
        except ConvergenceError as exc:
            row["error"] = str(exc)
            rows.append(row)
            continue
        fitted[name] = model
        predicted = model.expected_purchases(cal_holdout, duration.to_numpy()).to_numpy()
        with np.errstate(all="ignore"):
            corr = (
                float(np.corrcoef(predicted, actual)[0, 1])
                if len(actual) > 1 and actual.std() > 0 and predicted.std() > 0
                else float("nan")
            )
        row.update(
            log_likelihood=model.log_likelihood_,
            params=", ".join(f"{k}={v:.4g}" for k, v in model.params_.items()),
            penalizer=model.penalizer_,
            actual_purchases=float(actual.sum()),
            predicted_purchases=float(predicted.sum()),
            aggregate_error=float(predicted.sum() / actual.sum() - 1)
            if actual.sum() > 0
            else float("nan"),
            mae=float(np.mean(np.abs(predicted - actual))),
            correlation=corr,
            error="",
        )
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    if not fitted:
        raise ConvergenceError(
            f"no purchase model converged on {len(cal_holdout):,} customers with penalizers "
            f"{', '.join(f'{p:g}' for p in penalizers)}: "
            + "; ".join(str(e) for e in table.get("error", []))
        )
    ok = table.loc[list(fitted)]
    best = min(fitted, key=lambda n: (ok.at[n, "mae"], abs(ok.at[n, "aggregate_error"])))
    table["best"] = table.index == best
    columns = [
        "log_likelihood",
        "params",
        "penalizer",
        "actual_purchases",
        "predicted_purchases",
        "aggregate_error",
        "mae",
        "correlation",
        "best",
        "error",
    ]
    table = table.reindex(columns=columns)
    table["error"] = table["error"].fillna("")
    return ModelComparison(table, best, fitted)


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float | np.floating) and not math.isfinite(float(value)):
        return None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


def _uncertainty(model: Any) -> dict[str, Any]:
    """A fitted model's standard errors and 95% intervals, by parameter (None where NaN)."""
    se, ci = model.standard_errors_, model.confidence_intervals_
    bounds = {k: [float(ci.at[k, "lower"]), float(ci.at[k, "upper"])] for k in ci.index}
    return {
        "standard_errors": {k: _finite_or_none(float(v)) for k, v in se.items()},
        "intervals_95": {k: [_finite_or_none(v) for v in pair] for k, pair in bounds.items()},
    }


def fit_report(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
    config: Config | None = None,
) -> dict[str, Any]:
    """Fit BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma at ``cutoff``; compare on a holdout.

    Parameters
    ----------
    transactions
        Validated transactions.
    cutoff
        Last day of the calibration window (inclusive).
    holdout_end
        Last day of the holdout window; ``None`` or a date not after the cutoff: no holdout.
    config
        :class:`vipml.config.Config` (``btyd.freq``, ``btyd.time_unit``, ``btyd.penalizers``);
        defaults to purchases per day, time in weeks.

    Returns
    -------
    dict (JSON-able)
        ``{"models": {"bgnbd": {"params", "standard_errors", "intervals_95" (lower, upper on
        the log scale), "log_likelihood", "penalizer"}, "pareto_nbd": ...,
        "mbgnbd": ...}, "gamma_gamma": {...}, "holdout": [one record per model], "best":
        name or None}`` plus ``cutoff``, ``holdout_end``, ``freq``, ``time_unit``,
        ``customers`` and ``repeat_customers``. A model that does not converge has an
        ``error`` instead of parameters.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> report = fit_report(load_cdnow(sample=True), "1997-09-30")
    >>> report["best"], round(report["models"]["bgnbd"]["params"]["r"], 3)
    (None, 0.243)
    >>> round(report["models"]["bgnbd"]["standard_errors"]["r"], 3)
    0.013
    """
    config = config or Config()
    freq, time_unit, penalizers = config.btyd.freq, config.btyd.time_unit, config.btyd.penalizers
    cutoff = pd.Timestamp(cutoff).normalize()
    end = pd.Timestamp(holdout_end).normalize() if holdout_end is not None else None
    report: dict[str, Any] = {
        "cutoff": f"{cutoff:%Y-%m-%d}",
        "holdout_end": f"{end:%Y-%m-%d}" if end is not None and end > cutoff else None,
        "freq": freq,
        "time_unit": time_unit,
    }
    fitted: dict[str, PurchaseModel] = {}
    errors: dict[str, str] = {}
    if end is not None and end > cutoff:
        summary = calibration_holdout(
            transactions, cutoff, end - cutoff, config=config, features="btyd"
        )
        comparison = compare_models(summary, penalizers=penalizers)
        fitted = comparison.models
        errors = {
            name: comparison.table.at[name, "error"]
            for name in comparison.table.index
            if comparison.table.at[name, "error"]
        }
        holdout = comparison.table.drop(columns=["params", "error"]).reset_index()
        report["holdout"] = [
            {k: _finite_or_none(v) for k, v in row.items()} for row in holdout.to_dict("records")
        ]
        report["holdout_weeks"] = float(summary["duration_holdout"].max()) * (
            PERIOD_DAYS[time_unit] / 7.0
        )
        report["best"] = comparison.best
    else:
        summary = btyd_summary(transactions, cutoff, freq=freq, time_unit=time_unit)
        for name in PURCHASE_MODELS:
            try:
                fitted[name] = make_purchase_model(name, penalizers=penalizers).fit(summary)
            except ConvergenceError as exc:
                errors[name] = str(exc)
        report["holdout"] = []
        report["best"] = None
    report["customers"] = len(summary)
    report["repeat_customers"] = int((summary["frequency"] > 0).sum())
    report["models"] = {}
    for name in PURCHASE_MODELS:
        if name in fitted:
            model = fitted[name]
            report["models"][name] = {
                "params": dict(model.params_),
                **_uncertainty(model),
                "log_likelihood": model.log_likelihood_,
                "penalizer": model.penalizer_,
            }
        else:
            report["models"][name] = {"error": errors.get(name, "not fitted")}
    try:
        gg = GammaGammaModel(penalizers=penalizers).fit(summary)
        report["gamma_gamma"] = {
            "params": dict(gg.params_),
            **_uncertainty(gg),
            "log_likelihood": gg.log_likelihood_,
            "penalizer": gg.penalizer_,
            "customers": gg.n_customers_,
        }
    except ConvergenceError as exc:
        report["gamma_gamma"] = {"error": str(exc)}
    first = ("models", "gamma_gamma", "holdout", "best")
    return {**{k: report[k] for k in first}, **{k: v for k, v in report.items() if k not in first}}
