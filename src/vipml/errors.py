"""The errors vipml raises.

Every error is a :class:`VipmlError`, so a caller (or the CLI) can catch one type and show a
clean message. Messages name the column or object at fault, how many rows or customers are
affected, a few example ids, and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "VipmlError",
    "SchemaError",
    "ConfigError",
    "NotFittedError",
    "ConvergenceError",
    "ModelFormatError",
    "TrackingError",
    "format_examples",
]


class VipmlError(Exception):
    """Base class of every error raised by vipml."""


class SchemaError(VipmlError, ValueError):
    """Input data break the contract (missing columns, bad values, bad types).

    ``problems`` holds one human-readable line per problem found; the message lists them all.
    """

    def __init__(self, problems: Iterable[str] | str, table: str = "transactions"):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.table = table
        n = len(self.problems)
        header = f"{table}: {n} problem{'s' if n != 1 else ''} found"
        super().__init__(header + "\n" + "\n".join(f"  - {p}" for p in self.problems))

    def __reduce__(self):  # noqa: ANN204  (raised in a worker process, re-raised by the caller)
        return type(self), (self.problems, self.table)


class ConfigError(VipmlError, ValueError):
    """A configuration key or value is unknown or invalid."""


class InvalidArgumentError(VipmlError, ValueError):
    """A function was called with an argument it cannot use (a wrong kind, unit or size)."""


class NotFittedError(VipmlError, RuntimeError):
    """A model was used for prediction before ``fit`` was called."""


class ConvergenceError(VipmlError, RuntimeError):
    """A model fit failed to converge, even after the retries it is allowed."""


class ModelFormatError(VipmlError, ValueError):
    """A saved model bundle is missing, damaged, or was written by an incompatible version."""


class TrackingError(VipmlError, RuntimeError):
    """The MLflow tracking server or model registry could not be used."""


def format_examples(values: Iterable[object], limit: int = 5) -> str:
    """Join up to ``limit`` example values for an error message.

    Parameters
    ----------
    values : iterable
        The values.
    limit : int, default 5
        How many to show.

    Returns
    -------
    str
        Them joined by commas, with ``...`` when some are left out.

    Examples
    --------
    >>> format_examples([101, 205, 377, 400, 512, 999])
    '101, 205, 377, 400, 512, ...'
    >>> format_examples(["a"])
    'a'
    """
    values = list(values)
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")
