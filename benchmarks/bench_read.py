"""Reading a raw export: vipml's reader and contract against a plain pandas read, same files.

Usage::

    python benchmarks/bench_read.py --customers 1000000 [--repeat 3] [--json OUT]

Data: ``vipml.data.simulate.simulate(N, seed)``'s transactions, written (not timed) as

- ``iso.csv``: ISO timestamps, comma-separated, UTF-8;
- ``uk.csv``: the shape of a UK spreadsheet export: day-first dates (``%d/%m/%Y %H:%M``),
  zero-padded text ids, ``;``-separated, cp1252 with one ``£`` in the last row (so the
  encoding is only found wrong at the end of the file: the worst case);
- ``tx.parquet``.

Measured, in one run (wall clock, best of ``--repeat``):

- **pandas baseline**: ``pd.read_csv`` (with the separator and encoding given, ids as text)
  plus ``pd.to_datetime`` with the format given; what a user writes when they already know
  the file. It checks nothing;
- **vipml**: ``read_transactions`` with every choice on ``auto``: encoding, separator and date
  format detected, ids kept as text, every contract rule checked, duplicate rows looked for.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from bench_features import best_of  # the script's own folder is on sys.path

from vipml.data.io import read_transactions
from vipml.data.simulate import simulate


def write_files(customers: int, seed: int, folder: Path) -> dict[str, Path]:
    """The three files of the module docs."""
    tx = simulate(customers, seed=seed).transactions
    tx = tx[["customer_id", "order_id", "timestamp", "revenue", "quantity", "category"]]
    paths = {"iso": folder / "iso.csv", "uk": folder / "uk.csv", "parquet": folder / "tx.parquet"}
    tx.to_csv(paths["iso"], index=False, date_format="%Y-%m-%d %H:%M:%S")
    uk = tx.assign(
        customer_id=tx["customer_id"].map("{:08d}".format),
        timestamp=tx["timestamp"].dt.strftime("%d/%m/%Y %H:%M"),
    )
    uk.loc[uk.index[-1], "category"] = "£ special"
    uk.to_csv(paths["uk"], index=False, sep=";", encoding="cp1252")
    tx.to_parquet(paths["parquet"], index=False)
    return paths


def pandas_read(path: Path, sep: str, encoding: str, fmt: str) -> pd.DataFrame:
    """What one writes knowing the file: no detection, no checks."""
    frame = pd.read_csv(
        path, sep=sep, encoding=encoding, converters={"customer_id": str}, low_memory=False
    )
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format=fmt)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vipml-bench-read-") as tmp:
        paths = write_files(args.customers, args.seed, Path(tmp))
        rows = len(pd.read_parquet(paths["parquet"], columns=["revenue"]))
        print(f"{args.customers:,} customers, {rows:,} transactions; {platform.processor() or ''}"
              f" {os.cpu_count()} cores")
        cases = {
            "ISO CSV (utf-8, ',')": (paths["iso"], ",", "utf-8", "%Y-%m-%d %H:%M:%S"),
            "UK CSV (cp1252, ';', day-first)": (paths["uk"], ";", "cp1252", "%d/%m/%Y %H:%M"),
        }
        results: dict[str, Any] = {"customers": args.customers, "rows": rows, "cases": {}}
        print(f"{'file':<34}{'pandas':>10}{'vipml':>10}{'ratio':>8}")
        for name, case in cases.items():
            base, expected = best_of(args.repeat, lambda case=case: pandas_read(*case))
            ours, got = best_of(args.repeat, lambda path=case[0]: read_transactions(path))
            same = bool((got["timestamp"].to_numpy() == expected["timestamp"].to_numpy()).all())
            results["cases"][name] = {"pandas_s": base, "vipml_s": ours, "same_dates": same}
            print(f"{name:<34}{base:>9.2f}s{ours:>9.2f}s{ours / base:>7.2f}x"
                  f"  dates equal: {same}")
        base, _ = best_of(args.repeat, lambda: pd.read_parquet(paths["parquet"]))
        ours, _ = best_of(args.repeat, lambda: read_transactions(paths["parquet"]))
        results["cases"]["Parquet"] = {"pandas_s": base, "vipml_s": ours}
        print(f"{'Parquet':<34}{base:>9.2f}s{ours:>9.2f}s{ours / base:>7.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
