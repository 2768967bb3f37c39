"""LightGBM binary classifiers (future VIP, churn) with a linear prior and calibrated output.

:class:`VipClassifier` is one binary model in three parts, all saved as plain data:

1. **A linear prior.** A logistic regression on a few monotone transforms of the strongest
   signals (``base_terms``, e.g. ``log1p(days_since_last)``, ``logit(p_no_purchase)``), fitted on
   the training rows. Its log-odds are LightGBM's starting score (``init_score``).
2. **LightGBM** boosts from that score on the tree features. Models are trained on past cutoffs
   and applied to today: customers are then older, and trees cannot extrapolate beyond the values
   seen in training (a customer idle for 300 days, when training only saw 180, lands in the last
   leaf). The prior carries the time-scale signals and extrapolates smoothly; the trees learn the
   non-linear corrections. Columns named in ``exclude_from_trees`` (absolute ages and
   lifetime counts that grow with the customer's age) feed the prior only.
3. **Calibration** on the validation window (the latest one, never shuffled): Platt scaling
   (``'sigmoid'``) by default, or isotonic. Both are monotone, so ranking metrics are unchanged.

Class imbalance: with ``class_weight='balanced'`` (the default) both the prior and the trees
weigh the rarer class up to parity; calibration then maps the scores back to probabilities.
Training is deterministic for a given ``seed`` (LightGBM's ``deterministic`` mode, fixed thread
count and seeds).

:meth:`VipClassifier.contributions` gives each customer's per-feature contributions to the
log-odds: TreeSHAP for the trees (:func:`vipml.modeling.treeshap.tree_contributions`: LightGBM's
``pred_contrib``, computed once per decision pattern) plus, for the prior, each term's
``coef * (x - training mean)`` credited to the feature it transforms. They sum with the
``bias`` column to the raw score.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"days_since_last": rng.integers(0, 365, 2000).astype(float),
...                   "spend_12m": rng.gamma(2.0, 50.0, 2000)})
>>> y = rng.random(2000) < 1 / (1 + np.exp(3 - X["days_since_last"] / 60))
>>> clf = VipClassifier(n_estimators=30, base_terms=(("days_since_last", "log1p"),))
>>> clf = clf.fit(X[:1500], y[:1500], X[1500:], y[1500:])
>>> p = clf.predict_proba(X[1500:])
>>> bool(((p > 0) & (p < 1)).all()), bool(p[y[1500:]].mean() > p[~y[1500:]].mean())
(True, True)
>>> contrib = clf.contributions(X[1500:1503])
>>> np.allclose(contrib.sum(axis=1), clf.decision_function(X[1500:1503]))
True
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from vipml.errors import InvalidArgumentError, ModelFormatError, VipmlError, format_examples
from vipml.modeling.calibration import apply_calibration, fit_calibration
from vipml.modeling.metrics import average_precision, roc_auc
from vipml.modeling.params import Params, check_is_fitted
from vipml.modeling.treeshap import tree_contributions
from vipml.units import DAYS_PER_MONTH, cpu_count

__all__ = [
    "Transform",
    "TRANSFORMS",
    "BTYD_OUTPUTS",
    "DERIVED_COLUMNS",
    "TIME_SCALE_COLUMNS",
    "BASE_TERMS",
    "derived_columns",
    "VipClassifier",
]

log = logging.getLogger(__name__)

Transform = Literal["log1p", "logit", "identity"]
TRANSFORMS: tuple[str, ...] = ("log1p", "logit", "identity")
_FORMAT_VERSION = 1
_EPS = 1e-6

#: BTYD outputs among the model features: over the label horizon (``expected_value`` =
#: expected purchases x expected order value), and ``clv``, ``clv_profit`` over
#: ``config.btyd.clv_months``.
BTYD_OUTPUTS: tuple[str, ...] = (
    "expected_purchases",
    "p_alive",
    "p_no_purchase",
    "expected_spend",
    "expected_value",
    "clv",
    "clv_profit",
)

#: Ratios that mean the same at any customer age (see :func:`derived_columns`).
DERIVED_COLUMNS: tuple[str, ...] = (
    "overdue_ratio",
    "idle_share",
    "spend_rate_monthly",
    "order_rate_monthly",
)

#: Absolute ages and lifetime totals: they grow with the customer's age, so a model trained on
#: past cutoffs (younger customers) meets values it never saw. They feed the linear prior and
#: the reasons, not the trees.
TIME_SCALE_COLUMNS: tuple[str, ...] = (
    "frequency",
    "recency",
    "T",
    "orders",
    "purchase_days",
    "mean_days_between",
    "median_days_between",
    "days_since_last",
    "tenure_days",
    "revenue_total",
    "profit_total",
    "net_revenue",
    "net_profit",
    "days_since_engagement",
)

#: The linear prior of each target: (feature, transform).
BASE_TERMS: dict[str, tuple[tuple[str, str], ...]] = {
    "future_vip": (
        ("expected_value", "log1p"),
        ("spend_12m", "log1p"),
        ("p_no_purchase", "logit"),
        ("frequency", "log1p"),
        ("days_since_last", "log1p"),
    ),
    "churn": (
        ("p_no_purchase", "logit"),
        ("days_since_last", "log1p"),
        ("spend_12m", "log1p"),
        ("frequency", "log1p"),
    ),
}


def derived_columns(features: pd.DataFrame) -> pd.DataFrame:
    """Age-free ratios from the feature columns.

    * ``overdue_ratio``: days since the last purchase / the customer's mean days between
      purchases (for a one-time buyer the mean gap is the tenure, so the ratio is 1);
    * ``idle_share``: days since the last purchase / (tenure + 1);
    * ``spend_rate_monthly``, ``order_rate_monthly``: lifetime spend and orders per month of
      tenure (the first month counted in full).

    Parameters
    ----------
    features
        The feature table (``days_since_last``, ``mean_days_between``, ``tenure_days``,
        ``revenue_total``, ``orders``).

    Returns
    -------
    pandas.DataFrame
        The four ratios, indexed like ``features``.

    Examples
    --------
    >>> f = pd.DataFrame({"days_since_last": [60.0], "mean_days_between": [30.0],
    ...                   "tenure_days": [365.25], "revenue_total": [1200.0], "orders": [6]})
    >>> derived_columns(f).round(2).iloc[0].tolist()
    [2.0, 0.16, 100.0, 0.5]
    """
    dsl = features["days_since_last"].to_numpy(dtype=np.float64)
    gap = features["mean_days_between"].to_numpy(dtype=np.float64)
    tenure = features["tenure_days"].to_numpy(dtype=np.float64)
    months = np.maximum(tenure, DAYS_PER_MONTH) / DAYS_PER_MONTH
    return pd.DataFrame(
        {
            "overdue_ratio": dsl / np.maximum(gap, 1.0),
            "idle_share": dsl / (tenure + 1.0),
            "spend_rate_monthly": features["revenue_total"].to_numpy(dtype=np.float64) / months,
            "order_rate_monthly": features["orders"].to_numpy(dtype=np.float64) / months,
        },
        index=features.index,
    )


def _transform(values: np.ndarray, how: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if how == "log1p":
        return np.log1p(np.clip(values, 0.0, None))
    if how == "logit":
        p = np.clip(values, _EPS, 1 - _EPS)
        return np.log(p / (1 - p))
    if how == "identity":
        return values
    raise InvalidArgumentError(f"transform {how!r} is not one of {', '.join(TRANSFORMS)}")


class VipClassifier(Params):
    """A calibrated LightGBM binary classifier boosted from a linear prior (see module docs).

    Parameters
    ----------
    num_leaves, learning_rate, n_estimators, min_child_samples, feature_fraction,
    bagging_fraction, bagging_freq, lambda_l2
        LightGBM hyperparameters (``n_estimators`` is the most boosting rounds).
    early_stopping_rounds
        Stop when the validation log-loss has not improved for this many rounds; ``0``: no
        early stopping, exactly ``n_estimators`` rounds (a number chosen elsewhere).
    num_threads
        LightGBM threads (0: LightGBM's default). Fix it for bit-identical runs across machines.
    seed
        Seeds every random choice (bagging, feature sampling).
    class_weight
        ``'balanced'``: weigh each class by ``n / (2 * n_class)``; ``'none'``: equal weights.
    calibration
        ``'sigmoid'`` (Platt), ``'isotonic'`` or ``'none'``.
    base_terms
        ``(feature, transform)`` pairs of the linear prior; transforms ``log1p``, ``logit``,
        ``identity``. Empty: no prior (LightGBM starts from the mean).
    exclude_from_trees
        Input columns the trees do not see (they may still feed the prior or the reasons).
    base_c
        Inverse L2 strength of the prior's logistic regression (scikit-learn's ``C``).

    Attributes
    ----------
    feature_names_ : list of str
        Input columns, in order.
    tree_features_ : list of str
        Columns the trees use.
    categories_ : dict
        Levels of each categorical column (others map to missing).
    booster_ : lightgbm.Booster
        The trees, cut at the best iteration.
    best_iteration_ : int
    base_ : dict
        The prior: ``terms``, ``mean``, ``scale``, ``coef``, ``intercept``.
    calibrator_ : dict
        ``method`` and its parameters (``a``, ``b`` or ``x``, ``y`` thresholds).
    validation_ : dict
        Validation-window size, positive rate, log-loss, AUC and average precision.

    Examples
    --------
    >>> clf = VipClassifier(n_estimators=50, calibration="isotonic")
    >>> clf.get_params()["calibration"], hasattr(clf, "booster_")
    ('isotonic', False)
    """

    def __init__(
        self,
        num_leaves: int = 7,
        learning_rate: float = 0.05,
        n_estimators: int = 2000,
        min_child_samples: int = 200,
        feature_fraction: float = 0.9,
        bagging_fraction: float = 0.9,
        bagging_freq: int = 1,
        lambda_l2: float = 10.0,
        early_stopping_rounds: int = 50,
        num_threads: int = 0,
        seed: int = 42,
        class_weight: Literal["balanced", "none"] = "balanced",
        calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid",
        base_terms: Sequence[tuple[str, str]] = (),
        exclude_from_trees: Sequence[str] = (),
        base_c: float = 1.0,
    ) -> None:
        self.num_leaves = num_leaves
        self.learning_rate = learning_rate
        self.n_estimators = n_estimators
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.bagging_freq = bagging_freq
        self.lambda_l2 = lambda_l2
        self.early_stopping_rounds = early_stopping_rounds
        self.num_threads = num_threads
        self.seed = seed
        self.class_weight = class_weight
        self.calibration = calibration
        self.base_terms = base_terms
        self.exclude_from_trees = exclude_from_trees
        self.base_c = base_c

    def __repr__(self) -> str:
        return (
            f"VipClassifier(num_leaves={self.num_leaves}, learning_rate={self.learning_rate}, "
            f"n_estimators={self.n_estimators}, calibration={self.calibration!r})"
        )

    # ------------------------------------------------------------------ parameters and data

    def lgb_params(self) -> dict[str, Any]:
        """The LightGBM parameter dict used for training."""
        return {
            "objective": "binary",
            "metric": "binary_logloss",
            "num_leaves": int(self.num_leaves),
            "learning_rate": float(self.learning_rate),
            "min_child_samples": int(self.min_child_samples),
            "feature_fraction": float(self.feature_fraction),
            "bagging_fraction": float(self.bagging_fraction),
            "bagging_freq": int(self.bagging_freq),
            "lambda_l2": float(self.lambda_l2),
            "num_threads": int(self.num_threads),
            "seed": int(self.seed),
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def _check_settings(self) -> None:
        choices = {
            "class_weight": ("balanced", "none"),
            "calibration": ("sigmoid", "isotonic", "none"),
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise VipmlError(
                    f"{name}={getattr(self, name)!r} is not one of {', '.join(map(repr, valid))}"
                )
        for feature, how in self.base_terms:
            if how not in TRANSFORMS:
                raise VipmlError(
                    f"base term {feature!r}: transform {how!r} is not one of "
                    f"{', '.join(TRANSFORMS)}"
                )

    def _check_columns(self, X: pd.DataFrame, names: Sequence[str], what: str) -> None:
        if not isinstance(X, pd.DataFrame):
            raise VipmlError(f"{what}: expected a pandas DataFrame, got {type(X).__name__}")
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise VipmlError(
                f"{what}: {len(missing)} feature column(s) missing ({format_examples(missing)}): "
                "build them with the same vipml version and config as the model"
            )

    def tree_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """The trees' input: the tree features of ``X`` as a float64 matrix (categoricals as
        codes of the fitted levels). Classifiers with the same :meth:`tree_input_key` read the
        same matrix, so it can be built once and passed to several (``matrix=``).

        The matrix is column-major (Fortran order): it is filled a column at a time with
        contiguous writes, LightGBM predicts from it without a copy, and TreeSHAP reads it by
        column."""
        out = np.empty((len(X), len(self.tree_features_)), dtype=np.float64, order="F")
        for j, col in enumerate(self.tree_features_):
            values = X[col]
            if col in self.categories_:
                out[:, j] = _level_codes(values, self.categories_[col])
            elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "biuf":
                out[:, j] = values.to_numpy()  # NumPy numbers: no missing value but NaN
            elif pd.api.types.is_numeric_dtype(values):
                out[:, j] = values.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                out[:, j] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        return out

    def _tree_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """:meth:`tree_matrix` with the tree feature names, as LightGBM trains on it."""
        return pd.DataFrame(self.tree_matrix(X), index=X.index, columns=self.tree_features_)

    def tree_input_key(self) -> tuple:
        """What :meth:`tree_matrix` depends on: the tree features and the categorical levels."""
        return tuple(self.tree_features_), tuple(
            (k, tuple(v)) for k, v in sorted(self.categories_.items())
        )

    def _base_matrix(self, X: pd.DataFrame, terms: Sequence[tuple[str, str]]) -> np.ndarray:
        if not terms:
            return np.zeros((len(X), 0))
        cols = [_transform(X[f].to_numpy(dtype=np.float64), how) for f, how in terms]
        return np.column_stack(cols)

    def _base_score(self, X: pd.DataFrame) -> np.ndarray:
        base = self.base_
        if not base["terms"]:
            return np.full(len(X), float(base["intercept"]))
        Z = (self._base_matrix(X, base["terms"]) - base["mean"]) / base["scale"]
        return Z @ np.asarray(base["coef"]) + float(base["intercept"])

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        if self.class_weight == "none":
            return None
        n, pos = len(y), int(y.sum())
        w_pos, w_neg = n / (2.0 * pos), n / (2.0 * (n - pos))
        return np.where(y, w_pos, w_neg)

    # ------------------------------------------------------------------------------ fitting

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | pd.Series,
        X_valid: pd.DataFrame,
        y_valid: np.ndarray | pd.Series,
    ) -> VipClassifier:
        """Fit the prior and the trees on ``X``; stop early and calibrate on ``X_valid``.

        ``X_valid`` should be a later time window than ``X`` (never a random split).
        """
        self._check_settings()
        y = np.asarray(y, dtype=bool)
        y_valid = np.asarray(y_valid, dtype=bool)
        self._check_columns(X, [f for f, _ in self.base_terms], "training rows")
        for name, target in (("training", y), ("validation", y_valid)):
            if target.all() or not target.any():
                raise VipmlError(
                    f"the {name} rows ({len(target):,}) hold only "
                    f"{'positive' if target.any() else 'negative'} examples: use a longer "
                    "history, more training cutoffs or another label threshold"
                )
        self.feature_names_ = [str(c) for c in X.columns]
        excluded = set(self.exclude_from_trees)
        self.tree_features_ = [c for c in self.feature_names_ if c not in excluded]
        if not self.tree_features_:
            raise VipmlError("no feature is left for the trees: check exclude_from_trees")
        self._check_columns(X_valid, self.feature_names_, "validation rows")
        self.categories_ = {
            c: sorted(X[c].astype("string").fillna("unknown").astype(str).unique().tolist())
            for c in self.tree_features_
            if _is_categorical(X[c])
        }
        weights = self._weights(y)

        # 1. the linear prior
        terms = [(str(f), str(how)) for f, how in self.base_terms]
        Z = self._base_matrix(X, terms)
        mean = Z.mean(axis=0) if terms else np.zeros(0)
        scale = Z.std(axis=0) if terms else np.zeros(0)
        scale = np.where(scale > 0, scale, 1.0)
        if terms:
            lr = LogisticRegression(C=self.base_c, max_iter=5000)
            lr.fit((Z - mean) / scale, y, sample_weight=weights)
            coef, intercept = lr.coef_[0].tolist(), float(lr.intercept_[0])
        else:
            w = np.ones(len(y)) if weights is None else weights
            rate = float(np.clip(np.sum(w * y) / np.sum(w), _EPS, 1 - _EPS))
            coef, intercept = [], float(np.log(rate / (1 - rate)))
        self.base_ = {
            "terms": terms,
            "mean": mean,
            "scale": scale,
            "coef": coef,
            "intercept": intercept,
        }

        # 2. the trees, boosted from the prior
        train = lgb.Dataset(
            self._tree_frame(X),
            y.astype(np.int32),
            weight=weights,
            init_score=self._base_score(X),
            categorical_feature=[c for c in self.tree_features_ if c in self.categories_]
            or "auto",
            free_raw_data=True,
        )
        valid = lgb.Dataset(
            self._tree_frame(X_valid),
            y_valid.astype(np.int32),
            weight=self._weights(y_valid),
            init_score=self._base_score(X_valid),
            reference=train,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            booster = lgb.train(
                self.lgb_params(),
                train,
                num_boost_round=int(self.n_estimators),
                valid_sets=[valid],
                valid_names=["validation"],
                callbacks=(
                    [lgb.early_stopping(int(self.early_stopping_rounds), verbose=False)]
                    if self.early_stopping_rounds > 0
                    else []
                ),
            )
        self.best_iteration_ = int(booster.best_iteration or booster.current_iteration())
        # keep exactly the trees that are used: a saved and reloaded model predicts the same
        self.booster_ = lgb.Booster(
            model_str=booster.model_to_string(num_iteration=self.best_iteration_)
        )

        # 3. calibration on the validation window
        raw = self.decision_function(X_valid)
        self.calibrator_ = self._fit_calibration(raw, y_valid)
        p = self._calibrate(raw)
        pc = np.clip(p, _EPS, 1 - _EPS)
        self.validation_ = {
            "rows": int(len(y_valid)),
            "positive_rate": float(y_valid.mean()),
            "best_iteration": self.best_iteration_,
            "log_loss": float(-np.mean(y_valid * np.log(pc) + (~y_valid) * np.log(1 - pc))),
            "roc_auc": roc_auc(y_valid, raw),
            "average_precision": average_precision(y_valid, raw),
        }
        self.n_train_ = int(len(y))
        self.train_positive_rate_ = float(y.mean())
        log.info(
            "trained %d trees on %d rows (validation AUC %.4f)",
            self.best_iteration_,
            len(y),
            self.validation_["roc_auc"],
        )
        return self

    def _fit_calibration(self, raw: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        return fit_calibration(raw, y, self.calibration)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return apply_calibration(self.calibrator_, raw)

    # --------------------------------------------------------------------------- prediction

    def _check_fitted(self) -> None:
        check_is_fitted(
            self, "booster_", "call fit(...) first, or load a model with vipml.load_model()"
        )

    def _matrix(self, X: pd.DataFrame, matrix: np.ndarray | None) -> np.ndarray:
        self._check_fitted()
        self._check_columns(X, self.feature_names_, "scoring rows")
        if matrix is None:
            return self.tree_matrix(X)
        if matrix.shape != (len(X), len(self.tree_features_)):
            raise VipmlError(
                f"matrix has shape {matrix.shape}, not ({len(X)}, {len(self.tree_features_)}):"
                " build it with tree_matrix(X) of a classifier with the same tree_input_key()"
            )
        return matrix

    def tree_scores(self, matrix: np.ndarray, threads: int | None = None) -> np.ndarray:
        """The trees' raw scores (log-odds, without the prior) of the rows of a
        :meth:`tree_matrix`, on ``threads`` threads (LightGBM's default: every core). Each
        row's score depends on that row only: blocks of rows can be scored side by side."""
        self._check_fitted()
        extra: dict[str, Any] = {} if threads is None else {"num_threads": int(threads)}
        return np.asarray(self.booster_.predict(matrix, raw_score=True, **extra), np.float64)

    def decision_function(
        self,
        X: pd.DataFrame,
        matrix: np.ndarray | None = None,
        tree_scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Raw log-odds: the prior's plus the trees' (before calibration).

        ``matrix``: :meth:`tree_matrix` of ``X``, when it is built already; ``tree_scores``:
        :meth:`tree_scores` of it, when they are computed already.
        """
        if tree_scores is None:
            tree_scores = self.tree_scores(self._matrix(X, matrix))
        elif len(tree_scores) != len(X):
            raise VipmlError(f"tree_scores has {len(tree_scores)} values for {len(X)} rows")
        return np.asarray(tree_scores, dtype=np.float64) + self._base_score(X)

    def predict_proba(
        self,
        X: pd.DataFrame,
        matrix: np.ndarray | None = None,
        tree_scores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Calibrated probability of the positive class, one per row (``matrix`` and
        ``tree_scores`` as in :meth:`decision_function`)."""
        return self._calibrate(self.decision_function(X, matrix, tree_scores))

    def contributions(self, X: pd.DataFrame, matrix: np.ndarray | None = None) -> pd.DataFrame:
        """Per-feature contributions to the raw log-odds, plus ``bias``; rows sum to the score
        (``matrix`` as in :meth:`decision_function`)."""
        matrix = self._matrix(X, matrix)
        # exact TreeSHAP, equal to LightGBM's pred_contrib, computed once per decision pattern
        contrib = tree_contributions(
            self.booster_, matrix, n_jobs=max(int(self.num_threads), 0) or cpu_count()
        )
        # one float64 block filled in place: TreeSHAP's own when every feature feeds the trees
        names = [*self.feature_names_, "bias"]
        position = {name: j for j, name in enumerate(names)}
        bias = contrib[:, -1] + float(self.base_["intercept"])
        if list(self.tree_features_) == list(self.feature_names_):
            values = contrib
        else:
            values = np.zeros((len(X), len(names)), dtype=np.float64)
            values[:, [position[f] for f in self.tree_features_]] = contrib[:, :-1]
        base = self.base_
        if base["terms"]:
            Z = (self._base_matrix(X, base["terms"]) - base["mean"]) / base["scale"]
            for j, (feature, _) in enumerate(base["terms"]):
                part = Z[:, j] * base["coef"][j]
                if feature in position:
                    values[:, position[feature]] += part
                else:
                    bias = bias + part
        values[:, -1] = bias
        return pd.DataFrame(values, index=X.index, columns=names, copy=False)

    # -------------------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state (everything but the trees, see :meth:`booster_text`)."""
        self._check_fitted()
        params = {
            k: (list(map(list, v)) if k == "base_terms" else list(v) if k == "exclude_from_trees"
                else v)
            for k, v in self.get_params().items()
        }
        return {
            "model": "vip_classifier",
            "format_version": _FORMAT_VERSION,
            "params": params,
            "feature_names": list(self.feature_names_),
            "tree_features": list(self.tree_features_),
            "categories": {k: list(v) for k, v in self.categories_.items()},
            "best_iteration": self.best_iteration_,
            "base": {
                "terms": [list(t) for t in self.base_["terms"]],
                "mean": np.asarray(self.base_["mean"]).tolist(),
                "scale": np.asarray(self.base_["scale"]).tolist(),
                "coef": list(self.base_["coef"]),
                "intercept": float(self.base_["intercept"]),
            },
            "calibration": self.calibrator_,
            "validation": self.validation_,
            "n_train": self.n_train_,
            "train_positive_rate": self.train_positive_rate_,
        }

    def booster_text(self) -> str:
        """The LightGBM trees as text (``Booster.model_to_string``)."""
        self._check_fitted()
        return self.booster_.model_to_string()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], booster_text: str) -> VipClassifier:
        """Rebuild a fitted classifier from :meth:`to_dict` output and the trees' text."""
        if not isinstance(d, Mapping) or d.get("model") != "vip_classifier":
            raise ModelFormatError("classifier: the saved model is not a vipml classifier")
        if d.get("format_version") != _FORMAT_VERSION:
            raise ModelFormatError(
                f"classifier: format_version {d.get('format_version')!r} is not supported "
                f"(this vipml reads {_FORMAT_VERSION}): retrain the model"
            )
        try:
            params = dict(d["params"])
            params["base_terms"] = tuple(tuple(t) for t in params.get("base_terms", ()))
            params["exclude_from_trees"] = tuple(params.get("exclude_from_trees", ()))
            model = cls(**params)
            model.feature_names_ = list(d["feature_names"])
            model.tree_features_ = list(d["tree_features"])
            model.categories_ = {k: list(v) for k, v in d["categories"].items()}
            model.best_iteration_ = int(d["best_iteration"])
            base = d["base"]
            model.base_ = {
                "terms": [tuple(t) for t in base["terms"]],
                "mean": np.asarray(base["mean"], dtype=np.float64),
                "scale": np.asarray(base["scale"], dtype=np.float64),
                "coef": [float(c) for c in base["coef"]],
                "intercept": float(base["intercept"]),
            }
            model.calibrator_ = dict(d["calibration"])
            model.validation_ = dict(d.get("validation", {}))
            model.n_train_ = int(d.get("n_train", 0))
            model.train_positive_rate_ = float(d.get("train_positive_rate", float("nan")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"classifier: damaged parameters ({exc!r}): retrain") from None
        try:
            model.booster_ = lgb.Booster(model_str=booster_text)
        except Exception as exc:  # LightGBM raises its own LightGBMError
            raise ModelFormatError(f"classifier: the LightGBM text is damaged: {exc}") from None
        if list(model.booster_.feature_name()) != _lgb_names(model.tree_features_):
            raise ModelFormatError(
                "classifier: the LightGBM trees use other features than its parameters list: "
                "the bundle is damaged, retrain"
            )
        return model


def _level_codes(column: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Each value's position in ``levels`` as float (missing values read ``'unknown'``; NaN
    for a value not among the levels). Distinct values are looked up once.

    >>> _level_codes(pd.Series(["b", None, "z", "b"]), ["a", "b", "unknown"]).tolist()
    [1.0, 2.0, nan, 1.0]
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    names = pd.Series(uniques, dtype=object).astype("string").fillna("unknown").astype(object)
    positions = pd.Index(levels).get_indexer(names)
    return np.where(positions >= 0, positions, np.nan).astype(np.float64)[codes]


def _is_categorical(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
    )


def _lgb_names(names: Sequence[str]) -> list[str]:
    """Feature names as LightGBM stores them (spaces become underscores)."""
    return [str(n).replace(" ", "_") for n in names]
