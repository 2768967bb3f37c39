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
3. **score** -- what ``vipml score`` runs: ``vipml.batch.score_to_file`` at the same cutoff
   (score, segment with population thresholds, write Parquet atomically), in ``--chunks``
   customer chunks (default ``auto``, as ``vipml score``: one per 4M transaction rows;
   1: the log is read first and scored at once; more: the Parquet folder is
   scanned chunk by chunk inside the timed step, which bounds memory).
4. **lifetimes** -- the lifetimes pipeline on the same purchases: ``summary_data_from_transaction_
   data`` (daily, recency and T in weeks, as vipml), ``calibration_and_holdout_data`` (26 weeks),
   ``BetaGeoFitter.fit``, ``GammaGammaFitter.fit`` on repeat customers, and
   ``customer_lifetime_value`` (12 months). Above ``--lifetimes-max`` customers (default 1M) it
   runs on a random subsample of that many customers and its times are scaled linearly by
   ``N / subsample`` (every step is linear in customers); the output says so.
5. **spark** (with ``--spark``) -- ``vipml.spark.score_path`` (score and segment, as
   ``vipml score --engine spark``) of the trained bundle in ``local[2]``.

``--steps score --model-from 1000000`` scores with the bundle trained at another size (the
model does not depend on the number of customers it scores), e.g. 10M customers with the 1M
model.

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
import threading
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


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next((x for x in status if x.startswith("VmRSS:")), "VmRSS: 0 kB")
        return int(line.split()[1])
    except (OSError, ValueError):
        return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(k) for k in children.read().split()]
            except (OSError, ValueError):
                kids = []
            found += kids
            todo += kids
    return found


