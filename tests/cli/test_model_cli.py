"""`vipml train`, `vipml score`, `vipml backtest` end to end on the CDNOW sample."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from vipml.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("model_cli")
    (path / "fast.yaml").write_text("lightgbm:\n  n_estimators: 40\n  num_threads: 1\n")
    return path


@pytest.fixture(scope="module")
def bundle(workdir):
    out = workdir / "model"
    result = runner.invoke(
        app,
        ["train", "--transactions", "cdnow-sample", "--model-out", str(out),
         "--config", str(workdir / "fast.yaml"), "--no-tracking"],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


def test_train_prints_the_cutoff_it_chose_and_the_validation_table(bundle):
    out, output = bundle
    assert "cutoff: 1998-06-30 (the last date in the data" in output
    assert "horizon 26W: 6 label windows" in output
    assert "validation window 1997-12-30" in output
    assert "lightgbm" in output and "days_since_last" in output
    assert (out / "manifest.json").exists()
    assert json.loads((out / "manifest.json").read_text())["cutoff"] == "1998-06-30"


def test_score_writes_one_row_per_customer(bundle, workdir):
    out, _ = bundle
    for name in ("scores.parquet", "scores.csv"):
        target = workdir / name
        result = runner.invoke(
            app,
            ["score", "--model", str(out), "--transactions", "cdnow-sample", "--cutoff",
             "1998-03-31", "--out", str(target)],
        )
        assert result.exit_code == 0, result.output
        assert "scored 2,357 customers at 1998-03-31 for (1998-03-31, 1998-09-29]" in result.output
        table = pd.read_parquet(target) if name.endswith("parquet") else pd.read_csv(target)
        assert len(table) == 2357
        assert {"customer_id", "p_future_vip", "p_churn", "clv", "reasons"} <= set(table.columns)


def test_score_in_chunks_by_two_worker_processes(bundle, workdir):
    out, _ = bundle
    one, two = workdir / "one.parquet", workdir / "two.parquet"
    for target, extra in ((one, []), (two, ["--chunks", "4", "--workers", "2"])):
        result = runner.invoke(
            app,
            ["score", "--model", str(out), "--transactions", "cdnow-sample", "--cutoff",
             "1998-03-31", "--out", str(target), *extra],
        )
        assert result.exit_code == 0, result.output
    assert "in 4 chunks by 2 worker processes" in result.output
    pd.testing.assert_frame_equal(pd.read_parquet(one), pd.read_parquet(two))
    bad = runner.invoke(
        app,
        ["score", "--model", str(out), "--transactions", "cdnow-sample", "--out",
         str(workdir / "x.parquet"), "--workers", "-1"],
    )
    assert bad.exit_code == 1 and "--workers must be 0" in bad.output


def test_score_defaults_to_the_last_date_and_rejects_bad_inputs(bundle, workdir):
    out, _ = bundle
    result = runner.invoke(
        app,
        ["score", "--model", str(out), "--transactions", "cdnow-sample", "--out",
         str(workdir / "s.parquet")],
    )
    assert result.exit_code == 0 and "cutoff: 1998-06-30 (the last date in the data" in (
        result.output
    )
    bad = runner.invoke(
        app, ["score", "--model", str(out), "--transactions", "cdnow-sample", "--out", "s.txt"]
    )
    assert bad.exit_code == 1 and "use a .parquet or .csv file name" in bad.output
    missing = runner.invoke(
        app,
        ["score", "--model", str(workdir), "--transactions", "cdnow-sample", "--out",
         str(workdir / "s.parquet")],
    )
    assert missing.exit_code == 1
    assert "is not a vipml model bundle (no manifest.json)" in missing.output
    assert "Traceback" not in missing.output


def test_backtest_prints_the_table_and_writes_json_and_plots(workdir):
    plots = workdir / "plots"
    result = runner.invoke(
        app,
        ["backtest", "--transactions", "cdnow-sample", "--cutoff", "1997-12-31", "--horizon",
         "26W", "--config", str(workdir / "fast.yaml"), "--json",
         str(workdir / "bt.json"), "--plots", str(plots), "--no-tracking"],
    )
    assert result.exit_code == 0, result.output
    for name in ("btyd_expected_value", "btyd_p_no_purchase", "days_since_last", "spend_12m",
                 "rank_average"):
        assert name in result.output
    assert "every baseline on ROC AUC and average precision" in result.output
    assert "discovery: future VIPs among the customers not VIPs at the cutoff" in result.output
    assert "predicted-VIP list (top 2% of non-VIPs" in result.output
    data = json.loads((workdir / "bt.json").read_text())
    assert data["cutoff"] == "1997-12-31" and data["horizon"] == "26W"
    assert set(data["metrics"]) == {"future_vip", "churn"}
    assert 0.5 < data["metrics"]["future_vip"]["roc_auc"] <= 1
    assert "rank_average" in data["metrics"]["churn"]["baselines"]
    discovery = data["metrics"]["future_vip"]["discovery"]
    assert set(discovery) == {"lightgbm", "spend_12m", "btyd_expected_value", "rank_average"}
    listed = data["predicted_vip_list"]
    # discovery counts the non-VIPs only: as many as the list check's non-VIPs
    assert discovery["lightgbm"]["customers"] == listed["non_vips"] < 2357
    assert {"precision", "spend_12m_precision", "base_rate"} <= set(listed)
    assert sorted(p.name for p in plots.iterdir()) == [
        "backtest.json", "calibration_curve.png", "lift_chart.png"
    ]


def test_backtest_at_several_cutoffs_prints_mean_and_worst(workdir):
    out = workdir / "cutoffs.json"
    result = runner.invoke(
        app,
        ["backtest", "--transactions", "cdnow-sample", "--cutoffs", "1997-10-31,1997-12-31",
         "--config", str(workdir / "fast.yaml"), "--json", str(out), "--no-tracking"],
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "backtest at 2 cutoffs, horizon 26W: mean, worst case and each cutoff" in text
    for header in ("ROC AUC mean", "ROC AUC worst", "AP mean", "AP worst", "AP 1997-10-31"):
        assert header in text
    data = json.loads(out.read_text())
    assert data["cutoffs"] == ["1997-10-31", "1997-12-31"] and data["horizon"] == "26W"
    assert [b["cutoff"] for b in data["backtests"]] == data["cutoffs"]
    summary = data["summary"]
    assert set(summary) == {"future_vip", "churn", "future_vip_discovery"}
    for target, scores in summary.items():
        assert "lightgbm" in scores and "rank_average" in scores, target
        for values in scores.values():
            for metric in ("roc_auc", "average_precision"):
                per = values[metric]["per_cutoff"]
                assert set(per) == set(data["cutoffs"])
                assert values[metric]["worst"] == pytest.approx(min(per.values()))
                assert values[metric]["mean"] == pytest.approx(sum(per.values()) / 2)
    both = runner.invoke(
        app, ["backtest", "--transactions", "cdnow-sample", "--cutoff", "1997-12-31",
              "--cutoffs", "1997-10-31", "--no-tracking"],
    )
    assert both.exit_code == 1 and "give --cutoff or --cutoffs, not both" in both.output
    bad = runner.invoke(
        app, ["backtest", "--transactions", "cdnow-sample", "--cutoffs", "1997-10-31,soon",
              "--no-tracking"],
    )
    assert bad.exit_code == 1 and "--cutoffs 'soon' is not a date" in bad.output


def test_backtest_default_cutoff_and_bad_horizon(workdir):
    bad = runner.invoke(
        app, ["backtest", "--transactions", "cdnow-sample", "--horizon", "soon", "--no-tracking"]
    )
    assert bad.exit_code == 1 and "--horizon: 'soon' is not a duration" in bad.output
    result = runner.invoke(
        app,
        ["backtest", "--transactions", "cdnow-sample", "--horizon", "13W", "--config",
         str(workdir / "fast.yaml"), "--no-tracking"],
    )
    assert result.exit_code == 0, result.output
    assert "cutoff: 1998-03-31 (the last date in the data minus the horizon 13W" in result.output


def test_help_lists_the_model_commands():
    result = runner.invoke(app, ["--help"])
    for name in ("train", "score", "backtest"):
        assert name in result.output


def test_score_with_the_spark_engine_equals_pandas(bundle, workdir, monkeypatch):
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")
    out, _ = bundle
    args = ["score", "--model", str(out), "--transactions", "cdnow-sample", "--cutoff",
            "1998-03-31"]
    assert runner.invoke(app, [*args, "--out", str(workdir / "p.parquet")]).exit_code == 0
    result = runner.invoke(app, [*args, "--out", str(workdir / "s.parquet"), "--engine", "spark"])
    assert result.exit_code == 0, result.output
    pandas_rows = pd.read_parquet(workdir / "p.parquet").sort_values("customer_id")
    spark_rows = pd.read_parquet(workdir / "s.parquet").sort_values("customer_id")
    assert len(spark_rows) == 2357
    for column in ("clv", "p_future_vip", "p_churn"):
        diff = pandas_rows[column].to_numpy() - spark_rows[column].to_numpy()
        assert abs(diff).max() <= 1e-9
    assert (pandas_rows["segment"].to_numpy() == spark_rows["segment"].to_numpy()).all()


def test_a_horizon_without_unit_is_refused(workdir):
    result = runner.invoke(
        app, ["train", "--transactions", "cdnow-sample", "--model-out", str(workdir / "x"),
              "--horizon", "26", "--no-tracking"],
    )
    assert result.exit_code == 1
    assert "--horizon: '26' has no unit: write 26D (days), 26W (weeks)" in " ".join(
        result.output.split()
    )


def test_cutoffs_after_the_data(bundle, workdir):
    late = runner.invoke(
        app, ["train", "--transactions", "cdnow-sample", "--model-out", str(workdir / "late"),
              "--cutoff", "1998-07-22", "--config", str(workdir / "fast.yaml"), "--no-tracking"],
    )
    assert late.exit_code == 1
    assert ("the cutoff 1998-07-22 is after the last transaction (1998-06-30, 22 days earlier)"
            in " ".join(late.output.split()))
    out, _ = bundle
    scored = runner.invoke(
        app, ["score", "--model", str(out), "--transactions", "cdnow-sample", "--cutoff",
              "1998-07-22", "--out", str(workdir / "late.parquet")],
    )
    assert scored.exit_code == 0, scored.output
    assert ("warning: scoring at 1998-07-22, 22 days after the last transaction (1998-06-30)"
            in " ".join(scored.output.split()))
    judged = runner.invoke(
        app, ["backtest", "--transactions", "cdnow-sample", "--cutoff", "1998-03-01",
              "--config", str(workdir / "fast.yaml"), "--no-tracking"],
    )
    assert judged.exit_code == 1
    assert ("the data end on 1998-06-30, 61 days before the end of the judged window "
            "(1998-03-01, 1998-08-30]" in " ".join(judged.output.split()))
    assert "choose a cutoff on or before 1997-12-30" in " ".join(judged.output.split())
    early = runner.invoke(
        app, ["score", "--model", str(out), "--transactions", "cdnow-sample", "--cutoff",
              "1996-01-01", "--out", str(workdir / "early.parquet")],
    )
    assert early.exit_code == 1
    assert "no transaction on or before the cutoff 1996-01-01 (the data start on 1997-01-01)" in (
        " ".join(early.output.split())
    )


def test_an_unattended_train_log_is_complete(bundle):
    """Without a terminal: the metric table whole (no 80-column cut) and one timestamped line
    per step with its duration."""
    _, output = bundle
    assert "…" not in output
    for cell in ("ROC AUC", "prec@10%", "btyd_1_minus_p_alive", "btyd_expected_value", "Brier"):
        assert cell in output
    steps = re.findall(r"^\d{2}:\d{2}:\d{2} training: (.+): \d+\.\d s$", output, re.MULTILINE)
    assert steps[0] == "features and BTYD at 1997-12-30"
    assert "training the future_vip model" in steps and "training the churn model" in steps


def test_every_command_takes_quiet_and_verbose(workdir):
    """--quiet silences stdout (warnings and errors still go to stderr); --verbose adds
    vipml's log. Run as a real process, as a cron job would."""
    import subprocess
    import sys

    for name in app.registered_commands:
        result = runner.invoke(app, [name.name, "--help"])
        assert "--quiet" in result.output and "--verbose" in result.output, name.name
    out = workdir / "quiet-model"
    base = [sys.executable, "-m", "vipml", "train", "--transactions", "cdnow-sample",
            "--model-out", str(out), "--config", str(workdir / "fast.yaml"), "--no-tracking"]
    quiet = subprocess.run([*base, "--quiet"], capture_output=True, text=True)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == "" and (out / "manifest.json").exists()
    verbose = subprocess.run([*base, "--verbose"], capture_output=True, text=True)
    assert verbose.returncode == 0, verbose.stderr
    assert "INFO vipml.bundle: saved model bundle to" in verbose.stderr
    assert "ROC AUC" in verbose.stdout
    both = subprocess.run([*base, "-q", "-v"], capture_output=True, text=True)
    assert both.returncode == 1 and "contradict" in both.stderr
