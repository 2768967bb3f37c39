"""A model's inputs are enforced: scoring without one is refused by name, extra ones are left
out with one warning, and an explicit allow-list scores with the documented fill."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

from vipml.batch import score_to_file
from vipml.bundle import load_model
from vipml.cli import app
from vipml.config import config_from_dict
from vipml.data.simulate import simulate
from vipml.model_inputs import (
    GivenInputs,
    InputWarning,
    MissingInputError,
    ModelInputs,
    check_inputs,
)
from vipml.pipeline import score, train

runner = CliRunner()


@pytest.fixture(scope="module")
def sim():
    return simulate(900, seed=11)


@pytest.fixture(scope="module")
def full_model(sim):
    """Trained with every optional column, all event kinds and the customers table."""
    cfg = config_from_dict({"lightgbm": {"n_estimators": 40, "num_threads": 1}})
    end = sim.params["end"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(sim.transactions, end, "26W", sim.events, sim.customers, config=cfg)


@pytest.fixture(scope="module")
def bare_model(sim):
    """Trained without cost, list_price and product lines, events or customers."""
    cfg = config_from_dict({"lightgbm": {"n_estimators": 40, "num_threads": 1}})
    tx = sim.transactions.drop(columns=["cost", "list_price"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(tx, sim.params["end"], "26W", config=cfg)


def _quiet_score(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return score(*args, **kwargs)


def test_the_model_records_what_it_was_trained_with(full_model, bare_model, tmp_path):
    inputs = full_model.inputs
    assert inputs.columns == ("order_id", "cost", "list_price", "category", "is_return")
    assert inputs.event_kinds == ("referral", "review", "support_ticket", "ugc")
    assert inputs.customer_attributes == ("acquisition_channel", "region")
    assert inputs.ignored == ("signup_date",)  # a date: in the table, not a feature
    assert bare_model.inputs.columns == ("order_id", "category", "is_return")
    assert bare_model.inputs.event_kinds == () and bare_model.inputs.customer_attributes == ()
    # the bundle keeps the record
    loaded = load_model(full_model.save(tmp_path / "full"))
    assert loaded.inputs == inputs


@pytest.mark.parametrize(
    ("drop", "pattern"),
    [
        ("category", "transaction column category: map it under columns.transactions"),
        ("cost", "transaction column cost: map it"),
        ("referral", "events of kind referral: give it in the events table, --events"),
        ("customers", "customers table columns acquisition_channel, region: give them in"),
        ("region", "customers table column region: give it in"),
    ],
)
def test_scoring_without_a_trained_input_is_refused_by_name(full_model, sim, drop, pattern):
    tx, events, customers = sim.transactions, sim.events, sim.customers
    if drop in tx:
        tx = tx.drop(columns=[drop])
    elif drop == "customers":
        customers = None
    elif drop == "region":
        customers = customers.drop(columns=["region"])
    else:
        events = events[events["kind"] != drop]
    with pytest.raises(MissingInputError, match=pattern) as error:
        score(full_model, tx, sim.params["end"], events, customers)
    assert "--allow-missing" in str(error.value)
    assert [m.name for m in error.value.missing] == (
        ["acquisition_channel", "region"] if drop == "customers" else [drop]
    )


def test_an_allowed_missing_input_is_filled_and_warned(full_model, sim):
    end = sim.params["end"]
    tx = sim.transactions.drop(columns=["category"])
    events = sim.events[sim.events["kind"] != "referral"]
    with pytest.warns(InputWarning, match="scoring without 4 input") as caught:
        out = score(full_model, tx, end, events, allow_missing=["category", "events",
                                                                 "customers"])
    message = str(caught[0].message)
    assert "category (no category: top_lines_share and n_categories are 0" in message
    assert "referral (no events of that kind" in message
    assert "region ('unknown' for every customer)" in message
    assert (out["first_category"] == "unknown").all()
    assert (out["n_categories"] == 0).all()
    assert (out["region"] == "unknown").all()
    # the shift the fill causes is real: the scores are not those of the full model
    whole = _quiet_score(full_model, sim.transactions, end, sim.events, sim.customers)
    assert not whole["p_future_vip"].equals(out["p_future_vip"])


def test_extra_inputs_are_named_in_one_warning_and_left_out(bare_model, sim):
    end = sim.params["end"]
    tx = sim.transactions.drop(columns=["cost", "list_price"])
    plain = _quiet_score(bare_model, tx, end)
    with pytest.warns(InputWarning) as caught:
        extra = score(bare_model, sim.transactions, end, sim.events, sim.customers)
    ours = [w for w in caught if issubclass(w.category, InputWarning)]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert message.startswith("not used, as the model was trained without them: ")
    assert "transaction columns cost, list_price" in message
    assert "events of kinds referral, review, support_ticket, ugc" in message
    assert "customers table columns acquisition_channel, region, signup_date" in message
    # left out: the scores equal those of the data without them
    pd.testing.assert_frame_equal(extra, plain)


def test_a_bundle_without_an_inputs_record_still_checks_its_attributes(full_model, sim,
                                                                       tmp_path):
    path = full_model.save(tmp_path / "old")
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["inputs"], manifest["checksums"], manifest["manifest_sha256"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old = load_model(path)
    assert old.inputs is None
    with pytest.raises(MissingInputError, match="acquisition_channel, region"):
        score(old, sim.transactions, sim.params["end"], sim.events)
    # its columns are not known: no column is required, nothing called extra
    out = _quiet_score(old, sim.transactions.drop(columns=["cost"]), sim.params["end"],
                       sim.events, sim.customers)
    assert len(out) > 0


def test_batch_scoring_checks_the_whole_data_once(full_model, sim, tmp_path):
    tx = sim.transactions.drop(columns=["category"])
    with pytest.raises(MissingInputError, match="transaction column category"):
        score_to_file(full_model, tx, sim.params["end"], tmp_path / "s.parquet", chunks=3,
                      workers=1, events=sim.events, customers=sim.customers)
    assert not (tmp_path / "s.parquet").exists()
    cfg = config_from_dict({"scoring": {"allow_missing": ["category"]}})
    with pytest.warns(InputWarning, match="scoring without 1 input"):
        done = score_to_file(full_model, tx, sim.params["end"], tmp_path / "s.parquet",
                             chunks=3, workers=1, events=sim.events, customers=sim.customers,
                             config=cfg)
    assert done.customers == sim.transactions["customer_id"].nunique()


def test_cli_score_refuses_then_allows_a_missing_table(full_model, sim, tmp_path):
    model = full_model.save(tmp_path / "model")
    tx_path = tmp_path / "tx.parquet"
    sim.transactions.to_parquet(tx_path)
    ev_path = tmp_path / "events.parquet"
    sim.events.to_parquet(ev_path)
    out = tmp_path / "scores.parquet"
    base = ["score", "--model", str(model), "--transactions", str(tx_path), "--events",
            str(ev_path), "--out", str(out)]
    refused = runner.invoke(app, base)
    assert refused.exit_code == 1
    assert "customers table columns acquisition_channel, region" in refused.output
    assert "--allow-missing acquisition_channel,region" in refused.output
    assert not out.exists()
    allowed = runner.invoke(app, [*base, "--allow-missing", "acquisition_channel,region"])
    assert allowed.exit_code == 0, allowed.output
    assert "warning: scoring without 2 input(s)" in allowed.output
    assert (pd.read_parquet(out)["region"] == "unknown").all()


def test_check_inputs_unit_cases():
    needed = ModelInputs(columns=("cost",), row_attributes=("Country",), ignored=("Notes",))
    # an attribute may come from either source; an ignored column is no surprise
    given = GivenInputs({"cost", "Notes"}, customer_columns={"customer_id", "Country"})
    check = check_inputs(needed, given)
    assert check.missing == [] and check.extra == []
    check = check_inputs(needed, GivenInputs({"Segment"}))
    assert [m.name for m in check.missing] == ["cost", "Country"]
    assert [e.name for e in check.extra] == ["Segment"]
    # an older bundle: only the attributes are known, nothing is extra
    old = ModelInputs.of_attributes(["Country", "first_category"])
    check = check_inputs(old, GivenInputs({"cost", "Segment"}))
    assert [m.name for m in check.missing] == ["Country"] and check.extra == []
    assert ModelInputs.from_dict(needed.to_dict()) == needed


def test_the_readme_documents_every_fill():
    from pathlib import Path

    from vipml.model_inputs import FILLS

    readme = Path(__file__).parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8").replace("`", "")
    for fill in FILLS.values():
        assert fill.replace("'", "") in text, fill
