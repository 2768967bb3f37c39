"""Config errors all at once: unknown keys, wrong values and unknown mapping targets."""

from __future__ import annotations

import pytest

from vipml.config import config_from_dict, load_config
from vipml.errors import ConfigError


def test_every_problem_in_one_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "labelz: 1\n"
        "vip:\n  mode: weekly\n  top_pct: lots\n"
        "labels:\n  horizon: 26\n"
        "vip_tiers: []\n"
        "columns:\n  transactions:\n    cid: customer_idd\n"
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [
        "unknown key labelz: valid keys are columns, input, features, btyd, labels, training, "
        "lightgbm, vip, segments, treatments, scoring, tracking",
        "unknown key vip_tiers: valid keys are columns, input, features, btyd, labels, "
        "training, lightgbm, vip, segments, treatments, scoring, tracking",
        "vip.mode: 'weekly' is not one of 'fixed', 'dynamic'",
        "vip.top_pct: expected a number, got 'lots'",
        "columns.transactions: 'cid' is mapped to 'customer_idd', which is not a column of the "
        "contract: use one of customer_id, timestamp, revenue, order_id, cost, list_price, "
        "quantity, category, is_return, product_id, unit_price, profit, discount",
    ]
    assert str(err.value).startswith("5 problems in the config:\n  - unknown key labelz")


def test_problems_inside_lists_are_all_found():
    with pytest.raises(ConfigError) as err:
        config_from_dict({"treatments": [{"segment": "vips", "treatment": "x"},
                                         {"segment": "vip", "treatment": "y", "when": 3,
                                          "colour": "red"}]})
    assert err.value.problems == [
        "treatments[0].segment: 'vips' is not one of 'any', 'at_risk_vip', 'lapsed_vip', 'vip', "
        "'predicted_vip', 'near_vip', 'dormant_high_potential', 'regular'",
        "unknown key treatments[1].colour: valid keys of treatments[1] are segment, treatment, "
        "when, offers_discount",
    ]


def test_mapping_targets_may_be_listed_customer_attributes():
    cfg = config_from_dict({"columns": {"transactions": {"Land": "country"}},
                            "input": {"customer_attributes": ["country"]}})
    assert cfg.columns.transactions == {"Land": "country"}
    with pytest.raises(ConfigError, match=r"columns.events: 'k' is mapped to 'kinds', which is "
                       r"not a column of the contract: use one of customer_id, timestamp, kind"):
        config_from_dict({"columns": {"events": {"k": "kinds"}}})


def test_a_horizon_without_unit():
    with pytest.raises(ConfigError, match=r"labels.horizon: '26' has no unit: write 26D \(days\)"):
        config_from_dict({"labels": {"horizon": 26}})
