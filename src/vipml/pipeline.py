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
``(cutoff, cutoff + horizon]``.

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

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vipml.btyd_report import compare_models
from vipml.bundle import VipModel, data_fingerprint, load_model
from vipml.config import Config, parse_duration
from vipml.data.schema import align_ids, transaction_attributes
from vipml.errors import ConfigError, SchemaError, VipmlError
from vipml.features import (
    build_features,
    calibration_holdout,
    features_and_first_category,
    first_category,
    profitable_lines,
)
from vipml.features.attributes import row_attributes
from vipml.features.rfm import BTYD_COLUMNS
from vipml.labels import IncompleteHorizonWarning, make_labels
from vipml.model_columns import model_feature_names
from vipml.model_inputs import GivenInputs, ModelInputs, check_inputs, restrict_to_model
from vipml.modeling.backtest import (
    BASELINES,
    TARGETS,
    BacktestResult,
    baseline_score,
    evaluate,
    fit_isotonic,
)
from vipml.modeling.btyd import BtydWarning, LifetimeValueModel
from vipml.modeling.classifier import (
    BASE_TERMS,
    BTYD_OUTPUTS,
    TIME_SCALE_COLUMNS,
    VipClassifier,
    derived_columns,
)
from vipml.segments import INPUT_COLUMNS
from vipml.units import DAYS_PER_MONTH
from vipml.wording import join_reasons, top_reasons

