"""``vipml demo``: the main job, end to end on the bundled CDNOW data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, cast

import pandas as pd
import typer

from vipml import pipeline
from vipml.cli._app import (
    EXPERIMENT_HELP,
    NO_TRACKING_HELP,
    command,
    console,
    progress_reporter,
    tracked_run,
    tracking_for,
)
from vipml.config import load_config, parse_duration
from vipml.data.datasets import load_cdnow
from vipml.data.io import write_table, write_text
from vipml.pipeline.scoring import score_customers
from vipml.plots import save_figure
from vipml.plots.classifier import calibration_curve, lift_chart
from vipml.report import write_lists


@command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Folder for every output.")] = Path("vipml-demo"),
    sample: Annotated[bool, typer.Option(help="Use the 1/10 CDNOW sample (faster).")] = False,
    config: Annotated[Path | None, typer.Option(help="YAML config file.")] = None,
    experiment: Annotated[str | None, typer.Option(help=EXPERIMENT_HELP)] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help=NO_TRACKING_HELP)] = False,
) -> None:
    """Run the main job on CDNOW: backtest, train, score, segment, write the marketer lists.

    Writes under OUT: the model bundle (`model/`), `scores.parquet`, `vip_list.csv`,
    `vip_list.xlsx`, `report.html`, `backtest.json` and the backtest plots. The run is tracked
    in MLflow (see it with `mlflow ui`). CDNOW ships inside lifetimes: nothing is downloaded.
    """

    started = time.perf_counter()
    cfg = load_config(config)
    tracking = tracking_for(cfg, no_tracking)
    tx = load_cdnow(sample=sample)
    horizon = cfg.labels.horizon
    cutoff = tx["timestamp"].max().normalize()
    backtest_cutoff = cutoff - parse_duration(horizon)
    console.print(
        f"CDNOW{' sample' if sample else ''}: {len(tx):,} transactions of "
        f"{tx['customer_id'].nunique():,} customers, {tx['timestamp'].min():%Y-%m-%d} to "
        f"{cutoff:%Y-%m-%d}"
    )
    console.print(
        f"cutoff: {cutoff:%Y-%m-%d} (the last date in the data); horizon {horizon}; backtest "
        f"trained up to {backtest_cutoff:%Y-%m-%d} and judged on the {horizon} after it"
    )
    with tracked_run(tracking, experiment, "demo", cfg, "demo") as run:
        with progress_reporter("backtest") as progress:
            result = pipeline.backtest(tx, backtest_cutoff, horizon, config=cfg, progress=progress)
        for target, beats in result.beats_baselines().items():
            verdict = "beats" if beats else "does NOT beat"
            console.print(f"backtest {target}: LightGBM {verdict} every baseline (AUC and AP)")
        figures = {"lift chart": lift_chart(result), "calibration curve": calibration_curve(result)}
        for name, fig in figures.items():
            save_figure(fig, out / f"{name.replace(' ', '_')}.png")
        write_text(result.to_json(), out / "backtest.json")

        with progress_reporter("training") as progress:
            model = pipeline.train(tx, cutoff, horizon, config=cfg, progress=progress)
        bundle = model.save(out / "model")
        # without ``out`` the scoring result keeps its table
        scores = cast(
            pd.DataFrame, score_customers(model, tx, cutoff, config=cfg, reasons="all").table
        )
        write_table(scores, out / "scores.parquet")
        paths = write_lists(
            scores, out, cfg, backtest={**figures, "metrics": result.to_dict()}
        )
        if run is not None:
            run.log_training(model, bundle, tx)
            run.log_metrics({"backtest": result.metrics()})
            run.log_figures(figures)
            run.log_artifacts([out / "backtest.json"] + [paths[name] for name in sorted(paths)])
            name = cfg.tracking.registered_model
            logged = run.log_model_bundle(bundle, tx, registered_model=name)
            console.print(
                f"MLflow run {run.run_id}: registered models:/{logged.name}@challenger (and "
                f"models:/{logged.name}-customers@challenger for spark_udf); "
                "see it with `mlflow ui` in this directory"
            )

    counts = scores["segment"].value_counts()
    console.print("segments: " + ", ".join(f"{name} {n:,}" for name, n in counts.items()))
    console.print(f"done in {time.perf_counter() - started:.0f} s; outputs:")
    console.print(f"  model bundle   {bundle}")
    console.print(f"  scores         {out / 'scores.parquet'}")
    for name in sorted(paths):
        console.print(f"  {name:<14} {paths[name]}")
    console.print(f"  backtest       {out / 'backtest.json'}")
