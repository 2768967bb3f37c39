"""The model in MLflow: a vipml bundle as a pyfunc model built "from code".

The model's code is :data:`MODEL_CODE`, a two-line file that instantiates :class:`VipmlPyfunc`
(imported as ``vipml.tracking.VipmlPyfunc``: models logged before load through that path),
and its one artifact is the bundle folder (manifest, JSON parameters, LightGBM text), under
the key :data:`BUNDLE_KEY`. Nothing is pickled.

The pyfunc input is a DataFrame of transactions in the vipml contract, **as text**, the way a
CSV file or a JSON request carries it (:func:`model_signature`): ``customer_id`` (text),
``timestamp`` (text, read with the bundle's ``input`` settings), ``revenue``, and any optional
column (``cost``, ``list_price``, ``quantity``, ``unit_price``, ``category``, ``is_return``,
``order_id``, ``product_id``, ... and the row attributes the model was trained with).
``predict`` validates it like ``vipml score`` does and returns the scores table, one row per
customer seen up to the cutoff. The cutoff is the last timestamp in the input unless the
``cutoff`` param says otherwise. A typed frame (integer ids, datetime timestamps) goes through
:func:`as_model_input` first::

    model = mlflow.pyfunc.load_model("models:/vipml@champion")
    scores = model.predict(as_model_input(transactions), params={"cutoff": "1997-12-31"})
    segmented = model.predict(as_model_input(transactions), params={"segments": "true"})

The same model serves CSV and JSON: ``mlflow models predict -m models:/vipml@champion -i
tx.csv -t csv`` and ``mlflow models serve``.

Examples
--------
>>> "from vipml.tracking import VipmlPyfunc" in MODEL_CODE
True
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import ColSpec, Schema

from vipml.bundle import load_model
from vipml.contract import TRANSACTION_OPTIONAL, TRANSACTION_REQUIRED
from vipml.data.schema import validate_transactions
from vipml.errors import ModelFormatError, VipmlError
from vipml.features import FEATURE_COLUMNS, INT_COLUMNS
from vipml.pipeline.scoring import score_customers, score_features
from vipml.version import __version__

__all__ = [
    "CUSTOMERS_ARTIFACT",
    "CUSTOMERS_MODEL_CODE",
    "VipmlCustomersPyfunc",
    "customers_example",
    "customers_signature",
    "TEXT_COLUMNS",
    "as_model_input",
    "MODEL_ARTIFACT",
    "BUNDLE_KEY",
    "MODEL_CODE",
    "VipmlPyfunc",
    "example_transactions",
    "model_signature",
    "model_metadata",
    "pip_requirements",
    "vipml_code_path",
]

MODEL_ARTIFACT = "model"
"""Name under which the pyfunc model is logged in a run."""
BUNDLE_KEY = "bundle"
"""Key of the bundle folder among the pyfunc model's artifacts (``artifacts/bundle``)."""
MODEL_CODE = '''"""vipml pyfunc model (MLflow models from code): artifacts/bundle is the model."""
import mlflow

from vipml.tracking import VipmlPyfunc

mlflow.models.set_model(VipmlPyfunc())
'''
"""The model's code file: logged models import ``vipml.tracking.VipmlPyfunc``, keep it there."""


CUSTOMERS_ARTIFACT = "customers_model"
"""Name under which the per-customer pyfunc model is logged in a run."""
CUSTOMERS_MODEL_CODE = '''"""vipml per-customer pyfunc model (MLflow models from code)."""
import mlflow

from vipml.tracking.pyfunc import VipmlCustomersPyfunc

mlflow.models.set_model(VipmlCustomersPyfunc())
'''
"""The per-customer model's code file (imports ``vipml.tracking.pyfunc.VipmlCustomersPyfunc``)."""


#: Contract columns that travel as text in the model's input; the others are numbers.
TEXT_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "timestamp",
    "order_id",
    "category",
    "is_return",
    "product_id",
)


