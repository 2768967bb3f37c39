"""The model in MLflow: a vipml bundle as a pyfunc model built "from code".

The model's code is :data:`MODEL_CODE`, a two-line file that instantiates :class:`VipmlPyfunc`
(imported as ``vipml.tracking.VipmlPyfunc``: models logged before load through that path),
and its one artifact is the bundle folder (manifest, JSON parameters, LightGBM text), under
the key :data:`BUNDLE_KEY`. Nothing is pickled.

The pyfunc input is a DataFrame of transactions in the vipml contract (``customer_id``,
``timestamp`` as datetime, ``revenue``, and any optional columns such as ``cost``,
``list_price``, ``quantity``, ``category``, ``is_return``, ``order_id``); ``predict`` returns
the scores table, one row per customer seen up to the cutoff. The cutoff is the last timestamp
in the input unless the ``cutoff`` param says otherwise::

    model = mlflow.pyfunc.load_model("models:/vipml@champion")
    scores = model.predict(transactions, params={"cutoff": "1997-12-31"})
    segmented = model.predict(transactions, params={"segments": "true"})

Examples
--------
>>> "from vipml.tracking import VipmlPyfunc" in MODEL_CODE
True
"""

from __future__ import annotations

import importlib.metadata
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import ColSpec, Schema

from vipml.bundle import load_model
from vipml.data.schema import TRANSACTION_REQUIRED
from vipml.errors import ModelFormatError, VipmlError
from vipml.pipeline.scoring import score_customers

__all__ = [
    "MODEL_ARTIFACT",
    "BUNDLE_KEY",
    "MODEL_CODE",
    "VipmlPyfunc",
    "example_transactions",
    "model_signature",
    "pip_requirements",
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
    """The pyfunc signature: inputs from the example, outputs from scoring it.

    Optional columns of the contract are marked optional; the ``cutoff`` param is text.

    Parameters
    ----------
    bundle_dir
        The saved bundle that scores the example.
    example
        The input example (:func:`example_transactions`).

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
    output = VipmlPyfunc(bundle_dir).predict(None, example)
    inferred = infer_signature(example, output, params={"cutoff": "", "segments": "false"})
    inputs = Schema(
        [
            ColSpec(col.type, col.name, required=col.name in TRANSACTION_REQUIRED)
            for col in inferred.inputs.inputs
        ]
    )
    return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)


def pip_requirements() -> list[str]:
    """vipml and its runtime dependencies, pinned to the installed versions.

    Given explicitly: MLflow's own inference would load the model in a subprocess.

    Returns
    -------
    list of str
        ``name==version`` for vipml then each dependency (the bare name when not installed).

    Examples
    --------
    >>> pip_requirements()[0].startswith("vipml")
    True
    """
    names = ["vipml"]
    for requirement in importlib.metadata.requires("vipml") or []:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
    out = []
    for name in dict.fromkeys(names):
        try:
            out.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(name)
    return out
