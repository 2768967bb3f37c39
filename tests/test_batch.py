"""Chunked batch scoring equals one pass row for row, explains the listed customers, and writes
atomically."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

from vipml.batch import chunk_bounds, chunk_of, default_workers, score_to_file
from vipml.data.datasets import load_cdnow
from vipml.errors import SchemaError
from vipml.pipeline import score, train


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


def test_chunks_are_id_ranges_of_about_equal_size():
    ids = pd.Series(np.random.default_rng(0).permutation(np.repeat(np.arange(1000), 3)))
    bounds = chunk_bounds(ids, 7)
    chunks = chunk_of(ids, bounds)
    assert set(chunks) == set(range(7))
    sizes = pd.Series(ids).groupby(chunks).nunique()
    assert sizes.max() - sizes.min() <= 1
    # ranges: every id of chunk k is below every id of chunk k + 1
    by_chunk = pd.Series(ids).groupby(chunks).agg(["min", "max"])
    assert (by_chunk["max"].to_numpy()[:-1] < by_chunk["min"].to_numpy()[1:]).all()
    assert len(chunk_bounds(ids, 1)) == 0 and (chunk_of(ids, chunk_bounds(ids, 1)) == 0).all()


def test_string_ids_are_chunked_too():
    ids = pd.Series([f"c{i:04d}" for i in range(100)])
    chunks = chunk_of(ids, chunk_bounds(ids, 4))
    assert pd.Series(chunks).value_counts().tolist() == [25, 25, 25, 25]


def test_chunked_equals_unchunked_exactly(model_and_data, tmp_path):
    model, tx, folder = model_and_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = score_to_file(model, tx, "1998-06-30", tmp_path / "one.parquet")
        five = score_to_file(model, folder, "1998-06-30", tmp_path / "five.parquet", chunks=5)
        score_to_file(model, tx, "1998-06-30", tmp_path / "one.csv")
        score_to_file(model, folder, "1998-06-30", tmp_path / "five.csv", chunks=5)
    assert five.chunks == 5 and one.chunks == 1
    whole = pd.read_parquet(tmp_path / "one.parquet")
    chunked = pd.read_parquet(tmp_path / "five.parquet")
    pd.testing.assert_frame_equal(whole, chunked)
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "five.csv").read_bytes()
    assert len(whole) == 2357 and whole["customer_id"].is_monotonic_increasing
    assert whole["customer_id"].is_unique and one.customers == 2357
    numeric = whole.select_dtypes("number")
    assert not numeric.isna().any().any()
    assert {"vip_now", "tier", "segment", "gap_to_vip", "treatment"} <= set(whole.columns)
    assert one.segments == whole["segment"].value_counts().to_dict()
    assert one.mean_p_churn == pytest.approx(whole["p_churn"].mean())


def test_reasons_for_the_listed_customers_equal_a_full_explanation(model_and_data, tmp_path):
    model, tx, _ = model_and_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = score_to_file(model, tx, "1998-06-30", tmp_path / "s.parquet", chunks=2)
        score_to_file(model, tx, "1998-06-30", tmp_path / "all.parquet", reasons="all")
        full = score(model, tx, "1998-06-30").set_index("customer_id")
    listed = pd.read_parquet(tmp_path / "s.parquet").set_index("customer_id")
    on_list = listed["segment"] != "regular"
    assert 0 < on_list.sum() < len(listed) and done.explained == on_list.sum()
    for col in ("reasons", "reason_1", "churn_reasons"):
        assert (listed.loc[on_list, col] == full.loc[on_list[on_list].index, col]).all()
        assert (listed.loc[~on_list, col] == "").all()
    everyone = pd.read_parquet(tmp_path / "all.parquet").set_index("customer_id")
    assert (everyone["reasons"] == full["reasons"]).all()
    assert (listed.loc[on_list, "reasons"] != "").mean() > 0.9


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


def test_worker_processes_write_the_same_file_as_one_process(model_and_data, tmp_path):
    model, _, folder = model_and_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        here = score_to_file(model, folder, "1998-06-30", tmp_path / "here.parquet", chunks=3,
                             workers=1)
        there = score_to_file(model, folder, "1998-06-30", tmp_path / "there.parquet", chunks=3,
                              workers=2)
        score_to_file(model, folder, "1998-06-30", tmp_path / "here.csv", chunks=3, workers=1)
        score_to_file(model, folder, "1998-06-30", tmp_path / "there.csv", chunks=3, workers=2)
    assert (here.workers, there.workers) == (1, 2)
    assert (tmp_path / "here.parquet").read_bytes() == (tmp_path / "there.parquet").read_bytes()
    assert (tmp_path / "here.csv").read_bytes() == (tmp_path / "there.csv").read_bytes()
    assert (here.segments, here.explained) == (there.segments, there.explained)
    assert here.mean_p_future_vip == pytest.approx(there.mean_p_future_vip, rel=1e-12)


def test_bad_rows_found_in_a_worker_are_reported_whole_and_nothing_is_written(
    model_and_data, tmp_path
):
    model, tx, _ = model_and_data
    folder = tmp_path / "bad"
    folder.mkdir()
    raw = tx.assign(revenue=tx["revenue"].astype(str))
    raw.loc[[3, 50, 70], "revenue"] = "twelve"
    for i, part in enumerate(range(0, len(raw), 2000)):
        raw.iloc[part : part + 2000].to_parquet(folder / f"part-{i}.parquet")
    out = tmp_path / "scores.parquet"
    with pytest.raises(SchemaError, match=r"revenue: .*'twelve'") as error:
        score_to_file(model, folder, "1998-06-30", out, chunks=3, workers=2)
    assert "  - revenue" in str(error.value)  # the problem list, not a mangled message
    assert not out.exists()


def test_default_workers_one_per_core_at_most_one_per_chunk():
    assert default_workers(1) == 1
    assert default_workers(100) == min(100, len(os.sched_getaffinity(0)))
    assert default_workers(3, workers=8) == 3


def test_auto_chunks_count_the_rows_from_the_parquet_metadata(model_and_data, tmp_path):
    """``scoring.chunks: auto`` (the default): one chunk per ROWS_PER_CHUNK rows, counted
    without reading the data; a small input is scored in one chunk."""
    from vipml.config import ROWS_PER_CHUNK, Config
    from vipml.jobs import auto_chunks, score_files

    model, tx, folder = model_and_data
    assert Config().scoring.chunks == "auto" and ROWS_PER_CHUNK == 4_000_000
    assert auto_chunks(folder, rows_per_chunk=2000) == -(-len(tx) // 2000) > 1
    assert auto_chunks(folder) == auto_chunks(tx) == 1
    csv = tmp_path / "tx.csv"
    tx.to_csv(csv, index=False)
    assert auto_chunks(csv, rows_per_chunk=10) == 1  # counted once read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = score_files(model, folder, tmp_path / "auto.parquet", cutoff="1998-06-30")
    assert done.chunks == 1 and done.customers == tx["customer_id"].nunique()


def test_finished_blocks_put_together_equal_the_finished_part(model_and_data):
    # vipml score explains and writes a chunk block by block (finish_blocks): the blocks must
    # be the rows, dtypes and attrs of finish_part's table, whatever the block size
    from vipml.pipeline.scoring import (
        ScoringResult,
        finish_blocks,
        finish_part,
        population_thresholds,
        score_part,
    )

    model, tx, _ = model_and_data
    cutoff = pd.Timestamp("1998-06-30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scored = score_part(model, tx, cutoff)
    thresholds = population_thresholds(scored, model.config, cutoff)
    few = scored.iloc[:40].reset_index(drop=True)  # blocks of one row: listed or not, alone
    for part, size in ((scored, 500), (scored, 5000), (few, 1)):
        for reasons in ("listed", "all", "none"):
            whole = finish_part(model, part, model.config, cutoff, thresholds, reasons)
            whole.attrs["extra"] = 1
            summary, blocks = finish_blocks(
                model, part, model.config, cutoff, thresholds, reasons, attrs={"extra": 1},
                block_rows=size,
            )
            pieces = list(blocks)
            assert len(pieces) == -(-len(part) // size)
            for piece in pieces:
                assert piece.dtypes.equals(whole.dtypes), (size, reasons)
                assert piece.attrs == whole.attrs
            pd.testing.assert_frame_equal(pd.concat(pieces), whole)
            expected = ScoringResult.of_part(whole, cutoff)
            assert (summary.customers, summary.explained, summary.segments) == (
                expected.customers, expected.explained, expected.segments
            )
