"""What the commands run, as library functions: read the inputs, pick the date, run the engine.

The CLI parses its arguments, calls one of these and prints the result; a scheduled job or a
notebook calls the same function. :func:`score_files` is ``vipml score``: it resolves the model
(a bundle folder, a loaded model or an MLflow model URI), reads the inputs, chooses the scoring
date, and hands the work to an engine -- :func:`vipml.batch.score_to_file` (this machine, in
customer chunks) or :func:`vipml.spark.score_path` (PySpark). Both run the steps of the scoring
service (:mod:`vipml.pipeline.scoring`) and return its :class:`ScoringResult`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from vipml.config import config_from_dict
>>> from vipml.data.datasets import load_cdnow
>>> from vipml.pipeline import train
>>> model = train(load_cdnow(sample=True), "1997-12-31", "26W", config=config_from_dict(
...     {"lightgbm": {"n_estimators": 30, "num_threads": 1}}))
>>> with tempfile.TemporaryDirectory() as tmp:
...     done = score_files(model, "cdnow-sample", Path(tmp) / "scores.parquet")
>>> f"{done.cutoff:%Y-%m-%d}", done.customers, done.parts
('1998-06-30', 2357, 1)
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow.dataset as ds

from vipml.batch import Progress, score_to_file
from vipml.bundle import VipModel, is_model_uri, load_model
from vipml.config import ROWS_PER_CHUNK, Config
from vipml.data.datasets import load_cdnow
from vipml.data.dates import parse_timestamps
from vipml.data.io import (
    BUNDLED_DATASETS,
    parquet_source,
    raw_transactions,
    read_customers,
    read_events,
    read_table,
)
from vipml.data.schema import ValidationReport, check_transactions, is_validated
from vipml.errors import InvalidArgumentError, SchemaError
from vipml.pipeline.scoring import ScoringResult

__all__ = [
    "AfterTheDataWarning",
    "OnRead",
    "ScoringResult",
    "last_day",
    "read_inputs",
    "read_transactions_reported",
    "resolve_model",
    "score_files",
    "warn_if_after_the_data",
]

log = logging.getLogger(__name__)

#: Called with the validation report of the transactions just read (formats detected, rows
#: dropped), e.g. to print it.
OnRead = Callable[[ValidationReport], None]


class AfterTheDataWarning(UserWarning):
    """The scoring date lies after the last transaction: the days between read as days without
    purchases."""


def resolve_model(model: VipModel | str | os.PathLike[str]) -> tuple[VipModel, str | None]:
    """A loaded model from a model, a bundle folder or an MLflow model URI.

    Parameters
    ----------
    model
        A :class:`~vipml.bundle.VipModel`, a bundle folder, or a model URI
        (``models:/vipml@champion``, ``runs:/<id>/model``).

    Returns
    -------
    tuple
        The model, and the folder its bundle was downloaded to (for a URI; else None).

    Examples
    --------
    >>> resolve_model("no/such/folder")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    vipml.errors.ModelFormatError: no/such/folder is not a vipml model bundle ...
    """
    if isinstance(model, VipModel):
        return model, None
    downloaded = None
    if is_model_uri(model):
        from vipml.tracking import resolve_model_uri  # mlflow only when a URI is given (slow)

        downloaded = str(resolve_model_uri(str(model)))
        return load_model(downloaded), downloaded
    return load_model(os.fspath(model)), downloaded


def read_transactions_reported(
    source: str | os.PathLike[str] | pd.DataFrame, config: Config, on_read: OnRead | None = None
) -> pd.DataFrame:
    """Read and validate the transactions with the config's mapping and input policies.

    Parameters
    ----------
    source
        A file, a folder of Parquet files, a bundled dataset name, or a raw DataFrame.
    config
        Its ``columns.transactions`` mapping and ``input`` policies are applied.
    on_read
        Called with the :class:`~vipml.data.schema.ValidationReport` (what was read and how).

    Returns
    -------
    pandas.DataFrame
        The validated transactions.

    Examples
    --------
    >>> tx = read_transactions_reported("cdnow-sample", Config())
    >>> len(tx), tx["customer_id"].nunique()
    (6919, 2357)
    """
    raw = raw_transactions(source, config.columns.transactions, config.input)
    if is_validated(raw):  # a bundled data set, validated as it was loaded
        report = ValidationReport("transactions", raw)
    else:
        report = check_transactions(raw, config.columns.transactions, policy=config.input)
    tx = report.raise_if_problems()
    if on_read is not None:
        on_read(report)
    return tx


def read_inputs(
    transactions: str | os.PathLike[str] | pd.DataFrame,
    events: str | os.PathLike[str] | None,
    customers: str | os.PathLike[str] | None,
    config: Config,
    on_read: OnRead | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """The transactions and the optional events and customers tables, validated.

    Parameters
    ----------
    transactions, events, customers
        Files (or a bundled dataset name for the transactions); events and customers may be
        None.
    config
        Column mappings and input policies.
    on_read
        Called with the transactions' validation report.

    Returns
    -------
    tuple
        ``(transactions, events, customers)``.

    Examples
    --------
    >>> tx, ev, cu = read_inputs("cdnow-sample", None, None, Config())
    >>> len(tx), ev, cu
    (6919, None, None)
    """
    ev, cu = _side_tables(events, customers, config)
    return read_transactions_reported(transactions, config, on_read), ev, cu


def _side_tables(
    events: str | os.PathLike[str] | None,
    customers: str | os.PathLike[str] | None,
    config: Config,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The optional events and customers tables, validated (None stays None)."""
    ev = read_events(events, config.columns.events, config.input) if events is not None else None
    cu = (
        read_customers(customers, config.columns.customers, config.input)
        if customers is not None
        else None
    )
    return ev, cu


