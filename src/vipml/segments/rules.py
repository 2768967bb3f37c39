"""Who is a VIP now, their tier and segment, the gap to VIP, and the population thresholds
these depend on (see :mod:`vipml.segments` for the rules)."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from vipml.config import Config, VipConfig
from vipml.data.problems import require_columns
from vipml.errors import SchemaError, format_examples
from vipml.segments.status import run_date_of, value_columns, vip_status
from vipml.segments.thresholds import segment_thresholds
from vipml.segments.treatments import treatments_for
from vipml.segments.vocabulary import (
    DERIVED_COLUMNS,
    INPUT_COLUMNS,
    NUMERIC_INPUTS,
    SCORE_COLUMNS,
    SEGMENTS,
    STATUS_COLUMNS,
    as_config,
    money_text,
)

logger = logging.getLogger(__name__)


def check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Validate the scorer's table; return a clean copy without the derived columns.

    Parameters
    ----------
    scores
        One row per customer with the :data:`INPUT_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        A copy without the derived segment columns, with a fresh index.

    Raises
    ------
    SchemaError
        When columns are missing or values are invalid.

    Examples
    --------
    >>> from vipml.segments import INPUT_COLUMNS
    >>> raw = pd.DataFrame({c: [0.0] for c in INPUT_COLUMNS}).assign(customer_id=[1], reasons="")
    >>> list(check_scores(raw.assign(segment="vip")).columns) == list(INPUT_COLUMNS)
    True
    """
    problems = []
    require_columns(
        scores.columns,
        INPUT_COLUMNS,
        table="scores",
        fix="score the customers with vipml.pipeline.score, or add them",
    )
    derived = [c for c in DERIVED_COLUMNS if c in scores.columns]
    df = scores.drop(columns=derived).reset_index(drop=True)
    n = len(df)
    dup = df["customer_id"].duplicated(keep=False)
    if dup.any():
        problems.append(
            f"customer_id: duplicated id in {int(dup.sum()):,} of {n:,} rows "
            f"(customer_id {format_examples(df.loc[dup, 'customer_id'].unique())}): "
            "the scores need one row per customer"
        )
    for col in NUMERIC_INPUTS:
        values = pd.to_numeric(df[col], errors="coerce").astype(np.float64)
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            problems.append(
                f"{col}: missing, infinite or non-numeric value for {int(bad.sum()):,} of {n:,} "
                f"customers (customer_id {format_examples(df.loc[bad, 'customer_id'])}): "
                "the scorer must fill every numeric score"
            )
        elif not pd.api.types.is_integer_dtype(df[col]):
            df[col] = values
    for col in ("p_alive", "p_future_vip", "p_churn"):
        if col in df and pd.api.types.is_numeric_dtype(df[col]):
            outside = ((df[col] < 0) | (df[col] > 1)).to_numpy()
            if outside.any():
                problems.append(
                    f"{col}: probability outside [0, 1] for {int(outside.sum()):,} of {n:,} "
                    f"customers (customer_id {format_examples(df.loc[outside, 'customer_id'])})"
                )
    if problems:
        raise SchemaError(problems, table="scores")
    df["reasons"] = as_text(df["reasons"])
    return df


def as_text(values: pd.Series) -> pd.Series:
    """Reasons as one string per customer (lists joined with '; ', missing as '').

    Parameters
    ----------
    values
        The reasons column (text, lists of text or missing values).

    Returns
    -------
    pandas.Series
        One string per customer.

    Examples
    --------
    >>> as_text(pd.Series([["a", "b"], None, "c"])).tolist()
    ['a; b', '', 'c']
    """
    if pd.api.types.is_string_dtype(values) and not values.isna().any():
        return values

    def one(v: Any) -> str:
        if isinstance(v, str):
            return v
        if isinstance(v, list | tuple | np.ndarray):
            return "; ".join(str(x) for x in v)
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

    return values.map(one).astype(object)


# --------------------------------------------------------------------------- VIP rule