def as_model_input(transactions: pd.DataFrame) -> pd.DataFrame:
    """A typed transactions frame as the pyfunc model takes it: ids, timestamps and the other
    text columns as text (timestamps as ISO 8601), numbers as floats.

    Parameters
    ----------
    transactions
        Transactions in the vipml contract (e.g. :func:`vipml.data.io.read_transactions`).

    Returns
    -------
    pandas.DataFrame
        The same rows and columns; missing values stay missing.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [7], "timestamp": pd.to_datetime(["2024-01-02 10:30"]),
    ...                    "revenue": [12], "quantity": [3]})
    >>> row = as_model_input(tx).iloc[0]
    >>> row["customer_id"], row["timestamp"], float(row["revenue"]), row["quantity"].dtype
    ('7', '2024-01-02T10:30:00', 12.0, dtype('float64'))
    """
    out = pd.DataFrame(transactions).copy()
    for column in out.columns:
        values = out[column]
        if column == "timestamp" and pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
            out[column] = text.astype(object).where(values.notna(), None)
        elif column in TEXT_COLUMNS or not pd.api.types.is_numeric_dtype(values):
            out[column] = values.astype("string").astype(object).where(values.notna(), None)
        elif not pd.api.types.is_bool_dtype(values):
            out[column] = values.astype(np.float64)
    return out


class VipmlPyfunc(PythonModel):
    """The MLflow pyfunc face of a vipml bundle: transactions in, the scores table out.

    ``load_context`` loads the bundle from the model's ``bundle`` artifact with
    :func:`vipml.bundle.load_model`; ``predict`` scores every customer in the input with the
    scoring service (:func:`vipml.pipeline.scoring.score_customers`) at the ``cutoff`` param
    (default: the last timestamp in the input), every customer explained. The ``segments``
    param ``"true"`` also segments them, with thresholds from the customers in the input (so
    send the whole base, not a few customers).

    Parameters
    ----------
    bundle_dir
        A saved bundle to load now; None when MLflow loads it (``load_context``).

    Examples
    --------
    >>> VipmlPyfunc().predict(None, pd.DataFrame())
    Traceback (most recent call last):
    ...
    vipml.errors.ModelFormatError: the vipml pyfunc model has no bundle loaded
    """

    def __init__(self, bundle_dir: str | os.PathLike[str] | None = None):
        self.bundle_dir = bundle_dir
        self.model: Any = None
        if bundle_dir is not None:
            self.model = load_model(Path(bundle_dir))

    def load_context(self, context: Any) -> None:
        """Load the bundle stored among the model's artifacts."""
        self.model = load_model(context.artifacts[BUNDLE_KEY])

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, str] | None = None
    ) -> pd.DataFrame:
        """Score the customers in ``model_input`` (transactions); see the module docs."""
        if self.model is None:
            raise ModelFormatError("the vipml pyfunc model has no bundle loaded")
        transactions = pd.DataFrame(model_input)
        if "timestamp" in transactions and not pd.api.types.is_datetime64_any_dtype(
            transactions["timestamp"]
        ):  # text, as CSV and JSON carry it: read like `vipml score` reads a file
            transactions = validate_transactions(transactions, policy=self.model.config.input)
        value = (params or {}).get("cutoff") or None
        if value is None:
            if "timestamp" not in transactions or not len(transactions):
                raise VipmlError(
                    "the input has no timestamp to take the cutoff from: pass transactions with "
                    "a timestamp column, or params={'cutoff': 'YYYY-MM-DD'}"
                )
            cutoff = pd.Timestamp(pd.to_datetime(transactions["timestamp"]).max())
        else:
            try:
                cutoff = pd.Timestamp(value)
            except (TypeError, ValueError):
                raise VipmlError(
                    f"cutoff param {value!r} is not a date: use YYYY-MM-DD, e.g. 1997-12-31"
                ) from None
        segmented = str((params or {}).get("segments", "false")).lower() == "true"
        result = score_customers(
            self.model, transactions, cutoff, reasons="all", segment=segmented,
            allow_missing=(),
        )
        return result.table


