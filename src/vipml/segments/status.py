"""A customer's VIP status: the value the rule reads, the run's date, and what an earlier
run said (a fixed-mode status holds for its term)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import Config, VipConfig
from vipml.data.cells import original_text
from vipml.errors import ConfigError, SchemaError

__all__ = ["value_columns", "run_date_of", "truthy", "vip_status"]


def value_columns(vip: VipConfig) -> tuple[str, str]:
    """The value and CLV columns of the VIP rule: spend (``spend_12m``, ``clv``) or profit.

    Parameters
    ----------
    vip
        The ``vip`` settings.

    Returns
    -------
    tuple of (str, str)
        The 12-month value column and the CLV column.

    Examples
    --------
    >>> value_columns(Config().vip)
    ('spend_12m', 'clv')
    """
    return ("spend_12m", "clv") if vip.value == "spend" else ("profit_12m", "clv_profit")


def run_date_of(scores: pd.DataFrame, as_of: Any = None) -> pd.Timestamp | None:
    """The date of a run: ``as_of``, else the table's ``as_of`` or ``cutoff`` attribute.

    Parameters
    ----------
    scores
        The scores table (its ``attrs`` are read).
    as_of
        The date given by the caller, if any.

    Returns
    -------
    pandas.Timestamp or None
        Midnight of that date; None when nothing says.

    Examples
    --------
    >>> run_date_of(pd.DataFrame(), "2024-03-01 10:00")
    Timestamp('2024-03-01 00:00:00')
    """
    for candidate in (as_of, scores.attrs.get("as_of"), scores.attrs.get("cutoff")):
        if candidate is not None and not (isinstance(candidate, float) and math.isnan(candidate)):
            try:
                return pd.Timestamp(candidate).normalize()
            except (ValueError, TypeError):
                raise ConfigError(f"as_of {candidate!r} is not a date: use YYYY-MM-DD") from None
    return None


def _previous_status(
    df: pd.DataFrame, previous: pd.DataFrame | None
) -> tuple[np.ndarray, pd.Series, pd.Series]:
    """Per customer of ``df``: was a VIP before, since when, until when (NaT when unknown)."""
    n = len(df)
    nat = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if previous is None:
        return np.zeros(n, dtype=bool), nat, nat.copy()
    missing = [c for c in ("customer_id", "vip_now") if c not in previous.columns]
    if missing:
        raise SchemaError(
            [
                f"missing column(s) {', '.join(missing)}: give the scores (or vip_list.csv) of "
                "an earlier run, with its vip_now, vip_since and vip_until columns"
            ],
            table="previous",
        )
    # a vip_list.csv holds formula-like ids behind a "'" (vipml.data.cells): read them back
    key = previous["customer_id"].map(original_text).astype(str)
    prev = previous.assign(_key=key).drop_duplicates("_key")
    prev = prev.set_index("_key")
    keys = df["customer_id"].astype(str)
    was = prev["vip_now"].map(truthy).reindex(keys).fillna(False).to_numpy(dtype=bool)

    def dates(col: str) -> pd.Series:
        if col not in prev:
            return nat.copy()
        parsed = pd.to_datetime(prev[col], errors="coerce").astype("datetime64[ns]")
        return pd.Series(parsed.reindex(keys).to_numpy(), index=df.index)

    return was, dates("vip_since"), dates("vip_until")


def truthy(v: Any) -> bool:
    """Whether a value read from a file means true (``'yes'``, ``'1'``, ``True``, ...).

    Parameters
    ----------
    v
        The value; missing values are false.

    Returns
    -------
    bool
        Its truth.

    Examples
    --------
    >>> truthy("Yes"), truthy("0"), truthy(float("nan")), truthy(1)
    (True, False, False, True)
    """
    if isinstance(v, str):
        return v.strip().lower() in ("true", "t", "yes", "y", "1", "1.0")
    try:
        return bool(v) and not (isinstance(v, float) and math.isnan(v))
    except (TypeError, ValueError):
        return False


def vip_status(
    df: pd.DataFrame,
    cfg: Config,
    previous: pd.DataFrame | None,
    run_date: pd.Timestamp | None,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series, pd.Series]:
    """Per customer: VIP now, held by its term, was a VIP before, previous since / until dates.

    Parameters
    ----------
    df
        The customers, with the rule's value column (:func:`value_columns`) and ``customer_id``.
    cfg
        The VIP rule.
    previous
        An earlier run's table (``customer_id``, ``vip_now``, ``vip_since``, ``vip_until``).
    run_date
        This run's date (needed with ``previous``).
    threshold
        The VIP threshold of this run.

    Returns
    -------
    tuple
        ``vip_now``, ``held`` and ``was_vip`` (boolean arrays), ``vip_since`` and ``vip_until``
        of the earlier run (Series of timestamps, NaT when unknown).

    Examples
    --------
    >>> table = pd.DataFrame({"customer_id": [1, 2], "spend_12m": [50.0, 0.0]})
    >>> vip_status(table, Config(), None, None, 0.0)[0].tolist()
    [True, False]
    """
    vip = cfg.vip
    value = df[value_columns(vip)[0]].to_numpy(dtype=np.float64)
    if previous is not None and run_date is None:
        raise ConfigError(
            "previous is given but not the date of this run: pass as_of (the scoring cutoff, "
            "--as-of on the command line)"
        )
    was_vip, prev_since, prev_until = _previous_status(df, previous)
    if vip.mode == "fixed" and run_date is not None:
        held = was_vip & (prev_until > run_date).to_numpy(dtype=bool)
    else:
        held = np.zeros(len(df), dtype=bool)
    vip_now = ((value >= threshold) & (value > 0)) | held
    return vip_now, held, was_vip, prev_since, prev_until
