"""End-to-end scale benchmark: train and score vipml on simulated data, against lifetimes.

Usage::

    python benchmarks/bench_pipeline.py --customers 1000000 [--json OUT] [--spark]

Steps, each in its own process so that its peak memory (``ru_maxrss``) is its own:

1. **data** -- ``vipml.data.simulate.simulate`` in chunks of at most 1M customers (customer and
   order ids offset per chunk; customers are independent in the simulator, so chunks are the
   same process as one big draw), written as a folder of Parquet files and cached under
   ``--data-dir`` (reused by later runs with the same size and seed).
2. **train** -- read the Parquet folder, ``vipml.pipeline.train`` at the last day of the data
   with the default 26-week horizon, ``VipModel.save``. Stage times (features, BTYD,
   classifiers, bundle) are measured by timing the library functions ``train`` calls (wrapped
   in place for the run; nothing is changed in what they compute).
3. **score** -- read the folder, ``vipml.load_model``, ``vipml.pipeline.score`` at the same
   cutoff, write the scores to Parquet.
4. **lifetimes** -- the lifetimes pipeline on the same purchases: ``summary_data_from_transaction_
   data`` (daily, recency and T in weeks, as vipml), ``calibration_and_holdout_data`` (26 weeks),
   ``BetaGeoFitter.fit``, ``GammaGammaFitter.fit`` on repeat customers, and
   ``customer_lifetime_value`` (12 months). Above ``--lifetimes-max`` customers (default 1M) it
   runs on a random subsample of that many customers and its times are scaled linearly by
   ``N / subsample`` (every step is linear in customers); the output says so.
5. **spark** (with ``--spark``) -- ``vipml.spark.score`` of the trained bundle in ``local[2]``.

Times are wall-clock (``time.perf_counter``); memory is the peak resident set of the step's
process (``resource.getrusage``), which includes everything (Python, numpy, LightGBM, Arrow).
``tracemalloc`` is not used: it slows numpy-heavy code and misses native allocations.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CHUNK = 1_000_000
HORIZON = "26W"


def peak_gib() -> float:
    """Peak resident memory of this process in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


class Stopwatch:
    """Accumulates wall time per label; ``wrap`` times a module attribute for the run."""

    def __init__(self) -> None:
        self.times: dict[str, float] = defaultdict(float)
        self._active: set[str] = set()

    @contextmanager
    def time(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times[label] += time.perf_counter() - start

    def wrap(self, owner: Any, name: str, label: str) -> None:
        """Time every call of ``owner.name`` under ``label`` (nested calls counted once)."""
        original = getattr(owner, name)
        watch = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if label in watch._active:
                return original(*args, **kwargs)
            watch._active.add(label)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                watch.times[label] += time.perf_counter() - start
                watch._active.discard(label)

        timed.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, name, timed)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def data_dir(root: Path, customers: int, seed: int) -> Path:
    return root / f"sim-{customers}-seed{seed}"


def make_data(folder: Path, customers: int, seed: int) -> dict[str, Any]:
    """Simulate ``customers`` in chunks into ``folder`` (transactions/, events/, customers/)."""
    from vipml.data.simulate import simulate

    done = folder / "_SUCCESS.json"
    if done.exists():
        return json.loads(done.read_text())
    start = time.perf_counter()
    n_tx = n_events = 0
    offset_order = 0
    params: dict[str, Any] = {}
    for name in ("transactions", "events", "customers"):
        (folder / name).mkdir(parents=True, exist_ok=True)
    for k, first in enumerate(range(0, customers, CHUNK)):
        size = min(CHUNK, customers - first)
        sim = simulate(size, seed=seed if customers <= CHUNK else seed * 1000 + k)
        tx, events, cust = sim.transactions, sim.events, sim.customers
        tx["customer_id"] += first
        tx["order_id"] += offset_order
        offset_order = int(tx["order_id"].max())
        events["customer_id"] += first
        cust["customer_id"] += first
        for name, frame in (("transactions", tx), ("events", events), ("customers", cust)):
            frame.to_parquet(folder / name / f"part-{k:04d}.parquet", index=False)
        n_tx += len(tx)
        n_events += len(events)
        params = sim.params
        del sim, tx, events, cust
    info = {
        "customers": customers,
        "transactions": n_tx,
        "events": n_events,
        "seed": seed,
        # the simulator's ``end`` is an instant (midnight): the last whole observed day is the
        # day before it, and that is the cutoff (as the CLI's default, the last date in the data)
        "cutoff": str((pd.Timestamp(params["end"]) - pd.Timedelta(days=1)).date()),
        "simulate_s": round(time.perf_counter() - start, 2),
    }
    done.write_text(json.dumps(info, indent=2))
    return info


