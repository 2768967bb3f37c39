"""``vipml btyd``: fit the lifetime-value models at a cutoff and compare them on a holdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from vipml.btyd_report import fit_report
from vipml.cli._app import command, console, fail, parse_date
from vipml.config import load_config
from vipml.data.io import read_transactions, write_text

_LABELS = {
    "bgnbd": "BG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "mbgnbd": "MBG/NBD",
    "gamma_gamma": "Gamma-Gamma",
}
_UNITS = {"D": "days", "W": "weeks"}


def _number(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 1e4 else f"{value:.4g}"


def _params(params: dict[str, float]) -> str:
    return " ".join(f"{k}={_number(v)}" for k, v in params.items())


def _print_uncertainty(rows: list[tuple[str, dict[str, Any]]]) -> None:
    """Each parameter's standard error and 95% interval (from the Hessian at the optimum)."""
    console.print("\n[bold]Parameter uncertainty[/] (standard error; 95% interval, log scale)")
    for name, fit in rows:
        if "error" in fit or "standard_errors" not in fit:
            continue
        parts = []
        for k, value in fit["params"].items():
            se = fit["standard_errors"].get(k)
            lower, upper = fit["intervals_95"].get(k, [None, None])
            if se is None or lower is None or upper is None:
                parts.append(f"{k}={_number(value)} (no standard error: flat optimum)")
            else:
                parts.append(
                    f"{k}={_number(value)} ±{_number(se)} ({_number(lower)}-{_number(upper)})"
                )
        console.print(f"{_LABELS[name]:<12} " + ", ".join(parts), markup=False, soft_wrap=True)


def _print_report(report: dict[str, Any], end_note: str) -> None:
    unit = _UNITS[report["time_unit"]]
    out = console.print
    out(
        f"{report['customers']:,} customers at cutoff {report['cutoff']}, "
        f"{report['repeat_customers']:,} with repeat purchases "
        f"(purchases per {'day' if report['freq'] == 'D' else 'week'}, time in {unit})",
        soft_wrap=True,
    )
    out("\n[bold]Fitted on the calibration window[/]")
    out(f"{'model':<12} {'parameters':<42} {'log-likelihood':>14} {'penalizer':>9}")
    rows = [*report["models"].items(), ("gamma_gamma", report["gamma_gamma"])]
    for name, fit in rows:
        if "error" in fit:
            out(f"{_LABELS[name]:<12} [red]did not converge:[/] {fit['error']}", soft_wrap=True)
            continue
        out(
            f"{_LABELS[name]:<12} {_params(fit['params']):<42} "
            f"{fit['log_likelihood']:>14,.1f} {fit['penalizer']:>9g}",
            markup=False,
            soft_wrap=True,
        )
    _print_uncertainty(rows)
    if "customers" in report["gamma_gamma"]:
        out(
            f"Gamma-Gamma: {report['gamma_gamma']['customers']:,} repeat customers with a "
            "positive average spend"
        )
    if not report["holdout"]:
        out(f"\nno holdout comparison: {end_note}", soft_wrap=True)
        return
    out(
        f"\n[bold]Holdout: repeat purchases after the cutoff to {report['holdout_end']}"
        f"{end_note} ({report['holdout_weeks']:g} weeks)[/]",
        soft_wrap=True,
    )
    out(
        f"{'model':<12} {'actual':>9} {'predicted':>10} {'total error':>12} "
        f"{'MAE':>7} {'correlation':>12}"
    )
    for row in report["holdout"]:
        if row.get("actual_purchases") is None:
            out(f"{_LABELS[row['model']]:<12} did not converge")
            continue
        error, corr = row["aggregate_error"], row["correlation"]
        error_text = f"{error:+.1%}" if error is not None else "-"
        corr_text = f"{corr:.3f}" if corr is not None else "-"
        out(
            f"{_LABELS[row['model']]:<12} {row['actual_purchases']:>9,.0f} "
            f"{row['predicted_purchases']:>10,.1f} {error_text:>12} {row['mae']:>7.3f} "
            f"{corr_text:>12}" + ("  [green]best[/]" if row["best"] else ""),
            soft_wrap=True,
        )
    out(f"best: {_LABELS[report['best']]} (lowest mean absolute error per customer)")


@command("btyd")
def btyd(
    transactions: Annotated[
        str,
        typer.Option(
            help="Transactions: a CSV or Parquet file, a folder of Parquet files, or "
            "`cdnow` / `cdnow-sample`."
        ),
    ],
    cutoff: Annotated[str, typer.Option(help="Last day of the calibration window, YYYY-MM-DD.")],
    holdout_end: Annotated[
        str | None,
        typer.Option(help="Last day of the holdout window (default: the last date in the data)."),
    ] = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Also write the parameters and the comparison as JSON."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML config: its `columns` mapping and `input` policies read the data."),
    ] = None,
) -> None:
    """Fit BG/NBD, Pareto/NBD, MBG/NBD and Gamma-Gamma at a cutoff; compare them on a holdout.

    Prints each model's parameters and log-likelihood (purchases per day, time in weeks, as
    the published CDNOW tables) and, when the data go beyond the cutoff, how well each
    predicts the repeat purchases of the holdout: total, mean absolute error per customer and
    correlation. `vipml btyd --transactions cdnow-sample --cutoff 1997-09-30` reproduces
    Fader, Hardie & Lee (2005).
    """

    cfg = load_config(config)
    tx = read_transactions(transactions, cfg.columns.transactions, cfg.input)
    cut = parse_date(cutoff)
    first, last = tx["timestamp"].min().normalize(), tx["timestamp"].max().normalize()
    if cut < first:
        fail(
            f"--cutoff {cut:%Y-%m-%d} is before the first transaction ({first:%Y-%m-%d}): "
            "choose a later date"
        )
    end = parse_date(holdout_end, "--holdout-end")
    end_note = ""
    if end is None:
        end = last
        end_note = " (the last date in the data)"
    if end <= cut:
        end_note = (
            f"the holdout end {end:%Y-%m-%d} is not after the cutoff"
            if holdout_end is not None
            else f"the data end at {last:%Y-%m-%d}, on or before the cutoff"
        )
        end = None
    elif end > last:
        console.print(
            f"[yellow]note:[/] the data end at {last:%Y-%m-%d}, before --holdout-end "
            f"{end:%Y-%m-%d}: the holdout ends there"
        )
        end, end_note = last, " (the last date in the data)"
    with console.status("fitting the models"):
        report = fit_report(tx, cut, end)
    _print_report(report, end_note)
    if json_out is not None:
        write_text(json.dumps(report, indent=2) + "\n", json_out)
        console.print(f"wrote {json_out}")
