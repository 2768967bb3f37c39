"""VIP rules, tiers, segments, the gap to VIP, treatments, the VIP profile and marketer lists.

:func:`assign_segments` takes the scores table (one row per customer, see :data:`INPUT_COLUMNS`)
and adds who is a VIP now, their tier, one segment per customer, the amount still needed to
become a VIP, and one suggested treatment from the configured rules
(:class:`vipml.config.TreatmentRule`).

**VIP now.** The value is ``spend_12m`` (or ``profit_12m`` with ``vip.value: profit``).
*Fixed* mode: value at or above ``vip.threshold``; a status once granted holds for
``vip.term_days`` (pass the previous run's table as ``previous``) and is re-evaluated after it.
*Dynamic* mode: the top ``vip.top_pct`` of all scored customers by value (ties at the boundary
are all in), re-evaluated at every run. A VIP always has a positive value.

**Tiers** split the VIPs from the highest bound to the lowest: quantiles of value among VIPs
(``tier_by: quantile``) or amounts (``tier_by: amount``); a VIP below every bound is in the
lowest (entry) tier. ``next_tier`` / ``gap_to_next_tier`` say what it takes to move up.

**Segments**, one per customer, first match wins: ``at_risk_vip`` (VIP now, high ``p_churn``),
``vip``, ``predicted_vip`` (not VIP, high ``p_future_vip``), ``near_vip`` (not VIP, value short
of the threshold by a positive amount of at most ``segments.near_vip_gap_pct`` of it),
``dormant_high_potential`` (not VIP, no purchase in ``segments.dormant_days``, CLV in the top
quantile), ``regular``.

Examples
--------
>>> scores = pd.DataFrame({
...     "customer_id": [1, 2, 3, 4, 5, 6, 7, 8],
...     "spend_12m": [2500.0, 1200.0, 900.0, 300.0, 0.0, 40.0, 1500.0, 60.0],
...     "profit_12m": [900.0, 300.0, 250.0, 90.0, 0.0, 12.0, 500.0, 20.0],
...     "orders_12m": [12, 5, 4, 2, 0, 1, 6, 1],
...     "days_since_last": [5, 20, 12, 60, 400, 200, 30, 250],
...     "p_alive": [0.99, 0.95, 0.97, 0.8, 0.2, 0.5, 0.9, 0.6],
...     "expected_purchases": [6.0, 2.5, 2.0, 0.8, 0.1, 0.2, 3.0, 0.9],
...     "clv": [1800.0, 600.0, 500.0, 120.0, 5.0, 8.0, 700.0, 700.0],
...     "clv_profit": [650.0, 150.0, 140.0, 36.0, 1.5, 2.4, 230.0, 130.0],
...     "p_future_vip": [0.9, 0.6, 0.2, 0.55, 0.01, 0.02, 0.7, 0.1],
...     "p_churn": [0.1, 0.2, 0.1, 0.4, 0.9, 0.6, 0.8, 0.5],
...     "reasons": [""] * 8,
... })
>>> out = assign_segments(scores, config_from_dict({"vip": {"mode": "fixed"}}))
>>> cols = ["customer_id", "vip_now", "tier", "segment", "gap_to_vip"]
>>> out[cols]  # doctest: +NORMALIZE_WHITESPACE
   customer_id  vip_now    tier                 segment  gap_to_vip
0            7     True  bronze             at_risk_vip         0.0
1            1     True    gold                     vip         0.0
2            2     True  bronze                     vip         0.0
3            4    False                   predicted_vip       700.0
4            3    False                        near_vip       100.0
5            8    False  dormant_high_potential       940.0
6            6    False                         regular       960.0
7            5    False                         regular      1000.0
>>> out.loc[4, "treatment"]
'Progress message: spend $100 more to reach bronze VIP status'
"""

from __future__ import annotations

import logging
import math
import string
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from vipml.config import Config, TreatmentRule, VipConfig, config_from_dict, parse_condition
from vipml.data.cells import original_text
from vipml.data.problems import require_columns
from vipml.data.schema import align_ids, transaction_attributes
from vipml.errors import ConfigError, SchemaError, format_examples
from vipml.features.attributes import row_attributes

