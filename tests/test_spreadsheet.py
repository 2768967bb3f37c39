"""vip_list.xlsx and vip_list.csv as a marketer opens them: safe text, real numbers, formats."""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile

import openpyxl
import pytest

from vipml.report import HEADERS, SIGNAL_NAMES, write_lists
from vipml.segments import LISTS, SEGMENT_LABELS, SEGMENTS, assign_segments

HOSTILE_ID = '=HYPERLINK("http://x","click")'
HOSTILE_ID_2 = "-2+3+cmd|calc"
HOSTILE_REASON = "@SUM(1+1)"
HOSTILE_CATEGORY = "=1+2"
HOSTILE_REGION = "+cmd|' /C calc'!A0"
MONEY = '"$"#,##0.00'
#: Text that is really a number formatted as text ('23,570', '$121.90', '46.7%', '3.1x').
NUMBER_AS_TEXT = re.compile(r"^\s*[$€£]?-?[\d,]+(\.\d+)?\s*[%x×]?\s*$")


@pytest.fixture(scope="module")
def written(tmp_path_factory, scores_helper):
    """vip_list files of simulated scores in which the two biggest spenders (VIPs) have
    formula-like ids and some customers formula-like attribute values."""
    scores, attributes = scores_helper.simulated_scores(1500, seed=3)
    scores = scores.assign(customer_id=scores["customer_id"].astype(str))
    attributes = attributes.assign(customer_id=attributes["customer_id"].astype(str))
    top = scores["spend_12m"].nlargest(2).index
    renamed = dict(zip(scores.loc[top, "customer_id"], [HOSTILE_ID, HOSTILE_ID_2], strict=True))
    scores["customer_id"] = scores["customer_id"].replace(renamed)
    scores.loc[top[0], "reasons"] = HOSTILE_REASON
    attributes["customer_id"] = attributes["customer_id"].replace(renamed)
    attributes.loc[attributes.index[::7], "first_category"] = HOSTILE_CATEGORY
    attributes.loc[attributes.index[::11], "region"] = HOSTILE_REGION
    out = tmp_path_factory.mktemp("lists")
    paths = write_lists(scores, out, attributes=attributes)
    return paths, assign_segments(scores)


@pytest.fixture(scope="module")
def book(written):
    return openpyxl.load_workbook(written[0]["xlsx"])


