"""tree_contributions: the same numbers as LightGBM's pred_contrib, from real LightGBM fits."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from vipml.modeling import tree_tables, treeshap
from vipml.modeling.treeshap import tree_contributions

TOL = {"rtol": 1e-9, "atol": 1e-9}


def _params(**kw) -> dict:
    params = {
        "objective": "binary",
        "num_leaves": 7,
        "learning_rate": 0.1,
        "verbose": -1,
        "num_threads": 1,
        "seed": 0,
        "deterministic": True,
    }
    params.update(kw)
    return params


def _numeric(n: int = 2000, p: int = 8, seed: int = 0, nan: float = 0.15):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[:, 3] = np.round(X[:, 3])  # ties and exact zeros
    X[rng.random(X.shape) < nan] = np.nan
    Z = np.nan_to_num(X, nan=1.5)
    logit = Z[:, 0] - Z[:, 1] * Z[:, 2] + np.sin(3 * Z[:, 3]) + 0.5 * np.isnan(X[:, 4])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _check(booster: lgb.Booster, X, **kw) -> np.ndarray:
    """tree_contributions equals pred_contrib and sums to the raw score; returns it."""
    got = tree_contributions(booster, X, **kw)
    want = booster.predict(X, pred_contrib=True, num_iteration=kw.get("num_iteration"))
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOL)
    raw = booster.predict(X, raw_score=True, num_iteration=kw.get("num_iteration"))
    n_classes = booster.num_model_per_iteration()
    sums = got.reshape(len(got), n_classes, -1).sum(axis=2)
    np.testing.assert_allclose(sums, raw.reshape(len(got), n_classes), **TOL)
    return got


def _decision_types(booster: lgb.Booster) -> set[int]:
    """The ``decision_type`` codes of the model's splits (bit 1: default left, bits 2-3: the
    missing type, 1 = Zero, 2 = NaN)."""
    return {
        int(v)
        for line in booster.model_to_string().splitlines()
        if line.startswith("decision_type=")
        for v in line.split("=")[1].split()
    }


@pytest.fixture(scope="module")
def nan_data():
    return _numeric()


@pytest.mark.parametrize("num_leaves", [7, 31])
def test_nan_missing_values(nan_data, num_leaves):
    X, y = nan_data
    booster = lgb.train(
        _params(num_leaves=num_leaves, min_data_in_leaf=5), lgb.Dataset(X, y), num_boost_round=40
    )
    assert {8, 10} <= _decision_types(booster)  # NaN missing type, default right and left
    _check(booster, X)
    # fresh rows, with NaN where the training data had none, infinities and tiny values
    Xn, _ = _numeric(500, seed=1, nan=0.3)
    Xn[:20, 0] = np.inf
    Xn[20:40, 1] = -np.inf
    Xn[40:60, 3] = 1e-40
    _check(booster, Xn)


def test_zero_as_missing():
    X, y = _numeric(nan=0.05)
    X[np.random.default_rng(2).random(X.shape) < 0.2] = 0.0
    booster = lgb.train(_params(zero_as_missing=True), lgb.Dataset(X, y), num_boost_round=40)
    assert {4, 6} <= _decision_types(booster)  # Zero missing type, default right and left
    X[:30, 2] = -1e-36  # zero for LightGBM
    _check(booster, X)


def test_no_missing_values_seen_in_training():
    X, y = _numeric(nan=0.0)
    booster = lgb.train(_params(), lgb.Dataset(X, y), num_boost_round=30)
    X_new, _ = _numeric(500, seed=3, nan=0.2)  # NaN at scoring: missing type None -> 0.0
    _check(booster, X_new)


def test_pandas_categorical():
    rng = np.random.default_rng(4)
    n = 2000
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "shop": pd.Categorical(rng.choice(list("abcdefghij"), n)),
            "z": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        }
    )
    effect = dict(zip("abcdefghij", rng.normal(scale=1.5, size=10), strict=True))
    logit = X["x"] + X["shop"].astype(str).map(effect).to_numpy()
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train(
        _params(min_data_per_group=10, cat_smooth=1.0), lgb.Dataset(X, y), num_boost_round=40
    )
    assert any(
        line.startswith("num_cat=") and line != "num_cat=0"
        for line in booster.model_to_string().splitlines()
    )
    _check(booster, X)
    # scoring data: missing, unseen and a different category order
    X_new = X.iloc[:300].copy()
    shop = X_new["shop"].astype(object)
    shop.iloc[:20] = np.nan
    shop.iloc[20:40] = "zz"
    X_new["shop"] = pd.Categorical(shop, categories=["zz", *reversed("abcdefghij")])
    _check(booster, X_new)


def test_categorical_feature_index_on_numpy():
    rng = np.random.default_rng(5)
    n = 2000
    X = np.column_stack([rng.integers(0, 40, n).astype(float), rng.normal(size=n)])
    y = (rng.random(n) < np.where(X[:, 0] % 3 == 0, 0.8, 0.2)).astype(int)
    booster = lgb.train(
        _params(min_data_per_group=5, max_cat_to_onehot=4),
        lgb.Dataset(X, y, categorical_feature=[0]),
        num_boost_round=30,
    )
    X_new = X[:400].copy()
    X_new[:40, 0] = np.nan
    X_new[40:60, 0] = -3.0
    X_new[60:70, 0] = -0.5  # truncates to category 0
    X_new[70:80, 0] = 3.7  # truncates to category 3
    X_new[80:90, 0] = 1e10  # beyond int range: right
    X_new[90:100, 0] = 500.0  # beyond every bitset
    _check(booster, X_new)


def test_dataframe_and_array_agree(nan_data):
    X, y = nan_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    booster = lgb.train(_params(), lgb.Dataset(df, y), num_boost_round=20)
    got = _check(booster, df)
    np.testing.assert_array_equal(got, tree_contributions(booster, X))
    np.testing.assert_array_equal(got, tree_contributions(booster, np.asfortranarray(X)))


def test_early_stopping_uses_best_iteration(nan_data):
    X, y = nan_data
    train, valid = lgb.Dataset(X[:1500], y[:1500]), lgb.Dataset(X[1500:], y[1500:])
    booster = lgb.train(
        _params(learning_rate=0.5, num_leaves=31, min_data_in_leaf=3),
        train,
        num_boost_round=200,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(5, verbose=False)],
        keep_training_booster=True,
    )
    assert 0 < booster.best_iteration < booster.num_trees()
    got = _check(booster, X)  # predict's default: best_iteration
    assert not np.allclose(got, _check(booster, X, num_iteration=-1))  # all trees
    _check(booster, X, num_iteration=3)
    # lgb.train's default keeps only the best iteration's trees
    trimmed = lgb.train(
        _params(learning_rate=0.5),
        train,
        num_boost_round=200,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(5, verbose=False)],
    )
    _check(trimmed, X)


def test_single_leaf_trees(nan_data):
    X, y = nan_data
    stump = lgb.train(
        _params(min_data_in_leaf=10**6), lgb.Dataset(X, y, free_raw_data=False), num_boost_round=5
    )
    assert "num_leaves=1" in stump.model_to_string()
    _check(stump, X)  # bias only
    grown = lgb.train(
        _params(),
        lgb.Dataset(X, y),
        num_boost_round=10,
        init_model=stump,
        keep_training_booster=True,
    )
    text = grown.model_to_string()
    assert "num_leaves=1" in text and "num_leaves=7" in text
    _check(grown, X)


def test_chunking_and_threads_do_not_change_the_result(nan_data, monkeypatch):
    X, y = nan_data
    booster = lgb.train(_params(num_leaves=15), lgb.Dataset(X, y), num_boost_round=20)
    whole = _check(booster, X)
    np.testing.assert_array_equal(tree_contributions(booster, X, chunk_rows=333), whole)
    np.testing.assert_array_equal(tree_contributions(booster, X[:50], chunk_rows=1), whole[:50])
    monkeypatch.setattr(treeshap, "_MIN_THREAD_ROWS", 100)
    np.testing.assert_array_equal(tree_contributions(booster, X, chunk_rows=999, n_jobs=3), whole)


@pytest.mark.parametrize(
    "settings",
    [
        {"_PART_BITS": 0},  # every leaf its own part, codes made distinct per chunk
        {"_PART_BITS": 0, "_LEAF_TABLE_MAX_FEATURES": 2},  # TreeSHAP per distinct code
        {"_PART_BITS": 0, "_WORD_BITS": 2},  # codes of several words
        {"_PART_BITS": 0, "_BINCOUNT_BITS": 2},  # distinct codes by hashing
        {"_PART_BITS": 4, "_LEAF_TABLE_MAX_FEATURES": 3},  # small parts, some deep leaves
    ],
)
def test_table_strategies(nan_data, monkeypatch, settings):
    """The fall-backs for big trees, forced on a small model, give the same numbers."""
    X, y = nan_data
    booster = lgb.train(
        _params(num_leaves=24, min_data_in_leaf=3), lgb.Dataset(X, y), num_boost_round=8
    )
    want = _check(booster, X)
    for name, value in settings.items():
        module = tree_tables if name != "_MIN_THREAD_ROWS" else treeshap
        monkeypatch.setattr(module, name, value)
    tree_tables.tables_from_model_string.cache_clear()
    try:
        np.testing.assert_allclose(tree_contributions(booster, X, chunk_rows=700), want, **TOL)
    finally:
        tree_tables.tables_from_model_string.cache_clear()


def test_big_trees_are_cut_into_parts():
    X, y = _numeric(3000, p=10, nan=0.1)
    booster = lgb.train(
        _params(num_leaves=80, min_data_in_leaf=2, learning_rate=0.3),
        lgb.Dataset(X, y),
        num_boost_round=3,
    )
    tables = tree_tables.TreeTables.from_booster(booster)
    assert max(len(tree.parts) for tree in tables.trees) > 1
    _check(booster, X)


def test_multiclass(nan_data):
    X, _ = nan_data
    y = np.digitize(np.nan_to_num(X[:, 0]), [-0.5, 0.5])
    booster = lgb.train(
        _params(objective="multiclass", num_class=3), lgb.Dataset(X, y), num_boost_round=10
    )
    _check(booster, X)


def test_sklearn_model(nan_data):
    X, y = nan_data
    model = lgb.LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X, y)
    np.testing.assert_allclose(
        tree_contributions(model, X), model.predict(X, pred_contrib=True), **TOL
    )


def test_random_forest(nan_data):
    X, y = nan_data
    booster = lgb.train(
        _params(boosting="rf", bagging_fraction=0.5, bagging_freq=1),
        lgb.Dataset(X, y),
        num_boost_round=10,
    )
    _check(booster, X)


def test_integer_array_is_read_as_float32():
    rng = np.random.default_rng(6)
    X = rng.integers(0, 2**26, size=(1000, 3))
    y = (X[:, 0] % 7 < 3).astype(int)
    booster = lgb.train(_params(), lgb.Dataset(X.astype(np.float64), y), num_boost_round=10)
    _check(booster, X)


def test_bad_input(nan_data):
    X, y = nan_data
    booster = lgb.train(_params(), lgb.Dataset(X, y), num_boost_round=2)
    with pytest.raises(ValueError, match="features"):
        tree_contributions(booster, X[:, :3])
    with pytest.raises(ValueError, match="chunk_rows"):
        tree_contributions(booster, X, chunk_rows=0)
    linear = lgb.train(
        _params(linear_tree=True), lgb.Dataset(np.nan_to_num(X), y), num_boost_round=2
    )
    with pytest.raises(NotImplementedError, match="linear"):
        tree_contributions(linear, np.nan_to_num(X))