__all__ = [
    "INPUT_COLUMNS",
    "SCORE_COLUMNS",
    "STATUS_COLUMNS",
    "SEGMENTS",
    "SEGMENT_LABELS",
    "LISTS",
    "CHURN_SEGMENTS",
    "PROFILE_ATTRIBUTES",
    "with_churn_reasons",
    "FALLBACK_TREATMENT",
    "assign_segments",
    "segment_thresholds",
    "marketer_lists",
    "vip_profile",
    "segment_summary",
    "value_concentration",
    "customer_attributes",
    "describe_vip_rule",
    "as_config",
    "treatment_rules_table",
    "profile_attributes_used",
]

logger = logging.getLogger(__name__)

#: What the scorer hands over: one row per customer.
INPUT_COLUMNS = (
    "customer_id",
    "spend_12m",
    "profit_12m",
    "orders_12m",
    "days_since_last",
    "p_alive",
    "expected_purchases",
    "clv",
    "clv_profit",
    "p_future_vip",
    "p_churn",
    "reasons",
)
_NUMERIC_INPUTS = INPUT_COLUMNS[1:-1]

#: The scores table, in this order (feature columns and attributes may follow).
SCORE_COLUMNS = (
    "customer_id",
    "spend_12m",
    "profit_12m",
    "orders_12m",
    "days_since_last",
    "p_alive",
    "expected_purchases",
    "clv",
    "clv_profit",
    "p_future_vip",
    "p_churn",
    "vip_now",
    "tier",
    "segment",
    "gap_to_vip",
    "reasons",
    "treatment",
)

#: Added after :data:`SCORE_COLUMNS`: the next tier up and the amount it takes, and the VIP
#: status dates (keep them in the scores file: the next fixed-mode run reads them back).
STATUS_COLUMNS = ("next_tier", "gap_to_next_tier", "vip_since", "vip_until")

_DERIVED = ("vip_now", "tier", "segment", "gap_to_vip", "treatment", *STATUS_COLUMNS)

#: Segments in priority order (a customer gets the first that applies).
SEGMENTS = (
    "at_risk_vip",
    "lapsed_vip",
    "vip",
    "predicted_vip",
    "near_vip",
    "dormant_high_potential",
    "regular",
)
SEGMENT_LABELS = {
    "at_risk_vip": "At-risk VIP",
    "lapsed_vip": "Lapsed VIP",
    "vip": "VIP",
    "predicted_vip": "Predicted VIP",
    "near_vip": "Near-VIP",
    "dormant_high_potential": "Dormant high-potential",
    "regular": "Regular",
}

#: The marketer lists: key -> readable name (also the spreadsheet's sheet names).
LISTS = {
    "vips_by_tier": "VIPs by tier",
    "predicted_vips": "Predicted VIPs",
    "near_vips": "Near-VIPs",
    "at_risk_vips": "At-risk VIPs",
    "lapsed_vips": "Lapsed VIPs",
    "dormant_high_potential": "Dormant high-potential",
}

#: Segments whose list explains the churn risk (``churn_reasons``), not the VIP chance.
CHURN_SEGMENTS = ("at_risk_vip", "lapsed_vip")

#: Customer attributes compared in the VIP profile, when present.
PROFILE_ATTRIBUTES = ("acquisition_channel", "region", "first_category")

#: An attribute with more values than this is not profiled; above ``_PROFILE_LEVELS`` values,
#: the most common ones are shown and the rest counted together as ``(other)``.
_PROFILE_MAX_VALUES = 200
_PROFILE_LEVELS = 30

#: Value signals compared in the VIP profile, when present (mean per group).
_PROFILE_SIGNALS = (
    "spend_12m",
    "profit_12m",
    "orders_12m",
    "aov_mean",
    "days_since_last",
    "clv",
    "clv_profit",
    "p_alive",
    "p_churn",
    "full_price_share",
    "discount_share",
    "top_lines_share",
    "n_products",
    "return_rate_orders",
    "support_tickets",
    "referrals",
    "trend_3m",
)

#: The treatment of a customer no rule matches.
FALLBACK_TREATMENT = "Standard communications (no treatment rule matched)"


# --------------------------------------------------------------------------- checks


