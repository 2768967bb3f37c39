"""Hyperparameters the scikit-learn way: read from the ``__init__`` signature.

An estimator's ``__init__`` stores each argument unchanged under its own name (convention 1
of the design), so :meth:`Params.get_params` can list them from the signature, and
:func:`sklearn.base.clone` builds an unfitted copy.

Examples
--------
>>> class Model(Params):
...     def __init__(self, alpha: float = 1.0, steps: int = 10) -> None:
...         self.alpha = alpha
...         self.steps = steps
>>> model = Model(alpha=0.5).set_params(steps=3)
>>> model.get_params()
{'alpha': 0.5, 'steps': 3}
>>> Model().set_params(beta=1)
Traceback (most recent call last):
...
vipml.errors.InvalidArgumentError: Model has no parameter 'beta': its parameters are alpha, steps
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from vipml.errors import InvalidArgumentError, NotFittedError

__all__ = ["Params", "check_is_fitted"]


def check_is_fitted(
    estimator: object, attributes: str | Sequence[str], how: str = "call fit(...) first"
) -> None:
    """Raise :class:`~vipml.errors.NotFittedError` unless ``estimator`` has ``attributes``.

    The one not-fitted check of vipml's estimators (the fitted attributes end with ``_``).

    Parameters
    ----------
    estimator
        The estimator to check.
    attributes
        Name(s) of attributes that only a fit (or a load) sets.
    how
        How to get a fitted estimator, for the message.

    Examples
    --------
    >>> class Model:
    ...     pass
    >>> check_is_fitted(Model(), "params_")
    Traceback (most recent call last):
    ...
    vipml.errors.NotFittedError: this Model is not fitted yet: call fit(...) first
    >>> model = Model()
    >>> model.params_ = {}
    >>> check_is_fitted(model, ["params_"])
    """
    names = [attributes] if isinstance(attributes, str) else list(attributes)
    if not all(hasattr(estimator, name) for name in names):
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: {how}")


class Params:
    """``get_params`` / ``set_params`` from the ``__init__`` signature (scikit-learn style).

    Examples
    --------
    >>> class Model(Params):
    ...     def __init__(self, alpha: float = 1.0) -> None:
    ...         self.alpha = alpha
    >>> Model(alpha=2.0).get_params()
    {'alpha': 2.0}
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, by name (``deep`` is accepted for scikit-learn; no vipml
        estimator nests another)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set hyperparameters by name; return the estimator (refit it to use them)."""
        names = self._param_names()
        for name, value in params.items():
            if name not in names:
                raise InvalidArgumentError(
                    f"{type(self).__name__} has no parameter {name!r}: its parameters are "
                    f"{', '.join(names)}"
                )
            setattr(self, name, value)
        return self
