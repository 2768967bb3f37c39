"""train(), score() and backtest(): the one place that composes the steps.

**Training** (:func:`train`) at cutoff ``C`` with horizon ``H`` reads only transactions on or
before ``C``. It stacks *historical cutoffs* ``c_k = C - H - k * step`` (``k = 0, 1, ...``;
``config.training.cutoff_step``, at most ``max_cutoffs``, each with at least
``min_history_days`` of data before it), so the latest label window ends exactly at ``C``. For
each ``c_k``: the features, a BTYD model fitted on the data up to ``c_k`` and its predictions,
and the labels from ``(c_k, c_k + H]``. The latest window (``k = 0``) is the validation window:
early stopping and probability calibration happen there; the older windows train. Nothing is
shuffled across time. The label windows overlap (a 26-week window every 4 weeks), so the same
customer's future would sit in both the training and the validation labels, and early stopping
would reward trees that memorise it: a share of the customers (``training.validation_share``,
a fixed hash of ``customer_id``) is held out of the training windows, and only their rows of the
latest window validate. Finally a BTYD model is fitted at ``C`` itself for scoring.

**Scoring** (:func:`score`) builds the same features at the scoring cutoff, predicts with the
saved BTYD model and both classifiers, and explains each customer's scores (top three drivers,
:mod:`vipml.wording`).

**Backtest** (:func:`backtest`) trains with the data up to a cutoff, scores at the cutoff, and
judges the scores (and the baselines of :mod:`vipml.modeling.backtest`) on what happened in
``(cutoff, cutoff + horizon]``; :func:`backtest_cutoffs` does it at several cutoffs and sums
up the mean and the worst case per score.

Progress: pass ``progress=callable(step: str, done: int, total: int)`` to follow long runs
(the CLI draws a progress bar with it).

Examples
--------
>>> from vipml.config import config_from_dict
>>> from vipml.data.datasets import load_cdnow
>>> tx = load_cdnow(sample=True)
>>> model = train(tx, "1997-12-31", "26W", config=config_from_dict(
...     {"lightgbm": {"n_estimators": 30, "num_threads": 1}}))
>>> model.training["cutoffs"]
['1997-07-02', '1997-06-04', '1997-05-07', '1997-04-09']
>>> scores = score(model, tx, "1997-12-31")
>>> len(scores), scores["customer_id"].is_unique
(2357, True)
>>> bool(scores["p_future_vip"].between(0, 1).all())
True
"""

from vipml.bundle import VipModel, load_model
from vipml.pipeline.backtesting import (
    backtest,
    backtest_cutoffs,
    predicted_vip_list_check,
    vip_now_at,
)
from vipml.pipeline.common import Progress
from vipml.pipeline.frames import model_frame, row_attribute_names
from vipml.pipeline.predict import REASON_COLUMNS, explain
from vipml.pipeline.scoring import PREDICTION_COLUMNS, score
from vipml.pipeline.training import (
    train,
    training_cutoffs,
    training_frame,
    validation_customers,
)

__all__ = [
    "Progress",
    "PREDICTION_COLUMNS",
    "VipModel",
    "load_model",
    "training_cutoffs",
    "model_frame",
    "row_attribute_names",
    "training_frame",
    "validation_customers",
    "train",
    "score",
    "explain",
    "REASON_COLUMNS",
    "backtest",
    "backtest_cutoffs",
    "vip_now_at",
    "predicted_vip_list_check",
]
