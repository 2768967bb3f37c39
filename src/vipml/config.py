"""Typed settings with embedded defaults, loaded from one YAML file and validated.

Every section is a frozen dataclass; :func:`load_config` reads YAML, rejects unknown keys and
values outside a closed set (listing the valid choices), and :func:`config_to_dict` /
:func:`flatten_config` turn a config back into plain data (for ``vipml config --show``, the model
bundle and MLflow params).

Examples
--------
>>> cfg = Config()
>>> cfg.labels.vip_top_pct
0.1
>>> cfg = config_from_dict({"vip": {"mode": "dynamic", "top_pct": 0.05}})
>>> (cfg.vip.mode, cfg.vip.top_pct)
('dynamic', 0.05)
>>> config_from_dict({"vip": {"mode": "weekly"}})
Traceback (most recent call last):
...
vipml.errors.ConfigError: vip.mode: 'weekly' is not one of 'fixed', 'dynamic'
"""

from __future__ import annotations

import dataclasses
import re
import string
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import pandas as pd
import yaml

from vipml.contract import (
    EVENT_OPTIONAL,
    EVENT_REQUIRED,
    TRANSACTION_OPTIONAL,
    TRANSACTION_REQUIRED,
)
from vipml.errors import ConfigError
from vipml.units import DURATION_DAYS

__all__ = [
    "ColumnsConfig",
    "InputConfig",
    "FeaturesConfig",
    "BtydConfig",
    "LabelsConfig",
    "TrainingConfig",
    "LightGBMConfig",
    "VipConfig",
    "TierConfig",
    "SegmentsConfig",
    "TreatmentRule",
    "DEFAULT_TREATMENTS",
    "parse_condition",
    "ScoringConfig",
    "TrackingConfig",
    "Config",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "flatten_config",
    "dump_config",
    "parse_duration",
]