def read_folder(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder)


def cutoff_of(info: dict[str, Any]) -> pd.Timestamp:
    return pd.Timestamp(info["cutoff"])


# --------------------------------------------------------------------------------------------
# steps (each runs in its own process)
# --------------------------------------------------------------------------------------------


def step_train(folder: Path, info: dict[str, Any], bundle: Path) -> dict[str, Any]:
    import vipml.pipeline as pipeline

    watch = Stopwatch()
    instrument_train(watch)
    with watch.time("read"):
        tx = read_folder(folder / "transactions")
        events = read_folder(folder / "events")
        customers = read_folder(folder / "customers")
    with watch.time("train_total"):
        model = pipeline.train(tx, cutoff_of(info), HORIZON, events=events, customers=customers)
    with watch.time("bundle"):
        model.save(bundle)
    return {"times": dict(watch.times), "peak_gib": peak_gib()}


def instrument_train(watch: Stopwatch) -> None:
    """Time the stages ``pipeline.train`` goes through (features, BTYD, classifiers)."""
    import vipml.pipeline as pipeline

    stages = {
        "features": ["build_features", "build_training_set"],
        "btyd": ["LifetimeValueModel"],
        "classifiers": ["fit_classifiers", "VipClassifier"],
    }
    for label, names in stages.items():
        for name in names:
            if hasattr(pipeline, name) and callable(getattr(pipeline, name)):
                watch.wrap(pipeline, name, label)


def step_score(folder: Path, info: dict[str, Any], bundle: Path, out: Path) -> dict[str, Any]:
    import vipml.pipeline as pipeline

    import vipml

    watch = Stopwatch()
    with watch.time("read"):
        tx = read_folder(folder / "transactions")
        events = read_folder(folder / "events")
        customers = read_folder(folder / "customers")
    with watch.time("load_model"):
        model = vipml.load_model(bundle)
    with watch.time("score_total"):
        scores = pipeline.score(model, tx, cutoff_of(info), events=events, customers=customers)
    with watch.time("write"):
        scores.to_parquet(out)
    return {"times": dict(watch.times), "peak_gib": peak_gib(), "rows": len(scores)}


