"""CDNOW, read from inside the lifetimes package."""

from __future__ import annotations

import pandas as pd

from vipml.data.datasets import load_cdnow


def test_cdnow_master():
    tx = load_cdnow()
    assert len(tx) == 69_659
    assert tx["customer_id"].nunique() == 23_570
    assert tx["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert tx["timestamp"].max() == pd.Timestamp("1998-06-30")
    assert tx["revenue"].min() == 0.0  # some purchases carry a dollar value of 0


def test_cdnow_sample():
    tx = load_cdnow(sample=True)
    assert len(tx) == 6_919
    assert tx["customer_id"].nunique() == 2_357
    assert tx["customer_id"].min() == 1 and tx["customer_id"].max() == 2_357
    assert tx["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert tx["timestamp"].max() == pd.Timestamp("1998-06-30")
