"""Out-of-time evaluation: the models against the rules a marketer would use anyway.

A backtest trains with data up to a cutoff, predicts at the cutoff and judges the predictions on
what happened in ``(cutoff, cutoff + horizon]`` (:func:`vipml.pipeline.backtest` composes it;
this module holds the metrics and the result). Every score is judged by:

* ``roc_auc``: ROC AUC (ties count half);
* ``average_precision``: area under the precision-recall curve;
* ``precision_top_decile`` and ``lift_top_decile``: the share of positives among the 10% of
  customers with the highest scores, and that share over the base rate (ties at the decile
  boundary count in proportion, so a baseline with many equal scores is not helped or hurt by
  an arbitrary order);
* ``brier``: mean squared error of a probability. The models' probabilities are calibrated; a
  baseline score (a spend, a number of days) is mapped to a probability by isotonic regression
  fitted on the validation window (the latest training window), so all Brier scores compare
  like with like.

Baselines (:data:`BASELINES`): *future VIP*: past 12-month spend (``spend_12m``) and the BTYD
expected spend in the horizon (``btyd_expected_value``); *churn*: days since the last purchase
(``days_since_last``), ``1 - P(alive)`` (``btyd_1_minus_p_alive``) and the BTYD probability of no
purchase in the horizon (``btyd_p_no_purchase``). Churn is judged on the customers active at the
cutoff only (:func:`vipml.labels.churn_eligible`). One more rule per target, ``rank_average``
(:data:`RANK_AVERAGE_OF`), is the mean of the percentile ranks of two of those rules (*future
VIP*: 12-month spend and BTYD expected spend; *churn*: days since the last purchase and BTYD
P(no purchase)): a marketer's best simple combination, calibrated like the other rules.

*Discovery* (:func:`discovery_table`): ROC AUC and average precision of every future-VIP score
among the customers who are not VIPs at the cutoff (``vip_now`` false), the ones a marketer
does not already know about.

Examples
--------
>>> import numpy as np
>>> y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1], dtype=bool)
>>> s = np.array([.9, .8, .7, .1, .2, .3, .1, .2, .3, .4])
>>> m = score_metrics(y, s)
>>> round(m["roc_auc"], 3), m["precision_top_decile"], round(m["lift_top_decile"], 2)
(0.905, 1.0, 3.33)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from vipml.modeling.metrics import average_precision, roc_auc

__all__ = [
    "baseline_score",
    "rule_scores",
    "percentile_rank",
    "rank_average_score",
    "discovery_table",
    "RANK_AVERAGE",
    "RANK_AVERAGE_OF",
    "DISCOVERY_METRICS",
    "METRICS",
    "MODEL_NAME",
    "BASELINES",
    "TARGETS",
    "BacktestResult",
    "score_metrics",
    "top_share_precision",
    "lift_table",
    "calibration_table",
    "fit_isotonic",
    "apply_isotonic",
    "evaluate",
]

TARGETS = ("future_vip", "churn")
MODEL_NAME = "lightgbm"
METRICS = ("roc_auc", "average_precision", "precision_top_decile", "lift_top_decile", "brier")

#: Baselines per target: name -> (column of the scores table, sign; -1 means lower = riskier).
BASELINES: dict[str, dict[str, tuple[str, float]]] = {
    "future_vip": {
        "spend_12m": ("spend_12m", 1.0),
        "btyd_expected_value": ("expected_value", 1.0),
    },
    "churn": {
        "days_since_last": ("days_since_last", 1.0),
        "btyd_1_minus_p_alive": ("p_alive", -1.0),
        "btyd_p_no_purchase": ("p_no_purchase", 1.0),
    },
}
#: The name of the rank-average rule, a row of the backtest table next to :data:`BASELINES`.
RANK_AVERAGE = "rank_average"
#: Per target, the rules of :data:`BASELINES` whose percentile ranks ``rank_average`` averages.
RANK_AVERAGE_OF: dict[str, tuple[str, ...]] = {
    "future_vip": ("spend_12m", "btyd_expected_value"),
    "churn": ("days_since_last", "btyd_p_no_purchase"),
}
#: The metrics of the discovery table (:func:`discovery_table`).
DISCOVERY_METRICS = ("roc_auc", "average_precision")
#: The model's probability column in the scores table, per target.
PROBABILITY = {"future_vip": "p_future_vip", "churn": "p_churn"}


def top_share_precision(y: np.ndarray, score: np.ndarray, share: float = 0.1) -> float:
    """Share of positives among the top ``share`` of rows by score; ties shared in proportion.

    Parameters
    ----------
    y
        Outcomes.
    score
        Scores, higher for more likely positives.
    share
        The top share of rows.

    Returns
    -------
    float
        The precision in the top share (NaN without rows).

    Examples
    --------
    >>> top_share_precision(np.array([1, 0, 0, 0], bool), np.array([1., 1., 0., 0.]), 0.25)
    0.5
    """
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n = len(y)
    if n == 0:
        return float("nan")
    k = max(1, int(math.ceil(share * n - 1e-9)))
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    at = score == threshold
    room = k - int(above.sum())
    hits = float(y[above].sum()) + float(y[at].sum()) * room / max(int(at.sum()), 1)
    return hits / k


def _brier(y: np.ndarray, p: np.ndarray | None) -> float:
    if p is None:
        return float("nan")
    return float(np.mean((np.asarray(p, dtype=np.float64) - y) ** 2))


def score_metrics(
    y: np.ndarray, score: np.ndarray, probability: np.ndarray | None = None
) -> dict[str, float]:
    """Every metric of :data:`METRICS` for one score (``probability`` for the Brier score).

    Parameters
    ----------
    y
        Outcomes.
    score
        Scores, higher for more likely positives.
    probability
        Probabilities for the Brier score (NaN without).

    Returns
    -------
    dict
        ``{metric: value}``.

    Examples
    --------
    >>> m = score_metrics(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.2, 0.8]))
    >>> m["roc_auc"], m["brier"] != m["brier"]
    (1.0, True)
    """
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    base = float(y.mean()) if len(y) else float("nan")
    precision = top_share_precision(y, score)
    return {
        "roc_auc": roc_auc(y, score),
        "average_precision": average_precision(y, score),
        "precision_top_decile": precision,
        "lift_top_decile": precision / base if base > 0 else float("nan"),
        "brier": _brier(y, probability),
    }


def fit_isotonic(score: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """Isotonic map from a score to a probability, as JSON-able thresholds.

    Parameters
    ----------
    score
        Scores.
    y
        Outcomes.

    Returns
    -------
    dict
        ``{"x": thresholds, "y": probabilities}``.

    Examples
    --------
    >>> fit_isotonic(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 1]))
    {'x': [1.0, 2.0, 3.0], 'y': [0.0, 1.0, 1.0]}
    """
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(np.asarray(score, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()}


def apply_isotonic(mapping: Mapping[str, list[float]], score: np.ndarray) -> np.ndarray:
    """Apply :func:`fit_isotonic` output (linear between thresholds, clipped outside).

    Parameters
    ----------
    mapping
        The output of :func:`fit_isotonic`.
    score
        Scores.

    Returns
    -------
    numpy.ndarray
        Probabilities.

    Examples
    --------
    >>> apply_isotonic({"x": [1.0, 3.0], "y": [0.0, 1.0]}, np.array([0.0, 2.0])).tolist()
    [0.0, 0.5]
    """
    return np.interp(np.asarray(score, dtype=np.float64), mapping["x"], mapping["y"])


def lift_table(y: np.ndarray, score: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Customers split into ``bins`` equal groups by score (highest first): rate, lift, capture.

    Parameters
    ----------
    y
        Outcomes.
    score
        Scores.
    bins
        Groups.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group, customers, positives, positive_rate, lift,
        cumulative_capture``.

    Examples
    --------
    >>> t = lift_table(np.array([1, 1, 0, 0], bool), np.array([.9, .8, .2, .1]), bins=2)
    >>> t[["positive_rate", "lift", "cumulative_capture"]].values.tolist()
    [[1.0, 2.0, 1.0], [0.0, 0.0, 1.0]]
    """
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    order = np.lexsort((np.arange(len(y)), -score))
    groups = np.array_split(order, bins)
    base = y.mean() if len(y) else float("nan")
    total = max(int(y.sum()), 1)
    rows, captured = [], 0
    for i, idx in enumerate(groups, start=1):
        pos = int(y[idx].sum())
        captured += pos
        rate = pos / len(idx) if len(idx) else float("nan")
        rows.append(
            {
                "group": i,
                "customers": len(idx),
                "positives": pos,
                "positive_rate": rate,
                "lift": rate / base if base > 0 else float("nan"),
                "cumulative_capture": captured / total,
            }
        )
    return pd.DataFrame(rows)


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed rate, in ``bins`` equal-count groups.

    Parameters
    ----------
    y
        Outcomes.
    p
        Predicted probabilities.
    bins
        Groups.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``customers, predicted, observed``.

    Examples
    --------
    >>> calibration_table(np.array([0, 1]), np.array([0.2, 0.7]), bins=2).values.tolist()
    [[1.0, 0.2, 0.0], [1.0, 0.7, 1.0]]
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    rows = []
    for idx in np.array_split(order, bins):
        if len(idx):
            rows.append(
                {"customers": len(idx), "predicted": float(p[idx].mean()),
                 "observed": float(y[idx].mean())}
            )
    return pd.DataFrame(rows)