def step_lifetimes(folder: Path, info: dict[str, Any], max_customers: int) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifetimes import BetaGeoFitter, GammaGammaFitter
        from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

    watch = Stopwatch()
    with watch.time("read"):
        tx = pd.read_parquet(
            folder / "transactions", columns=["customer_id", "timestamp", "revenue", "is_return"]
        )
        tx = tx.loc[~tx["is_return"], ["customer_id", "timestamp", "revenue"]]
    n = int(info["customers"])
    used = n
    if n > max_customers:
        rng = np.random.default_rng(0)
        keep = rng.choice(np.arange(1, n + 1), size=max_customers, replace=False)
        tx = tx.loc[tx["customer_id"].isin(keep)]
        used = max_customers
    cutoff = cutoff_of(info)
    calibration_end = cutoff - pd.Timedelta(HORIZON.replace("W", "") + "W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with watch.time("summary"):
            summary = summary_data_from_transaction_data(
                tx,
                "customer_id",
                "timestamp",
                monetary_value_col="revenue",
                observation_period_end=cutoff,
                freq="D",
            )
            summary["recency"] /= 7.0
            summary["T"] /= 7.0
        with watch.time("calibration_holdout"):
            calibration_and_holdout_data(
                tx,
                "customer_id",
                "timestamp",
                calibration_period_end=calibration_end,
                observation_period_end=cutoff,
                freq="D",
                monetary_value_col="revenue",
            )
        with watch.time("bgnbd_fit"):
            bgf = BetaGeoFitter(penalizer_coef=0.0).fit(
                summary["frequency"], summary["recency"], summary["T"]
            )
        repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        with watch.time("gamma_gamma_fit"):
            ggf = GammaGammaFitter(penalizer_coef=0.0).fit(
                repeat["frequency"], repeat["monetary_value"]
            )
        with watch.time("clv"):
            ggf.customer_lifetime_value(
                bgf,
                summary["frequency"],
                summary["recency"],
                summary["T"],
                summary["monetary_value"],
                time=12,
                discount_rate=0.01,
                freq="W",
            )
    times = dict(watch.times)
    scale = n / used
    measured = sum(v for k, v in times.items() if k != "read")
    return {
        "times": times,
        "customers_measured": used,
        "scale": scale,
        "total_s": measured * scale,
        "peak_gib": peak_gib(),
        "params": dict(bgf.params_),
    }


def step_spark(folder: Path, info: dict[str, Any], bundle: Path, out: Path) -> dict[str, Any]:
    import vipml
    from vipml import spark as vspark

    watch = Stopwatch()
    with watch.time("session"):
        spark = vspark.spark_session("local[2]", shuffle_partitions=8)
    with watch.time("load_model"):
        model = vipml.load_model(bundle)
    with watch.time("score_total"):
        tx = spark.read.parquet(str(folder / "transactions"))
        events = spark.read.parquet(str(folder / "events"))
        customers = spark.read.parquet(str(folder / "customers"))
        scores = vspark.score(model, tx, cutoff_of(info), events=events, customers=customers)
        scores.write.mode("overwrite").parquet(str(out))
    spark.stop()
    return {"times": dict(watch.times), "peak_gib_driver": peak_gib()}


# --------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------


def run_step(args: argparse.Namespace, step: str, log: Callable[[str], None]) -> dict[str, Any]:
    """Run one step in a fresh Python process and return its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_path = Path(handle.name)
    cmd = [
        sys.executable,
        __file__,
        "--customers",
        str(args.customers),
        "--seed",
        str(args.seed),
        "--data-dir",
        str(args.data_dir),
        "--lifetimes-max",
        str(args.lifetimes_max),
        "--step",
        step,
        "--step-out",
        str(result_path),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"step {step} failed (exit {proc.returncode})")
    result = json.loads(result_path.read_text())
    result_path.unlink()
    result["process_wall_s"] = wall
    log(f"  {step}: {wall:.1f} s (process), peak {result.get('peak_gib', 0):.2f} GiB")
    return result


def run_one_step(args: argparse.Namespace) -> dict[str, Any]:
    folder = data_dir(args.data_dir, args.customers, args.seed)
    if args.step == "data":
        return {**make_data(folder, args.customers, args.seed), "peak_gib": peak_gib()}
    info = json.loads((folder / "_SUCCESS.json").read_text())
    bundle = folder / "bundle"
    if args.step == "train":
        return step_train(folder, info, bundle)
    if args.step == "score":
        return step_score(folder, info, bundle, folder / "scores.parquet")
    if args.step == "lifetimes":
        return step_lifetimes(folder, info, args.lifetimes_max)
    if args.step == "spark":
        return step_spark(folder, info, bundle, folder / "scores_spark")
    raise SystemExit(f"unknown step {args.step}")


def summarise(n: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    data = results["data"]
    row: dict[str, Any] = {
        "customers": n,
        "transactions": data["transactions"],
    }
    if "train" in results:
        t = results["train"]["times"]
        row["train"] = {
            "read_s": t.get("read", 0.0),
            "features_s": t.get("features", 0.0),
            "btyd_s": t.get("btyd", 0.0),
            "classifiers_s": t.get("classifiers", 0.0),
            "train_total_s": t.get("train_total", 0.0),
            "bundle_s": t.get("bundle", 0.0),
            "peak_gib": results["train"]["peak_gib"],
        }
    if "score" in results:
        t = results["score"]["times"]
        row["score"] = {
            "read_s": t.get("read", 0.0),
            "load_model_s": t.get("load_model", 0.0),
            "scoring_s": t.get("score_total", 0.0),
            "write_s": t.get("write", 0.0),
            "peak_gib": results["score"]["peak_gib"],
        }
    if "lifetimes" in results:
        lt = results["lifetimes"]
        row["lifetimes"] = {
            "total_s": lt["total_s"],
            "customers_measured": lt["customers_measured"],
            "scaled": lt["scale"] != 1,
            "times": lt["times"],
            "peak_gib": lt["peak_gib"],
        }
        if "train" in row:
            row["lifetimes_over_vipml_train"] = lt["total_s"] / row["train"]["train_total_s"]
            ours = row["train"]["features_s"] + row["train"]["btyd_s"]
            if ours > 0:
                row["lifetimes_over_vipml_features_btyd"] = lt["total_s"] / ours
    if "spark" in results:
        row["spark"] = results["spark"]["times"]
    return row


def print_table(row: dict[str, Any]) -> None:
    print(f"\n== {row['customers']:,} customers, {row['transactions']:,} transactions ==")
    for part in ("train", "score"):
        if part in row:
            cells = ", ".join(
                f"{k.removesuffix('_s')} {v:.1f} s" if k.endswith("_s") else f"{k} {v:.2f}"
                for k, v in row[part].items()
            )
            print(f"{part:>9}: {cells}")
    if "lifetimes" in row:
        lt = row["lifetimes"]
        note = (
            f" (measured on {lt['customers_measured']:,} customers, scaled)" if lt["scaled"] else ""
        )
        cells = ", ".join(f"{k} {v:.1f} s" for k, v in lt["times"].items())
        print(f"lifetimes: total {lt['total_s']:.1f} s{note}: {cells}")
        if "lifetimes_over_vipml_train" in row:
            print(
                f"    ratio: lifetimes / vipml train = {row['lifetimes_over_vipml_train']:.2f}x;"
                f" lifetimes / vipml (features + BTYD) = "
                f"{row.get('lifetimes_over_vipml_features_btyd', float('nan')):.1f}x"
            )
    if "spark" in row:
        print("    spark: " + ", ".join(f"{k} {v:.1f} s" for k, v in row["spark"].items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "vipml-bench",
        help="cache of simulated data (default: $TMPDIR/vipml-bench)",
    )
    parser.add_argument("--lifetimes-max", type=int, default=1_000_000)
    parser.add_argument(
        "--steps", default="train,score,lifetimes", help="comma-separated: train,score,lifetimes"
    )
    parser.add_argument("--spark", action="store_true", help="also score with vipml.spark")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--step-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.step:
        result = run_one_step(args)
        args.step_out.write_text(json.dumps(result, default=float))
        return

    def log(message: str) -> None:
        print(message, flush=True)

    log(f"bench_pipeline: {args.customers:,} customers, seed {args.seed}")
    steps = ["data", *[s for s in args.steps.split(",") if s]]
    if args.spark:
        steps.append("spark")
    results = {}
    for step in steps:
        results[step] = run_step(args, step, log)
    row = summarise(args.customers, results)
    print_table(row)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(row, indent=2, default=float))
        log(f"figures written to {args.json}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::FutureWarning")
    main()
