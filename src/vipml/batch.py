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

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.parquet as pq
from joblib.externals.loky import BrokenProcessPool, ProcessPoolExecutor, process_executor

from vipml.config import Config, config_to_dict
from vipml.data.io import parquet_source, read_transactions, table_writer
from vipml.data.schema import align_ids, check_transactions
from vipml.errors import SchemaError, VipmlError
from vipml.features import line_totals, rank_lines
from vipml.model_inputs import GivenInputs
from vipml.pipeline.scoring import (
    POPULATION_COLUMNS,
    REASONS,
    ScoringResult,
    check_model_inputs,
    check_reasons,
    explain_rows,
    finish_blocks,
    finish_part,
    population_thresholds,
    score_part,
)
from vipml.tempfiles import scratch
from vipml.units import cpu_count

__all__ = [
    "SCORES_CONFIG",
    "BatchResult",
    "REASONS",
    "chunk_bounds",
    "chunk_of",
    "default_workers",
    "explain_rows",
    "score_to_file",
]

Progress = Callable[[str, int, int], None]

_VALUE_COLUMNS = ["customer_id", "spend_12m", "profit_12m", "clv", "clv_profit", "p_future_vip"]
_BATCH_ROWS = 1_000_000

#: ``attrs`` key of a scores table holding the config it was scored with (``vipml lists``
#: reads its column mapping, input policies and VIP rules from it).
SCORES_CONFIG = "vipml_config"


def chunk_bounds(customer_ids: pd.Series | np.ndarray, chunks: int) -> np.ndarray:
    """Upper id bounds splitting the distinct ids into ``chunks`` ranges of about equal size.

    ``chunks - 1`` sorted ids (fewer when there are fewer distinct ids); chunk ``k`` holds the
    ids ``bounds[k-1] <= id < bounds[k]``.

    Parameters
    ----------
    customer_ids
        The customers' ids (repeats allowed).
    chunks
        The number of chunks wanted.

    Returns
    -------
    numpy.ndarray
        The sorted upper bounds.

    Examples
    --------
    >>> chunk_bounds(pd.Series([5, 1, 3, 3, 2, 4]), 2).tolist()
    [3]
    """
    if chunks <= 1:
        return np.asarray(customer_ids)[:0]
    unique = np.unique(np.asarray(customer_ids))
    if len(unique) < 2:
        return unique[:0]
    cuts = (np.arange(1, chunks) * len(unique)) // chunks
    return np.unique(unique[cuts[cuts > 0]])