def baseline_score(frame: pd.DataFrame, column: str, sign: float) -> np.ndarray:
    """A baseline's score per row, higher = more likely (:data:`BASELINES` gives ``column``
    and ``sign``; a missing value ranks last).

    Parameters
    ----------
    frame
        The scores table.
    column
        The baseline's column.
    sign
        1, or -1 when a lower value means more likely.

    Returns
    -------
    numpy.ndarray
        The scores.

    Examples
    --------
    >>> baseline_score(pd.DataFrame({"p_alive": [0.9, 0.2, None]}), "p_alive", -1.0).tolist()
    [0.09999999999999998, 0.8, -inf]
    """
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    values = np.where(np.isfinite(values), values, -np.inf if sign > 0 else np.inf)
    return values if sign > 0 else 1.0 - values


def percentile_rank(score: np.ndarray) -> np.ndarray:
    """Percentile rank of each score in ``(0, 1]`` (ties share their mean rank).

    Parameters
    ----------
    score
        Scores (``-inf`` ranks lowest).

    Returns
    -------
    numpy.ndarray
        The ranks divided by the number of scores.

    Examples
    --------
    >>> percentile_rank(np.array([10.0, 30.0, 20.0, 20.0])).tolist()
    [0.25, 1.0, 0.625, 0.625]
    """
    values = pd.Series(np.asarray(score, dtype=np.float64))
    return values.rank(method="average", pct=True).to_numpy(dtype=np.float64)


