"""The words of the segments: the scores table's columns, the segments, the lists and their
labels, the treatment of last resort; and the config of a segmenting call."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from vipml.config import Config, config_from_dict
from vipml.errors import SchemaError

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
NUMERIC_INPUTS = INPUT_COLUMNS[1:-1]

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

DERIVED_COLUMNS = ("vip_now", "tier", "segment", "gap_to_vip", "treatment", *STATUS_COLUMNS)

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


#: The treatment of a customer no rule matches.
FALLBACK_TREATMENT = "Standard communications (no treatment rule matched)"


# --------------------------------------------------------------------------- checks


def as_config(config: Config | Mapping[str, Any] | None) -> Config:
    """A :class:`Config` from a Config, nested plain data (validated), or None (defaults).

    Parameters
    ----------
    config
        A :class:`Config`, nested plain data, or ``None``.

    Returns
    -------
    Config
        The settings.

    Examples
    --------
    >>> as_config({"vip": {"top_pct": 0.05}}).vip.top_pct
    0.05
    """
    if config is None:
        return Config()
    if isinstance(config, Config):
        return config
    return config_from_dict(dict(config))


def money_text(x: float, currency: str, decimals: int = 2) -> str:
    """An amount as text with its currency sign and thousands separators.

    Parameters
    ----------
    x
        The amount.
    currency
        The currency sign.
    decimals
        Digits after the point.

    Returns
    -------
    str
        The text.

    Examples
    --------
    >>> money_text(-1234.5, "$")
    '-$1,234.50'
    """
    return f"{'-' if x < 0 else ''}{currency}{abs(x):,.{decimals}f}"


def require_segments(scores: pd.DataFrame) -> None:
    """Check that ``scores`` was segmented (:func:`assign_segments` columns present).

    Parameters
    ----------
    scores
        The table to check.

    Raises
    ------
    SchemaError
        When a segment column is missing.

    Examples
    --------
    >>> require_segments(pd.DataFrame({"vip_now": [True], "tier": ["gold"], "segment": ["vip"],
    ...     "gap_to_vip": [0.0]}))
    >>> require_segments(pd.DataFrame({"segment": ["vip"]}))
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: scores: 1 problem found
      - missing column(s) vip_now, tier, gap_to_vip: call vipml.segments.assign_segments first
    """
    missing = [c for c in ("vip_now", "tier", "segment", "gap_to_vip") if c not in scores]
    if missing:
        raise SchemaError(
            [f"missing column(s) {', '.join(missing)}: call vipml.segments.assign_segments first"],
            table="scores",
        )
