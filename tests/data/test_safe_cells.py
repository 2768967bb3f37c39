"""Text a spreadsheet would read as a formula stays text in the CSV and XLSX files we write."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from vipml.data.cells import FORMULA_TRIGGERS, safe_frame, safe_text
from vipml.data.io import table_writer, write_excel, write_table

#: One hostile value per trigger character (the ones the issue names, and a tab / CR before =).
HOSTILE = {
    "=": '=HYPERLINK("http://x","click")',
    "+": "+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|calc",
    "@": "@SUM(1+1)",
    "\t": "\t=1+2",
    "\r": "\r=1+2",
}


def test_every_trigger_has_a_hostile_example():
    assert set(HOSTILE) == set(FORMULA_TRIGGERS)
    assert all(v.startswith(k) for k, v in HOSTILE.items())


def _table(value: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [value, "C-1", "1001"],
            "country": ["NL", value, None],
            "spend": [-2.5, 0.0, 1234.5],
            "orders": [-3, 0, 7],
        }
    )


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _formulas(path: Path) -> list[str]:
    """Every ``<f>`` element of every worksheet of an .xlsx file."""
    with zipfile.ZipFile(path) as book:
        sheets = [n for n in book.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
        assert sheets
        return [f for n in sheets for f in re.findall(r"<f[ >].*?</f>|<f/>", book.read(n).decode())]


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
def test_csv_cells_starting_with_a_trigger_are_quoted(tmp_path, trigger):
    value = HOSTILE[trigger]
    path = write_table(_table(value), tmp_path / "list.csv")
    header, first, second, third = _csv_rows(path)
    assert header == ["customer_id", "country", "spend", "orders"]
    assert first == ["'" + value, "NL", "-2.5", "-3"]  # negative numbers are not escaped
    assert second == ["C-1", "'" + value, "0.0", "0"]
    assert third == ["1001", "", "1234.5", "7"]


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
def test_csv_written_part_by_part_is_quoted_too(tmp_path, trigger):
    value = HOSTILE[trigger]
    path = tmp_path / "scores.csv"
    with table_writer(path) as write:
        write(_table(value).iloc[:1])
        write(_table(value).iloc[1:])
    rows = _csv_rows(path)
    assert [r[0] for r in rows] == ["customer_id", "'" + value, "C-1", "1001"]
    assert [r[1] for r in rows][2] == "'" + value
    assert [r[2] for r in rows][1:] == ["-2.5", "0.0", "1234.5"]


@pytest.mark.parametrize("trigger", FORMULA_TRIGGERS, ids=repr)
@pytest.mark.parametrize("writer", ["write_table", "write_excel"])
def test_xlsx_cells_starting_with_a_trigger_are_strings_not_formulas(tmp_path, trigger, writer):
    value = HOSTILE[trigger]
    path = tmp_path / "list.xlsx"
    if writer == "write_table":
        write_table(_table(value), path)
    else:
        write_excel({"list": _table(value), "other": _table(value)}, path)
    assert _formulas(path) == []
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        hostile = [sheet["A2"], sheet["B3"]]
        expected = value.replace("\r", "\n")  # XML reads a raw carriage return as a newline
        assert [c.value.replace("\r", "\n") for c in hostile] == [expected, expected]
        assert [c.data_type for c in hostile] == ["s", "s"]
        assert all(c.quotePrefix for c in hostile)
        assert sheet["A3"].value == "C-1" and not sheet["A3"].quotePrefix
        spend = [sheet.cell(row=r, column=3) for r in (2, 3, 4)]
        orders = [sheet.cell(row=r, column=4) for r in (2, 3, 4)]
        assert [c.value for c in spend] == [-2.5, 0.0, 1234.5]
        assert [c.value for c in orders] == [-3, 0, 7]
        assert {c.data_type for c in spend + orders} == {"n"}


def test_a_line_break_inside_a_csv_cell_never_starts_a_row(tmp_path):
    table = pd.DataFrame({"note": ["ok\r=1+2", "fine\n+3", "x"], "n": [1, 2, 3]})
    path = write_table(table, tmp_path / "t.csv")
    assert _csv_rows(path) == [["note", "n"], ["ok\r=1+2", "1"], ["fine\n+3", "2"], ["x", "3"]]


def test_formula_like_headers_stay_text(tmp_path):
    table = pd.DataFrame({"=SUM(A:A)": [1.0], "-total": ["x"]})
    csv_path = write_table(table, tmp_path / "t.csv")
    assert _csv_rows(csv_path)[0] == ["'=SUM(A:A)", "'-total"]
    xlsx_path = write_table(table, tmp_path / "t.xlsx")
    assert _formulas(xlsx_path) == []
    header = openpyxl.load_workbook(xlsx_path).active[1]
    assert [(c.value, c.data_type) for c in header] == [("=SUM(A:A)", "s"), ("-total", "s")]


def test_parquet_values_are_written_unchanged(tmp_path):
    table = _table(HOSTILE["="])
    path = write_table(table, tmp_path / "scores.parquet")
    back = pd.read_parquet(path)
    assert back["customer_id"].tolist() == table["customer_id"].tolist()
    assert back["country"].tolist()[1] == HOSTILE["="]


def test_safe_frame_leaves_numbers_and_the_given_frame_alone():
    table = _table(HOSTILE["-"]).assign(
        when=pd.to_datetime(["2024-01-01", "2024-02-01", None]),
        flag=[True, False, True],
        mixed=pd.Series(["+1", -4, 2.5], dtype=object),
        category=pd.Series(["@x", "y", "@x"], dtype="category"),
    )
    before = table.copy()
    safe = safe_frame(table)
    pd.testing.assert_frame_equal(table, before)  # not modified in place
    assert safe["customer_id"].tolist() == ["'" + HOSTILE["-"], "C-1", "1001"]
    assert safe["mixed"].tolist() == ["'+1", -4, 2.5]
    assert safe["category"].tolist() == ["'@x", "y", "'@x"]
    for col in ("spend", "orders", "when", "flag"):
        pd.testing.assert_series_equal(safe[col], table[col])


def test_a_frame_without_formula_like_text_is_returned_as_it_is():
    table = pd.DataFrame({"customer_id": ["a-1", "b"], "spend": [-1.0, 2.0]})
    assert safe_frame(table) is table


def test_safe_text_is_idempotent_and_ignores_numbers():
    assert safe_text(safe_text("=1")) == "'=1"
    assert safe_text(-2.5) == -2.5 and safe_text(None) is None
    assert safe_text("2-3") == "2-3"
