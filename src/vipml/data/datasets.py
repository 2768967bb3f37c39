"""Datasets: CDNOW from inside the lifetimes package, and simulated logs with known truth.

Nothing is downloaded: CDNOW ships with lifetimes (``lifetimes/datasets``), and
:func:`simulate` generates data from known processes.

Examples
--------
>>> tx = load_cdnow(sample=True)
>>> len(tx), tx["customer_id"].nunique()
(6919, 2357)
>>> list(tx.columns)
['customer_id', 'timestamp', 'revenue', 'quantity']
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from vipml.data.schema import check_transactions
from vipml.data.simulate import Simulation, save_simulation, simulate
from vipml.errors import VipmlError

__all__ = ["cdnow_path", "load_cdnow", "simulate", "Simulation", "save_simulation"]


def cdnow_path(sample: bool = False) -> Path:
    """Path of the CDNOW file inside the installed lifetimes package.

    Parameters
    ----------
    sample : bool, default False
        The 1/10 sample instead of the full log.

    Returns
    -------
    Path
        The file (raises VipmlError when lifetimes or the file is missing).

    Examples
    --------
    >>> cdnow_path(sample=True).name
    'CDNOW_sample.txt'
    """
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        raise VipmlError("the lifetimes package is not installed: pip install lifetimes==0.11.3")
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    path = Path(spec.origin).parent / "datasets" / name
    if not path.exists():
        raise VipmlError(f"{path} is missing from the lifetimes installation: reinstall lifetimes")
    return path


def load_cdnow(sample: bool = False) -> pd.DataFrame:
    """Load CDNOW as validated transactions: customer_id, timestamp, revenue, quantity.

    The full log has 69,659 transactions of 23,570 customers (1997-01-01 to 1998-06-30); the
    sample (``sample=True``) has 6,919 transactions of 2,357 customers, identified by the
    sample's own ids 1..2357 as in Fader, Hardie & Lee (2005). Identical rows (255 in the full
    log) are kept: they are separate purchases of the same amount on the same day.

    Parameters
    ----------
    sample : bool, default False
        The 1/10 sample instead of the full log.

    Returns
    -------
    pandas.DataFrame
        Validated transactions.

    Examples
    --------
    >>> load_cdnow(sample=True)["timestamp"].min()
    Timestamp('1997-01-01 00:00:00')
    """
    path = cdnow_path(sample)
    if sample:
        names = ["master_id", "customer_id", "date", "quantity", "revenue"]
        raw = pd.read_csv(path, sep=r"\s+", header=None, names=names, dtype={"date": str})
    else:
        raw = pd.read_csv(path, sep=r"\s+", dtype={"date": str})
        raw = raw.rename(columns={"number_of_cds": "quantity", "dollar_value": "revenue"})
    raw["timestamp"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    tx = raw[["customer_id", "timestamp", "revenue", "quantity"]]
    # CDNOW repeats identical rows (same customer, day, amount): they are separate purchases,
    # so the duplicate warning is not raised here.
    return check_transactions(tx).raise_if_problems(warn=False)
