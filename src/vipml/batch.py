"""Batch scoring in customer chunks: bounded memory, one atomic output, same rows as one pass.

Customers are split into ``chunks`` contiguous ranges of ``customer_id`` with about the same
number of customers each (:func:`chunk_bounds`). A first pass over the log collects the ids and
the totals that depend on the whole customer base (the most profitable product lines); then each
chunk's transactions are read (from a folder of Parquet files only the row groups that can hold
its ids are read, so the whole log is never in memory at once), scored with
:func:`vipml.pipeline.score` and kept in a temporary file. The segment thresholds (VIP
threshold, tier bounds, dormant CLV bar) come from every customer's value and CLV; each chunk is
then segmented, its listed customers explained (``scoring.reasons``), and appended to the output.
Chunks are id ranges, so the output is ordered by ``customer_id`` without a global sort, and its
rows equal scoring everything at once. The output is written to a temporary file and renamed
into place; rerunning after an interruption gives the identical file.

Examples
--------
>>> import pandas as pd
>>> ids = pd.Series([5, 1, 4, 2, 3, 6])
>>> bounds = chunk_bounds(ids, 3)
>>> bounds.tolist(), chunk_of(ids, bounds).tolist()
([3, 5], [2, 0, 1, 0, 1, 2])
>>> chunk_of(ids, chunk_bounds(ids, 1)).tolist()
[0, 0, 0, 0, 0, 0]
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.data.io import BUNDLED_DATASETS, read_transactions
from vipml.data.schema import check_transactions
from vipml.errors import ConfigError, SchemaError

__all__ = ["BatchResult", "REASONS", "chunk_bounds", "chunk_of", "explain_rows", "score_to_file"]

Progress = Callable[[str, int, int], None]

_VALUE_COLUMNS = ["customer_id", "spend_12m", "profit_12m", "clv", "clv_profit"]
_BATCH_ROWS = 1_000_000


def chunk_bounds(customer_ids: pd.Series | np.ndarray, chunks: int) -> np.ndarray:
    """Upper id bounds splitting the distinct ids into ``chunks`` ranges of about equal size.

    ``chunks - 1`` sorted ids (fewer when there are fewer distinct ids); chunk ``k`` holds the
    ids ``bounds[k-1] <= id < bounds[k]``.
    """
    if chunks <= 1:
        return np.asarray(customer_ids)[:0]
    unique = np.unique(np.asarray(customer_ids))
    if len(unique) < 2:
        return unique[:0]
    cuts = (np.arange(1, chunks) * len(unique)) // chunks
    return np.unique(unique[cuts[cuts > 0]])


def chunk_of(customer_id: pd.Series | np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The chunk (0 .. len(bounds)) of each customer id, from :func:`chunk_bounds`."""
    ids = np.asarray(customer_id)
    if len(bounds) == 0:
        return np.zeros(len(ids), dtype=np.int64)
    return np.searchsorted(bounds, ids, side="right").astype(np.int64)


def _parquet_source(source: str | Path | pd.DataFrame) -> Path | None:
    """The path when ``source`` is a Parquet file or a folder of them (read by row groups)."""
    if isinstance(source, pd.DataFrame) or (
        isinstance(source, str) and source in BUNDLED_DATASETS
    ):
        return None
    path = Path(source)
    return path if path.is_dir() or path.suffix.lower() in (".parquet", ".pq") else None


def _id_column(config: Config) -> str:
    columns = config.columns.transactions
    return next((k for k, v in columns.items() if v == "customer_id"), "customer_id")


def _iter_batches(path: Path, config: Config, bounds: tuple[Any, Any] | None = None):
    """Validated transaction batches of a Parquet source, optionally of one id range."""
    import pyarrow.dataset as ds

    id_column = _id_column(config)
    dataset = ds.dataset(path, format="parquet")
    if id_column not in dataset.schema.names:
        raise SchemaError([f"{path.name}: no '{id_column}' column"], table="transactions")
    where = None
    if bounds is not None:
        low, high = bounds
        if low is not None:
            where = ds.field(id_column) >= low
        if high is not None:
            upper = ds.field(id_column) < high
            where = upper if where is None else where & upper
    for batch in dataset.to_batches(filter=where, batch_size=_BATCH_ROWS):
        if batch.num_rows:
            yield batch.to_pandas()


def _validated(raw: pd.DataFrame, config: Config) -> pd.DataFrame:
    # Per-chunk duplicate warnings would repeat once per pass; `vipml validate` reports them.
    return check_transactions(raw, config.columns.transactions).raise_if_problems(warn=False)


@dataclass
class _Plan:
    """What the first pass learns: the chunks' id bounds and the profitable product lines."""

    bounds: np.ndarray
    lines: list[str] | None
    whole: pd.DataFrame | None = None  # the validated log, when it is read whole anyway


def _plan(
    source: str | Path | pd.DataFrame, chunks: int, cutoff: pd.Timestamp, config: Config
) -> _Plan:
    from vipml.features import line_totals, rank_lines

    path = _parquet_source(source)
    if chunks <= 1 or path is None:
        tx = read_transactions(source, config.columns.transactions)
        bounds = chunk_bounds(tx["customer_id"], chunks)
        lines = None
        if chunks > 1 and "category" in tx:
            lines = rank_lines(line_totals(tx, cutoff, config), config.features.top_lines_share)
        return _Plan(bounds, lines, tx)
    ids, totals = [], []
    for raw in _iter_batches(path, config):
        tx = _validated(raw, config)
        ids.append(np.unique(tx["customer_id"].to_numpy()))
        if "category" in tx:  # line totals are sums over rows: additive over batches
            totals.append(line_totals(tx, cutoff, config))
    if not ids:
        raise SchemaError([f"{path.name}: no transaction rows"], table="transactions")
    lines = None
    if totals:
        combined = pd.concat(totals).groupby(level=0).sum()
        lines = rank_lines(combined, config.features.top_lines_share)
    return _Plan(chunk_bounds(np.concatenate(ids), chunks), lines)


