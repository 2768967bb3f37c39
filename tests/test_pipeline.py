"""train / score / backtest end to end: leakage, determinism, reasons, simulated truth, CDNOW."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.data.simulate import simulate
from vipml.errors import VipmlError
from vipml.labels import known_customers
from vipml.model_inputs import MissingInputError
from vipml.modeling.backtest import BASELINES, MODEL_NAME, RANK_AVERAGE
from vipml.modeling.metrics import roc_auc
from vipml.pipeline import (
    PREDICTION_COLUMNS,
    backtest,
    backtest_cutoffs,
    score,
    train,
    training_cutoffs,
    validation_customers,
)
from vipml.wording import phrase

FAST = {"lightgbm": {"n_estimators": 40, "num_threads": 1}}
CUTOFF = "1997-12-31"


@pytest.fixture(scope="module")
def tx():
    return load_cdnow(sample=True)


@pytest.fixture(scope="module")
def model(tx):
    return train(tx, CUTOFF, "26W", config=config_from_dict(FAST))


@pytest.fixture(scope="module")
def scores(model, tx):
    return score(model, tx, CUTOFF)


def test_training_cutoffs_end_at_the_cutoff_and_need_history(tx):
    cfg = config_from_dict({"training": {"cutoff_step": "2W", "max_cutoffs": 3}})
    cutoffs = training_cutoffs(tx, CUTOFF, "26W", cfg)
    assert [f"{c:%Y-%m-%d}" for c in cutoffs] == ["1997-07-02", "1997-06-18", "1997-06-04"]
    assert cutoffs[0] + pd.Timedelta(weeks=26) == pd.Timestamp(CUTOFF)
    with pytest.raises(VipmlError, match=r"only 1 training cutoff\(s\) fit .* at least 2 are"):
        training_cutoffs(tx, "1997-10-10", "26W")


def test_validation_customers_are_a_stable_share():
    ids = pd.Index([f"c{i}" for i in range(5000)])
    mask = validation_customers(ids, 0.3)
    assert 0.27 < mask.mean() < 0.33
    np.testing.assert_array_equal(validation_customers(ids[::-1], 0.3), mask[::-1])


def test_train_reads_nothing_after_the_cutoff(model, tx, scores):
    """Appending future rows (and shuffling the log) changes no model and no score."""
    later = tx.sample(2000, random_state=0).assign(
        timestamp=lambda d: pd.Timestamp("1998-01-01") + (d["timestamp"] - d["timestamp"].min()),
        revenue=lambda d: d["revenue"] * 10,
    )
    extended = pd.concat([tx, later], ignore_index=True).sample(frac=1.0, random_state=1)
    other = train(extended, CUTOFF, "26W", config=config_from_dict(FAST))
    assert other.data_fingerprint == model.data_fingerprint
    assert other.metrics == model.metrics
    pd.testing.assert_frame_equal(score(other, extended, CUTOFF), scores)


def test_same_seed_same_scores_other_seed_other_scores(tx, scores):
    again = score(train(tx, CUTOFF, "26W", config=config_from_dict(FAST)), tx, CUTOFF)
    pd.testing.assert_frame_equal(again, scores)
    seeded = config_from_dict({**FAST, "training": {"seed": 7}})
    other = score(train(tx, CUTOFF, "26W", config=seeded), tx, CUTOFF)
    assert not np.allclose(other["p_future_vip"], scores["p_future_vip"])


def test_scores_table(model, tx, scores):
    assert list(scores.columns[: len(PREDICTION_COLUMNS)]) == list(PREDICTION_COLUMNS)
    assert len(scores) == 2357 and scores["customer_id"].is_unique
    numeric = scores.select_dtypes("number")
    assert np.isfinite(numeric.to_numpy()).all()
    for col in ("p_future_vip", "p_churn", "p_alive"):
        assert scores[col].between(0, 1).all()
    assert scores.attrs["cutoff"] == CUTOFF
    # one row for every customer seen up to an earlier cutoff, and only those
    early = score(model, tx, "1997-02-15")
    assert early["customer_id"].tolist() == known_customers(tx, "1997-02-15").tolist()
    # no cutoff: the last date in the data
    assert score(model, tx).attrs["cutoff"] == "1998-06-30"
    # probabilities mean something: VIPs now are likelier future VIPs
    top = scores["spend_12m"] >= scores["spend_12m"].quantile(0.9)
    assert scores.loc[top, "p_future_vip"].mean() > 3 * scores.loc[~top, "p_future_vip"].mean()


def test_reasons_quote_the_customers_own_values(model, scores):
    names = model.feature_names
    checked = 0
    for _, row in scores.head(300).iterrows():
        values = row.to_dict()
        phrases = {phrase(n, values[n], values): n for n in names}
        parts = [p for p in row["reasons"].split("; ") if p]
        assert parts == [r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if r]
        assert len(parts) >= 1
        for part in parts:
            assert part in phrases, f"{part!r} quotes no feature value of {row['customer_id']}"
            checked += 1
        for part in row["churn_reasons"].split("; "):
            assert part in phrases
    assert checked > 600
    # a customer's reasons change when their values do: e.g. days since last purchase
    quoted = scores["reasons"].str.contains(r"spent [\d,.]+ in the last 12 months")
    sample = scores.loc[quoted].head(20)
    for _, row in sample.iterrows():
        assert phrase("spend_12m", row["spend_12m"]) in row["reasons"]


def test_customer_attributes_and_simulated_truth():
    """Issue point 8: on simulated data the VIP probability tracks the true future value."""
    sim = simulate(3000, seed=3)
    end = sim.params["end"]
    cfg = config_from_dict({"lightgbm": {"num_threads": 1}})
    model = train(sim.transactions, end, "26W", sim.events, sim.customers, config=cfg)
    assert model.attributes == ["acquisition_channel", "region", "first_category"]
    out = score(model, sim.transactions, end, sim.events, sim.customers).set_index("customer_id")
    truth = sim.truth.set_index("customer_id").reindex(out.index)
    future = truth["future_revenue"]
    top = (future >= future.quantile(0.9)).to_numpy()
    auc = roc_auc(top, out["p_future_vip"])
    assert auc > 0.8
    assert auc > roc_auc(top, out["spend_12m"])
    assert spearmanr(out["p_future_vip"], future)[0] > 0.3
    # without the customers table scoring is refused by name; allowed, the attributes score
    # as 'unknown', with a warning
    with pytest.raises(MissingInputError, match="customers table columns acquisition_channel, "
                       "region: .*--allow-missing acquisition_channel,region"):
        score(model, sim.transactions, end, sim.events)
    with pytest.warns(UserWarning, match="scoring without 2 input.*acquisition_channel .'unknown"):
        bare = score(model, sim.transactions, end, sim.events, allow_missing=["customers"])
    assert (bare["acquisition_channel"] == "unknown").all()


@pytest.fixture(scope="module")
def cdnow_backtest():
    full = load_cdnow()
    cfg = config_from_dict({"lightgbm": {"num_threads": 1}})
    with pytest.warns(UserWarning, match="the data end on 1998-06-30, 1 day before"):
        return backtest(full, CUTOFF, "26W", config=cfg)


def test_cdnow_backtest_beats_every_baseline(cdnow_backtest):
    """Must show: all of CDNOW, cutoff 1997-12-31, horizon 26W."""
    result = cdnow_backtest
    table = result.table
    for target, baselines in BASELINES.items():
        model = table.loc[(target, MODEL_NAME)]
        for name in baselines:
            base = table.loc[(target, name)]
            for metric in ("roc_auc", "average_precision"):
                assert model[metric] > base[metric], (target, name, metric, result.format_table())
    assert result.beats_baselines() == {"future_vip": True, "churn": True}
    # the rules' rank-average too, and future-VIP AP at least 0.01 above the best of them
    for target in BASELINES:
        rules = table.loc[target].drop(MODEL_NAME)
        assert RANK_AVERAGE in rules.index
        for metric in ("roc_auc", "average_precision"):
            assert table.loc[(target, MODEL_NAME), metric] > rules[metric].max(), target
    ap = table.loc["future_vip", "average_precision"]
    assert ap[MODEL_NAME] >= ap.drop(MODEL_NAME).max() + 0.01, result.format_table()
    assert (table["customers"] == 23570).all()
    assert table.loc[("future_vip", MODEL_NAME), "positives"] == 2357
    assert result.info["training"]["cutoffs"][0] == "1997-07-02"
    # the model is calibrated: mean probability close to the observed rate
    pred = result.predictions
    assert abs(pred["p_future_vip"].mean() - pred["future_vip"].mean()) < 0.02
    assert abs(pred["p_churn"].mean() - pred["churn"].mean()) < 0.05


def test_the_predicted_vip_list_is_judged_out_of_time(cdnow_backtest):
    """The list vipml score would write at the cutoff, against as many top non-VIPs by
    12-month spend: on CDNOW the model's list converts better."""
    check = cdnow_backtest.info["predicted_vip_list"]
    assert check["non_vips"] == 23570 - 2357
    capacity = int(np.ceil(0.02 * check["non_vips"]))
    assert 0 < check["customers"] <= capacity + 5  # ties at the boundary are all in
    assert check["min_p_future_vip"] >= 2 * check["base_rate_p_future_vip"]
    assert check["precision"] > check["spend_12m_precision"] > check["base_rate"]
    assert check["precision"] > 4 * check["base_rate"]


