"""Plain data to a checked :class:`~vipml.config.Config`: unknown keys, values outside a closed
set (listing the valid choices) and cross-field rules are all reported in one error.

Examples
--------
>>> config_from_dict({"vip": {"mode": "dynamic", "top_pct": 0.05}}).vip.top_pct
0.05
>>> config_from_dict({"vip": {"mode": "weekly"}})
Traceback (most recent call last):
...
vipml.errors.ConfigError: vip.mode: 'weekly' is not one of 'fixed', 'dynamic'
"""

from __future__ import annotations

import codecs
import dataclasses
import string
import types
import typing
from typing import Any, Literal, get_args, get_origin

from vipml.config.durations import parse_duration
from vipml.config.sections import Config, InputConfig
from vipml.config.treatments import parse_condition
from vipml.contract import (
    EVENT_OPTIONAL,
    EVENT_REQUIRED,
    TRANSACTION_OPTIONAL,
    TRANSACTION_REQUIRED,
)
from vipml.errors import ConfigError

__all__ = ["config_from_dict"]


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
        if len(inner) == 1:
            return _convert(value, inner[0], where)
        for hint_tried in inner:  # the first type that takes the value (int | "auto")
            try:
                return _convert(value, hint_tried, where)
            except ConfigError:
                continue
        kinds = " or ".join(_describe(a) for a in inner)
        raise ConfigError(f"{where}: {value!r} is not {kinds}")
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
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


def _describe(hint: Any) -> str:
    """A type hint in words, for a message (``a number``, ``'auto'``)."""
    if get_origin(hint) is Literal:
        return " or ".join(repr(c) for c in get_args(hint))
    return {int: "a whole number", float: "a number", bool: "true or false"}.get(hint, str(hint))


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
    columns = data.get("columns")
    columns = columns if isinstance(columns, dict) else {}
    policy = data.get("input")
    policy = policy if isinstance(policy, dict) else {}
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
    """Build a validated :class:`~vipml.config.Config` from nested plain data.

    Parameters
    ----------
    data
        Sections and keys as in the YAML file; missing keys take their defaults.

    Returns
    -------
    Config
        The checked config.

    Raises
    ------
    ConfigError
        Listing every unknown key and invalid value, or the first broken cross-field rule.

    Examples
    --------
    >>> config_from_dict({"labels": {"horizon": "13W"}}).labels.horizon
    '13W'
    >>> config_from_dict({"vip": {"top_pct": 2}})
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: vip.top_pct: 2.0 must be in (0, 1]
    """
    data = dict(data or {})
    problems = _mapping_problems(data)
    try:
        cfg = _build(Config, data)
    except ConfigError as exc:
        raise _config_error(_problems_of(exc) + problems) from None
    if problems:
        raise _config_error(problems)
    return _check(cfg)
