"""The safety net: the model's score rank-averaged with the rules a marketer already has.

Trees on totals and ages do not extrapolate when the scoring date sees more history than the
training windows did; the rules (12-month spend, BTYD expected spend, days since the last
purchase, BTYD P(no purchase)) drift less. The blend is the mean of the percentile ranks of the
model's probability and of the rules (:data:`BLEND_RULES`), each rank taken within its own
cutoff's population (:func:`reference_quantiles` of the population, :func:`percentile_rank`
against them). A blended score becomes a probability by quantile mapping: the model's
probability at the same rank in the population at the cutoff (:func:`fit_blend`), so the
probabilities keep the model's calibration and take the blend's order. Training chooses the weights
(:func:`choose_weights`: by default the model 0.75 and the rules share 0.25; when a rule beats
that blend on the validation rows, another candidate, down to a rule alone) and records them
and why in ``VipModel.training['blend']``.

Examples
--------
>>> q = reference_quantiles(np.array([1.0, 2.0, 3.0, 4.0]), points=5)
>>> percentile_rank(np.array([0.0, 2.5, 9.0]), q).tolist()
[0.0, 0.5, 1.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vipml.modeling.metrics import average_precision, roc_auc

__all__ = [
    "BLEND_RULES",
    "MODEL_COLUMN",
    "reference_quantiles",
    "percentile_rank",
    "blend_score",
    "fit_blend",
    "apply_blend",
    "blend_columns",
    "candidate_weights",
    "choose_weights",
]

#: The rules blended with the model, per target: (column of the model frame, sign).
BLEND_RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "future_vip": (("spend_12m", 1.0), ("expected_value", 1.0)),
    "churn": (("days_since_last", 1.0), ("p_no_purchase", 1.0)),
}
#: The name of the model's own score among the blended columns.
MODEL_COLUMN = "model"
#: Quantile points kept per column (JSON-able, small).
POINTS = 257
#: The most a probability moves to keep the blend's order through the model's flat quantiles.
TIE_BREAK = 1e-6


def reference_quantiles(values: np.ndarray, points: int = POINTS) -> list[float]:
    """Quantiles of a population's values, the reference of :func:`percentile_rank`.

    Parameters
    ----------
    values
        The population's values (NaN ignored).
    points
        How many evenly spaced quantiles to keep.

    Returns
    -------
    list of float
        Non-decreasing quantiles (empty without a finite value).

    Examples
    --------
    >>> reference_quantiles(np.array([3.0, 1.0, np.nan, 2.0]), points=3)
    [1.0, 2.0, 3.0]
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    return [float(x) for x in np.quantile(v, np.linspace(0.0, 1.0, points))]


def percentile_rank(values: np.ndarray, quantiles: Sequence[float]) -> np.ndarray:
    """The share of a reference population at or below each value (ties count half).

    Parameters
    ----------
    values
        Values to rank (NaN ranks 0.5).
    quantiles
        :func:`reference_quantiles` of the reference population.

    Returns
    -------
    numpy.ndarray
        Percentile ranks between 0 and 1.

    Examples
    --------
    >>> percentile_rank(np.array([1.0, np.nan]), [0.0, 1.0, 1.0, 2.0]).tolist()
    [0.5, 0.5]
    """
    v = np.asarray(values, dtype=np.float64)
    q = np.asarray(quantiles, dtype=np.float64)
    if q.size < 2:
        return np.full(len(v), 0.5)
    left = np.searchsorted(q, v, side="left")
    right = np.searchsorted(q, v, side="right")
    # position among the quantiles, mid-way through ties, scaled to [0, 1]
    mid = (left + right) / 2.0
    lo = np.clip(left - 1, 0, q.size - 1)
    hi = np.clip(right, 0, q.size - 1)
    # between two quantiles: interpolate linearly so close values get close ranks
    inside = (left == right) & (left > 0) & (left < q.size)
    span = q[hi] - q[lo]
    frac = np.divide(v - q[lo], span, out=np.full(len(v), 0.5), where=span > 0)
    pos = np.where(inside, lo + frac, mid - 0.5)
    out = np.clip(pos / (q.size - 1), 0.0, 1.0)
    return np.where(np.isnan(v), 0.5, out)


