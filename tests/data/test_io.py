"""Readers and the atomic writers."""

from __future__ import annotations

import pandas as pd
import pytest

from vipml.data.io import atomic_path, read_table, read_transactions, write_excel, write_table
from vipml.errors import SchemaError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [1, 2], "timestamp": ["2024-01-01", "2024-02-01"], "revenue": [5.0, 7.5]}
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip(tmp_path, frame, suffix):
    path = write_table(frame, tmp_path / f"t{suffix}")
    back = read_transactions(path)
    assert back["revenue"].tolist() == [5.0, 7.5]
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_folder_of_parquet_files(tmp_path, frame):
    folder = tmp_path / "parts"
    write_table(frame.iloc[:1], folder / "part-0.parquet")
    write_table(frame.iloc[1:], folder / "part-1.parquet")
    assert len(read_table(folder)) == 2


def test_bundled_name():
    assert read_transactions("cdnow-sample")["customer_id"].nunique() == 2357


def test_interrupted_write_leaves_old_file_intact(tmp_path, frame):
    target = write_table(frame, tmp_path / "out.csv")
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half a fi")
            raise RuntimeError("killed")
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(SchemaError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SchemaError, match=r"unknown file type '.json': use .csv or .parquet"):
        read_table(tmp_path / "x.json")


def test_excel_has_frozen_bold_header(tmp_path, frame):
    from openpyxl import load_workbook

    path = write_excel({"first": frame, "second": frame}, tmp_path / "book.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["first", "second"]
    sheet = book["first"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert sheet["C2"].number_format == "#,##0.00"
