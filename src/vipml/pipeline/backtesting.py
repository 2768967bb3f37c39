"""Backtest: train up to a cutoff, score at it and judge on the horizon after it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config, parse_duration
from vipml.errors import VipmlError
from vipml.labels import make_labels
from vipml.modeling.backtest import (
    TARGETS,
    BacktestResult,
    discovery_table,
    evaluate,
    fit_isotonic,
    rule_scores,
)
from vipml.modeling.backtest_cutoffs import CutoffsBacktest
from vipml.pipeline.common import (
    QUIET_DAYS,
    Progress,
    day_of,
    no_progress,
    require_transactions,
    up_to,
)
from vipml.pipeline.scoring import score
from vipml.pipeline.training import fit_and_validate, target_rows
from vipml.segments import assign_segments

log = logging.getLogger(__name__)


def _segmented(predictions: pd.DataFrame, config: Config, cutoff: pd.Timestamp) -> pd.DataFrame:
    return assign_segments(predictions.reset_index(), config, as_of=cutoff, order="input")


def vip_now_at(predictions: pd.DataFrame, config: Config, cutoff: pd.Timestamp) -> np.ndarray:
    """Who is a VIP at the cutoff, by the segment rules ``vipml score`` applies
    (:func:`vipml.segments.assign_segments` with ``config``), in the rows' order.

    Parameters
    ----------
    predictions
        The backtest's scores, indexed by ``customer_id``.
    config
        The segment rules.
    cutoff
        The backtest's cutoff.

    Returns
    -------
    numpy.ndarray
        One bool per row.

    Examples
    --------
    >>> from vipml.segments import INPUT_COLUMNS
    >>> p = pd.DataFrame({c: [0.0, 0.0, 0.0] for c in INPUT_COLUMNS[1:-1]},
    ...     index=pd.Index([1, 2, 3], name="customer_id"))
    >>> p = p.assign(reasons="", spend_12m=[500.0, 50.0, 10.0], p_future_vip=0.1, p_alive=0.9)
    >>> vip_now_at(p, Config(), pd.Timestamp("2024-01-01")).tolist()
    [True, False, False]
    """
    return _segmented(predictions, config, cutoff)["vip_now"].to_numpy(dtype=bool)


def predicted_vip_list_check(
    predictions: pd.DataFrame, config: Config, cutoff: pd.Timestamp
) -> dict[str, float]:
    """How the predicted-VIP list of a backtest did: the share of its customers who became
    VIPs in the horizon (``precision``), against the same number of non-VIPs with the highest
    12-month spend (``spend_12m_precision``) and all non-VIPs (``base_rate``).

    ``predictions``: the backtest's scores joined with the outcomes (``future_vip``), indexed
    by ``customer_id``. The list is the one ``vipml score`` writes at the cutoff
    (:func:`vipml.segments.assign_segments` with ``config``).

    Parameters
    ----------
    predictions
        Scores with the outcome ``future_vip``, indexed by ``customer_id``.
    config
        The segment rules.
    cutoff
        The backtest's cutoff.

    Returns
    -------
    dict of str to float
        ``customers``, ``non_vips``, ``min_p_future_vip``, ``base_rate_p_future_vip``,
        ``precision``, ``spend_12m_precision`` and ``base_rate``.

    Examples
    --------
    >>> from vipml.segments import INPUT_COLUMNS
    >>> p = pd.DataFrame({c: [0.0, 0.0, 0.0] for c in INPUT_COLUMNS[1:-1]},
    ...     index=pd.Index([1, 2, 3], name="customer_id"))
    >>> p = p.assign(reasons="", spend_12m=[500.0, 50.0, 10.0], p_future_vip=[0.1, 0.9, 0.1],
    ...     p_alive=0.9, future_vip=[True, True, False])
    >>> check = predicted_vip_list_check(p, Config(), pd.Timestamp("2024-01-01"))
    >>> check["customers"], check["non_vips"], check["base_rate"]  # too few for a list
    (0, 2, 0.5)
    """

    segmented = _segmented(predictions, config, cutoff)
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

    Parameters
    ----------
    transactions
        Validated transactions, covering the judged window.
    cutoff
        The backtest's cutoff.
    horizon
        The judged window's length.
    events, customers
        The optional events and customers tables.
    config
        The settings (defaults when ``None``).
    progress
        Called as ``progress(step, done, total)``; ``None`` for none.

    Returns
    -------
    BacktestResult
        Metrics of the models and the baselines, and the predictions joined with the outcomes.

    Examples
    --------
    A backtest trains a model (seconds; see ``tests/test_pipeline.py``); the inputs are checked
    first:

    >>> backtest([1, 2], "1997-06-30")
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: transactions: 1 problem found
      - expected a pandas DataFrame, got list
    """
    config = config or Config()
    progress = progress or no_progress
    require_transactions(transactions)
    cutoff = day_of(cutoff)
    horizon_td = parse_duration(horizon)
    last = day_of(transactions["timestamp"].max())
    if last < cutoff + pd.Timedelta(days=1):
        raise VipmlError(
            f"the data end on {last:%Y-%m-%d}, on or before the "
            f"backtest cutoff {cutoff:%Y-%m-%d}: there is nothing to judge the predictions on; "
            "choose an earlier cutoff"
        )
    short = (cutoff + horizon_td - last).days
    if short > QUIET_DAYS:
        raise VipmlError(
            f"the data end on {last:%Y-%m-%d}, {short:,} days before the end of the judged "
            f"window ({cutoff:%Y-%m-%d}, {cutoff + horizon_td:%Y-%m-%d}]: the predictions "
            "cannot be judged on a full window (customers would look churned for lack of "
            f"data); choose a cutoff on or before {last - horizon_td:%Y-%m-%d}, or a shorter "
            "horizon"
        )
    past = up_to(transactions, cutoff)
    past_events = None if events is None else events.loc[
        events["timestamp"] < cutoff + pd.Timedelta(days=1)
    ]
    model, valid = fit_and_validate(past, cutoff, horizon, past_events, customers, config, progress)
    scores = score(model, past, cutoff, past_events, customers).set_index("customer_id")
    outcomes = make_labels(transactions, cutoff, horizon_td, config)
    predictions = scores.join(outcomes, how="left")
    maps: dict[str, dict[str, Any]] = {}
    for target in TARGETS:
        rows = target_rows(valid, target)
        for name, rule in rule_scores(rows, target).items():
            maps.setdefault(target, {})[name] = fit_isotonic(
                rule, rows[target].to_numpy(dtype=bool)
            )
    table = evaluate(predictions, maps)
    info = {
        "training": model.training,
        "validation": model.metrics,
        "data_fingerprint": model.data_fingerprint,
        "features": len(model.feature_names),
        "predicted_vip_list": predicted_vip_list_check(predictions, config, cutoff),
    }
    predictions["vip_now"] = vip_now_at(predictions, config, cutoff)
    result = BacktestResult(
        table=table,
        predictions=predictions.reset_index(),
        cutoff=cutoff,
        horizon=model.horizon,
        info=info,
        model=model,
        discovery=discovery_table(predictions),
    )
    return result


