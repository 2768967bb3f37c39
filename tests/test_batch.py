"""Chunked batch scoring equals one pass, byte for byte, and writes atomically."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from vipml.batch import chunk_of, score_to_file
from vipml.data.datasets import load_cdnow
from vipml.pipeline import train


@pytest.fixture(scope="module")
def model_and_data(tmp_path_factory):
    tx = load_cdnow(sample=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = train(tx, "1998-06-30", "26W")
    folder = tmp_path_factory.mktemp("parts")
    for i, part in enumerate(range(0, len(tx), 2000)):  # a folder of Parquet files
        tx.iloc[part : part + 2000].to_parquet(folder / f"part-{i}.parquet")
    return model, tx, folder


def test_chunks_are_stable_and_cover_everyone():
    ids = pd.Series(range(1000))
    chunks = chunk_of(ids, 7)
    assert set(chunks) == set(range(7))
    assert (chunk_of(ids, 7) == chunks).all()


def test_chunked_equals_unchunked_exactly(model_and_data, tmp_path):
    model, tx, folder = model_and_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = score_to_file(model, tx, "1998-06-30", tmp_path / "one.parquet")
        chunked = score_to_file(model, folder, "1998-06-30", tmp_path / "five.parquet", chunks=5)
    pd.testing.assert_frame_equal(whole, chunked)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "five.parquet").read_bytes()
    assert len(whole) == 2357 and whole["customer_id"].is_unique
    numeric = whole.select_dtypes("number")
    assert not numeric.isna().any().any()
    assert {"vip_now", "tier", "segment", "gap_to_vip", "treatment"} <= set(whole.columns)


def test_rerun_gives_identical_file_and_no_temporary_files(model_and_data, tmp_path):
    model, tx, _ = model_and_data
    out = tmp_path / "scores.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score_to_file(model, tx, "1998-06-30", out, chunks=3)
        first = out.read_bytes()
        score_to_file(model, tx, "1998-06-30", out, chunks=3)
    assert out.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]
