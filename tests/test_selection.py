"""Out-of-time model selection (issue 18): the trees and the safety net's blend are chosen by a
model whose training labels all end before the validation window starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.modeling.classifier import VipClassifier
from vipml.pipeline import train, training_cutoffs
from vipml.pipeline.training import selection_cutoffs

FAST = {"lightgbm": {"n_estimators": 60, "num_threads": 1}}


@pytest.fixture(scope="module")
def tx():
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def model(tx):
    return train(tx, "1998-06-30", "13W", config=config_from_dict(FAST))


def test_selection_windows_end_before_the_validation_window(tx):
    horizon = pd.Timedelta(weeks=13)
    latest = training_cutoffs(tx, "1998-06-30", horizon)[0]
    windows = selection_cutoffs(tx, "1998-06-30", horizon)
    assert len(windows) == 3
    for c in windows:
        # every label of the selection model is observed on or before the validation cutoff
        assert c + horizon <= latest
        assert c >= tx["timestamp"].min() + pd.Timedelta(days=90)
    assert windows == sorted(windows, reverse=True)
    none = config_from_dict({"training": {"selection_windows": 0}})
    assert selection_cutoffs(tx, "1998-06-30", horizon, none) == []


def test_trees_and_blend_are_chosen_out_of_time(model):
    latest = pd.Timestamp(model.training["validation_cutoff"])
    for target in ("future_vip", "churn"):
        chosen = model.training[target]["selection"]
        assert chosen["out_of_time"], chosen
        assert chosen["reason"].startswith("chosen out of time")
        for day in chosen["windows"]:
            assert pd.Timestamp(day) + pd.Timedelta(weeks=13) <= latest
        # the final model keeps exactly the number of trees the selection model chose
        assert model.training[target]["best_iteration"] == chosen["best_iteration"]
        assert model.classifiers[target].booster_.num_trees() == chosen["best_iteration"]
        # the blend was judged on every customer of the validation window, not the held-out 30%
        assert model.training["blend"][target]["chosen"] in model.training["blend"][target][
            "validation"
        ]


def test_without_room_for_an_out_of_time_window_the_bundle_says_so(tx):
    model = train(tx, "1997-12-31", "26W", config=config_from_dict(FAST))
    for target in ("future_vip", "churn"):
        chosen = model.training[target]["selection"]
        assert not chosen["out_of_time"]
        assert "overlaps the training labels" in chosen["reason"]
        assert "history is too short" in chosen["reason"]


def test_no_early_stopping_trains_exactly_the_rounds_asked():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.random(3000), "b": rng.random(3000)})
    y = rng.random(3000) < X["a"]
    clf = VipClassifier(n_estimators=17, early_stopping_rounds=0, num_threads=1)
    clf.fit(X[:2000], y[:2000], X[2000:], y[2000:])
    assert clf.best_iteration_ == 17 and clf.booster_.num_trees() == 17
