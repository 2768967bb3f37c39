"""The distributed path: the same pandas builders and the same model, run on Spark partitions.

Nothing here re-implements a feature or a model. Rows are routed to *buckets* by a hash of
``customer_id`` (``pmod(xxhash64(customer_id), num_buckets)``), so every customer's rows land in
exactly one bucket; each bucket is handed, as one pandas frame, to the very functions the
single-machine path uses (:func:`vipml.features.build_features`, the fitted model's predictions)
through ``groupBy(bucket).applyInPandas`` (``cogroup`` when an events table comes along). What
depends on the whole population rather than one customer is computed once, globally, before the
per-bucket pass and handed to every bucket: the most profitable product lines
(:func:`profitable_lines`). The model travels to the workers as its bundle files
(:class:`ShippedBundle`), loaded once per worker.

Timestamps are wall-clock times, as pandas' naive ones: Spark shows them in the session time
zone, and the pandas code in the workers receives exactly those wall-clock times, so results
do not depend on the zone (tested). A Spark session is needed (``pip install 'vipml[spark]'``,
Java 17); :func:`spark_session` returns the active one (a notebook, a Databricks job,
spark-submit) or makes a local one.

Examples
--------
Needs a JVM, so not run as a doctest (``tests/test_spark.py`` runs it)::

    >>> from vipml import spark as vs
    >>> session = vs.spark_session("local[2]")                  # doctest: +SKIP
    >>> tx = session.read.parquet("transactions/")              # doctest: +SKIP
    >>> features = vs.build_features(tx, "2024-12-30")          # doctest: +SKIP
    >>> scores = vs.score(vipml.load_model("models/vip"), tx, "2024-12-30")  # doctest: +SKIP
    >>> scores.write.parquet("scores/")                          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from vipml.data.problems import require_columns
from vipml.errors import ConfigError, InvalidArgumentError, SchemaError, VipmlError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, SparkSession
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql.types import DataType, StructType

    from vipml.config import Config, InputConfig

__all__ = [
    "BUCKET",
    "spark_session",
    "bucket_expression",
    "with_bucket",
    "spark_schema",
    "to_spark",
    "map_buckets",
    "build_features",
    "profitable_lines",
    "ShippedBundle",
    "score",
    "score_path",
    "read_table",
    "fit_lifetime_value",
]

log = logging.getLogger(__name__)

BUCKET = "_vipml_bucket"
"""Name of the temporary bucket column (dropped from every result)."""
_TABLE = "_vipml_table"


def _import_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise VipmlError(
            "the Spark engine needs PySpark: pip install 'vipml[spark]' (PySpark 4 and Java 17)"
        ) from exc


@contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Silence PySpark's known warning that pandas >= 3 is 'not fully supported'."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        yield


def spark_session(
    master: str = "local[2]",
    *,
    app_name: str = "vipml",
    shuffle_partitions: int = 8,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """Get or create a Spark session with the settings vipml relies on.

    Parameters
    ----------
    master
        Spark master URL; ``local[N]`` runs on this machine with N cores. Ignored when a
        session is already active (a notebook, a Databricks job: that session is returned as
        it is) or under ``spark-submit`` (the launcher's ``--master`` wins); ``""`` leaves it
        to Spark's defaults.
    app_name
        Application name shown in the Spark UI.
    shuffle_partitions
        ``spark.sql.shuffle.partitions`` (Spark's default of 200 is slow on small data).
    conf
        More Spark settings, applied last.

    Notes
    -----
    In local mode ``SPARK_LOCAL_IP`` defaults to 127.0.0.1 (else Spark binds the external
    interface) and ``PYSPARK_PYTHON`` to this interpreter (else workers may start a Python
    without vipml's dependencies). A new session gets the UTC time zone, Arrow and adaptive
    execution; an active session, or one spark-submit configures, is left as it is.
    """
    _import_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:  # a notebook's, a Databricks job's, or one made earlier: use it
        return active
    launched = "PYSPARK_GATEWAY_PORT" in os.environ  # under spark-submit: its settings win
    if launched:
        master = ""
    local = master.startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = {}
    if not launched:
        settings = {
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": str(int(shuffle_partitions)),
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.adaptive.enabled": "true",
        }
    if local:
        settings.update({"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"})
    settings.update(dict(conf or {}))
    for key, value in settings.items():
        builder = builder.config(key, value)
    with quiet_pyspark():
        spark = builder.getOrCreate()
    if local:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def bucket_expression(column: str, num_buckets: int) -> Column:
    """The bucket of each row: ``pmod(xxhash64(column), num_buckets)`` (deterministic)."""
    from pyspark.sql import functions as F

    if int(num_buckets) < 1:
        raise InvalidArgumentError(f"num_buckets={num_buckets!r} must be at least 1")
    return F.pmod(F.xxhash64(F.col(column)), F.lit(int(num_buckets)))


def with_bucket(sdf: SparkDataFrame, num_buckets: int, column: str = "customer_id") -> Any:
    """``sdf`` with the bucket column :data:`BUCKET` added."""
    _require_columns(sdf, [column], "transactions")
    return sdf.withColumn(BUCKET, bucket_expression(column, num_buckets))


def _require_columns(sdf: SparkDataFrame, columns: list[str], table: str) -> None:
    require_columns(
        sdf.columns,
        columns,
        table=table,
        fix="map your column names onto vipml's contract (config columns.*) before handing the "
        "Spark DataFrame over",
    )


def _spark_type(dtype: Any) -> DataType:
    from pyspark.sql import types as T

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

    Examples
    --------
    >>> frame = pd.DataFrame({"n": [1], "x": [0.5], "ok": [True], "s": ["a"]})
    >>> spark_schema(frame).simpleString()
    'struct<n:bigint,x:double,ok:boolean,s:string>'
    """
    from pyspark.sql import types as T

    fields = []
    if index:
        names = [n or "index" for n in frame.index.names]
        for name, level in zip(names, range(frame.index.nlevels), strict=True):
            dtype = frame.index.get_level_values(level).dtype
            fields.append(T.StructField(str(name), _spark_type(dtype), True))
    for name, dtype in frame.dtypes.items():
        fields.append(T.StructField(str(name), _spark_type(dtype), True))
    return T.StructType(fields)


def _to_plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrow-friendly columns: pandas' str / category / object become Python strings."""
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
    """A Spark DataFrame holding ``frame`` (with its index as columns when ``index=True``)."""
    schema = spark_schema(frame, index=index)
    plain = _to_plain(frame.reset_index() if index else frame)
    plain.columns = schema.fieldNames()
    with quiet_pyspark():
        return spark.createDataFrame(plain, schema=schema)


def _from_spark_batch(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo Arrow's conversions inside a worker: timestamps back to naive datetime64[ns]."""
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
    """
    from pyspark.sql import functions as F

    spark = transactions.sparkSession
    if num_buckets is None:
        num_buckets = int(spark.conf.get("spark.sql.shuffle.partitions") or 8)
    tx = with_bucket(transactions, num_buckets)
    tables = {k: v for k, v in (side or {}).items() if v is not None}
    absent = [k for k, v in (side or {}).items() if v is None]
    columns = {k: list(v.columns) for k, v in tables.items()}

    def clean(frame: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
        return _from_spark_batch(frame[keep].reset_index(drop=True))

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


def _up_to(sdf: SparkDataFrame | None, cutoff: str | pd.Timestamp) -> SparkDataFrame | None:
    """Rows on or before the cutoff's day (the pandas builders filter the same way; doing it
    before the shuffle only saves moving rows no bucket will read)."""
    if sdf is None:
        return None
    from pyspark.sql import functions as F

    _require_columns(sdf, ["customer_id", "timestamp"], "table")
    # a text literal cast to the column's own type is read in the session time zone, as the
    # column is (a Python datetime literal would be read in the driver process' zone)
    kind = sdf.schema["timestamp"].dataType
    end = F.lit(_day_end(cutoff).strftime("%Y-%m-%d %H:%M:%S")).cast(kind)
    return sdf.filter(F.col("timestamp") < end)


def _feature_schema(id_type: DataType) -> StructType:
    from pyspark.sql import types as T

    from vipml.features import FEATURE_COLUMNS, INT_COLUMNS

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
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from vipml.config import Config as _Config
    from vipml.features import line_totals, rank_lines

    config = config or _Config()
    if "category" not in transactions.columns:
        return []
    cutoff = pd.Timestamp(cutoff)
    tx = _up_to(transactions, cutoff)
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
                part = line_totals(_from_spark_batch(batch), cutoff, config)
                yield part.reset_index().astype({"category": object})

    with quiet_pyspark():
        summed = (
            tx.mapInPandas(totals, schema)
            .groupBy("category")
            .agg(F.sum("revenue").alias("revenue"), F.sum("gross_profit").alias("gross_profit"))
            .toPandas()
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
    """
    from vipml.config import Config as _Config
    from vipml.features import build_features as pandas_features

    config = config or _Config()
    _require_columns(transactions, ["customer_id", "timestamp", "revenue"], "transactions")
    cutoff = pd.Timestamp(cutoff)
    lines = profitable_lines(transactions, cutoff, config)
    schema = _feature_schema(transactions.schema["customer_id"].dataType)

    def per_bucket(tx: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.DataFrame:
        features = pandas_features(tx, cutoff, events=events, config=config, profitable_lines=lines)
        return features.reset_index()

    return map_buckets(
        per_bucket,
        schema,
        _up_to(transactions, cutoff),
        {"events": _up_to(events, cutoff)},
        num_buckets=num_buckets,
    )


# --------------------------------------------------------------------------------------------
# the model, shipped to the workers as its bundle files
# --------------------------------------------------------------------------------------------

_LOADED: dict[str, Any] = {}
"""Models loaded in this (worker) process, by bundle digest: each is loaded once per worker."""


class ShippedBundle:
    """A model bundle's files as bytes: what the workers receive (no pickled estimator).

    The closure Spark sends to every worker holds this object: plain bytes of
    ``manifest.json``, the JSON parameters and the LightGBM text models. A worker writes them
    to a temporary folder once and loads them with :func:`vipml.load_model`, exactly as the
    single-machine path loads a bundle, so both paths score with the same model.
    """

    def __init__(self, files: Mapping[str, bytes]) -> None:
        import hashlib

        self.files = dict(sorted(files.items()))
        digest = hashlib.sha256()
        for name, data in self.files.items():
            digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        self.digest = digest.hexdigest()

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> ShippedBundle:
        """Read every file of a bundle folder."""
        from pathlib import Path

        root = Path(folder)
        if not (root / "manifest.json").exists():
            from vipml.errors import ModelFormatError

            raise ModelFormatError(
                f"{root} is not a vipml model bundle (no manifest.json): give the folder "
                "written by vipml train or VipModel.save, or an MLflow model URI"
            )
        files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        return cls(files)

    @classmethod
    def from_model(cls, model: Any) -> ShippedBundle:
        """From a loaded model (saved to a temporary folder), a bundle folder or a model URI
        (``models:/vipml@champion``, resolved on the driver with
        :func:`vipml.tracking.resolve_model_uri`)."""
        from vipml.tempfiles import scratch

        if isinstance(model, ShippedBundle):
            return model
        if isinstance(model, str | os.PathLike):
            from vipml.tracking import is_model_uri, resolve_model_uri

            if is_model_uri(model):
                return cls.from_folder(resolve_model_uri(model))
            return cls.from_folder(model)
        with scratch("ship") as tmp:
            target = os.path.join(tmp, "bundle")
            model.save(target)
            return cls.from_folder(target)

    def load(self) -> Any:
        """The model, loaded once per process from a private copy of the files."""
        model = _LOADED.get(self.digest)
        if model is None:
            from vipml import load_model
            from vipml.tempfiles import scratch

            with scratch("bundle") as root:  # the files are read whole, then removed
                for name, data in self.files.items():
                    path = root / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
                model = _LOADED[self.digest] = load_model(root)
        return model


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------


def _last_day(transactions: SparkDataFrame) -> pd.Timestamp:
    from pyspark.sql import functions as F

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
    from vipml.contract import TRANSACTION_COLUMNS
    from vipml.model_inputs import GivenInputs, check_inputs

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
    check_inputs(model.needed_inputs, given, allow_missing).report(
        model.config.columns.transactions, stacklevel=4
    )


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
) -> SparkDataFrame:
    """:func:`vipml.pipeline.score` on Spark DataFrames, one bucket of customers at a time.

    Parameters
    ----------
    model
        A :class:`vipml.bundle.VipModel`, a bundle folder, or an MLflow model URI
        (``models:/vipml@champion``; resolved on the driver). The bundle's files travel to the
        workers as bytes (:class:`ShippedBundle`); each worker loads them once.
    transactions, events, customers
        Spark DataFrames with vipml's column names (validated upstream).
    cutoff
        The scoring date; None takes the last date in the data.
    segment
        Also add the VIP status, tier, segment, gap to VIP and treatment, as ``vipml score``
        does (:func:`vipml.batch.score_to_file`): the per-customer scores are computed once
        (``localCheckpoint``), the population thresholds
        (:func:`vipml.segments.segment_thresholds`) from their ``customer_id``, value and CLV
        columns collected to the driver, and :func:`vipml.segments.assign_segments` segments
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

    Returns
    -------
    Spark DataFrame
        The columns and rows of the pandas scores table (:data:`vipml.pipeline.SCORE_COLUMNS`,
        then the model features), or with ``segment`` those of the segmented table of
        ``vipml score``; in no particular order.

    Notes
    -----
    What depends on the whole population is computed once, globally: the most profitable
    product lines (:func:`profitable_lines`) and, with ``segment``, the VIP threshold, tier
    bounds and dormant CLV bar. Everything else is per customer: features, BTYD predictions
    with the bundle's fitted parameters, both classifiers and the reasons.
    """
    from vipml.pipeline import score as pandas_score

    _require_columns(transactions, ["customer_id", "timestamp", "revenue"], "transactions")
    shipped = ShippedBundle.from_model(model)
    loaded = shipped.load()
    _check_inputs(loaded, transactions, events, customers, config, allow_missing)
    cutoff = _last_day(transactions) if cutoff is None else pd.Timestamp(cutoff).normalize()
    lines = profitable_lines(transactions, cutoff, loaded.config)
    extra = {"profitable_lines": lines}
    tx = _up_to(transactions, cutoff)
    ev = _up_to(events, cutoff)
    assert tx is not None
    schema = _score_schema(loaded, tx, ev, customers, cutoff, extra)

    def per_bucket(
        tx: pd.DataFrame, events: pd.DataFrame | None = None, customers: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        if tx.empty:  # a bucket with events or customers but no transaction: nobody to score
            return pd.DataFrame({name: [] for name in schema.fieldNames()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = pandas_score(
                shipped.load(), tx, cutoff, events=events, customers=customers,
                explain=not segment, verify_inputs=False, **extra,
            )
        return _to_plain(scores)

    scores = map_buckets(
        per_bucket, schema, tx, {"events": ev, "customers": customers}, num_buckets=num_buckets
    )
    if not segment:
        return scores
    config = config or loaded.config
    return _segment(scores, config, cutoff, shipped, reasons or config.scoring.reasons)


_POPULATION_COLUMNS = (
    "customer_id", "spend_12m", "profit_12m", "clv", "clv_profit", "p_future_vip"
)


def _segment(
    scores: SparkDataFrame,
    config: Config,
    cutoff: pd.Timestamp,
    shipped: ShippedBundle,
    reasons: str,
) -> SparkDataFrame:
    """Segment per-customer scores with thresholds computed over every customer; explain."""
    from vipml.batch import REASONS, explain_rows
    from vipml.pipeline import explain
    from vipml.segments import assign_segments, segment_thresholds

    if reasons not in REASONS:
        raise ConfigError(f"reasons={reasons!r}: use one of {', '.join(REASONS)}")

    with quiet_pyspark():
        scores = scores.localCheckpoint(eager=True)  # score once; read twice below
        population = scores.select(*_POPULATION_COLUMNS).toPandas()
        sample = _from_spark_batch(scores.limit(20).toPandas())
    thresholds = segment_thresholds(population, config, as_of=cutoff)
    del population
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        example = assign_segments(sample, config, as_of=cutoff, thresholds=thresholds)
    schema = spark_schema(example)
    from pyspark.sql import types as T

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
                    out = assign_segments(
                        _from_spark_batch(batch), config, as_of=cutoff, thresholds=thresholds,
                        order="input",
                    )
                    rows = explain_rows(out, reasons)
                    if rows.any():
                        out = explain(shipped.load(), out, rows)
                yield _to_plain(out)

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
    from pyspark.sql import types as T

    from vipml.pipeline import score as pandas_score

    with quiet_pyspark():
        sample = _from_spark_batch(tx.limit(500).toPandas())
        side_events = None if events is None else _from_spark_batch(events.limit(50).toPandas())
        side_customers = None
        if customers is not None:
            side_customers = _from_spark_batch(customers.limit(50).toPandas())
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


def read_table(
    spark: SparkSession, path: str | os.PathLike[str], columns: Mapping[str, str] | None = None
) -> SparkDataFrame:
    """Read a Parquet file or folder, or CSV (with a header), into a Spark DataFrame.

    ``columns`` maps the file's names onto vipml's (config ``columns.*``). A text
    ``timestamp`` is parsed (session time zone), ``revenue``, ``cost``, ``list_price`` and
    ``quantity`` become doubles and ``is_return`` a boolean; nothing else is checked here
    (validate data at the boundary, as on one machine).
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    text = str(path)
    lower = text.lower().rstrip("/")
    with quiet_pyspark():
        if lower.endswith((".csv", ".csv.gz", ".txt")):
            sdf = spark.read.csv(text, header=True, inferSchema=True)
        else:
            # pandas writes nanosecond timestamps, which Spark reads only as longs
            spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")
            sdf = spark.read.parquet(text)
    for theirs, ours in (columns or {}).items():
        if theirs in sdf.columns and theirs != ours:
            sdf = sdf.withColumnRenamed(theirs, ours)
    if "timestamp" in sdf.columns:
        kind = sdf.schema["timestamp"].dataType
        if isinstance(kind, T.StringType):
            sdf = sdf.withColumn("timestamp", F.to_timestamp("timestamp"))
        elif isinstance(kind, T.LongType):
            sdf = sdf.withColumn("timestamp", _nanos_to_timestamp(spark, F.col("timestamp")))
    for name in ("revenue", "cost", "list_price", "quantity"):
        if name in sdf.columns:
            sdf = sdf.withColumn(name, F.col(name).cast("double"))
    if "is_return" in sdf.columns:
        sdf = sdf.withColumn("is_return", F.col("is_return").cast("boolean"))
    return sdf


def _nanos_to_timestamp(spark: SparkSession, nanos: Column) -> Column:
    """Naive nanoseconds since the epoch (pandas' wall-clock timestamps) as a Spark timestamp
    showing the same wall clock in the session time zone (sub-microseconds dropped)."""
    from pyspark.sql import functions as F

    micros = ((nanos - F.pmod(nanos, F.lit(1000))) / F.lit(1000)).cast("long")
    zone = spark.conf.get("spark.sql.session.timeZone") or "UTC"
    return F.to_utc_timestamp(F.timestamp_micros(micros), zone)


def _read_input(
    spark: SparkSession,
    source: str | os.PathLike[str] | pd.DataFrame,
    columns: Mapping[str, str],
    table: str,
    policy: InputConfig | None = None,
) -> SparkDataFrame:
    """A path read by Spark; a pandas frame or a bundled dataset name (``cdnow``) converted
    (pandas frames validated with the ``input`` policies)."""
    from vipml.data.io import BUNDLED_DATASETS, read_transactions

    if isinstance(source, pd.DataFrame) or (
        table == "transactions" and isinstance(source, str) and source in BUNDLED_DATASETS
    ):
        frame = (
            read_transactions(source, columns, policy) if table == "transactions" else source
        )
        return to_spark(spark, frame)
    return read_table(spark, source, columns)


def _safe_csv(frame: SparkDataFrame) -> SparkDataFrame:
    """Text columns with formula-like values behind a ``'`` (:mod:`vipml.data.cells`)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from vipml.data.cells import FORMULA_REGEX

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
) -> dict[str, Any]:
    """Score files with Spark and write the scores: what ``vipml score --engine spark`` runs.

    Reads ``transactions`` (and optionally ``events``, ``customers``) with :func:`read_table`
    (column names mapped with ``config.columns``, default the model's; a pandas frame or the
    name ``cdnow`` / ``cdnow-sample`` is read on the driver and handed to Spark), scores and
    segments with :func:`score` (``segment=True``: the rows of ``vipml score``), and
    writes ``out`` as Spark does: a folder of Parquet parts, or of CSV parts with a header when
    ``out`` ends in ``.csv``. The folder is written beside ``out`` under a temporary name and
    renamed into place when complete, so ``out`` is never half-written (on a local or mounted
    file system; object stores use their own committers).

    Returns
    -------
    dict
        ``out`` (the path), ``cutoff`` (the date scored), ``customers`` (rows written).
    """
    import shutil
    from pathlib import Path

    from vipml.tempfiles import staging

    shipped = ShippedBundle.from_model(model)
    loaded = shipped.load()
    session = spark or spark_session(master)
    mapping = (config or loaded.config).columns
    policy = (config or loaded.config).input
    tx = _read_input(session, transactions, mapping.transactions, "transactions", policy)
    ev = None if events is None else _read_input(session, events, mapping.events, "events")
    cust = None
    if customers is not None:
        cust = _read_input(session, customers, mapping.customers, "customers")
    cutoff = _last_day(tx) if cutoff is None else pd.Timestamp(cutoff).normalize()
    scores = score(
        shipped, tx, cutoff, ev, cust, segment=segment, config=config, num_buckets=num_buckets,
        reasons=reasons, allow_missing=allow_missing,
    )

    from urllib.parse import urlparse

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
                written = reader.csv(where).count()
            else:
                writer.parquet(where)
                written = session.read.parquet(where).count()
        if local:
            final = Path(target.removeprefix("file://"))
            if final.exists():
                shutil.rmtree(final) if final.is_dir() else final.unlink()
            Path(where).rename(final)
    return {"out": target, "cutoff": f"{cutoff:%Y-%m-%d}", "customers": int(written)}


# --------------------------------------------------------------------------------------------
# lifetime value: fitted on the driver from compressed histories
# --------------------------------------------------------------------------------------------


def fit_lifetime_value(
    features: SparkDataFrame,
    config: Config | None = None,
    purchase_model: str | None = None,
) -> Any:
    """Fit :class:`vipml.modeling.btyd.LifetimeValueModel` on a Spark feature table.

    The BTYD likelihoods depend on a customer only through ``(frequency, recency, T)`` (and
    ``monetary_value`` for Gamma-Gamma), so Spark groups identical histories and only the
    distinct ones travel to the driver, with their counts: one-time buyers collapse onto a few
    thousand ``(0, 0, T)`` rows. The driver expands the counts and fits with the same class and
    settings as :func:`vipml.pipeline.train` (which compresses again internally), so the
    parameters equal the pandas fit on the same customers (to float rounding of the sums).

    Parameters
    ----------
    features
        The output of :func:`build_features` (or any table with ``frequency``, ``recency``,
        ``T`` and ``monetary_value`` per customer).
    config
        ``btyd`` and ``features.default_margin_rate`` settings; default :class:`Config`.
    purchase_model
        ``'bgnbd'``, ``'pareto_nbd'`` or ``'mbgnbd'``; default ``config.btyd.model`` (``'auto'``
        is not supported here: choose on a sample with :func:`vipml.modeling.btyd.compare_models`).
    """
    from pyspark.sql import functions as F

    from vipml.config import Config as _Config
    from vipml.features import BTYD_COLUMNS
    from vipml.modeling.btyd import LifetimeValueModel

    config = config or _Config()
    name = purchase_model or config.btyd.model
    if name == "auto":
        raise ConfigError(
            "btyd.model 'auto' compares models on a calibration/holdout split: pick 'bgnbd', "
            "'pareto_nbd' or 'mbgnbd' for the Spark fit"
        )
    columns = list(BTYD_COLUMNS)
    _require_columns(features, columns, "features")
    with quiet_pyspark():
        distinct = (
            features.select(*[F.col(c).cast("double").alias(c) for c in columns])
            .groupBy(*columns)
            .agg(F.count(F.lit(1)).alias("customers"))
            .orderBy(*columns)
            .toPandas()
        )
    if distinct.empty:
        raise SchemaError(["the feature table has no customers: is the cutoff before the data?"])
    counts = distinct["customers"].to_numpy(dtype=np.int64)
    summary = pd.DataFrame(
        {c: np.repeat(distinct[c].to_numpy(dtype=np.float64), counts) for c in columns}
    )
    log.info(
        "BTYD fit on %d customers from %d distinct histories", int(counts.sum()), len(distinct)
    )
    return LifetimeValueModel.from_config(config, name).fit(summary)
