"""Temporary files that do not outlive their run.

Every temporary file or folder vipml makes carries the id of the process that made it and
lives in a folder of its own:

- **staging** for atomic writes (:func:`staging`): ``<target folder>/.vipml-<pid>.tmp/``, beside
  the target because a rename is atomic only within one file system;
- **scratch** space (chunk tables, model copies; :func:`scratch`, :func:`scratch_until_exit`):
  ``<system temp>/vipml-<purpose>-<pid>-<token>/``.

Each is removed when its run ends, whether it succeeds, fails or is interrupted (Ctrl-C, and
SIGTERM in the CLI). A run killed outright (SIGKILL, out of memory, power loss) cannot clean up:
the next run that stages in the same folder, or takes scratch space, removes what such runs
left (their process is gone and the leftovers are older than the new run), with a
:class:`LeftoverWarning` saying what was removed.

Examples
--------
>>> import pathlib, tempfile
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with staging(folder / "scores.parquet") as tmp:
...     _ = tmp.write_text("rows")
...     tmp.parent.name == f".vipml-{os.getpid()}.tmp"
True
>>> sorted(p.name for p in folder.iterdir())  # the staging folder is gone again
[]
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "LeftoverWarning",
    "process_alive",
    "remove_leftovers",
    "scratch",
    "scratch_until_exit",
    "staging",
]

#: When this process started (closely enough: when vipml was first imported). Leftovers are
#: older than the run that removes them.
_STARTED = time.time()

_STAGING = re.compile(r"^\.vipml-(\d+)\.tmp$")
_SCRATCH = re.compile(r"^vipml-[a-z]+-(\d+)-[0-9a-f]{8}$")


class LeftoverWarning(UserWarning):
    """Temporary files of an interrupted run were found and removed."""


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (one of another user counts).

    Parameters
    ----------
    pid : int
        A process id.

    Returns
    -------
    bool
        True when it exists.

    Examples
    --------
    >>> process_alive(os.getpid())
    True
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # e.g. an id out of range
        return False
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_leftovers(folder: Path, pattern: re.Pattern[str] = _STAGING) -> list[Path]:
    """Remove the entries of ``folder`` named by ``pattern`` (the first group: a process id)
    whose process is gone and that are older than this run; warn once and return them.

    Parameters
    ----------
    folder : Path
        The folder to sweep.
    pattern : re.Pattern
        Names of the entries removable, the first group a process id.

    Returns
    -------
    list of Path
        The entries removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / ".vipml-999999999.tmp").mkdir()
    >>> [p.name for p in remove_leftovers(folder)]  # doctest: +SKIP
    ['.vipml-999999999.tmp']
    >>> remove_leftovers(folder / "missing")
    []
    """
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or int(match.group(1)) == os.getpid():
            continue
        try:
            older = entry.lstat().st_mtime < _STARTED
        except FileNotFoundError:
            continue
        if older and not process_alive(int(match.group(1))):
            _remove(entry)
            removed.append(entry)
    if removed:
        pids = sorted({pattern.match(p.name).group(1) for p in removed})  # type: ignore[union-attr]
        warnings.warn(
            f"removed {len(removed)} temporary folder(s) left in {folder} by an interrupted "
            f"vipml run (process {', '.join(pids)}): "
            + ", ".join(p.name for p in removed),
            LeftoverWarning,
            stacklevel=3,
        )
    return removed


_SWEPT: set[Path] = set()


def _sweep_once(folder: Path, pattern: re.Pattern[str]) -> None:
    key = folder.resolve()
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_leftovers(folder, pattern)


@contextlib.contextmanager
def staging(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A path to write ``target``'s new content to, in this process's staging folder beside
    it; the caller renames it onto the target. On leaving, whatever is still staged is
    removed, and the staging folder with it when empty (leftovers of killed runs in the
    target's folder are removed the first time it is used).

    Parameters
    ----------
    target : str or PathLike
        The file or folder to be written.

    Yields
    ------
    Path
        The staged path (yielded).

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.csv"
    >>> with staging(target) as tmp:
    ...     _ = tmp.write_text("x")
    ...     os.replace(tmp, target)
    >>> sorted(p.name for p in target.parent.iterdir())
    ['out.csv']
    """
    target = Path(target)
    folder = target.parent / f".vipml-{os.getpid()}.tmp"
    target.parent.mkdir(parents=True, exist_ok=True)
    _sweep_once(target.parent, _STAGING)
    folder.mkdir(exist_ok=True)
    path = folder / f"{target.name}.{secrets.token_hex(4)}"
    try:
        yield path
    finally:
        _remove(path)
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: another write of this process may be staged


def _scratch_root() -> Path:
    return Path(tempfile.gettempdir())


def _new_scratch(purpose: str) -> Path:
    root = _scratch_root()
    _sweep_once(root, _SCRATCH)
    path = root / f"vipml-{purpose}-{os.getpid()}-{secrets.token_hex(4)}"
    path.mkdir(mode=0o700)
    return path


@contextlib.contextmanager
def scratch(purpose: str) -> Iterator[Path]:
    """A private temporary folder for the ``with`` block, removed when it ends.

    Parameters
    ----------
    purpose : str
        A word in the folder's name.

    Yields
    ------
    Path
        The folder (yielded).

    Examples
    --------
    >>> with scratch("demo") as folder:
    ...     folder.name.startswith(f"vipml-demo-{os.getpid()}-")
    True
    >>> folder.exists()
    False
    """
    path = _new_scratch(purpose)
    try:
        yield path
    finally:
        _remove(path)


def scratch_until_exit(purpose: str) -> Path:
    """A private temporary folder removed when the process exits (normally).

    Parameters
    ----------
    purpose : str
        A word in the folder's name.

    Returns
    -------
    Path
        The folder.

    Examples
    --------
    >>> folder = scratch_until_exit("demo")
    >>> folder.is_dir(), folder.name.startswith(f"vipml-demo-{os.getpid()}-")
    (True, True)
    """
    path = _new_scratch(purpose)
    atexit.register(_remove, path)
    return path
