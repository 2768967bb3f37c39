"""Reading input files into Spark and writing the scores: what ``vipml score --engine spark``
runs."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
from pyspark.sql import Column, SparkSession
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vipml.batch import SCORES_CONFIG
from vipml.config import Config, InputConfig, config_to_dict
from vipml.data.cells import FORMULA_REGEX
from vipml.data.io import BUNDLED_DATASETS, RUN_ATTRIBUTES, read_transactions
from vipml.pipeline.scoring import ScoringResult
from vipml.segments import SEGMENTS
from vipml.spark.frames import to_spark
from vipml.spark.scoring import last_day, score
from vipml.spark.session import default_buckets, quiet_pyspark, session_setting, spark_session
from vipml.spark.shipping import ShippedBundle
from vipml.spark.validation import (
    validate_customers,
    validate_events,
    validate_transactions,
)
from vipml.tempfiles import staging

log = logging.getLogger(__name__)


def read_table(
    spark: SparkSession,
    path: str | os.PathLike[str],
    columns: Mapping[str, str] | None = None,
    *,
    typed: bool = True,
) -> SparkDataFrame:
    """Read a Parquet file or folder, or CSV (with a header), into a Spark DataFrame.

    ``columns`` maps the file's names onto vipml's (config ``columns.*``). A text
    ``timestamp`` is parsed (session time zone), ``revenue``, ``cost``, ``list_price`` and
    ``quantity`` become doubles and ``is_return`` a boolean; identifiers (``customer_id``,
    ``order_id``, ``product_id``) of a CSV file stay text (``007`` stays ``007``); nothing else
    is checked here
    (validate data at the boundary, as on one machine: :func:`vipml.spark.validate_transactions`).
    With ``typed=False`` the columns stay as read (Parquet's nanosecond timestamps aside), for
    the validation to parse and report.

    Parameters
    ----------
    spark
        The Spark session.
    path
        A Parquet file or folder, or a CSV file.
    columns
        The file's column names mapped onto vipml's; ``None`` keeps them.
    typed
        Cast the contract's columns as above (a value that does not parse becomes null, or
        fails under ANSI mode); ``False`` leaves them to the validation.

    Returns
    -------
    Spark DataFrame
        The table, with the types above.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> tx = read_table(session, "orders.csv", {"order_date": "timestamp"})  # doctest: +SKIP
        >>> tx.schema["timestamp"].dataType                                      # doctest: +SKIP
        TimestampType()
    """

    text = str(path)
    lower = text.lower().rstrip("/")
    with quiet_pyspark():
        if lower.endswith((".csv", ".csv.gz", ".txt")):
            sdf = _read_csv(spark, text, columns, typed)
        else:
            # pandas writes nanosecond timestamps, which Spark reads only as longs; the
            # setting is for this read only (the schema is fixed when it is read)
            with session_setting(spark, "spark.sql.legacy.parquet.nanosAsLong", "true"):
                sdf = spark.read.parquet(text)
    for theirs, ours in (columns or {}).items():
        if theirs in sdf.columns and theirs != ours:
            sdf = sdf.withColumnRenamed(theirs, ours)
    if "timestamp" in sdf.columns:
        kind = sdf.schema["timestamp"].dataType
        if isinstance(kind, T.StringType) and typed:
            sdf = sdf.withColumn("timestamp", F.to_timestamp("timestamp"))
        elif isinstance(kind, T.LongType):
            sdf = sdf.withColumn("timestamp", _nanos_to_timestamp(spark, F.col("timestamp")))
    if not typed:
        return sdf
    for name in ("revenue", "cost", "list_price", "quantity"):
        if name in sdf.columns:
            sdf = sdf.withColumn(name, F.col(name).cast("double"))
    if "is_return" in sdf.columns:
        sdf = sdf.withColumn("is_return", F.col("is_return").cast("boolean"))
    return sdf


#: Identifiers: text whatever they look like (``007`` is not ``7``).
_IDENTIFIERS = ("customer_id", "order_id", "product_id")


def _read_csv(
    spark: SparkSession, path: str, columns: Mapping[str, str] | None, typed: bool
) -> SparkDataFrame:
    """A CSV file with a header: every column as text, or (``typed``) with the types Spark
    infers, identifiers kept as text (inferring would read ``007`` as the number 7)."""
    if not typed:
        return spark.read.csv(path, header=True, inferSchema=False)
    inferred = spark.read.csv(path, header=True, inferSchema=True).schema
    ours = {theirs: name for theirs, name in (columns or {}).items()}
    fields = [
        T.StructField(f.name, T.StringType(), True)
        if ours.get(f.name, f.name) in _IDENTIFIERS
        else f
        for f in inferred.fields
    ]
    return spark.read.csv(path, header=True, schema=T.StructType(fields))


def _nanos_to_timestamp(spark: SparkSession, nanos: Column) -> Column:
    """Naive nanoseconds since the epoch (pandas' wall-clock timestamps) as a Spark timestamp
    showing the same wall clock in the session time zone (sub-microseconds dropped)."""

    micros = ((nanos - F.pmod(nanos, F.lit(1000))) / F.lit(1000)).cast("long")
    zone = spark.conf.get("spark.sql.session.timeZone") or "UTC"
    return F.to_utc_timestamp(F.timestamp_micros(micros), zone)


def _read_input(
    spark: SparkSession,
    source: str | os.PathLike[str] | pd.DataFrame,
    columns: Mapping[str, str],
    table: str,
    policy: InputConfig | None = None,
) -> tuple[SparkDataFrame, bool]:
    """A path read by Spark, as it is (the caller validates it); a pandas frame or a bundled
    dataset name (``cdnow``) converted (transactions validated with the ``input`` policies on
    the driver). Also says whether the table is validated already."""

    if isinstance(source, pd.DataFrame) or (
        table == "transactions" and isinstance(source, str) and source in BUNDLED_DATASETS
    ):
        frame = (
            read_transactions(source, columns, policy) if table == "transactions" else source
        )
        return to_spark(spark, frame), table == "transactions"
    # customers keep the types Spark infers (numeric attributes), identifiers as text
    return read_table(spark, source, columns, typed=table == "customers"), False


def _safe_csv(frame: SparkDataFrame) -> SparkDataFrame:
    """Text columns with formula-like values behind a ``'`` (:mod:`vipml.data.cells`)."""


    for field in frame.schema.fields:
        if isinstance(field.dataType, T.StringType):
            column = F.col(field.name)
            frame = frame.withColumn(
                field.name,
                F.when(column.rlike(FORMULA_REGEX), F.concat(F.lit("'"), column))
                .otherwise(column),
            )
    return frame


def score_path(
    model: Any,
    transactions: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str],
    cutoff: str | pd.Timestamp | None = None,
    events: str | os.PathLike[str] | None = None,
    customers: str | os.PathLike[str] | None = None,
    *,
    config: Config | None = None,
    segment: bool = True,
    reasons: str | None = None,
    spark: SparkSession | None = None,
    master: str = "local[2]",
    num_buckets: int | None = None,
    allow_missing: Sequence[str] | None = None,
) -> ScoringResult:
    """Score files with Spark and write the scores: what ``vipml score --engine spark`` runs.

    Reads ``transactions`` (and optionally ``events``, ``customers``) with :func:`read_table`
    (column names mapped with ``config.columns``, default the model's; a pandas frame or the
    name ``cdnow`` / ``cdnow-sample`` is read on the driver and handed to Spark), checks the
    transactions against the contract with the config's ``input`` policies
    (:func:`vipml.spark.validate_transactions`: every problem in one :class:`SchemaError`,
    before anything is scored), scores and
    segments with :func:`score` (``segment=True``: the rows of ``vipml score``), and
    writes ``out`` as Spark does: a folder of Parquet parts, or of CSV parts with a header when
    ``out`` ends in ``.csv``. The folder is written beside ``out`` under a temporary name and
    renamed into place when complete, so ``out`` is never half-written (on a local or mounted
    file system; object stores use their own committers).

    Parameters
    ----------
    model
        A :class:`vipml.bundle.VipModel`, a bundle folder or an MLflow model URI.
    transactions
        A Parquet or CSV path, a pandas frame, or ``cdnow`` / ``cdnow-sample``.
    out
        The output folder (``.csv`` for CSV parts, else Parquet).
    cutoff
        The scoring date; ``None`` takes the last date in the data.
    events, customers
        Optional paths of the events and customers tables.
    config
        Column names and segment rules; default the model's config.
    segment
        Also segment the customers (as ``vipml score``).
    reasons
        Whose reasons are written (``'listed'``, ``'all'`` or ``'none'``).
    spark
        A Spark session; default :func:`spark_session` with ``master``.
    master
        The Spark master URL when a session is started.
    num_buckets
        Number of customer buckets (see :func:`score`).
    allow_missing
        Inputs the model was trained with that may be missing.

    Returns
    -------
    ScoringResult
        ``out`` (the path), ``cutoff`` (the date scored), ``customers`` (rows written) and,
        read back from the written scores, the segment counts, the customers explained and the
        mean probabilities (``engine='spark'``, ``parts``: the buckets).

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py``)::

        >>> done = score_path("model/", "transactions.parquet", "scores.parquet")  # doctest: +SKIP
        >>> done.customers, done.segments["vip"]                                  # doctest: +SKIP
        (23570, 236)
    """
    shipped = ShippedBundle.from_model(model)
    loaded = shipped.load()
    session = spark or spark_session(master)
    mapping = (config or loaded.config).columns
    policy = (config or loaded.config).input
    tx, validated = _read_input(
        session, transactions, mapping.transactions, "transactions", policy
    )
    if not validated:  # checked once here, so the cutoff is read from clean timestamps
        tx = validate_transactions(tx, policy)
    ev = cust = None
    if events is not None:
        ev = validate_events(_read_input(session, events, mapping.events, "events")[0], policy)
    if customers is not None:
        raw = _read_input(session, customers, mapping.customers, "customers")[0]
        cust = validate_customers(raw, policy)
    cutoff = last_day(tx) if cutoff is None else pd.Timestamp(cutoff).normalize()
    scores = score(
        shipped, tx, cutoff, ev, cust, segment=segment, config=config, num_buckets=num_buckets,
        reasons=reasons, allow_missing=allow_missing, validated=True,
    )
    target = str(out)
    local = urlparse(target).scheme in ("", "file")
    with staging(target.removeprefix("file://")) if local else contextlib.nullcontext() as tmp:
        where = str(tmp) if local else target
        writer = scores.write.mode("overwrite")
        csv = target.lower().rstrip("/").endswith(".csv")
        with quiet_pyspark():
            if csv:  # a file people open: formula-like text kept as text, as vipml score does
                writer = _safe_csv(scores).write.mode("overwrite")
                writer.option("header", True).option("quoteAll", True).option(
                    "escape", '"'  # RFC 4180: a quote in a value is doubled, as spreadsheets read
                ).csv(where)
                reader = session.read.option("header", True).option("escape", '"')
                result = _summary(reader.csv(where), cutoff, segment)
            else:
                writer.parquet(where)
                result = _summary(session.read.parquet(where), cutoff, segment)
        if local and not csv:  # what vipml score keeps in the file's attrs, for vipml lists
            run = {"cutoff": f"{cutoff:%Y-%m-%d}", "horizon": loaded.horizon,
                   SCORES_CONFIG: config_to_dict(config or loaded.config)}
            Path(where, RUN_ATTRIBUTES).write_text(json.dumps(run), encoding="utf-8")
        if local:
            final = Path(target.removeprefix("file://"))
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            Path(where).rename(final)
    result.out = target
    result.parts = num_buckets or default_buckets(session)
    return result


