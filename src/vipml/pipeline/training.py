"""Training: stacked historical cutoffs, the held-out validation customers, the classifiers
and the lifetime-value model at the cutoff (see :mod:`vipml.pipeline`)."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from vipml.bundle import VipModel, data_fingerprint
from vipml.config import Config, parse_duration
from vipml.errors import ConfigError, VipmlError
from vipml.features import (
    build_features,
    profitable_lines,
)
from vipml.features.rfm import BTYD_COLUMNS
from vipml.labels import IncompleteHorizonWarning, make_labels
from vipml.model_columns import model_feature_names
from vipml.model_inputs import ModelInputs
from vipml.modeling.backtest import (
    TARGETS,
    BacktestResult,
    evaluate,
)
from vipml.modeling.btyd import BtydWarning, LifetimeValueModel
from vipml.modeling.classifier import (
    BASE_TERMS,
    TIME_SCALE_COLUMNS,
    VipClassifier,
)
from vipml.pipeline.common import (
    LABEL_COLUMNS,
    QUIET_DAYS,
    Progress,
    aligned_tables,
    day_of,
    no_progress,
    require_transactions,
    up_to,
)
from vipml.pipeline.frames import (
    attribute_feature_names,
    categorical_attributes,
    choose_purchase_model,
    customer_attributes_at,
    model_frame,
)
from vipml.pipeline.predict import predict_frame
from vipml.pipeline.safety_net import fit_safety_net

log = logging.getLogger(__name__)


def training_cutoffs(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
) -> list[pd.Timestamp]:
    """The historical cutoffs stacked for training, newest (the validation window) first.

    ``c_k = cutoff - horizon - k * step`` while ``c_k`` has ``min_history_days`` of data
    before it, at most ``max_cutoffs``.

    Parameters
    ----------
    transactions
        Validated transactions.
    cutoff
        The training cutoff.
    horizon
        The label window's length.
    config
        ``training.cutoff_step``, ``min_history_days`` and ``max_cutoffs`` (defaults when
        ``None``).

    Returns
    -------
    list of pandas.Timestamp
        At least two cutoffs, newest first.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> [f"{c:%Y-%m-%d}" for c in training_cutoffs(load_cdnow(sample=True), "1997-12-31", "26W")]
    ['1997-07-02', '1997-06-04', '1997-05-07', '1997-04-09']
    """
    config = config or Config()
    cutoff = day_of(cutoff)
    h = parse_duration(horizon)
    first = day_of(transactions["timestamp"].min())
    out = _cutoff_grid(first, cutoff, h, config, 0, config.training.max_cutoffs)
    if len(out) < 2:
        raise VipmlError(
            f"only {len(out)} training cutoff(s) fit between the first date "
            f"{first:%Y-%m-%d} (+{config.training.min_history_days} days of history) and "
            f"{cutoff:%Y-%m-%d} minus the horizon ({h.days} days): at least 2 are needed (one "
            "to train, one to validate): use a later cutoff, a shorter horizon, a shorter "
            "training.cutoff_step or a smaller training.min_history_days"
        )
    return out


def selection_cutoffs(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    config: Config | None = None,
) -> list[pd.Timestamp]:
    """The windows of the out-of-time selection model: their labels end before the
    validation window starts, newest first (empty when the history is too short).

    On the grid of :func:`training_cutoffs`, ``c_k = cutoff - horizon - k * step``, the
    windows with ``c_k + horizon <= c_0`` (``k * step >= horizon``) and ``min_history_days`` of
    data, at most ``training.selection_windows``.

    Parameters
    ----------
    transactions
        Validated transactions.
    cutoff
        The training cutoff.
    horizon
        The label window's length.
    config
        ``training.cutoff_step``, ``min_history_days`` and ``selection_windows``.

    Returns
    -------
    list of pandas.Timestamp
        Newest first; empty when none fits.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> tx = load_cdnow(sample=True)
    >>> [f"{c:%Y-%m-%d}" for c in selection_cutoffs(tx, "1998-06-30", "13W")]
    ['1997-12-09', '1997-11-11', '1997-10-14']
    >>> selection_cutoffs(tx, "1997-12-31", "26W")  # 18 months of data: no room
    []
    """
    config = config or Config()
    h = parse_duration(horizon)
    step = parse_duration(config.training.cutoff_step, "training.cutoff_step")
    first = day_of(transactions["timestamp"].min())
    start = -(-h // step)  # the first k with k * step >= horizon
    return _cutoff_grid(first, day_of(cutoff), h, config, start, config.training.selection_windows)


def _cutoff_grid(
    first: pd.Timestamp,
    cutoff: pd.Timestamp,
    horizon: pd.Timedelta,
    config: Config,
    start: int,
    count: int,
) -> list[pd.Timestamp]:
    """``c_k = cutoff - horizon - k * step`` for ``k`` from ``start``, at most ``count``,
    while ``c_k`` has ``training.min_history_days`` of data after ``first``."""
    step = parse_duration(config.training.cutoff_step, "training.cutoff_step")
    earliest = first + pd.Timedelta(days=config.training.min_history_days)
    out = []
    for k in range(start, start + max(count, 0)):
        c = cutoff - horizon - k * step
        if c < earliest:
            break
        out.append(c)
    return out


def training_frame(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta = "26W",
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
    purchase_model: str | None = None,
    cutoffs: Sequence[pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """Stacked training rows: one per (historical cutoff, customer known at it).

    Columns: the model features, the labels of :func:`vipml.labels.make_labels` and
    ``cutoff`` (the window's cutoff). Everything in a row is computed from data up to its own
    cutoff, except the labels, which come from ``(cutoff, cutoff + horizon]``.

    Parameters
    ----------
    transactions
        Validated transactions (rows after the cutoff's day are ignored).
    cutoff
        The training cutoff.
    horizon
        The label window's length.
    events, customers
        The optional events and customers tables.
    config
        The settings (defaults when ``None``).
    progress
        Called as ``progress(step, done, total)``.
    purchase_model
        The BTYD purchase model; chosen by :func:`choose_purchase_model` when ``None``.
    cutoffs
        The windows' cutoffs; :func:`training_cutoffs` when ``None``.

    Returns
    -------
    pandas.DataFrame
        The stacked rows.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]),
    ...     "revenue": [5.0]})
    >>> training_frame(tx, "2024-06-30", "13W")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.VipmlError: only 1 training cutoff(s) fit between the first date 2024-01-01 ...
    """
    config = config or Config()
    progress = progress or no_progress
    cutoff = day_of(cutoff)
    horizon_td = parse_duration(horizon)
    tx = up_to(transactions, cutoff)
    if cutoffs is None:
        cutoffs = training_cutoffs(tx, cutoff, horizon_td, config)
    purchase_model = purchase_model or choose_purchase_model(tx, cutoff, horizon_td, config)
    customers_table = categorical_attributes(customers)
    attribute_names = attribute_feature_names(tx, customers_table)
    in_sample = _training_sample(tx, config)
    frames = []
    for i, c in enumerate(cutoffs):
        progress(f"features and BTYD at {c:%Y-%m-%d}", i, len(cutoffs))
        past = up_to(tx, c)
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
            btyd = LifetimeValueModel.from_config(config, purchase_model).fit(summary)
            attrs = customer_attributes_at(past, customers_table, c, attribute_names)
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

    Parameters
    ----------
    customer_ids
        The customers' ids.
    share
        The share held out, between 0 and 1.

    Returns
    -------
    numpy.ndarray
        A boolean mask, one entry per id.

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


def classifier_for(config: Config, target: str) -> VipClassifier:
    """The classifier of ``target`` with the settings of ``config`` (``lightgbm`` and ``training``).

    Parameters
    ----------
    config
        The settings.
    target
        ``'future_vip'`` or ``'churn'``.

    Returns
    -------
    VipClassifier
        Not fitted.

    Examples
    --------
    >>> classifier_for(Config(), "churn").num_leaves == Config().lightgbm.num_leaves
    True
    """
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
        base_terms=BASE_TERMS[target] if config.training.linear_prior else (),
        exclude_from_trees=TIME_SCALE_COLUMNS if config.training.linear_prior else (),
    )


def target_rows(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """The rows of a training frame a target's classifier learns from (churn: the eligible ones).

    Parameters
    ----------
    frame
        Training rows with a ``churn_eligible`` column.
    target
        ``'future_vip'`` or ``'churn'``.

    Returns
    -------
    pandas.DataFrame
        The rows kept.

    Examples
    --------
    >>> frame = pd.DataFrame({"churn_eligible": [True, False]})
    >>> len(target_rows(frame, "churn")), len(target_rows(frame, "future_vip"))
    (1, 2)
    """
    if target == "churn":
        return frame.loc[frame["churn_eligible"].to_numpy(dtype=bool)]
    return frame


def fit_and_validate(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    events: pd.DataFrame | None,
    customers: pd.DataFrame | None,
    config: Config | None,
    progress: Progress | None,
) -> tuple[VipModel, pd.DataFrame]:
    """Train; also return the validation window's rows (features, labels, baselines).

    Parameters
    ----------
    transactions
        Validated transactions.
    cutoff
        The training cutoff.
    horizon
        The label window's length.
    events, customers
        The optional events and customers tables.
    config
        The settings (defaults when ``None``).
    progress
        Called as ``progress(step, done, total)``; ``None`` for none.

    Returns
    -------
    tuple of (VipModel, pandas.DataFrame)
        The trained model and the validation window's rows.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]),
    ...     "revenue": [5.0]})
    >>> fit_and_validate(tx, "2023-12-31", "13W", None, None, None, None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.VipmlError: no transaction on or before the cutoff 2023-12-31 ...
    """
    config = config or Config()
    progress = progress or no_progress
    require_transactions(transactions)
    events, customers = aligned_tables(transactions, events, customers)
    cutoff = day_of(cutoff)
    horizon_td = parse_duration(horizon)
    horizon_text = horizon if isinstance(horizon, str) else f"{horizon_td.days}D"
    tx = up_to(transactions, cutoff)
    if tx.empty:
        raise VipmlError(
            f"no transaction on or before the cutoff {cutoff:%Y-%m-%d} (the data start on "
            f"{transactions['timestamp'].min():%Y-%m-%d}): choose a later cutoff"
        )
    purchase_model = choose_purchase_model(tx, cutoff, horizon_td, config)
    cutoffs = training_cutoffs(tx, cutoff, horizon_td, config)
    selection = selection_cutoffs(tx, cutoff, horizon_td, config)
    windows = [*cutoffs, *(c for c in selection if c not in cutoffs)]
    total = len(windows) + 4

    def step(message: str, done: int) -> None:
        progress(message, done, total)

    frame = training_frame(
        tx, cutoff, horizon_td, events, customers, config,
        progress=lambda m, d, t: step(m, d), purchase_model=purchase_model, cutoffs=windows,
    )
    latest = (frame["cutoff"] == cutoffs[0]).to_numpy()
    held_out = validation_customers(frame.index, config.training.validation_share)
    valid = frame.loc[latest & held_out]
    train_rows = frame.loc[frame["cutoff"].isin(cutoffs[1:]).to_numpy() & ~held_out]
    # every customer's rows: their labels all end before the validation window starts
    selection_rows = frame.loc[frame["cutoff"].isin(selection).to_numpy()]
    names = [c for c in frame.columns if c not in ("cutoff", *LABEL_COLUMNS)]
    attributes = names[len(model_feature_names()):]
    from_table = [a for a in attributes if customers is not None and a in customers.columns]
    inputs = ModelInputs.of_training(
        tx, events, customers, from_table,
        [a for a in attributes if a not in from_table and a != "first_category"],
    )

    classifiers: dict[str, VipClassifier] = {}
    judged: dict[str, tuple[pd.DataFrame, np.ndarray]] = {}
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
        step(f"training the {target} model", len(windows) + i)
        tr, va = target_rows(train_rows, target), target_rows(valid, target)
        # out of time, every customer of the latest window can judge: 3x the held-out rows
        everyone = target_rows(frame.loc[latest], target)
        chosen = _choose_out_of_time(
            config, target, target_rows(selection_rows, target), everyone, names, selection
        )
        clf = classifier_for(config, target)
        if chosen["out_of_time"]:
            clf.set_params(n_estimators=chosen["best_iteration"], early_stopping_rounds=0)
            judged[target] = (everyone, chosen.pop("probabilities"))
        clf.fit(tr[names], tr[target], va[names], va[target])
        classifiers[target] = clf
        training[target] = {
            "train_rows": int(len(tr)),
            "train_positive_rate": float(tr[target].mean()),
            "validation_rows": int(len(va)),
            "validation_positive_rate": float(va[target].mean()),
            "best_iteration": clf.best_iteration_,
            "selection": chosen,
        }
        log.info("%s: %s", target, chosen["reason"])

    step(f"BTYD model at {cutoff:%Y-%m-%d}", len(windows) + 2)
    summary = build_features(tx, cutoff, config=config, family="btyd")
    btyd = LifetimeValueModel.from_config(config, purchase_model).fit(summary)
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
    # the safety net: the blend of each model with the rules, chosen on the validation rows
    # (by the out-of-time selection model's scores when there is one)
    step("the safety net (blends with the rules)", len(windows) + 3)
    model.training["blend"] = fit_safety_net(
        model, valid, tx, events, customers, judged=judged
    )
    # validation metrics of the models and the baselines (on the latest window)
    scored = predict_frame(model, valid[names], explain=False)
    scored = pd.concat([scored, valid[list(LABEL_COLUMNS)]], axis=1)
    table = evaluate(scored)
    model.metrics = _metrics_dict(table, where=f"validation window {cutoffs[0]:%Y-%m-%d}")
    step("done", total)
    return model, scored


def _choose_out_of_time(
    config: Config,
    target: str,
    rows: pd.DataFrame,
    valid: pd.DataFrame,
    names: list[str],
    windows: list[pd.Timestamp],
) -> dict[str, Any]:
    """Fit the selection model on windows whose labels end before the validation window, and
    judge it on ``valid`` (the validation window's rows): the number of trees and its
    probabilities there (for the safety net). Without such windows, or when they hold one
    class only, say why."""
    days = [f"{c:%Y-%m-%d}" for c in windows]
    overlap = (
        "chosen on the held-out customers of the validation window, whose future overlaps "
        "the training labels (optimistic)"
    )
    if not windows:
        return {
            "out_of_time": False,
            "windows": [],
            "reason": f"{overlap}: the history is too short for a training window whose "
            "labels end before the validation window starts",
        }
    try:
        chooser = classifier_for(config, target).fit(
            rows[names], rows[target], valid[names], valid[target]
        )
    except VipmlError as exc:
        return {"out_of_time": False, "windows": days, "reason": f"{overlap}: {exc}"}
    return {
        "out_of_time": True,
        "windows": days,
        "best_iteration": chooser.best_iteration_,
        "validation": {
            k: chooser.validation_[k] for k in ("roc_auc", "average_precision", "log_loss")
        },
        "reason": (
            f"chosen out of time: a selection model trained on {len(days)} window(s) "
            f"({days[-1]} to {days[0]}, labels ending before the validation window) kept "
            f"{chooser.best_iteration_} trees and judged the safety net's blends on the "
            f"validation window's {len(valid):,} customers (its ROC AUC "
            f"{chooser.validation_['roc_auc']:.4f}, AP "
            f"{chooser.validation_['average_precision']:.4f} there)"
        ),
        "probabilities": chooser.predict_proba(valid[names]),
    }


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

    Parameters
    ----------
    transactions
        Validated transactions (:func:`vipml.data.io.read_transactions`).
    cutoff
        The training cutoff: no row after its day is read.
    horizon
        The prediction window's length (``'26W'``, ``'90D'``, days as an int, ...).
    events, customers
        The optional events and customers tables.
    config
        The settings (defaults when ``None``).
    progress
        Called as ``progress(step, done, total)``; ``None`` for none.

    Returns
    -------
    VipModel
        With validation metrics (latest window) of the models and the baselines in
        ``metrics``; save it with :meth:`VipModel.save`.

    Examples
    --------
    Training takes seconds (see ``tests/test_pipeline.py``); the inputs are checked first:

    >>> train([1, 2], "1997-12-31")
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: transactions: 1 problem found
      - expected a pandas DataFrame, got list
    """
    require_transactions(transactions)
    last = day_of(transactions["timestamp"].max())
    gap = (day_of(cutoff) - last).days
    if gap > 0:
        message = (
            f"the cutoff {day_of(cutoff):%Y-%m-%d} is after the last transaction "
            f"({last:%Y-%m-%d}, {gap:,} day{'s' if gap != 1 else ''} earlier): the latest label "
            "window reads days without data as days without purchases"
        )
        if gap > QUIET_DAYS:
            raise VipmlError(
                f"{message}; train at or before {last:%Y-%m-%d}, or give the newer data"
            )
        warnings.warn(
            f"{message} (a quiet end of the data?)", IncompleteHorizonWarning, stacklevel=2
        )
    model, _ = fit_and_validate(transactions, cutoff, horizon, events, customers, config, progress)
    return model