def blend_score(
    columns: Mapping[str, np.ndarray],
    references: Mapping[str, Sequence[float]],
    target: str,
    weights: Mapping[str, float],
) -> np.ndarray:
    """The weighted mean percentile rank of the model's score and of the target's rules.

    Parameters
    ----------
    columns
        ``MODEL_COLUMN`` (the model's probability) and the rule columns of ``target``.
    references
        :func:`reference_quantiles` of each of those columns in the population.
    target
        ``'future_vip'`` or ``'churn'``.
    weights
        Weight per column (summing to 1; a column left out weighs 0).

    Returns
    -------
    numpy.ndarray
        Blended scores between 0 and 1.

    Examples
    --------
    >>> cols = {"model": np.array([.1, .9]), "spend_12m": np.array([5., 1.]),
    ...     "expected_value": np.array([2., 3.])}
    >>> refs = {k: reference_quantiles(v) for k, v in cols.items()}
    >>> w = {"model": 0.5, "spend_12m": 0.25, "expected_value": 0.25}
    >>> blend_score(cols, refs, "future_vip", w).round(3).tolist()
    [0.25, 0.75]
    """
    signs = {MODEL_COLUMN: 1.0, **dict(BLEND_RULES[target])}
    out = np.zeros(len(columns[MODEL_COLUMN]))
    for column, weight in weights.items():
        if weight:
            rank = percentile_rank(columns[column], references[column])
            out = out + weight * (rank if signs[column] > 0 else 1.0 - rank)
    return out


def fit_blend(
    columns: Mapping[str, np.ndarray], target: str, weights: Mapping[str, float]
) -> dict[str, Any]:
    """The blend's state, from the blended columns of a population (everyone at the cutoff).

    The probability of a blended score is the model's probability at the same rank in that
    population (quantile mapping): ranks come from the blend, the level from the model. So in
    the population, the probabilities keep the model's calibration (the same mean, the same
    distribution) whatever the weights, while the order is the blend's. A calibration fitted on
    the validation rows instead ties a rank to the outcome rate of another population (the
    validation window's, younger): on CDNOW it put 1,466 of 2,267 VIPs at risk, against 306
    for the model.

    Parameters
    ----------
    columns
        The blended columns of the population (see :func:`blend_score`).
    target
        ``'future_vip'`` or ``'churn'``.
    weights
        The blend's weights (:func:`blend_score`).

    Returns
    -------
    dict
        JSON-able state: ``references`` (quantiles of each column), ``weights``,
        ``blend_quantiles`` and ``probability_quantiles`` (of the blended score and of the
        model's probability).

    Examples
    --------
    >>> cols = {"model": np.array([.1, .9, .5, .2]), "spend_12m": np.array([5., 9., 1., 0.]),
    ...     "expected_value": np.array([2., 3., 1., 0.])}
    >>> state = fit_blend(cols, "future_vip", {"model": 0.5, "spend_12m": 0.5})
    >>> sorted(state)
    ['blend_quantiles', 'probability_quantiles', 'references', 'weights']
    """
    references = {k: reference_quantiles(v) for k, v in columns.items()}
    score = blend_score(columns, references, target, weights)
    return {
        "references": references,
        "weights": {k: float(v) for k, v in weights.items()},
        "blend_quantiles": reference_quantiles(score),
        "probability_quantiles": reference_quantiles(columns[MODEL_COLUMN]),
    }


def apply_blend(
    state: Mapping[str, Any], columns: Mapping[str, np.ndarray], target: str
) -> np.ndarray:
    """The blend's probabilities for rows: each row's blended rank in the reference
    population, read as the model's probability at that rank (:func:`fit_blend`).

    Parameters
    ----------
    state
        :func:`fit_blend` output.
    columns
        The blended columns of the rows.
    target
        ``'future_vip'`` or ``'churn'``.

    Returns
    -------
    numpy.ndarray
        Probabilities: in the reference population, the same values as the model's, in the
        blend's order.

    Examples
    --------
    >>> cols = {"model": np.array([.1, .9, .3]), "spend_12m": np.array([9., 1., 5.]),
    ...     "expected_value": np.array([2., 3., 1.])}
    >>> state = fit_blend(cols, "future_vip", {"spend_12m": 1.0})
    >>> apply_blend(state, cols, "future_vip").round(2).tolist()
    [0.9, 0.1, 0.3]
    """
    score = blend_score(columns, state["references"], target, state["weights"])
    rank = percentile_rank(score, state["blend_quantiles"])
    levels = np.asarray(state["probability_quantiles"], dtype=np.float64)
    if levels.size == 0:
        return np.asarray(columns[MODEL_COLUMN], dtype=np.float64)
    p = np.interp(rank, np.linspace(0.0, 1.0, levels.size), levels)
    # trees give many customers the same probability, so the model's quantiles have flat runs
    # that would tie customers the blend tells apart: a step far below any calibration error
    # keeps the blend's order
    return np.clip(p + TIE_BREAK * (rank - 0.5), 0.0, 1.0)