def _chunks(
    source: str | Path | pd.DataFrame, plan: _Plan, config: Config
) -> Iterator[tuple[int, pd.DataFrame]]:
    """Yield ``(chunk, transactions of its customers)`` for every chunk, in id order."""
    n = len(plan.bounds) + 1
    if plan.whole is not None:
        which = chunk_of(plan.whole["customer_id"], plan.bounds)
        for chunk in range(n):
            yield chunk, plan.whole[which == chunk].reset_index(drop=True)
        return
    path = _parquet_source(source)
    assert path is not None
    edges = [None, *plan.bounds.tolist(), None]
    for chunk in range(n):
        parts = [
            _validated(raw, config)
            for raw in _iter_batches(path, config, (edges[chunk], edges[chunk + 1]))
        ]
        tx = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        yield chunk, tx


def _subset(table: pd.DataFrame | None, chunk: int, bounds: np.ndarray) -> pd.DataFrame | None:
    if table is None or len(bounds) == 0:
        return table
    return table[chunk_of(table["customer_id"], bounds) == chunk].reset_index(drop=True)


def _read(part: Path | pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    if isinstance(part, pd.DataFrame):
        return part if columns is None else part[columns]
    return pd.read_parquet(part, columns=columns)


@dataclass
class BatchResult:
    """What :func:`score_to_file` wrote: where, for when, and a summary of the scores."""

    out: Path
    cutoff: pd.Timestamp
    customers: int
    chunks: int
    mean_p_future_vip: float
    mean_p_churn: float
    segments: dict[str, int] = field(default_factory=dict)
    explained: int = 0


REASONS = ("listed", "all", "none")


def explain_rows(table: pd.DataFrame, reasons: str) -> np.ndarray:
    """The rows of a segmented table whose reasons ``reasons`` asks for."""
    if reasons == "all":
        return np.ones(len(table), dtype=bool)
    if reasons == "none":
        return np.zeros(len(table), dtype=bool)
    return (table["segment"] != "regular").to_numpy()


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
    reasons: str | None = None,
    progress: Progress | None = None,
) -> BatchResult:
    """Score, segment and explain every customer chunk by chunk; write one table atomically.

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
        ``.parquet`` or ``.csv`` file to write, ordered by ``customer_id``.
    chunks
        Number of customer chunks scored one after another (1 = all at once).
    reasons
        Whose reasons are written: ``'listed'`` (every segment but ``regular``: the customers
        marketers see), ``'all'`` or ``'none'``; default ``config.scoring.reasons``.

    Returns
    -------
    BatchResult
        The output path, the cutoff, the number of customers and a summary.
    """
    from vipml.data.io import table_writer
    from vipml.pipeline import explain, score
    from vipml.segments import assign_segments, segment_thresholds

    config = config or model.config
    reasons = reasons or config.scoring.reasons
    if reasons not in REASONS:
        raise ConfigError(f"reasons={reasons!r}: use one of {', '.join(REASONS)}")
    cutoff = pd.Timestamp(cutoff)
    plan = _plan(source, chunks, cutoff, config)
    n = len(plan.bounds) + 1
    steps = 2 * n
    workdir = Path(tempfile.mkdtemp(prefix="vipml-score-"))
    try:
        parts: list[Path | pd.DataFrame] = []
        for chunk, tx in _chunks(source, plan, config):
            if tx.empty:
                continue
            scored = score(
                model, tx, cutoff, events=_subset(events, chunk, plan.bounds),
                customers=_subset(customers, chunk, plan.bounds),
                profitable_lines=plan.lines, explain=False,
            )
            if n == 1:  # one chunk: no need for a temporary file
                parts.append(scored)
            else:
                part = workdir / f"part-{chunk:05d}.parquet"
                scored.to_parquet(part, index=False)
                parts.append(part)
            if progress:
                progress("scoring", chunk + 1, steps)
        plan.whole = None
        population = pd.concat([_read(p, _VALUE_COLUMNS) for p in parts], ignore_index=True)
        thresholds = segment_thresholds(population, config, as_of=cutoff)
        summary = BatchResult(
            out=Path(out), cutoff=cutoff, customers=len(population), chunks=n,
            mean_p_future_vip=0.0, mean_p_churn=0.0,
        )
        del population
        totals = {"p_future_vip": 0.0, "p_churn": 0.0}
        counts: dict[str, int] = {}
        with table_writer(out) as write:
            for i, part in enumerate(parts):
                table = assign_segments(
                    _read(part), config, as_of=cutoff, thresholds=thresholds, order="input"
                )
                rows = explain_rows(table, reasons)
                if rows.any():
                    table = explain(model, table, rows)
                summary.explained += int(rows.sum())
                table.attrs["cutoff"] = f"{cutoff:%Y-%m-%d}"
                write(table)
                for col in totals:
                    totals[col] += float(table[col].sum())
                for name, count in table["segment"].value_counts().items():
                    counts[str(name)] = counts.get(str(name), 0) + int(count)
                if progress:
                    progress("segments and reasons", n + i + 1, steps)
        summary.mean_p_future_vip = totals["p_future_vip"] / max(summary.customers, 1)
        summary.mean_p_churn = totals["p_churn"] / max(summary.customers, 1)
        summary.segments = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
        return summary
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
