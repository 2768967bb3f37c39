"""The config in and out: YAML files, plain nested data, and flat ``section.key`` pairs.

:func:`load_config` reads YAML; :func:`config_to_dict`, :func:`dump_config` and
:func:`flatten_config` turn a config back into plain data (for ``vipml config --show``, the
model bundle and MLflow params).

Examples
--------
>>> print(dump_config(Config()).splitlines()[0])
columns:
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from vipml.config.sections import Config
from vipml.config.validation import config_from_dict
from vipml.errors import ConfigError

__all__ = ["load_config", "config_to_dict", "dump_config", "flatten_config"]


def load_config(path: str | Path | None = None) -> Config:
    """Load a YAML config file; ``None`` gives the defaults.

    Parameters
    ----------
    path
        The YAML file, or None.

    Returns
    -------
    Config
        The checked config (:func:`~vipml.config.config_from_dict`).

    Raises
    ------
    ConfigError
        On a missing file, invalid YAML, an unknown key or an invalid value.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vipml.yaml"
    >>> _ = path.write_text("vip: {mode: fixed, threshold: 500}")
    >>> load_config(path).vip.threshold, load_config(None).vip.threshold
    (500.0, 1000.0)
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
    """Turn a config (or any part of one) into plain nested dicts and lists.

    Parameters
    ----------
    cfg
        A config, a section, or plain data.

    Returns
    -------
    Any
        Dicts for dataclasses and mappings, lists for tuples and lists, other values as
        they are.

    Examples
    --------
    >>> config_to_dict(Config().vip)["tiers"][0]
    {'name': 'gold', 'min_value': 0.9}
    """
    if dataclasses.is_dataclass(cfg):
        return {f.name: config_to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, tuple | list):
        return [config_to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: config_to_dict(v) for k, v in cfg.items()}
    return cfg


def dump_config(cfg: Config) -> str:
    """The config as YAML text (what ``vipml config --show`` prints).

    Parameters
    ----------
    cfg
        The config.

    Returns
    -------
    str
        YAML, sections in their order.

    Examples
    --------
    >>> "mode: dynamic" in dump_config(Config())
    True
    """
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)


def flatten_config(cfg: Config) -> dict[str, Any]:
    """Flatten a config to ``section.key`` pairs (MLflow params).

    Parameters
    ----------
    cfg
        The config.

    Returns
    -------
    dict
        ``section.key`` (``section.key.subkey`` for mappings) to the value; lists stay whole.

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
