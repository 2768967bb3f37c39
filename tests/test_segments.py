"""VIP rules, tiers, segments, gap to VIP, treatments, VIP profile and marketer lists.

Scores come from real data (a simulated log with known processes, and CDNOW) through
``tests/_scores.py``: value columns computed from the transactions, model columns built from
those features with textbook formulas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipml.config import (
    DEFAULT_TREATMENTS,
    Config,
    config_from_dict,
    dump_config,
    load_config,
)
from vipml.errors import ConfigError, SchemaError
from vipml.segments import (
    INPUT_COLUMNS,
    LISTS,
    SCORE_COLUMNS,
    SEGMENTS,
    STATUS_COLUMNS,
    assign_segments,
    customer_attributes,
    marketer_lists,
    segment_summary,
    segment_thresholds,
    value_concentration,
    vip_profile,
)

FIXED = {"vip": {"mode": "fixed", "threshold": 500.0}}
AMOUNT_TIERS = {
    "vip": {
        "mode": "fixed",
        "threshold": 300.0,
        "tier_by": "amount",
        "tiers": [
            {"name": "gold", "min_value": 1500},
            {"name": "silver", "min_value": 800},
            {"name": "bronze", "min_value": 300},
        ],
    }
}
CONFIGS = {"dynamic": None, "fixed": FIXED, "amount_tiers": AMOUNT_TIERS}


@pytest.fixture(scope="module")
def sim(scores_helper):
    return scores_helper.simulated_scores(5000, seed=1)


@pytest.fixture(scope="module")
def cdnow(scores_helper):
    return scores_helper.cdnow_scores("1997-12-31")


@pytest.fixture(scope="module", params=list(CONFIGS))
def segmented(request, sim):
    scores, _ = sim
    config = config_from_dict(CONFIGS[request.param])
    return assign_segments(scores, config), config


def test_columns_and_order(segmented, sim):
    out, _ = segmented
    assert tuple(out.columns[: len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    assert tuple(out.columns[len(SCORE_COLUMNS) : len(SCORE_COLUMNS) + 4]) == STATUS_COLUMNS
    assert len(out) == len(sim[0]) and out["customer_id"].is_unique
    assert set(out["customer_id"]) == set(sim[0]["customer_id"])
    # the feature columns ride along
    assert "full_price_share" in out.columns


def test_no_nan_in_numeric_score_columns(segmented, cdnow):
    for out in (segmented[0], assign_segments(cdnow)):
        numeric = out.select_dtypes("number")
        assert {"spend_12m", "gap_to_vip", "gap_to_next_tier", "p_churn"} <= set(numeric)
        assert np.isfinite(numeric.to_numpy(dtype=float)).all()
        for col in ("tier", "segment", "treatment", "reasons", "next_tier"):
            assert out[col].notna().all(), col
        assert (out["treatment"].str.len() > 0).all()


def test_every_at_risk_vip_is_a_vip_now(segmented):
    out, config = segmented
    at_risk = out[out["segment"] == "at_risk_vip"]
    assert len(at_risk) > 0
    assert at_risk["vip_now"].all()
    assert (at_risk["p_churn"] >= config.segments.at_risk_min_p_churn).all()
    assert (at_risk["p_alive"] >= config.segments.lapsed_max_p_alive).all()
    # every VIP with a high churn risk still alive enough to save is on the at-risk list;
    # below the P(alive) floor a VIP is lapsed
    alive = out["p_alive"] >= config.segments.lapsed_max_p_alive
    risky = out["vip_now"] & (out["p_churn"] >= config.segments.at_risk_min_p_churn)
    assert (out.loc[risky & alive, "segment"] == "at_risk_vip").all()
    assert (out.loc[out["vip_now"] & ~alive, "segment"] == "lapsed_vip").all()
    lapsed = out[out["segment"] == "lapsed_vip"]
    assert len(lapsed) > 0 and lapsed["treatment"].str.startswith("Win-back").all()
    assert not lapsed["treatment"].str.contains("surprise gift|favourite line").any()


def test_every_near_vip_has_a_positive_gap_and_is_not_a_vip(segmented):
    out, config = segmented
    near = out[out["segment"] == "near_vip"]
    assert len(near) > 0
    assert not near["vip_now"].any()
    assert (near["gap_to_vip"] > 0).all()
    threshold = out.attrs["vip_threshold"]
    assert (near["gap_to_vip"] <= config.segments.near_vip_gap_pct * threshold + 0.01).all()
    # the gap is what it takes: value + gap reaches the threshold, a cent less does not
    value = near["spend_12m"]
    assert (value + near["gap_to_vip"] >= threshold - 1e-9).all()
    assert (value + near["gap_to_vip"] - 0.01 < threshold).all()
    # VIPs need nothing more
    assert (out.loc[out["vip_now"], "gap_to_vip"] == 0).all()


def test_vip_now_follows_the_rule(segmented, sim):
    out, config = segmented
    value = out["spend_12m"]
    threshold = out.attrs["vip_threshold"]
    assert (out["vip_now"] == ((value >= threshold) & (value > 0))).all()
    if config.vip.mode == "fixed":
        assert threshold == config.vip.threshold
    else:
        # the top 10% of all scored customers by value (ties at the boundary all in)
        k = int(np.ceil(0.1 * len(out)))
        assert threshold == np.sort(sim[0]["spend_12m"].to_numpy())[::-1][k - 1]
        assert k <= out["vip_now"].sum() <= k + (value == threshold).sum()


def test_tiers_are_ordered_by_value(segmented):
    out, config = segmented
    names = [t.name for t in config.vip.tiers]
    vips = out[out["vip_now"]]
    assert set(vips["tier"]) <= set(names)
    assert (out.loc[~out["vip_now"], "tier"] == "").all()
    present = [n for n in names if (vips["tier"] == n).any()]
    assert len(present) >= 2
    for higher, lower in zip(present, present[1:], strict=False):
        assert vips.loc[vips["tier"] == higher, "spend_12m"].min() > (
            vips.loc[vips["tier"] == lower, "spend_12m"].max()
        )
    bounds = out.attrs["tier_bounds"]
    assert list(bounds) == names
    assert list(bounds.values()) == sorted(bounds.values(), reverse=True)
    if config.vip.tier_by == "amount":
        assert bounds == {"gold": 1500.0, "silver": 800.0, "bronze": 300.0}
        gold = vips[vips["tier"] == "gold"]
        assert (gold["spend_12m"] >= 1500).all()
    else:  # quantiles among VIPs: about 10% gold, 30% silver, 60% bronze
        shares = vips["tier"].value_counts(normalize=True)
        assert shares["gold"] == pytest.approx(0.1, abs=0.03)
        assert shares["bronze"] == pytest.approx(0.6, abs=0.03)


def test_next_tier_gap(segmented):
    out, config = segmented
    top = config.vip.tiers[0].name
    vips = out[out["vip_now"]]
    assert (vips.loc[vips["tier"] == top, "gap_to_next_tier"] == 0).all()
    lower = vips[vips["tier"] != top]
    assert (lower["gap_to_next_tier"] > 0).all()
    bounds = out.attrs["tier_bounds"]
    reached = lower["spend_12m"] + lower["gap_to_next_tier"]
    assert (reached >= lower["next_tier"].map(bounds) - 1e-9).all()
    others = out[~out["vip_now"]]
    assert (others["next_tier"] == config.vip.tiers[-1].name).all()
    assert (others["gap_to_next_tier"] == others["gap_to_vip"]).all()


def test_segment_definitions(segmented):
    out, config = segmented
    seg = config.segments
    assert set(out["segment"]) <= set(SEGMENTS)
    assert (out["segment"].isin(["vip", "at_risk_vip", "lapsed_vip"]) == out["vip_now"]).all()
    # predicted VIPs by capacity: at most the top share of non-VIPs (ties aside), each at
    # least the lift over the non-VIPs' base rate
    predicted = out[out["segment"] == "predicted_vip"]
    others = out[~out["vip_now"]]
    base = others["p_future_vip"].mean()
    assert out.attrs["predicted_vip_base_rate"] == pytest.approx(base)
    assert len(predicted) > 0
    assert (predicted["p_future_vip"] >= seg.predicted_vip_min_lift * base).all()
    assert (predicted["p_future_vip"] >= out.attrs["predicted_vip_min_p"]).all()
    ranked = others["p_future_vip"].sort_values(ascending=False)
    capacity = int(np.ceil(seg.predicted_vip_top_pct * len(others)))
    assert (predicted["p_future_vip"] >= ranked.iloc[capacity - 1]).all()
    assert (ranked.iloc[: len(predicted)] >= out.attrs["predicted_vip_min_p"]).all()
    assert len(predicted) <= capacity + (ranked == ranked.iloc[capacity - 1]).sum()
    dormant = out[out["segment"] == "dormant_high_potential"]
    assert len(dormant) > 0
    assert (dormant["days_since_last"] >= seg.dormant_days).all()
    assert (dormant["clv"] >= out["clv"].quantile(seg.dormant_min_clv_quantile)).all()
    regular = out[out["segment"] == "regular"]
    assert not regular["vip_now"].any()
    assert (regular["p_future_vip"] < out.attrs["predicted_vip_min_p"]).all()
    # the table is ordered by segment priority
    rank = out["segment"].map({s: i for i, s in enumerate(SEGMENTS)})
    assert rank.is_monotonic_increasing


def test_treatments_never_offer_a_discount_to_a_full_price_buyer(segmented):
    out, config = segmented
    discount_texts = {r.treatment for r in config.treatments if r.offers_discount}
    full_price = out["full_price_share"] >= config.segments.full_price_min_share
    assert full_price.sum() > 100
    assert not out.loc[full_price, "treatment"].isin(discount_texts).any()
    assert not out.loc[full_price, "treatment"].str.contains("discount", case=False).any()
    # discounts do reach discount buyers (the guard is not simply blocking everything)
    discount_buyers = out["discount_share"] >= 0.5
    assert out.loc[discount_buyers, "treatment"].isin(discount_texts).any()


def test_discount_guard_overrides_a_careless_rule(sim):
    scores, _ = sim
    careless = {
        "treatments": [
            {"segment": "any", "treatment": "20% off everything", "offers_discount": True},
            {"segment": "any", "treatment": "Early access"},
        ]
    }
    out = assign_segments(scores, config_from_dict(careless))
    full_price = out["full_price_share"] >= 0.8
    assert (out.loc[full_price, "treatment"] == "Early access").all()
    assert (out.loc[~full_price, "treatment"] == "20% off everything").all()
    # without a full-price share nobody can be shown not to buy at full price: no discounts
    blind = assign_segments(scores.drop(columns="full_price_share"), config_from_dict(careless))
    assert (blind["treatment"] == "Early access").all()


def test_default_treatments_follow_the_brief(segmented):
    out, config = segmented
    near = out[out["segment"] == "near_vip"]
    heavy = (near["return_rate_orders"] >= 0.3) | (
        near["support_tickets"] / near["orders"] >= 0.25
    )
    messages = near.loc[~heavy]
    assert len(messages) > 0
    expected = [
        f"Progress message: spend ${int(np.ceil(g - 1e-9)):,} more to reach "
        f"{config.vip.tiers[-1].name} VIP status"
        for g in messages["gap_to_vip"]
    ]
    assert messages["treatment"].tolist() == expected
    # heavy returners and support users get service, not incentives
    assert near.loc[heavy, "treatment"].str.startswith("Service").all()
    at_risk = out[out["segment"] == "at_risk_vip"]
    assert at_risk["treatment"].str.contains("Personal outreach|Service recovery").all()
    predicted = out[(out["segment"] == "predicted_vip")]
    calm = predicted[(predicted["return_rate_orders"] < 0.3)
                     & (predicted["support_tickets"] / predicted["orders"] < 0.25)]
    assert calm["treatment"].str.startswith("Early upgrade").all()
    vips = out[(out["segment"] == "vip") & (out["full_price_share"] >= 0.8)]
    calm_vips = vips[(vips["return_rate_orders"] < 0.3)
                     & (vips["support_tickets"] / vips["orders"] < 0.25)]
    assert len(calm_vips) > 0
    assert calm_vips["treatment"].str.startswith("Early access").all()
    regular = out.loc[out["segment"] == "regular", "treatment"]
    assert (regular == DEFAULT_TREATMENTS[0].treatment).all()


def test_treatment_conditions_on_text_and_ratios(sim):
    scores, attributes = sim
    scores = scores.merge(attributes, on="customer_id")
    rules = {
        "treatments": [
            {"segment": "any", "treatment": "north: {first_category}",
             "when": "region == 'north' and spend_12m > 0"},
            {"segment": "any", "treatment": "busy", "when": "support_tickets / orders_12m > 1"},
            {"segment": "any", "treatment": "rest"},
        ]
    }
    out = assign_segments(scores, rules)
    north = (out["region"] == "north") & (out["spend_12m"] > 0)
    assert (out.loc[north, "treatment"] == "north: " + out.loc[north, "first_category"]).all()
    ratio = out["support_tickets"] / out["orders_12m"]
    busy = ~north & (ratio > 1)
    assert busy.sum() > 0
    assert (out.loc[busy, "treatment"] == "busy").all()
    assert (out.loc[~north & ~busy, "treatment"] == "rest").all()
    with pytest.raises(ConfigError, match="column 'region' holds text"):
        assign_segments(scores, {"treatments": [{"segment": "any", "treatment": "x",
                                                 "when": "region > 3"}]})
    with pytest.raises(ConfigError, match=r"unknown field \{nope\}"):
        assign_segments(scores, {"treatments": [{"segment": "any", "treatment": "x {nope}"}]})


def test_a_clause_on_an_absent_column_is_false(sim):
    scores, _ = sim
    rules = {"treatments": [{"segment": "any", "treatment": "a", "when": "no_such > 0"},
                            {"segment": "any", "treatment": "b", "when": "no_such <= 0"}]}
    out = assign_segments(scores, rules)
    assert (out["treatment"] == "Standard communications (no treatment rule matched)").all()


def test_idempotent_and_order_free(sim):
    scores, _ = sim
    once = assign_segments(scores)
    twice = assign_segments(once)
    pd.testing.assert_frame_equal(once, twice)
    # the same customers in another order (chunks concatenated, say) give the same table
    shuffled = assign_segments(scores.sample(frac=1.0, random_state=3))
    pd.testing.assert_frame_equal(once, shuffled)


def test_fixed_term_holds_status_until_reevaluation(sim):
    scores, _ = sim
    config = config_from_dict({"vip": {"mode": "fixed", "threshold": 500.0, "term_days": 300}})
    first = assign_segments(scores, config, as_of="2024-12-31")
    vips = first.loc[first["vip_now"], "customer_id"]
    assert len(vips) > 10
    assert (first.loc[first["vip_now"], "vip_since"] == pd.Timestamp("2024-12-31")).all()
    assert (first.loc[first["vip_now"], "vip_until"] == pd.Timestamp("2025-10-27")).all()
    assert first.loc[~first["vip_now"], ["vip_since", "vip_until"]].isna().all().all()

    # A later run: every value halves, so most VIPs no longer qualify.
    later = scores.assign(spend_12m=scores["spend_12m"] / 2)
    later.attrs["cutoff"] = "2025-06-30"
    inside = assign_segments(later, config, previous=first)
    held = inside["customer_id"].isin(vips)
    assert inside.loc[held, "vip_now"].all()  # within the term: status holds
    dropped = inside.loc[held, "spend_12m"] < 500
    assert dropped.sum() > 0
    assert (inside.loc[held, "vip_since"] == pd.Timestamp("2024-12-31")).all()
    assert (inside.loc[held, "vip_until"] == pd.Timestamp("2025-10-27")).all()
    # held VIPs below the threshold need nothing to stay VIP; tiers still follow value
    below = inside[held & (inside["spend_12m"] < 500)]
    assert (below["gap_to_vip"] == 0).all() and (below["tier"] != "").all()
    gold = inside.loc[inside["tier"] == "gold", "spend_12m"]
    assert gold.min() > inside.loc[inside["tier"] == "silver", "spend_12m"].max()

    # after the term: re-evaluated; only those still above the threshold stay, with a new term
    after = assign_segments(later, config, previous=inside, as_of="2025-11-15")
    assert (after["vip_now"] == (after["spend_12m"] >= 500)).all()
    kept = after["vip_now"] & after["customer_id"].isin(vips)
    assert kept.sum() > 0
    assert (after.loc[kept, "vip_since"] == pd.Timestamp("2024-12-31")).all()
    renewed = pd.Timestamp("2025-11-15") + pd.Timedelta(days=300)
    assert (after.loc[kept, "vip_until"] == renewed).all()


def test_previous_from_a_csv_round_trip(sim, tmp_path):
    scores, _ = sim
    config = config_from_dict({"vip": {"mode": "fixed", "threshold": 500.0}})
    first = assign_segments(scores, config, as_of="2024-12-31")
    path = tmp_path / "previous.csv"
    first.assign(customer_id=first["customer_id"].astype(str)).to_csv(path, index=False)
    previous = pd.read_csv(path)
    later = assign_segments(scores.assign(spend_12m=0.0), config, previous, as_of="2025-03-01")
    assert later["vip_now"].sum() == first["vip_now"].sum()


def test_previous_needs_the_date_of_this_run(sim):
    scores, _ = sim
    bare = scores.copy()
    bare.attrs = {}
    with pytest.raises(ConfigError, match="pass as_of"):
        assign_segments(bare, FIXED, previous=assign_segments(scores, FIXED))
    with pytest.raises(SchemaError, match="vip_now"):
        assign_segments(scores, FIXED, previous=scores[["customer_id"]], as_of="2025-01-01")


def test_bad_scores_are_rejected_with_the_column_count_and_examples(sim):
    scores, _ = sim
    with pytest.raises(SchemaError, match="missing column.*p_churn"):
        assign_segments(scores.drop(columns=["p_churn"]))
    broken = scores.copy()
    broken.loc[[3, 7, 11], "clv"] = np.nan
    expected = r"clv: missing.* for 3 of 5,000 customers \(customer_id 4, 8, 12\)"
    with pytest.raises(SchemaError, match=expected):
        assign_segments(broken)
    with pytest.raises(SchemaError, match="duplicated id in 2 of 5,001 rows"):
        assign_segments(pd.concat([scores, scores.iloc[[0]]]))
    with pytest.raises(SchemaError, match="p_future_vip: probability outside"):
        assign_segments(scores.assign(p_future_vip=scores["p_future_vip"] * 2))


def test_empty_and_zero_value_scores(sim):
    scores, _ = sim
    empty = assign_segments(scores.iloc[:0])
    assert list(empty.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS) and len(empty) == 0
    idle = assign_segments(scores.assign(spend_12m=0.0))
    assert not idle["vip_now"].any()
    assert (idle["gap_to_vip"] == 0).all() and not (idle["segment"] == "near_vip").any()


def test_profit_as_the_value(sim):
    scores, _ = sim
    out = assign_segments(scores, {"vip": {"value": "profit"}})
    k = int(np.ceil(0.1 * len(scores)))
    assert out.attrs["value_column"] == "profit_12m"
    assert out["vip_now"].sum() >= k
    assert (out.loc[out["vip_now"], "profit_12m"] >= out.attrs["vip_threshold"]).all()


def test_marketer_lists(segmented):
    out, config = segmented
    lists = marketer_lists(out, config)
    assert list(lists) == list(LISTS)
    for table in lists.values():
        assert tuple(table.columns[: len(SCORE_COLUMNS)]) == SCORE_COLUMNS
    vips = lists["vips_by_tier"]
    assert len(vips) == out["vip_now"].sum()
    rank = vips["tier"].map({t.name: i for i, t in enumerate(config.vip.tiers)})
    assert rank.is_monotonic_increasing
    assert set(lists["at_risk_vips"]["customer_id"]) <= set(vips["customer_id"])
    assert (lists["near_vips"]["segment"] == "near_vip").all()
    assert lists["near_vips"]["gap_to_vip"].is_monotonic_increasing
    assert lists["predicted_vips"]["p_future_vip"].is_monotonic_decreasing
    assert lists["dormant_high_potential"]["clv"].is_monotonic_decreasing
    assert lists["at_risk_vips"]["clv"].is_monotonic_decreasing


def test_segment_summary_adds_up(segmented):
    out, _ = segmented
    summary = segment_summary(out).set_index("segment")
    assert summary.loc["all", "customers"] == len(out)
    assert summary.loc[list(SEGMENTS), "customers"].sum() == len(out)
    assert summary.loc[list(SEGMENTS), "share_of_spend"].sum() == pytest.approx(1.0)


def test_vip_profile_finds_where_vips_come_from(sim):
    scores, attributes = sim
    out = assign_segments(scores)
    profile = vip_profile(out, attributes)
    shares = profile[profile["kind"] == "attribute"]
    assert set(shares["attribute"]) == {"acquisition_channel", "region", "first_category"}
    for _, group in shares.groupby("attribute"):
        for col in ("vip", "predicted_vip", "everyone_else"):
            assert group[col].sum() == pytest.approx(1.0)
    channel = shares[shares["attribute"] == "acquisition_channel"].set_index("value")
    # the simulator gives referral customers 1.5x the spend and marketplace ones 0.75x
    assert channel.loc["referral", "vip_index"] > 1.3
    assert channel.loc["marketplace", "vip_index"] < 1.0
    signals = profile[profile["kind"] == "signal"].set_index("attribute")
    assert signals.loc["spend_12m", "vip_index"] > 5
    assert signals.loc["days_since_last", "vip_index"] < 1
    counts = profile[profile["kind"] == "count"].iloc[0]
    assert counts["vip"] == out["vip_now"].sum()
    assert counts["vip"] + counts["predicted_vip"] + counts["everyone_else"] == len(out)


def test_customer_attributes_first_category(sim, scores_helper):
    helper = scores_helper
    from vipml.data.simulate import simulate

    small = simulate(300, seed=4)
    attrs = customer_attributes(small.transactions, small.customers)
    orders = small.transactions[~small.transactions["is_return"]]
    first = orders.sort_values(["customer_id", "timestamp"]).groupby("customer_id").first()
    merged = attrs.set_index("customer_id")
    assert (merged.loc[first.index, "first_category"] == first["category"]).all()
    assert {"acquisition_channel", "region"} <= set(attrs.columns)
    assert helper is not None


def test_value_concentration_on_cdnow(cdnow):
    c = value_concentration(cdnow)
    v = np.sort(cdnow.loc[cdnow["spend_12m"] > 0, "spend_12m"].to_numpy())[::-1]
    k = int(np.ceil(0.1 * len(v)))
    assert c["customers"] == len(v)
    assert c["top10_share"] == pytest.approx(v[:k].sum() / v.sum())
    assert 0 < c["top1_share"] < c["top10_share"] < 1
    assert c["top10_value_ratio"] > 1 and c["top1_value_ratio"] > c["top10_value_ratio"]
    assert 0 < c["gini"] < 1


def test_config_round_trip_keeps_the_rules(tmp_path):
    config = config_from_dict({**AMOUNT_TIERS, "segments": {"near_vip_gap_pct": 0.1}})
    path = tmp_path / "config.yaml"
    path.write_text(dump_config(config))
    assert load_config(path) == config
    assert Config().treatments == DEFAULT_TREATMENTS


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"treatments": [{"segment": "vips", "treatment": "x"}]}, "'vips' is not one of 'any'"),
        ({"treatments": [{"segment": "vip", "treatment": "x", "when": "a >> 1"}]},
         r"treatments\[0\].when: cannot read"),
        ({"treatments": [{"segment": "vip", "treatment": "x {gap"}]}, r"treatments\[0\].treatment"),
        ({"vip": {"tiers": [{"name": "gold", "min_value": 2000}]}}, "tier_by: quantile"),
        ({"segments": {"near_vip_gap_pct": 0}}, "near_vip_gap_pct"),
        ({"segments": {"colour": 1}}, "unknown key segments.colour"),
    ],
)
def test_config_rejects_wrong_rules(section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(section)


def test_input_columns_are_the_contract():
    assert set(INPUT_COLUMNS) < set(SCORE_COLUMNS)
    assert set(SCORE_COLUMNS) - set(INPUT_COLUMNS) == {
        "vip_now", "tier", "segment", "gap_to_vip", "treatment"
    }


@pytest.mark.parametrize("rules", [None, AMOUNT_TIERS, {"vip": {"value": "profit"}}])
def test_chunks_segmented_with_global_thresholds_equal_the_whole(sim, rules):
    scores, _ = sim
    whole = assign_segments(scores, rules)
    thresholds = segment_thresholds(scores, rules)
    assert thresholds["vip_threshold"] == whole.attrs["vip_threshold"]
    assert thresholds["tier_bounds"] == whole.attrs["tier_bounds"]
    parts = [
        assign_segments(chunk, rules, thresholds=thresholds)
        for _, chunk in scores.groupby(scores["customer_id"] % 3)
    ]
    merged = pd.concat(parts).sort_values("customer_id").reset_index(drop=True)
    expected = whole.sort_values("customer_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(merged, expected)
    # without the global thresholds a chunk would draw its own lines
    alone = assign_segments(parts[0].iloc[:500], rules)
    assert alone.attrs["clv_bar"] != whole.attrs["clv_bar"]
