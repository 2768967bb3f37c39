"""The BTYD models by name: build a purchase model, or rebuild any saved model.

Examples
--------
>>> type(make_purchase_model("mbgnbd")).__name__
'ModifiedBetaGeoModel'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vipml.errors import ConfigError, ModelFormatError
from vipml.modeling.btyd.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from vipml.modeling.btyd.checks import DEFAULT_PENALIZERS
from vipml.modeling.btyd.gamma_gamma import GammaGammaModel
from vipml.modeling.btyd.pareto import ParetoNBDModel
from vipml.modeling.btyd.purchase import PURCHASE_MODELS, PurchaseModel, PurchaseModelName

__all__ = ["make_purchase_model", "model_from_dict"]

_MODEL_CLASSES: dict[str, type[PurchaseModel]] = {
    "bgnbd": BetaGeoModel,
    "pareto_nbd": ParetoNBDModel,
    "mbgnbd": ModifiedBetaGeoModel,
}


def make_purchase_model(
    name: PurchaseModelName,
    penalizers: Sequence[float] = DEFAULT_PENALIZERS,
    compress: bool = True,
) -> PurchaseModel:
    """A purchase model by name: ``'bgnbd'``, ``'pareto_nbd'`` or ``'mbgnbd'``.

    Parameters
    ----------
    name
        The model's name.
    penalizers
        Penalizer schedule of its fit.
    compress
        Fit on distinct histories with weights.

    Returns
    -------
    PurchaseModel
        The unfitted model.

    Examples
    --------
    >>> make_purchase_model("pareto_nbd")
    ParetoNBDModel(penalizers=(0.0, 0.001, 0.01, 0.1))
    >>> make_purchase_model("nbd")
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: purchase model 'nbd' is not one of 'bgnbd', 'pareto_nbd', 'mbgnbd'
    """
    if name not in _MODEL_CLASSES:
        valid = ", ".join(repr(m) for m in PURCHASE_MODELS)
        raise ConfigError(f"purchase model {name!r} is not one of {valid}")
    return _MODEL_CLASSES[name](penalizers=penalizers, compress=compress)


def model_from_dict(d: Mapping[str, Any]) -> PurchaseModel | GammaGammaModel:
    """Rebuild any BTYD model saved with ``to_dict`` (dispatching on ``d['model']``).

    Parameters
    ----------
    d
        The output of a model's ``to_dict``.

    Returns
    -------
    PurchaseModel or GammaGammaModel
        The fitted model.

    Examples
    --------
    >>> d = {"model": "bgnbd", "format_version": 1,
    ...      "params": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}}
    >>> model_from_dict(d).params_["alpha"]
    4.4
    """
    name = d.get("model") if isinstance(d, Mapping) else None
    if name == "gamma_gamma":
        return GammaGammaModel.from_dict(d)
    if name not in _MODEL_CLASSES:
        raise ModelFormatError(
            f"unknown BTYD model {name!r}: expected one of "
            f"{', '.join(repr(m) for m in (*PURCHASE_MODELS, 'gamma_gamma'))}"
        )
    return _MODEL_CLASSES[name].from_dict(d)