def describe_vip_rule(
    config: Config | Mapping[str, Any] | None = None, threshold: float | None = None
) -> str:
    """One sentence saying who is a VIP.

    Parameters
    ----------
    config
        A :class:`Config`, plain nested settings, or ``None`` for the defaults.
    threshold
        The dynamic threshold of this run, when known.

    Returns
    -------
    str
        The sentence.

    Examples
    --------
    >>> describe_vip_rule(Config(), threshold=312.4)
    'VIP = the top 10% of customers by spend in the last 365 days (at least $312.40 at this run), \
re-evaluated at every run'
    >>> from vipml.config import config_from_dict
    >>> describe_vip_rule(config_from_dict({"vip": {"mode": "fixed"}}))
    'VIP = spend in the last 365 days of at least $1,000.00; a status holds 304 days, then is \
re-evaluated'
    """
    vip = as_config(config).vip
    what = f"{vip.value} in the last {vip.window_days} days"
    if vip.mode == "fixed":
        return (
            f"VIP = {what} of at least {money_text(vip.threshold, vip.currency)}; a status holds "
            f"{vip.term_days} days, then is re-evaluated"
        )
    at = ""
    if threshold is not None:
        at = f" (at least {money_text(threshold, vip.currency)} at this run)"
    return f"VIP = the top {vip.top_pct:.0%} of customers by {what}{at}, re-evaluated at every run"


