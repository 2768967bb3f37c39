"""The model bundle: manifest + JSON + LightGBM text, round trip, checks on load."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import vipml
from vipml.bundle import BundleWarning, VipModel, data_fingerprint, load_model, seal_manifest
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
    """A manifest as another vipml would write it (sealed, so only the change is tested)."""
    manifest = json.loads((path / "manifest.json").read_text())
    manifest.update(changes)
    (path / "manifest.json").write_text(json.dumps(seal_manifest(manifest)))


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
    with pytest.raises(ModelFormatError, match=r"btyd\.json: 9 bytes, the manifest says "):
        load_model(broken)


BUNDLE_FILES = ["btyd.json", "future_vip.json", "churn.json", "future_vip.lgb.txt",
                "churn.lgb.txt"]


@pytest.mark.parametrize("name", BUNDLE_FILES)
def test_a_truncated_file_is_refused_by_name_even_when_not_strict(saved, tmp_path, name):
    bundle = tmp_path / "b"
    shutil.copytree(saved, bundle)
    data = (bundle / name).read_bytes()
    (bundle / name).write_bytes(data[: len(data) // 3])
    message = (
        rf"{re.escape(name)}: {len(data) // 3:,} bytes, the manifest says {len(data):,}: the "
        r"bundle is damaged; retrain or restore it"
    )
    for strict in (True, False):
        with pytest.raises(ModelFormatError, match=message):
            load_model(bundle, strict=strict)


def _flip_a_number(text: str) -> str:
    """The same length, one digit changed (an edit a size check alone would miss)."""
    match = re.search(r"[1-8]", text[len(text) // 2 :])
    at = len(text) // 2 + match.start()
    return text[:at] + str(int(text[at]) + 1) + text[at + 1 :]


@pytest.mark.parametrize("name", BUNDLE_FILES)
def test_an_edited_file_is_refused_or_loaded_with_a_warning(saved, tmp_path, name):
    bundle = tmp_path / "b"
    shutil.copytree(saved, bundle)
    (bundle / name).write_text(_flip_a_number((bundle / name).read_text()))
    with pytest.raises(ModelFormatError, match=(
        rf"{re.escape(name)}: its content differs from the manifest's checksum .*edited or "
        r"damaged; retrain or restore the bundle; load_model\(path, strict=False\) loads it"
    )):
        load_model(bundle)
    with pytest.warns(BundleWarning, match=rf"{re.escape(name)}: its content differs"):
        try:
            load_model(bundle, strict=False)
        except ModelFormatError:  # the edit itself broke the file (e.g. a tree's structure)
            pass


def test_an_edited_manifest_is_refused(saved, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(saved, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["metrics"] = {"future_vip": {"roc_auc": 0.99}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFormatError, match=r"manifest\.json differs from its own checksum"):
        load_model(bundle)
    with pytest.warns(BundleWarning, match="manifest.json differs from its own checksum"):
        load_model(bundle, strict=False)
    (bundle / "manifest.json").write_text(json.dumps(manifest)[:200])
    with pytest.raises(ModelFormatError, match=r"manifest\.json is not valid JSON"):
        load_model(bundle)


def test_a_bundle_without_checksums_loads_with_a_warning(saved, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(saved, bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["checksums"], manifest["manifest_sha256"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(BundleWarning, match=r"has no checksums \(written by an older vipml\)"):
        load_model(bundle)


def test_a_truncated_tree_file_never_reaches_lightgbm(saved, tmp_path):
    """LightGBM crashed Python (exit 139) on a truncated model file: scoring now exits 1."""
    bundle = tmp_path / "b"
    shutil.copytree(saved, bundle)
    trees = bundle / "future_vip.lgb.txt"
    trees.write_bytes(trees.read_bytes()[:10_000])
    proc = subprocess.run(
        [sys.executable, "-m", "vipml", "score", "--model", str(bundle), "--transactions",
         "cdnow-sample", "--out", str(tmp_path / "s.parquet")],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "future_vip.lgb.txt: 10,000 bytes, the manifest says" in proc.stderr
    assert "Model format error" not in proc.stdout + proc.stderr
    assert not (tmp_path / "s.parquet").exists()


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
