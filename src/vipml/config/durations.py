"""Durations such as ``26W`` (horizons, cutoff steps), read into a :class:`pandas.Timedelta`.

Examples
--------
>>> parse_duration("4W")
Timedelta('28 days 00:00:00')
"""

from __future__ import annotations

import pandas as pd

from vipml.errors import ConfigError
from vipml.units import DURATION_DAYS

__all__ = ["parse_duration"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_duration(value: str | int | pd.Timedelta, name: str = "horizon") -> pd.Timedelta:
    """Parse a duration such as ``'26W'``, ``'90D'``, ``'6M'`` (30.4375 days each) or ``'1Y'``.

    Text needs its unit: ``'26'`` is an error (26 days or 26 weeks?). A Python integer means
    days. Months and years are rounded to whole days.

    Parameters
    ----------
    value
        The duration: text with a unit, an integer number of days, or a Timedelta (returned as
        it is).
    name
        What the value is, named in errors (a setting or an option).

    Returns
    -------
    pandas.Timedelta
        Whole days.

    Raises
    ------
    ConfigError
        When the value has no unit or is not a positive duration.

    Examples
    --------
    >>> parse_duration("26W").days, parse_duration("6M").days, parse_duration(30).days
    (182, 183, 30)
    >>> parse_duration("26", "--horizon")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: --horizon: '26' has no unit: write 26D (days), 26W (weeks), ...
    >>> parse_duration("2 fortnights")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.ConfigError: horizon: '2 fortnights' is not a duration: use a number ...
    """
    if isinstance(value, pd.Timedelta):
        return value
    text = str(value).strip().upper()
    if isinstance(value, str) and _is_number(text):
        raise ConfigError(
            f"{name}: {value!r} has no unit: write {text}D (days), {text}W (weeks), {text}M "
            f"(months) or {text}Y (years)"
        )
    unit = text[-1:] if text[-1:].isalpha() else "D"
    number = text[:-1] if text[-1:].isalpha() else text
    try:
        amount = float(number)
    except ValueError:
        amount = -1.0
    if unit not in DURATION_DAYS or amount <= 0:
        raise ConfigError(
            f"{name}: {value!r} is not a duration: use a number followed by D, W, M or Y, e.g. 26W"
        )
    return pd.Timedelta(days=round(amount * DURATION_DAYS[unit]))
