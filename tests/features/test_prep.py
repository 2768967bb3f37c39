"""The shared sorting and group helpers behind every feature family."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipml.features import build_features, first_category
from vipml.features._prep import group_median, group_sort, prepare


@pytest.mark.parametrize("kind", ["float", "int", "wide-int"])
def test_group_median_equals_pandas(kind):
    rng = np.random.default_rng(3)
    n = 500
    codes = np.sort(rng.integers(0, n, 5_000))
    if kind == "float":
        values = np.round(rng.gamma(2.0, 30.0, len(codes)), 2) - 5.0
    elif kind == "int":
        values = rng.integers(-3, 400, len(codes))
    else:  # too wide to pack with the codes: the lexsort path
        values = rng.integers(-(2**60), 2**60, len(codes))
    ours = group_median(values, codes, n + 3, fill=-1.0)
    theirs = pd.Series(values).groupby(codes).median()
    expected = np.full(n + 3, -1.0)
    expected[theirs.index] = theirs.to_numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "ids",
    [
        np.array([5, 3, 5, 9, 3, 3]),  # packed directly
        np.array([5, 3, 5, 9, 3, 3]) * 10**15,  # too wide: factorized first
        np.array(["e", "c", "e", "i", "c", "c"], dtype=object),
    ],
)
def test_group_sort_orders_by_customer_day_row(ids):
    day = np.array([2, 7, 1, 4, 7, 1])
    perm, code, customers = group_sort(pd.Series(ids), day)
    assert list(customers) == sorted(set(ids.tolist()))
    assert perm.tolist() == [5, 1, 4, 2, 0, 3]
    assert code.tolist() == [0, 0, 0, 1, 1, 2]


def test_wide_and_string_ids_give_identical_features():
    rng = np.random.default_rng(0)
    n = 2_000
    tx = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 300, n),
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 200 * 86_400, n), unit="s"),
            "revenue": rng.gamma(2.0, 20.0, n),
            "order_id": rng.integers(0, 1_500, n),
        }
    )
    base = build_features(tx, "2024-06-01")
    wide = build_features(tx.assign(customer_id=tx["customer_id"] * 10**15), "2024-06-01")
    text = build_features(
        tx.assign(customer_id=tx["customer_id"].map("x{:04d}".format)), "2024-06-01"
    )
    np.testing.assert_array_equal(wide.to_numpy(), base.to_numpy())
    np.testing.assert_array_equal(text.to_numpy(), base.to_numpy())
    assert list(wide.index) == [i * 10**15 for i in base.index]


def test_sub_second_timestamps_keep_time_order_for_the_first_purchase():
    tx = pd.DataFrame(
        {
            "customer_id": [1, 1],
            "timestamp": pd.to_datetime(["2024-01-01 10:00:00.7", "2024-01-01 10:00:00.2"]),
            "revenue": [1.0, 2.0],
            "category": ["late", "early"],
        }
    )
    prep = prepare(tx, "2024-01-02")
    assert prep.day.tolist() == [19723, 19723]  # same day: rows keep their input order
    assert first_category(tx, "2024-01-02").tolist() == ["early"]


def test_events_with_other_id_types_are_reported(caplog):
    tx = pd.DataFrame(
        {"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]), "revenue": [5.0]}
    )
    ev = pd.DataFrame(
        {"customer_id": ["1"], "timestamp": pd.to_datetime(["2024-01-02"]), "kind": ["review"]}
    )
    with caplog.at_level("WARNING"):
        f = build_features(tx, "2024-01-31", ev)
    assert f.loc[1, "reviews"] == 0
    assert "none of 1 events matches" in caplog.text
