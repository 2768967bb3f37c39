"""Ranking metrics of a score against 0/1 outcomes.

Examples
--------
>>> import numpy as np
>>> roc_auc(np.array([0, 1]), np.array([0.2, 0.9]))
1.0
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = ["roc_auc", "average_precision"]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC (ties count half); NaN when only one class is present.

    Parameters
    ----------
    y
        Outcomes (0/1 or booleans).
    score
        Scores, higher for more likely positives.

    Returns
    -------
    float
        The area under the ROC curve.

    Examples
    --------
    >>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        return float("nan")
    return float(roc_auc_score(y, score))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve, step-wise); NaN without positives.

    Parameters
    ----------
    y
        Outcomes (0/1 or booleans).
    score
        Scores, higher for more likely positives.

    Returns
    -------
    float
        The average precision.

    Examples
    --------
    >>> round(average_precision(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])), 4)
    0.8333
    """
    y = np.asarray(y, dtype=bool)
    if not y.any():
        return float("nan")
    return float(average_precision_score(y, score))
