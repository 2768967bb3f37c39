"""`vipml lists`: from a scores file to the marketer's files, with clean errors."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from vipml.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory, scores_helper):
    folder = tmp_path_factory.mktemp("scores")
    from vipml.data.simulate import simulate

    sim = simulate(2000, seed=5)
    scores = scores_helper.scores_from_transactions(
        sim.transactions, pd.Timestamp(sim.params["end"]), sim.events
    )
    parquet = folder / "scores.parquet"
    scores.to_parquet(parquet)  # keeps attrs["cutoff"]
    csv = folder / "scores.csv"
    scores.to_csv(csv, index=False)
    tx = folder / "tx.parquet"
    sim.transactions.to_parquet(tx)
    customers = folder / "customers.csv"
    sim.customers.to_csv(customers, index=False)
    return {"parquet": parquet, "csv": csv, "tx": tx, "customers": customers, "scores": scores}


def test_lists_writes_the_three_files(files, tmp_path):
    out = tmp_path / "out"
    metrics = tmp_path / "backtest.json"
    metrics.write_text(json.dumps({"future_vip": {"roc_auc": 0.8}}))
    result = runner.invoke(
        app,
        [
            "lists", "--scores", str(files["parquet"]), "--out", str(out),
            "--transactions", str(files["tx"]), "--customers", str(files["customers"]),
            "--backtest", str(metrics),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "as of 2024-12-31" in result.output  # the default it took, printed
    assert "VIP = the top 10% of customers" in result.output
    for name in ("vip_list.csv", "vip_list.xlsx", "report.html"):
        assert (out / name).exists()
        assert str(out / name) in result.output
    book = openpyxl.load_workbook(out / "vip_list.xlsx")
    assert "VIP profile" in book.sheetnames and "At-risk VIPs" in book.sheetnames
    attributes = {r[1].value for r in book["VIP profile"].iter_rows(min_row=2)}
    assert {"acquisition_channel", "region", "first_category"} <= attributes
    assert "roc_auc" in (out / "report.html").read_text()


def test_lists_with_a_fixed_rule_and_the_previous_run(files, tmp_path):
    config = tmp_path / "vip.yaml"
    config.write_text("vip:\n  mode: fixed\n  threshold: 400\n  term_days: 300\n")
    first = tmp_path / "first"
    result = runner.invoke(
        app,
        ["lists", "--scores", str(files["csv"]), "--out", str(first), "--config", str(config),
         "--as-of", "2024-12-31"],
    )
    assert result.exit_code == 0, result.output
    assert "at least $400.00" in result.output
    before = pd.read_csv(first / "vip_list.csv")
    n_vips = int(before["vip_now"].sum())
    assert n_vips > 0 and (before.loc[before["vip_now"], "vip_until"] == "2025-10-27").all()

    # spend collapses, but within the term every VIP keeps the status
    later = files["scores"].assign(spend_12m=0.0)
    later_path = tmp_path / "later.csv"
    later.to_csv(later_path, index=False)
    second = tmp_path / "second"
    result = runner.invoke(
        app,
        ["lists", "--scores", str(later_path), "--out", str(second), "--config", str(config),
         "--previous", str(first / "vip_list.csv"), "--as-of", "2025-03-01"],
    )
    assert result.exit_code == 0, result.output
    after = pd.read_csv(second / "vip_list.csv")
    assert int(after["vip_now"].sum()) == n_vips


def test_previous_without_a_date_fails_cleanly(files, tmp_path):
    result = runner.invoke(
        app,
        ["lists", "--scores", str(files["csv"]), "--out", str(tmp_path),
         "--previous", str(files["csv"])],
    )
    assert result.exit_code == 1
    assert "--as-of" in result.output and "Traceback" not in result.output


def test_missing_score_column_fails_with_the_column(files, tmp_path):
    broken = tmp_path / "broken.csv"
    files["scores"].drop(columns=["p_churn"]).to_csv(broken, index=False)
    result = runner.invoke(app, ["lists", "--scores", str(broken), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "p_churn" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o" / "vip_list.csv").exists()


def test_wrong_rule_in_config_is_rejected_with_the_choices(files, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("treatments:\n  - segment: vips\n    treatment: hello\n")
    result = runner.invoke(
        app,
        ["lists", "--scores", str(files["csv"]), "--out", str(tmp_path), "--config", str(config)],
    )
    assert result.exit_code == 1
    assert "'vips' is not one of" in result.output and "near_vip" in result.output
