"""``vipml lists``: the marketer's lists, spreadsheet and report from a scores table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from vipml.batch import SCORES_CONFIG
from vipml.cli._app import command, console, fail, parse_date
from vipml.config import Config, config_from_dict, load_config
from vipml.data.io import read_customers, read_table, read_transactions
from vipml.errors import SchemaError
from vipml.report import write_lists
from vipml.segments import LISTS, assign_segments, customer_attributes, marketer_lists


def _backtest(path: Path) -> dict[str, Any]:
    """A backtest to show: a JSON file of metrics, or a folder of PNG plots and JSON files."""
    if not path.exists():
        raise SchemaError([f"{path} does not exist: check the path"], table="backtest")
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    out: dict[str, Any] = {}
    for file in files:
        if file.suffix.lower() == ".png":
            out[file.stem] = file.read_bytes()
        elif file.suffix.lower() == ".json":
            try:
                out[file.stem] = json.loads(file.read_text())
            except json.JSONDecodeError as exc:
                raise SchemaError(
                    [f"{file.name} is not valid JSON ({exc}): give the file written by "
                     "`vipml backtest --json`"],
                    table="backtest",
                ) from None
    if not out:
        raise SchemaError(
            [f"{path} holds no .json or .png file: give `vipml backtest --json` output"],
            table="backtest",
        )
    return out


def _config(path: Path | None, table: pd.DataFrame, scores: Path) -> Config:
    """The given config; else the one `vipml score` stored in the scores file; else defaults."""
    if path is not None:
        return load_config(path)
    stored = table.attrs.get(SCORES_CONFIG)
    if isinstance(stored, dict):
        console.print(
            f"config: the one stored in {scores.name} by `vipml score` (--config to override)"
        )
        return config_from_dict(stored)
    return load_config(None)


@command("lists")
def lists(
    scores: Annotated[
        Path, typer.Option(help="Scores table (.parquet or .csv) written by `vipml score`.")
    ],
    out: Annotated[
        Path,
        typer.Option(help="Folder for vip_list.csv, vip_list.xlsx and report.html (created)."),
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            help="YAML config: the `vip`, `segments` and `treatments` rules, and the `columns` "
            "and `input` sections that read --transactions [default: the config stored in the "
            "scores file by `vipml score` (the model's), else the defaults]."
        ),
    ] = None,
    previous: Annotated[
        Path | None,
        typer.Option(
            help="Scores or vip_list.csv of an earlier run: in fixed mode a VIP status holds "
            "until its term ends (needs the date of this run)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Date of this run (YYYY-MM-DD); default: the scores' cutoff."),
    ] = None,
    customers: Annotated[
        Path | None,
        typer.Option(help="Customers table (acquisition_channel, region, ...) for the profile."),
    ] = None,
    transactions: Annotated[
        str | None,
        typer.Option(
            help="Transactions (a path, `cdnow` or `cdnow-sample`): the first category each "
            "customer bought, for the profile."
        ),
    ] = None,
    backtest: Annotated[
        Path | None,
        typer.Option(
            help="Backtest results to include: a JSON file of metrics, or a folder of PNG "
            "plots (lift chart, calibration curve) and JSON files."
        ),
    ] = None,
) -> None:
    """Assign VIP status, tiers, segments and treatments, and write the marketer's files.

    Writes `vip_list.csv` (every listed customer), `vip_list.xlsx` (a summary, one sheet per
    list: VIPs by tier, predicted VIPs, near-VIPs, at-risk VIPs, lapsed VIPs, dormant
    high-potential, the VIP profile and the treatment rules) and `report.html` (one
    self-contained file with the plots) under OUT.
    """
    table = read_table(scores)
    cfg = _config(config, table, scores)
    run_date = parse_date(as_of, "--as-of")
    if run_date is None:
        found = table.attrs.get("as_of") or table.attrs.get("cutoff")
        if found:
            date = pd.Timestamp(found)
            console.print(f"as of {date:%Y-%m-%d} (the cutoff stored in {scores.name})")
        elif previous is not None:
            fail("--previous needs the date of this run: give --as-of YYYY-MM-DD")
        else:
            console.print(
                "no --as-of and no cutoff in the scores file: VIP status dates stay empty"
            )
    earlier = read_table(previous) if previous is not None else None
    segmented = assign_segments(table, cfg, previous=earlier, as_of=run_date)
    console.print(segmented.attrs["vip_rule"], soft_wrap=True)

    attributes = None
    if transactions is not None or customers is not None:
        tx = (
            read_transactions(transactions, cfg.columns.transactions, cfg.input)
            if transactions
            else None
        )
        people = read_customers(customers, cfg.columns.customers, cfg.input) if customers else None
        attributes = customer_attributes(tx, people)
    shown = _backtest(backtest) if backtest is not None else None


    with console.status("writing the lists, the spreadsheet and the report"):
        paths = write_lists(segmented, out, cfg, backtest=shown, attributes=attributes)
    counts = marketer_lists(segmented, cfg)
    console.print(f"{len(segmented):,} customers:")
    for key, name in LISTS.items():
        console.print(f"  {name:<24} {len(counts[key]):>9,}")
    for name, path in paths.items():
        console.print(f"  {name:<5} {path}")
