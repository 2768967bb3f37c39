"""Scoring on Spark: the scoring service's steps (:mod:`vipml.pipeline.scoring`), one bucket or
batch of customers at a time, the population thresholds computed once, by distributed queries."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.types import StructType

from vipml.config import Config
from vipml.contract import TRANSACTION_COLUMNS
from vipml.errors import (
    SchemaError,
)
from vipml.model_inputs import GivenInputs
from vipml.pipeline.scoring import (
    check_model_inputs,
    check_reasons,
    finish_part,
    score_part,
)
from vipml.pipeline.scoring import score as pandas_score
from vipml.spark.features import profitable_lines
from vipml.spark.frames import (
    from_spark_batch,
    map_buckets,
    require_columns,
    spark_schema,
    to_plain,
    up_to,
)
from vipml.spark.session import quiet_pyspark
from vipml.spark.shipping import ShippedBundle
from vipml.spark.thresholds import spark_thresholds
from vipml.spark.validation import (
    validate_customers,
    validate_events,
    validate_transactions,
)

log = logging.getLogger(__name__)


def last_day(transactions: SparkDataFrame) -> pd.Timestamp:
    """The day of the last transaction (the default scoring date).

    Parameters
    ----------
    transactions
        A Spark DataFrame with a ``timestamp`` column.

    Returns
    -------
    pandas.Timestamp
        Midnight of the last day.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py``)::

        >>> last_day(session.createDataFrame(pdf))  # doctest: +SKIP
        Timestamp('1998-06-30 00:00:00')
    """
    with quiet_pyspark():
        last = transactions.agg(F.max("timestamp").alias("last")).collect()[0]["last"]
    if last is None:
        raise SchemaError(["transactions: no rows: nothing to score"])
    return pd.Timestamp(last).normalize()


def _check_inputs(
    model: Any,
    transactions: SparkDataFrame,
    events: SparkDataFrame | None,
    customers: SparkDataFrame | None,
    config: Config | None,
    allow_missing: Sequence[str] | None,
) -> None:
    """The model's inputs against the Spark tables, once on the driver (the event kinds are
    one small distinct query). Columns outside the contract and the declared customer
    attributes are not read by scoring, so they are not inputs."""

    declared = {*TRANSACTION_COLUMNS, *(config or model.config).input.customer_attributes}
    kinds = None
    if events is not None:
        with quiet_pyspark():
            rows = events.select("kind").distinct().collect()
        kinds = {str(r["kind"]) for r in rows if r["kind"] is not None}
    given = GivenInputs(
        columns={c for c in transactions.columns if c in declared},
        event_kinds=kinds,
        customer_columns=None if customers is None else set(customers.columns),
    )
    if allow_missing is None:
        allow_missing = (config or model.config).scoring.allow_missing
    check_model_inputs(model, given, allow_missing, stacklevel=5)


def score(
    model: Any,
    transactions: SparkDataFrame,
    cutoff: str | pd.Timestamp | None = None,
    events: SparkDataFrame | None = None,
    customers: SparkDataFrame | None = None,
    *,
    segment: bool = False,
    config: Config | None = None,
    num_buckets: int | None = None,
    reasons: str | None = None,
    allow_missing: Sequence[str] | None = None,
    validated: bool = False,
) -> SparkDataFrame:
    """:func:`vipml.pipeline.score` on Spark DataFrames, one bucket of customers at a time.

    Parameters
    ----------
    model
        A :class:`vipml.bundle.VipModel`, a bundle folder, or an MLflow model URI
        (``models:/vipml@champion``; resolved on the driver). The bundle's files travel to the
        workers as bytes (:class:`ShippedBundle`); each worker loads them once.
    transactions, events, customers
        Spark DataFrames with vipml's column names. The transactions are checked against the
        contract first (:func:`vipml.spark.validate_transactions`, ``validate_events`` and
        ``validate_customers`` with the config's ``input`` policies: one aggregation pass
        each, and one ``distinct`` for repeated rows), unless ``validated``.
    cutoff
        The scoring date; None takes the last date in the data.
    segment
        Also add the VIP status, tier, segment, gap to VIP and treatment, as ``vipml score``
        does (:func:`vipml.batch.score_to_file`): the per-customer scores are computed once
        (persisted in memory and on disk; blocks lost with an executor are recomputed from
        the lineage, which a ``localCheckpoint`` would have cut), the population thresholds
        (:func:`vipml.segments.segment_thresholds`, the same values) by distributed exact
        order statistics (:mod:`vipml.spark.thresholds`; nothing collected but a few thousand
        value counts), and :func:`vipml.segments.assign_segments` segments
        every partition with them. This runs the scoring job before returning.
    config
        With ``segment``: the VIP rules, segments and treatments; default the model's config.
    reasons
        With ``segment``: whose reasons are written, as ``vipml score`` (``'listed'``, ``'all'``
        or ``'none'``; default ``config.scoring.reasons``). Without it every row is explained,
        as :func:`vipml.pipeline.score`.
    num_buckets
        Number of customer buckets (default ``spark.sql.shuffle.partitions``): each bucket is
        one pandas frame scored in one worker, so size it to a few million rows per bucket.
    allow_missing
        Inputs the model was trained with that may be missing (default the config's
        ``scoring.allow_missing``); the inputs are checked once, on the driver
        (:mod:`vipml.model_inputs`).
    validated
        The tables are already clean and typed (validated upstream, or converted from
        validated pandas frames): only the transactions' required columns are checked.

    Returns
    -------
    Spark DataFrame
        The columns and rows of the pandas scores table (:data:`vipml.pipeline.PREDICTION_COLUMNS`,
        then the model features), or with ``segment`` those of the segmented table of
        ``vipml score``; in no particular order.

    Notes
    -----
    What depends on the whole population is computed once, globally: the most profitable
    product lines (:func:`profitable_lines`) and, with ``segment``, the VIP threshold, tier
    bounds and dormant CLV bar. Everything else is per customer: features, BTYD predictions
    with the bundle's fitted parameters, both classifiers and the reasons.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> scores = score("model/", tx, "2024-12-30", segment=True)  # doctest: +SKIP
        >>> scores.groupBy("segment").count().show()                  # doctest: +SKIP
    """

    shipped = ShippedBundle.from_model(model)
    loaded = shipped.load()
    if validated:
        require_columns(transactions, ["customer_id", "timestamp", "revenue"], "transactions")
    else:
        policy = (config or loaded.config).input
        transactions = validate_transactions(transactions, policy)
        events = None if events is None else validate_events(events, policy)
        customers = None if customers is None else validate_customers(customers, policy)
    _check_inputs(loaded, transactions, events, customers, config, allow_missing)
    cutoff = last_day(transactions) if cutoff is None else pd.Timestamp(cutoff).normalize()
    lines = profitable_lines(transactions, cutoff, loaded.config)
    extra = {"profitable_lines": lines}  # the whole population's, for every bucket
    tx = up_to(transactions, cutoff)
    ev = up_to(events, cutoff)
    assert tx is not None
    schema = _score_schema(loaded, tx, ev, customers, cutoff, extra)

    def per_bucket(
        tx: pd.DataFrame, events: pd.DataFrame | None = None, customers: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        if tx.empty:  # a bucket with events or customers but no transaction: nobody to score
            return pd.DataFrame({name: [] for name in schema.fieldNames()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if segment:  # step 1 of the scoring service; reasons come after the segments
                scores = score_part(
                    shipped.load(), tx, cutoff, events, customers, profitable_lines=lines
                )
            else:
                scores = pandas_score(
                    shipped.load(), tx, cutoff, events=events, customers=customers,
                    profitable_lines=lines, verify_inputs=False,
                )
        return to_plain(scores)

    scores = map_buckets(
        per_bucket, schema, tx, {"events": ev, "customers": customers}, num_buckets=num_buckets
    )
    if not segment:
        return scores
    config = config or loaded.config
    return _segment(scores, config, cutoff, shipped, reasons or config.scoring.reasons)


def _segment(
    scores: SparkDataFrame,
    config: Config,
    cutoff: pd.Timestamp,
    shipped: ShippedBundle,
    reasons: str,
) -> SparkDataFrame:
    """Steps 2 and 3 of the scoring service: the population thresholds by distributed queries
    (:func:`vipml.spark.thresholds.spark_thresholds`), then every partition segmented and
    explained with them."""
    check_reasons(reasons)
    with quiet_pyspark():
        # score once, read twice below; unlike a local checkpoint, a block lost with an
        # executor is recomputed (the scores are deterministic)
        scores = scores.persist(StorageLevel.MEMORY_AND_DISK)
        sample = from_spark_batch(scores.limit(20).toPandas())
    thresholds = spark_thresholds(scores, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        example = finish_part(shipped.load(), sample, config, cutoff, thresholds, "none")
    schema = spark_schema(example)

    schema = T.StructType(
        [
            T.StructField("customer_id", scores.schema["customer_id"].dataType, False)
            if f.name == "customer_id"
            else f
            for f in schema.fields
        ]
    )

    def per_batch(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    out = finish_part(
                        shipped.load(), from_spark_batch(batch), config, cutoff, thresholds,
                        reasons,
                    )
                yield to_plain(out)

    with quiet_pyspark():
        return scores.mapInPandas(per_batch, schema)


def _score_schema(
    model: Any,
    tx: SparkDataFrame,
    events: SparkDataFrame | None,
    customers: SparkDataFrame | None,
    cutoff: pd.Timestamp,
    extra: Mapping[str, Any],
) -> StructType:
    """The scores' Spark schema, from scoring a few hundred rows on the driver."""
    with quiet_pyspark():
        sample = from_spark_batch(tx.limit(500).toPandas())
        side_events = None if events is None else from_spark_batch(events.limit(50).toPandas())
        side_customers = None
        if customers is not None:
            side_customers = from_spark_batch(customers.limit(50).toPandas())
    if sample.empty:
        raise SchemaError([f"no transaction on or before the cutoff {cutoff:%Y-%m-%d}"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = pandas_score(
            model, sample, cutoff, events=side_events, customers=side_customers, **extra
        )
    schema = spark_schema(scores)
    id_type = tx.schema["customer_id"].dataType
    fields = [
        T.StructField("customer_id", id_type, False) if f.name == "customer_id" else f
        for f in schema.fields
    ]
    return T.StructType(fields)