@dataclass(frozen=True)
class ColumnsConfig:
    """Map the user's column names onto vipml's contract (``their_name: our_name``)."""

    transactions: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InputConfig:
    """How a raw export is read: what to do with rows vipml cannot use as they are, and the
    file's dialect. Every default is safe (nothing dropped, nothing guessed), and ``vipml
    validate`` reports each choice with its row count.

    Examples
    --------
    >>> config_from_dict({"input": {"rows_without_customer": "drop",
    ...                             "customer_attributes": ["Country"]}}).input.customer_attributes
    ('Country',)
    """

    rows_without_customer: Literal["error", "drop"] = "error"
    """Rows with an empty customer id (guest orders): an error, or dropped (the rows and the
    revenue dropped are reported)."""
    duplicate_rows: Literal["keep", "drop"] = "keep"
    """Rows that exactly repeat another row: kept (with a warning) or dropped."""
    timestamp_format: str = "auto"
    """``auto``: ISO 8601 and unambiguous formats are read, ambiguous day/month orders are an
    error; or a strftime format such as ``'%d/%m/%Y %H:%M'``."""
    encoding: str = "auto"
    """CSV text encoding: ``auto`` tries UTF-8 (with or without BOM), then cp1252, then
    latin-1 and says which it used; or a codec name such as ``cp1252``."""
    separator: str = "auto"
    """CSV field separator: ``auto`` detects ``,`` ``;`` tab or ``|``; or the character (``tab``
    for a tab)."""
    customer_attributes: tuple[str, ...] = ()
    """Columns of the transaction rows that describe the customer (country, segment, region):
    each becomes a customer attribute, the value on the customer's latest row up to the
    cutoff, used like a customers-table attribute (a customers table wins for the same name)."""

    @property
    def csv_separator(self) -> str:
        """The separator as a character (``tab`` spelled out becomes ``\\t``)."""
        return "\t" if self.separator.lower() in ("tab", "\\t") else self.separator


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature windows and fill-ins."""

    default_margin_rate: float = 0.3
    """Gross margin assumed where the data carry no ``cost`` column (the output flags it)."""
    top_lines_share: float = 0.3
    """Share of categories (ranked by margin rate) counted as the 'most profitable lines'."""
    windows_days: tuple[int, ...] = (91, 182, 365)
    """The short, medium and long activity windows (about 3, 6 and 12 months)."""


@dataclass(frozen=True)
class BtydConfig:
    """Lifetime-value models."""

    model: Literal["bgnbd", "pareto_nbd", "mbgnbd", "auto"] = "bgnbd"
    freq: Literal["D", "W"] = "D"
    """Period purchases are aggregated into (lifetimes' ``freq``)."""
    time_unit: Literal["D", "W"] = "W"
    """Unit recency and T are expressed in (the published CDNOW tables use weeks)."""
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
    """Penalizer schedule tried in order when a fit fails or parameters run away."""
    discount_rate_monthly: float = 0.01
    clv_months: int = 12


@dataclass(frozen=True)
class LabelsConfig:
    """Targets in (cutoff, cutoff + horizon]."""

    horizon: str = "26W"
    vip_top_pct: float = 0.1
    vip_fixed_amount: float | None = None
    """When set, a future VIP is anyone whose value in the horizon exceeds this amount."""
    churn_active_days: int = 365


@dataclass(frozen=True)
class TrainingConfig:
    """Rolling historical cutoffs stacked into one training set."""

    cutoff_step: str = "4W"
    max_cutoffs: int = 6
    """Label windows stacked: the latest (ending at the training cutoff) validates, others train."""
    min_history_days: int = 90
    """A historical cutoff needs this many days of data before it."""
    seed: int = 42
    max_customers: int | None = 200_000
    """Customers whose rows train the classifiers, per window. Above it, a fixed hash sample
    of ``customer_id`` (the same customers in every window) is used: the features are built
    for the sample only, while the BTYD fit, the profitable lines and the label thresholds
    still use every customer. LightGBM learns no better from millions of rows than from a
    few hundred thousand, and training time is proportional. ``null``: every customer."""
    validation_share: float = 0.3
    """Share of customers (by a hash of customer_id) held out of the training windows; their
    rows in the latest window validate. Label windows overlap, so validating on customers the
    trees trained on would reward memorising their futures."""
    class_weight: Literal["balanced", "none"] = "balanced"
    """Class imbalance: weigh each class to parity (calibration restores the probabilities)."""
    calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid"
    """Probability calibration on the latest (validation) window: Platt, isotonic or none."""


@dataclass(frozen=True)
class LightGBMConfig:
    """LightGBM hyperparameters (binary objective)."""

    num_leaves: int = 7
    learning_rate: float = 0.1
    n_estimators: int = 2000
    """Most boosting rounds; early stopping on the validation window picks the number."""
    min_child_samples: int = 200
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.9
    bagging_freq: int = 1
    lambda_l2: float = 10.0
    early_stopping_rounds: int = 50
    num_threads: int = 0
    """0: LightGBM's default (all cores)."""


@dataclass(frozen=True)
class TierConfig:
    """One VIP tier: a name and its lower bound.

    With ``vip.tier_by: quantile`` the bound is a quantile of value among the VIPs (``0.9``: the
    top 10% of VIPs); with ``amount`` it is an amount of value in the window. A VIP below every
    bound lands in the lowest tier.
    """

    name: str
    min_value: float


@dataclass(frozen=True)
class VipConfig:
    """Who is a VIP now (see :func:`vipml.segments.assign_segments`).

    ``fixed``: value in the window at or above ``threshold``; a status once granted holds for
    ``term_days`` and is then re-evaluated (pass the previous run's table as ``previous``).
    ``dynamic``: the top ``top_pct`` of all scored customers by value, re-evaluated at each run.
    """

    mode: Literal["fixed", "dynamic"] = "dynamic"
    value: Literal["spend", "profit"] = "spend"
    """What makes a VIP: ``spend_12m`` or ``profit_12m`` (and ``clv`` or ``clv_profit``)."""
    window_days: int = 365
    """The activity window of ``spend_12m`` / ``profit_12m`` (computed by the scorer)."""
    threshold: float = 1000.0
    """Fixed mode: a VIP's value in the window is at least this amount."""
    top_pct: float = 0.1
    """Dynamic mode: the top share of customers by value at each run."""
    term_days: int = 304
    """Fixed mode: how long a status holds before it is re-evaluated (about 10 months)."""
    tier_by: Literal["quantile", "amount"] = "quantile"
    tiers: tuple[TierConfig, ...] = (
        TierConfig("gold", 0.9),
        TierConfig("silver", 0.6),
        TierConfig("bronze", 0.0),
    )
    """From the highest bound to the lowest; the lowest is the entry tier."""
    currency: str = "$"
    """Currency symbol used in treatment messages, the spreadsheet and the report."""


@dataclass(frozen=True)
class SegmentsConfig:
    """Thresholds of the marketer lists (one segment per customer, first match wins).

    ``at_risk_vip``: VIP now, ``p_churn >= at_risk_min_p_churn`` and still alive enough to save
    (``p_alive >= lapsed_max_p_alive``); ``lapsed_vip``: VIP now with ``p_alive`` below that
    floor (win back, no gifts); ``vip``: every other VIP; ``predicted_vip``: not VIP, among
    the top ``predicted_vip_top_pct`` of non-VIPs by ``p_future_vip`` and at least
    ``predicted_vip_min_lift`` times their mean ``p_future_vip`` (the base rate); ``near_vip``:
    not VIP, value short of the VIP threshold by at most ``near_vip_gap_pct`` of it;
    ``dormant_high_potential``: not VIP, no purchase for ``dormant_days`` and CLV at or above
    the ``dormant_min_clv_quantile`` quantile of all customers; ``regular``: everyone else.
    """

    predicted_vip_top_pct: float = 0.02
    """Capacity of the predicted-VIP list: this share of the non-VIP customers, the most
    likely first (ties at the boundary are all in)."""
    predicted_vip_min_lift: float = 2.0
    """A predicted VIP's ``p_future_vip`` is at least this many times the non-VIPs' mean."""
    predicted_vip_min_p: float = 0.0
    """An absolute floor on ``p_future_vip`` for the predicted-VIP list (0: none)."""
    near_vip_gap_pct: float = 0.25
    """Near-VIP: value within this share below the VIP threshold."""
    at_risk_min_p_churn: float = 0.5
    lapsed_max_p_alive: float = 0.2
    """A VIP whose ``p_alive`` is below this is lapsed (``lapsed_vip``), not at risk."""
    dormant_days: int = 180
    dormant_min_clv_quantile: float = 0.8
    full_price_min_share: float = 0.8
    """A full-price buyer: at least this share of spend at full price (``full_price_share``).
    A rule with ``offers_discount: true`` never applies to one, nor where the share is unknown."""


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


@dataclass(frozen=True)
class ScoringConfig:
    """Batch scoring."""

    chunks: int = 1
    """Number of customer chunks (ranges of customer_id); each is scored whole in memory."""
    workers: int = 0
    """Processes scoring chunks side by side; 0: one per core, at most one per chunk. Each
    holds one chunk in memory, so peak memory grows with it; the output does not change."""
    reasons: Literal["listed", "all", "none"] = "listed"
    """Whose reasons ``vipml score`` writes: the customers on a list (every segment but
    ``regular``, the ones marketers see), everyone, or nobody. Each explained customer costs a
    TreeSHAP pass per model; the probabilities are computed for everyone either way."""
    allow_missing: tuple[str, ...] = ()
    """Inputs the model was trained with that may be missing when scoring (a transaction
    column, an event kind, a customer attribute; ``events`` or ``customers`` for all of that
    table's): they are filled with defaults, with a warning. Any other missing input is an
    error (:mod:`vipml.model_inputs`)."""


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking."""

    enabled: bool = True
    experiment: str = "vipml"
    registered_model: str = "vipml"
    promote_metric: str = "future_vip_average_precision"


@dataclass(frozen=True)
class Config:
    """Every setting of vipml, with its default."""

    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    input: InputConfig = field(default_factory=InputConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    btyd: BtydConfig = field(default_factory=BtydConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    vip: VipConfig = field(default_factory=VipConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    treatments: tuple[TreatmentRule, ...] = DEFAULT_TREATMENTS
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def _convert(value: Any, hint: Any, where: str) -> Any:
    """Convert plain YAML data into the type ``hint`` names, or raise ConfigError."""
    origin = get_origin(hint)
    if origin is Literal:
        choices = get_args(hint)
        if value not in choices:
            valid = ", ".join(repr(c) for c in choices)
            raise ConfigError(f"{where}: {value!r} is not one of {valid}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(value, inner[0], where)
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return _build(hint, value, where)
    if origin is tuple:
        (item,) = get_args(hint)[:1]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        items, problems = [], []
        for i, v in enumerate(value):
            try:
                items.append(_convert(v, item, f"{where}[{i}]"))
            except ConfigError as exc:
                problems += _problems_of(exc)
        if problems:
            raise _config_error(problems)
        return tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {str(k): str(v) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if hint is int and float(value) != int(value):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str | int | float):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value


def _config_error(problems: list[str]) -> ConfigError:
    """One ConfigError listing every problem (``problems`` kept on it for the caller)."""
    if len(problems) == 1:
        error = ConfigError(problems[0])
    else:
        error = ConfigError(
            f"{len(problems)} problems in the config:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    error.problems = list(problems)  # type: ignore[attr-defined]
    return error


def _problems_of(error: ConfigError) -> list[str]:
    return list(getattr(error, "problems", [str(error)]))


def _build(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build a config dataclass; every unknown key and wrong value is found, then reported in
    one :class:`ConfigError`."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    prefix = f"{where}." if where else ""
    problems = [
        f"unknown key {prefix}{key!s}: valid keys{' of ' + where if where else ''} are "
        f"{', '.join(names)}"
        for key in sorted(set(data) - set(names), key=str)
    ]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            continue
        try:
            kwargs[key] = _convert(value, hints[key], f"{prefix}{key}")
        except ConfigError as exc:
            problems += _problems_of(exc)
    if problems:
        raise _config_error(problems)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # a required field (e.g. a tier's name) is missing
        raise ConfigError(f"{where or 'config'}: {exc}") from None


def _mapping_problems(data: dict[str, Any]) -> list[str]:
    """Mapping targets (in the plain config data) that are not columns of the contract nor a
    listed customer attribute."""
    columns = data.get("columns") if isinstance(data.get("columns"), dict) else {}
    policy = data.get("input") if isinstance(data.get("input"), dict) else {}
    attributes = policy.get("customer_attributes") or []
    valid = {
        "transactions": (
            *TRANSACTION_REQUIRED,
            *TRANSACTION_OPTIONAL,
            *(str(a) for a in attributes if isinstance(attributes, list | tuple)),
        ),
        "events": (*EVENT_REQUIRED, *EVENT_OPTIONAL),
    }
    problems = []
    for table, names in valid.items():
        mapping = columns.get(table) or {}
        for theirs, ours in mapping.items() if isinstance(mapping, dict) else ():
            if str(ours) not in names:
                problems.append(
                    f"columns.{table}: {str(theirs)!r} is mapped to {str(ours)!r}, which is not "
                    f"a column of the contract: use one of {', '.join(names)}"
                )
    return problems


def _check(cfg: Config) -> Config:
    """Cross-field checks that types alone cannot express."""
    for name, value in [
        ("vip.top_pct", cfg.vip.top_pct),
        ("labels.vip_top_pct", cfg.labels.vip_top_pct),
        ("segments.predicted_vip_top_pct", cfg.segments.predicted_vip_top_pct),
        ("segments.at_risk_min_p_churn", cfg.segments.at_risk_min_p_churn),
        ("features.default_margin_rate", cfg.features.default_margin_rate),
    ]:
        if not 0 < value <= 1:
            raise ConfigError(f"{name}: {value} must be in (0, 1]")
    limit = cfg.training.max_customers
    if limit is not None and limit < 1000:
        raise ConfigError(
            f"training.max_customers: {limit} is too few to learn from: use 1000 or more, or "
            "null for every customer"
        )
    for name, value in [
        ("segments.predicted_vip_min_p", cfg.segments.predicted_vip_min_p),
        ("segments.lapsed_max_p_alive", cfg.segments.lapsed_max_p_alive),
    ]:
        if not 0 <= value <= 1:
            raise ConfigError(f"{name}: {value} must be in [0, 1]")
    if cfg.segments.predicted_vip_min_lift < 0:
        raise ConfigError(
            f"segments.predicted_vip_min_lift: {cfg.segments.predicted_vip_min_lift} must be 0 "
            "or more"
        )
    if not cfg.vip.tiers:
        raise ConfigError("vip.tiers: give at least one tier")
    bounds = [t.min_value for t in cfg.vip.tiers]
    if bounds != sorted(bounds, reverse=True):
        raise ConfigError("vip.tiers: list tiers from the highest bound to the lowest")
    _check_vip_segments(cfg)
    _check_input(cfg.input)
    parse_duration(cfg.labels.horizon, "labels.horizon")
    parse_duration(cfg.training.cutoff_step, "training.cutoff_step")
    return cfg


def _check_input(policy: InputConfig) -> None:
    """Checks of the ``input`` section: a real codec, one separator character, a format."""
    import codecs

    if policy.encoding != "auto":
        try:
            codecs.lookup(policy.encoding)
        except LookupError:
            raise ConfigError(
                f"input.encoding: {policy.encoding!r} is not a text encoding: use auto, utf-8, "
                "utf-8-sig, cp1252 or latin-1"
            ) from None
    if policy.separator != "auto" and len(policy.csv_separator) != 1:
        raise ConfigError(
            f"input.separator: {policy.separator!r} is not one character: use auto, ',', ';', "
            "tab or '|'"
        )
    fmt = policy.timestamp_format
    if fmt != "auto" and "%" not in fmt:
        raise ConfigError(
            f"input.timestamp_format: {fmt!r} is not a strftime format: use auto or a format "
            "such as '%d/%m/%Y %H:%M' (day first) or '%m/%d/%Y %H:%M' (month first)"
        )
    names = [str(n).strip() for n in policy.customer_attributes]
    if len(set(names)) != len(names) or not all(names):
        raise ConfigError(
            f"input.customer_attributes: names must be distinct and not empty, got {names}"
        )


def _check_vip_segments(cfg: Config) -> None:
    """Checks of the ``vip``, ``segments`` and ``treatments`` sections."""
    vip, seg = cfg.vip, cfg.segments
    for name, value, low_open in [
        ("segments.near_vip_gap_pct", seg.near_vip_gap_pct, True),
        ("segments.full_price_min_share", seg.full_price_min_share, True),
        ("segments.dormant_min_clv_quantile", seg.dormant_min_clv_quantile, False),
    ]:
        if not (0 < value <= 1 if low_open else 0 <= value <= 1):
            raise ConfigError(f"{name}: {value} must be in {'(0' if low_open else '[0'}, 1]")
    for name, value in [
        ("vip.threshold", vip.threshold),
        ("vip.window_days", vip.window_days),
        ("vip.term_days", vip.term_days),
        ("segments.dormant_days", seg.dormant_days),
    ]:
        if value <= 0:
            raise ConfigError(f"{name}: {value} must be positive")
    if vip.tier_by == "quantile" and not all(0 <= t.min_value < 1 for t in vip.tiers):
        raise ConfigError(
            "vip.tiers: with tier_by: quantile each min_value is a quantile among VIPs in "
            "[0, 1), e.g. gold 0.9, silver 0.6, bronze 0.0; use tier_by: amount for amounts"
        )
    names = [t.name for t in vip.tiers]
    if len(set(names)) != len(names) or not all(n.strip() for n in names):
        raise ConfigError(f"vip.tiers: tier names must be distinct and not empty, got {names}")
    for i, rule in enumerate(cfg.treatments):
        parse_condition(rule.when, where=f"treatments[{i}].when")
        try:
            list(string.Formatter().parse(rule.treatment))
        except ValueError as exc:
            raise ConfigError(
                f"treatments[{i}].treatment: {exc} in {rule.treatment!r}: write placeholders "
                "like {gap_to_vip} and double the braces for a literal one"
            ) from None


def config_from_dict(data: dict[str, Any] | None) -> Config:
    """Build a validated :class:`Config` from nested plain data (missing keys take defaults)."""
    data = dict(data or {})
    problems = _mapping_problems(data)
    try:
        cfg = _build(Config, data)
    except ConfigError as exc:
        raise _config_error(_problems_of(exc) + problems) from None
    if problems:
        raise _config_error(problems)
    return _check(cfg)


def load_config(path: str | Path | None = None) -> Config:
    """Load a YAML config file; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        On a missing file, invalid YAML, an unknown key or an invalid value.
    """
    if path is None:
        return Config()
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping at the top level")
    return config_from_dict(data)


def config_to_dict(cfg: Any) -> Any:
    """Turn a config (or any part of one) into plain nested dicts and lists."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, tuple | list):
        return [config_to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: config_to_dict(v) for k, v in cfg.items()}
    return cfg


def dump_config(cfg: Config) -> str:
    """The config as YAML text (what ``vipml config --show`` prints)."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


def flatten_config(cfg: Config) -> dict[str, Any]:
    """Flatten a config to ``section.key`` pairs (MLflow params).

    Examples
    --------
    >>> flat = flatten_config(Config())
    >>> flat["vip.mode"], flat["btyd.model"]
    ('dynamic', 'bgnbd')
    """
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            out[prefix] = value

    walk("", config_to_dict(cfg))
    return out




def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_duration(value: str | int | pd.Timedelta, name: str = "horizon") -> pd.Timedelta:
    """Parse a duration such as ``'26W'``, ``'90D'``, ``'6M'`` (30.4375 days each) or ``'1Y'``.

    Text needs its unit: ``'26'`` is an error (26 days or 26 weeks?). A Python integer means
    days. Months and years are rounded to whole days.

    Examples
    --------
    >>> parse_duration("26W").days, parse_duration("6M").days, parse_duration(30).days
    (182, 183, 30)
    >>> parse_duration("26", "--horizon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: --horizon: '26' has no unit: write 26D (days), 26W (weeks), ...
    >>> parse_duration("2 fortnights")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: horizon: '2 fortnights' is not a duration: use a number ...
    """
    if isinstance(value, pd.Timedelta):
        return value
    text = str(value).strip().upper()
    if isinstance(value, str) and _is_number(text):
        raise ConfigError(
            f"{name}: {value!r} has no unit: write {text}D (days), {text}W (weeks), {text}M "
            f"(months) or {text}Y (years)"
        )
    unit = text[-1:] if text[-1:].isalpha() else "D"
    number = text[:-1] if text[-1:].isalpha() else text
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    if unit not in DURATION_DAYS or amount <= 0:
        raise ConfigError(
            f"{name}: {value!r} is not a duration: use a number followed by D, W, M or Y, e.g. 26W"
        )
    return pd.Timedelta(days=round(amount * DURATION_DAYS[unit]))
