"""`vipml validate`, `vipml config` and `vipml --help`."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from vipml.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in ("validate", "simulate", "demo", "config"):
        assert name in result.output


def test_validate_bundled_sample():
    result = runner.invoke(app, ["validate", "cdnow-sample"])
    assert result.exit_code == 0, result.output
    assert "2,357" in result.output and "1997-01-01 to 1998-06-30" in result.output


def test_validate_damaged_csv_prints_every_problem(tmp_path):
    damaged = pd.DataFrame(
        {
            "customer_id": ["a", "", "c", "d", "e"],
            "timestamp": ["2024-01-01", "2024-01-02", "someday", "2024-01-04", "2024-01-05"],
            "revenue": ["1.0", "2.0", "3.0", "lots", "5.0"],
            "extra": [1, 2, 3, 4, 5],
        }
    )
    path = tmp_path / "damaged.csv"
    damaged.to_csv(path, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "vipml", "validate", str(path)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert "Traceback" not in out
    assert "3 problem(s)" in out
    assert "customer_id: empty customer id in 1 of 5 rows" in out
    assert "timestamp: unparseable timestamp in 1 of 5 rows (rows 3; values 'someday')" in out
    assert "revenue: not a number in 1 of 5 rows (rows 4; values 'lots')" in out
    assert "columns ignored:    extra" in out


def test_config_rejects_unknown_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("vip:\n  mode: weekly\n")
    result = runner.invoke(app, ["config", str(path)])
    assert result.exit_code == 1
    assert "'weekly' is not one of 'fixed', 'dynamic'" in result.output


def test_config_show_prints_defaults():
    result = runner.invoke(app, ["config", "--show"])
    assert result.exit_code == 0
    assert "default_margin_rate: 0.3" in result.output


def _validate(path, *extra):
    proc = subprocess.run(
        [sys.executable, "-m", "vipml", "validate", str(path), *extra],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
    )
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out
    return proc.returncode, " ".join(out.split())


def test_validate_files_that_are_not_what_they_seem(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _validate(empty) == (
        1, "error: empty.csv: 1 problem found - empty.csv is empty (0 bytes): export the table "
        "again with its header row and data"
    )
    header = tmp_path / "header.csv"
    header.write_text("customer_id,timestamp,revenue\n")
    code, out = _validate(header)
    assert code == 1 and "has a header (customer_id, timestamp, revenue) but no data rows" in out
    quote = tmp_path / "quote.csv"
    quote.write_text('customer_id,timestamp,revenue\n1,2024-01-02,3\n2,2024-01-03,"4\n')
    code, out = _validate(quote)
    assert code == 1 and "quote.csv line 3: a quoted field opens here and is never closed" in out
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("customer_id;timestamp;revenue\n1;2024-01-02;3\n")
    code, out = _validate(semicolons, "--config", str(_config(tmp_path, "separator: ','")))
    assert code == 1 and "the separator looks like ';': set input.separator: ';'" in out


def _config(folder, line: str):
    path = folder / "c.yaml"
    path.write_text(f"input:\n  {line}\n")
    return path


def test_validate_reads_a_latin1_export_and_says_how(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "customer_id;name;timestamp;revenue\n00012;José;13/01/2024 10:00;3.5\n"
        "00013;Zoë;02/01/2024 11:00;4\n".encode("latin-1")
    )
    code, out = _validate(path)
    assert code == 0, out
    assert "encoding: cp1252 (the file is not UTF-8: byte 0xe9 on line 2)" in out
    assert "separator: ';' (detected)" in out
    assert "timestamp: read as day-first dates '%d/%m/%Y %H:%M'" in out
    assert "customers: 2" in out and "valid" in out
