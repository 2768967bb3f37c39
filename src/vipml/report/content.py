"""What the spreadsheet and the page both show: the scores segmented, the value signals the
data have, and the VIPs' share of value.

Examples
--------
>>> scores = pd.DataFrame({"spend_12m": [900.0, 100.0, 0.0], "vip_now": [True, False, False]})
>>> vip_share(scores, "spend_12m")
0.9
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.segments import assign_segments

__all__ = ["ensure_segments", "signals_present", "vip_share"]


def ensure_segments(
    scores: pd.DataFrame, config: Config | Mapping[str, Any] | None
) -> pd.DataFrame:
    """The scores with their segments: as they are when segmented, else segmented now.

    Scores that carry ``vip_now``, ``tier``, ``segment``, ``gap_to_vip`` and ``treatment`` are
    used as they are (the scorer may have applied a previous run's fixed-term statuses).

    Parameters
    ----------
    scores
        The scores table.
    config
        The rules (:func:`vipml.segments.assign_segments`) for scores not yet segmented.

    Returns
    -------
    pandas.DataFrame
        The segmented scores.

    Examples
    --------
    >>> done = pd.DataFrame({"vip_now": [True], "tier": ["gold"], "segment": ["vip"],
    ...                      "gap_to_vip": [0.0], "treatment": ["Thank-you note"]})
    >>> ensure_segments(done, None) is done
    True
    """
    if all(c in scores.columns for c in ("vip_now", "tier", "segment", "gap_to_vip", "treatment")):
        return scores
    return assign_segments(scores, config)


def signals_present(profile: pd.DataFrame) -> pd.DataFrame:
    """The profile without the value signals the data do not have (zero or missing for
    everyone, e.g. the full-price share of a log without list prices).

    Parameters
    ----------
    profile
        A :func:`vipml.segments.vip_profile` table.

    Returns
    -------
    pandas.DataFrame
        Its rows but those signals, with a fresh index.

    Examples
    --------
    >>> profile = pd.DataFrame({"kind": ["signal", "signal"],
    ...                         "attribute": ["spend_12m", "full_price_share"],
    ...                         "vip": [950.0, 0.0], "everyone_else": [80.0, None]})
    >>> signals_present(profile)["attribute"].tolist()
    ['spend_12m']
    """
    groups = [g for g in ("vip", "predicted_vip", "everyone_else") if g in profile]
    values = profile[groups].apply(pd.to_numeric, errors="coerce").fillna(0.0)
    empty = (profile["kind"] == "signal").to_numpy() & (values == 0).all(axis=1).to_numpy()
    return profile.loc[~empty].reset_index(drop=True)


def vip_share(scores: pd.DataFrame, value_col: str) -> float:
    """The VIPs' (at-risk and lapsed ones included) share of the total value: the sum of the
    VIP rows' shares in the segments table.

    Parameters
    ----------
    scores
        The segmented scores (``vip_now`` and the value column).
    value_col
        The value column (``spend_12m`` or ``profit_12m``); only positive values count.

    Returns
    -------
    float
        The share, 0 when nobody has a positive value.

    Examples
    --------
    >>> scores = pd.DataFrame({"spend_12m": [300.0, 100.0, -50.0],
    ...                        "vip_now": [True, False, True]})
    >>> vip_share(scores, "spend_12m")
    0.75
    """
    value = scores[value_col].to_numpy(dtype=np.float64)
    total = value[value > 0].sum()
    vip = scores["vip_now"].to_numpy(dtype=bool)
    return float(value[vip & (value > 0)].sum() / total) if total > 0 else 0.0