class TreePeak:
    """Peak resident memory of this process plus its worker processes, sampled every 0.1 s
    in a thread (``ru_maxrss`` covers one process only; workers run side by side)."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.1):
            total = _rss_kib(me) + sum(_rss_kib(k) for k in _descendants(me))
            self.peak_kib = max(self.peak_kib, total)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def gib(self) -> float:
        return max(self.peak_kib / 2**20, peak_gib())


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


STAGES = {
    # label: (module or class path, attribute) pairs timed under that label
    "validation": [
        ("vipml.data.schema", "validate_transactions"),
        ("vipml.data.io", "validate_transactions"),
        ("vipml.batch", "check_transactions"),
    ],
    "features": [
        ("vipml.pipeline.frames", "build_features"),
        ("vipml.pipeline.frames", "features_and_first_category"),
        ("vipml.pipeline.frames", "first_category"),
        ("vipml.pipeline.training", "build_features"),
        ("vipml.batch", "line_totals"),
    ],
    "labels": [("vipml.pipeline.training", "make_labels")],
    "btyd": [
        ("vipml.modeling.btyd:LifetimeValueModel", "fit"),
        ("vipml.modeling.btyd:LifetimeValueModel", "predict"),
    ],
    "classifiers": [
        ("vipml.modeling.classifier:VipClassifier", "fit"),
        ("vipml.modeling.classifier:VipClassifier", "tree_matrix"),
        ("vipml.modeling.classifier:VipClassifier", "tree_scores"),
        ("vipml.modeling.classifier:VipClassifier", "predict_proba"),
        ("vipml.modeling.classifier:VipClassifier", "contributions"),
    ],
    "reasons": [
        ("vipml.pipeline.predict", "top_reasons"),
        ("vipml.pipeline.predict", "join_reasons"),
    ],
    "evaluation": [("vipml.pipeline.training", "evaluate")],
    "segments": [
        ("vipml.pipeline.scoring", "segment_thresholds"),
        ("vipml.pipeline.scoring", "assign_segments"),
    ],
    "write": [("vipml.data.io", "write_table")],
}


def instrument(watch: Stopwatch) -> None:
    """Time the library functions ``train`` and ``score`` go through, by stage."""
    import importlib

    for label, targets in STAGES.items():
        for where, name in targets:
            module_name, _, class_name = where.partition(":")
            owner: Any = importlib.import_module(module_name)
            if class_name:
                owner = getattr(owner, class_name)
            if callable(getattr(owner, name, None)):
                watch.wrap(owner, name, label)


def read_inputs(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return (
        read_folder(folder / "transactions"),
        read_folder(folder / "events"),
        read_folder(folder / "customers"),
    )


def step_train(folder: Path, info: dict[str, Any], bundle: Path) -> dict[str, Any]:
    import vipml.pipeline as pipeline

    watch = Stopwatch()
    instrument(watch)
    with watch.time("read"):
        tx, events, customers = read_inputs(folder)
    with watch.time("train_total"):
        model = pipeline.train(tx, cutoff_of(info), HORIZON, events=events, customers=customers)
    with watch.time("bundle"):
        model.save(bundle)
    return {"times": dict(watch.times), "peak_gib": peak_gib(), "training": model.training}


def step_score(
    folder: Path, info: dict[str, Any], bundle: Path, out: Path, chunks: int | str = "auto",
    workers: int | None = None,
) -> dict[str, Any]:
    """``vipml score``: :func:`vipml.batch.score_to_file` (score, segment, write atomically);
    ``chunks='auto'`` as ``vipml score``'s default (:func:`vipml.jobs.auto_chunks`)."""
    from vipml.batch import score_to_file
    from vipml.bundle import load_model
    from vipml.jobs import auto_chunks

    setting = chunks
    chunks = auto_chunks(folder / "transactions") if chunks == "auto" else int(chunks)
    watch = Stopwatch()
    with watch.time("read"):
        events = read_folder(folder / "events")
        customers = read_folder(folder / "customers")
        # one chunk: the log read whole; more: score_to_file scans the folder chunk by chunk
        source: Any = read_folder(folder / "transactions") if chunks == 1 else None
    if source is None:
        source = folder / "transactions"
    instrument(watch)
    with watch.time("load_model"):
        model = load_model(bundle)
    with TreePeak() as tree, watch.time("score_total"):
        scores = score_to_file(
            model, source, cutoff_of(info), out, chunks=chunks, workers=workers, events=events,
            customers=customers,
        )
    return {
        "times": dict(watch.times),
        "peak_gib": tree.gib,
        "rows": scores.customers,
        "explained": scores.explained,
        "chunks": chunks,
        "chunks_setting": setting,
        "workers": scores.workers,
    }


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

    # the same five steps with vipml, on the same rows
    from vipml.features import btyd_summary, calibration_holdout
    from vipml.modeling.btyd import LifetimeValueModel

    ours = Stopwatch()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ours.time("summary"):
            summary = btyd_summary(tx, cutoff, freq="D", time_unit="W")
        with ours.time("calibration_holdout"):
            calibration_holdout(tx, calibration_end, HORIZON, features="btyd")
        with ours.time("fit"):
            ltv = LifetimeValueModel().fit(summary)
        with ours.time("clv"):
            ltv.predict(summary, horizon_weeks=12 * 30.4375 / 7)
    vipml_s = sum(ours.times.values())
    return {
        "times": times,
        "customers_measured": used,
        "scale": scale,
        "total_s": measured * scale,
        "vipml_times": dict(ours.times),
        "vipml_total_s": vipml_s * scale,
        "peak_gib": peak_gib(),
        "params": dict(bgf.params_),
        "vipml_params": dict(ltv.purchase_model_.params_),
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
        result = vspark.score_path(
            model,
            folder / "transactions",
            out,
            cutoff_of(info),
            events=folder / "events",
            customers=folder / "customers",
            spark=spark,
        )
    spark.stop()
    return {"times": dict(watch.times), "peak_gib": peak_gib(), "rows": result.customers}


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
        "--model-from",
        str(args.model_from or args.customers),
        "--chunks",
        str(args.chunks),
        *(["--workers", str(args.workers)] if args.workers is not None else []),
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
    model_from = getattr(args, "model_from", None) or args.customers
    bundle = data_dir(args.data_dir, model_from, args.seed) / "bundle"
    if args.step == "train":
        return step_train(folder, info, bundle)
    if args.step == "score":
        return step_score(
            folder, info, bundle, folder / "scores.parquet", getattr(args, "chunks", "auto"),
            getattr(args, "workers", None),
        )
    if args.step == "lifetimes":
        return step_lifetimes(folder, info, args.lifetimes_max)
    if args.step == "spark":
        return step_spark(folder, info, bundle, folder / "scores_spark")
    raise SystemExit(f"unknown step {args.step}")


def _stages(times: dict[str, float], total_key: str) -> dict[str, float]:
    total = times.get(total_key, 0.0)
    stages = {k: times[k] for k in STAGES if times.get(k)}
    stages["other"] = max(total - sum(stages.values()), 0.0)
    return stages


def summarise(n: int, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {"customers": n, "transactions": results["data"]["transactions"]}
    if "train" in results:
        t = results["train"]["times"]
        row["train"] = {
            "read_s": t.get("read", 0.0),
            "train_s": t.get("train_total", 0.0),
            "bundle_save_s": t.get("bundle", 0.0),
            "stages_s": _stages(t, "train_total"),
            "peak_gib": results["train"]["peak_gib"],
            "windows": len(results["train"].get("training", {}).get("cutoffs", [])),
        }
    if "score" in results:
        t = results["score"]["times"]
        row["score"] = {
            "read_s": t.get("read", 0.0),
            "bundle_load_s": t.get("load_model", 0.0),
            "score_s": t.get("score_total", 0.0),
            "stages_s": _stages(t, "score_total"),
            "peak_gib": results["score"]["peak_gib"],
            "chunks": results["score"].get("chunks", 1),
            "workers": results["score"].get("workers", 1),
            "explained": results["score"].get("explained", 0),
        }
    if "lifetimes" in results:
        lt = results["lifetimes"]
        row["lifetimes"] = {
            "total_s": lt["total_s"],
            "times_s": {k: v for k, v in lt["times"].items() if k != "read"},
            "customers_measured": lt["customers_measured"],
            "scaled_by": lt["scale"],
            "vipml_same_steps_s": lt["vipml_total_s"],
            "vipml_same_steps_times_s": lt["vipml_times"],
            "speedup_same_steps": lt["total_s"] / max(lt["vipml_total_s"], 1e-9),
            "peak_gib": lt["peak_gib"],
        }
        if "train" in row:
            row["lifetimes"]["lifetimes_over_vipml_train"] = lt["total_s"] / row["train"]["train_s"]
        if "score" in row:
            row["lifetimes"]["lifetimes_over_vipml_score"] = lt["total_s"] / row["score"]["score_s"]
    if "spark" in results:
        t = results["spark"]["times"]
        row["spark"] = {
            "session_s": t.get("session", 0.0),
            "score_s": t.get("score_total", 0.0),
            "peak_gib_driver": results["spark"]["peak_gib"],
            "rows": results["spark"]["rows"],
        }
    return row


def _cells(values: dict[str, Any]) -> str:
    return ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in values.items())


def print_table(row: dict[str, Any]) -> None:
    print(f"\n== {row['customers']:,} customers, {row['transactions']:,} transactions ==")
    if "train" in row:
        t = row["train"]
        print(
            f"train : {t['train_s']:.1f} s end to end ({t['windows']} label windows), peak "
            f"{t['peak_gib']:.2f} GiB; read {t['read_s']:.1f} s, bundle save "
            f"{t['bundle_save_s']:.2f} s"
        )
        print(f"        stages (s): {_cells(t['stages_s'])}")
    if "score" in row:
        t = row["score"]
        print(
            f"score : {t['score_s']:.1f} s, peak {t['peak_gib']:.2f} GiB; "
            f"read {t['read_s']:.1f} s, bundle load {t['bundle_load_s']:.2f} s, "
            f"{t['chunks']} chunk(s), {t.get('workers', 1)} worker(s), reasons for "
            f"{t['explained']:,} listed customers"
        )
        print(f"        stages (s): {_cells(t['stages_s'])}")
    if "lifetimes" in row:
        lt = row["lifetimes"]
        note = (
            f" (measured on {lt['customers_measured']:,} customers, times x{lt['scaled_by']:g})"
            if lt["scaled_by"] != 1
            else ""
        )
        print(f"lifetimes: {lt['total_s']:.1f} s{note}: {_cells(lt['times_s'])}")
        print(
            f"        vipml, same steps: {lt['vipml_same_steps_s']:.1f} s "
            f"({_cells(lt['vipml_same_steps_times_s'])}): {lt['speedup_same_steps']:.1f}x faster"
        )
        for key, what in (
            ("lifetimes_over_vipml_train", "train"),
            ("lifetimes_over_vipml_score", "score"),
        ):
            if key in lt:
                print(f"        lifetimes / vipml {what} (everything) = {lt[key]:.2f}")
    if "spark" in row:
        sp = row["spark"]
        print(
            f"spark : score {sp['score_s']:.1f} s in local[2] (+ session {sp['session_s']:.1f} s),"
            f" driver peak {sp['peak_gib_driver']:.2f} GiB, {sp['rows']:,} rows"
        )


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
        "--chunks",
        default="auto",
        help="scoring chunks (vipml score --chunks; default auto: scoring.chunks' default)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="scoring worker processes (vipml score --workers; default: one per core, at most "
        "one per chunk); stage times cover the main process only",
    )
    parser.add_argument(
        "--model-from",
        type=int,
        default=None,
        help="score with the bundle trained at this many customers (default: --customers)",
    )
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
