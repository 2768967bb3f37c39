"""Backtests at several cutoffs summed up: per target and score, the mean and the worst case.

:func:`vipml.pipeline.backtest_cutoffs` runs one :class:`~vipml.modeling.backtest.BacktestResult`
per cutoff; :class:`CutoffsBacktest` holds them and summarises ROC AUC and average precision over
the cutoffs (mean, worst = minimum, and each cutoff's value). The discovery rows (the future-VIP
scores among the customers not VIPs at the cutoff) appear under the target
``future_vip_discovery``.

Examples
--------
>>> index = pd.MultiIndex.from_tuples([("churn", "lightgbm")], names=["target", "score"])
>>> first = BacktestResult(pd.DataFrame({"roc_auc": [0.8], "average_precision": [0.5]},
...     index=index), pd.DataFrame(), pd.Timestamp("1997-12-31"), "26W")
>>> second = BacktestResult(pd.DataFrame({"roc_auc": [0.7], "average_precision": [0.6]},
...     index=index), pd.DataFrame(), pd.Timestamp("1998-01-31"), "26W")
>>> row = CutoffsBacktest([first, second]).summary().loc[("churn", "lightgbm")]
>>> [round(float(row[c]), 2) for c in ("roc_auc_mean", "roc_auc_worst", "roc_auc@1998-01-31")]
[0.75, 0.7, 0.7]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from vipml.modeling.backtest import DISCOVERY_METRICS, BacktestResult

__all__ = ["CutoffsBacktest", "DISCOVERY_TARGET", "SUMMARY_METRICS"]

#: The metrics summed up over the cutoffs.
SUMMARY_METRICS = DISCOVERY_METRICS
#: The target name of the discovery rows in :meth:`CutoffsBacktest.summary`.
DISCOVERY_TARGET = "future_vip_discovery"


def _day(value: Any) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"


@dataclass
class CutoffsBacktest:
    """Backtests of the same horizon at several cutoffs (one per cutoff, in order).

    Attributes
    ----------
    results
        One :class:`~vipml.modeling.backtest.BacktestResult` per cutoff.

    Examples
    --------
    >>> index = pd.MultiIndex.from_tuples([("churn", "lightgbm")], names=["target", "score"])
    >>> one = BacktestResult(pd.DataFrame({"roc_auc": [0.8], "average_precision": [0.5]},
    ...     index=index), pd.DataFrame(), pd.Timestamp("1997-12-31"), "26W")
    >>> CutoffsBacktest([one]).cutoffs
    ['1997-12-31']
    """

    results: list[BacktestResult]

    @property
    def cutoffs(self) -> list[str]:
        """The cutoffs, as ``YYYY-MM-DD``."""
        return [_day(r.cutoff) for r in self.results]

    def per_cutoff(self) -> pd.DataFrame:
        """Each cutoff's values: indexed by ``(target, score)``, columns ``(metric, cutoff)``.

        Returns
        -------
        pandas.DataFrame
            The :data:`SUMMARY_METRICS` of every score at every cutoff (discovery rows under
            :data:`DISCOVERY_TARGET`).

        Examples
        --------
        >>> index = pd.MultiIndex.from_tuples([("churn", "lightgbm")], names=["target", "score"])
        >>> one = BacktestResult(pd.DataFrame({"roc_auc": [0.8], "average_precision": [0.5]},
        ...     index=index), pd.DataFrame(), pd.Timestamp("1997-12-31"), "26W")
        >>> CutoffsBacktest([one]).per_cutoff().columns.tolist()
        [('roc_auc', '1997-12-31'), ('average_precision', '1997-12-31')]
        """
        parts = {}
        for result, cutoff in zip(self.results, self.cutoffs, strict=True):
            table = result.table[list(SUMMARY_METRICS)]
            if len(result.discovery):
                found = result.discovery[list(SUMMARY_METRICS)].rename(
                    index={"future_vip": DISCOVERY_TARGET}, level="target"
                )
                table = pd.concat([table, found])
            parts[cutoff] = table
        frame = pd.concat(parts, axis=1, sort=False)  # columns (cutoff, metric)
        frame = frame.swaplevel(axis=1)
        order = [(m, c) for m in SUMMARY_METRICS for c in self.cutoffs]
        return frame[order].astype(float)

    def summary(self) -> pd.DataFrame:
        """Per target and score: ``<metric>_mean``, ``<metric>_worst`` (the minimum over the
        cutoffs) and ``<metric>@<cutoff>`` for each of :data:`SUMMARY_METRICS`.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``(target, score)``.

        Examples
        --------
        >>> index = pd.MultiIndex.from_tuples([("churn", "lightgbm")], names=["target", "score"])
        >>> one = BacktestResult(pd.DataFrame({"roc_auc": [0.8], "average_precision": [0.5]},
        ...     index=index), pd.DataFrame(), pd.Timestamp("1997-12-31"), "26W")
        >>> CutoffsBacktest([one]).summary().columns.tolist()[:3]
        ['roc_auc_mean', 'roc_auc_worst', 'roc_auc@1997-12-31']
        """
        values = self.per_cutoff()
        columns = {}
        for metric in SUMMARY_METRICS:
            part = values[metric]
            columns[f"{metric}_mean"] = part.mean(axis=1)
            columns[f"{metric}_worst"] = part.min(axis=1)
            for cutoff in self.cutoffs:
                columns[f"{metric}@{cutoff}"] = part[cutoff]
        return pd.DataFrame(columns, index=values.index)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: horizon, cutoffs, the summary (``{target: {score: {metric: {mean,
        worst, per_cutoff}}}}``) and each cutoff's :meth:`BacktestResult.to_dict`.

        Returns
        -------
        dict
            The summary and the backtests.

        Examples
        --------
        >>> index = pd.MultiIndex.from_tuples([("future_vip", "lightgbm"),
        ...     ("churn", "lightgbm")], names=["target", "score"])
        >>> one = BacktestResult(pd.DataFrame({"roc_auc": [0.9, 0.8],
        ...     "average_precision": [0.5, 0.6]}, index=index), pd.DataFrame(),
        ...     pd.Timestamp("1997-12-31"), "26W")
        >>> CutoffsBacktest([one]).to_dict()["summary"]["churn"]["lightgbm"]["roc_auc"]["worst"]
        0.8
        """
        values = self.per_cutoff()
        summary: dict[str, Any] = {}
        for (target, score), row in values.iterrows():
            entry = summary.setdefault(str(target), {}).setdefault(str(score), {})
            for metric in SUMMARY_METRICS:
                part = row[metric]
                entry[metric] = {
                    "mean": _number(part.mean()),
                    "worst": _number(part.min()),
                    "per_cutoff": {c: _number(part[c]) for c in self.cutoffs},
                }
        return {
            "horizon": str(self.results[0].horizon) if self.results else "",
            "cutoffs": self.cutoffs,
            "summary": summary,
            "backtests": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON (NaN written as null).

        Returns
        -------
        str
            The JSON text.

        Examples
        --------
        >>> index = pd.MultiIndex.from_tuples([("future_vip", "lightgbm"),
        ...     ("churn", "lightgbm")], names=["target", "score"])
        >>> one = BacktestResult(pd.DataFrame({"roc_auc": [0.9, float("nan")],
        ...     "average_precision": [0.5, 0.6]}, index=index), pd.DataFrame(),
        ...     pd.Timestamp("1997-12-31"), "26W")
        >>> '"mean": null' in CutoffsBacktest([one]).to_json()
        True
        """
        return json.dumps(self.to_dict(), indent=2)


def _number(value: Any) -> float | None:
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None
