"""Data commands: ``vipml validate``, ``vipml simulate``, ``vipml config``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vipml.cli._app import command, console, fail
from vipml.config import dump_config, load_config
from vipml.data.io import id_column_names, raw_transactions, read_table
from vipml.data.schema import ValidationReport, check_events, check_transactions
from vipml.data.simulate import save_simulation
from vipml.data.simulate import simulate as run_simulation


def print_report(report: ValidationReport, raw_rows: int) -> None:
    """Print what a check found: columns, how the data were read, warnings and problems."""
    console.print(f"[bold]{report.table}[/]: {raw_rows:,} rows")
    found = [report.renamed.get(c, c) for c in report.columns_found]
    recognised = [report.as_given(c) for c in report.columns_recognised]
    console.print(f"  columns found:      {', '.join(found) or 'none'}", soft_wrap=True)
    console.print(f"  columns recognised: {', '.join(recognised) or 'none'}", soft_wrap=True)
    if report.columns_ignored:
        console.print(f"  columns ignored:    {', '.join(report.columns_ignored)}")
    print_notes(report)
    frame = report.frame
    if frame is not None and len(frame):
        if len(frame) != raw_rows:
            console.print(f"  rows kept:          {len(frame):,}")
        console.print(f"  customers:          {frame['customer_id'].nunique():,}")
        start, end = frame["timestamp"].min(), frame["timestamp"].max()
        console.print(f"  date range:         {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    for message in report.warnings:
        console.print(f"  [yellow]warning:[/] {message}", soft_wrap=True)
    if report.problems:
        console.print(f"  [bold red]{len(report.problems)} problem(s):[/]")
        for problem in report.problems:
            console.print(f"  - {problem}", soft_wrap=True)
    else:
        console.print("  [green]valid[/]")


def print_notes(report: ValidationReport) -> None:
    """Print how the data were read (formats detected, columns derived, rows dropped)."""
    if report.notes:
        console.print("  read as:")
        for note in report.notes:
            console.print(f"    - {note}", soft_wrap=True, markup=False)


@command("validate")
def validate(
    transactions: Annotated[
        str,
        typer.Argument(
            help="Transactions: a CSV or Parquet file, a folder of Parquet "
            "files, or `cdnow` / `cdnow-sample`."
        ),
    ],
    events: Annotated[
        Path | None, typer.Option(help="Optional events table (support tickets, referrals, ...).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="YAML config: its `columns` mapping and its `input` policies (rows without a "
            "customer, duplicate rows, timestamp format, encoding, separator, customer "
            "attributes)."
        ),
    ] = None,
) -> None:
    """Check a transaction log against the contract and print **every** problem at once.

    Prints rows, customers, date range, the columns found and recognised, how the data were
    read (the date format, encoding and separator detected, columns derived such as revenue =
    quantity x unit_price, rows dropped by an `input` policy, with counts), and each problem
    with the rows at fault and the fix. Exits with code 1 when there is a problem.
    """
    cfg = load_config(config)
    raw = raw_transactions(transactions, cfg.columns.transactions, cfg.input)
    reports = [
        (check_transactions(raw, cfg.columns.transactions, policy=cfg.input), len(raw))
    ]
    if events is not None:
        raw_events = read_table(
            events, policy=cfg.input, text_columns=id_column_names(cfg.columns.events)
        )
        reports.append(
            (check_events(raw_events, cfg.columns.events, cfg.input), len(raw_events))
        )
    for report, n in reports:
        print_report(report, n)
    if any(not r.ok for r, _ in reports):
        raise typer.Exit(1)


@command("simulate")
def simulate(
    out: Annotated[
        Path,
        typer.Option(
            help="Transactions file to write (.parquet or .csv); the "
            "events, customers, truth and params are written beside it."
        ),
    ],
    customers: Annotated[int, typer.Option(help="Number of customers.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 0,
) -> None:
    """Generate a realistic transaction log from known processes, with the truth.

    Purchases follow BG/NBD, spend Gamma-Gamma; categories differ in margin, some customers buy
    only on discount, some return a lot; acquisition channels and regions differ in value.
    """

    if customers < 1:
        fail("--customers must be at least 1")
    with console.status(f"simulating {customers:,} customers"):
        sim = run_simulation(customers, seed=seed)
        paths = save_simulation(sim, out)
    console.print(
        f"simulated {customers:,} customers, {len(sim.transactions):,} transactions "
        f"({sim.params['start']} to {sim.params['end']}), seed {seed}"
    )
    for name, path in paths.items():
        console.print(f"  {name:<13} {path}")


@command("config")
def show_config(
    config: Annotated[Path | None, typer.Argument(help="YAML config file (default: none).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Print the effective config.")] = True,
) -> None:
    """Print the effective configuration: every default, overridden by the given YAML file.

    A wrong key or value is rejected with the valid choices.
    """
    cfg = load_config(config)
    if show:
        console.print(dump_config(cfg), end="", markup=False, soft_wrap=True)