def _check_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Validate the scorer's table; return a clean copy without the derived columns."""
    problems = []
    require_columns(
        scores.columns,
        INPUT_COLUMNS,
        table="scores",
        fix="score the customers with vipml.pipeline.score, or add them",
    )
    df = scores.drop(columns=[c for c in _DERIVED if c in scores.columns]).reset_index(drop=True)
    n = len(df)
    dup = df["customer_id"].duplicated(keep=False)
    if dup.any():
        problems.append(
            f"customer_id: duplicated id in {int(dup.sum()):,} of {n:,} rows "
            f"(customer_id {format_examples(df.loc[dup, 'customer_id'].unique())}): "
            "the scores need one row per customer"
        )
    for col in _NUMERIC_INPUTS:
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
    df["reasons"] = _as_text(df["reasons"])
    return df


def _as_text(values: pd.Series) -> pd.Series:
    """Reasons as one string per customer (lists joined with '; ', missing as '')."""
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


def _value_columns(vip: VipConfig) -> tuple[str, str]:
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

    Examples
    --------
    >>> describe_vip_rule(Config(), threshold=312.4)
    'VIP = the top 10% of customers by spend in the last 365 days (at least $312.40 at this run), \
re-evaluated at every run'
    >>> describe_vip_rule(config_from_dict({"vip": {"mode": "fixed"}}))
    'VIP = spend in the last 365 days of at least $1,000.00; a status holds 304 days, then is \
re-evaluated'
    """
    vip = as_config(config).vip
    what = f"{vip.value} in the last {vip.window_days} days"
    if vip.mode == "fixed":
        return (
            f"VIP = {what} of at least {_money(vip.threshold, vip.currency)}; a status holds "
            f"{vip.term_days} days, then is re-evaluated"
        )
    at = "" if threshold is None else f" (at least {_money(threshold, vip.currency)} at this run)"
    return f"VIP = the top {vip.top_pct:.0%} of customers by {what}{at}, re-evaluated at every run"


def _money(x: float, currency: str, decimals: int = 2) -> str:
    return f"{'-' if x < 0 else ''}{currency}{abs(x):,.{decimals}f}"


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
    was = prev["vip_now"].map(_truthy).reindex(keys).fillna(False).to_numpy(dtype=bool)

    def dates(col: str) -> pd.Series:
        if col not in prev:
            return nat.copy()
        parsed = pd.to_datetime(prev[col], errors="coerce").astype("datetime64[ns]")
        return pd.Series(parsed.reindex(keys).to_numpy(), index=df.index)

    return was, dates("vip_since"), dates("vip_until")


def _truthy(v: Any) -> bool:
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
    value = df[_value_columns(vip)[0]].to_numpy(dtype=np.float64)
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
    value_col, clv_col = _value_columns(cfg.vip)
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
    """
    cfg = as_config(config)
    vip, seg = cfg.vip, cfg.segments
    df = _check_scores(scores)
    value_col, clv_col = _value_columns(vip)
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
    out["treatment"] = _treatments(out, cfg)

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

_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def _condition(df: pd.DataFrame, rule: TreatmentRule, where: str) -> np.ndarray:
    """Where the rule's ``when`` holds (a clause on an absent column or a missing value: false)."""
    groups = parse_condition(rule.when, where=f"{where}.when")
    if not groups:
        return np.ones(len(df), dtype=bool)
    out = np.zeros(len(df), dtype=bool)
    for group in groups:
        mask = np.ones(len(df), dtype=bool)
        for column, op, target in group:
            parts = column.split("/")
            if any(part not in df.columns for part in parts):
                mask[:] = False
                continue
            if len(parts) == 2:
                top, bottom = (pd.to_numeric(df[c], errors="coerce") for c in parts)
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = top / bottom  # x / 0 is inf for x > 0, NaN (false) for 0
            else:
                values = df[column]
            if isinstance(target, str):
                known = values.notna().to_numpy()
                result = _OPS[op](values.astype(str).to_numpy(), target)
            else:
                numeric = pd.to_numeric(values, errors="coerce")
                if numeric.isna().all() and values.notna().any():
                    raise ConfigError(
                        f"{where}.when: column {column!r} holds text ({values.iloc[0]!r}, ...): "
                        f"compare it with quoted text, e.g. {column} == 'north'"
                    )
                known = numeric.notna().to_numpy()
                result = _OPS[op](numeric.to_numpy(dtype=np.float64), float(target))
            mask &= known & np.asarray(result, dtype=bool)
        out |= mask
    return out


