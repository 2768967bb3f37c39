"""Model commands: ``vipml train``, ``vipml score``, ``vipml backtest``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import pandas as pd
import typer
from rich import box
from rich.table import Table

from vipml.cli._app import (
    EXPERIMENT_HELP,
    NO_TRACKING_HELP,
    command,
    console,
    fail,
    is_terminal,
    parse_date,
    progress_reporter,
    tracked_run,
    tracking_for,
)
from vipml.cli.data import print_notes
from vipml.config import ROWS_PER_CHUNK, Config, config_to_dict, load_config, parse_duration
from vipml.data.io import write_text
from vipml.data.schema import ValidationReport
from vipml.errors import ConfigError
from vipml.jobs import read_inputs, resolve_model, score_files
from vipml.modeling.backtest import DISCOVERY_METRICS, METRICS, BacktestResult
from vipml.modeling.backtest_cutoffs import SUMMARY_METRICS, CutoffsBacktest
from vipml.pipeline import backtest as run_backtest
from vipml.pipeline import backtest_cutoffs as run_backtest_cutoffs
from vipml.pipeline import train as run_train
from vipml.plots import save_figure
from vipml.plots.classifier import calibration_curve, lift_chart

_TX_HELP = (
    "Transactions: a CSV or Parquet file, a folder of Parquet files, or `cdnow` / "
    "`cdnow-sample`."
)


def _print_read(report: ValidationReport) -> None:
    """Print what was read and how (formats detected, rows dropped)."""
    tx = cast(pd.DataFrame, report.frame)  # only called on a usable read
    console.print(
        f"transactions: {len(tx):,} rows, {tx['customer_id'].nunique():,} customers, "
        f"{tx['timestamp'].min():%Y-%m-%d} to {tx['timestamp'].max():%Y-%m-%d}"
    )
    print_notes(report)


def _read_inputs(
    transactions: str, events: Path | None, customers: Path | None, cfg: Config
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    with console.status("reading the data") if is_terminal() else contextlib.nullcontext():
        return read_inputs(transactions, events, customers, cfg, on_read=_print_read)


def _print_cutoff(cutoff: pd.Timestamp, what: str = "") -> None:
    console.print(
        f"cutoff: {cutoff:%Y-%m-%d} (the last date in the data{what}; set --cutoff to "
        "choose another)"
    )


def _cutoff(value: str | None, tx: pd.DataFrame, what: str = "") -> pd.Timestamp:
    cutoff = parse_date(value)
    if cutoff is None:
        cutoff = tx["timestamp"].max().normalize()
        _print_cutoff(cutoff, what)
    return cutoff


def _horizon(value: str | None, cfg: Config) -> str:
    horizon = value or cfg.labels.horizon
    try:
        parse_duration(horizon, "--horizon")
    except ConfigError as exc:
        fail(str(exc))
    return horizon


_HEADERS = {
    "roc_auc": "ROC AUC",
    "average_precision": "AP",
    "precision_top_decile": "prec@10%",
    "lift_top_decile": "lift@10%",
    "brier": "Brier",
}


def _metrics_table(table: pd.DataFrame, title: str) -> Table:


    shown = Table(title=title, title_justify="left", box=box.SIMPLE, pad_edge=False)
    shown.add_column("target", no_wrap=True)
    shown.add_column("score", no_wrap=True)
    for metric in METRICS:
        shown.add_column(_HEADERS[metric], justify="right", no_wrap=True)
    for (target, name), row in table.iterrows():
        cells = [f"{row[m]:.4f}" if pd.notna(row[m]) else "-" for m in METRICS]
        style = "bold" if name == "lightgbm" else None
        shown.add_row(str(target), str(name), *cells, style=style)
    return shown


def _discovery_table(table: pd.DataFrame, title: str) -> Table:

    shown = Table(title=title, title_justify="left", box=box.SIMPLE, pad_edge=False)
    shown.add_column("target", no_wrap=True)
    shown.add_column("score", no_wrap=True)
    for metric in DISCOVERY_METRICS:
        shown.add_column(_HEADERS[metric], justify="right", no_wrap=True)
    shown.add_column("customers", justify="right", no_wrap=True)
    shown.add_column("became VIPs", justify="right", no_wrap=True)
    for (target, name), row in table.iterrows():
        cells = [f"{row[m]:.4f}" if pd.notna(row[m]) else "-" for m in DISCOVERY_METRICS]
        style = "bold" if name == "lightgbm" else None
        shown.add_row(
            str(target), str(name), *cells, f"{int(row['customers']):,}",
            f"{int(row['positives']):,}", style=style,
        )
    return shown


def _summary_table(result: CutoffsBacktest, title: str) -> Table:

    summary = result.summary()
    shown = Table(title=title, title_justify="left", box=box.SIMPLE, pad_edge=False)
    shown.add_column("target", no_wrap=True)
    shown.add_column("score", no_wrap=True)
    columns = []
    for metric in SUMMARY_METRICS:
        for kind, label in (("mean", "mean"), ("worst", "worst")):
            columns.append(f"{metric}_{kind}")
            shown.add_column(f"{_HEADERS[metric]} {label}", justify="right", no_wrap=True)
        for cutoff in result.cutoffs:
            columns.append(f"{metric}@{cutoff}")
            shown.add_column(f"{_HEADERS[metric]} {cutoff}", justify="right", no_wrap=True)
    for (target, name), row in summary.iterrows():
        cells = [f"{row[c]:.4f}" if pd.notna(row[c]) else "-" for c in columns]
        style = "bold" if name == "lightgbm" else None
        shown.add_row(str(target), str(name), *cells, style=style)
    return shown


def _validation_table(metrics: dict[str, Any]) -> pd.DataFrame:

    rows = []
    for target, entry in metrics.items():
        if not isinstance(entry, dict):
            continue
        rows.append({"target": target, "score": "lightgbm", **{m: entry.get(m) for m in METRICS}})
        for name, values in entry.get("baselines", {}).items():
            rows.append({"target": target, "score": name, **{m: values.get(m) for m in METRICS}})
    return pd.DataFrame(rows).set_index(["target", "score"]).astype(float)


_CONFIG_HELP = (
    "YAML config: the column mapping (`columns`) and how the raw export is read (`input`: rows "
    "without a customer, duplicate rows, date format, customer attributes), labels, training, "
    "LightGBM, VIP rules (see `vipml config --show`). The model bundle remembers it."
)

@command("train")
def train(
    transactions: Annotated[str, typer.Option(help=_TX_HELP)],
    model_out: Annotated[Path, typer.Option(help="Folder to write the model bundle to.")],
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="Training cutoff (YYYY-MM-DD): only data up to it are read; the latest label "
            "window ends on it. Default: the last date in the data (printed)."
        ),
    ] = None,
    horizon: Annotated[
        str | None,
        typer.Option(help="Label horizon, e.g. 26W, 90D, 6M [default: labels.horizon, 26W]."),
    ] = None,
    events: Annotated[
        Path | None, typer.Option(help="Optional events table (support tickets, referrals, ...).")
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(help="Optional customers table: text attributes become model features."),
    ] = None,
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
    experiment: Annotated[str | None, typer.Option(help=EXPERIMENT_HELP)] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help=NO_TRACKING_HELP)] = False,
) -> None:
    """Train the lifetime-value model and the future-VIP and churn classifiers.

    Rolling historical cutoffs are stacked for training; the latest label window (ending at the
    cutoff) validates, stops the boosting early and calibrates the probabilities. Writes a model
    bundle (manifest, JSON parameters, LightGBM text; no pickles).

    Unless `--no-tracking`, the run is logged to MLflow (params, metrics, artifacts) and the
    model registered as a pyfunc, version aliased `challenger` (`vipml promote` decides).
    """

    cfg = load_config(config)
    tracking = tracking_for(cfg, no_tracking)
    tx, ev, cu = _read_inputs(transactions, events, customers, cfg)
    when = _cutoff(cutoff, tx)
    h = _horizon(horizon, cfg)
    with tracked_run(tracking, experiment, f"train {when:%Y-%m-%d}", cfg, "train") as run:
        with progress_reporter("training") as progress:
            model = run_train(tx, when, h, events=ev, customers=cu, config=cfg, progress=progress)
        path = model.save(model_out)
        info = model.training
        console.print(
            f"trained at cutoff {when:%Y-%m-%d}, horizon {h}: {len(info['cutoffs'])} label "
            f"windows ({', '.join(info['cutoffs'])}; the first validates), BTYD "
            f"{info['purchase_model']}, {len(model.feature_names)} features"
        )
        console.print(
            _metrics_table(
                _validation_table(model.metrics),
                f"validation window {info['validation_cutoff']}, held-out customers (churn: "
                "those active at it)",
            )
        )
        for target in ("future_vip", "churn"):
            selection = (info.get(target) or {}).get("selection")
            if selection:
                style = "" if selection["out_of_time"] else "[yellow]"
                console.print(f"{style}{target} trees and blend: {selection['reason']}")
        for target, choice in (info.get("blend") or {}).items():
            console.print(
                f"final {target} score: {_blend_text(choice['chosen'])}: {choice['reason']}"
            )
        console.print(f"model bundle: {path}")
        if run is not None:
            run.log_training(model, path, tx)
            logged = run.log_model_bundle(path, tx, registered_model=cfg.tracking.registered_model)
            console.print(
                f"MLflow run {run.run_id} in experiment {run.experiment!r}: registered "
                f"{logged.registry_uri} as models:/{logged.name}@challenger, and its "
                f"per-customer model (for spark_udf) as models:/{logged.name}-customers@challenger "
                f"(`vipml promote` makes both the champion if it is better)"
            )


def _blend_text(name: str) -> str:
    """A safety-net choice (:func:`vipml.modeling.blend.candidate_weights`) in words."""
    if name.startswith("model_") and name != "model_alone":
        weight = float(name.removeprefix("model_"))
        return f"the model's rank blended with the rules' (model weight {weight:.0%})"
    return {
        "model_alone": "the model alone",
        "rules_rank_average": "the rules' rank average (the model lost to them)",
    }.get(name, f"the rule {name} alone (the model lost to it)")


def _names(values: list[str]) -> list[str]:
    """Names given as repeated options and/or separated by commas."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


