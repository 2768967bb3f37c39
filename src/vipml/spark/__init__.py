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

try:  # the optional dependency: every module of this package imports pyspark at its top
    import pyspark  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    from vipml.errors import VipmlError

    raise VipmlError(
        "the Spark engine needs PySpark: pip install 'vipml[spark]' (PySpark 4 and Java 17)"
    ) from exc

from vipml.spark.features import build_features, profitable_lines
from vipml.spark.files import read_table, score_path
from vipml.spark.frames import bucket_expression, map_buckets, spark_schema, to_spark, with_bucket
from vipml.spark.lifetime_value import fit_lifetime_value
from vipml.spark.scoring import score
from vipml.spark.session import BUCKET, quiet_pyspark, spark_session
from vipml.spark.shipping import ShippedBundle
from vipml.spark.thresholds import spark_thresholds
from vipml.spark.validation import (
    SparkValidation,
    check_customers,
    check_events,
    check_transactions,
    validate_customers,
    validate_events,
    validate_transactions,
)

__all__ = [
    "BUCKET",
    "spark_session",
    "quiet_pyspark",
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
    "spark_thresholds",
    "SparkValidation",
    "check_transactions",
    "validate_transactions",
    "check_events",
    "validate_events",
    "check_customers",
    "validate_customers",
]
