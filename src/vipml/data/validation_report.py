"""What a data check found: the clean frame, every problem, warnings, and how the data were read.

Examples
--------
>>> report = ValidationReport("customers", pd.DataFrame({"customer_id": [1]}))
>>> report.ok, report.raise_if_problems()["customer_id"].tolist()
(True, [1])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from vipml.errors import SchemaError

__all__ = ["DataQualityWarning", "ValidationReport"]


class DataQualityWarning(UserWarning):
    """Data that are valid but probably not what the user meant (e.g. duplicated rows)."""


@dataclass
class ValidationReport:
    """What a check found: the clean frame (when usable), problems, warnings and a summary.

    Parameters
    ----------
    table : str
        The table checked (``transactions``, ``events``, ``customers``).
    frame : pandas.DataFrame or None
        The clean, typed frame; None when a problem was found.
    problems : list of str
        One line per problem.
    warnings : list of str
        Valid but suspicious data (e.g. repeated rows).
    columns_found : list of str
        The columns of the data (after the mapping).
    columns_recognised : list of str
        Those the contract knows.
    columns_ignored : list of str
        The others.
    notes : list of str
        How the data were read: formats detected, columns derived, rows dropped by a policy.
    renamed : dict of str to str
        The column mapping applied: ``{our_name: their_name}``.

    Examples
    --------
    >>> report = ValidationReport("t", None, problems=["revenue: not a number"])
    >>> report.ok
    False
    """

    table: str
    frame: pd.DataFrame | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    columns_found: list[str] = field(default_factory=list)
    columns_recognised: list[str] = field(default_factory=list)
    columns_ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """How the data were read: formats detected, columns derived, rows dropped by a policy."""
    renamed: dict[str, str] = field(default_factory=dict)
    """The column mapping applied: ``{our_name: their_name}`` for the columns renamed."""

    def as_given(self, column: str) -> str:
        """A column's name in the data as given, with our name when the mapping renamed it.

        >>> ValidationReport("t", None, renamed={"revenue": "Amount"}).as_given("revenue")
        'Amount (revenue)'
        """
        theirs = self.renamed.get(column)
        return f"{theirs} ({column})" if theirs else column

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_if_problems(self, warn: bool = True) -> pd.DataFrame:
        """Raise one :class:`SchemaError` listing every problem, else return the clean frame.

        With ``warn`` (the default), each warning is emitted as a :class:`DataQualityWarning`.
        """
        if self.problems:
            raise SchemaError(self.problems, table=self.table)
        for message in self.warnings if warn else ():
            warnings.warn(f"{self.table}: {message}", DataQualityWarning, stacklevel=3)
        assert self.frame is not None
        return self.frame
