"""Treatments: the first configured rule whose conditions a customer meets, its message
rendered with the customer's figures; and the rules as a table for marketers."""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config, TreatmentRule, parse_condition
from vipml.errors import ConfigError
from vipml.segments.vocabulary import FALLBACK_TREATMENT, as_config, require_segments

logger = logging.getLogger(__name__)


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


def treatments_for(df: pd.DataFrame, cfg: Config) -> pd.Series:
    """One treatment per customer: the first configured rule that matches.

    Parameters
    ----------
    df
        Segmented scores (the columns the rules' conditions name).
    cfg
        The settings with the treatment rules.

    Returns
    -------
    pandas.Series
        The treatment text of each row (amounts filled in).

    Examples
    --------
    >>> df = pd.DataFrame({"segment": ["regular"], "customer_id": [1]})
    >>> treatments_for(df, Config()).tolist()
    ['Standard newsletter; no special treatment']
    """
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


def treatment_rules_table(
    config: Config | Mapping[str, Any] | None = None, scores: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The treatment rules in force, one row per rule (for the spreadsheet and the report).

    With ``scores`` (a segmented table), each rule also gets the number of customers it was
    given to (``customers``) and the text of one of them (``example``: amounts filled in); a
    last row counts the customers no rule matched, when there are any.

    Parameters
    ----------
    config
        A :class:`Config`, plain nested settings, or ``None`` for the defaults.
    scores
        A segmented scores table, or ``None``.

    Returns
    -------
    pandas.DataFrame
        ``order``, ``segment``, ``when``, ``treatment``, ``offers_discount`` (and with
        ``scores``: ``customers``, ``example``).

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
    require_segments(scores)
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


