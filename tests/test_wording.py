"""Reasons: phrases per feature, and the shortcut that phrases each distinct value once."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vipml.wording import PHRASES, ROW_DEPENDENT, phrase, top_reasons


class _Recorder(dict):
    """A row that remembers which other values a phrase asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get(self, key, default=None):  # noqa: ANN001, ANN201
        self.read.add(key)
        return default


def test_only_the_row_dependent_phrases_read_other_values():
    for feature, func in PHRASES.items():
        row = _Recorder()
        for value in (0.0, 1.0, 37.5):
            func(value, row)
        assert bool(row.read) == (feature in ROW_DEPENDENT), feature


def test_top_reasons_equal_phrasing_every_row():
    rng = np.random.default_rng(0)
    n = 500
    values = pd.DataFrame(
        {
            "days_since_last": rng.integers(0, 50, n),
            "spend_12m": rng.gamma(2.0, 40.0, n).round(0),
            "margin_rate": rng.choice([0.2, 0.35], n),
            "margin_assumed": rng.integers(0, 2, n),
            "region": rng.choice(["north", "south"], n),
        }
    )
    contrib = pd.DataFrame(rng.normal(size=(n, 4)), columns=[
        "days_since_last", "spend_12m", "margin_rate", "region"])
    got = top_reasons(contrib, values, k=2)
    order = np.argsort(-contrib.to_numpy(), axis=1, kind="stable")
    for i in range(n):
        want = []
        for col in order[i, :2]:
            if contrib.iat[i, col] <= 0:
                break
            name = contrib.columns[col]
            want.append(phrase(name, values.at[i, name], values.loc[i].to_dict()))
        want += [""] * (2 - len(want))
        assert got.loc[i].tolist() == want, i


def _phrased_row_by_row(contrib: pd.DataFrame, values: pd.DataFrame, k: int) -> list[list[str]]:
    order = np.argsort(-contrib.to_numpy(), axis=1, kind="stable")
    rows = []
    for i in range(len(contrib)):
        want = []
        for col in order[i, :k]:
            if not contrib.iat[i, col] > 0:
                break
            name = contrib.columns[col]
            want.append(phrase(name, values.at[i, name], values.loc[i].to_dict()))
        rows.append(want + [""] * (k - len(want)))
    return rows


def test_row_dependent_phrases_are_keyed_on_what_they_read():
    # days_since_engagement reads tenure_days, referrals, reviews and ugc; margin_rate reads
    # margin_assumed: phrased once per value and context, they equal phrasing every row
    rng = np.random.default_rng(1)
    n = 800
    tenure = rng.integers(0, 6, n)
    values = pd.DataFrame(
        {
            "days_since_engagement": np.where(rng.random(n) < 0.5, tenure, rng.integers(0, 6, n)),
            "tenure_days": tenure,
            "referrals": rng.integers(0, 2, n) * (rng.random(n) < 0.3),
            "reviews": rng.choice([0.0, 1.0, np.nan], n, p=[0.8, 0.1, 0.1]),
            "ugc": rng.integers(0, 2, n) * (rng.random(n) < 0.2),
            "margin_rate": rng.choice([0.0, -0.0, 0.25, np.nan], n),
            "margin_assumed": rng.choice([0.0, 1.0, np.nan], n),
        }
    )
    contrib = pd.DataFrame(
        rng.normal(size=(n, 2)), columns=["days_since_engagement", "margin_rate"]
    )
    contrib.iloc[::7] = -np.inf  # rows without any driver
    assert top_reasons(contrib, values, k=2).to_numpy().tolist() == _phrased_row_by_row(
        contrib, values, 2
    )
    # without the context columns, and with a text one (phrased row by row)
    alone = values[["days_since_engagement", "margin_rate"]]
    assert top_reasons(contrib, alone, k=2).to_numpy().tolist() == _phrased_row_by_row(
        contrib, alone, 2
    )
    texty = values.assign(referrals=values["referrals"].astype(str))
    assert top_reasons(contrib, texty, k=2).to_numpy().tolist() == _phrased_row_by_row(
        contrib, texty, 2
    )


def test_ties_keep_the_column_order_of_a_stable_sort():
    contrib = pd.DataFrame(
        [[0.5, 0.5, 0.5, 0.1], [0.0, 0.2, 0.2, np.inf], [np.nan, -1.0, 0.3, 0.3]],
        columns=["returns", "orders", "referrals", "reviews"],
    )
    values = pd.DataFrame({"returns": [1, 2, 3], "orders": [4, 5, 6], "referrals": [0, 1, 2],
                           "reviews": [3, 0, 1]})
    expected = [
        ["returned 1 order", "4 orders in total", "no referrals yet"],
        ["5 orders in total", "referred 1 customer", ""],
        ["referred 2 customers", "wrote 1 review", ""],
    ]
    finite = contrib.where(np.isfinite(contrib), -np.inf)
    assert _phrased_row_by_row(finite, values, 3) == expected
    assert top_reasons(contrib, values, k=3).to_numpy().tolist() == expected
