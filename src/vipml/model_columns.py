"""The classifiers' input columns: every feature, the BTYD outputs, the ratios, the attributes.

The feature columns come from :mod:`vipml.features`, so the list is assembled here, above the
modeling layer (which does not read the feature builder).

Examples
--------
>>> "overdue_ratio" in model_feature_names()
True
"""

from __future__ import annotations

from collections.abc import Sequence

from vipml.features import FEATURE_COLUMNS
from vipml.modeling.classifier import BTYD_OUTPUTS, DERIVED_COLUMNS

__all__ = ["model_feature_names"]


def model_feature_names(attributes: Sequence[str] = ()) -> list[str]:
    """The model's input columns: every feature, the BTYD outputs, the ratios, the attributes.

    Parameters
    ----------
    attributes
        Names of the customer attributes the model reads.

    Returns
    -------
    list of str
        The columns, in the classifiers' order.

    Examples
    --------
    >>> names = model_feature_names(["region"])
    >>> names[:2], names[-1], "p_alive" in names
    (['frequency', 'recency'], 'region', True)
    """
    return [*FEATURE_COLUMNS, *BTYD_OUTPUTS, *DERIVED_COLUMNS, *attributes]
