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
from vipml.data.cells import original_text
from vipml.data.problems import require_columns
from vipml.errors import ConfigError, SchemaError, format_examples
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


def value_columns(vip: VipConfig) -> tuple[str, str]:
    """The value and CLV columns of the VIP rule: spend (``spend_12m``, ``clv``) or profit.

    Parameters
    ----------
    vip
        The ``vip`` settings.

    Returns
    -------
    tuple of (str, str)
        The 12-month value column and the CLV column.

    Examples
    --------
    >>> value_columns(Config().vip)
    ('spend_12m', 'clv')
    """
    return ("spend_12m", "clv") if vip.value == "spend" else ("profit_12m", "clv_profit")


def _dynamic_threshold(value: np.ndarray, top_pct: float) -> float:
    """The value of the last customer inside the top ``top_pct`` (at least one customer)."""
    if len(value) == 0:
        return 0.0
    k = max(1, math.ceil(top_pct * len(value) - 1e-9))
    return float(np.partition(value, len(value) - k)[len(value) - k])


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


def _as_of(scores: pd.DataFrame, as_of: Any) -> pd.Timestamp | None:
    for candidate in (as_of, scores.attrs.get("as_of"), scores.attrs.get("cutoff")):
        if candidate is not None and not (isinstance(candidate, float) and math.isnan(candidate)):
            try:
                return pd.Timestamp(candidate).normalize()
            except (ValueError, TypeError):
                raise ConfigError(f"as_of {candidate!r} is not a date: use YYYY-MM-DD") from None
    return None


def _previous_status(
    df: pd.DataFrame, previous: pd.DataFrame | None
) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Per customer of ``df``: was a VIP before, since when, until when (NaT when unknown)."""
    n = len(df)
    nat = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if previous is None:
        return np.zeros(n, dtype=bool), nat, nat.copy()
    missing = [c for c in ("customer_id", "vip_now") if c not in previous.columns]
    if missing:
        raise SchemaError(
            [
                f"missing column(s) {', '.join(missing)}: give the scores (or vip_list.csv) of "
                "an earlier run, with its vip_now, vip_since and vip_until columns"
            ],
            table="previous",
        )
    # a vip_list.csv holds formula-like ids behind a "'" (vipml.data.cells): read them back
    key = previous["customer_id"].map(original_text).astype(str)
    prev = previous.assign(_key=key).drop_duplicates("_key")
    prev = prev.set_index("_key")
    keys = df["customer_id"].astype(str)
    was = prev["vip_now"].map(truthy).reindex(keys).fillna(False).to_numpy(dtype=bool)

    def dates(col: str) -> pd.Series:
        if col not in prev:
            return nat.copy()
        parsed = pd.to_datetime(prev[col], errors="coerce").astype("datetime64[ns]")
        return pd.Series(parsed.reindex(keys).to_numpy(), index=df.index)

    return was, dates("vip_since"), dates("vip_until")


def truthy(v: Any) -> bool:
    """Whether a value read from a file means true (``'yes'``, ``'1'``, ``True``, ...).

    Parameters
    ----------
    v
        The value; missing values are false.

    Returns
    -------
    bool
        Its truth.

    Examples
    --------
    >>> truthy("Yes"), truthy("0"), truthy(float("nan")), truthy(1)
    (True, False, False, True)
    """
    if isinstance(v, str):
        return v.strip().lower() in ("true", "t", "yes", "y", "1", "1.0")
    try:
        return bool(v) and not (isinstance(v, float) and math.isnan(v))
    except (TypeError, ValueError):
        return False


def _tier_bounds(value: np.ndarray, vip_now: np.ndarray, vip: VipConfig) -> dict[str, float]:
    """Each tier's lower bound as an amount (quantiles of value among the VIPs now)."""
    if vip.tier_by == "amount":
        return {t.name: float(t.min_value) for t in vip.tiers}
    vip_values = value[vip_now]
    if not len(vip_values):
        return {t.name: 0.0 for t in vip.tiers}
    return {t.name: float(np.quantile(vip_values, t.min_value)) for t in vip.tiers}


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


def _status(
    df: pd.DataFrame,
    cfg: Config,
    previous: pd.DataFrame | None,
    run_date: pd.Timestamp | None,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series, pd.Series]:
    """VIP now, held by its term, was a VIP before, previous since / until dates."""
    vip = cfg.vip
    value = df[value_columns(vip)[0]].to_numpy(dtype=np.float64)
    if previous is not None and run_date is None:
        raise ConfigError(
            "previous is given but not the date of this run: pass as_of (the scoring cutoff, "
            "--as-of on the command line)"
        )
    was_vip, prev_since, prev_until = _previous_status(df, previous)
    if vip.mode == "fixed" and run_date is not None:
        held = was_vip & (prev_until > run_date).to_numpy(dtype=bool)
    else:
        held = np.zeros(len(df), dtype=bool)
    vip_now = ((value >= threshold) & (value > 0)) | held
    return vip_now, held, was_vip, prev_since, prev_until