def _tiers(
    value: np.ndarray, vip_now: np.ndarray, vip: VipConfig, bound_of: Mapping[str, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tier, next tier up and the gap to it (VIPs only)."""
    names = [t.name for t in vip.tiers]
    bounds = [float(bound_of[name]) for name in names]
    level = np.full(len(value), len(names) - 1)
    for i in range(len(names) - 2, -1, -1):
        level = np.where(value >= bounds[i], i, level)
    tier = np.where(vip_now, np.array(names, dtype=object)[level], "")
    up = np.maximum(level - 1, 0)
    has_next = vip_now & (level > 0)
    next_tier = np.where(has_next, np.array(names, dtype=object)[up], "")
    gap = np.where(has_next, np.maximum(np.array(bounds)[up] - value, 0.0), 0.0)
    return tier.astype(object), next_tier.astype(object), _ceil_cents(gap)


def _id_rank(ids: pd.Series) -> np.ndarray:
    """Each customer id's rank (ties in value are ordered by id, whatever the input order)."""
    try:
        return ids.rank(method="first").to_numpy()
    except TypeError:  # ids of mixed types
        return ids.astype(str).rank(method="first").to_numpy()


def _ceil_cents(x: np.ndarray) -> np.ndarray:
    """Round amounts still needed up to the cent, so reaching them reaches the bound."""
    return np.ceil(np.round(np.asarray(x, dtype=np.float64) * 100, 6)) / 100


# --------------------------------------------------------------------------- segments


def assign_segments(
    scores: pd.DataFrame,
    config: Config | Mapping[str, Any] | None = None,
    previous: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
    thresholds: Mapping[str, Any] | None = None,
    order: Literal["segment", "input"] = "segment",
) -> pd.DataFrame:
    """Add ``vip_now``, ``tier``, ``segment``, ``gap_to_vip`` and ``treatment`` to the scores.

    Parameters
    ----------
    scores
        One row per customer with the :data:`INPUT_COLUMNS`; other columns (features such as
        ``full_price_share``, attributes such as ``region``) are kept and may be named in
        treatment conditions. Segment columns already present are recomputed.
    config
        The rules (``vip``, ``segments``, ``treatments``); default :class:`vipml.config.Config`.
    previous
        Fixed mode: the table of an earlier run (``customer_id``, ``vip_now``, ``vip_since``,
        ``vip_until``); a VIP status whose ``vip_until`` is after ``as_of`` holds even if the
        customer no longer qualifies. In both modes it carries ``vip_since`` over.
    as_of
        The date of this run (the scoring cutoff); default ``scores.attrs["cutoff"]``. Needed
        with ``previous``; without it the status dates stay empty.
    thresholds
        The population statistics from :func:`segment_thresholds` over all customers, to
        segment one chunk or partition exactly as the whole table; default: computed from
        ``scores``.
    order
        ``'segment'`` (default): rows ordered by segment priority, value (highest first) and
        customer id, so the result does not depend on the input's row order; ``'input'``: the
        input's row order (batch scoring keeps its ``customer_id`` order).

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`, then :data:`STATUS_COLUMNS`, then the other input columns; one row
        per customer, in the order ``order`` says. Thresholds, tier quantiles and the
        dormant CLV bar are computed over the whole table: segment all customers at once, not
        chunk by chunk. ``attrs`` holds ``vip_threshold``,
        ``tier_bounds`` (amounts), ``vip_rule`` (a sentence), ``value_column`` and ``as_of``.

    Raises
    ------
    SchemaError
        A required column is missing, an id repeats, or a numeric score is missing or infinite.
    ConfigError
        ``previous`` is given without a date for this run, or a treatment names an unknown field.

    Examples
    --------
    >>> scores = assign_segments(pd.DataFrame({c: [0.0] * 3 for c in INPUT_COLUMNS}).assign(
    ...     customer_id=[1, 2, 3], spend_12m=[900.0, 100.0, 10.0], p_alive=0.9, reasons=""))
    >>> scores[["customer_id", "vip_now", "tier"]].to_dict("list")
    {'customer_id': [1, 2, 3], 'vip_now': [True, False, False], 'tier': ['gold', '', '']}
    """
    cfg = as_config(config)
    vip, seg = cfg.vip, cfg.segments
    df = check_scores(scores)
    value_col, clv_col = value_columns(vip)
    value = df[value_col].to_numpy(dtype=np.float64)
    n = len(df)

    run_date = run_date_of(scores, as_of)
    if thresholds is None:
        thresholds = segment_thresholds(df, cfg, previous, run_date)
    threshold = float(thresholds["vip_threshold"])
    vip_now, held, was_vip, prev_since, prev_until = vip_status(
        df, cfg, previous, run_date, threshold
    )

    run_ts = pd.Series(run_date if run_date is not None else pd.NaT, index=df.index)
    run_ts = run_ts.astype("datetime64[ns]")
    vip_since = prev_since.where(was_vip & vip_now & prev_since.notna(), run_ts)
    vip_since = vip_since.where(vip_now)
    if vip.mode == "fixed":
        renewed = run_ts + pd.Timedelta(days=vip.term_days)
        vip_until = prev_until.where(held, renewed).where(vip_now)
    else:
        vip_until = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")

    bounds = dict(thresholds["tier_bounds"])
    tier, next_tier, gap_next = _tiers(value, vip_now, vip, bounds)
    gap_to_vip = np.where(vip_now, 0.0, _ceil_cents(np.maximum(threshold - value, 0.0)))
    entry = vip.tiers[-1].name
    next_tier = np.where(vip_now, next_tier, entry)
    gap_next = np.where(vip_now, gap_next, gap_to_vip)

    clv = df[clv_col].to_numpy(dtype=np.float64)
    clv_bar = float(thresholds["clv_bar"])
    predicted_bar = float(thresholds.get("predicted_vip_min_p", math.inf))
    days = df["days_since_last"].to_numpy(dtype=np.float64)
    alive = df["p_alive"].to_numpy(dtype=np.float64) >= seg.lapsed_max_p_alive
    conditions = [
        vip_now & alive & (df["p_churn"].to_numpy(dtype=np.float64) >= seg.at_risk_min_p_churn),
        vip_now & ~alive,
        vip_now,
        df["p_future_vip"].to_numpy(dtype=np.float64) >= predicted_bar,
        (gap_to_vip > 0) & (gap_to_vip <= seg.near_vip_gap_pct * threshold),
        (days >= seg.dormant_days) & (clv >= clv_bar) & (clv > 0),
    ]
    segment = np.select(conditions, list(SEGMENTS[:-1]), default=SEGMENTS[-1]).astype(object)

    derived = pd.DataFrame(
        {
            "vip_now": vip_now,
            "tier": tier,
            "segment": segment,
            "gap_to_vip": gap_to_vip.astype(np.float64),
            "next_tier": next_tier.astype(object),
            "gap_to_next_tier": gap_next.astype(np.float64),
            "vip_since": vip_since.astype("datetime64[ns]"),
            "vip_until": vip_until.astype("datetime64[ns]"),
        },
        index=df.index,
    )
    out = pd.concat([df, derived], axis=1)
    out["treatment"] = treatments_for(out, cfg)

    rest = [c for c in out.columns if c not in SCORE_COLUMNS and c not in STATUS_COLUMNS]
    if order == "segment":
        rank = pd.Series(segment).map({s: i for i, s in enumerate(SEGMENTS)}).to_numpy()
        rows = np.lexsort((_id_rank(df["customer_id"]), -value, rank))
        out = out.iloc[rows]
    out = out[[*SCORE_COLUMNS, *STATUS_COLUMNS, *rest]].reset_index(drop=True)
    out.attrs = dict(scores.attrs)
    out.attrs.update(
        vip_threshold=float(threshold),
        tier_bounds=bounds,
        vip_rule=describe_vip_rule(cfg, threshold),
        value_column=value_col,
        clv_column=clv_col,
        clv_bar=clv_bar,
        predicted_vip_min_p=predicted_bar,
        predicted_vip_base_rate=float(thresholds.get("predicted_vip_base_rate", math.nan)),
        as_of=None if run_date is None else run_date.strftime("%Y-%m-%d"),
    )
    logger.info(
        "%s: %d VIPs of %d customers (threshold %.2f)", out.attrs["vip_rule"], vip_now.sum(), n,
        threshold,
    )
    return out


# --------------------------------------------------------------------------- treatments