@command("score")
def score(
    model: Annotated[
        str,
        typer.Option(
            help="Model bundle folder (written by `vipml train`), or an MLflow model URI such "
            "as models:/vipml@champion (from MLFLOW_TRACKING_URI, else ./mlflow.db)."
        ),
    ],
    transactions: Annotated[str, typer.Option(help=_TX_HELP)],
    out: Annotated[
        str,
        typer.Option(
            help="Scores table to write: a .parquet or .csv file; with --engine spark a folder "
            "or URI (s3://, dbfs:/, abfss://, file://; .csv for CSV parts, else Parquet)."
        ),
    ],
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="Scoring date (YYYY-MM-DD): predictions are for (DATE, DATE + horizon]. "
            "Default: the last date in the data (printed)."
        ),
    ] = None,
    events: Annotated[
        str | None, typer.Option(help="Optional events table (a file, or a URI with Spark).")
    ] = None,
    customers: Annotated[
        str | None,
        typer.Option(
            help="Customers table (required when the model was trained with one; a file, or a "
            "URI with Spark)."
        ),
    ] = None,
    allow_missing: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-missing",
            metavar="NAME",
            help="Score although an input the model was trained with is missing: a transaction "
            "column (cost, category, ...), an event kind, a customer attribute, or `events` / "
            "`customers` for all of that table's. It is filled with a default (the warning says "
            "which) and the scores shift. Repeat it or separate names with commas "
            "[default: scoring.allow_missing]. Without it a missing input is an error.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="YAML config: column mapping, input policies, VIP rules, segments, treatments "
            "[default: the model's own, so the data are read as in training; a given file wins "
            "and a mapping that differs from the model's is printed]."
        ),
    ] = None,
    chunks: Annotated[
        int | None,
        typer.Option(
            help="Score customers in this many chunks (ranges of customer_id) to bound memory "
            "on large inputs, e.g. a folder of Parquet files [default: scoring.chunks, auto: "
            f"one chunk per {ROWS_PER_CHUNK:,} transaction rows]. The rows are the same for any "
            "number of chunks."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Processes scoring chunks side by side; each holds one chunk in memory "
            "[default: scoring.workers, 0 = one per core, at most one per chunk]. The output "
            "is the same for any number."
        ),
    ] = None,
    reasons: Annotated[
        Literal["listed", "all", "none"] | None,
        typer.Option(
            help="Whose reasons to write: listed (customers in any segment but regular: the "
            "ones on marketers' lists), all, or none [default: scoring.reasons, listed]. "
            "Reasons cost a TreeSHAP pass per customer; probabilities are always computed."
        ),
    ] = None,
    engine: Annotated[
        Literal["pandas", "spark"],
        typer.Option(
            help="pandas (this machine) or spark (PySpark: `pip install vipml[spark]`; the "
            "active session, else local[2]). Spark writes OUT as a folder of part files."
        ),
    ] = "pandas",
) -> None:
    """Score and segment every customer: CLV, P(alive), P(future VIP), P(churn), VIP status,
    tier, segment, gap to VIP, reasons and the suggested treatment.

    The output is written atomically (temporary file, then rename): an interrupted run leaves
    no half-written file, and a rerun gives the identical file.
    """
    if engine == "pandas" and Path(out).suffix.lower() not in (".parquet", ".pq", ".csv"):
        fail(f"--out {out}: use a .parquet or .csv file name (or --engine spark for a folder)")
    if chunks is not None and chunks < 1:
        fail("--chunks must be at least 1")
    if workers is not None and workers < 0:
        fail("--workers must be 0 (one per core) or more")
    bundle, downloaded = resolve_model(model)
    if downloaded:
        console.print(f"model {model}: bundle downloaded to {downloaded}")
    cfg = _scoring_config(config, bundle.config)
    status = console.status("scoring with Spark") if engine == "spark" and is_terminal() else None
    with progress_reporter("scoring") as progress, status or contextlib.nullcontext():
        done = score_files(
            bundle, transactions, out, cutoff=parse_date(cutoff), events=events,
            customers=customers, config=cfg, chunks=chunks, workers=workers, reasons=reasons,
            allow_missing=_names(allow_missing) if allow_missing else None, engine=engine,
            progress=progress, on_read=_print_read, on_cutoff=_print_cutoff,
        )
    when = done.cutoff
    end = when + parse_duration(bundle.horizon)
    console.print(
        f"scored {done.customers:,} customers at {when:%Y-%m-%d} for ({when:%Y-%m-%d}, "
        f"{end:%Y-%m-%d}] with the model trained at {bundle.cutoff:%Y-%m-%d}"
        + (" with Spark" if done.engine == "spark" else "")
        + (f" in {done.chunks} chunks" if done.chunks > 1 and done.engine != "spark" else "")
        + (f" (scoring.chunks: auto, one per {ROWS_PER_CHUNK:,} transaction rows)"
           if done.chunks > 1 and done.engine != "spark" and chunks is None
           and cfg.scoring.chunks == "auto" else "")
        + (f" by {done.workers} worker processes" if done.workers > 1 else "")
        + f": mean P(future VIP) {done.mean_p_future_vip:.3f}, mean P(churn) "
        f"{done.mean_p_churn:.3f}"
    )
    console.print("segments: " + ", ".join(f"{k} {v:,}" for k, v in done.segments.items()))
    whose = reasons or cfg.scoring.reasons
    console.print(f"reasons written for {done.explained:,} customers ({whose})")
    console.print(f"scores: {out}")