def last_day(source: str | os.PathLike[str] | pd.DataFrame, config: Config) -> pd.Timestamp:
    """The day of the last transaction, reading only the timestamp column of a file.

    Parameters
    ----------
    source
        Validated transactions, a file or folder, or a bundled dataset name.
    config
        The column mapping and the timestamp format (the same date rules as the whole log).

    Returns
    -------
    pandas.Timestamp
        Midnight of the last day.

    Examples
    --------
    >>> last_day("cdnow-sample", Config())
    Timestamp('1998-06-30 00:00:00')
    """
    if isinstance(source, pd.DataFrame):
        return pd.Timestamp(source["timestamp"].max()).normalize()
    if str(source) in BUNDLED_DATASETS:
        stamps = load_cdnow(sample=str(source) == "cdnow-sample")["timestamp"]
        return pd.Timestamp(stamps.max()).normalize()
    name = next(
        (k for k, v in config.columns.transactions.items() if v == "timestamp"), "timestamp"
    )
    raw = read_table(os.fspath(source), columns=[name], policy=config.input)
    problems: list[str] = []
    parsed, _ = parse_timestamps(
        raw[name], "timestamp", problems, fmt=config.input.timestamp_format, required=False
    )
    if problems:
        raise SchemaError(problems)
    return pd.Timestamp(pd.Series(parsed).max()).normalize()


def warn_if_after_the_data(when: pd.Timestamp, last: pd.Timestamp) -> None:
    """Warn (:class:`AfterTheDataWarning`) when the scoring date lies after the last transaction.

    Parameters
    ----------
    when
        The scoring date.
    last
        The day of the last transaction.

    Examples
    --------
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_if_after_the_data(pd.Timestamp("2024-01-10"), pd.Timestamp("2024-01-01"))
    >>> str(caught[0].message)[:48]
    'scoring at 2024-01-10, 9 days after the last tra'
    """
    if when > last:
        warnings.warn(
            f"scoring at {when:%Y-%m-%d}, {(when - last).days:,} days after the last transaction "
            f"({last:%Y-%m-%d}): the days between count as days without purchases, so customers "
            "look more lapsed than they may be; score at the data's last date or give the "
            "newer data",
            AfterTheDataWarning,
            stacklevel=3,
        )


