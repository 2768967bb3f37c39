"""``vipml demo``: the main job, end to end on the bundled CDNOW data."""

from __future__ import annotations

from typing import Annotated

import typer

from vipml.cli._app import command, console
from vipml.data.datasets import load_cdnow


@command("demo")
def demo(
    sample: Annotated[bool, typer.Option(help="Use the 1/10 CDNOW sample.")] = False,
) -> None:
    """Run vipml end to end on CDNOW (bundled with lifetimes; nothing is downloaded)."""
    tx = load_cdnow(sample=sample)
    console.print(
        f"CDNOW{' sample' if sample else ''}: {len(tx):,} transactions, "
        f"{tx['customer_id'].nunique():,} customers, "
        f"{tx['timestamp'].min():%Y-%m-%d} to {tx['timestamp'].max():%Y-%m-%d}, "
        f"revenue {tx['revenue'].sum():,.2f}"
    )