class VipmlCustomersPyfunc(VipmlPyfunc):
    """The per-customer face of a vipml bundle: one row of features per customer in, the same
    customer's scores out, row for row, so ``mlflow.pyfunc.spark_udf`` can score a Spark
    DataFrame of :func:`vipml.spark.build_features` output.

    ``predict`` runs :func:`vipml.pipeline.scoring.score_features`: the input holds the columns
    of :data:`vipml.features.FEATURE_COLUMNS` (and the customer attributes the model was trained
    with); the output holds :data:`vipml.pipeline.PREDICTION_COLUMNS` but ``customer_id``, in
    the input's order (``p_future_vip``, ``p_churn``, ``clv``, ...). The ``reasons`` param
    ``"true"`` writes the reasons (TreeSHAP: slower). No segments: they need the whole base.

    Parameters
    ----------
    bundle_dir
        A saved bundle to load now; None when MLflow loads it (``load_context``).

    Examples
    --------
    >>> VipmlCustomersPyfunc().predict(None, pd.DataFrame())
    Traceback (most recent call last):
    ...
    vipml.errors.ModelFormatError: the vipml pyfunc model has no bundle loaded
    """

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, str] | None = None
    ) -> pd.DataFrame:
        """Score each row of ``model_input`` (one customer's features); see the class docs."""
        if self.model is None:
            raise ModelFormatError("the vipml pyfunc model has no bundle loaded")
        rows = pd.DataFrame(model_input).reset_index(drop=True)
        explain = str((params or {}).get("reasons", "false")).lower() == "true"
        scored = score_features(self.model, rows.rename_axis("customer_id"), explain=explain)
        return scored.drop(columns="customer_id")


def customers_example(bundle_dir: Path, example: pd.DataFrame) -> pd.DataFrame:
    """The per-customer model's input example: the feature rows of the customers in a
    transactions example (the columns :func:`customers_signature` declares).

    Parameters
    ----------
    bundle_dir
        The saved bundle.
    example
        Transactions as the transaction-level model takes them (:func:`as_model_input`).

    Returns
    -------
    pandas.DataFrame
        One row per customer: :data:`vipml.features.FEATURE_COLUMNS`, then the attributes.

    Examples
    --------
    >>> customers_example(Path("no-such-bundle"), pd.DataFrame())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ModelFormatError: ...
    """
    scorer = VipmlPyfunc(bundle_dir)
    scored = scorer.predict(None, example)
    columns = [*FEATURE_COLUMNS, *(scorer.model.attributes or [])]
    return scored[columns].reset_index(drop=True)


def customers_signature(bundle_dir: Path, example: pd.DataFrame) -> ModelSignature:
    """The per-customer model's signature: the feature columns in (integers as longs, the rest
    doubles, attributes as text), its scores of ``example`` out, the ``reasons`` param.

    Parameters
    ----------
    bundle_dir
        The saved bundle that scores the example.
    example
        Feature rows of a few customers (:func:`vipml.features.build_features`, attributes
        joined).

    Returns
    -------
    mlflow.models.ModelSignature
        Inputs, outputs and params.

    Examples
    --------
    >>> customers_signature(Path("no-such-bundle"), pd.DataFrame())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ModelFormatError: ...
    """
    scorer = VipmlCustomersPyfunc(bundle_dir)
    output = scorer.predict(None, example)
    inferred = infer_signature(example.head(1), output, params={"reasons": "false"})
    attributes = list(scorer.model.attributes or [])
    inputs = Schema(
        [
            *(
                ColSpec("long" if name in INT_COLUMNS else "double", name)
                for name in FEATURE_COLUMNS
            ),
            *(ColSpec("string", name) for name in attributes),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)


def example_transactions(transactions: pd.DataFrame, max_customers: int) -> pd.DataFrame:
    """All rows of the first ``max_customers`` customers (by first appearance).

    Parameters
    ----------
    transactions
        Transactions in the vipml contract (e.g. the training data).
    max_customers
        How many customers to keep.

    Returns
    -------
    pandas.DataFrame
        Their rows, in the input's order, with a fresh index.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [7, 3, 7, 5], "revenue": [1.0, 2.0, 3.0, 4.0]})
    >>> example_transactions(tx, 2)["revenue"].tolist()
    [1.0, 2.0, 3.0]
    """
    if not isinstance(transactions, pd.DataFrame) or "customer_id" not in transactions:
        raise VipmlError(
            "input_example must be a transactions DataFrame with a customer_id column "
            "(e.g. the training data)"
        )
    first = pd.unique(transactions["customer_id"])[:max_customers]
    example = transactions[transactions["customer_id"].isin(first)].reset_index(drop=True)
    return example


def model_signature(bundle_dir: Path, example: pd.DataFrame) -> ModelSignature:
    """The pyfunc signature: the contract as text in, the scores table out.

    Inputs: every column of the transactions contract, the required ones required and the
    others optional, plus the row attributes the model was trained with (optional: a missing
    one is reported by name when scoring). Ids, timestamps and the other
    :data:`TEXT_COLUMNS` are text, so CSV files and JSON requests need no typing; numbers are
    doubles. Outputs: the scores of ``example``. Params: ``cutoff`` and ``segments``, text.

    Parameters
    ----------
    bundle_dir
        The saved bundle that scores the example.
    example
        The input example (:func:`example_transactions`, as :func:`as_model_input`).

    Returns
    -------
    mlflow.models.ModelSignature
        Inputs, outputs and params.

    Examples
    --------
    >>> model_signature(Path("no-such-bundle"), pd.DataFrame())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ModelFormatError: ...
    """
    scorer = VipmlPyfunc(bundle_dir)
    output = scorer.predict(None, example)
    inferred = infer_signature(example, output, params={"cutoff": "", "segments": "false"})
    trained_with = scorer.model.inputs
    attributes = trained_with.row_attributes if trained_with is not None else ()
    contract = (*TRANSACTION_REQUIRED, *TRANSACTION_OPTIONAL)
    numbers = [c for c in contract if c not in TEXT_COLUMNS]
    inputs = Schema(
        [
            ColSpec(
                "double" if name in numbers else "string",
                name,
                required=name in TRANSACTION_REQUIRED,
            )
            for name in (*contract, *(a for a in attributes if a not in contract))
        ]
    )
    return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)


