"""Feature speed: vipml's BTYD summary + calibration/holdout against lifetimes, and the full set.

Usage::

    python benchmarks/bench_features.py --customers 1000000 [--json OUT] [--repeat 3]

Data: ``vipml.data.simulate.simulate(N, seed)``, observed log plus its future (orders, returns,
events). The cutoff is the day before the simulation's ``end`` and the holdout is 26 weeks.

Measured, in one run (wall clock, best of ``--repeat`` runs of each side):

- **lifetimes**: ``summary_data_from_transaction_data`` at the last day of the holdout plus
  ``calibration_and_holdout_data`` split at the cutoff (both with ``monetary_value_col``), for
  ``freq`` D and W;
- **vipml**: ``btyd_summary`` at the same day plus ``calibration_holdout(features="btyd")`` with
  the same ``freq`` and ``time_unit = freq``, on the same input: the purchases as three columns
  (``customer_id, timestamp, revenue``; lifetimes has no notion of returns). The outputs are
  compared (largest absolute difference, printed) so that the ratio compares equal work;
- **vipml full feature set**: ``build_features`` (every column of ``FEATURE_COLUMNS``) on the
  whole log with returns, costs, categories and events, and ``calibration_holdout`` with every
  feature.

Simulating the data is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vipml.config import config_from_dict
from vipml.data.simulate import simulate
from vipml.features import btyd_summary, build_features, calibration_holdout

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

HORIZON = pd.Timedelta(weeks=26)


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Smallest wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def lifetimes_side(purchases: pd.DataFrame, cutoff: pd.Timestamp, end: pd.Timestamp, freq: str):
    # vipml's cutoff covers its whole day; lifetimes compares raw timestamps: give it the last
    # nanosecond of each day so that both read the same rows.
    last_ns = pd.Timedelta(days=1) - pd.Timedelta(1, unit="ns")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = summary_data_from_transaction_data(
            purchases,
            "customer_id",
            "timestamp",
            "revenue",
            observation_period_end=end + last_ns,
            freq=freq,
        )
        split = calibration_and_holdout_data(
            purchases,
            "customer_id",
            "timestamp",
            cutoff + last_ns,
            end + last_ns,
            freq=freq,
            monetary_value_col="revenue",
        )
    return summary, split


def vipml_side(purchases: pd.DataFrame, cutoff: pd.Timestamp, end: pd.Timestamp, freq: str):
    cfg = config_from_dict({"btyd": {"freq": freq, "time_unit": freq}})
    summary = btyd_summary(purchases, end, freq=freq, time_unit=freq)
    split = calibration_holdout(purchases, cutoff, HORIZON, config=cfg, features="btyd")
    return summary, split


def max_difference(ours: tuple, theirs: tuple) -> float:
    """Largest absolute difference between the two sides' shared columns."""
    summary, split = ours
    l_summary, l_split = theirs
    l_summary, l_split = l_summary.sort_index(), l_split.sort_index()
    if not (summary.index.equals(l_summary.index) and split.index.equals(l_split.index)):
        return float("inf")
    diffs = [np.abs(summary[c].to_numpy() - l_summary[c].to_numpy()).max() for c in summary]
    pairs = {
        "frequency": "frequency_cal",
        "recency": "recency_cal",
        "T": "T_cal",
        "monetary_value": "monetary_value_cal",
        "frequency_holdout": "frequency_holdout",
        "duration_holdout": "duration_holdout",
        "monetary_value_holdout": "monetary_value_holdout",
    }
    diffs += [np.abs(split[a].to_numpy() - l_split[b].to_numpy()).max() for a, b in pairs.items()]
    return float(max(diffs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (best is kept)")
    parser.add_argument("--freqs", default="D,W", help="lifetimes freq values to compare")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()

    start = time.perf_counter()
    sim = simulate(args.customers, seed=args.seed)
    log = pd.concat([sim.transactions, sim.future_transactions], ignore_index=True)
    events = sim.events
    cutoff = pd.Timestamp(sim.params["end"]).normalize() - pd.Timedelta(days=1)
    end = cutoff + HORIZON
    # the purchases up to the end of the holdout's last day (with weekly periods, lifetimes'
    # summary would also read the rest of that week)
    keep = ~log["is_return"] & (log["timestamp"] < end + pd.Timedelta(days=1))
    purchases = log.loc[keep, ["customer_id", "timestamp", "revenue"]]
    purchases = purchases.reset_index(drop=True)
    n_tx = int((log["timestamp"] < cutoff + pd.Timedelta(days=1)).sum())
    print(
        f"data: {args.customers:,} customers, {n_tx:,} transactions up to the cutoff "
        f"{cutoff.date()} ({len(log):,} with the 26-week holdout, {len(events):,} events); "
        f"simulated in {time.perf_counter() - start:.1f} s; {os.cpu_count()} cores"
    )

    figures: dict[str, Any] = {
        "customers": args.customers,
        "transactions_to_cutoff": n_tx,
        "transactions_total": len(log),
        "events": len(events),
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "btyd": {},
    }
    print(
        f"\n{'BTYD summary + calibration/holdout':<40}{'lifetimes':>11}{'vipml':>9}"
        f"{'ratio':>8}{'max |diff|':>12}"
    )
    for freq in args.freqs.split(","):
        t_theirs, theirs = best_of(
            args.repeat, lambda f=freq: lifetimes_side(purchases, cutoff, end, f)
        )
        t_ours, ours = best_of(args.repeat, lambda f=freq: vipml_side(purchases, cutoff, end, f))
        diff = max_difference(ours, theirs)
        ratio = t_theirs / t_ours
        figures["btyd"][freq] = {
            "lifetimes_s": t_theirs,
            "vipml_s": t_ours,
            "ratio": ratio,
            "max_abs_diff": diff,
        }
        print(
            f"{'  freq=' + freq + ', time unit=' + freq:<40}{t_theirs:>10.2f}s{t_ours:>8.2f}s"
            f"{ratio:>7.1f}x{diff:>12.1e}"
        )

    t_full, feats = best_of(args.repeat, lambda: build_features(log, cutoff, events))
    t_split, _ = best_of(args.repeat, lambda: calibration_holdout(log, cutoff, HORIZON, events))
    figures["full"] = {
        "build_features_s": t_full,
        "calibration_holdout_all_s": t_split,
        "columns": feats.shape[1],
        "rows": feats.shape[0],
        "finite": bool(np.isfinite(feats.to_numpy(dtype=np.float64)).all()),
    }
    print(
        f"\nfull feature set ({feats.shape[1]} columns, {feats.shape[0]:,} customers, "
        f"returns/costs/categories/events):"
    )
    print(f"  build_features                        {t_full:>8.2f}s")
    print(f"  calibration_holdout (every feature)   {t_split:>8.2f}s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
