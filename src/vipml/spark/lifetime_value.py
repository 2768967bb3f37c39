"""The lifetime-value model fitted on the driver from the distinct customer histories."""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F

from vipml.config import Config
from vipml.errors import (
    ConfigError,
    SchemaError,
)
from vipml.features import BTYD_COLUMNS
from vipml.modeling.btyd import LifetimeValueModel
from vipml.spark.frames import (
    require_columns,
)
from vipml.spark.session import quiet_pyspark

log = logging.getLogger(__name__)


def fit_lifetime_value(
    features: SparkDataFrame,
    config: Config | None = None,
    purchase_model: str | None = None,
) -> Any:
    """Fit :class:`vipml.modeling.btyd.LifetimeValueModel` on a Spark feature table.

    The BTYD likelihoods depend on a customer only through ``(frequency, recency, T)`` (and
    ``monetary_value`` for Gamma-Gamma), so Spark groups identical histories and only the
    distinct ones travel to the driver, with their counts: one-time buyers collapse onto a few
    thousand ``(0, 0, T)`` rows. The driver fits them with the counts as weights (nothing is
    expanded), with the same class and settings as :func:`vipml.pipeline.train`, so the
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
        is not supported here: choose on a sample with :func:`vipml.btyd_report.compare_models`).

    Returns
    -------
    LifetimeValueModel
        The fitted model.

    Examples
    --------
    Needs a Spark session (``tests/test_spark.py`` runs it)::

        >>> features = build_features(tx, "2024-12-30")                            # doctest: +SKIP
        >>> btyd = fit_lifetime_value(features, purchase_model="pareto_nbd")     # doctest: +SKIP
    """


    config = config or Config()
    name = purchase_model or config.btyd.model
    if name == "auto":
        raise ConfigError(
            "btyd.model 'auto' compares models on a calibration/holdout split: pick 'bgnbd', "
            "'pareto_nbd' or 'mbgnbd' for the Spark fit"
        )
    columns = list(BTYD_COLUMNS)
    require_columns(features, columns, "features")
    with quiet_pyspark():
        distinct = cast(
            pd.DataFrame,
            features.select(*[F.col(c).cast("double").alias(c) for c in columns])
            .groupBy(*columns)
            .agg(F.count(F.lit(1)).alias("customers"))
            .orderBy(*columns)
            .toPandas(),
        )
    if distinct.empty:
        raise SchemaError(["the feature table has no customers: is the cutoff before the data?"])
    counts = distinct["customers"].to_numpy(dtype=np.float64)
    summary = distinct[columns].astype(np.float64)
    log.info(
        "BTYD fit on %d customers from %d distinct histories", int(counts.sum()), len(distinct)
    )
    return LifetimeValueModel.from_config(config, name).fit(summary, weights=counts)