def _render(df: pd.DataFrame, template: str, cfg: Config, where: str) -> pd.Series:
    """Fill a treatment template for the rows of ``df`` (vectorised, amounts as currency)."""
    currency = cfg.vip.currency
    out = pd.Series("", index=df.index, dtype=object)
    for literal, field, spec, _conversion in string.Formatter().parse(template):
        out = out + literal
        if field is None:
            continue
        if field in ("gap_to_vip", "gap_to_next_tier"):
            amounts = np.ceil(df[field].to_numpy(dtype=np.float64) - 1e-9)
            text = pd.Series([f"{currency}{a:,.0f}" for a in amounts], index=df.index)
        elif field == "entry_tier":
            text = pd.Series(cfg.vip.tiers[-1].name, index=df.index)
        elif field == "top_tier":
            text = pd.Series(cfg.vip.tiers[0].name, index=df.index)
        elif field == "currency":
            text = pd.Series(currency, index=df.index)
        elif field in df.columns:
            fmt = "{:" + (spec or "") + "}"
            text = df[field].map(lambda v, f=fmt: f.format(v))
        else:
            valid = "gap_to_vip, gap_to_next_tier, next_tier, entry_tier, top_tier, currency"
            raise ConfigError(
                f"{where}.treatment: unknown field {{{field}}} in {template!r}: use one of "
                f"{valid} or a score column"
            )
        out = out + text.astype(str)
    return out


def _treatments(df: pd.DataFrame, cfg: Config) -> pd.Series:
    """One treatment per customer: the first configured rule that matches."""
    return _matched_rules(df, cfg)[0]


def _matched_rules(df: pd.DataFrame, cfg: Config) -> tuple[pd.Series, np.ndarray]:
    """Each customer's treatment text and the index of the rule that gave it (-1: none).

    A rule marked ``offers_discount`` never applies to a full-price buyer
    (``full_price_share >= segments.full_price_min_share``), nor to anyone when the scores carry
    no ``full_price_share``.
    """
    n = len(df)
    treatment = pd.Series(FALLBACK_TREATMENT, index=df.index, dtype=object)
    matched = np.full(n, -1, dtype=np.int64)
    open_ = np.ones(n, dtype=bool)
    segment = df["segment"].to_numpy()
    if "full_price_share" in df.columns:
        share = pd.to_numeric(df["full_price_share"], errors="coerce").to_numpy(dtype=np.float64)
        may_discount = share < cfg.segments.full_price_min_share  # NaN: False
    else:
        may_discount = np.zeros(n, dtype=bool)
    for i, rule in enumerate(cfg.treatments):
        if not open_.any():
            break
        where = f"treatments[{i}]"
        mask = open_ if rule.segment == "any" else open_ & (segment == rule.segment)
        if rule.offers_discount:
            mask = mask & may_discount
        if not mask.any():
            continue
        mask = mask & _condition(df, rule, where)
        if mask.any():
            fields = {f for _, f, _, _ in string.Formatter().parse(rule.treatment) if f}
            used = [c for c in df.columns if c in fields]  # not the whole wide table
            treatment[mask] = _render(df.loc[mask, used], rule.treatment, cfg, where).to_numpy()
            matched[mask] = i
            open_ &= ~mask
    return treatment, matched


# --------------------------------------------------------------------------- lists


def _require_segments(scores: pd.DataFrame) -> None:
    missing = [c for c in ("vip_now", "tier", "segment", "gap_to_vip") if c not in scores]
    if missing:
        raise SchemaError(
            [f"missing column(s) {', '.join(missing)}: call vipml.segments.assign_segments first"],
            table="scores",
        )