def test_sample_backtest_reports_rank_average_and_discovery(tx):
    """The rank-average rule is a row per target, calibrated on the validation window (a
    Brier score), between or near its two rules; discovery counts only the non-VIPs."""
    result = backtest(tx, "1997-10-31", "26W", config=config_from_dict(FAST))
    table = result.table
    for target, rules in (("future_vip", ("spend_12m", "btyd_expected_value")),
                          ("churn", ("days_since_last", "btyd_p_no_purchase"))):
        row = table.loc[(target, RANK_AVERAGE)]
        assert 0 < row["brier"] < 0.5
        for metric in ("roc_auc", "average_precision"):
            values = [table.loc[(target, r), metric] for r in rules]
            assert min(values) - 0.03 <= row[metric] <= max(values) + 0.03, (target, metric)
    pred = result.predictions
    non_vips = int((~pred["vip_now"]).sum())
    assert 0 < non_vips < len(pred)
    assert non_vips == result.info["predicted_vip_list"]["non_vips"]
    discovery = result.discovery
    assert list(discovery.index.get_level_values("score")) == [
        MODEL_NAME, *BASELINES["future_vip"], RANK_AVERAGE]
    assert (discovery["customers"] == non_vips).all()
    assert (discovery["positives"] == int(pred.loc[~pred["vip_now"], "future_vip"].sum())).all()
    # among non-VIPs future VIPs are rarer and harder to find than among everyone
    assert discovery.loc[("future_vip", MODEL_NAME), "average_precision"] < table.loc[
        ("future_vip", MODEL_NAME), "average_precision"]


