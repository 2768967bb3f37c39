"""What marketers receive, written to a folder: :func:`write_lists`.

``vip_list.csv`` (every customer on a list, :data:`vipml.segments.SCORE_COLUMNS` then the
status columns, read back by the next fixed-mode run), ``vip_list.xlsx``
(:func:`~vipml.report.spreadsheet_sheets`) and ``report.html``
(:func:`~vipml.report.report_html`), each written atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vipml.config import Config
from vipml.data.io import write_excel, write_table, write_text
from vipml.report.content import ensure_segments
from vipml.report.names import DATE_COLUMNS, MONEY_COLUMNS, PERCENT_COLUMNS
from vipml.report.page import report_html
from vipml.report.spreadsheet import number_formats, spreadsheet_sheets
from vipml.segments import SCORE_COLUMNS, STATUS_COLUMNS, as_config, with_churn_reasons

__all__ = ["OUTPUT_FILES", "write_lists"]

logger = logging.getLogger(__name__)

#: The files :func:`write_lists` writes, by key.
OUTPUT_FILES = {"csv": "vip_list.csv", "xlsx": "vip_list.xlsx", "html": "report.html"}


_CSV_DECIMALS = {
    **{c: 2 for c in MONEY_COLUMNS}, **{c: 4 for c in PERCENT_COLUMNS}, "expected_purchases": 3,
}


def _csv_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Every listed customer; at-risk and lapsed VIPs with their churn reasons."""
    listed = scores[scores["segment"] != "regular"]
    columns = [c for c in (*SCORE_COLUMNS, *STATUS_COLUMNS) if c in listed.columns]
    out = with_churn_reasons(listed)[columns].copy()
    for col, decimals in _CSV_DECIMALS.items():  # amounts to the cent, no float noise
        if col in out:
            out[col] = out[col].astype(np.float64).round(decimals)
    for col in DATE_COLUMNS:
        if col in out:
            out[col] = pd.to_datetime(out[col]).dt.strftime("%Y-%m-%d").fillna("")
    return out.reset_index(drop=True)


def write_lists(
    scores: pd.DataFrame,
    out_dir: str | Path,
    config: Config | Mapping[str, Any] | None = None,
    backtest: Mapping[str, Any] | Figure | pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
) -> dict[str, Path]:
    """Write ``vip_list.csv``, ``vip_list.xlsx`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    scores
        The scores table. When it already carries ``vip_now``, ``tier``, ``segment``,
        ``gap_to_vip`` and ``treatment`` those are used as they are (the scorer may have applied
        a previous run's fixed-term statuses); otherwise they are assigned here with ``config``.
    out_dir
        Folder for the three files (created if needed). Each file is written atomically.
    config
        The rules (and the currency, tier order); default :class:`vipml.config.Config`.
    backtest
        Optional: Figures (lift chart, calibration curve), tables or metrics to show.
    attributes
        Optional customer attributes (``customer_id``, ``acquisition_channel``, ``region``,
        ``first_category``, ...) for the VIP profile.

    Returns
    -------
    dict
        ``{"csv": path, "xlsx": path, "html": path}``.

    Examples
    --------
    >>> import tempfile
    >>> scores = pd.DataFrame({
    ...     "customer_id": [1, 2, 3, 4], "spend_12m": [900.0, 400.0, 100.0, 0.0],
    ...     "profit_12m": [300.0, 120.0, 30.0, 0.0], "orders_12m": [5, 3, 1, 0],
    ...     "days_since_last": [3, 20, 90, 400], "p_alive": [0.9, 0.8, 0.6, 0.1],
    ...     "expected_purchases": [3.0, 1.5, 0.5, 0.0], "clv": [600.0, 200.0, 40.0, 0.0],
    ...     "clv_profit": [200.0, 60.0, 12.0, 0.0], "p_future_vip": [0.8, 0.6, 0.1, 0.0],
    ...     "p_churn": [0.7, 0.2, 0.5, 0.95], "reasons": ["big spender", "", "", ""]})
    >>> paths = write_lists(scores, Path(tempfile.mkdtemp()) / "lists")
    >>> sorted(p.name for p in paths.values())
    ['report.html', 'vip_list.csv', 'vip_list.xlsx']
    >>> pd.read_csv(paths["csv"])[["customer_id", "segment"]].values.tolist()
    [[1, 'at_risk_vip'], [2, 'predicted_vip']]
    """
    cfg = as_config(config)
    scores = ensure_segments(scores, cfg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "csv": write_table(_csv_table(scores), out_dir / OUTPUT_FILES["csv"]),
        "xlsx": write_excel(
            spreadsheet_sheets(scores, cfg, attributes),
            out_dir / OUTPUT_FILES["xlsx"],
            number_formats=number_formats(cfg.vip.currency),
        ),
        "html": write_text(
            report_html(scores, cfg, backtest, attributes), out_dir / OUTPUT_FILES["html"]
        ),
    }
    logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
