"""The classifiers' input at a cutoff: features, BTYD outputs, ratios and customer attributes."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from vipml.btyd_report import compare_models
from vipml.config import Config, parse_duration
from vipml.data.problems import missing_required_problems
from vipml.data.schema import transaction_attributes
from vipml.errors import SchemaError
from vipml.features import (
    build_features,
    calibration_holdout,
    features_and_first_category,
    first_category,
)
from vipml.features.attributes import row_attributes
from vipml.features.rfm import BTYD_COLUMNS
from vipml.model_columns import model_feature_names
from vipml.modeling.btyd import BtydWarning, LifetimeValueModel
from vipml.modeling.classifier import (
    BTYD_OUTPUTS,
    derived_columns,
)
from vipml.pipeline.common import (
    up_to,
)
from vipml.units import DAYS_PER_MONTH

log = logging.getLogger(__name__)


_MAX_LEVELS = 200


def categorical_attributes(customers: pd.DataFrame | None) -> pd.DataFrame:
    """Categorical attributes of the customers table (text columns), indexed by customer_id.

    Parameters
    ----------
    customers
        The customers table (``customer_id`` and attributes), or ``None``.

    Returns
    -------
    pandas.DataFrame
        Text columns with at most 200 distinct values, missing values as ``'unknown'``.

    Examples
    --------
    >>> cu = pd.DataFrame({"customer_id": [1, 2], "tier": ["gold", None], "age": [30, 40]})
    >>> categorical_attributes(cu)["tier"].tolist()
    ['gold', 'unknown']
    """
    if customers is None:
        return pd.DataFrame(index=pd.Index([], name="customer_id"))
    if "customer_id" not in customers:
        raise SchemaError(
            missing_required_problems(
                customers.columns, ["customer_id"], "map your id column to customer_id"
            ),
            "customers",
        )
    table = customers.drop_duplicates("customer_id").set_index("customer_id")
    keep = []
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        if pd.api.types.is_bool_dtype(values):
            continue
        if _few_levels(values, "customers", col):
            keep.append(col)
    return table[keep].astype("string").fillna("unknown").astype(object)


def _few_levels(values: pd.Series, table: str, column: str) -> bool:
    """Whether a text column has few enough distinct values to be a categorical feature."""
    levels = values.nunique(dropna=True)
    if levels > _MAX_LEVELS:
        log.warning(
            "%s: %s has %d distinct values (more than %d): not used as a feature",
            table, column, levels, _MAX_LEVELS,
        )
        return False
    return True


def row_attribute_names(transactions: pd.DataFrame) -> list[str]:
    """The customer attributes carried on the transaction rows (``input.customer_attributes``)
    that can be features: at most ``_MAX_LEVELS`` distinct values each.

    Parameters
    ----------
    transactions
        Validated transactions.

    Returns
    -------
    list of str
        The usable attribute names.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]),
    ...     "revenue": [5.0]})
    >>> row_attribute_names(tx)
    []
    """
    return [
        name
        for name in transaction_attributes(transactions)
        if _few_levels(transactions[name], "transactions", name)
    ]


def customer_attributes_at(
    transactions: pd.DataFrame,
    customers_table: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    names: Sequence[str],
) -> pd.DataFrame:
    """The attributes ``names`` at ``cutoff``: from the customers table where it has the column
    (it wins for the same name), else from the transaction rows; ``first_category`` is left to
    :func:`model_frame`.

    Parameters
    ----------
    transactions
        Validated transactions.
    customers_table
        Attributes indexed by ``customer_id`` (:func:`categorical_attributes`).
    cutoff
        The day the attributes are read at.
    names
        The attribute names wanted, in order.

    Returns
    -------
    pandas.DataFrame
        One column per name, indexed by ``customer_id``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]),
    ...     "revenue": [5.0]})
    >>> table = pd.DataFrame({"tier": ["gold"]}, index=pd.Index([1], name="customer_id"))
    >>> customer_attributes_at(tx, table, "2024-01-31", ["tier"]).to_dict("list")
    {'tier': ['gold']}
    """
    from_rows = [
        n for n in names if n not in customers_table.columns and n in transactions.columns
    ]
    table = customers_table.reindex(columns=[n for n in names if n in customers_table.columns])
    if from_rows:
        table = pd.concat([table, row_attributes(transactions, cutoff, from_rows)], axis=1)
    return table.reindex(columns=list(names))


def _btyd_inputs(features: pd.DataFrame) -> dict[str, pd.Series]:
    orders = features["orders"].to_numpy(dtype=np.float64)
    support = features["support_cost"].to_numpy(dtype=np.float64) / np.maximum(orders, 1.0)
    return {
        "margin_rate": features["margin_rate"],
        "return_rate": features["return_rate_value"],
        "support_cost_rate": pd.Series(support, index=features.index),
    }


def choose_purchase_model(
    transactions: pd.DataFrame, cutoff: pd.Timestamp, horizon: pd.Timedelta, config: Config
) -> str:
    """``config.btyd.model``, or for ``'auto'`` the best on the latest label window.

    Parameters
    ----------
    transactions
        Validated transactions.
    cutoff
        The training cutoff.
    horizon
        The label window's length.
    config
        Its ``btyd.model`` is used as is unless ``'auto'``.

    Returns
    -------
    str
        The purchase model's name (``'pareto_nbd'``, ``'mbgnbd'``, ...).

    Examples
    --------
    >>> from vipml.config import config_from_dict
    >>> tx = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]),
    ...     "revenue": [5.0]})
    >>> choose_purchase_model(tx, pd.Timestamp("2024-06-30"), pd.Timedelta(days=91),
    ...     config_from_dict({"btyd": {"model": "mbgnbd"}}))
    'mbgnbd'
    """
    if config.btyd.model != "auto":
        return config.btyd.model

    ch = calibration_holdout(
        up_to(transactions, cutoff), cutoff - horizon, horizon, config=config, features="btyd"
    )
    best = compare_models(ch, penalizers=config.btyd.penalizers).best
    log.info("btyd.model auto: %s predicts the latest window best", best)
    return best


def _btyd_outputs(
    btyd: LifetimeValueModel, features: pd.DataFrame, horizon: pd.Timedelta, config: Config
) -> pd.DataFrame:
    summary = features[list(BTYD_COLUMNS)]
    inputs = _btyd_inputs(features)
    with warnings.catch_warnings():  # the CLV call below repeats any warning once
        warnings.simplefilter("ignore", BtydWarning)
        near = btyd.predict(summary, horizon.days / 7.0, **inputs)
    clv_weeks = config.btyd.clv_months * DAYS_PER_MONTH / 7.0
    far = btyd.predict(summary, clv_weeks, **inputs)
    out = near[["expected_purchases", "p_alive", "p_no_purchase", "expected_spend"]].copy()
    out["expected_value"] = out["expected_purchases"] * out["expected_spend"]
    out["clv"] = far["clv"]
    out["clv_profit"] = far["clv_profit"]
    return out[list(BTYD_OUTPUTS)]


def model_frame(
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp,
    horizon: str | int | pd.Timedelta,
    btyd: LifetimeValueModel,
    events: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    config: Config | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
    features: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The classifiers' input at ``cutoff``: features, BTYD outputs, ratios and attributes.

    One row per customer with a purchase or a return on or before the cutoff, indexed by
    ``customer_id``, columns :func:`~vipml.model_columns.model_feature_names`.
    ``features``: the :func:`~vipml.features.build_features` table of these transactions at
    this cutoff, when it is at hand (it is not built again).

    Parameters
    ----------
    transactions
        Validated transactions (rows after the cutoff's day are ignored).
    cutoff
        The cutoff.
    horizon
        The prediction window's length (for the BTYD outputs).
    btyd
        A fitted :class:`~vipml.modeling.btyd.LifetimeValueModel`.
    events, attributes
        The optional events table and customer attributes (indexed by ``customer_id``).
    config
        The settings (defaults when ``None``).
    profitable_lines
        The product lines counted as profitable, when fixed by training.
    features
        The feature table, when at hand.

    Returns
    -------
    pandas.DataFrame
        One row per customer, the model's feature columns.

    Examples
    --------
    >>> from vipml.model_columns import model_feature_names
    >>> "p_alive" in model_feature_names([])
    True
    """
    config = config or Config()
    horizon = parse_duration(horizon)
    names = [] if attributes is None else list(attributes.columns)
    first = None
    if "first_category" in names and "category" in transactions:
        if features is None:
            features, first = features_and_first_category(
                transactions, cutoff, events, config, profitable_lines=profitable_lines
            )
        else:
            first = first_category(transactions, cutoff)
    elif features is None:
        features = build_features(
            transactions, cutoff, events, config, profitable_lines=profitable_lines
        )
    table = None
    if attributes is not None and names:
        table = attributes.reindex(features.index)
        if first is not None:
            table["first_category"] = first.reindex(features.index).astype(object)
    return frame_from_features(features, horizon, btyd, config, table)