def test_backtest_at_several_cutoffs_sums_up_mean_and_worst(tx):
    result = backtest_cutoffs(tx, ["1997-10-31", "1997-11-30"], "26W",
                              config=config_from_dict(FAST))
    assert result.cutoffs == ["1997-10-31", "1997-11-30"]
    summary = result.summary()
    row = summary.loc[("future_vip", MODEL_NAME)]
    per = [r.table.loc[("future_vip", MODEL_NAME), "roc_auc"] for r in result.results]
    assert row["roc_auc_worst"] == pytest.approx(min(per))
    assert row["roc_auc_mean"] == pytest.approx(np.mean(per))
    assert row["roc_auc@1997-11-30"] == pytest.approx(per[1])
    assert ("future_vip_discovery", RANK_AVERAGE) in summary.index
    with pytest.raises(VipmlError, match="a cutoff is given twice"):
        backtest_cutoffs(tx, ["1997-09-30", "1997-09-30"], "26W")


def test_backtest_needs_data_after_the_cutoff(tx):
    with pytest.raises(VipmlError, match="nothing to judge the predictions on"):
        backtest(tx, "1998-06-30", "26W")


def test_customer_attributes_carried_on_the_rows():
    """A column of the transaction rows that describes the customer (input.customer_attributes)
    is a model attribute: the value on the latest row up to the cutoff; a customers table
    wins for the same name."""
    from vipml.config import InputConfig
    from vipml.data.schema import validate_transactions

    sim = simulate(1500, seed=4)
    end = pd.Timestamp(sim.params["end"])
    cutoff = end - pd.Timedelta(days=91)
    regions = sim.customers.set_index("customer_id")["region"]
    raw = sim.transactions.assign(Region=sim.transactions["customer_id"].map(regions))
    later = raw["timestamp"] > cutoff + pd.Timedelta(days=1)
    raw.loc[later, "Region"] = "moved-away"  # after the cutoff: must not be seen
    tx = validate_transactions(raw, policy=InputConfig(customer_attributes=("Region",)))
    cfg = config_from_dict({"lightgbm": {"num_threads": 1, "n_estimators": 30}})
    model = train(tx, cutoff, "13W", config=cfg)
    assert model.attributes == ["Region", "first_category"]
    scored = score(model, tx, cutoff).set_index("customer_id")
    assert (scored["Region"] == regions.reindex(scored.index)).all()
    at_end = score(model, tx, end).set_index("customer_id")
    moved = tx.loc[later.to_numpy(), "customer_id"].unique()
    assert (at_end.loc[moved, "Region"] == "moved-away").all()
    people = pd.DataFrame({"customer_id": regions.index, "Region": "from-the-table"})
    table_wins = score(model, tx, cutoff, customers=people)
    assert (table_wins["Region"] == "from-the-table").all()