def _scoring_config(path: Path | None, trained: Config) -> Config:
    """The config to score with: the given file, else the model's own (its column mapping and
    input policies read the data as in training). A given file that maps the data differently
    from the model's is said so."""

    if path is None:
        mapped = trained.columns.transactions
        console.print(
            "config: the model's (trained with "
            + (f"the mapping {_mapping_text(mapped)}" if mapped else "no column mapping")
            + " and its input policies; --config to override)",
            soft_wrap=True,
            markup=False,
        )
        return trained
    cfg = load_config(path)
    for section in ("columns", "input"):
        given, theirs = config_to_dict(getattr(cfg, section)), config_to_dict(
            getattr(trained, section)
        )
        if given != theirs:
            changed = sorted(k for k in set(given) | set(theirs) if given.get(k) != theirs.get(k))
            console.print(
                f"[yellow]note:[/] {path.name} differs from the model's `{section}` in "
                + ", ".join(
                    f"{section}.{k} ({theirs.get(k)!r} in the model, {given.get(k)!r} here)"
                    for k in changed
                ),
                soft_wrap=True,
            )
    return cfg


def _mapping_text(mapping: dict[str, str]) -> str:
    return ", ".join(f"{k} -> {v}" for k, v in mapping.items())


def _list_check(check: dict[str, Any], cfg: Config) -> str:
    """The backtest's verdict on the predicted-VIP list, in one sentence."""
    seg = cfg.segments
    rule = (
        f"top {seg.predicted_vip_top_pct:.0%} of non-VIPs by P(future VIP), at least "
        f"{seg.predicted_vip_min_lift:g}x their mean {check['base_rate_p_future_vip']:.3f}: "
        f"P >= {check['min_p_future_vip']:.3f}"
    )
    if not check["customers"]:
        return f"predicted-VIP list ({rule}): empty at this cutoff"
    return (
        f"predicted-VIP list ({rule}): {check['customers']:,} of {check['non_vips']:,} "
        f"non-VIPs; {check['precision']:.1%} became VIPs, against "
        f"{check['spend_12m_precision']:.1%} of as many non-VIPs with the highest 12-month "
        f"spend and {check['base_rate']:.1%} of all non-VIPs"
    )


