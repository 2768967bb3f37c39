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
>>> import pandas as pd
>>> from vipml.config import config_from_dict
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

from vipml.segments.lists import (
    marketer_lists,
    segment_summary,
    value_concentration,
    with_churn_reasons,
)
from vipml.segments.profile import customer_attributes, profile_attributes_used, vip_profile
from vipml.segments.rules import assign_segments, describe_vip_rule
from vipml.segments.status import value_columns
from vipml.segments.thresholds import (
    Population,
    Subset,
    TablePopulation,
    segment_thresholds,
    thresholds_of,
)
from vipml.segments.treatments import treatment_rules_table
from vipml.segments.vocabulary import (
    CHURN_SEGMENTS,
    FALLBACK_TREATMENT,
    INPUT_COLUMNS,
    LISTS,
    PROFILE_ATTRIBUTES,
    SCORE_COLUMNS,
    SEGMENT_LABELS,
    SEGMENTS,
    STATUS_COLUMNS,
    as_config,
)

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
    "thresholds_of",
    "Population",
    "TablePopulation",
    "Subset",
    "value_columns",
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
