"""Per-customer features at a cutoff: the seven VIP value signals and the BTYD summary.

:func:`build_features` returns one row per customer with the columns of
:data:`FEATURE_COLUMNS`; :func:`calibration_holdout` adds the outcomes of a later window;
:func:`first_category` gives the category of each customer's first purchase (VIP profile).
"""

from vipml.features.build import (
    FEATURE_COLUMNS,
    HOLDOUT_COLUMNS,
    INT_COLUMNS,
    build_features,
    calibration_holdout,
    features_and_first_category,
)
from vipml.features.rfm import BTYD_COLUMNS, btyd_summary
from vipml.features.value import first_category, line_totals, profitable_lines, rank_lines

__all__ = [
    "BTYD_COLUMNS",
    "FEATURE_COLUMNS",
    "HOLDOUT_COLUMNS",
    "INT_COLUMNS",
    "btyd_summary",
    "build_features",
    "calibration_holdout",
    "features_and_first_category",
    "first_category",
    "line_totals",
    "profitable_lines",
    "rank_lines",
]