def segment_thresholds(
    scores: pd.DataFrame,
    config: Config | Mapping[str, Any] | None = None,
    previous: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
) -> dict[str, Any]:
    """The population statistics of the segments, from the whole customer table.

    ``vip_threshold`` (the fixed amount, or the dynamic top-X% boundary), ``tier_bounds``
    (amounts, highest tier first), ``clv_bar`` (the dormant high-potential CLV quantile), and
    for the predicted-VIP list ``predicted_vip_base_rate`` (the non-VIPs' mean
    ``p_future_vip``) and ``predicted_vip_min_p`` (the bar: the ``p_future_vip`` of the last
    customer within ``segments.predicted_vip_top_pct`` of the non-VIPs, and at least
    ``segments.predicted_vip_min_lift`` times the base rate). Only ``customer_id``, the value
    column (``spend_12m`` or ``profit_12m``), the CLV column (``clv`` or ``clv_profit``) and
    ``p_future_vip`` are read. Compute them once over all customers, then segment
    chunks or partitions with ``assign_segments(chunk, config, thresholds=...)``: the rows equal
    those of segmenting the whole table at once.

    Parameters
    ----------
    scores
        The whole customer table (columns as above).
    config
        A :class:`Config`, plain nested settings, or ``None`` for the defaults.
    previous
        The previous run's scores (fixed mode: VIP statuses still in their term).
    as_of
        The run's date (fixed mode).

    Returns
    -------
    dict of str to Any
        The statistics named above.

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": range(10), "spend_12m": [0.0] * 5 + [1.0] * 4
    ...     + [100.0], "clv": [float(i) for i in range(10)]})
    >>> t = segment_thresholds(table)
    >>> t["vip_threshold"], t["tier_bounds"]["gold"], t["clv_bar"]
    (100.0, 100.0, 7.2)
    >>> table["p_future_vip"] = [0.01] * 7 + [0.05, 0.6, 0.9]
    >>> t = segment_thresholds(table, {"segments": {"predicted_vip_top_pct": 0.2}})
    >>> # capacity: 2 of the 9 non-VIPs (0.6 and 0.05); 0.05 is below 2x the base rate
    >>> round(t["predicted_vip_base_rate"], 4), round(t["predicted_vip_min_p"], 4)
    (0.08, 0.16)
    """
    cfg = as_config(config)
    value_col, clv_col = value_columns(cfg.vip)
    missing = [c for c in ("customer_id", value_col, clv_col) if c not in scores.columns]
    if missing:
        raise SchemaError(
            [f"missing column(s) {', '.join(missing)}: thresholds need customer_id, "
             f"{value_col} and {clv_col}"],
            table="scores",
        )
    value = pd.to_numeric(scores[value_col], errors="coerce").to_numpy(dtype=np.float64)
    clv = pd.to_numeric(scores[clv_col], errors="coerce").to_numpy(dtype=np.float64)
    vip = cfg.vip
    threshold = vip.threshold if vip.mode == "fixed" else _dynamic_threshold(value, vip.top_pct)
    frame = pd.DataFrame({"customer_id": scores["customer_id"].to_numpy(), value_col: value})
    vip_now = _status(frame, cfg, previous, _as_of(scores, as_of), threshold)[0]
    q = cfg.segments.dormant_min_clv_quantile
    out = {
        "vip_threshold": float(threshold),
        "tier_bounds": _tier_bounds(value, vip_now, vip),
        "clv_bar": float(np.quantile(clv, q)) if len(clv) else 0.0,
    }
    if "p_future_vip" in scores.columns:
        p = pd.to_numeric(scores["p_future_vip"], errors="coerce").to_numpy(dtype=np.float64)
        out.update(_predicted_vip_bar(p[~vip_now], cfg.segments))
    return out


def _predicted_vip_bar(p: np.ndarray, seg: Any) -> dict[str, float]:
    """The predicted-VIP bar over the non-VIPs' ``p_future_vip`` (see
    :func:`segment_thresholds`); above every probability when there is nobody to list."""
    p = p[np.isfinite(p)]
    if len(p) == 0:
        return {"predicted_vip_base_rate": 0.0, "predicted_vip_min_p": math.inf}
    base = float(p.mean())
    k = math.ceil(seg.predicted_vip_top_pct * len(p) - 1e-9)
    capacity = float(np.partition(p, len(p) - k)[len(p) - k]) if k > 0 else math.inf
    bar = max(capacity, seg.predicted_vip_min_lift * base, seg.predicted_vip_min_p)
    return {"predicted_vip_base_rate": base, "predicted_vip_min_p": float(max(bar, 1e-12))}


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

    run_date = _as_of(scores, as_of)
    if thresholds is None:
        thresholds = segment_thresholds(df, cfg, previous, run_date)
    threshold = float(thresholds["vip_threshold"])
    vip_now, held, was_vip, prev_since, prev_until = _status(
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

