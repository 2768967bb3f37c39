"""Calibration of a classifier's raw score into a probability: none (the logistic of the raw
score), isotonic, or sigmoid (Platt), as JSON-able state.

Examples
--------
>>> import numpy as np
>>> state = fit_calibration(np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0, 0, 1, 1]), "none")
>>> state, apply_calibration(state, np.array([0.0])).tolist()
({'method': 'none'}, [0.5])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["fit_calibration", "apply_calibration"]


def fit_calibration(raw: np.ndarray, y: np.ndarray, method: str) -> dict[str, Any]:
    """Fit a calibration of raw scores (log-odds) to the outcomes.

    Parameters
    ----------
    raw
        Raw scores (log-odds) of the calibration rows.
    y
        Their outcomes (0/1).
    method
        ``'none'``, ``'isotonic'`` or ``'sigmoid'``.

    Returns
    -------
    dict
        JSON-able state for :func:`apply_calibration`.

    Examples
    --------
    >>> import numpy as np
    >>> fit_calibration(np.array([-1.0, 0.0, 1.0]), np.array([0, 1, 1]), "isotonic")["method"]
    'isotonic'
    """
    if method == "none":
        return {"method": "none"}
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
        return {
            "method": "isotonic",
            "x": iso.X_thresholds_.tolist(),
            "y": iso.y_thresholds_.tolist(),
        }
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
    return {"method": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}


def apply_calibration(calibrator: Mapping[str, Any], raw: np.ndarray) -> np.ndarray:
    """Probabilities from raw scores with a fitted calibration.

    Parameters
    ----------
    calibrator
        The state :func:`fit_calibration` returned.
    raw
        Raw scores (log-odds).

    Returns
    -------
    numpy.ndarray
        Probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> apply_calibration({"method": "sigmoid", "a": 2.0, "b": 0.0}, np.array([0.0])).tolist()
    [0.5]
    """
    cal = calibrator
    if cal["method"] == "none":
        return 1.0 / (1.0 + np.exp(-raw))
    if cal["method"] == "isotonic":
        return np.interp(raw, np.asarray(cal["x"]), np.asarray(cal["y"]))
    z = cal["a"] * raw + cal["b"]
    return 1.0 / (1.0 + np.exp(-z))
