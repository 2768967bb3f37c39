"""Between pandas and Spark: schemas, conversions, and the customer buckets every pandas
builder runs on (``groupBy(bucket).applyInPandas``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, overload

import pandas as pd
from pyspark.sql import Column, SparkSession
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.types import DataType, StructType

from vipml.data import problems
from vipml.errors import (
    InvalidArgumentError,
)
from vipml.spark.session import BUCKET, default_buckets, quiet_pyspark

log = logging.getLogger(__name__)


#: The temporary column naming the table a row came from in :func:`map_buckets`.
_TABLE = "_vipml_table"


def bucket_expression(column: str, num_buckets: int) -> Column:
    """The bucket of each row: ``pmod(xxhash64(column), num_buckets)`` (deterministic).

    Parameters
    ----------
    column
        The column hashed (``customer_id``).
    num_buckets
        The number of buckets, at least 1.

    Returns
    -------
    pyspark.sql.Column
        The bucket number, ``0 .. num_buckets - 1``.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> sdf.withColumn("bucket", bucket_expression("customer_id", 8))  # doctest: +SKIP
    """

    if int(num_buckets) < 1:
        raise InvalidArgumentError(f"num_buckets={num_buckets!r} must be at least 1")
    return F.pmod(F.xxhash64(F.col(column)), F.lit(int(num_buckets)))


def with_bucket(sdf: SparkDataFrame, num_buckets: int, column: str = "customer_id") -> Any:
    """``sdf`` with the bucket column :data:`BUCKET` added.

    Parameters
    ----------
    sdf
        A Spark DataFrame holding ``column``.
    num_buckets
        The number of buckets.
    column
        The column hashed.

    Returns
    -------
    Spark DataFrame
        ``sdf`` with the column :data:`BUCKET`.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> with_bucket(tx, 8).select(BUCKET).distinct().count() <= 8  # doctest: +SKIP
        True
    """
    require_columns(sdf, [column], "transactions")
    return sdf.withColumn(BUCKET, bucket_expression(column, num_buckets))


def require_columns(sdf: SparkDataFrame, columns: list[str], table: str) -> None:
    """Check that a Spark DataFrame has ``columns``.

    Parameters
    ----------
    sdf
        The Spark DataFrame.
    columns
        The column names needed.
    table
        The table's name in the error.

    Raises
    ------
    SchemaError
        Naming the missing columns.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> require_columns(tx, ["customer_id", "timestamp"], "transactions")  # doctest: +SKIP
    """
    problems.require_columns(
        sdf.columns,
        columns,
        table=table,
        fix="map your column names onto vipml's contract (config columns.*) before handing the "
        "Spark DataFrame over",
    )


def _spark_type(dtype: Any) -> DataType:

    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return T.TimestampType()
    return T.StringType()


def spark_schema(frame: pd.DataFrame, index: bool = False) -> StructType:
    """The Spark schema of a pandas frame (bool, long, double, timestamp, else string).

    With ``index=True`` the (named) index comes first, as :meth:`pandas.DataFrame.reset_index`
    would put it.

    Parameters
    ----------
    frame
        A pandas frame.
    index
        Whether the index becomes the first column(s).

    Returns
    -------
    pyspark.sql.types.StructType
        The schema; every field nullable.

    Examples
    --------
    >>> frame = pd.DataFrame({"n": [1], "x": [0.5], "ok": [True], "s": ["a"]})
    >>> spark_schema(frame).simpleString()
    'struct<n:bigint,x:double,ok:boolean,s:string>'
    """

    fields = []
    if index:
        names = [n or "index" for n in frame.index.names]
        for name, level in zip(names, range(frame.index.nlevels), strict=True):
            dtype = frame.index.get_level_values(level).dtype
            fields.append(T.StructField(str(name), _spark_type(dtype), True))
    for name, dtype in frame.dtypes.items():
        fields.append(T.StructField(str(name), _spark_type(dtype), True))
    return T.StructType(fields)


def to_plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-friendly columns: pandas' str / category / object become Python strings.

    Parameters
    ----------
    frame
        A pandas frame.

    Returns
    -------
    pandas.DataFrame
        The same values, text as Python strings (missing as ``None``), timestamps in ns.

    Examples
    --------
    >>> plain = to_plain(pd.DataFrame({"s": pd.Series(["a", None], dtype="string"), "n": [1, 2]}))
    >>> plain["s"].tolist(), plain["n"].tolist()
    (['a', None], [1, 2])
    """
    out = {}
    for name, col in frame.items():
        if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
            out[name] = col
        elif pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = col.astype("datetime64[ns]")
        else:
            out[name] = col.astype(object).where(col.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def to_spark(spark: SparkSession, frame: pd.DataFrame, index: bool = False) -> SparkDataFrame:
    """A Spark DataFrame holding ``frame`` (with its index as columns when ``index=True``).

    Parameters
    ----------
    spark
        The Spark session.
    frame
        A pandas frame.
    index
        Whether the index becomes the first column(s).

    Returns
    -------
    Spark DataFrame
        The rows of ``frame``, with the schema of :func:`spark_schema`.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> to_spark(session, pd.DataFrame({"n": [1, 2]})).count()  # doctest: +SKIP
        2
    """
    schema = spark_schema(frame, index=index)
    plain = to_plain(frame.reset_index() if index else frame)
    plain.columns = schema.fieldNames()
    with quiet_pyspark():
        return spark.createDataFrame(plain, schema=schema)


def from_spark_batch(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo Arrow's conversions inside a worker: timestamps back to naive datetime64[ns].

    Parameters
    ----------
    frame
        A pandas batch as Spark hands it to a worker (changed in place).

    Returns
    -------
    pandas.DataFrame
        The same frame, with naive ``datetime64[ns]`` timestamps.

    Examples
    --------
    >>> paris = pd.to_datetime(["2024-01-01 12:00"]).tz_localize("Europe/Paris")
    >>> batch = pd.DataFrame({"t": paris})
    >>> from_spark_batch(batch)["t"].tolist()
    [Timestamp('2024-01-01 11:00:00')]
    """
    for name, col in frame.items():
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            if getattr(col.dt, "tz", None) is not None:
                col = col.dt.tz_convert("UTC").dt.tz_localize(None)
            frame[name] = col.astype("datetime64[ns]")
    return frame


def map_buckets(
    func: Callable[..., pd.DataFrame],
    schema: StructType,
    transactions: SparkDataFrame,
    side: Mapping[str, SparkDataFrame | None] | None = None,
    *,
    num_buckets: int | None = None,
) -> SparkDataFrame:
    """Run ``func(transactions, **side)`` on every bucket of customers; union the results.

    ``func`` receives pandas frames holding every row of the bucket's customers: the bucket's
    transactions, and one keyword argument per table of ``side`` (``None`` when that table is
    ``None``; an empty frame with the table's columns when the bucket has no row in it). It
    returns one pandas frame matching ``schema``.

    Side tables travel with the transactions through one ``cogroup``: they are stacked into a
    single frame (the union of their columns plus a table tag) and split again in the worker.

    Parameters
    ----------
    func
        Called as ``func(transactions, **side)`` with pandas frames.
    schema
        The schema of what ``func`` returns.
    transactions
        A Spark DataFrame with ``customer_id``.
    side
        Side tables by keyword name (events, customers), or ``None``.
    num_buckets
        The number of buckets; default ``spark.sql.shuffle.partitions``.

    Returns
    -------
    Spark DataFrame
        The union of ``func``'s frames.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> def count(tx, events=None):                                          # doctest: +SKIP
        ...     return tx.groupby("customer_id").size().rename("n").reset_index()
        >>> schema = T.StructType([T.StructField("customer_id", T.LongType()),   # doctest: +SKIP
        ...     T.StructField("n", T.LongType())])
        >>> map_buckets(count, schema, tx, {"events": None}).count()             # doctest: +SKIP
        23570
    """

    spark = transactions.sparkSession
    if num_buckets is None:
        num_buckets = default_buckets(spark)
    tx = with_bucket(transactions, num_buckets)
    tables = {k: v for k, v in (side or {}).items() if v is not None}
    absent = [k for k, v in (side or {}).items() if v is None]
    columns = {k: list(v.columns) for k, v in tables.items()}

    def clean(frame: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
        return from_spark_batch(frame[keep].reset_index(drop=True))

    if not tables:
        tx_columns = list(transactions.columns)

        def run_one(frame: pd.DataFrame) -> pd.DataFrame:
            return func(clean(frame, tx_columns), **dict.fromkeys(absent))

        with quiet_pyspark():
            return tx.groupBy(BUCKET).applyInPandas(run_one, schema)

    stacked = None
    for name, sdf in tables.items():
        part = with_bucket(sdf, num_buckets).withColumn(_TABLE, F.lit(name))
        stacked = part if stacked is None else stacked.unionByName(part, allowMissingColumns=True)
    tx_columns = list(transactions.columns)

    def run_co(frame: pd.DataFrame, others: pd.DataFrame) -> pd.DataFrame:
        kwargs: dict[str, pd.DataFrame | None] = dict.fromkeys(absent)
        for name, cols in columns.items():
            if len(others):
                rows = others[others[_TABLE] == name]
            else:
                rows = others
            kwargs[name] = clean(rows.reindex(columns=cols), cols)
        return func(clean(frame, tx_columns), **kwargs)

    assert stacked is not None
    with quiet_pyspark():
        return tx.groupBy(BUCKET).cogroup(stacked.groupBy(BUCKET)).applyInPandas(run_co, schema)


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------


def _day_end(cutoff: str | pd.Timestamp) -> pd.Timestamp:
    """The first instant after the cutoff's day (features see rows strictly before it)."""
    return pd.Timestamp(cutoff).normalize() + pd.Timedelta(days=1)


@overload
def up_to(sdf: SparkDataFrame, cutoff: str | pd.Timestamp) -> SparkDataFrame: ...
@overload
def up_to(sdf: None, cutoff: str | pd.Timestamp) -> None: ...
@overload
def up_to(sdf: SparkDataFrame | None, cutoff: str | pd.Timestamp) -> SparkDataFrame | None: ...
def up_to(sdf: SparkDataFrame | None, cutoff: str | pd.Timestamp) -> SparkDataFrame | None:
    """Rows on or before the cutoff's day (the pandas builders filter the same way; doing it
    before the shuffle only saves moving rows no bucket will read).

    Parameters
    ----------
    sdf
        A Spark DataFrame with ``customer_id`` and ``timestamp``, or ``None``.
    cutoff
        The cutoff; its whole day is kept.

    Returns
    -------
    Spark DataFrame or None
        The rows kept (``None`` for ``None``).

    Examples
    --------
    >>> up_to(None, "2024-12-30") is None
    True
    """
    if sdf is None:
        return None

    require_columns(sdf, ["customer_id", "timestamp"], "table")
    # a text literal cast to the column's own type is read in the session time zone, as the
    # column is (a Python datetime literal would be read in the driver process' zone)
    kind = sdf.schema["timestamp"].dataType
    end = F.lit(_day_end(cutoff).strftime("%Y-%m-%d %H:%M:%S")).cast(kind)
    return sdf.filter(F.col("timestamp") < end)

