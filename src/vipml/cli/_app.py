"""The typer app and what every command shares: error handling, dates, progress output."""

from __future__ import annotations

import functools
import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import typer
from rich.console import Console

from vipml.errors import VipmlError

__all__ = ["app", "console", "command", "parse_date", "fail"]

app = typer.Typer(
    name="vipml",
    help=(
        "Find your most valuable customers before anyone else does.\n\n"
        "From a transaction log, vipml builds per-customer value features, predicts lifetime "
        "value (BG/NBD + Gamma-Gamma), flags likely future VIPs and churn risk (LightGBM), and "
        "writes the lists marketers act on. Wherever a transactions path is asked for, the "
        "names `cdnow` and `cdnow-sample` stand for the CDNOW data bundled with lifetimes.\n\n"
        "Start with:  vipml demo"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
# Without a terminal (cron, CI, a job runner) nothing is cut at 80 columns: tables print whole.
_LOG_WIDTH = 240
console = Console(highlight=False, width=None if sys.stdout.isatty() else _LOG_WIDTH)
err_console = Console(
    stderr=True, highlight=False, width=None if sys.stderr.isatty() else _LOG_WIDTH
)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 1) -> None:
    """Print an error message (no traceback) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Register a CLI command that turns vipml errors into a clean message and exit code 1."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*a: Any, **kw: Any) -> Any:
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning
                try:
                    return func(*a, **kw)
                except VipmlError as exc:
                    fail(str(exc))
                except KeyboardInterrupt:
                    fail(
                        "interrupted: finished outputs are complete; nothing is half-written",
                        130,
                    )

        app.command(*args, **kwargs)(wrapper)
        return func

    return decorate


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    if category.__module__.startswith("vipml"):
        err_console.print(f"[yellow]warning:[/] {message}", soft_wrap=True)
    elif not issubclass(category, DeprecationWarning | FutureWarning):
        logging.getLogger("py.warnings").debug("%s: %s", category.__name__, message)


def parse_date(value: str | None, name: str = "--cutoff") -> pd.Timestamp | None:
    """Parse a date option (None stays None) or fail with a clear message."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        fail(f"{name} {value!r} is not a date: use YYYY-MM-DD, e.g. 1997-09-30")
    return None  # pragma: no cover


def is_terminal() -> bool:
    """True when stdout is an interactive terminal (progress bars show only then)."""
    return sys.stdout.isatty()