def score_files(
    model: VipModel | str | os.PathLike[str],
    transactions: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    cutoff: str | pd.Timestamp | None = None,
    events: str | os.PathLike[str] | None = None,
    customers: str | os.PathLike[str] | None = None,
    config: Config | None = None,
    chunks: int | Literal["auto"] | None = None,
    workers: int | None = None,
    reasons: str | None = None,
    allow_missing: Sequence[str] | None = None,
    engine: Literal["pandas", "spark"] = "pandas",
    progress: Progress | None = None,
    on_read: OnRead | None = None,
    on_cutoff: Callable[[pd.Timestamp], None] | None = None,
) -> ScoringResult:
    """Score, segment and explain every customer and write the scores: ``vipml score``.

    Parameters
    ----------
    model
        A :class:`~vipml.bundle.VipModel`, a bundle folder or an MLflow model URI.
    transactions
        A CSV or Parquet file, a folder of Parquet files, a bundled dataset name, or a frame.
    out
        The ``.parquet`` or ``.csv`` file to write; with Spark a folder of parts or a URI
        (``s3://``, ``dbfs:/``, ``abfss://``, ``file://``).
    cutoff
        The scoring date; default the last day in the data (``on_cutoff`` is told it).
    events, customers
        Optional tables (files).
    config
        Mapping, input policies, VIP rules, segments, treatments and scoring settings; default
        the model's own.
    chunks, workers
        Customer chunks and worker processes (``scoring.chunks`` / ``scoring.workers`` by
        default): they bound memory and use the cores; the output does not depend on them.
    reasons
        Whose reasons are written (``'listed'``, ``'all'``, ``'none'``).
    allow_missing
        Inputs the model was trained with that may be missing.
    engine
        ``'pandas'`` (this machine) or ``'spark'``.
    progress
        ``callable(step, done, total)`` for a progress bar.
    on_read
        Called with the transactions' validation report when they are read whole.
    on_cutoff
        Called with the scoring date when it was taken from the data.

    Returns
    -------
    ScoringResult
        Where the scores went, the date, the counts and the model that scored
        (``result.model``).

    Examples
    --------
    See the module's example.
    """
    bundle, _ = resolve_model(model)
    cfg = config or bundle.config
    suffix = Path(str(out)).suffix.lower()
    if engine != "spark" and suffix not in (".parquet", ".pq", ".csv"):
        raise InvalidArgumentError(
            f"out {out}: use a .parquet or .csv file name (Spark writes folders and URIs)"
        )
    when = None if cutoff is None else pd.Timestamp(cutoff).normalize()
    if engine == "spark":
        from vipml.spark import score_path  # the optional engine: PySpark is imported only here

        done = score_path(
            bundle, transactions, out, cutoff=when, events=events, customers=customers,
            config=cfg, reasons=reasons, allow_missing=allow_missing,
        )
        return replace(done, model=bundle)
    if engine != "pandas":
        raise InvalidArgumentError(f"engine={engine!r}: use 'pandas' or 'spark'")
    setting = cfg.scoring.chunks if chunks is None else chunks
    if setting != "auto" and int(setting) < 1:
        raise InvalidArgumentError("chunks must be at least 1 (or 'auto')")
    if workers is not None and workers < 0:
        raise InvalidArgumentError("workers must be 0 (one per core) or more")
    ev, cu = _side_tables(events, customers, cfg)
    source: Any = transactions
    n_chunks = auto_chunks(transactions) if setting == "auto" else int(setting)
    if n_chunks == 1:  # read whole once (the chunked engine reads its chunks itself)
        source = read_transactions_reported(transactions, cfg, on_read)
        if setting == "auto":
            n_chunks = auto_chunks(source)
    last = last_day(source, cfg)
    if when is None:
        when = last
        if on_cutoff is not None:
            on_cutoff(when)
    warn_if_after_the_data(when, last)
    done = score_to_file(
        bundle, source, when, os.fspath(out), chunks=n_chunks, workers=workers, events=ev,
        customers=cu, config=cfg, reasons=reasons, allow_missing=allow_missing,
        progress=progress,
    )
    return replace(done, model=bundle)


def auto_chunks(transactions: Any, rows_per_chunk: int = ROWS_PER_CHUNK) -> int:
    """``scoring.chunks: auto``: one customer chunk per :data:`~vipml.config.ROWS_PER_CHUNK`
    transaction rows, counted from a Parquet input's metadata (nothing read) or a frame.

    Parameters
    ----------
    transactions
        A Parquet file or folder, a frame, or another input (counted once read: 1 here).
    rows_per_chunk
        Transaction rows per chunk.

    Returns
    -------
    int
        The number of chunks, at least 1.

    Examples
    --------
    >>> auto_chunks(pd.DataFrame({"customer_id": range(10)})), auto_chunks("orders.csv")
    (1, 1)
    >>> auto_chunks(pd.DataFrame({"customer_id": range(10)}), rows_per_chunk=4)
    3
    """
    if isinstance(transactions, pd.DataFrame):
        rows = len(transactions)
    else:
        path = parquet_source(transactions)
        if path is None:
            return 1
        rows = ds.dataset(path, format="parquet").count_rows()
    return max(1, -(-rows // rows_per_chunk))
