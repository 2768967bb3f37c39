"""Treatment rules: what a customer of a segment is offered, and the conditions they test.

A rule names a segment, an optional condition (``when``) and the treatment text;
:data:`DEFAULT_TREATMENTS` are used unless the YAML file lists its own, and
:func:`parse_condition` reads a condition.

Examples
--------
>>> DEFAULT_TREATMENTS[0]
TreatmentRule(segment='regular', treatment='Standard newsletter; no special treatment', \
when='', offers_discount=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from vipml.errors import ConfigError

__all__ = ["SegmentName", "TreatmentRule", "DEFAULT_TREATMENTS", "parse_condition"]

SegmentName = Literal[
    "any", "at_risk_vip", "lapsed_vip", "vip", "predicted_vip", "near_vip",
    "dormant_high_potential", "regular",
]


@dataclass(frozen=True)
class TreatmentRule:
    """One treatment rule: a segment, an optional condition, and the treatment suggested.

    Rules are tried in order and the first that matches a customer gives its treatment.
    ``when`` is empty (always) or clauses ``column op value`` joined by ``and`` / ``or``
    (``and`` binds first), with ``op`` one of ``< <= > >= == !=``, ``value`` a number,
    ``true`` / ``false`` or quoted text, and ``column`` a score column or a ratio of two, e.g.
    ``"return_rate_orders >= 0.3 or support_tickets / orders_12m >= 0.25"``; a clause on a
    column the scores lack, or on a missing value, is false. ``treatment`` may
    name ``{gap_to_vip}``, ``{gap_to_next_tier}`` (amounts), ``{next_tier}``, ``{entry_tier}``,
    ``{tier}`` or any score column. ``offers_discount`` marks a price cut: such a rule is never
    given to a full-price buyer (see ``segments.full_price_min_share``).

    Attributes
    ----------
    segment
        The segment the rule is for (``any``: every segment).
    treatment
        The treatment text, with placeholders.
    when
        The condition (:func:`parse_condition`); empty: always.
    offers_discount
        Whether the treatment cuts the price.

    Examples
    --------
    >>> rule = TreatmentRule("near_vip", "Spend {gap_to_vip} more", "orders_12m >= 2")
    >>> parse_condition(rule.when)
    [[('orders_12m', '>=', 2.0)]]
    """

    segment: SegmentName
    treatment: str
    when: str = ""
    offers_discount: bool = False


_HEAVY_COST = "return_rate_orders >= 0.3 or support_tickets / orders >= 0.25"

DEFAULT_TREATMENTS: tuple[TreatmentRule, ...] = (
    TreatmentRule("regular", "Standard newsletter; no special treatment"),
    TreatmentRule(
        "at_risk_vip",
        "Service recovery: a personal call from customer care to fix what went wrong "
        "(service, not incentives)",
        _HEAVY_COST,
    ),
    TreatmentRule(
        "at_risk_vip",
        "Personal outreach: a call or handwritten note from their account manager and a "
        "surprise gift",
    ),
    TreatmentRule(
        "lapsed_vip",
        "Win-back: a personal 'we miss you' message from their account manager with what is "
        "new in their favourite line (no gifts before they come back)",
        "n_categories > 0",
    ),
    TreatmentRule(
        "lapsed_vip",
        "Win-back: a personal 'we miss you' message from their account manager with what is "
        "new (no gifts before they come back)",
    ),
    TreatmentRule(
        "any",
        "Service, not incentives: proactive support, fit and product advice, hassle-free returns",
        _HEAVY_COST,
    ),
    TreatmentRule(
        "vip",
        "Early access to new releases and VIP-only previews (full-price buyer: never a price cut)",
        "full_price_share >= 0.8",
    ),
    TreatmentRule(
        "vip",
        "Invitation to the VIP-only sale",
        "discount_share >= 0.5",
        offers_discount=True,
    ),
    TreatmentRule(
        "vip",
        "Thank-you note with extra loyalty points: spend {gap_to_next_tier} more to reach "
        "{next_tier}",
        "gap_to_next_tier > 0",
    ),
    TreatmentRule("vip", "Personal thank-you note, extra loyalty points and a surprise upgrade"),
    TreatmentRule(
        "predicted_vip",
        "Early upgrade: welcome to the VIP program now, with early access to new releases",
    ),
    TreatmentRule(
        "near_vip",
        "Progress message: spend {gap_to_vip} more to reach {entry_tier} VIP status",
    ),
    TreatmentRule(
        "dormant_high_potential",
        "Win-back: a time-limited discount on their favourite product line",
        "discount_share >= 0.5 and n_categories > 0",
        offers_discount=True,
    ),
    TreatmentRule(
        "dormant_high_potential",
        "Win-back: a time-limited discount on their next order",
        "discount_share >= 0.5",
        offers_discount=True,
    ),
    TreatmentRule(
        "dormant_high_potential",
        "Win-back: a 'we miss you' note with new arrivals in their favourite line and a free "
        "add-on service",
        "n_categories > 0",
    ),
    TreatmentRule(
        "dormant_high_potential",
        "Win-back: a 'we miss you' note with new arrivals and a free add-on service",
    ),
)
"""The default treatment rules; a ``treatments:`` list in the YAML file replaces them all."""

_CONDITION_TOKEN = re.compile(
    r"\s*(?:(?P<op><=|>=|==|!=|<|>)|(?P<div>/)"
    r"|(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<str>'[^']*'|\"[^\"]*\")|(?P<name>[A-Za-z_][A-Za-z0-9_]*))\s*"
)


def parse_condition(text: str, where: str = "when") -> list[list[tuple[str, str, Any]]]:
    """Parse a treatment condition into OR-groups of AND-ed ``(column, op, value)`` clauses.

    A clause compares a column, or the ratio of two columns (``support_tickets / orders_12m``,
    returned as ``'support_tickets/orders_12m'``), with a number, ``true`` / ``false`` or quoted
    text; ``and`` binds before ``or``.

    Parameters
    ----------
    text
        The condition; empty for none.
    where
        Where the condition comes from, named in errors (``treatments[3].when``).

    Returns
    -------
    list of list of (str, str, Any)
        OR-groups of AND-ed clauses; empty for an empty condition.

    Raises
    ------
    ConfigError
        When the text is not a condition.

    Examples
    --------
    >>> parse_condition("full_price_share >= 0.8 and region == 'north' or vip_now == true")
    [[('full_price_share', '>=', 0.8), ('region', '==', 'north')], [('vip_now', '==', True)]]
    >>> parse_condition("support_tickets / orders_12m > 0.25")
    [[('support_tickets/orders_12m', '>', 0.25)]]
    >>> parse_condition("")
    []
    >>> parse_condition("spend >> 3")
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: when: cannot read 'spend >> 3': write clauses like \
`full_price_share >= 0.8` or `support_tickets / orders_12m > 0.25` joined by `and` / `or`
    """
    text = text.strip()
    if not text:
        return []
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        match = _CONDITION_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            tokens = []
            break
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "num":
            tokens.append(("value", float(raw)))
        elif kind == "str":
            tokens.append(("value", raw[1:-1]))
        elif kind == "name" and raw.lower() in ("and", "or"):
            tokens.append((raw.lower(), raw))
        elif kind == "name" and raw.lower() in ("true", "false"):
            tokens.append(("value", raw.lower() == "true"))
        else:
            tokens.append((kind, raw))
        pos = match.end()
    groups: list[list[tuple[str, str, Any]]] = [[]]
    kinds = [k for k, _ in tokens]
    i, ok = 0, bool(tokens)
    while ok and i < len(tokens):
        if kinds[i : i + 3] == ["name", "div", "name"]:
            column, i = f"{tokens[i][1]}/{tokens[i + 2][1]}", i + 3
        elif kinds[i : i + 1] == ["name"]:
            column, i = tokens[i][1], i + 1
        else:
            ok = False
            break
        if kinds[i : i + 2] != ["op", "value"]:
            ok = False
            break
        groups[-1].append((column, tokens[i][1], tokens[i + 1][1]))
        i += 2
        if i < len(tokens):
            if kinds[i] == "or":
                groups.append([])
            elif kinds[i] != "and" or i + 1 == len(tokens):
                ok = False
            i += 1
    if not ok:
        raise ConfigError(
            f"{where}: cannot read {text!r}: write clauses like `full_price_share >= 0.8` or "
            "`support_tickets / orders_12m > 0.25` joined by `and` / `or`"
        )
    return groups
