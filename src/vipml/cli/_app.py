"""The typer app and what every command shares: error handling, dates, progress output,
--quiet and --verbose, and the MLflow tracking options."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import signal
import sys
import threading
import time
import typing
import warnings
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from vipml.config import Config
from vipml.errors import VipmlError

__all__ = [
    "EXPERIMENT_HELP",
    "NO_TRACKING_HELP",
    "app",
    "command",
    "console",
    "fail",
    "is_terminal",
    "parse_date",
    "progress_reporter",
    "step_log",
    "tracked_run",
    "tracking_for",
]

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


_QUIET = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Print nothing but warnings and errors (the files are written).",
    ),
]
_VERBOSE = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v",
        help="Also print vipml's log (what each step read and chose) and the warnings of the "
        "libraries underneath.",
    ),
]
_VERBOSITY = {"quiet": _QUIET, "verbose": _VERBOSE}


class Stopped(Exception):
    """The process was asked to stop (SIGTERM, e.g. a job scheduler's timeout)."""


def _stop(signum: int, frame: Any) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def _verbosity(quiet: bool, verbose: bool) -> Iterator[None]:
    """``--quiet``: stdout silent; ``--verbose``: vipml's INFO log and every warning."""
    if quiet and verbose:
        fail("--quiet and --verbose contradict each other: give one")
    logger = logging.getLogger("vipml")
    level = logger.level
    console.quiet = quiet
    _SHOW["all_warnings"] = verbose
    if verbose:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        console.quiet = False
        _SHOW["all_warnings"] = False
        logger.setLevel(level)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the command like Ctrl-C: cleanup runs, temporary files are removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Register a CLI command that turns vipml errors into a clean message and exit code 1,
    stops cleanly on Ctrl-C and SIGTERM, and takes ``--quiet`` and ``--verbose``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*a: Any, quiet: bool = False, verbose: bool = False, **kw: Any) -> Any:
            logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
            with warnings.catch_warnings(), _verbosity(quiet, verbose), _stop_on_sigterm():
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
                except Stopped as stop:
                    fail(
                        "stopped (SIGTERM): finished outputs are complete; nothing is "
                        "half-written",
                        128 + int(stop.args[0]),
                    )

        signature = inspect.signature(func, eval_str=True)
        extra = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=hint)
            for name, hint in _VERBOSITY.items()
        ]
        wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*signature.parameters.values(), *extra]
        )
        wrapper.__annotations__ = {
            **typing.get_type_hints(func, include_extras=True), **_VERBOSITY
        }
        app.command(*args, **kwargs)(wrapper)
        return func

    return decorate


_SHOW = {"all_warnings": False}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    if category.__module__.startswith("vipml") or (
        _SHOW["all_warnings"] and not issubclass(category, DeprecationWarning)
    ):
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


@contextlib.contextmanager
def step_log(description: str) -> Iterator[Any]:
    """Without a terminal (cron, CI, a job runner): one timestamped line per finished step, with
    its duration, so a log shows where the time went and where a run stopped."""

    current: list[Any] = []  # [step, start]

    def finish() -> None:
        if current:
            step, start = current
            stamp = pd.Timestamp.now().strftime("%H:%M:%S")
            console.print(
                f"{stamp} {description}: {step}: {time.perf_counter() - start:.1f} s",
                markup=False, soft_wrap=True,
            )

    def update(step: str, done: int, total: int) -> None:
        if current and current[0] == step:
            return
        finish()
        current[:] = [step, time.perf_counter()]

    try:
        yield update
    finally:
        finish()


@contextlib.contextmanager
def progress_reporter(description: str) -> Iterator[Any]:
    """A rich progress bar on a terminal; nothing otherwise. Yields the pipeline callback."""
    if not is_terminal():
        with step_log(description) as update:
            yield update
        return

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, description=f"{description}: {step}", completed=done, total=total)

        yield update


EXPERIMENT_HELP = (
    "MLflow experiment [default: MLFLOW_EXPERIMENT_NAME, else tracking.experiment of the "
    "config: vipml]. Runs go to MLFLOW_TRACKING_URI, else ./mlflow.db (see them with `mlflow ui`)."
)
NO_TRACKING_HELP = "Do not log to MLflow (the model bundle is still written)."


def tracking_for(cfg: Config, no_tracking: bool) -> Any:
    """The tracking module when runs are logged, its store checked first; else None.

    Fails in seconds, before the data are read, with the URI and the way out (--no-tracking).
    """
    if no_tracking or not cfg.tracking.enabled:
        return None
    from vipml import tracking

    uri = tracking.check_tracking_reachable()
    console.print(f"MLflow: {uri} (--no-tracking to skip)")
    return tracking


def tracked_run(
    tracking: Any, experiment: str | None, name: str, cfg: Config, command_name: str
) -> Any:
    """An MLflow run around a command (joins the run of `mlflow run`), or nothing."""
    if tracking is None:
        return contextlib.nullcontext()
    return tracking.tracked_run(experiment, run_name=name, config=cfg, command=command_name)