def _rows(sheet) -> list[dict[str, openpyxl.cell.Cell]]:
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_no_sheet_holds_a_formula(written):
    with zipfile.ZipFile(written[0]["xlsx"]) as archive:
        sheets = [n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
        assert len(sheets) == 3 + len(LISTS)
        for name in sheets:
            assert "<f>" not in (xml := archive.read(name).decode()) and "<f " not in xml, name


def test_formula_like_ids_and_attributes_are_string_cells(book):
    vips = {row[HEADERS["customer_id"]].value: row for row in _rows(book[LISTS["vips_by_tier"]])}
    for hostile in (HOSTILE_ID, HOSTILE_ID_2):
        cell = vips[hostile][HEADERS["customer_id"]]
        assert cell.data_type == "s" and cell.quotePrefix
    assert vips[HOSTILE_ID][HEADERS["reasons"]].value == HOSTILE_REASON
    assert vips[HOSTILE_ID][HEADERS["reasons"]].data_type == "s"
    profile = {(r["Attribute"].value, r["Value"].value): r for r in _rows(book["VIP profile"])}
    for key in (("first_category", HOSTILE_CATEGORY), ("region", HOSTILE_REGION)):
        assert profile[key]["Value"].data_type == "s" and profile[key]["Value"].quotePrefix


def test_csv_quotes_formula_like_text_and_keeps_numbers(written):
    paths, segmented = written
    with open(paths["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == int((segmented["segment"] != "regular").sum())  # no row broken up
    by_id = {r["customer_id"]: r for r in rows}
    assert "'" + HOSTILE_ID in by_id and "'" + HOSTILE_ID_2 in by_id
    assert HOSTILE_ID not in by_id
    assert by_id["'" + HOSTILE_ID]["reasons"] == "'" + HOSTILE_REASON
    for row in rows:
        for col in ("spend_12m", "p_churn", "gap_to_vip", "orders_12m"):
            float(row[col])  # a number, never quoted
            assert not row[col].startswith("'")


def test_every_sheet_has_a_frozen_header_and_an_autofilter(book):
    assert book.sheetnames == ["Summary", *LISTS.values(), "VIP profile", "Treatment rules"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.auto_filter.ref == sheet.dimensions, sheet.title
        assert sheet.auto_filter.ref.startswith("A1:"), sheet.title
        assert all(c.font.bold for c in sheet[1]), sheet.title


def test_no_sheet_stores_a_number_as_text(book):
    for sheet in book.worksheets:
        for row in _rows(sheet):
            for header, cell in row.items():
                if isinstance(cell.value, str) and header != HEADERS["customer_id"]:  # ids: text
                    assert not NUMBER_AS_TEXT.match(cell.value), (sheet.title, cell.coordinate)


def test_summary_values_are_numbers_with_formats(book, written):
    _, segmented = written
    summary = {r["Item"].value: r["Value"] for r in _rows(book["Summary"])}
    customers = summary["Customers scored"]
    assert customers.value == 1500 and isinstance(customers.value, int)
    assert customers.number_format == "#,##0"
    for seg in SEGMENTS:
        cell = summary[f"{SEGMENT_LABELS[seg]} customers"]
        assert cell.value == int((segmented["segment"] == seg).sum())
        assert cell.number_format == "#,##0"
    threshold = summary["VIP threshold at this run"]
    assert threshold.value == pytest.approx(segmented.attrs["vip_threshold"])
    assert threshold.number_format == MONEY
    tiers = [cell for item, cell in summary.items() if item.startswith("Tier ")]
    assert tiers and all(isinstance(c.value, float) and c.number_format == MONEY for c in tiers)
    for item in ("Top 10% of the customers who spent: share of 12-month spend",
                 "Top 1% of the customers who spent: share of 12-month spend"):
        assert 0 < summary[item].value < 1 and summary[item].number_format == "0.0%"
    ratio = summary["Top 10%: spend per order vs the rest (rule of thumb ~3x)"]
    assert ratio.value > 1 and ratio.number_format == '0.0"x"'
    as_of = summary["Scores as of"]
    assert as_of.value.date() == dt.date(2024, 12, 31) and as_of.number_format == "yyyy-mm-dd"
    assert summary["VIP rule"].value.startswith("VIP = the top 10%")


def test_vip_profile_counts_shares_and_signals(book, written):
    _, segmented = written
    rows = _rows(book["VIP profile"])
    groups = ("VIPs now", "Predicted VIPs", "Everyone else")
    count = rows[0]
    assert count["Attribute"].value == "Customers" and count["Statistic"].value == "count"
    assert count["VIPs now"].value == int(segmented["vip_now"].sum())
    for g in groups:
        assert isinstance(count[g].value, int) and count[g].number_format == "#,##0"
    shares = [r for r in rows if r["Statistic"].value == "share"]
    assert shares
    for r in shares:
        assert all(0 <= r[g].value <= 1 and r[g].number_format == "0.0%" for g in groups)
    signals = {r["Attribute"].value: r for r in rows if r["Kind"].value == "signal"}
    assert {"Spend, last 12 months", "P(churn)", "Average order value"} <= set(signals)
    assert not any(re.fullmatch(r"[a-z0-9_]+", name) for name in signals), list(signals)
    assert set(signals) <= set(SIGNAL_NAMES.values())
    assert signals["Spend, last 12 months"]["VIPs now"].number_format == MONEY
    assert signals["P(churn)"]["Everyone else"].number_format == "0.0%"
    assert signals["Orders, last 12 months"]["VIPs now"].number_format == "#,##0.0"
    index = signals["Spend, last 12 months"]["VIP index (vs everyone else)"]
    assert index.value > 1 and index.number_format == "0.00"
    assert count["VIP index (vs everyone else)"].value is None


def test_list_sheets_keep_numbers_numeric(book):
    numeric = [HEADERS[c] for c in ("spend_12m", "orders_12m", "p_churn", "clv", "gap_to_vip")]
    for name in LISTS.values():
        for row in _rows(book[name]):
            for header in numeric:
                cell = row[header]
                assert cell.data_type == "n" and isinstance(cell.value, int | float), (name, header)