def _summary(written: SparkDataFrame, cutoff: pd.Timestamp, segmented: bool) -> ScoringResult:
    """The run's summary, read back from the written scores in one aggregate (counts per
    segment included): the same figures a batch run adds up over its chunks."""
    sums = [
        F.count(F.lit(1)).alias("customers"),
        F.sum(F.col("p_future_vip").cast("double")).alias("p_future_vip"),
        F.sum(F.col("p_churn").cast("double")).alias("p_churn"),
        F.sum(F.when(F.coalesce(F.col("reasons"), F.lit("")) != "", 1).otherwise(0)).alias(
            "explained"
        ),
    ]
    if segmented:
        sums += [
            F.sum(F.when(F.col("segment") == name, 1).otherwise(0)).alias(f"segment_{name}")
            for name in SEGMENTS
        ]
    totals = written.agg(*sums).collect()[0]
    counts = {name: int(totals[f"segment_{name}"] or 0) for name in SEGMENTS} if segmented else {}
    return ScoringResult(
        cutoff=cutoff,
        customers=int(totals["customers"]),
        explained=int(totals["explained"] or 0),
        segments=dict(sorted(((k, v) for k, v in counts.items() if v), key=lambda kv: -kv[1])),
        total_p_future_vip=float(totals["p_future_vip"] or 0.0),
        total_p_churn=float(totals["p_churn"] or 0.0),
        engine="spark",
    )