def chunk_of(customer_id: pd.Series | np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The chunk (0 .. len(bounds)) of each customer id, from :func:`chunk_bounds`.

    Parameters
    ----------
    customer_id
        The ids.
    bounds
        The bounds of :func:`chunk_bounds`.

    Returns
    -------
    numpy.ndarray
        One chunk number per id.

    Examples
    --------
    >>> chunk_of(np.array([1, 3, 5]), np.array([3])).tolist()
    [0, 1, 1]
    """
    ids = np.asarray(customer_id)
    if len(bounds) == 0:
        return np.zeros(len(ids), dtype=np.int64)
    return np.searchsorted(bounds, ids, side="right").astype(np.int64)


def _id_column(config: Config) -> str:
    columns = config.columns.transactions
    return next((k for k, v in columns.items() if v == "customer_id"), "customer_id")


def _iter_batches(path: Path, config: Config, bounds: tuple[Any, Any] | None = None):
    """Validated transaction batches of a Parquet source, optionally of one id range."""

    dataset = ds.dataset(path, format="parquet")
    id_column = _check_id_column(dataset, path, config)
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
    # Duplicate warnings would repeat once per pass and chunk: `vipml validate` reports them.
    # A batch may hold only rows a policy drops (guest orders): that is no error here.
    return check_transactions(
        raw, config.columns.transactions, duplicates=False, policy=config.input,
        allow_empty=True,
    ).raise_if_problems(warn=False)


@dataclass
class _Plan:
    """What the first pass learns: the chunks' id bounds and the profitable product lines."""

    bounds: np.ndarray
    lines: list[str] | None
    columns: set[str]  # the validated log's columns (to check the model's inputs)
    whole: pd.DataFrame | None = None  # the validated log, when it is read whole anyway


@dataclass
class _Run:
    """What every chunk's work needs; sent once to each worker process."""

    model: Any  # a vipml.bundle.VipModel
    config: Config
    cutoff: pd.Timestamp
    reasons: str
    workdir: Path
    path: Path | None = None  # a Parquet source, read by id range
    in_worker: bool = False


@dataclass
class _Job:
    """One chunk: its rows (or its id range in ``_Run.path``) and its events and customers."""

    chunk: int
    transactions: pd.DataFrame | None = None
    ids: tuple[Any, Any] | None = None
    events: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    lines: list[str] | None = None  # the most profitable product lines (whole population)
    keep: bool = False  # keep the scored table in memory (the only chunk)


def _survey(
    run: _Run, piece: tuple[str, list[int]]
) -> tuple[np.ndarray, pd.Series | None, set[str]]:
    """First pass over some row groups of one Parquet file: distinct ids, line totals and the
    validated columns."""


    file, groups = piece
    ids: list[np.ndarray] = []
    totals: list[pd.DataFrame] = []
    columns: set[str] = set()
    for batch in pq.ParquetFile(file).iter_batches(_BATCH_ROWS, row_groups=groups):
        tx = _validated(batch.to_pandas(), run.config)
        columns.update(map(str, tx.columns))
        ids.append(np.unique(tx["customer_id"].to_numpy()))
        if "category" in tx:  # line totals are sums over rows: additive over batches
            totals.append(line_totals(tx, run.cutoff, run.config))
    return (
        np.unique(np.concatenate(ids)) if ids else np.array([]),
        pd.concat(totals).groupby(level=0).sum() if totals else None,
        columns,
    )


def _pieces(path: Path, parts: int) -> list[tuple[str, list[int]]]:
    """The row groups of a Parquet source in about ``parts`` pieces per file (for workers)."""

    files = sorted(str(f) for f in path.rglob("*.parquet")) if path.is_dir() else [str(path)]
    pieces = []
    for file in files:
        groups = list(range(pq.ParquetFile(file).num_row_groups))
        step = max(1, -(-len(groups) // max(parts, 1)))
        pieces += [(file, groups[i : i + step]) for i in range(0, len(groups), step)]
    return pieces


def _plan(
    source: str | Path | pd.DataFrame, chunks: int, run: _Run, pool: _Pool
) -> _Plan:

    config = run.config
    path = parquet_source(source)
    if chunks <= 1 or path is None:
        tx = read_transactions(source, config.columns.transactions, config.input)
        bounds = chunk_bounds(tx["customer_id"], chunks)
        lines = None
        if chunks > 1 and "category" in tx:
            lines = rank_lines(
                line_totals(tx, run.cutoff, config), config.features.top_lines_share
            )
        return _Plan(bounds, lines, set(map(str, tx.columns)), tx)

    _check_id_column(ds.dataset(path, format="parquet"), path, config)
    ids, totals, columns = [], [], set()
    for found, total, names in pool.map(_survey, _pieces(path, pool.workers)):
        ids.append(found)
        columns |= names
        if total is not None:
            totals.append(total)
    if not any(len(i) for i in ids):
        raise SchemaError([f"{path.name}: no transaction rows"], table="transactions")
    lines = None
    if totals:
        combined = pd.concat(totals).groupby(level=0).sum()
        lines = rank_lines(combined, config.features.top_lines_share)
    return _Plan(chunk_bounds(np.concatenate(ids), chunks), lines, columns)


def _check_id_column(dataset: Any, path: Path, config: Config) -> str:
    """The (raw) customer id column of a Parquet dataset; a clear error when it is absent."""
    id_column = _id_column(config)
    if id_column not in dataset.schema.names:
        raise SchemaError(
            [f"{path.name}: no '{id_column}' column (columns: {', '.join(dataset.schema.names)})"
             ": name the customer id column in the config's columns.transactions"],
            table="transactions",
        )
    return id_column


def _jobs(
    plan: _Plan,
    events: pd.DataFrame | None,
    customers: pd.DataFrame | None,
) -> Iterator[_Job]:
    """One job per chunk, in id order: its rows when the log is at hand, else its id range."""
    n = len(plan.bounds) + 1
    which = None if plan.whole is None else chunk_of(plan.whole["customer_id"], plan.bounds)
    edges = [None, *plan.bounds.tolist(), None]
    for chunk in range(n):
        job = _Job(
            chunk,
            lines=plan.lines,
            events=_subset(events, chunk, plan.bounds),
            customers=_subset(customers, chunk, plan.bounds),
        )
        if plan.whole is None:
            job.ids = (edges[chunk], edges[chunk + 1])
        elif n == 1:
            job.transactions, job.keep = plan.whole, True
        else:
            job.transactions = plan.whole[which == chunk].reset_index(drop=True)
        yield job


def _chunk_rows(run: _Run, job: _Job) -> pd.DataFrame:
    if job.transactions is not None:
        return job.transactions
    assert run.path is not None
    batches = _iter_batches(run.path, run.config, job.ids)
    if run.config.input.duplicate_rows == "drop":  # a row and its repeat may be in two batches
        raw = list(batches)
        return _validated(pd.concat(raw, ignore_index=True), run.config) if raw else pd.DataFrame()
    parts = [_validated(raw, run.config) for raw in batches]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _score_chunk(run: _Run, job: _Job) -> tuple[Path | pd.DataFrame, pd.DataFrame] | None:
    """Step 1 of the scoring service for one chunk (:func:`~vipml.pipeline.scoring.score_part`);
    keep its table (a temporary file when there are several chunks) and return it with its
    population columns (for the thresholds)."""
    tx = _chunk_rows(run, job)
    if tx.empty:
        return None
    scored = score_part(
        run.model, tx, run.cutoff, job.events, job.customers, profitable_lines=job.lines
    )
    values = scored[list(POPULATION_COLUMNS)]
    if job.keep and not run.in_worker:  # one chunk: no need for a temporary file
        return scored, values
    part = run.workdir / f"scored-{job.chunk:05d}.arrow"
    scored.to_feather(part, compression="uncompressed")
    return part, values


def _finish_chunk(
    run: _Run, part: Path | pd.DataFrame, thresholds: dict[str, Any]
) -> tuple[Path | Iterator[pd.DataFrame], ScoringResult]:
    """Step 3 of the scoring service for one chunk (:func:`~vipml.pipeline.scoring.finish_part`);
    return the table (a file, in a worker; else its blocks, made as they are taken) and its
    summary (complete once the blocks are taken)."""
    scored = part if isinstance(part, pd.DataFrame) else pd.read_feather(part)
    if not run.in_worker:  # here: explained block by block, each written while the next is made
        summary, blocks = finish_blocks(
            run.model, scored, run.config, run.cutoff, thresholds, run.reasons,
            attrs={SCORES_CONFIG: config_to_dict(run.config)},
        )
        return blocks, summary
    table = finish_part(run.model, scored, run.config, run.cutoff, thresholds, run.reasons)
    del scored
    table.attrs[SCORES_CONFIG] = config_to_dict(run.config)
    summary = ScoringResult.of_part(table, run.cutoff)
    out = run.workdir / f"done-{os.getpid()}-{id(table)}.arrow"
    feather.write_feather(
        pa.Table.from_pandas(table, preserve_index=False), out, compression="uncompressed"
    )
    return out, summary


# ------------------------------------------------------------------ running chunks in workers

_WORKER: dict[str, _Run] = {}


def watch_parent(parent: int, interval: float = 0.5) -> None:
    """End this (worker) process as soon as its parent dies, so that no worker outlives a
    killed run: on Linux the kernel sends SIGKILL when the parent exits (``PR_SET_PDEATHSIG``);
    everywhere a daemon thread checks every ``interval`` seconds that the parent is still
    ``parent`` (the process id of the run that started this one).

    Parameters
    ----------
    parent
        The process id of the parent.
    interval
        Seconds between two checks.

    Examples
    --------
    >>> import multiprocessing
    >>> fork = multiprocessing.get_context("fork")
    >>> child = fork.Process(target=watch_parent, args=(os.getpid(),))  # the right parent
    >>> child.start(); child.join(); child.exitcode
    0
    >>> orphan = fork.Process(target=watch_parent, args=(1,))  # its parent is not process 1
    >>> orphan.start(); orphan.join(); orphan.exitcode
    1
    """

    if sys.platform.startswith("linux"):

        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="vipml-watch-parent", daemon=True).start()


def _start_worker(run: _Run, threads: int, parent: int) -> None:

    watch_parent(parent)
    # a chunk's warnings (e.g. "clv_profit: 492 of 5,000 customers ...") speak of one chunk
    # and would repeat per chunk in raw Python format: one pass over everyone reports them
    warnings.simplefilter("ignore")

    # loky restarts a worker whose memory grew by 300 MB since its first task, taking it
    # for a leak; a worker holds a chunk of gigabytes by design, and a restart costs seconds
    process_executor._USE_PSUTIL = False
    run.in_worker = True
    for classifier in run.model.classifiers.values():
        classifier.num_threads = threads  # the machine's cores are shared between the workers
    _WORKER["run"] = run


def _in_worker(step: Callable[..., Any], *args: Any) -> Any:
    return step(_WORKER["run"], *args)


class _Done:
    """A finished result, with the interface of a future (work done in this process)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


class _Pool:
    """Runs chunk steps here (``workers`` 1) or in worker processes, results in order."""

    def __init__(self, run: _Run, workers: int) -> None:
        self.run, self.workers, self.executor = run, max(1, workers), None
        if self.workers > 1:
            self.executor = _start_executor(run, self.workers)

    def submit(self, step: Callable[..., Any], *args: Any) -> Any:
        if self.executor is None:
            return _Done(step(self.run, *args))
        return self.executor.submit(_in_worker, step, *args)

    def map(self, step: Callable[..., Any], jobs: Any, *extra: Any) -> Iterator[Any]:
        """``step(run, job, *extra)`` for every job, in order; at most a few jobs in flight
        (their inputs are held until they run)."""
        pending: deque[Any] = deque()
        for job in jobs:
            pending.append(self.submit(step, job, *extra))
            if len(pending) > self.workers:
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())

    def close(self, kill: bool = False) -> None:
        """Stop the workers: after their work, or at once (``kill``: after an error)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True, kill_workers=kill)
            self.executor = None


def _result(future: Any) -> Any:

    try:
        return future.result()
    except BrokenProcessPool as error:
        raise VipmlError(
            "a scoring worker process stopped unexpectedly (out of memory?): score with fewer "
            "workers (--workers) or more, smaller chunks (--chunks)"
        ) from error


def _start_executor(run: _Run, workers: int) -> Any:
    """A pool of ``workers`` fresh processes, each holding ``run``, the cores split between
    them. loky (joblib's executor) starts clean interpreters (safe with OpenMP, unlike
    fork) without importing the caller's ``__main__`` (no ``if __name__ == "__main__"``
    guard needed in scripts), and sets the thread limits before numpy or LightGBM load."""

    threads = max(1, cpu_count() // workers)
    limits = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    executor = ProcessPoolExecutor(
        workers,
        initializer=_start_worker,
        initargs=(run, threads, os.getpid()),
        env={name: str(threads) for name in limits},
    )
    for _ in range(workers):  # start every worker now: they load while the log is read
        executor.submit(cpu_count)
    return executor


def default_workers(chunks: int, workers: int = 0) -> int:
    """Worker processes for ``chunks`` chunks: ``workers`` if given, else one per core (at
    most one per chunk); 1 means in this process.

    Parameters
    ----------
    chunks
        The number of chunks.
    workers
        The workers asked for; 0 for one per core.

    Returns
    -------
    int
        The number of worker processes.

    Examples
    --------
    >>> default_workers(1), default_workers(10, 3), default_workers(2, 1)
    (1, 3, 1)
    """
    if workers > 0:
        return min(workers, max(chunks, 1))
    return max(1, min(cpu_count(), chunks))


def _subset(table: pd.DataFrame | None, chunk: int, bounds: np.ndarray) -> pd.DataFrame | None:
    if table is None or len(bounds) == 0:
        return table
    return table[chunk_of(table["customer_id"], bounds) == chunk].reset_index(drop=True)


#: What :func:`score_to_file` returns: the scoring service's one result type.
BatchResult = ScoringResult


def score_to_file(
    model,  # noqa: ANN001  (a vipml.bundle.VipModel)
    source: str | Path | pd.DataFrame,
    cutoff: str | pd.Timestamp,
    out: str | Path,
    *,
    chunks: int = 1,
    workers: int | None = None,
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    config: Config | None = None,
    reasons: str | None = None,
    allow_missing: Sequence[str] | None = None,
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
        Number of customer chunks (1 = all at once).
    workers
        Processes scoring chunks side by side (each holds one chunk; the cores are split
        between them). Default ``config.scoring.workers``; 0 means one per core, at most one
        per chunk. The output does not depend on it.
    reasons
        Whose reasons are written: ``'listed'`` (every segment but ``regular``: the customers
        marketers see), ``'all'`` or ``'none'``; default ``config.scoring.reasons``.
    allow_missing
        Inputs the model was trained with that may be missing (default
        ``config.scoring.allow_missing``): checked once for the whole data before any chunk
        is scored (:mod:`vipml.model_inputs`).

    Returns
    -------
    BatchResult
        The output path, the cutoff, the number of customers and a summary.

    Examples
    --------
    Scoring needs a trained model (see ``tests/test_batch.py``); the settings are checked first:

    >>> score_to_file(None, "cdnow-sample", "1997-12-31", "scores.parquet", config=Config(),
    ...     reasons="some")
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: reasons='some': use one of listed, all, none
    """
    config = config or model.config
    reasons = check_reasons(reasons or config.scoring.reasons)
    n_workers = default_workers(
        chunks, config.scoring.workers if workers is None else workers
    )
    with scratch("score") as workdir:
        run = _Run(
            model, config, pd.Timestamp(cutoff), reasons, workdir, path=parquet_source(source)
        )
        pool = _Pool(run, n_workers)
        finished = False
        try:
            plan = _plan(source, chunks, run, pool)
            ids = plan.whole["customer_id"] if plan.whole is not None else pd.Series(plan.bounds)
            if len(ids):  # customers and events join the transactions' ids (text or integers)
                events, customers = align_ids(events, ids), align_ids(customers, ids)
            allowed = config.scoring.allow_missing if allow_missing is None else allow_missing
            given = GivenInputs.of(plan.columns, events, customers)
            check_model_inputs(model, given, allowed, stacklevel=4)
            n = len(plan.bounds) + 1
            steps = 2 * n
            parts, values = [], []
            for i, done in enumerate(pool.map(_score_chunk, _jobs(plan, events, customers))):
                if done is not None:
                    parts.append(done[0])
                    values.append(done[1])
                if progress:
                    progress("scoring", i + 1, steps)
            plan.whole = None
            if not values:
                raise VipmlError(
                    f"no transaction on or before the cutoff {run.cutoff:%Y-%m-%d}: nothing to "
                    "score"
                )
            population = pd.concat(values, ignore_index=True)
            del values
            thresholds = population_thresholds(population, config, run.cutoff)
            del population
            summary = ScoringResult(
                cutoff=run.cutoff, out=Path(out), parts=n, workers=n_workers
            )
            with table_writer(out) as write:
                for i, (table, part) in enumerate(pool.map(_finish_chunk, parts, thresholds)):
                    _write(write, table)
                    summary = summary.plus(part)
                    if progress:
                        progress("segments and reasons", n + i + 1, steps)
            finished = True
            return summary
        finally:
            pool.close(kill=not finished)


def _write(write: Callable[[Any], None], table: Path | Iterator[pd.DataFrame]) -> None:
    """Write a finished chunk: the Arrow table a worker wrote (memory-mapped), or its blocks,
    each in a thread while the next is made (Arrow encodes and compresses without the GIL)."""
    if isinstance(table, Path):
        write(feather.read_table(table, memory_map=True))
        return
    with ThreadPoolExecutor(1, thread_name_prefix="vipml-write") as writer:
        pending = None
        for block in table:
            if pending is not None:
                pending.result()
            pending = writer.submit(write, block)
        if pending is not None:
            pending.result()
