"""Typed settings with embedded defaults, loaded from one YAML file and validated.

- :mod:`vipml.config.sections`: every section is a frozen dataclass (:class:`Config` holds
  them);
- :mod:`vipml.config.treatments`: the treatment rules (:class:`TreatmentRule`,
  :data:`DEFAULT_TREATMENTS`) and their conditions (:func:`parse_condition`);
- :mod:`vipml.config.durations`: durations such as ``26W`` (:func:`parse_duration`);
- :mod:`vipml.config.validation`: :func:`config_from_dict` rejects unknown keys and values
  outside a closed set (listing the valid choices);
- :mod:`vipml.config.io`: :func:`load_config` reads YAML, and :func:`config_to_dict` /
  :func:`flatten_config` / :func:`dump_config` turn a config back into plain data (for
  ``vipml config --show``, the model bundle and MLflow params).

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

from vipml.config.durations import parse_duration
from vipml.config.io import config_to_dict, dump_config, flatten_config, load_config
from vipml.config.sections import (
    ROWS_PER_CHUNK,
    BtydConfig,
    ColumnsConfig,
    Config,
    FeaturesConfig,
    InputConfig,
    LabelsConfig,
    LightGBMConfig,
    ScoringConfig,
    SegmentsConfig,
    TierConfig,
    TrackingConfig,
    TrainingConfig,
    VipConfig,
)
from vipml.config.treatments import DEFAULT_TREATMENTS, TreatmentRule, parse_condition
from vipml.config.validation import config_from_dict

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
    "ROWS_PER_CHUNK",
    "TrackingConfig",
    "Config",
    "load_config",
    "config_from_dict",
    "config_to_dict",
    "flatten_config",
    "dump_config",
    "parse_duration",
]