def blend_columns(frame: Any, model_score: np.ndarray, target: str) -> dict[str, np.ndarray]:
    """The blended columns of rows: the model's score and the target's rule columns.

    Parameters
    ----------
    frame
        A model frame (a pandas DataFrame with the rule columns of :data:`BLEND_RULES`).
    model_score
        The model's probabilities for its rows.
    target
        ``'future_vip'`` or ``'churn'``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``MODEL_COLUMN`` and each rule column.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"days_since_last": [3.0], "p_no_purchase": [0.2]})
    >>> sorted(blend_columns(f, np.array([0.5]), "churn"))
    ['days_since_last', 'model', 'p_no_purchase']
    """
    out = {MODEL_COLUMN: np.asarray(model_score, dtype=np.float64)}
    for column, _ in BLEND_RULES[target]:
        out[column] = frame[column].to_numpy(dtype=np.float64)
    return out


def candidate_weights(target: str) -> dict[str, dict[str, float]]:
    """The blends tried, the default first: the model with the rules at 0.75, 0.5 and 1/3, the
    model alone, the rules rank-averaged and each rule alone.

    Parameters
    ----------
    target
        ``'future_vip'`` or ``'churn'``.

    Returns
    -------
    dict
        ``{name: weights}``.

    Examples
    --------
    >>> list(candidate_weights("churn"))  # doctest: +NORMALIZE_WHITESPACE
    ['model_0.75', 'model_0.50', 'model_0.33', 'model_alone', 'rules_rank_average',
     'days_since_last', 'p_no_purchase']
    """
    rules = [c for c, _ in BLEND_RULES[target]]
    out: dict[str, dict[str, float]] = {}
    for w in (0.75, 0.5, 1.0 / 3.0):
        out[f"model_{w:.2f}"] = {MODEL_COLUMN: w, **{c: (1.0 - w) / len(rules) for c in rules}}
    out["model_alone"] = {MODEL_COLUMN: 1.0}
    out["rules_rank_average"] = {c: 1.0 / len(rules) for c in rules}
    for c in rules:
        out[c] = {c: 1.0}
    return out


def choose_weights(
    y: np.ndarray, columns: Mapping[str, np.ndarray], target: str
) -> dict[str, Any]:
    """The blend kept, judged on rows the model did not train on: the candidate of
    :func:`candidate_weights` with the best ROC AUC + AP there (one criterion, not two: on few
    rows one metric often moves by noise), the earlier one on a tie, so the default blend is
    kept unless another candidate does better. A model that loses to a rule gives way to it.

    Parameters
    ----------
    y
        Outcomes of the rows judged.
    columns
        Their blended columns (:func:`blend_columns`).
    target
        ``'future_vip'`` or ``'churn'``.

    Returns
    -------
    dict
        ``name``, ``weights``, ``reason`` and ``metrics`` (``{candidate: [roc_auc, ap]}``).

    Examples
    --------
    >>> y = np.array([0, 1, 0, 1, 0, 1], bool)
    >>> cols = {"model": np.array([.1, .9, .2, .8, .3, .7]),
    ...     "spend_12m": np.array([1., 2., 3., 4., 5., 6.]), "expected_value": np.ones(6)}
    >>> choose_weights(y, cols, "future_vip")["name"]
    'model_0.75'
    """
    y = np.asarray(y, dtype=bool)
    references = {k: reference_quantiles(v) for k, v in columns.items()}
    candidates = candidate_weights(target)
    metrics = {}
    for name, weights in candidates.items():
        score = blend_score(columns, references, target, weights)
        metrics[name] = [roc_auc(y, score), average_precision(y, score)]
    total = {n: round(sum(m), 6) for n, m in metrics.items()}
    name = max(candidates, key=lambda n: total[n])  # max keeps the first of equals
    rules = ["rules_rank_average", *(c for c, _ in BLEND_RULES[target])]
    best_rule = max(rules, key=lambda n: total[n])
    reason = (
        f"the best ROC AUC + AP on the validation rows, {total[name]:.4f} (the best rule, "
        f"{best_rule}: {total[best_rule]:.4f})"
    )
    return {"name": name, "weights": candidates[name], "reason": reason, "metrics": metrics}
