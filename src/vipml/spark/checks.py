"""The contract's cell rules as Spark expressions, counted in one aggregation pass.

Each parser mirrors its pandas twin (:func:`vipml.data.coerce.parse_number`,
:func:`~vipml.data.coerce.parse_bool`, :func:`vipml.data.customer_ids.check_ids`,
:func:`vipml.data.dates.parse_timestamps`): it returns the parsed column as an expression and
registers each fault with a :class:`RowChecks`, which counts every fault of every column in one
``agg`` over the table and then fetches a few example values per fault found (a ``limit(5)``
query each, run only when something is wrong). Nothing is collected but counts and examples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vipml.data.messages import (
    AMOUNTS_NOT_BOOL,
    DATES_NOT_BOOL,
    DECIMAL_COMMA,
    DECIMAL_COMMA_FIX,
    FALSE_TEXT,
    FORMAT_MISMATCH_FIX,
    FORMAT_NOTE,
    GROUPED_NUMBER,
    ISO_FIX,
    ISO_NOTE,
    MISSING,
    MISSING_DATE_FIX,
    MISSING_TIMESTAMP,
    NOT_A_NUMBER,
    NOT_TRUE_FALSE,
    NUMBER_DATES,
    NUMBER_DATES_NOTE,
    OR_SET_FORMAT,
    PLAIN_ISO,
    RANGE_FIX,
    TRUE_FALSE_FIX,
    TRUE_TEXT,
    UNPARSEABLE_TIMESTAMP,
)
from vipml.data.problems import describe_problem
from vipml.spark.session import quiet_pyspark

__all__ = ["RowChecks", "stripped", "parse_number", "parse_bool", "parse_timestamps",
           "spark_pattern"]

#: What Python's ``str.strip`` strips (Unicode white space and the separators U+001C..U+001F),
#: as a Java regular expression.
_SPACE = r"[\p{IsWhite_Space}\x1c-\x1f]"
#: A number as pandas' ``to_numeric`` reads text (ASCII digits; ``inf`` is read, and refused
#: as infinite, like any other value this does not match).
_NUMBER = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
#: An ``input.timestamp_format`` Spark cannot mirror (no pandas twin: pandas reads any format).
_UNSUPPORTED_FORMAT = (
    "{column}: input.timestamp_format {fmt!r} cannot be read on Spark (time zones, week days "
    "and day-of-year directives have no Spark equivalent): use %Y %y %m %d %H %I %M %S %f %p "
    "%b %B, or give ISO dates such as 2024-03-31 or 2024-03-31T14:05:00"
)
#: The ``datetime64[ns]`` range pandas holds (to the microsecond Spark keeps).
_FIRST, _LAST = "1677-09-21 00:12:43.145225", "2262-04-11 23:47:16.854775"


@dataclass
class _Fault:
    column: str
    what: str
    condition: Column
    values: Column
    fix: str | Callable[[Any], str]


@dataclass
class RowChecks:
    """The faults of one table, counted together: ``add`` them, then ``run`` once.

    Parameters
    ----------
    frame : Spark DataFrame
        The raw table (the examples are its values).
    keep : Column, optional
        The rows checked (a policy may drop others first); default every row.

    Attributes
    ----------
    items : list
        Problems in the order they are reported: fixed lines and row faults.
    totals : dict of str to Column
        Further aggregates wanted from the same pass (sums for notes), by name.

    Examples
    --------
    Needs a Spark session (``tests/test_spark_validation.py`` runs it)::

        >>> checks = RowChecks(sdf)                                       # doctest: +SKIP
        >>> value = parse_number(checks, sdf, "revenue", True, "fix it")  # doctest: +SKIP
        >>> problems, row = checks.run()                                  # doctest: +SKIP
    """

    frame: SparkDataFrame
    keep: Column = field(default_factory=lambda: F.lit(True))
    items: list[str | Callable[[Any], str | None] | _Fault] = field(default_factory=list)
    totals: dict[str, Column] = field(default_factory=dict)

    def problem(self, line: str | Callable[[Any], str | None]) -> None:
        """A problem that needs no row count (a wrong column type); a function of the
        aggregated row when its text needs the totals."""
        self.items.append(line)

    def rows(
        self,
        column: str,
        what: str,
        condition: Column,
        values: Column,
        fix: str | Callable[[Any], str],
    ) -> None:
        """A fault of the rows where ``condition`` holds; ``fix`` may depend on the totals."""
        self.items.append(_Fault(column, what, F.coalesce(condition, F.lit(False)), values, fix))

    def run(self) -> tuple[list[str], Any]:
        """Count every fault and total in one pass; return the problem lines and the row of
        aggregates (``_n``: the rows checked, ``_all``: every row, and the ``totals``)."""
        faults = [item for item in self.items if isinstance(item, _Fault)]
        sums = [
            F.sum(F.when(self.keep, 1).otherwise(0)).alias("_n"),
            F.count(F.lit(1)).alias("_all"),
            *(
                F.sum(F.when(self.keep & f.condition, 1).otherwise(0)).alias(f"_fault{i}")
                for i, f in enumerate(faults)
            ),
            *(expr.alias(name) for name, expr in self.totals.items()),
        ]
        with quiet_pyspark():
            row = self.frame.agg(*sums).collect()[0]
        n = int(row["_n"] or 0)
        lines: list[str] = []
        for item in self.items:
            if isinstance(item, str):
                lines.append(item)
                continue
            if not isinstance(item, _Fault):
                line = item(row)
                if line:
                    lines.append(line)
                continue
            n_bad = int(row[f"_fault{faults.index(item)}"] or 0)
            if not n_bad:
                continue
            with quiet_pyspark():
                found = (
                    self.frame.filter(self.keep & item.condition).select(item.values).limit(5)
                ).collect()
            fix = item.fix(row) if callable(item.fix) else item.fix
            examples = [repr(r[0]) for r in found]
            lines.append(describe_problem(item.column, item.what, n_bad, n, examples, fix))
        return lines, row


def stripped(column: Column) -> Column:
    """Text with leading and trailing white space removed, as Python's ``str.strip``.

    Parameters
    ----------
    column : Column
        Any column (cast to text).

    Returns
    -------
    Column
        The stripped text (null stays null).

    Examples
    --------
    >>> stripped(F.col("customer_id"))  # doctest: +SKIP
    """
    return F.regexp_replace(column.cast("string"), f"^{_SPACE}+|{_SPACE}+$", "")


def _null(frame: SparkDataFrame, name: str) -> Column:
    """Missing as pandas sees it: null, or NaN in a floating column."""
    column = F.col(name)
    if isinstance(frame.schema[name].dataType, (T.FloatType, T.DoubleType)):
        return column.isNull() | F.isnan(column)
    return column.isNull()


def _finite(value: Column) -> Column:
    return F.when(~F.isnan(value) & (F.abs(value) != F.lit(float("inf"))), value)


def parse_number(
    checks: RowChecks, frame: SparkDataFrame, name: str, required: bool, fix: str
) -> Column:
    """Amounts as doubles, as :func:`vipml.data.coerce.parse_number` reads them.

    Numeric columns as they are; text stripped, thousands separators (``1,234.50``) removed,
    a decimal comma and text pandas would not read as a number reported. Infinite values are
    not numbers; NaN counts as missing.

    Parameters
    ----------
    checks : RowChecks
        The faults are registered here.
    frame : Spark DataFrame
        The raw table.
    name : str
        The column.
    required : bool
        Whether a missing value is a problem.
    fix : str
        The fix the messages suggest.

    Returns
    -------
    Column
        Doubles, null where missing or unreadable.

    Examples
    --------
    >>> revenue = parse_number(checks, sdf, "revenue", True, MONEY_FIX)  # doctest: +SKIP
    """
    raw, kind = F.col(name), frame.schema[name].dataType
    if isinstance(kind, T.BooleanType):
        checks.problem(AMOUNTS_NOT_BOOL.format(column=name, fix=fix))
        return F.lit(None).cast("double")
    null = _null(frame, name)
    decimal_comma = None
    if isinstance(kind, T.NumericType):
        value = _finite(raw.cast("double"))
    else:
        text = stripped(raw)
        comma = text.contains(",")
        grouped = text.rlike(f"^{GROUPED_NUMBER}$")
        decimal_comma = comma & ~grouped
        text = F.when(comma, F.when(grouped, F.regexp_replace(text, ",", ""))).otherwise(text)
        value = _finite(F.when(text.rlike(_NUMBER), text.try_cast("double")))
    if decimal_comma is not None:
        checks.rows(name, DECIMAL_COMMA, decimal_comma, raw, DECIMAL_COMMA_FIX)
    not_number = ~null & value.isNull()
    if decimal_comma is not None:
        not_number = not_number & ~F.coalesce(decimal_comma, F.lit(False))
    checks.rows(name, NOT_A_NUMBER, not_number, raw, fix)
    if required:
        checks.rows(name, MISSING.format(column=name), null, raw, fix)
    return value


def parse_bool(checks: RowChecks, frame: SparkDataFrame, name: str) -> Column:
    """Flags as booleans, as :func:`vipml.data.coerce.parse_bool` reads them (true/false,
    yes/no, 1/0; an empty cell is false; other values are reported and read as false).

    Parameters
    ----------
    checks : RowChecks
        The faults are registered here.
    frame : Spark DataFrame
        The raw table.
    name : str
        The column.

    Returns
    -------
    Column
        Booleans.

    Examples
    --------
    >>> is_return = parse_bool(checks, sdf, "is_return")  # doctest: +SKIP
    """
    raw = F.col(name)
    if isinstance(frame.schema[name].dataType, T.BooleanType):
        return F.coalesce(raw, F.lit(False))
    text = F.coalesce(F.lower(stripped(raw)), F.lit(""))
    truthy = text.isin(*TRUE_TEXT)
    checks.rows(name, NOT_TRUE_FALSE, ~truthy & ~text.isin(*FALSE_TEXT), raw, TRUE_FALSE_FIX)
    return truthy


#: strftime directives and the Spark datetime patterns that read the same text.
_DIRECTIVES = {
    "%Y": "yyyy", "%y": "yy", "%m": "M", "%d": "d", "%H": "H", "%I": "h", "%M": "m",
    "%S": "s", "%f": "SSSSSS", "%p": "a", "%b": "MMM", "%B": "MMMM", "%%": "%",
}


def spark_pattern(fmt: str) -> str | None:
    """The Spark datetime pattern of a strftime format, or None when it uses a directive
    Spark cannot mirror (time zones, week days, day of the year).

    Parameters
    ----------
    fmt : str
        ``input.timestamp_format``.

    Returns
    -------
    str or None
        The pattern (literal text quoted).

    Examples
    --------
    >>> spark_pattern("%d/%m/%Y %H:%M"), spark_pattern("%Y-%m-%dT%H:%M:%S%z")
    ('d/M/yyyy H:m', None)
    """
    out = []
    for token in re.findall(r"%.|[^%]+|%", fmt):
        if token.startswith("%"):
            if token not in _DIRECTIVES:
                return None
            out.append(_DIRECTIVES[token])
        elif re.search(r"[A-Za-z']", token):
            out.append("'" + token.replace("'", "''") + "'")
        else:
            out.append(token)
    return "".join(out)


def parse_timestamps(
    checks: RowChecks,
    frame: SparkDataFrame,
    name: str,
    fmt: str = "auto",
    required: bool = True,
) -> tuple[Column, Callable[[Any], str | None]]:
    """Timestamps, as :func:`vipml.data.dates.parse_timestamps` reads them where Spark can.

    Typed timestamps and dates as they are; numbers as YYYYMMDD; text with ``fmt`` when given
    (translated by :func:`spark_pattern`), else plain ISO 8601 only (``2024-03-31``,
    ``2024-03-31 14:05``, ``2024-03-31T14:05:00.5``, ``20240331``): other text is reported
    as unparseable. Blank text counts as missing; values outside pandas' range (1677-09-22 to
    2262-04-11) are unparseable.

    Parameters
    ----------
    checks : RowChecks
        The faults are registered here.
    frame : Spark DataFrame
        The raw table.
    name : str
        The column.
    fmt : str
        ``input.timestamp_format``.
    required : bool
        Whether a missing value is a problem.

    Returns
    -------
    tuple
        The timestamps (null where missing or unreadable), and a function of the aggregated
        row giving the note on how the column was read (None when pandas leaves none).

    Examples
    --------
    >>> when, note = parse_timestamps(checks, sdf, "timestamp")  # doctest: +SKIP
    """
    raw, kind = F.col(name), frame.schema[name].dataType
    nothing = F.lit(None).cast("timestamp")
    if isinstance(kind, T.BooleanType):
        checks.problem(lambda row: DATES_NOT_BOOL.format(column=name, n=int(row["_n"] or 0)))
        return nothing, lambda row: None
    pattern = None if fmt == "auto" else spark_pattern(fmt)
    if fmt != "auto" and pattern is None:
        checks.problem(_UNSUPPORTED_FORMAT.format(column=name, fmt=fmt))
        return nothing, lambda row: None
    null = _null(frame, name)
    typed = isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType))
    present, read = f"_{name}_present", f"_{name}_read"
    if typed:
        parsed, fix, note = raw.cast("timestamp"), RANGE_FIX, None
    else:
        if isinstance(kind, T.NumericType):
            number = raw.cast("double")
            whole = (F.floor(number) == number) & (F.abs(number) < F.lit(1e15))
            text = F.when(whole, number.cast("long").cast("string"))
        else:
            text = stripped(raw)
            null = null | (text == "")
        digits = F.try_to_timestamp(F.when(text.rlike(r"^\d{8}$"), text), F.lit("yyyyMMdd"))
        if pattern is not None:
            parsed = F.try_to_timestamp(text, F.lit(pattern))
            fix = FORMAT_MISMATCH_FIX.format(fmt=fmt)
            note = (present, FORMAT_NOTE.format(column=name, fmt=fmt))
        elif isinstance(kind, T.NumericType):
            parsed, fix = digits, ISO_FIX + NUMBER_DATES
            note = (read, NUMBER_DATES_NOTE.format(column=name))
        else:
            parsed = F.when(text.rlike(f"^{PLAIN_ISO}$"), text.try_cast("timestamp")).otherwise(
                digits
            )
            fix, note = ISO_FIX + OR_SET_FORMAT, (read, ISO_NOTE.format(column=name))
    first, last = F.lit(_FIRST).cast("timestamp"), F.lit(_LAST).cast("timestamp")
    outside = parsed.isNotNull() & ((parsed < first) | (parsed > last))
    value = F.when(~outside, parsed)
    out_name = f"_{name}_outside"
    checks.totals[out_name] = F.sum(F.when(checks.keep & outside, 1).otherwise(0))
    checks.totals[read] = F.sum(F.when(checks.keep & parsed.isNotNull(), 1).otherwise(0))
    checks.totals[present] = F.sum(F.when(checks.keep & ~null, 1).otherwise(0))

    def full_fix(row: Any) -> str:
        return f"{fix} ({RANGE_FIX})" if row[out_name] and not typed else fix

    checks.rows(name, UNPARSEABLE_TIMESTAMP, ~null & value.isNull(), raw, full_fix)
    if required:
        checks.rows(name, MISSING_TIMESTAMP, null, raw, MISSING_DATE_FIX)

    def how(row: Any) -> str | None:
        return note[1] if note is not None and row[note[0]] else None

    return value, how
