"""The model bundle: manifest + JSON + LightGBM text, round trip, checks on load."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import vipml
from vipml.bundle import BundleWarning, VipModel, data_fingerprint, load_model
from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.errors import ModelFormatError
from vipml.pipeline import score, train

CONFIG = {"lightgbm": {"n_estimators": 40, "num_threads": 1}}


@pytest.fixture(scope="module")
def tx():
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def model(tx) -> VipModel:
    return train(tx, "1997-12-31", "26W", config=config_from_dict(CONFIG))


@pytest.fixture()
def saved(model, tmp_path):
    return model.save(tmp_path / "bundle")


def test_round_trip_gives_identical_scores(model, saved, tx):
    loaded = vipml.load_model(saved)
    assert isinstance(loaded, VipModel)
    before = score(model, tx, "1997-12-31")
    after = score(loaded, tx, "1997-12-31")
    pd.testing.assert_frame_equal(after, before)
    # and again at another date, through a second save of the loaded model
    again = load_model(loaded.save(saved.parent / "second"))
    pd.testing.assert_frame_equal(
        score(again, tx, "1998-03-31"), score(model, tx, "1998-03-31")
    )
    assert loaded.cutoff == pd.Timestamp("1997-12-31") and loaded.horizon == "26W"
    assert loaded.feature_names == model.feature_names
    assert loaded.config == model.config
    assert loaded.metrics == json.loads(json.dumps(loaded.metrics))


def test_bundle_is_plain_data(saved, model, tx):
    files = sorted(p.name for p in saved.iterdir())
    assert files == [
        "btyd.json", "churn.json", "churn.lgb.txt", "future_vip.json", "future_vip.lgb.txt",
        "manifest.json",
    ]
    for name in files:
        text = (saved / name).read_text(encoding="utf-8")  # no binary pickles anywhere
        if name.endswith(".json"):
            json.loads(text)
        else:
            assert text.startswith("tree\n")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["format"] == "vipml-model" and manifest["vipml_version"] == vipml.__version__
    for key in ("lightgbm", "lifetimes", "pandas", "numpy", "scikit-learn", "python"):
        assert manifest["libraries"][key]
    assert manifest["cutoff"] == "1997-12-31" and manifest["horizon"] == "26W"
    assert manifest["feature_names"] == model.feature_names
    past = tx[tx["timestamp"] <= "1997-12-31"]
    assert manifest["data_fingerprint"] == data_fingerprint(past) == model.data_fingerprint
    assert manifest["config"]["lightgbm"]["n_estimators"] == 40
    assert manifest["training"]["cutoffs"][0] == "1997-07-02"
    assert 0.5 < manifest["metrics"]["future_vip"]["roc_auc"] <= 1
    calibration = json.loads((saved / "churn.json").read_text())["calibration"]
    assert calibration["method"] == "sigmoid" and set(calibration) == {"method", "a", "b"}


def _edit_manifest(path, **changes):
    manifest = json.loads((path / "manifest.json").read_text())
    manifest.update(changes)
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_other_vipml_version_fails_clearly_or_warns(saved, tx):
    _edit_manifest(saved, vipml_version="0.9.3")
    with pytest.raises(ModelFormatError, match=(
        r"written by vipml 0\.9\.3; this is vipml 0\.1\.0 .*retrain it with `vipml train` or "
        r"install vipml==0\.9\.\*; load_model\(path, strict=False\) loads it anyway"
    )):
        load_model(saved)
    with pytest.warns(BundleWarning, match="written by vipml 0.9.3"):
        loaded = load_model(saved, strict=False)
    assert len(score(loaded, tx, "1997-12-31")) == 2357
    _edit_manifest(saved, vipml_version="0.1.7")  # another patch release reads it
    load_model(saved)


def test_other_feature_list_fails_clearly(saved):
    manifest = json.loads((saved / "manifest.json").read_text())
    names = manifest["feature_names"]
    _edit_manifest(saved, feature_names=[*names[:-1], "loyalty_score"])
    n = len(names)
    with pytest.raises(ModelFormatError, match=(
        rf"feature list \({n} features\) differs from this vipml's \({n}\): the model uses "
        r"loyalty_score, which this vipml does not build; this vipml builds order_rate_monthly, "
        r"which the model lacks: retrain"
    )):
        load_model(saved)


def test_damaged_or_missing_parts(saved, tmp_path):
    with pytest.raises(ModelFormatError, match="is not a vipml model bundle"):
        load_model(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    (broken / "churn.lgb.txt").unlink()
    with pytest.raises(ModelFormatError, match=r"churn\.lgb\.txt \(churn trees\) is missing"):
        load_model(broken)
    (broken / "btyd.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match=r"btyd\.json is not valid JSON"):
        load_model(broken)


def test_save_replaces_a_bundle_atomically(model, saved):
    (saved / "stale.txt").write_text("old")
    model.save(saved)
    assert not (saved / "stale.txt").exists()
    leftovers = [p for p in saved.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_fingerprint_depends_on_content_not_order(tx):
    assert data_fingerprint(tx) == data_fingerprint(tx.sample(frac=1.0, random_state=0))
    changed = tx.assign(revenue=np.where(tx.index == 5, tx["revenue"] + 1, tx["revenue"]))
    assert data_fingerprint(changed) != data_fingerprint(tx)