@command("backtest")
def backtest(
    transactions: Annotated[str, typer.Option(help=_TX_HELP)],
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="Train with data up to this date, judge on (DATE, DATE + horizon]. Default: "
            "the last date in the data minus the horizon (printed)."
        ),
    ] = None,
    cutoffs: Annotated[
        str | None,
        typer.Option(
            help="Several cutoffs, separated by commas (e.g. 1997-10-31,1997-12-31): a "
            "backtest at each and one table with the mean and the worst case per score."
        ),
    ] = None,
    horizon: Annotated[
        str | None, typer.Option(help="Label horizon [default: labels.horizon, 26W].")
    ] = None,
    events: Annotated[Path | None, typer.Option(help="Optional events table.")] = None,
    customers: Annotated[Path | None, typer.Option(help="Optional customers table.")] = None,
    config: Annotated[Path | None, typer.Option(help=_CONFIG_HELP)] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the metrics as JSON to this file.")
    ] = None,
    plots: Annotated[
        Path | None,
        typer.Option(
            help="Folder for lift_chart.png and calibration_curve.png (and the JSON); with "
            "--cutoffs one subfolder per cutoff."
        ),
    ] = None,
    experiment: Annotated[str | None, typer.Option(help=EXPERIMENT_HELP)] = None,
    no_tracking: Annotated[bool, typer.Option("--no-tracking", help=NO_TRACKING_HELP)] = False,
) -> None:
    """Judge the models out of time against the baselines a marketer would use.

    Trains with the data up to the cutoff, predicts at it and compares with what happened in
    the horizon: ROC AUC, average precision, precision and lift in the top decile, Brier score,
    for LightGBM and for the baselines (12-month spend, BTYD expected spend and their
    rank-average for future VIPs; days since last purchase, 1 - P(alive), the BTYD probability
    of no purchase and the rank-average of the first and last for churn). Then discovery (the
    future-VIP scores among the customers not VIPs at the cutoff) and the predicted-VIP list
    against as many top non-VIPs by 12-month spend. With --cutoffs: a backtest at each cutoff
    and one table with the mean and the worst case per score.
    """

    cfg = load_config(config)
    tracking = tracking_for(cfg, no_tracking)
    if cutoffs is not None and cutoff is not None:
        fail("give --cutoff or --cutoffs, not both")
    many = None
    if cutoffs is not None:
        many = [parse_date(v.strip(), "--cutoffs") for v in cutoffs.split(",") if v.strip()]
        if not many:
            fail("--cutoffs: give at least one date, e.g. 1997-10-31,1997-12-31")
    tx, ev, cu = _read_inputs(transactions, events, customers, cfg)
    h = _horizon(horizon, cfg)
    if many is not None:
        _backtest_cutoffs(
            [cast(pd.Timestamp, d) for d in many], h, tx, ev, cu, cfg, json_out, plots,
            tracking, experiment,
        )
        return
    when = parse_date(cutoff)
    if when is None:
        when = tx["timestamp"].max().normalize() - parse_duration(h)
        console.print(
            f"cutoff: {when:%Y-%m-%d} (the last date in the data minus the horizon {h}; set "
            "--cutoff to choose another)"
        )
    with tracked_run(tracking, experiment, f"backtest {when:%Y-%m-%d}", cfg, "backtest") as run:
        with progress_reporter("backtest") as progress:
            result = run_backtest(
                tx, when, h, events=ev, customers=cu, config=cfg, progress=progress
            )
        _print_backtest(result, cfg)
        if json_out is not None:
            write_text(result.to_json(), json_out)
            console.print(f"metrics: {json_out}")
        if plots is not None:
            _save_plots(result, plots)
            console.print(f"plots: {plots}")
        if run is not None:
            run.log_backtest(result, tx)
            console.print(f"MLflow run {run.run_id} in experiment {run.experiment!r}")