def frame_from_features(
    features: pd.DataFrame,
    horizon: str | int | pd.Timedelta,
    btyd: LifetimeValueModel,
    config: Config | None = None,
    attributes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The classifiers' input from a feature table: the features, the BTYD outputs, the ratios
    and the attributes (missing ones read ``'unknown'``).

    Parameters
    ----------
    features
        :func:`~vipml.features.build_features` output (or
        :func:`vipml.spark.build_features`'), indexed by ``customer_id``.
    horizon
        The prediction window's length (for the BTYD outputs).
    btyd
        A fitted :class:`~vipml.modeling.btyd.LifetimeValueModel`.
    config
        The settings (defaults when ``None``).
    attributes
        The customers' attribute columns, indexed like ``features``.

    Returns
    -------
    pandas.DataFrame
        One row per row of ``features``, in its order, the model's feature columns.

    Examples
    --------
    See :func:`model_frame`, which builds the features first.
    """
    config = config or Config()
    horizon = parse_duration(horizon)
    names = [] if attributes is None else list(attributes.columns)
    parts = [features, _btyd_outputs(btyd, features, horizon, config), derived_columns(features)]
    if attributes is not None and names:
        parts.append(attributes.reindex(features.index).fillna("unknown"))
    frame = pd.concat(parts, axis=1)
    return frame[model_feature_names(names)]


def attribute_feature_names(transactions: pd.DataFrame, customers_table: pd.DataFrame) -> list[str]:
    """The attribute features: the customers table's (:func:`categorical_attributes`), then the row
    attributes it lacks, then ``first_category`` when there are categories.

    Parameters
    ----------
    transactions
        Validated transactions.
    customers_table
        The customers' categorical attributes (:func:`categorical_attributes`).

    Returns
    -------
    list of str
        The attribute feature names, in order.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"]),
    ...     "revenue": [5.0], "category": ["books"]})
    >>> attribute_feature_names(tx, pd.DataFrame(columns=["tier"]))
    ['tier', 'first_category']
    """
    names = list(customers_table.columns)
    names += [n for n in row_attribute_names(transactions) if n not in names]
    if "category" in transactions and "first_category" not in names:
        names.append("first_category")
    return names

