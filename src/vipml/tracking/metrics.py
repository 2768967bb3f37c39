"""Metrics and params as MLflow takes them: nested results flattened to finite numbers or
short text, and the better direction of a metric.

Examples
--------
>>> flatten_metrics({"churn": {"brier": 0.12}}), metric_direction("churn_brier")
({'churn_brier': 0.12}, 'min')
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

import pandas as pd

__all__ = ["flatten_metrics", "flatten_params", "param_text", "metric_direction", "btyd_metrics"]

MAX_PARAM_LENGTH = 6000
"""Longest param text logged; longer text is cut and ends with ``...``."""
_LOWER_IS_BETTER = ("brier", "loss", "error", "rmse", "mae", "mape", "deviance")


def flatten_metrics(metrics: Any, prefix: str = "", sep: str = "_") -> dict[str, float]:
    """Flatten nested metrics (mappings, pandas objects) into ``{name: finite float}``.

    Keys are joined with ``sep``; ``None``, text and non-finite values are left out (MLflow
    would show NaN as a value, which reads like a measurement).

    Parameters
    ----------
    metrics
        A number, a mapping (nested at will), a Series or a DataFrame (rows, then columns).
    prefix
        Name put before every key.
    sep
        Separator of the name parts.

    Returns
    -------
    dict of str to float
        Metric names (characters MLflow refuses replaced by ``_``) and their values.

    Examples
    --------
    >>> flatten_metrics({"future_vip": {"lightgbm": {"roc_auc": 0.81}, "n": 3}, "x": None})
    {'future_vip_lightgbm_roc_auc': 0.81, 'future_vip_n': 3.0}
    """
    out: dict[str, float] = {}

    def walk(name: str, value: Any) -> None:
        if isinstance(value, pd.DataFrame):
            value = {str(k): v for k, v in value.to_dict(orient="index").items()}
        elif isinstance(value, pd.Series):
            value = value.to_dict()
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"{name}{sep}{key}" if name else str(key), item)
            return
        if isinstance(value, bool) or value is None:
            return
        try:
            number = float(value)
        except (TypeError, ValueError):
            return
        if math.isfinite(number):
            out[_metric_key(name)] = number

    walk(prefix, metrics)
    return out


def _metric_key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / :`` and spaces; replace anything else."""
    return "".join(c if c.isalnum() or c in "_-./: " else "_" for c in name)


def metric_direction(metric: str) -> Literal["max", "min"]:
    """Whether a larger value of ``metric`` is better (``max``) or a smaller one (``min``).

    Errors, losses and Brier scores are minimised; everything else (AUC, average precision,
    lift, precision) is maximised.

    Parameters
    ----------
    metric
        The metric's name.

    Returns
    -------
    {'max', 'min'}
        The better direction.

    Examples
    --------
    >>> metric_direction("future_vip_average_precision"), metric_direction("churn_brier")
    ('max', 'min')
    """
    name = metric.lower()
    return "min" if any(word in name for word in _LOWER_IS_BETTER) else "max"


def btyd_metrics(btyd: Any) -> dict[str, float]:
    """BTYD parameters, log-likelihoods and penalizers of a fitted CLV model, as metrics.

    Parameters
    ----------
    btyd
        A :class:`~vipml.modeling.btyd.LifetimeValueModel` (its ``purchase_model_`` and
        ``gamma_gamma_``), a single fitted model (``params_``, ``log_likelihood_``), a mapping,
        or None.

    Returns
    -------
    dict of str to float
        ``r``, ``alpha``, ``a``, ``b``, ``log_likelihood``, ``gamma_gamma_p``, ... (empty for
        None).

    Examples
    --------
    >>> btyd_metrics({"r": 0.24, "alpha": 4.4})
    {'r': 0.24, 'alpha': 4.4}
    >>> btyd_metrics(None)
    {}
    """
    if btyd is None:
        return {}
    if isinstance(btyd, Mapping):
        return flatten_metrics(btyd)
    out: dict[str, float] = {}
    parts = [
        ("", btyd),
        ("", getattr(btyd, "purchase_model_", None)),
        ("gamma_gamma_", getattr(btyd, "gamma_gamma_", None)),
    ]
    for label, part in parts:
        if part is None:
            continue
        params = getattr(part, "params_", None)
        if isinstance(params, Mapping | pd.Series):
            out.update(flatten_metrics(dict(params), label.rstrip("_")))
        for attr in ("log_likelihood_", "penalizer_"):
            value = getattr(part, attr, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.update(flatten_metrics({label + attr.rstrip("_"): value}))
    return out


def flatten_params(data: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Nested mappings flattened to ``prefix.key.subkey`` (lists stay whole).

    Parameters
    ----------
    data
        The nested mapping.
    prefix
        Name put before every key.

    Returns
    -------
    dict
        Flat names and their values, as they were.

    Examples
    --------
    >>> flatten_params({"cutoffs": ["1997-06-30"], "rows": {"future_vip": 120}}, "training")
    {'training.cutoffs': ['1997-06-30'], 'training.rows.future_vip': 120}
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            out.update(flatten_params(value, name))
        else:
            out[name] = value
    return out


def param_text(value: Any) -> str:
    """A param or tag value as MLflow text: dates as ``YYYY-MM-DD`` (or ISO with a time), lists
    and dicts as JSON, at most :data:`MAX_PARAM_LENGTH` characters.

    Parameters
    ----------
    value
        The value.

    Returns
    -------
    str
        Its text.

    Examples
    --------
    >>> param_text(pd.Timestamp("1997-12-31")), param_text([91, 182]), param_text(0.5)
    ('1997-12-31', '[91, 182]', '0.5')
    """
    if isinstance(value, pd.Timestamp):
        text = value.isoformat() if value != value.normalize() else f"{value:%Y-%m-%d}"
    elif isinstance(value, list | tuple | dict):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."
