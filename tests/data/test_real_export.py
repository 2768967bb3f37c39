"""A real export as it comes: a slice of UCI Online Retail II (tests/fixtures/README.md).

From the raw file to the marketer's list with a YAML file only: order lines with a quantity and
a unit price, guest orders, cancellations, duplicate rows, a country on every row, decimal
customer ids; and the same data exported as a UK CSV (day-first dates, zero-padded ids).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from vipml.cli import app
from vipml.config import load_config
from vipml.data.io import read_transactions

runner = CliRunner()
FIXTURE = Path(__file__).parents[1] / "fixtures" / "online_retail_ii_slice.parquet"

CONFIG = """\
columns:
  transactions:
    Customer ID: customer_id
    InvoiceDate: timestamp
    Invoice: order_id
    Quantity: quantity
    Price: unit_price
    StockCode: product_id
input:
  rows_without_customer: drop
  duplicate_rows: drop
  customer_attributes: [Country]
labels:
  horizon: 13W
lightgbm:
  n_estimators: 40
  num_threads: 1
  min_child_samples: 20
"""


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_parquet(FIXTURE)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("real_export")
    (path / "retail.yaml").write_text(CONFIG)
    # The same lines as a UK spreadsheet exports them: day-first dates, ids as zero-padded text.
    uk = raw.assign(
        InvoiceDate=raw["InvoiceDate"].dt.strftime("%d/%m/%Y %H:%M"),
        **{"Customer ID": raw["Customer ID"].map(lambda v: "" if pd.isna(v) else f"{int(v):08d}")},
    )
    uk.to_csv(path / "retail_uk.csv", index=False)
    return path


def test_validate_reports_every_policy_with_its_row_count(workdir, raw):
    result = runner.invoke(
        app, ["validate", str(FIXTURE), "--config", str(workdir / "retail.yaml")]
    )
    assert result.exit_code == 0, result.output
    guests = int(raw["Customer ID"].isna().sum())
    repeats = int(raw[raw["Customer ID"].notna()].duplicated().sum())
    out = " ".join(result.output.split())
    assert f"dropped {guests:,} of {len(raw):,} rows without a customer id" in out
    assert f"input.duplicate_rows: drop: dropped {repeats:,} of" in out
    assert "revenue: quantity x unit_price" in out
    assert re.search(r"customer_id: decimal numbers that are whole \((\d+)\.0\) read as whole "
                     r"numbers \(\1\)", out)
    assert f"rows kept: {len(raw) - guests - repeats:,}" in out
    assert "columns ignored: Description" in out
    assert "valid" in out


def test_uk_csv_reads_day_first_and_matches_the_parquet(workdir):
    cfg = load_config(workdir / "retail.yaml")
    from_csv = read_transactions(
        workdir / "retail_uk.csv", cfg.columns.transactions, cfg.input
    )
    from_parquet = read_transactions(FIXTURE, cfg.columns.transactions, cfg.input)
    assert len(from_csv) == len(from_parquet)
    # the day-first reading: 01/12/2009 is the first of December
    assert from_csv["timestamp"].min() == from_parquet["timestamp"].min().floor("min")
    pd.testing.assert_series_equal(
        from_csv["timestamp"], from_parquet["timestamp"].dt.floor("min"), check_names=False
    )
    assert from_csv["customer_id"].str.len().eq(8).all()
    unpadded = from_csv["customer_id"].str.lstrip("0").astype(int)
    assert (unpadded == from_parquet["customer_id"]).all()
    result = runner.invoke(
        app, ["validate", str(workdir / "retail_uk.csv"), "--config", str(workdir / "retail.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "day-first" in result.output


@pytest.fixture(scope="module")
def model(workdir):
    out = workdir / "model"
    trained = runner.invoke(
        app,
        ["train", "--transactions", str(FIXTURE), "--model-out", str(out), "--config",
         str(workdir / "retail.yaml"), "--cutoff", "2010-09-09", "--no-tracking"],
    )
    assert trained.exit_code == 0, trained.output
    return out


def test_validate_to_lists_with_a_config_file_only(workdir, raw, model):
    scores, lists = workdir / "scores.parquet", workdir / "lists"
    # no --config: the model's mapping and input policies read the raw file again
    scored = runner.invoke(
        app,
        ["score", "--model", str(model), "--transactions", str(FIXTURE), "--out", str(scores),
         "--cutoff", "2010-09-09"],
    )
    assert scored.exit_code == 0, scored.output
    assert "config: the model's (trained with the mapping Customer ID -> customer_id" in (
        " ".join(scored.output.split())
    )
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["config"]["columns"]["transactions"]["Price"] == "unit_price"
    assert manifest["config"]["input"]["rows_without_customer"] == "drop"
    assert manifest["config"]["input"]["customer_attributes"] == ["Country"]
    table = pd.read_parquet(scores)
    known = set(raw["Customer ID"].dropna().astype(int))
    assert set(table["customer_id"]) <= known
    assert table["n_products"].gt(1).mean() > 0.5  # StockCode -> product breadth
    assert {"Country"} <= set(table.columns) and table["Country"].ne("unknown").all()
    listed = runner.invoke(
        app, ["lists", "--scores", str(scores), "--out", str(lists), "--transactions",
              str(FIXTURE)],
    )
    assert listed.exit_code == 0, listed.output
    assert "config: the one stored in scores.parquet" in listed.output
    vip = pd.read_csv(lists / "vip_list.csv")
    assert len(vip) and set(vip["customer_id"]) <= known
    profile = pd.read_excel(lists / "vip_list.xlsx", sheet_name=None)
    sheet = next(v for k, v in profile.items() if "profile" in k.lower())
    assert "Country" in set(sheet.iloc[:, 1].astype(str))
    assert "shares by Country" in (lists / "report.html").read_text()


def test_leading_zero_ids_survive_from_csv_to_the_vip_list(workdir):
    cfg = str(workdir / "retail.yaml")
    csv = str(workdir / "retail_uk.csv")
    model, scores, lists = workdir / "model_uk", workdir / "scores_uk.csv", workdir / "lists_uk"
    for args in (
        ["train", "--transactions", csv, "--model-out", str(model), "--config", cfg,
         "--cutoff", "2010-09-09", "--no-tracking"],
        ["score", "--model", str(model), "--transactions", csv, "--out", str(scores)],
        ["lists", "--scores", str(scores), "--out", str(lists), "--config", cfg],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    ids = pd.read_csv(scores, dtype={"customer_id": str})["customer_id"]
    assert ids.str.match(r"^000\d{5}$").all()
    listed = pd.read_csv(lists / "vip_list.csv", dtype={"customer_id": str})["customer_id"]
    assert len(listed) and listed.str.match(r"^000\d{5}$").all()


def test_a_config_that_reads_the_data_differently_from_the_model_is_named(workdir, model):
    other = workdir / "other.yaml"
    other.write_text(CONFIG.replace("duplicate_rows: drop", "duplicate_rows: keep"))
    scored = runner.invoke(
        app,
        ["score", "--model", str(model), "--transactions", str(FIXTURE), "--out",
         str(workdir / "other.parquet"), "--config", str(other), "--cutoff", "2010-09-09"],
    )
    assert scored.exit_code == 0, scored.output
    assert ("other.yaml differs from the model's `input` in input.duplicate_rows ('drop' in "
            "the model, 'keep' here)") in " ".join(scored.output.split())


def test_btyd_reads_the_raw_export_with_the_config(workdir):
    result = runner.invoke(
        app,
        ["btyd", "--transactions", str(FIXTURE), "--config", str(workdir / "retail.yaml"),
         "--cutoff", "2010-08-31"],
    )
    assert result.exit_code == 0, result.output
    assert "bgnbd" in result.output.lower() or "BG/NBD" in result.output
