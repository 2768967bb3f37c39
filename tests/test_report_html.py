"""The report a marketer reads top to bottom: figures that agree, one row per treatment rule,
the backtest as a small table, ids as written, no rows of zeros for signals the data lack."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from vipml.config import config_from_dict
from vipml.data.datasets import load_cdnow
from vipml.pipeline import backtest
from vipml.report import SIGNAL_NAMES, report_html
from vipml.segments import SEGMENT_LABELS, assign_segments, segment_summary


class _Tables(HTMLParser):
    """Every table of a page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _tables(text: str) -> list[pd.DataFrame]:
    parser = _Tables()
    parser.feed(text)
    return [pd.DataFrame(rows[1:], columns=rows[0]) for rows in parser.tables if rows]


def _table_with(text: str, header: str) -> pd.DataFrame:
    return next(t for t in _tables(text) if header in t.columns)


@pytest.fixture(scope="module")
def cdnow_report(scores_helper):
    scores = scores_helper.cdnow_scores()
    scores["customer_id"] = scores["customer_id"] + 7000  # four-digit ids
    cfg = config_from_dict({"lightgbm": {"n_estimators": 40, "num_threads": 1}})
    with pytest.warns(UserWarning):
        result = backtest(load_cdnow(), "1997-12-31", "26W", config=cfg)
    segmented = assign_segments(scores)
    return segmented, report_html(segmented, backtest={"metrics": result.to_dict()}), result


def test_headline_vip_share_equals_the_segments_table(cdnow_report):
    segmented, text, _ = cdnow_report
    card = re.search(r"VIPs&#x27; share of 12-month spend<b>(\d+)%</b>", text)
    summary = segment_summary(segmented).set_index("segment")
    vip_rows = [s for s in ("at_risk_vip", "lapsed_vip", "vip") if s in summary.index]
    share = summary.loc[vip_rows, "share_of_spend"].sum()
    assert card and int(card.group(1)) == round(share * 100)
    assert f"hold {share:.1%} of it" in text
    assert "Top 10% share of spend" not in text  # the old card that counted another group


def test_one_row_per_treatment_rule_with_its_count(cdnow_report):
    segmented, text, _ = cdnow_report
    rules = _table_with(text, "example text")
    assert rules["rule"].is_unique
    counts = rules["customers"].str.replace(",", "").astype(int)
    assert counts.sum() == len(segmented) and (counts > 0).all()
    assert set(rules["segment"]) <= {*SEGMENT_LABELS.values(), "Any segment"}
    assert not rules["segment"].str.contains("_").any()  # human names


def test_the_backtest_is_a_small_table(cdnow_report):
    _, text, result = cdnow_report
    table = _table_with(text, "ROC AUC")
    # future VIP: the model, 2 baselines and their rank-average; churn: the model, 3 and one
    assert len(table) == 9
    assert list(table.columns) == ["target", "score", "ROC AUC", "average precision",
                                   "precision, top 10%", "lift, top 10%"]
    assert set(table["score"]) >= {"vipml model", "rule: 12-month spend",
                                   "rule: days since last purchase",
                                   "rank-average of two rules"}
    model = table[(table["target"] == "future VIP") & (table["score"] == "vipml model")]
    expected = result.table.loc[("future_vip", "lightgbm"), "roc_auc"]
    assert model["ROC AUC"].iloc[0] == f"{expected:,.3g}"
    assert "metrics.metrics" not in text and "None" not in text
    check = result.info["predicted_vip_list"]
    assert f"held {check['customers']:,} of {check['non_vips']:,} non-VIPs" in text


def test_ids_as_written_and_no_signals_the_data_lack(cdnow_report):
    segmented, text, _ = cdnow_report
    ids = [c for t in _tables(text) if "Customer" in " ".join(t.columns) for c in t.iloc[:, 0]]
    assert ids and all("," not in i for i in ids)
    profile = _table_with(text, "Everyone else")
    signals = set(profile.iloc[:, 0])
    # CDNOW has no list prices, categories, returns flags or events
    for lacking in ("full_price_share", "discount_share", "top_lines_share", "referrals"):
        assert lacking not in signals and SIGNAL_NAMES[lacking] not in signals
    assert "Spend, last 12 months" in signals and "spend_12m" not in signals  # human names