def marketer_lists(
    scores: pd.DataFrame, config: Config | Mapping[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """The lists a marketer acts on, keyed as :data:`LISTS`.

    ``vips_by_tier``: every VIP now (at-risk and lapsed ones included), top tier first, then by
    value; ``predicted_vips``: by ``p_future_vip``; ``near_vips``: smallest gap first;
    ``at_risk_vips``: by value at stake (``clv``); ``lapsed_vips``: by 12-month value;
    ``dormant_high_potential``: by ``clv``. Each list has the :data:`SCORE_COLUMNS` first.
    On the at-risk and lapsed lists ``reasons`` gives the churn reasons (``churn_reasons``,
    where the scores have them): why the customer may be lost, not why they may grow.

    Examples
    --------
    >>> scores = assign_segments(pd.DataFrame({
    ...     "customer_id": [1, 2, 3], "spend_12m": [900.0, 100.0, 10.0],
    ...     "profit_12m": [300.0, 30.0, 3.0], "orders_12m": [5, 2, 1],
    ...     "days_since_last": [3, 40, 300], "p_alive": [0.9, 0.8, 0.3],
    ...     "expected_purchases": [3.0, 1.0, 0.1], "clv": [600.0, 60.0, 2.0],
    ...     "clv_profit": [200.0, 20.0, 0.6], "p_future_vip": [0.8, 0.6, 0.0],
    ...     "p_churn": [0.7, 0.2, 0.9], "reasons": ["", "", ""]}))
    >>> {name: table["customer_id"].tolist() for name, table in marketer_lists(scores).items()}
    {'vips_by_tier': [1], 'predicted_vips': [2], 'near_vips': [], 'at_risk_vips': [1], \
'lapsed_vips': [], 'dormant_high_potential': []}
    """
    _require_segments(scores)
    cfg = as_config(config)
    value_col, clv_col = _value_columns(cfg.vip)
    value_col = scores.attrs.get("value_column", value_col)
    clv_col = scores.attrs.get("clv_column", clv_col)
    columns = [c for c in (*SCORE_COLUMNS, *STATUS_COLUMNS) if c in scores.columns]
    columns += [c for c in scores.columns if c not in columns]
    rank = {t.name: i for i, t in enumerate(cfg.vip.tiers)}

    def pick(mask: pd.Series, by: list[str], ascending: list[bool]) -> pd.DataFrame:
        table = scores.loc[mask.to_numpy(dtype=bool), columns]
        return table.sort_values(by, ascending=ascending, kind="stable").reset_index(drop=True)


    vips = scores.loc[scores["vip_now"].to_numpy(dtype=bool), columns].copy()
    vips["_rank"] = vips["tier"].map(rank).fillna(len(rank))
    vips = vips.sort_values(["_rank", value_col], ascending=[True, False], kind="stable")
    segment = scores["segment"]
    return {
        "vips_by_tier": vips.drop(columns="_rank").reset_index(drop=True),
        "predicted_vips": pick(
            segment == "predicted_vip", ["p_future_vip", clv_col], [False, False]
        ),
        "near_vips": pick(segment == "near_vip", ["gap_to_vip", clv_col], [True, False]),
        "at_risk_vips": with_churn_reasons(
            pick(segment == "at_risk_vip", [clv_col, "p_churn"], [False, False])
        ),
        "lapsed_vips": with_churn_reasons(
            pick(segment == "lapsed_vip", [value_col, clv_col], [False, False])
        ),
        "dormant_high_potential": pick(
            segment == "dormant_high_potential", [clv_col, "days_since_last"], [False, True]
        ),
    }


def with_churn_reasons(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the ``reasons`` of its at-risk and lapsed rows (:data:`CHURN_SEGMENTS`)
    replaced by their ``churn_reasons`` where those were written: why the customer may be
    lost, not why they may grow. Tables without ``churn_reasons`` are returned as they are.

    >>> t = pd.DataFrame({"segment": ["vip", "lapsed_vip"], "reasons": ["a", "b"],
    ...                   "churn_reasons": ["x", "y"]})
    >>> with_churn_reasons(t)["reasons"].tolist()
    ['a', 'y']
    """
    if "churn_reasons" not in table or "reasons" not in table or table.empty:
        return table
    churn = table["segment"].isin(CHURN_SEGMENTS) & (
        table["churn_reasons"].fillna("").astype(str) != ""
    )
    if not churn.any():
        return table
    out = table.copy()
    out["reasons"] = out["reasons"].where(~churn, out["churn_reasons"])
    return out


def segment_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Customers, value and risk per segment (in :data:`SEGMENTS` order, then a total row).

    Columns: ``segment``, ``label``, ``customers``, ``share_of_customers``, ``spend_12m``,
    ``share_of_spend``, ``clv``, ``share_of_clv``, ``mean_p_future_vip``, ``mean_p_churn``.
    """
    _require_segments(scores)
    grouped = scores.groupby("segment", sort=False).agg(
        customers=("customer_id", "size"),
        spend_12m=("spend_12m", "sum"),
        clv=("clv", "sum"),
        mean_p_future_vip=("p_future_vip", "mean"),
        mean_p_churn=("p_churn", "mean"),
    )
    table = grouped.reindex(list(SEGMENTS)).fillna(0.0)
    table["customers"] = table["customers"].astype(np.int64)
    total = pd.DataFrame(
        {
            "customers": [len(scores)],
            "spend_12m": [scores["spend_12m"].sum()],
            "clv": [scores["clv"].sum()],
            "mean_p_future_vip": [scores["p_future_vip"].mean() if len(scores) else 0.0],
            "mean_p_churn": [scores["p_churn"].mean() if len(scores) else 0.0],
        },
        index=["all"],
    )
    table = pd.concat([table, total])
    for col, share in (
        ("customers", "share_of_customers"),
        ("spend_12m", "share_of_spend"),
        ("clv", "share_of_clv"),
    ):
        denominator = float(total[col].iloc[0])
        table[share] = table[col] / denominator if denominator else 0.0
    table = table.rename_axis("segment").reset_index()
    table.insert(1, "label", table["segment"].map({**SEGMENT_LABELS, "all": "All customers"}))
    return table[
        [
            "segment", "label", "customers", "share_of_customers", "spend_12m", "share_of_spend",
            "clv", "share_of_clv", "mean_p_future_vip", "mean_p_churn",
        ]
    ]


def value_concentration(
    scores: pd.DataFrame, value: str = "spend_12m", orders: str = "orders_12m"
) -> dict[str, float]:
    """How concentrated value is among customers with value in the window.

    The top 10% and top 1% (at least one customer each) by ``value``: their share of the total,
    and their value per order against the rest's (the field's rule of thumb: about 3x for the
    top 10% and 5x for the top 1%). Also the Gini coefficient.

    Examples
    --------
    >>> scores = pd.DataFrame({"spend_12m": [100.0] * 9 + [900.0], "orders_12m": [1] * 9 + [3]})
    >>> c = value_concentration(scores)
    >>> round(c["top10_share"], 2), round(c["top10_order_value_ratio"], 1)
    (0.5, 3.0)
    """
    v = scores[value].to_numpy(dtype=np.float64)
    o = scores[orders].to_numpy(dtype=np.float64) if orders in scores else np.ones_like(v)
    keep = v > 0
    v, o = v[keep], o[keep]
    order = np.argsort(-v, kind="stable")
    v, o = v[order], o[order]
    n, total = len(v), float(v.sum())
    out: dict[str, float] = {"customers": float(n), "total": total}
    for name, pct in (("top10", 0.10), ("top1", 0.01)):
        k = max(1, math.ceil(pct * n - 1e-9)) if n else 0
        top_v, rest_v = v[:k].sum(), v[k:].sum()
        top_o, rest_o = o[:k].sum(), o[k:].sum()
        out[f"{name}_customers"] = float(k)
        out[f"{name}_share"] = float(top_v / total) if total else 0.0
        top_aov = top_v / top_o if top_o else 0.0
        rest_aov = rest_v / rest_o if rest_o else 0.0
        out[f"{name}_order_value_ratio"] = float(top_aov / rest_aov) if rest_aov else 0.0
        out[f"{name}_value_ratio"] = (
            float((top_v / k) / (rest_v / (n - k))) if n > k and rest_v else 0.0
        )
    if n:
        ascending = v[::-1]
        cum = np.cumsum(ascending)
        out["gini"] = float((n + 1 - 2 * (cum.sum() / cum[-1])) / n) if cum[-1] else 0.0
    else:
        out["gini"] = 0.0
    return out


# --------------------------------------------------------------------------- VIP profile


def customer_attributes(
    transactions: pd.DataFrame | None = None, customers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Attributes for the VIP profile: the customers table, plus ``first_category`` bought and
    the attributes carried on the transaction rows (``input.customer_attributes``).

    ``first_category`` is the category of each customer's earliest purchase row (returns and
    refunds left out) when the transactions carry a ``category`` column. A row attribute is the
    value on the customer's latest row; the customers table wins for the same name.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...     "timestamp": pd.to_datetime(["2024-02-01", "2024-01-05", "2024-03-01"]),
    ...     "revenue": [10.0, 20.0, 5.0], "category": ["books", "vinyl", "apparel"]})
    >>> customer_attributes(tx).to_dict("list")
    {'customer_id': [1, 2], 'first_category': ['vinyl', 'apparel']}
    """
    out: pd.DataFrame | None = None
    if transactions is not None and "category" in transactions.columns:
        tx = transactions
        keep = tx["revenue"].to_numpy(dtype=np.float64) >= 0
        if "is_return" in tx:
            keep &= ~tx["is_return"].to_numpy(dtype=bool)
        tx = tx.loc[keep & tx["category"].notna().to_numpy(), ["customer_id", "timestamp"]]
        tx = tx.assign(first_category=transactions.loc[tx.index, "category"])
        first = tx.sort_values(["customer_id", "timestamp"], kind="stable").drop_duplicates(
            "customer_id"
        )
        out = first[["customer_id", "first_category"]].reset_index(drop=True)
    carried = [] if transactions is None else transaction_attributes(transactions)
    if carried:
        latest = transactions["timestamp"].max()
        rows = row_attributes(transactions, latest, carried).reset_index()
        out = rows if out is None else out.merge(rows, on="customer_id", how="outer")
    if customers is not None:
        if transactions is not None:
            customers = align_ids(customers, transactions["customer_id"])
        attrs = customers.drop_duplicates("customer_id")
        if out is None:
            out = attrs.reset_index(drop=True)
        else:
            keep = ("customer_id", "first_category")
            wins = [c for c in attrs.columns if c in out and c not in keep]
            out = out.drop(columns=wins)
            extra = attrs.drop(columns=[c for c in ("first_category",) if c in attrs])
            out = out.merge(extra, on="customer_id", how="outer")
    if out is None:
        return pd.DataFrame({"customer_id": []})
    return out


def _is_text(values: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(values)
        or pd.api.types.is_string_dtype(values)
        or isinstance(values.dtype, pd.CategoricalDtype)
    )


def _profile_groups(scores: pd.DataFrame) -> dict[str, np.ndarray]:
    vip = scores["vip_now"].to_numpy(dtype=bool)
    predicted = (scores["segment"] == "predicted_vip").to_numpy()
    return {"vip": vip, "predicted_vip": predicted, "everyone_else": ~vip & ~predicted}


def vip_profile(scores: pd.DataFrame, attributes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Who the VIPs and predicted VIPs are, against everyone else.

    For each categorical attribute (:data:`PROFILE_ATTRIBUTES` and other text columns of
    ``attributes`` with at most 200 values; above 30, the 29 most common and
    ``(other)``), the share of each group in each value; for each
    value signal present (spend, orders, order value, CLV, churn risk, full-price share, returns,
    support, ...), the group means. ``vip_index`` = VIP figure / everyone else's (1.4: VIPs are
    40% more likely to come from there, or have 40% more of it); likewise
    ``predicted_vip_index``. The first row counts the customers of each group.

    Parameters
    ----------
    scores
        The output of :func:`assign_segments` (attribute columns may already be in it).
    attributes
        Optional table with ``customer_id`` and attributes (e.g. from
        :func:`customer_attributes`); joined on ``customer_id``.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (count / attribute / signal), ``attribute``, ``value``, ``statistic``
        (count / share / mean), ``vip``, ``predicted_vip``, ``everyone_else``, ``vip_index``,
        ``predicted_vip_index``.
    """
    _require_segments(scores)
    df = scores
    if attributes is not None and len(attributes.columns) > 1:
        if "customer_id" not in attributes:
            raise SchemaError(["missing column customer_id"], table="attributes")
        extra = [c for c in attributes.columns if c != "customer_id" and c not in df.columns]
        if extra:
            right = attributes[["customer_id", *extra]].drop_duplicates("customer_id")
            right = right.assign(customer_id=right["customer_id"].astype(str))
            df = (
                df.assign(_key=df["customer_id"].astype(str))
                .merge(right.rename(columns={"customer_id": "_key"}), on="_key", how="left")
                .drop(columns="_key")
            )
    groups = _profile_groups(df)
    rows: list[dict[str, Any]] = [
        {"kind": "count", "attribute": "customers", "value": "all", "statistic": "count",
         **{g: float(m.sum()) for g, m in groups.items()}}
    ]
    categorical = [c for c in PROFILE_ATTRIBUTES if c in df.columns]
    if attributes is not None:
        for c in attributes.columns:
            if (
                c not in categorical
                and c != "customer_id"
                and c in df.columns
                and _is_text(df[c])
                and df[c].nunique() <= _PROFILE_MAX_VALUES
            ):
                categorical.append(c)
    for attr in categorical:
        values = df[attr].astype(object).where(df[attr].notna(), "(unknown)").astype(str)
        if values.nunique() > _PROFILE_LEVELS:  # the most common values, the rest together
            common = values.value_counts().index[: _PROFILE_LEVELS - 1]
            values = values.where(values.isin(common), "(other)")
        for level in sorted(values.unique()):
            hit = (values == level).to_numpy()
            row = {"kind": "attribute", "attribute": attr, "value": level, "statistic": "share"}
            for g, m in groups.items():
                row[g] = float(hit[m].mean()) if m.any() else 0.0
            rows.append(row)
    for signal in _PROFILE_SIGNALS:
        if signal not in df.columns or not pd.api.types.is_numeric_dtype(df[signal]):
            continue
        x = df[signal].to_numpy(dtype=np.float64)
        row = {"kind": "signal", "attribute": signal, "value": "", "statistic": "mean"}
        for g, m in groups.items():
            row[g] = float(np.nanmean(x[m])) if m.any() and np.isfinite(x[m]).any() else 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    base = table["everyone_else"].to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for g in ("vip", "predicted_vip"):
            ratio = table[g].to_numpy(dtype=np.float64) / base
            table[f"{g}_index"] = np.where(np.isfinite(ratio), ratio, np.nan)
    table.loc[table["kind"] == "count", ["vip_index", "predicted_vip_index"]] = np.nan
    return table


def profile_attributes_used(profile: pd.DataFrame) -> list[str]:
    """The categorical attributes a :func:`vip_profile` table compares."""
    return list(dict.fromkeys(profile.loc[profile["kind"] == "attribute", "attribute"]))


def treatment_rules_table(
    config: Config | Mapping[str, Any] | None = None, scores: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The treatment rules in force, one row per rule (for the spreadsheet and the report).

    With ``scores`` (a segmented table), each rule also gets the number of customers it was
    given to (``customers``) and the text of one of them (``example``: amounts filled in); a
    last row counts the customers no rule matched, when there are any.

    Examples
    --------
    >>> treatment_rules_table().loc[0, ["segment", "treatment"]].tolist()
    ['regular', 'Standard newsletter; no special treatment']
    """
    cfg = as_config(config)
    columns = ["order", "segment", "when", "treatment", "offers_discount"]
    rows = [
        {
            "order": i + 1,
            "segment": r.segment,
            "when": r.when or "always",
            "treatment": r.treatment,
            "offers_discount": r.offers_discount,
        }
        for i, r in enumerate(cfg.treatments)
    ]
    table = pd.DataFrame(rows, columns=columns)
    if scores is None:
        return table
    _require_segments(scores)
    texts, matched = _matched_rules(scores, cfg)
    counts = np.bincount(matched + 1, minlength=len(rows) + 1)
    first = pd.Series(texts.to_numpy()).groupby(matched).first()
    table["customers"] = counts[1:]
    table["example"] = [first.get(i, "") for i in range(len(rows))]
    if counts[0]:
        fallback = {"order": len(rows) + 1, "segment": "any", "when": "no rule matched",
                    "treatment": FALLBACK_TREATMENT, "offers_discount": False,
                    "customers": counts[0], "example": FALLBACK_TREATMENT}
        table = pd.concat([table, pd.DataFrame([fallback])], ignore_index=True)
    return table


def as_config(config: Config | Mapping[str, Any] | None) -> Config:
    """A :class:`Config` from a Config, nested plain data (validated), or None (defaults)."""
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    return config_from_dict(dict(config))