def model_metadata(manifest: Mapping[str, Any]) -> dict[str, str]:
    """The logged models' metadata: vipml's version, the bundle's cutoff and horizon, and how
    to call the transaction-level model.

    Parameters
    ----------
    manifest
        The bundle's ``manifest.json`` content.

    Returns
    -------
    dict of str to str
        MLflow's ``metadata`` of the logged model.

    Examples
    --------
    >>> model_metadata({"cutoff": "1997-12-31"})["cutoff"]
    '1997-12-31'
    """
    return {
        "vipml_version": __version__,
        "cutoff": str(manifest.get("cutoff", "")),
        "horizon": str(manifest.get("horizon", "")),
        "input": "transactions as text: customer_id, timestamp, revenue (+ optional columns); "
        "vipml.tracking.as_model_input converts a typed frame",
        "params": "cutoff (YYYY-MM-DD; default: the last timestamp in the input)",
    }


def pip_requirements() -> list[str]:
    """vipml's runtime dependencies with their lower bounds, as declared in its packaging.

    vipml itself is not among them: no package index has it, so the logged model carries its
    code instead (:func:`vipml_code_path`, MLflow's ``code_paths``). An environment built from
    these requirements (``--env-manager virtualenv``, a docker image) loads the model without
    vipml installed.

    Returns
    -------
    list of str
        One ``name>=version`` (or ``==`` where vipml pins) per dependency, extras left out.

    Examples
    --------
    >>> reqs = pip_requirements()
    >>> any(r.startswith("vipml") for r in reqs), any(r.startswith("lightgbm>=") for r in reqs)
    (False, True)
    """
    out = []
    for requirement in importlib.metadata.requires("vipml") or []:
        if "extra ==" in requirement:
            continue
        out.append(requirement.split(";")[0].replace(" ", ""))
    return list(dict.fromkeys(out))


def vipml_code_path(folder: str | os.PathLike[str]) -> Path:
    """Copy the vipml package (its Python files, no caches) into ``folder``: the code the logged
    model carries.

    Parameters
    ----------
    folder
        An empty scratch folder.

    Returns
    -------
    pathlib.Path
        ``folder/vipml``, to pass as MLflow's ``code_paths``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     copied = vipml_code_path(tmp)
    ...     (copied / "tracking" / "pyfunc.py").exists(), list(copied.rglob("__pycache__"))
    (True, [])
    """
    source = Path(__file__).resolve().parents[1]  # the vipml package: vipml/tracking/..
    target = Path(folder) / "vipml"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target
