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
