"""The safety net at training: the blend of the model with the rules, fitted and chosen.

The weight of the model in the blend is chosen on the validation rows
(:func:`vipml.modeling.blend.choose_weights`); the percentile references and the quantile
mapping to probabilities are then taken from the population at the training cutoff (everyone
known at it; churn: the customers active at it), so a score is ranked against its own cutoff's
customers and the probabilities keep the model's level there.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from vipml.bundle import VipModel
from vipml.labels import churn_eligible
from vipml.modeling.backtest import PROBABILITY, TARGETS
from vipml.modeling.blend import (
    blend_columns,
    choose_weights,
    fit_blend,
)
from vipml.modeling.btyd import BtydWarning
from vipml.pipeline.frames import (
    categorical_attributes,
    customer_attributes_at,
    model_frame,
)
from vipml.pipeline.predict import predict_frame

log = logging.getLogger(__name__)


def fit_safety_net(
    model: VipModel,
    valid: pd.DataFrame,
    transactions: pd.DataFrame,
    events: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    judged: Mapping[str, tuple[pd.DataFrame, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """Fit, per target, the blend of the model with the rules; ``model.training['blend']``.

    Parameters
    ----------
    model
        The trained model (no blend yet).
    valid
        The validation rows: features and labels.
    transactions, events, customers
        The training data up to the model's cutoff.
    judged
        Per target, other rows to judge the candidate blends on (features and labels) and the
        probabilities to judge them with: the out-of-time selection model's, on every
        customer of the validation window. A target left out is judged on ``valid`` with the
        model's own probabilities.

    Returns
    -------
    dict
        Per target: ``use`` (False: the model alone), ``chosen`` (the candidate's name),
        ``reason``, ``validation`` (ROC AUC and AP of
        each weight and rule) and ``state`` (:func:`vipml.modeling.blend.fit_blend`).

    Examples
    --------
    :func:`vipml.pipeline.train` calls it and keeps the result in ``model.training['blend']``
    (tests: ``tests/modeling/test_blend.py``, ``tests/test_selection.py``):

    >>> from vipml.config import config_from_dict
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.pipeline import train
    >>> fast = config_from_dict({"lightgbm": {"n_estimators": 30, "num_threads": 1}})
    >>> model = train(load_cdnow(sample=True), "1997-12-31", "26W", config=fast)
    >>> record = model.training["blend"]["churn"]
    >>> record["chosen"] in record["validation"], sorted(record["state"])
    (True, ['blend_quantiles', 'probability_quantiles', 'references', 'weights'])
    """
    judged = judged or {}
    by_model = None  # the model's own scores of the validation rows, when a target needs them
    if any(target not in judged for target in TARGETS):
        by_model = predict_frame(model, valid[model.feature_names], explain=False)
    now = _population_scores(model, transactions, events, customers)
    active = churn_eligible(transactions, model.cutoff, model.config)
    out: dict[str, Any] = {}
    for target in TARGETS:
        if target in judged:
            rows, scores = judged[target]
        else:
            assert by_model is not None
            keep = np.ones(len(valid), dtype=bool)
            if target == "churn":
                keep = valid["churn_eligible"].astype(bool).to_numpy()
            rows = valid.loc[keep]
            scores = by_model[PROBABILITY[target]].to_numpy(dtype=np.float64)[keep]
        y = rows[target].to_numpy(dtype=bool)
        columns = blend_columns(rows, scores, target)
        choice = choose_weights(y, columns, target)
        alone = choice["name"] == "model_alone"
        population = now if target == "future_vip" else now.loc[
            now.index.isin(active.index[active.to_numpy(dtype=bool)])
        ]
        at_cutoff = blend_columns(population, population[PROBABILITY[target]], target)
        state = fit_blend(at_cutoff, target, choice["weights"])
        out[target] = {
            "use": not alone,
            "chosen": choice["name"],
            "reason": choice["reason"],
            "validation": {k: [round(x, 4) for x in v] for k, v in choice["metrics"].items()},
            "state": state,
        }
        log.info("%s: the final score is %s: %s", target, choice["name"], choice["reason"])
    return out


def _population_scores(
    model: VipModel,
    transactions: pd.DataFrame,
    events: pd.DataFrame | None,
    customers: pd.DataFrame | None,
) -> pd.DataFrame:
    """The model's probabilities and the rule columns of everyone known at the cutoff."""
    attrs = None
    if model.attributes:
        table = categorical_attributes(customers)
        attrs = customer_attributes_at(transactions, table, model.cutoff, model.attributes)
    with warnings.catch_warnings():  # scoring warns about these; training does not
        warnings.simplefilter("ignore", BtydWarning)
        frame = model_frame(
            transactions, model.cutoff, model.horizon, model.btyd, events, attrs, model.config
        )
    return predict_frame(model, frame, explain=False).astype(
        {c: np.float64 for c in PROBABILITY.values()}
    )
