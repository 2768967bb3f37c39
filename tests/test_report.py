"""The marketer's files: vip_list.csv, vip_list.xlsx (read back with openpyxl), report.html."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import numpy as np
import openpyxl
import pandas as pd
import pytest

from vipml.config import config_from_dict
from vipml.plots import new_figure
from vipml.plots.value import lorenz_curve, lorenz_figure, vip_profile_figure
from vipml.report import HEADERS, OUTPUT_FILES, report_html, write_lists
from vipml.segments import (
    LISTS,
    SCORE_COLUMNS,
    assign_segments,
    marketer_lists,
    value_concentration,
    vip_profile,
)

SHEETS = [
    "Summary",
    "VIPs by tier",
    "Predicted VIPs",
    "Near-VIPs",
    "At-risk VIPs",
    "Lapsed VIPs",
    "Dormant high-potential",
    "VIP profile",
    "Treatment rules",
]


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


@pytest.fixture(scope="module")
def sim(scores_helper):
    return scores_helper.simulated_scores(3000, seed=2)


@pytest.fixture(scope="module")
def written(sim, tmp_path_factory):
    scores, attributes = sim
    out = tmp_path_factory.mktemp("lists")
    lift, ax = new_figure()
    ax.plot([0, 1], [0, 1])
    ax.set_title("lift chart")
    backtest = {
        "lift_chart": lift,
        "calibration_curve": _png(),
        "metrics": {"future_vip": {"roc_auc": 0.81, "average_precision": 0.42}},
    }
    paths = write_lists(scores, out, backtest=backtest, attributes=attributes)
    return paths, assign_segments(scores), out


def _png() -> bytes:
    from vipml.plots import figure_to_png

    fig, ax = new_figure(3, 2)
    ax.plot([0, 1], [0, 0.9])
    ax.set_title("calibration")
    return figure_to_png(fig)


def test_write_lists_writes_three_files_atomically(written):
    paths, _, out = written
    assert {k: p.name for k, p in paths.items()} == OUTPUT_FILES
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES.values())  # no temp files


def test_xlsx_has_the_expected_sheets_and_formats(written):
    paths, segmented, _ = written
    book = openpyxl.load_workbook(paths["xlsx"])
    assert book.sheetnames == SHEETS
    lists = marketer_lists(segmented)
    for key, name in LISTS.items():
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        header = [c.value for c in sheet[1]]
        assert header[: len(SCORE_COLUMNS)] == [HEADERS[c] for c in SCORE_COLUMNS]
        assert sheet.max_row == len(lists[key]) + 1, name
        assert all(c.font.bold for c in sheet[1])
        if len(lists[key]):
            row = {h: c for h, c in zip(header, sheet[2], strict=True)}
            assert row[HEADERS["spend_12m"]].number_format == '"$"#,##0.00'
            assert row[HEADERS["p_churn"]].number_format == "0.0%"
            assert row[HEADERS["orders_12m"]].number_format == "#,##0"
            first = lists[key].iloc[0]
            assert row[HEADERS["customer_id"]].value == first["customer_id"]
            assert row[HEADERS["spend_12m"]].value == pytest.approx(first["spend_12m"])
            assert row[HEADERS["treatment"]].value == first["treatment"]
    assert book["At-risk VIPs"].max_row > 1 and book["Near-VIPs"].max_row > 1
    vips = book["VIPs by tier"]
    tier_col = [c.value for c in vips[1]].index("Tier")
    tiers = [row[tier_col].value for row in vips.iter_rows(min_row=2)]
    order = {"gold": 0, "silver": 1, "bronze": 2}
    assert [order[t] for t in tiers] == sorted(order[t] for t in tiers)
    segments = {row[[c.value for c in vips[1]].index("Segment")].value
                for row in vips.iter_rows(min_row=2)}
    assert segments == {"VIP", "At-risk VIP", "Lapsed VIP"}
    profile = book["VIP profile"]
    values = {(r[1].value, r[2].value) for r in profile.iter_rows(min_row=2)}
    assert ("acquisition_channel", "referral") in values
    summary = {r[0].value: r[1].value for r in book["Summary"].iter_rows(min_row=2)}
    assert summary["Customers scored"] == 3000
    assert summary["VIP rule"].startswith("VIP = the top 10%")


def test_csv_lists_every_listed_customer_with_the_score_columns(written):
    paths, segmented, _ = written
    table = pd.read_csv(paths["csv"])
    assert list(table.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS)
    listed = segmented[segmented["segment"] != "regular"]
    assert sorted(table["customer_id"]) == sorted(listed["customer_id"])
    numeric = table[[c for c in SCORE_COLUMNS if c in table.select_dtypes("number")]]
    assert {"spend_12m", "p_churn", "gap_to_vip"} <= set(numeric.columns)
    assert not numeric.isna().any().any()


def test_html_is_one_file_with_embedded_images(written):
    paths, segmented, _ = written
    text = paths["html"].read_text()
    tags = _tags(text)
    images = [attrs["src"] for tag, attrs in tags if tag == "img"]
    # Lorenz, segment sizes, VIP profile, and the two backtest plots
    assert len(images) == 5
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    for tag, attrs in tags:
        for key in ("src", "href"):
            value = attrs.get(key)
            assert value is None or value.startswith("data:"), (tag, key, value)
    assert not any(tag in ("script", "link", "iframe") for tag, _ in tags)
    c = value_concentration(segmented)
    assert f"{c['top10_share']:.1%}" in text and f"{c['top1_share']:.1%}" in text
    assert "rule of thumb" in text
    assert "roc_auc" in text and "0.81" in text
    for name in LISTS.values():
        assert f"<h2>{name}</h2>" in text


def test_html_without_backtest_has_three_plots_and_escapes_text(sim):
    scores, _ = sim
    text = report_html(scores.assign(reasons="<script>alert(1)</script>"))
    assert len([1 for tag, _ in _tags(text) if tag == "img"]) == 3
    assert "Backtest" not in text
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_existing_segments_are_used_as_they_are(sim, tmp_path):
    scores, _ = sim
    fixed = config_from_dict({"vip": {"mode": "fixed", "threshold": 400.0}})
    segmented = assign_segments(scores, fixed)
    paths = write_lists(segmented, tmp_path)  # no config: the segments in the table stand
    table = pd.read_csv(paths["csv"])
    assert table["vip_now"].sum() == segmented["vip_now"].sum()
    assert (table.loc[table["vip_now"], "spend_12m"] >= 400).all()


def test_lorenz_curve_matches_the_concentration(sim):
    scores, _ = sim
    x, y = lorenz_curve(scores["spend_12m"])
    c = value_concentration(scores)
    k = int(c["top10_customers"])
    assert y[k] == pytest.approx(c["top10_share"])
    assert np.all(np.diff(y) >= 0) and y[-1] == pytest.approx(1.0)
    fig = lorenz_figure(scores)
    assert [ax.get_title() for ax in fig.axes] == [
        "Value concentration", "Spend per order vs the rest"
    ]


def test_profile_figure_has_one_panel_per_attribute_and_the_signals(sim):
    scores, attributes = sim
    profile = vip_profile(assign_segments(scores), attributes)
    fig = vip_profile_figure(profile)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "By acquisition channel", "By region", "By first category",
        "Value signals: VIPs against everyone else",
    ]