__all__ = [
    "Progress",
    "SCORE_COLUMNS",
    "VipModel",
    "load_model",
    "training_cutoffs",
    "model_frame",
    "training_frame",
    "validation_customers",
    "train",
    "score",
    "explain",
    "REASON_COLUMNS",
    "backtest",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

#: The first columns of the scores table (feature columns follow).
SCORE_COLUMNS = INPUT_COLUMNS + ("reason_1", "reason_2", "reason_3", "churn_reasons")

_MAX_LEVELS = 200


def _noop(step: str, done: int, total: int) -> None:
    return None


def _day(ts: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).normalize()


def _up_to(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows on or before the cutoff's day."""
    end = _day(cutoff) + pd.Timedelta(days=1)
    keep = (transactions["timestamp"] < end).to_numpy()
    return transactions if keep.all() else transactions.loc[keep]


def _aligned(
    transactions: pd.DataFrame, events: pd.DataFrame | None, customers: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Events and customers with ids of the transactions' kind (see :func:`align_ids`)."""
    ids = transactions["customer_id"]
    return align_ids(events, ids), align_ids(customers, ids)


def _check_transactions(transactions: pd.DataFrame) -> None:
    if not isinstance(transactions, pd.DataFrame):
        raise SchemaError([f"expected a pandas DataFrame, got {type(transactions).__name__}"])
    missing = [c for c in ("customer_id", "timestamp", "revenue") if c not in transactions]
    if missing or not pd.api.types.is_datetime64_any_dtype(transactions["timestamp"]):
        raise SchemaError(
            [
                "transactions lack customer_id, timestamp (datetime) or revenue: read them with "
                "vipml.data.io.read_transactions or validate_transactions first"
            ]
        )
    if transactions.empty:
        raise SchemaError(["transactions: no rows: nothing to train or score"])


def training_cutoffs(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
) -> list[pd.Timestamp]:
    """The historical cutoffs stacked for training, newest (the validation window) first.

    ``c_k = cutoff - horizon - k * step`` while ``c_k`` has ``min_history_days`` of data
    before it, at most ``max_cutoffs``.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> [f"{c:%Y-%m-%d}" for c in training_cutoffs(load_cdnow(sample=True), "1997-12-31", "26W")]
    ['1997-07-02', '1997-06-04', '1997-05-07', '1997-04-09']
    """
    config = config or Config()
    cutoff = _day(cutoff)
    h = parse_duration(horizon)
    step = parse_duration(config.training.cutoff_step, "training.cutoff_step")
    first = _day(transactions["timestamp"].min())
    earliest = first + pd.Timedelta(days=config.training.min_history_days)
    out = []
    for k in range(max(config.training.max_cutoffs, 0)):
        c = cutoff - h - k * step
        if c < earliest:
            break
        out.append(c)
    if len(out) < 2:
        raise VipmlError(
            f"only {len(out)} training cutoff(s) fit between the first date "
            f"{first:%Y-%m-%d} (+{config.training.min_history_days} days of history) and "
            f"{cutoff:%Y-%m-%d} minus the horizon ({h.days} days): at least 2 are needed (one "
            "to train, one to validate): use a later cutoff, a shorter horizon, a shorter "
            "training.cutoff_step or a smaller training.min_history_days"
        )
    return out


def _attributes(customers: pd.DataFrame | None) -> pd.DataFrame:
    """Categorical attributes of the customers table (text columns), indexed by customer_id."""
    if customers is None:
        return pd.DataFrame(index=pd.Index([], name="customer_id"))
    if "customer_id" not in customers:
        raise SchemaError(["customers: missing required column 'customer_id'"], "customers")
    table = customers.drop_duplicates("customer_id").set_index("customer_id")
    keep = []
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        if pd.api.types.is_bool_dtype(values):
            continue
        if _few_levels(values, "customers", col):
            keep.append(col)
    return table[keep].astype("string").fillna("unknown").astype(object)


def _few_levels(values: pd.Series, table: str, column: str) -> bool:
    """Whether a text column has few enough distinct values to be a categorical feature."""
    levels = values.nunique(dropna=True)
    if levels > _MAX_LEVELS:
        log.warning(
            "%s: %s has %d distinct values (more than %d): not used as a feature",
            table, column, levels, _MAX_LEVELS,
        )
        return False
    return True


def row_attribute_names(transactions: pd.DataFrame) -> list[str]:
    """The customer attributes carried on the transaction rows (``input.customer_attributes``)
    that can be features: at most ``_MAX_LEVELS`` distinct values each."""
    return [
        name
        for name in transaction_attributes(transactions)
        if _few_levels(transactions[name], "transactions", name)
    ]


def _customer_attributes_at(
    transactions: pd.DataFrame,
    customers_table: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    names: Sequence[str],
) -> pd.DataFrame:
    """The attributes ``names`` at ``cutoff``: from the customers table where it has the column
    (it wins for the same name), else from the transaction rows; ``first_category`` is left to
    :func:`model_frame`."""
    from_rows = [
        n for n in names if n not in customers_table.columns and n in transactions.columns
    ]
    table = customers_table.reindex(columns=[n for n in names if n in customers_table.columns])
    if from_rows:
        table = pd.concat([table, row_attributes(transactions, cutoff, from_rows)], axis=1)
    return table.reindex(columns=list(names))


def _btyd_inputs(features: pd.DataFrame) -> dict[str, pd.Series]:
    orders = features["orders"].to_numpy(dtype=np.float64)
    support = features["support_cost"].to_numpy(dtype=np.float64) / np.maximum(orders, 1.0)
    return {
        "margin_rate": features["margin_rate"],
        "return_rate": features["return_rate_value"],
        "support_cost_rate": pd.Series(support, index=features.index),
    }


def _make_btyd(config: Config, purchase_model: str) -> LifetimeValueModel:
    return LifetimeValueModel.from_config(config, purchase_model)


def _choose_purchase_model(
    transactions: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta, config: Config
) -> str:
    """``config.btyd.model``, or for ``'auto'`` the best on the latest label window."""
    if config.btyd.model != "auto":
        return config.btyd.model
    ch = calibration_holdout(
        _up_to(transactions, cutoff), cutoff - horizon, horizon, config=config, features="btyd"
    )
    best = compare_models(ch, penalizers=config.btyd.penalizers).best
    log.info("btyd.model auto: %s predicts the latest window best", best)
    return best


def _btyd_outputs(
    btyd: LifetimeValueModel, features: pd.DataFrame, horizon: pd.Timedelta, config: Config
) -> pd.DataFrame:
    summary = features[list(BTYD_COLUMNS)]
    inputs = _btyd_inputs(features)
    with warnings.catch_warnings():  # the CLV call below repeats any warning once
        warnings.simplefilter("ignore", BtydWarning)
        near = btyd.predict(summary, horizon.days / 7.0, **inputs)
    clv_weeks = config.btyd.clv_months * DAYS_PER_MONTH / 7.0
    far = btyd.predict(summary, clv_weeks, **inputs)
    out = near[["expected_purchases", "p_alive", "p_no_purchase", "expected_spend"]].copy()
    out["expected_value"] = out["expected_purchases"] * out["expected_spend"]
    out["clv"] = far["clv"]
    out["clv_profit"] = far["clv_profit"]
    return out[list(BTYD_OUTPUTS)]


def model_frame(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    btyd: LifetimeValueModel,
    events: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    config: Config | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The classifiers' input at ``cutoff``: features, BTYD outputs, ratios and attributes.

    One row per customer with a purchase or a return on or before the cutoff, indexed by
    ``customer_id``, columns :func:`~vipml.model_columns.model_feature_names`.
    ``features``: the :func:`~vipml.features.build_features` table of these transactions at
    this cutoff, when it is at hand (it is not built again).
    """
    config = config or Config()
    horizon = parse_duration(horizon)
    names = [] if attributes is None else list(attributes.columns)
    first = None
    if "first_category" in names and "category" in transactions:
        if features is None:
            features, first = features_and_first_category(
                transactions, cutoff, events, config, profitable_lines=profitable_lines
            )
        else:
            first = first_category(transactions, cutoff)
    elif features is None:
        features = build_features(
            transactions, cutoff, events, config, profitable_lines=profitable_lines
        )
    parts = [features, _btyd_outputs(btyd, features, horizon, config), derived_columns(features)]
    if attributes is not None and names:
        table = attributes.reindex(features.index)
        if first is not None:
            table["first_category"] = first.reindex(features.index).astype(object)
        parts.append(table.fillna("unknown"))
    frame = pd.concat(parts, axis=1)
    return frame[model_feature_names(names)]


def _attribute_features(transactions: pd.DataFrame, customers_table: pd.DataFrame) -> list[str]:
    """The attribute features: the customers table's (:func:`_attributes`), then the row
    attributes it lacks, then ``first_category`` when there are categories."""
    names = list(customers_table.columns)
    names += [n for n in row_attribute_names(transactions) if n not in names]
    if "category" in transactions and "first_category" not in names:
        names.append("first_category")
    return names


def training_frame(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta = "26W",
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
    purchase_model: str | None = None,
) -> pd.DataFrame:
    """Stacked training rows: one per (historical cutoff, customer known at it).

    Columns: the model features, the labels of :func:`vipml.labels.make_labels` and
    ``cutoff`` (the window's cutoff). Everything in a row is computed from data up to its own
    cutoff, except the labels, which come from ``(cutoff, cutoff + horizon]``.
    """
    config = config or Config()
    progress = progress or _noop
    cutoff = _day(cutoff)
    horizon_td = parse_duration(horizon)
    tx = _up_to(transactions, cutoff)
    cutoffs = training_cutoffs(tx, cutoff, horizon_td, config)
    purchase_model = purchase_model or _choose_purchase_model(tx, cutoff, horizon_td, config)
    customers_table = _attributes(customers)
    attribute_names = _attribute_features(tx, customers_table)
    in_sample = _training_sample(tx, config)
    frames = []
    for i, c in enumerate(cutoffs):
        progress(f"features and BTYD at {c:%Y-%m-%d}", i, len(cutoffs))
        past = _up_to(tx, c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BtydWarning)
            if in_sample is None:
                features = build_features(past, c, events, config)
                summary = features[list(BTYD_COLUMNS)]
            else:  # BTYD and profitable lines from everyone, the features of the sample
                summary = build_features(past, c, config=config, family="btyd")
                lines = profitable_lines(past, c, config) if "category" in past else None
                past = past.loc[in_sample(past)]
                sample_events = None if events is None else events.loc[in_sample(events)]
                features = build_features(
                    past, c, sample_events, config, profitable_lines=lines
                )
            btyd = _make_btyd(config, purchase_model).fit(summary)
            attrs = _customer_attributes_at(past, customers_table, c, attribute_names)
            frame = model_frame(
                past, c, horizon_td, btyd, events, attrs, config, features=features
            )
        labels = make_labels(tx, c, horizon_td, config, warn=False)
        frame = frame.join(labels)
        frame["cutoff"] = c
        frames.append(frame)
    progress("training windows ready", len(cutoffs), len(cutoffs))
    return pd.concat(frames)


def _training_sample(
    transactions: pd.DataFrame, config: Config
) -> Callable[[pd.DataFrame], np.ndarray] | None:
    """A row filter keeping the customers sampled for training, or None to keep everyone.

    Above ``training.max_customers`` customers, each customer is in the sample when a fixed
    hash of its id (independent of the validation split) falls below the sampled share.
    """
    limit = config.training.max_customers
    n = int(transactions["customer_id"].nunique())
    if limit is None or n <= limit:
        return None
    share = limit / n
    log.info(
        "training on a sample of %d of %d customers per window (training.max_customers)",
        limit, n,
    )

    def keep(frame: pd.DataFrame) -> np.ndarray:
        ids = frame["customer_id"].to_numpy()
        if ids.dtype == object:
            ids = ids.astype(str).astype(object)
        # the hash's high bits: independent of the low bits that split off validation
        buckets = (pd.util.hash_array(ids) >> np.uint64(32)) % np.uint64(1_000_000)
        return buckets < np.uint64(round(share * 1_000_000))

    return keep


def validation_customers(customer_ids: pd.Index | np.ndarray, share: float) -> np.ndarray:
    """True for the customers held out for validation: a fixed hash of the id below ``share``.

    The same customer is always in the same part, whatever the data around it.

    Examples
    --------
    >>> mask = validation_customers(pd.Index(range(10_000)), 0.3)
    >>> round(float(mask.mean()), 2), bool((mask == validation_customers(range(10_000), 0.3)).all())
    (0.3, True)
    """
    if not 0 < share < 1:
        raise ConfigError(f"training.validation_share: {share} must be between 0 and 1")
    ids = np.asarray(customer_ids)
    if ids.dtype == object:
        ids = ids.astype(str).astype(object)
    buckets = pd.util.hash_array(ids) % np.uint64(10_000)
    return buckets < np.uint64(round(share * 10_000))


def _classifier(config: Config, target: str) -> VipClassifier:
    lg = config.lightgbm
    return VipClassifier(
        num_leaves=lg.num_leaves,
        learning_rate=lg.learning_rate,
        n_estimators=lg.n_estimators,
        min_child_samples=lg.min_child_samples,
        feature_fraction=lg.feature_fraction,
        bagging_fraction=lg.bagging_fraction,
        bagging_freq=lg.bagging_freq,
        lambda_l2=lg.lambda_l2,
        early_stopping_rounds=lg.early_stopping_rounds,
        num_threads=lg.num_threads,
        seed=config.training.seed,
        class_weight=config.training.class_weight,
        calibration=config.training.calibration,
        base_terms=BASE_TERMS[target],
        exclude_from_trees=TIME_SCALE_COLUMNS,
    )


def _rows(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    if target == "churn":
        return frame.loc[frame["churn_eligible"].to_numpy(dtype=bool)]
    return frame


def _fit(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    events: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    config: Config | None,
    progress: Progress | None,
) -> tuple[VipModel, pd.DataFrame]:
    """Train; also return the validation window's rows (features, labels, baselines)."""
    config = config or Config()
    progress = progress or _noop
    _check_transactions(transactions)
    events, customers = _aligned(transactions, events, customers)
    cutoff = _day(cutoff)
    horizon_td = parse_duration(horizon)
    horizon_text = horizon if isinstance(horizon, str) else f"{horizon_td.days}D"
    tx = _up_to(transactions, cutoff)
    if tx.empty:
        raise VipmlError(
            f"no transaction on or before the cutoff {cutoff:%Y-%m-%d} (the data start on "
            f"{transactions['timestamp'].min():%Y-%m-%d}): choose a later cutoff"
        )
    purchase_model = _choose_purchase_model(tx, cutoff, horizon_td, config)
    cutoffs = training_cutoffs(tx, cutoff, horizon_td, config)
    total = len(cutoffs) + 3

    def step(message: str, done: int) -> None:
        progress(message, done, total)

    frame = training_frame(
        tx, cutoff, horizon_td, events, customers, config,
        progress=lambda m, d, t: step(m, d), purchase_model=purchase_model,
    )
    latest = (frame["cutoff"] == cutoffs[0]).to_numpy()
    held_out = validation_customers(frame.index, config.training.validation_share)
    valid, train_rows = frame.loc[latest & held_out], frame.loc[~latest & ~held_out]
    names = [c for c in frame.columns if c not in ("cutoff", *_LABELS)]
    attributes = names[len(model_feature_names()):]
    from_table = [a for a in attributes if customers is not None and a in customers.columns]
    inputs = ModelInputs.of_training(
        tx, events, customers, from_table,
        [a for a in attributes if a not in from_table and a != "first_category"],
    )

    classifiers: dict[str, VipClassifier] = {}
    training: dict[str, Any] = {
        "cutoffs": [f"{c:%Y-%m-%d}" for c in cutoffs],
        "validation_cutoff": f"{cutoffs[0]:%Y-%m-%d}",
        "validation_share": config.training.validation_share,
        "purchase_model": purchase_model,
        "customers": int(tx["customer_id"].nunique()),
        "transactions": int(len(tx)),
        "training_customers": int(frame.index.nunique()),
    }
    for i, target in enumerate(TARGETS):
        step(f"training the {target} model", len(cutoffs) + i)
        tr, va = _rows(train_rows, target), _rows(valid, target)
        clf = _classifier(config, target).fit(tr[names], tr[target], va[names], va[target])
        classifiers[target] = clf
        training[target] = {
            "train_rows": int(len(tr)),
            "train_positive_rate": float(tr[target].mean()),
            "validation_rows": int(len(va)),
            "validation_positive_rate": float(va[target].mean()),
            "best_iteration": clf.best_iteration_,
        }

    step(f"BTYD model at {cutoff:%Y-%m-%d}", len(cutoffs) + 2)
    summary = build_features(tx, cutoff, config=config, family="btyd")
    btyd = _make_btyd(config, purchase_model).fit(summary)
    model = VipModel(
        config=config,
        cutoff=cutoff,
        horizon=horizon_text,
        feature_names=names,
        btyd=btyd,
        classifiers=classifiers,
        attributes=attributes,
        data_fingerprint=data_fingerprint(tx),
        training=training,
        inputs=inputs,
    )
    # validation metrics of the models and the baselines (on the latest window)
    scored = _predict(model, valid[names], explain=False)
    scored = pd.concat([scored, valid[list(_LABELS)]], axis=1)
    table = evaluate(scored)
    model.metrics = _metrics_dict(table, where=f"validation window {cutoffs[0]:%Y-%m-%d}")
    step("done", total)
    return model, scored


#: Days a training cutoff may lie after the last transaction (a quiet weekend or holiday at the
#: end of an export) with a warning; beyond, it is an error.
_QUIET_DAYS = 7

_LABELS = ("future_vip", "churn", "future_value", "future_purchases", "churn_eligible")


def _metrics_dict(table: pd.DataFrame, where: str) -> dict[str, Any]:
    result = BacktestResult(table=table, predictions=pd.DataFrame(), cutoff=pd.NaT, horizon="")
    out = result.metrics()
    log.info("metrics on the %s: %s", where, out)
    return out


def train(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta = "26W",
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
) -> VipModel:
    """Train the lifetime-value model and the future-VIP and churn classifiers at ``cutoff``.

    Only rows on or before the cutoff's day are read (see the module docs for the rolling
    windows). ``events`` (support tickets, referrals, ...) and ``customers`` (attributes used as
    categorical features) are optional.

    Returns
    -------
    VipModel
        With validation metrics (latest window) of the models and the baselines in
        ``metrics``; save it with :meth:`VipModel.save`.
    """
    _check_transactions(transactions)
    last = _day(transactions["timestamp"].max())
    gap = (_day(cutoff) - last).days
    if gap > 0:
        message = (
            f"the cutoff {_day(cutoff):%Y-%m-%d} is after the last transaction "
            f"({last:%Y-%m-%d}, {gap:,} day{'s' if gap != 1 else ''} earlier): the latest label "
            "window reads days without data as days without purchases"
        )
        if gap > _QUIET_DAYS:
            raise VipmlError(
                f"{message}; train at or before {last:%Y-%m-%d}, or give the newer data"
            )
        warnings.warn(
            f"{message} (a quiet end of the data?)", IncompleteHorizonWarning, stacklevel=2
        )
    model, _ = _fit(transactions, cutoff, horizon, events, customers, config, progress)
    return model


class _TreeInputs:
    """The trees' input matrix of a frame, built once for classifiers that read the same."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame, self.built = frame, {}

    def of(self, classifier: VipClassifier) -> np.ndarray:
        key = classifier.tree_input_key()
        if key not in self.built:
            self.built[key] = classifier.tree_matrix(self.frame)
        return self.built[key]


def _predict(model: VipModel, frame: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
    """Probabilities and reason columns (empty unless ``explain``) for a model frame's rows."""
    out = pd.DataFrame(index=frame.index)
    matrices = _TreeInputs(frame)
    for target, column in (("future_vip", "p_future_vip"), ("churn", "p_churn")):
        classifier = model.classifiers[target]
        out[column] = classifier.predict_proba(frame, matrices.of(classifier))
    out = pd.concat([out, _reason_columns(model, frame, explain)], axis=1)
    return pd.concat([out, frame], axis=1)


REASON_COLUMNS = ("reasons", "reason_1", "reason_2", "reason_3", "churn_reasons")


def _reason_columns(model: VipModel, frame: pd.DataFrame, explain: bool) -> pd.DataFrame:
    """The reason columns of :data:`REASON_COLUMNS` for the rows of a model frame."""
    out = pd.DataFrame("", index=frame.index, columns=list(REASON_COLUMNS), dtype=object)
    if not explain or frame.empty:
        return out
    matrices = _TreeInputs(frame)
    why = {}
    for target in TARGETS:
        classifier = model.classifiers[target]
        contributions = classifier.contributions(frame, matrices.of(classifier))
        why[target] = top_reasons(contributions, frame, k=3)
    out["reasons"] = join_reasons(why["future_vip"])
    for j, col in enumerate(why["future_vip"].columns, start=1):
        out[f"reason_{j}"] = why["future_vip"][col]
    out["churn_reasons"] = join_reasons(why["churn"])
    return out


def explain(
    model: VipModel, scores: pd.DataFrame, rows: np.ndarray | pd.Series | None = None
) -> pd.DataFrame:
    """Fill the reason columns of a scores table, for ``rows`` (a boolean mask) or every row.

    Reasons cost a TreeSHAP pass per customer and model. ``vipml score`` scores everyone
    without them (:func:`score` with ``explain=False``), segments, then explains the customers
    on a list (``scoring.reasons``); other rows keep empty reasons.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.config import config_from_dict
    >>> tx = load_cdnow(sample=True)
    >>> model = train(tx, "1997-12-31", "26W", config=config_from_dict(
    ...     {"lightgbm": {"n_estimators": 30, "num_threads": 1}}))
    >>> plain = score(model, tx, "1997-12-31", explain=False)
    >>> bool((plain["reasons"] == "").all())
    True
    >>> on = plain["p_future_vip"] > 0.5
    >>> full, everyone = explain(model, plain, rows=on), score(model, tx, "1997-12-31")
    >>> bool((full.loc[on, "reasons"] == everyone.loc[on, "reasons"]).all())
    True
    >>> bool((full.loc[~on, "reasons"] == "").all()), bool((everyone["reasons"] != "").any())
    (True, True)
    """
    missing = [c for c in (*model.feature_names, *REASON_COLUMNS) if c not in scores]
    if missing:
        raise VipmlError(
            f"explain: the scores lack {len(missing)} column(s) the model needs "
            f"({', '.join(missing[:5])}): pass a table made by vipml.pipeline.score"
        )
    mask = np.ones(len(scores), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if len(mask) != len(scores):
        raise VipmlError(f"explain: rows has {len(mask):,} entries for {len(scores):,} scores")
    out = scores.copy(deep=False)  # copy-on-write: only the reason columns are replaced
    chosen = scores.loc[mask, model.feature_names]
    filled = _reason_columns(model, chosen, explain=True)
    for col in REASON_COLUMNS:
        column = out[col].astype(object).to_numpy(copy=True)
        column[mask] = filled[col].to_numpy()
        out[col] = column
    return out


def score(
    model: VipModel,
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp | None = None,
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
    explain: bool = True,
    allow_missing: Iterable[str] = (),
    verify_inputs: bool = True,
) -> pd.DataFrame:
    """Score every customer seen up to ``cutoff``: predictions for ``(cutoff, cutoff + horizon]``.

    Parameters
    ----------
    model
        A trained or loaded :class:`VipModel`.
    transactions
        Validated transactions; rows after the cutoff's day are ignored.
    cutoff
        The scoring date; None takes the last date in the data (logged).
    events, customers
        As in :func:`train`. The model's inputs are checked first
        (:mod:`vipml.model_inputs`): an optional column, event kind or customer attribute it
        was trained with and not given here raises
        :class:`~vipml.model_inputs.MissingInputError`; inputs it never saw are left out, with
        a warning.
    profitable_lines
        The most profitable product lines, when the customers are scored in chunks (see
        :func:`vipml.features.build_features`); by default ranked from ``transactions``.
    explain
        Write each customer's reasons (the default). ``False`` leaves the reason columns empty
        and skips the TreeSHAP pass; :func:`explain` fills them later for chosen rows.
    allow_missing
        Names of inputs that may be missing (or ``'events'``, ``'customers'`` for all of that
        table's): they are filled as :data:`vipml.model_inputs.FILLS` says, with a warning.
    verify_inputs
        Check the inputs (the default); False when the caller checked the whole data already
        (a chunk or a Spark partition is scored).

    Returns
    -------
    DataFrame
        One row per customer with a purchase or a return on or before the cutoff, columns
        :data:`SCORE_COLUMNS` (``reasons``: the three strongest drivers of ``p_future_vip``
        joined by ``"; "``; ``churn_reasons``: the same for ``p_churn``), then every model
        feature. ``attrs['cutoff']`` holds the cutoff used.
    """
    _check_transactions(transactions)
    events, customers = _aligned(transactions, events, customers)
    needed = model.needed_inputs
    if verify_inputs:
        given = GivenInputs.of(transactions.columns, events, customers)
        check_inputs(needed, given, allow_missing).report(
            model.config.columns.transactions, stacklevel=3
        )
    transactions, events = restrict_to_model(needed, transactions, events)
    if cutoff is None:
        cutoff = _day(transactions["timestamp"].max())
        log.info("scoring at the last date in the data: %s", f"{cutoff:%Y-%m-%d}")
    cutoff = _day(cutoff)
    tx = _up_to(transactions, cutoff)
    if tx.empty:
        raise VipmlError(
            f"no transaction on or before the cutoff {cutoff:%Y-%m-%d} (the data start on "
            f"{transactions['timestamp'].min():%Y-%m-%d}): nothing to score"
        )
    attrs = None
    if model.attributes:
        table = _attributes(customers)
        attrs = _customer_attributes_at(tx, table, cutoff, model.attributes)
    frame = model_frame(
        tx, cutoff, model.horizon, model.btyd, events, attrs, model.config,
        profitable_lines=profitable_lines,
    )
    if list(frame.columns) != model.feature_names:
        raise VipmlError(
            "the features built here differ from the model's: rebuild them with the same "
            "customers table (attributes) as in training"
        )
    out = _predict(model, frame, explain=explain)
    out.index.name = "customer_id"
    out = out.reset_index()
    rest = [c for c in out.columns if c not in SCORE_COLUMNS]
    out = out[[*SCORE_COLUMNS, *rest]]
    out.attrs["cutoff"] = f"{cutoff:%Y-%m-%d}"
    out.attrs["horizon"] = model.horizon
    return out


def predicted_vip_list_check(
    predictions: pd.DataFrame, config: Config, cutoff: pd.Timestamp
) -> dict[str, float]:
    """How the predicted-VIP list of a backtest did: the share of its customers who became
    VIPs in the horizon (``precision``), against the same number of non-VIPs with the highest
    12-month spend (``spend_12m_precision``) and all non-VIPs (``base_rate``).

    ``predictions``: the backtest's scores joined with the outcomes (``future_vip``), indexed
    by ``customer_id``. The list is the one ``vipml score`` writes at the cutoff
    (:func:`vipml.segments.assign_segments` with ``config``).
    """
    from vipml.segments import assign_segments

    segmented = assign_segments(
        predictions.reset_index(), config, as_of=cutoff, order="input"
    )
    became = predictions["future_vip"].fillna(False).to_numpy(dtype=bool)
    others = ~segmented["vip_now"].to_numpy(dtype=bool)
    listed = (segmented["segment"] == "predicted_vip").to_numpy()
    n = int(listed.sum())
    spend = segmented["spend_12m"].to_numpy(dtype=np.float64)
    top_spend = np.flatnonzero(others)[np.argsort(-spend[others], kind="stable")[:n]]
    return {
        "customers": n,
        "non_vips": int(others.sum()),
        "min_p_future_vip": float(segmented.attrs["predicted_vip_min_p"]),
        "base_rate_p_future_vip": float(segmented.attrs["predicted_vip_base_rate"]),
        "precision": float(became[listed].mean()) if n else float("nan"),
        "spend_12m_precision": float(became[top_spend].mean()) if n else float("nan"),
        "base_rate": float(became[others].mean()) if others.any() else float("nan"),
    }


def backtest(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta = "26W",
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
) -> BacktestResult:
    """Train with data up to ``cutoff``, predict at it, judge on ``(cutoff, cutoff + horizon]``.

    The model never sees a row after the cutoff; the outcomes come from the full
    ``transactions``. Baselines are scored on the same customers (:mod:`vipml.modeling.backtest`).
    The data must cover the judged window: a window that ends up to 7 days after the data
    (a quiet end of an export) is judged with a warning; beyond, the cutoff is refused.
    """
    config = config or Config()
    progress = progress or _noop
    _check_transactions(transactions)
    cutoff = _day(cutoff)
    horizon_td = parse_duration(horizon)
    last = _day(transactions["timestamp"].max())
    if last < cutoff + pd.Timedelta(days=1):
        raise VipmlError(
            f"the data end on {last:%Y-%m-%d}, on or before the "
            f"backtest cutoff {cutoff:%Y-%m-%d}: there is nothing to judge the predictions on; "
            "choose an earlier cutoff"
        )
    short = (cutoff + horizon_td - last).days
    if short > _QUIET_DAYS:
        raise VipmlError(
            f"the data end on {last:%Y-%m-%d}, {short:,} days before the end of the judged "
            f"window ({cutoff:%Y-%m-%d}, {cutoff + horizon_td:%Y-%m-%d}]: the predictions "
            "cannot be judged on a full window (customers would look churned for lack of "
            f"data); choose a cutoff on or before {last - horizon_td:%Y-%m-%d}, or a shorter "
            "horizon"
        )
    past = _up_to(transactions, cutoff)
    past_events = None if events is None else events.loc[
        events["timestamp"] < cutoff + pd.Timedelta(days=1)
    ]
    model, valid = _fit(past, cutoff, horizon, past_events, customers, config, progress)
    scores = score(model, past, cutoff, past_events, customers).set_index("customer_id")
    outcomes = make_labels(transactions, cutoff, horizon_td, config)
    predictions = scores.join(outcomes, how="left")
    maps: dict[str, dict[str, Any]] = {}
    for target in TARGETS:
        rows = _rows(valid, target)
        for name, (column, sign) in BASELINES[target].items():
            maps.setdefault(target, {})[name] = fit_isotonic(
                baseline_score(rows, column, sign), rows[target].to_numpy(dtype=bool)
            )
    table = evaluate(predictions, maps)
    info = {
        "training": model.training,
        "validation": model.metrics,
        "data_fingerprint": model.data_fingerprint,
        "features": len(model.feature_names),
        "predicted_vip_list": predicted_vip_list_check(predictions, config, cutoff),
    }
    result = BacktestResult(
        table=table,
        predictions=predictions.reset_index(),
        cutoff=cutoff,
        horizon=model.horizon,
        info=info,
        model=model,
    )
    return result
