"""The Spark session vipml runs in: the active one, or a local one made with sensible settings."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


BUCKET = "_vipml_bucket"
"""Name of the temporary bucket column (dropped from every result)."""


#: A ``PYTHONWARNINGS`` filter for PySpark's notice that pandas >= 3 is "not fully supported".
PANDAS_NOTICE_FILTER = "ignore:PySpark does not yet fully support pandas:FutureWarning"


@contextmanager
def quiet_pyspark() -> Iterator[None]:
    """Silence PySpark's known warning that pandas >= 3 is 'not fully supported'.

    Returns
    -------
    contextlib.AbstractContextManager
        A context in which those warnings are ignored.

    Examples
    --------
    >>> import warnings
    >>> with quiet_pyspark():
    ...     warnings.warn("PySpark does not yet fully support pandas 3", UserWarning)
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
        yield


def buckets_from_setting(value: str | None, parallelism: int | None = None) -> int:
    """The number of customer buckets ``spark.sql.shuffle.partitions`` asks for.

    A number is taken as is; any other value (Databricks' ``auto``, where adaptive query
    execution picks the partitions) or none gives ``parallelism`` (the cluster's default
    parallelism), or 8 without it.

    Parameters
    ----------
    value
        The setting's text, or None when unset.
    parallelism
        The session's default parallelism, when known.

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> buckets_from_setting("200"), buckets_from_setting("auto", 16), buckets_from_setting(None)
    (200, 16, 8)
    """
    try:
        return max(int(str(value)), 1)
    except ValueError:
        return max(int(parallelism or 8), 1)


def default_buckets(spark: SparkSession) -> int:
    """:func:`buckets_from_setting` of a session's ``spark.sql.shuffle.partitions``.

    Parameters
    ----------
    spark
        The session.

    Returns
    -------
    int
        The number of buckets.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> default_buckets(session)                                            # doctest: +SKIP
        4
    """
    try:
        parallelism = spark.sparkContext.defaultParallelism
    except Exception:  # Spark Connect has no SparkContext
        parallelism = None
    return buckets_from_setting(spark.conf.get("spark.sql.shuffle.partitions", None), parallelism)


@contextmanager
def session_setting(spark: SparkSession, key: str, value: str) -> Iterator[None]:
    """Set a session setting for the block only, then put back what the user had.

    Parameters
    ----------
    spark
        The session.
    key, value
        The setting.

    Returns
    -------
    contextlib.AbstractContextManager
        The block's context.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> with session_setting(session, "spark.sql.legacy.parquet.nanosAsLong", "true"):
        ...     frame = session.read.parquet("tx.parquet")                   # doctest: +SKIP
    """
    before = spark.conf.get(key, None)
    spark.conf.set(key, value)
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


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

    Returns
    -------
    pyspark.sql.SparkSession
        The active session, or a new one.

    Notes
    -----
    In local mode ``SPARK_LOCAL_IP`` defaults to 127.0.0.1 (else Spark binds the external
    interface) and ``PYSPARK_PYTHON`` to this interpreter (else workers may start a Python
    without vipml's dependencies). A new session gets the UTC time zone, Arrow and adaptive
    execution; an active session, or one spark-submit configures, is left as it is.

    Examples
    --------
    Needs a JVM (``tests/test_spark.py`` runs it)::

        >>> session = spark_session("local[2]", shuffle_partitions=4)  # doctest: +SKIP
        >>> session.conf.get("spark.sql.session.timeZone")             # doctest: +SKIP
        'UTC'
    """

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
        settings.update({
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            # the Python workers' copy of the pandas >= 3 notice quiet_pyspark silences here
            "spark.executorEnv.PYTHONWARNINGS": PANDAS_NOTICE_FILTER,
        })
    settings.update(dict(conf or {}))
    for key, value in settings.items():
        builder = builder.config(key, value)
    with quiet_pyspark():
        spark = builder.getOrCreate()
    if local:
        spark.sparkContext.setLogLevel("ERROR")
    return spark

