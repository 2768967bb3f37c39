"""Batch scoring in customer chunks: bounded memory, one atomic output, same rows as one pass.

Customers are split into ``chunks`` by a stable hash of ``customer_id``; each chunk's
transactions are read (a folder of Parquet files is scanned batch by batch, so the whole log is
never in memory at once), scored with :func:`vipml.pipeline.score` and segmented with
:func:`vipml.segments.assign_segments`. The statistics that depend on the whole customer base
are computed once over all chunks first (the most profitable product lines) or from the
per-customer scores (the VIP threshold, tier bounds, the dormant CLV bar), so the result equals
scoring everything at once, row for row. The output is written to a temporary file and renamed
into place; rerunning after an interruption gives the identical file.

Examples
--------
>>> import pandas as pd
>>> ids = pd.Series([1, 2, 3, 4, 5, 6])
>>> chunk_of(ids, 3).tolist() == chunk_of(ids, 3).tolist()  # stable across runs
True
>>> chunk_of(ids, 1).tolist()
[0, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.data.io import BUNDLED_DATASETS, read_transactions
from vipml.data.schema import check_transactions
from vipml.errors import SchemaError

__all__ = ["chunk_of", "iter_chunks", "score_to_file"]

Progress = Callable[[str, int, int], None]


def chunk_of(customer_id: pd.Series, chunks: int) -> np.ndarray:
    """The chunk (0 .. chunks-1) of each customer: a stable hash of its id, modulo ``chunks``."""
    if chunks <= 1:
        return np.zeros(len(customer_id), dtype=np.int64)
    hashed = pd.util.hash_pandas_object(customer_id, index=False).to_numpy()
    return (hashed % np.uint64(chunks)).astype(np.int64)


def _parquet_files(source: Path) -> list[Path]:
    return sorted(source.rglob("*.parquet")) if source.is_dir() else [source]


def _read_chunk(
    source: str | Path | pd.DataFrame, chunk: int, chunks: int, config: Config
) -> pd.DataFrame:
    """The validated transactions of one chunk's customers."""
    columns = config.columns.transactions
    if isinstance(source, pd.DataFrame) or (
        isinstance(source, str) and source in BUNDLED_DATASETS
    ):
        tx = read_transactions(source, columns)
        return tx[chunk_of(tx["customer_id"], chunks) == chunk].reset_index(drop=True)
    path = Path(source)
    if path.suffix.lower() not in (".parquet", ".pq") and not path.is_dir():
        tx = read_transactions(path, columns)  # CSV: read whole, then split
        return tx[chunk_of(tx["customer_id"], chunks) == chunk].reset_index(drop=True)
    import pyarrow.parquet as pq

    id_column = next((k for k, v in columns.items() if v == "customer_id"), "customer_id")
    parts = []
    for file in _parquet_files(path):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=1_000_000):
            frame = batch.to_pandas()
            if id_column not in frame:
                raise SchemaError([f"{file.name}: no '{id_column}' column"], table="transactions")
            parts.append(frame[chunk_of(frame[id_column], chunks) == chunk])
    raw = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    # Per-chunk duplicate warnings would repeat once per pass; `vipml validate` reports them.
    return check_transactions(raw, columns).raise_if_problems(warn=False)


def iter_chunks(
    source: str | Path | pd.DataFrame, chunks: int, config: Config
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield ``(chunk, transactions of its customers)`` for every chunk in order."""
    if chunks <= 1:
        frame = source if isinstance(source, pd.DataFrame) else None
        tx = read_transactions(frame if frame is not None else source, config.columns.transactions)
        yield 0, tx
        return
    for chunk in range(chunks):
        yield chunk, _read_chunk(source, chunk, chunks, config)


def _subset(table: pd.DataFrame | None, chunk: int, chunks: int) -> pd.DataFrame | None:
    if table is None or chunks <= 1:
        return table
    return table[chunk_of(table["customer_id"], chunks) == chunk].reset_index(drop=True)


def score_to_file(
    model,  # noqa: ANN001  (a vipml.bundle.VipModel)
    source: str | Path | pd.DataFrame,
    cutoff: str | pd.Timestamp,
    out: str | Path,
    *,
    chunks: int = 1,
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Score and segment every customer chunk by chunk; write one table atomically.

    Parameters
    ----------
    model
        A trained :class:`vipml.bundle.VipModel`.
    source
        Transactions: a DataFrame, a CSV or Parquet file, a folder of Parquet files, or a
        bundled dataset name.
    cutoff
        Scoring date (inclusive).
    out
        ``.parquet`` or ``.csv`` file to write.
    chunks
        Number of customer chunks scored one after another (1 = all at once).

    Returns
    -------
    The segmented scores (one row per customer), ordered by ``customer_id``.
    """
    from vipml.data.io import write_table
    from vipml.features import line_totals, rank_lines
    from vipml.pipeline import score
    from vipml.segments import assign_segments, segment_thresholds

    config = config or model.config
    cutoff = pd.Timestamp(cutoff)
    steps = 2 * chunks
    lines: list[str] | None = None
    if chunks > 1:  # pass 1: the product lines ranked over every customer
        totals = []
        for chunk, tx in iter_chunks(source, chunks, config):
            totals.append(line_totals(tx, cutoff, config))
            if progress:
                progress("ranking product lines", chunk + 1, steps)
        combined = pd.concat(totals).groupby(level=0).sum()
        lines = rank_lines(combined, config.features.top_lines_share)
    workdir = Path(tempfile.mkdtemp(prefix="vipml-score-"))
    try:
        parts = []
        for chunk, tx in iter_chunks(source, chunks, config):
            scored = score(
                model, tx, cutoff, events=_subset(events, chunk, chunks),
                customers=_subset(customers, chunk, chunks), profitable_lines=lines,
            )
            part = workdir / f"part-{chunk:05d}.parquet"
            scored.to_parquet(part, index=False)
            parts.append(part)
            if progress:
                progress("scoring", chunks + chunk + 1, steps)
        value_columns = ["customer_id", "spend_12m", "profit_12m", "clv", "clv_profit"]
        population = pd.concat(
            [pd.read_parquet(p, columns=value_columns) for p in parts], ignore_index=True
        )
        thresholds = segment_thresholds(population, config, as_of=cutoff)
        segmented = [
            assign_segments(pd.read_parquet(p), config, as_of=cutoff, thresholds=thresholds)
            for p in parts
        ]
        table = pd.concat(segmented, ignore_index=True)
        table = table.sort_values("customer_id", kind="stable").reset_index(drop=True)
        table.attrs["cutoff"] = f"{cutoff:%Y-%m-%d}"
        write_table(table, out)
        return table
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

