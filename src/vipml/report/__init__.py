"""What marketers receive: ``vip_list.csv``, ``vip_list.xlsx`` and a self-contained ``report.html``.

:func:`write_lists` takes the scores (segmented by :func:`vipml.segments.assign_segments`, or
segmented here when they are not yet) and writes, each atomically:

* ``vip_list.csv``: every customer on a list (all but the ``regular`` segment), with
  :data:`vipml.segments.SCORE_COLUMNS` then the status columns (``vip_since``, ``vip_until``,
  read back by the next fixed-mode run);
* ``vip_list.xlsx``: a summary sheet, one sheet per list (VIPs by tier, predicted VIPs,
  near-VIPs, at-risk VIPs, dormant high-potential), the VIP profile and the treatment rules,
  with readable headers, numbers as numbers in currency / percent / count formats, and a
  frozen header row with an autofilter on every sheet (:mod:`vipml.report.spreadsheet`);
* in both, text a spreadsheet would read as a formula (a customer id ``=HYPERLINK(...)``)
  stays text (:mod:`vipml.data.cells`);
* ``report.html``: one file, plots embedded as data URIs (value concentration with the top
  10% / 1% shares against the rule of thumb, segment sizes, the VIP profile, and the backtest
  lift chart and calibration curve when given), tables, and a preview of each list
  (:mod:`vipml.report.page`, built from :mod:`vipml.report.html_blocks`).

Readable names of columns and signals are in :mod:`vipml.report.names`, what the spreadsheet
and the page share in :mod:`vipml.report.content`, the writing in :mod:`vipml.report.files`.

Examples
--------
Writing the files (a full example is in :func:`write_lists`):

>>> OUTPUT_FILES
{'csv': 'vip_list.csv', 'xlsx': 'vip_list.xlsx', 'html': 'report.html'}
>>> HEADERS["p_future_vip"], SIGNAL_NAMES["aov_mean"]
('P(future VIP)', 'Average order value')
"""

from vipml.report.files import OUTPUT_FILES, write_lists
from vipml.report.names import HEADERS, SIGNAL_NAMES
from vipml.report.page import report_html
from vipml.report.spreadsheet import spreadsheet_sheets

__all__ = [
    "HEADERS", "OUTPUT_FILES", "SIGNAL_NAMES", "write_lists", "report_html", "spreadsheet_sheets"
]