def rank_average_score(frame: pd.DataFrame, target: str) -> np.ndarray:
    """The ``rank_average`` rule: the mean percentile rank of the rules of
    :data:`RANK_AVERAGE_OF` for ``target``, ranked among the rows of ``frame``.

    Parameters
    ----------
    frame
        The scores table (the rules' columns of :data:`BASELINES`).
    target
        ``future_vip`` or ``churn``.

    Returns
    -------
    numpy.ndarray
        One score per row, in ``(0, 1]``, higher = more likely.

    Examples
    --------
    >>> frame = pd.DataFrame({"spend_12m": [10.0, 20.0, 30.0, 40.0],
    ...                       "expected_value": [4.0, 3.0, 2.0, 1.0]})
    >>> rank_average_score(frame, "future_vip").tolist()
    [0.625, 0.625, 0.625, 0.625]
    """
    ranks = [
        percentile_rank(baseline_score(frame, *BASELINES[target][name]))
        for name in RANK_AVERAGE_OF[target]
    ]
    if not len(frame):
        return np.zeros(0, dtype=np.float64)
    return np.asarray(np.mean(ranks, axis=0), dtype=np.float64)


def rule_scores(frame: pd.DataFrame, target: str) -> dict[str, np.ndarray]:
    """Every rule's score for ``target``: the :data:`BASELINES`, then :data:`RANK_AVERAGE`.

    Parameters
    ----------
    frame
        The scores table.
    target
        ``future_vip`` or ``churn``.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{rule: scores}``, higher = more likely.

    Examples
    --------
    >>> frame = pd.DataFrame({"spend_12m": [1.0, 3.0], "expected_value": [1.0, 2.0]})
    >>> {k: v.tolist() for k, v in rule_scores(frame, "future_vip").items()}
    {'spend_12m': [1.0, 3.0], 'btyd_expected_value': [1.0, 2.0], 'rank_average': [0.5, 1.0]}
    """
    out = {
        name: baseline_score(frame, column, sign)
        for name, (column, sign) in BASELINES[target].items()
    }
    out[RANK_AVERAGE] = rank_average_score(frame, target)
    return out


