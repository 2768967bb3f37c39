"""`vipml btyd`: the published CDNOW figures, the holdout table and the JSON output."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vipml.cli import app

runner = CliRunner()


def test_btyd_on_the_cdnow_sample_prints_the_published_figures(tmp_path):
    out = tmp_path / "btyd.json"
    result = runner.invoke(
        app,
        ["btyd", "--transactions", "cdnow-sample", "--cutoff", "1997-09-30", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "r=0.243 alpha=4.414 a=0.793 b=2.426" in text and "-9,582.4" in text
    assert "r=0.553 alpha=10.578 s=0.606 beta=11.669" in text and "-9,595.0" in text
    assert "p=6.250 q=3.744 gamma=15.444" in text and "946 repeat customers" in text
    assert "1998-06-30 (the last date in the data)" in text
    assert "best: Pareto/NBD" in text
    report = json.loads(out.read_text())
    assert set(report["models"]) == {"bgnbd", "pareto_nbd", "mbgnbd"}
    assert round(report["models"]["pareto_nbd"]["log_likelihood"], 1) == -9595.0
    assert set(report["gamma_gamma"]["params"]) == {"p", "q", "gamma"}
    assert [row["actual_purchases"] for row in report["holdout"]] == [1882.0] * 3
    # standard errors and 95% intervals, printed and in the JSON
    assert "Parameter uncertainty" in text and "r=0.243 ±0.013 (0.219-0.268)" in text
    bgnbd = report["models"]["bgnbd"]
    assert round(bgnbd["standard_errors"]["alpha"], 3) == 0.378
    lower, upper = bgnbd["intervals_95"]["r"]
    assert lower < bgnbd["params"]["r"] < upper
    assert set(report["gamma_gamma"]["standard_errors"]) == {"p", "q", "gamma"}


def test_btyd_without_holdout_and_bad_dates():
    result = runner.invoke(
        app,
        [
            "btyd",
            "--transactions",
            "cdnow-sample",
            "--cutoff",
            "1997-09-30",
            "--holdout-end",
            "1997-09-30",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "no holdout comparison: the holdout end 1997-09-30 is not after the cutoff" in (
        result.output
    )
    result = runner.invoke(
        app, ["btyd", "--transactions", "cdnow-sample", "--cutoff", "1990-01-01"]
    )
    assert result.exit_code == 1
    assert "before the first transaction (1997-01-01)" in result.output
    result = runner.invoke(app, ["btyd", "--transactions", "cdnow-sample", "--cutoff", "soon"])
    assert result.exit_code == 1 and "is not a date" in result.output
