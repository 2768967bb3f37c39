"""Benchmark: vipml lifetime value against lifetimes on the same simulated customers.

vipml side: ``LifetimeValueModel`` fit (BG/NBD + Gamma-Gamma, compressed) and ``predict``
(expected purchases, P(alive), P(no purchase), expected spend, revenue and profit CLV).
lifetimes side: ``BetaGeoFitter.fit`` (uncompressed), ``GammaGammaFitter.fit`` and
``customer_lifetime_value``. Both see the same BTYD summary (purchases per day, time in weeks),
built once before the clocks start. CLV is 12 months with a 1% monthly discount; vipml uses
lifetimes' month of 4.345 weeks here so that the CLV values can be compared one to one.

Usage::

    python benchmarks/bench_btyd.py --customers 100000 [--seed 0] [--json OUT]

Prints the timings, the speed-up and the largest relative differences (parameters, CLV).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from vipml.data.simulate import simulate
from vipml.features.rfm import btyd_summary
from vipml.modeling.btyd import LifetimeValueModel

WEEKS_PER_MONTH_LIFETIMES = 4.345
MONTHS = 12
DISCOUNT = 0.01


def run_vipml(summary: pd.DataFrame) -> tuple[dict[str, float], pd.DataFrame, dict[str, float]]:
    timings = {}
    start = time.perf_counter()
    model = LifetimeValueModel(
        discount_rate_monthly=DISCOUNT, days_per_month=7 * WEEKS_PER_MONTH_LIFETIMES
    ).fit(summary)
    timings["fit"] = time.perf_counter() - start
    t = time.perf_counter()
    out = model.predict(summary, horizon_weeks=MONTHS * WEEKS_PER_MONTH_LIFETIMES)
    timings["predict"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    params = {**model.purchase_model_.params_, **model.gamma_gamma_.params_}
    params["n_unique_histories"] = model.purchase_model_.n_unique_
    return timings, out, params


def run_lifetimes(summary: pd.DataFrame) -> tuple[dict[str, float], pd.Series, dict[str, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        timings = {}
        start = time.perf_counter()
        bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
        timings["fit_bgnbd"] = time.perf_counter() - start
        t = time.perf_counter()
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
        timings["fit_gamma_gamma"] = time.perf_counter() - t
        t = time.perf_counter()
        clv = ggf.customer_lifetime_value(
            bgf,
            summary["frequency"],
            summary["recency"],
            summary["T"],
            summary["monetary_value"],
            time=MONTHS,
            discount_rate=DISCOUNT,
            freq="W",
        )
        timings["clv"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - start
    params = {**bgf.params_.to_dict(), **ggf.params_.rename({"v": "gamma"}).to_dict()}
    return timings, clv, params


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--skip-lifetimes", action="store_true", help="time vipml only (no comparison)"
    )
    args = parser.parse_args()

    t = time.perf_counter()
    sim = simulate(args.customers, seed=args.seed)
    simulate_s = time.perf_counter() - t
    t = time.perf_counter()
    summary = btyd_summary(sim.transactions, sim.params["end"], freq="D", time_unit="W")
    summary_s = time.perf_counter() - t
    print(
        f"{args.customers:,} customers, {len(sim.transactions):,} transactions "
        f"(simulate {simulate_s:.1f} s, BTYD summary {summary_s:.2f} s)",
        flush=True,
    )

    ours_t, ours, ours_p = run_vipml(summary)
    print(
        f"vipml     fit {ours_t['fit']:.2f} s + predict {ours_t['predict']:.2f} s "
        f"= {ours_t['total']:.2f} s ({ours_p['n_unique_histories']:,} distinct histories)",
        flush=True,
    )
    result = {
        "customers": args.customers,
        "transactions": len(sim.transactions),
        "seed": args.seed,
        "machine": {"python": platform.python_version(), "processor": platform.machine()},
        "vipml_seconds": ours_t,
        "vipml_params": ours_p,
        "true_params": {**sim.params["bgnbd"], **sim.params.get("gamma_gamma", {})},
    }
    if not args.skip_lifetimes:
        theirs_t, theirs_clv, theirs_p = run_lifetimes(summary)
        print(
            f"lifetimes fit {theirs_t['fit_bgnbd']:.2f} s + Gamma-Gamma "
            f"{theirs_t['fit_gamma_gamma']:.2f} s + CLV {theirs_t['clv']:.2f} s "
            f"= {theirs_t['total']:.2f} s",
            flush=True,
        )
        param_diff = {
            k: abs(ours_p[k] / theirs_p[k] - 1) for k in ("r", "alpha", "a", "b", "p", "q", "gamma")
        }
        clv_diff = np.abs(ours["clv"].to_numpy() / theirs_clv.to_numpy() - 1)
        ratio = theirs_t["total"] / ours_t["total"]
        worst = max(param_diff, key=param_diff.get)
        print(f"speed-up  {ratio:.1f}x")
        print(f"largest relative parameter difference {param_diff[worst]:.2e} ({worst})")
        print(f"largest relative CLV difference {np.nanmax(clv_diff):.2e}")
        result.update(
            lifetimes_seconds=theirs_t,
            lifetimes_params=theirs_p,
            speedup=ratio,
            max_rel_param_diff=param_diff[worst],
            rel_param_diff=param_diff,
            max_rel_clv_diff=float(np.nanmax(clv_diff)),
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