def backtest_cutoffs(
    transactions: pd.DataFrame,
    cutoffs: list[str | pd.Timestamp] | tuple[str | pd.Timestamp, ...],
    horizon: str | int | pd.Timedelta = "26W",
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
) -> CutoffsBacktest:
    """:func:`backtest` at each of ``cutoffs`` (same horizon): how the scores hold on average
    and in the worst case (:meth:`~vipml.modeling.backtest_cutoffs.CutoffsBacktest.summary`).

    Parameters
    ----------
    transactions
        Validated transactions, covering every judged window.
    cutoffs
        The cutoffs, at least one; run in the order given.
    horizon
        The judged windows' length.
    events, customers
        The optional events and customers tables.
    config
        The settings (defaults when ``None``).
    progress
        Called as ``progress(step, done, total)`` for each backtest; ``None`` for none.

    Returns
    -------
    CutoffsBacktest
        One backtest per cutoff and their summary.

    Examples
    --------
    Each cutoff trains a model (seconds; see ``tests/test_pipeline.py``); the cutoffs are
    checked first:

    >>> backtest_cutoffs(pd.DataFrame(), [])
    Traceback (most recent call last):
    ...
    vipml.errors.VipmlError: backtest_cutoffs: give at least one cutoff
    """
    if not len(cutoffs):
        raise VipmlError("backtest_cutoffs: give at least one cutoff")
    days = [day_of(c) for c in cutoffs]
    if len(set(days)) < len(days):
        raise VipmlError(
            "backtest_cutoffs: a cutoff is given twice: " + ", ".join(f"{d:%Y-%m-%d}" for d in days)
        )
    results = []
    for day in days:
        log.info("backtest at %s", f"{day:%Y-%m-%d}")
        results.append(
            backtest(transactions, day, horizon, events, customers, config, progress)
        )
    return CutoffsBacktest(results)