def _print_backtest(result: BacktestResult, cfg: Config) -> None:
    """One backtest's tables: the metrics, the discovery rows, the verdicts, the list check."""
    when = pd.Timestamp(result.cutoff)
    end = when + parse_duration(result.horizon)
    console.print(
        _metrics_table(
            result.table,
            f"backtest: trained up to {when:%Y-%m-%d}, judged on ({when:%Y-%m-%d}, "
            f"{end:%Y-%m-%d}] (churn: customers active at the cutoff)",
        )
    )
    for target, beats in result.beats_baselines().items():
        verdict = "[green]beats[/]" if beats else "[red]does not beat[/]"
        console.print(
            f"{target}: LightGBM {verdict} every baseline on ROC AUC and average precision"
        )
    if len(result.discovery):
        console.print(
            _discovery_table(
                result.discovery,
                "discovery: future VIPs among the customers not VIPs at the cutoff",
            )
        )
    console.print(_list_check(result.info["predicted_vip_list"], cfg), soft_wrap=True)


def _save_plots(result: BacktestResult, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    save_figure(lift_chart(result), folder / "lift_chart.png")
    save_figure(calibration_curve(result), folder / "calibration_curve.png")
    write_text(result.to_json(), folder / "backtest.json")


def _backtest_cutoffs(
    cutoffs: list[pd.Timestamp],
    h: str,
    tx: pd.DataFrame,
    ev: pd.DataFrame | None,
    cu: pd.DataFrame | None,
    cfg: Config,
    json_out: Path | None,
    plots: Path | None,
    tracking: Any,
    experiment: str | None,
) -> None:
    """`vipml backtest --cutoffs`: one backtest per cutoff, then the summary table."""
    days = ",".join(f"{d:%Y-%m-%d}" for d in cutoffs)
    with tracked_run(tracking, experiment, f"backtest {days}", cfg, "backtest") as run:
        with progress_reporter("backtest") as progress:
            result = run_backtest_cutoffs(
                tx, cutoffs, h, events=ev, customers=cu, config=cfg, progress=progress
            )
        for one in result.results:
            for target, beats in one.beats_baselines().items():
                verdict = "beats" if beats else "does not beat"
                console.print(
                    f"{one.cutoff:%Y-%m-%d} {target}: LightGBM {verdict} every baseline on "
                    "ROC AUC and average precision"
                )
            console.print(
                f"{one.cutoff:%Y-%m-%d} " + _list_check(one.info["predicted_vip_list"], cfg),
                soft_wrap=True,
            )
        console.print(
            _summary_table(
                result,
                f"backtest at {len(cutoffs)} cutoffs, horizon {h}: mean, worst case and each "
                "cutoff (churn: customers active at the cutoff; future_vip_discovery: "
                "customers not VIPs at it)",
            )
        )
        if json_out is not None:
            write_text(result.to_json(), json_out)
            console.print(f"metrics: {json_out}")
        if plots is not None:
            for one in result.results:
                _save_plots(one, plots / f"{one.cutoff:%Y-%m-%d}")
            write_text(result.to_json(), plots / "backtest.json")
            console.print(f"plots: {plots}")
        if run is not None:
            run.log_params({"cutoffs": days, "horizon": h})
            run.log_metrics(result.to_dict()["summary"], "cutoffs")
            run.log_text(result.to_json(), "backtest.json")
            console.print(f"MLflow run {run.run_id} in experiment {run.experiment!r}")
