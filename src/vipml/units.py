"""Shared constants of time and of the machine, defined once for every layer.

Examples
--------
>>> DURATION_DAYS["M"] == DAYS_PER_MONTH, PERIOD_DAYS["W"]
(True, 7.0)
>>> cpu_count() >= 1
True
"""

from __future__ import annotations

import os

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "DURATION_DAYS",
    "NS_PER_DAY",
    "PERIOD_DAYS",
    "cpu_count",
]

#: An average month (365.25 / 12 days): durations such as ``6M`` and CLV horizons in months.
DAYS_PER_MONTH = 30.4375
#: An average year.
DAYS_PER_YEAR = 365.25
#: The units of a duration (``labels.horizon``, ``training.cutoff_step``), in days.
DURATION_DAYS = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH, "Y": DAYS_PER_YEAR}
#: The BTYD time units (the period of ``frequency``, ``recency`` and ``T``), in days.
PERIOD_DAYS = {"D": 1.0, "W": 7.0}
#: Nanoseconds per day (timestamps as int64 nanoseconds).
NS_PER_DAY = 86_400 * 10**9


def cpu_count() -> int:
    """The cores this process may run on (its CPU affinity where the system has one).

    Returns
    -------
    int
        At least 1.

    Examples
    --------
    >>> cpu_count() >= 1
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
