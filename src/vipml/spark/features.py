"""The customer features on Spark: the pandas builders, one bucket of customers at a time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import cast

import pandas as pd
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.types import DataType, StructType

from vipml.config import Config
from vipml.features import FEATURE_COLUMNS, INT_COLUMNS, line_totals, rank_lines
from vipml.features import build_features as pandas_features
from vipml.spark.frames import (
    from_spark_batch,
    map_buckets,
    require_columns,
    up_to,
)
from vipml.spark.session import quiet_pyspark

log = logging.getLogger(__name__)


def _feature_schema(id_type: DataType) -> StructType:


    fields = [T.StructField("customer_id", id_type, False)]
    for name in FEATURE_COLUMNS:
        kind = T.LongType() if name in INT_COLUMNS else T.DoubleType()
        fields.append(T.StructField(name, kind, False))
    return T.StructType(fields)


def profitable_lines(
    transactions: SparkDataFrame, cutoff: str | pd.Timestamp, config: Config | None = None
) -> list[str]:
    """The most profitable product lines at ``cutoff``, ranked over the whole population.

    :func:`vipml.features.line_totals` (revenue and gross profit of the purchases of each
    category: sums over rows, so additive over any split of the rows) runs on every Arrow batch
    of every partition (``mapInPandas``, no shuffle); Spark adds the totals up, and
    :func:`vipml.features.rank_lines` ranks them on the driver, as the pandas path does.

    Parameters
    ----------
    transactions
        A Spark DataFrame with vipml's column names.
    cutoff
        Rows after the cutoff's day are ignored.
    config
        ``features.top_lines_share``; default :class:`Config`.

    Returns
    -------
    list of str
        The profitable lines, best first (empty without a ``category`` column).

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> profitable_lines(session.read.parquet("transactions/"), "2024-12-30")  # doctest: +SKIP
        ['vinyl', 'books']
    """


    config = config or Config()
    if "category" not in transactions.columns:
        return []
    cutoff = pd.Timestamp(cutoff)
    tx = up_to(transactions, cutoff)
    assert tx is not None
    schema = T.StructType(
        [
            T.StructField("category", T.StringType(), False),
            T.StructField("revenue", T.DoubleType(), False),
            T.StructField("gross_profit", T.DoubleType(), False),
        ]
    )

    def totals(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch):
                part = line_totals(from_spark_batch(batch), cutoff, config)
                yield part.reset_index().astype({"category": object})

    with quiet_pyspark():
        summed = cast(
            pd.DataFrame,
            tx.mapInPandas(totals, schema)
            .groupBy("category")
            .agg(F.sum("revenue").alias("revenue"), F.sum("gross_profit").alias("gross_profit"))
            .toPandas(),
        )
    if summed.empty:
        return []
    summed = summed.set_index("category").sort_index()
    return rank_lines(summed, config.features.top_lines_share)


def build_features(
    transactions: SparkDataFrame,
    cutoff: str | pd.Timestamp,
    events: SparkDataFrame | None = None,
    config: Config | None = None,
    *,
    num_buckets: int | None = None,
) -> SparkDataFrame:
    """:func:`vipml.features.build_features` on a Spark DataFrame, one bucket of customers at
    a time.

    Parameters
    ----------
    transactions, events
        Spark DataFrames with vipml's column names (validated upstream, as the pandas path
        expects): ``customer_id``, ``timestamp``, ``revenue`` and the optional columns.
    cutoff, config
        As in the pandas function.
    num_buckets
        Number of customer buckets (each is one pandas frame in a worker); default
        ``spark.sql.shuffle.partitions``. Pick it so a bucket holds a few million rows at most.

    Returns
    -------
    Spark DataFrame
        ``customer_id`` and the columns of :data:`vipml.features.FEATURE_COLUMNS`, one row per
        customer, equal to the pandas result (no order is guaranteed: sort when it matters).

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> tx = session.read.parquet("transactions/")                       # doctest: +SKIP
        >>> build_features(tx, "2024-12-30", num_buckets=16).count()          # doctest: +SKIP
        23570
    """

    config = config or Config()
    require_columns(transactions, ["customer_id", "timestamp", "revenue"], "transactions")
    cutoff = pd.Timestamp(cutoff)
    lines = profitable_lines(transactions, cutoff, config)
    schema = _feature_schema(transactions.schema["customer_id"].dataType)

    def per_bucket(tx: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.DataFrame:
        features = pandas_features(tx, cutoff, events=events, config=config, profitable_lines=lines)
        return features.reset_index()

    return map_buckets(
        per_bucket,
        schema,
        up_to(transactions, cutoff),
        {"events": up_to(events, cutoff)},
        num_buckets=num_buckets,
    )