def discovery_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Discovery: ROC AUC and average precision of every future-VIP score among the customers
    who are not VIPs at the cutoff (``vip_now`` false; the rules are ranked among them).

    Parameters
    ----------
    predictions
        Scores with the outcome ``future_vip`` and the flag ``vip_now``, one row per customer.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(target, score)`` (target ``future_vip``): :data:`DISCOVERY_METRICS`,
        ``customers`` (the non-VIPs) and ``positives`` (those who became VIPs).

    Examples
    --------
    >>> predictions = pd.DataFrame({
    ...     "p_future_vip": [0.9, 0.8, 0.1, 0.6, 0.2], "spend_12m": [900, 10, 400, 30, 5],
    ...     "expected_value": [50, 1, 20, 2, 1], "future_vip": [1, 1, 0, 1, 0],
    ...     "vip_now": [True, False, False, False, False]})
    >>> table = discovery_table(predictions)
    >>> table.loc[("future_vip", "lightgbm"), ["roc_auc", "customers", "positives"]].tolist()
    [1.0, 4.0, 2.0]
    """
    target = "future_vip"
    vip_now = predictions["vip_now"].fillna(False).to_numpy(dtype=bool)
    frame = predictions.loc[~vip_now]
    y = frame[target].fillna(False).to_numpy(dtype=bool)
    n, positives = len(y), int(y.sum())
    scores = {MODEL_NAME: frame[PROBABILITY[target]].to_numpy(dtype=np.float64)}
    scores.update(rule_scores(frame, target))
    rows = [
        {"target": target, "score": name, "roc_auc": roc_auc(y, score),
         "average_precision": average_precision(y, score), "customers": n,
         "positives": positives}
        for name, score in scores.items()
    ]
    return pd.DataFrame(rows).set_index(["target", "score"])


def evaluate(
    predictions: pd.DataFrame,
    baseline_maps: Mapping[str, Mapping[str, Mapping[str, list[float]]]] | None = None,
) -> pd.DataFrame:
    """The metrics table: one row per (target, score), one column per metric.

    ``predictions`` holds the scores table columns (``p_future_vip``, ``p_churn`` and the
    baseline columns of :data:`BASELINES`) with the outcomes ``future_vip``, ``churn`` and
    ``churn_eligible``. The scores are the model, each baseline and :data:`RANK_AVERAGE`
    (:func:`rule_scores`). ``baseline_maps[target][rule]`` are isotonic maps (for Brier).

    Parameters
    ----------
    predictions
        Scores and outcomes, one row per customer.
    baseline_maps
        Isotonic maps of the baselines, for their Brier score.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(target, score)``.

    Examples
    --------
    >>> predictions = pd.DataFrame({
    ...     "p_future_vip": [0.9, 0.1, 0.6, 0.2], "p_churn": [0.1, 0.8, 0.3, 0.7],
    ...     "spend_12m": [900, 10, 400, 30], "expected_value": [50, 1, 20, 2],
    ...     "days_since_last": [5, 300, 30, 200], "p_alive": [0.9, 0.2, 0.8, 0.3],
    ...     "p_no_purchase": [0.1, 0.9, 0.3, 0.8], "future_vip": [1, 0, 1, 0],
    ...     "churn": [0, 1, 0, 1], "churn_eligible": [1, 1, 1, 1]})
    >>> evaluate(predictions).loc[("future_vip", "lightgbm"), "roc_auc"]
    np.float64(1.0)
    """
    rows = []
    for target in TARGETS:
        frame = predictions
        if target == "churn" and "churn_eligible" in frame:
            frame = frame.loc[frame["churn_eligible"].to_numpy(dtype=bool)]
        y = frame[target].to_numpy(dtype=bool)
        p = frame[PROBABILITY[target]].to_numpy(dtype=np.float64)
        n, positives = len(y), int(y.sum())
        rows.append(
            {"target": target, "score": MODEL_NAME, **score_metrics(y, p, p),
             "customers": n, "positives": positives}
        )
        for name, score in rule_scores(frame, target).items():
            mapping = (baseline_maps or {}).get(target, {}).get(name)
            prob = apply_isotonic(mapping, score) if mapping else None
            rows.append(
                {"target": target, "score": name, **score_metrics(y, score, prob),
                 "customers": n, "positives": positives}
            )
    return pd.DataFrame(rows).set_index(["target", "score"])


def _four(value: float) -> str:
    return f"{value:.4f}"


def _finite(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass
class BacktestResult:
    """A backtest: the metrics table, the per-customer predictions and outcomes, and context.

    Attributes
    ----------
    table
        Indexed by ``(target, score)``: the model (``lightgbm``) and each baseline; columns
        :data:`METRICS`, ``customers`` and ``positives``.
    predictions
        One row per customer known at the cutoff: the scores table (probabilities, baseline
        columns, reasons) and the outcomes ``future_vip``, ``churn``, ``churn_eligible``,
        ``future_value``.
    cutoff, horizon
        The cutoff (data up to it trained the model) and the label horizon.
    info
        Training context: cutoffs used, rows, data fingerprint, validation metrics, and the
        predicted-VIP list check (``predicted_vip_list``).
    model
        The trained model, when kept.
    discovery
        :func:`discovery_table`: the future-VIP scores among the customers not VIPs at the
        cutoff (empty when not computed).

    Examples
    --------
    >>> table = pd.DataFrame({"roc_auc": [0.8, 0.6]}, index=pd.MultiIndex.from_tuples(
    ...     [("churn", "lightgbm"), ("churn", "days_since_last")], names=["target", "score"]))
    >>> result = BacktestResult(table, pd.DataFrame(), pd.Timestamp("2024-01-01"), "26W")
    >>> result.metrics()["churn"]["roc_auc"]
    0.8
    """

    table: pd.DataFrame
    predictions: pd.DataFrame
    cutoff: pd.Timestamp
    horizon: str
    info: dict[str, Any] = field(default_factory=dict)
    model: Any = None
    discovery: pd.DataFrame = field(default_factory=pd.DataFrame)

    def beats_baselines(
        self, metrics: tuple[str, ...] = ("roc_auc", "average_precision")
    ) -> dict[str, bool]:
        """Per target: does the model beat every baseline on every one of ``metrics``?"""
        out = {}
        for target in TARGETS:
            part = self.table.loc[target]
            model = part.loc[MODEL_NAME]
            others = part.drop(index=MODEL_NAME)
            out[target] = bool(all((model[m] > others[m]).all() for m in metrics))
        return out

    def metrics(self) -> dict[str, Any]:
        """Nested metrics: ``{target: {metric: value, 'baselines': {name: {metric: value}}}}``.

        Flattened with ``_`` (as MLflow logging does) the model's own read
        ``future_vip_average_precision``, the baselines ``future_vip_baselines_spend_12m_...``.
        With a discovery table, ``future_vip`` also holds ``discovery: {score: {metric:
        value}}`` (``future_vip_discovery_lightgbm_roc_auc``, ...).
        """
        out: dict[str, Any] = {}
        for (target, score), row in self.table.iterrows():
            values = {k: _finite(v) for k, v in row.items()}
            entry = out.setdefault(target, {"baselines": {}})
            if score == MODEL_NAME:
                entry.update(values)
            else:
                entry["baselines"][score] = values
        for (target, score), row in self.discovery.iterrows():
            entry = out.setdefault(target, {"baselines": {}})
            entry.setdefault("discovery", {})[score] = {k: _finite(v) for k, v in row.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: cutoff, horizon, metrics (with discovery), whether the model
        beats the baselines, and the predicted-VIP list check (``predicted_vip_list``:
        ``precision`` of the list against ``spend_12m_precision`` of as many top non-VIPs by
        12-month spend, and the non-VIPs' ``base_rate``)."""
        out = {
            "cutoff": f"{pd.Timestamp(self.cutoff):%Y-%m-%d}",
            "horizon": str(self.horizon),
            "metrics": self.metrics(),
            "beats_baselines": self.beats_baselines(),
            "info": json.loads(json.dumps(self.info, default=str)),
        }
        if "predicted_vip_list" in self.info:
            out["predicted_vip_list"] = {
                k: _finite(v) for k, v in self.info["predicted_vip_list"].items()
            }
        return out

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON (NaN written as null)."""
        return json.dumps(self.to_dict(), indent=2)

    def format_table(self) -> str:
        """The metrics table as aligned text, then the discovery table and the list check."""
        shown = self.table[list(METRICS) + ["customers", "positives"]].copy()
        text = shown.to_string(float_format=_four)
        if len(self.discovery):
            text += "\n\ndiscovery (customers not VIPs at the cutoff):\n"
            text += self.discovery.to_string(float_format=_four)
        check = self.info.get("predicted_vip_list")
        if check and check.get("customers"):
            text += (
                f"\n\npredicted-VIP list: {check['customers']} customers, precision "
                f"{check['precision']:.4f}; top non-VIPs by 12-month spend "
                f"{check['spend_12m_precision']:.4f}; all non-VIPs {check['base_rate']:.4f}"
            )
        return text

    def lift_table(self, target: str, bins: int = 10) -> pd.DataFrame:
        """:func:`lift_table` of the model's probability for ``target``."""
        frame = self.target_frame(target)
        return lift_table(frame[target].to_numpy(bool), frame[PROBABILITY[target]], bins)

    def calibration_table(self, target: str, bins: int = 10) -> pd.DataFrame:
        """:func:`calibration_table` of the model's probability for ``target``."""
        frame = self.target_frame(target)
        return calibration_table(frame[target].to_numpy(bool), frame[PROBABILITY[target]], bins)

    def target_frame(self, target: str) -> pd.DataFrame:
        """The predictions a target is scored on (churn: the customers eligible for it)."""
        frame = self.predictions
        if target == "churn" and "churn_eligible" in frame:
            frame = frame.loc[frame["churn_eligible"].to_numpy(dtype=bool)]
        return frame
