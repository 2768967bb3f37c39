"""A log with hostile ids, categories and countries goes through train -> score -> lists: the
files a marketer opens hold no live formula and no markup from the data."""

from __future__ import annotations

import csv
import re
import zipfile

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from vipml.cli import app
from vipml.data.simulate import simulate

runner = CliRunner()

HOSTILE_IDS = [
    '=HYPERLINK("http://x","click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|calc",
    "@SUM(1+1)",
    "\t=1+2",
    "\r=1+2",
    "<script>alert(1)</script>",
]
HOSTILE_CATEGORIES = ["=1+2", "<b>bold</b>", "+SUM(A1)"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(scope="module")
def lists(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    sim = simulate(2500, seed=5)
    tx = sim.transactions.copy()
    # the biggest spenders get the hostile ids: they are VIPs, on every list that matters
    top = tx.groupby("customer_id")["revenue"].sum().nlargest(len(HOSTILE_IDS)).index
    names = {c: str(c) for c in tx["customer_id"].unique()}
    names.update(dict(zip(top, HOSTILE_IDS, strict=True)))
    tx["customer_id"] = tx["customer_id"].map(names)
    categories = sorted(tx["category"].unique())
    tx["category"] = tx["category"].replace(dict(zip(categories, HOSTILE_CATEGORIES,
                                                     strict=False)))
    tx["Country"] = ["@evil" if i % 3 else "=cmd" for i in range(len(tx))]
    tx.to_parquet(root / "tx.parquet")
    (root / "config.yaml").write_text(
        "input:\n  customer_attributes: [Country]\n"
        "lightgbm:\n  n_estimators: 30\n  num_threads: 1\n"
    )
    for args in (
        ["train", "--transactions", str(root / "tx.parquet"), "--model-out",
         str(root / "model"), "--config", str(root / "config.yaml"), "--no-tracking"],
        ["score", "--model", str(root / "model"), "--transactions", str(root / "tx.parquet"),
         "--out", str(root / "scores.parquet"), "--reasons", "all"],
        ["lists", "--scores", str(root / "scores.parquet"), "--out", str(root / "lists")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    return root / "lists"


def test_no_sheet_holds_a_formula(lists):
    with zipfile.ZipFile(lists / "vip_list.xlsx") as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert len(sheets) >= 8
        for name in sheets:
            assert not re.search(r"<f[ >/]", book.read(name).decode()), name
    book = openpyxl.load_workbook(lists / "vip_list.xlsx")
    seen = {c.value for ws in book for row in ws.iter_rows() for c in row}
    # the hostile ids are there, as text
    assert any(isinstance(v, str) and "HYPERLINK" in v for v in seen)
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    # the summary's numbers are numbers
    summary = book["Summary"]
    numbers = [r[1].value for r in summary.iter_rows(min_row=2) if r[0].value and
               str(r[0].value).endswith("customers")]
    assert numbers and all(isinstance(v, int | float) for v in numbers)


def test_no_csv_text_cell_starts_with_a_trigger(lists):
    with open(lists / "vip_list.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) > 10
    header = rows[0]
    ids = [r[header.index(next(h for h in header if "ustomer" in h))] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://x\",\"click\")" in ids
    for row in rows[1:]:
        for value in row:
            if value.startswith(TRIGGERS):
                # only numbers may start with "-" (a negative amount)
                assert value.startswith("-") and _is_number(value), value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_the_html_holds_no_markup_from_the_data(lists):
    text = (lists / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in text and "<b>bold</b>" not in text
    assert "&lt;script&gt;" in text or "&lt;b&gt;bold&lt;/b&gt;" in text
    assert not re.search(r"<(script|iframe|link|object|embed)\b", text)


def test_one_treatment_row_per_rule(lists):
    text = (lists / "report.html").read_text(encoding="utf-8")
    section = text.split("<h2>Treatments</h2>", 1)[1].split("</table>", 1)[0]
    rules = re.findall(r"<tr><td class=\"num\">(\d+)</td>", section)
    assert rules and len(rules) == len(set(rules))
    frame = pd.read_excel(lists / "vip_list.xlsx", sheet_name="Treatment rules")
    assert frame.iloc[:, 0].is_unique


def test_a_formula_like_id_keeps_its_vip_term_through_the_csv(scores_helper, tmp_path):
    """Fixed mode reads the previous run's vip_list.csv back: an id written behind a "'" is
    the same customer."""
    from vipml.config import config_from_dict
    from vipml.report import write_lists
    from vipml.segments import assign_segments

    scores = scores_helper.cdnow_scores()
    scores["customer_id"] = scores["customer_id"].astype(str)
    top = scores["spend_12m"].idxmax()
    scores.loc[top, "customer_id"] = "=1+2"
    cfg = config_from_dict({"vip": {"mode": "fixed", "threshold": 300.0}})
    first = assign_segments(scores, cfg, as_of="1997-12-31")
    path = write_lists(first, tmp_path, cfg)["csv"]
    assert "'=1+2" in pd.read_csv(path, dtype=str)["customer_id"].tolist()
    # a year later the customer spends nothing, but the fixed term holds the status
    later = scores.assign(spend_12m=scores["spend_12m"].where(scores.index != top, 0.0))
    again = assign_segments(later, cfg, previous=pd.read_csv(path, dtype=str),
                            as_of="1998-03-31")
    row = again.set_index("customer_id").loc["=1+2"]
    assert bool(row["vip_now"]) and str(row["vip_since"])[:10] == "1997-12-31"
