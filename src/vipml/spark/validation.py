"""The data contract checked on Spark: the pandas checks' rules, as Spark expressions.

:func:`validate_transactions` (and :func:`check_transactions`, its report) apply the rules of
:func:`vipml.data.schema.check_transactions` to a Spark DataFrame holding vipml's column names
(map them first, e.g. with :func:`vipml.spark.read_table`): the required columns, empty customer
ids, missing or unreadable timestamps, amounts that are missing, not numbers or infinite,
flags that are not true/false, the stand-in columns (revenue = quantity x unit price, cost =
revenue - profit, list price = revenue / (1 - discount)), the ``input`` policies
(``rows_without_customer``, ``duplicate_rows``, ``customer_attributes``, ``timestamp_format``)
and repeated rows. Every problem is counted in **one** aggregation over the table, and reported
with the pandas checks' words (:mod:`vipml.data.messages`): ``column: what in N of M rows
(values ...): fix``. Spark rows have no order, so a problem names example values, not row
numbers. Then :func:`validate_transactions` returns the clean, typed frame (lazily: a
projection of the input) or raises one :class:`~vipml.errors.SchemaError` listing them all.

What Spark does not mirror, and the rule it applies instead:

- **Text timestamps** are read as plain ISO 8601 (``2024-03-31``, ``2024-03-31 14:05:00``,
  ``2024-03-31T14:05:00.5``, ``20240331``) or with ``input.timestamp_format``. pandas also
  *decides* a format from the values (day-first when some day is above 12, month names,
  time zone suffixes dropped): that needs every distinct value on one machine, so on Spark
  such text is an ``unparseable timestamp`` whose fix asks for ISO dates or
  ``input.timestamp_format`` (whose ``%z`` / ``%Z`` / ``%a`` / ``%j`` directives Spark cannot
  mirror: a problem too). Typed timestamps (Parquet, ``to_timestamp``) need none of this.
- **Column mapping** happens before (``read_table``'s ``columns``), so a mapping naming a
  column that is not there is not reported here.
- **Repeated rows** are counted with one ``distinct`` (a shuffle): pass ``duplicates=False``
  to skip the warning's search (rows are still dropped under ``duplicate_rows: drop``).

Examples
--------
Needs a Spark session (``tests/test_spark_validation.py`` runs it)::

    >>> tx = validate_transactions(session.read.parquet("transactions/"))  # doctest: +SKIP
    >>> drop = InputConfig(rows_without_customer="drop")
    >>> report = check_transactions(raw, drop)          # doctest: +SKIP
    >>> report.problems, report.notes                   # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import Column, Window
from pyspark.sql import DataFrame as SparkDataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from vipml.config import InputConfig
from vipml.contract import (
    CUSTOMER_DATES,
    CUSTOMER_REQUIRED,
    EVENT_KINDS,
    EVENT_REQUIRED,
    TRANSACTION_COLUMNS,
)
from vipml.data.columns import (
    attribute_columns,
    missing_contract_columns,
    transaction_column_problems,
)
from vipml.data.messages import (
    COST_FROM_PROFIT,
    DISCOUNT_FIX,
    DISCOUNT_NOT_USED,
    DROPPED_DUPLICATES,
    DUPLICATES_WARNING,
    EMPTY_ID,
    EMPTY_ID_FIX,
    EVENT_COST_FIX,
    EVERY_ROW_HAS_CUSTOMER,
    ID_REPEATED,
    ID_REPEATED_FIX,
    KIND_FIX,
    LIST_PRICE_FROM_DISCOUNT,
    MONEY_FIX,
    NO_DATA_ROWS,
    NO_ROWS_LEFT,
    NOT_A_FRACTION,
    PROFIT_NOT_USED,
    QUANTITY_FIX,
    REPEATED_COLUMNS,
    REVENUE_FROM_PRICE,
    UNIT_PRICE_ALONE,
    UNIT_PRICE_NOT_USED,
    UNKNOWN_KIND,
    WHOLE_IDS_NOTE,
    without_customer_note,
)
from vipml.data.validation_report import DataQualityWarning
from vipml.errors import SchemaError
from vipml.spark.checks import RowChecks, parse_bool, parse_number, parse_timestamps, stripped
from vipml.spark.session import quiet_pyspark

__all__ = [
    "SparkValidation",
    "check_transactions",
    "validate_transactions",
    "check_events",
    "validate_events",
    "check_customers",
    "validate_customers",
]

_Note = str | Callable[[Any], str | None]


@dataclass
class SparkValidation:
    """What a Spark check found: the clean frame (when usable), problems, warnings, notes.

    Attributes
    ----------
    table : str
        ``transactions``, ``events`` or ``customers``.
    frame : Spark DataFrame or None
        The clean, typed frame (a lazy projection of the input); None with a problem.
    problems : list of str
        One line per problem, in the pandas checks' words.
    warnings : list of str
        Valid but suspicious data (repeated rows).
    notes : list of str
        How the data were read: formats, derived columns, rows dropped by a policy.
    rows : int
        Rows checked (after ``input.rows_without_customer: drop``).

    Examples
    --------
    >>> SparkValidation("transactions", None, ["revenue: ..."]).ok
    False
    """

    table: str
    frame: SparkDataFrame | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_if_problems(self, warn: bool = True) -> SparkDataFrame:
        """Raise one :class:`SchemaError` listing every problem, else return the clean frame
        (each warning emitted as a :class:`~vipml.data.schema.DataQualityWarning` with
        ``warn``)."""
        if self.problems:
            raise SchemaError(self.problems, table=self.table)
        for message in self.warnings if warn else ():
            warnings.warn(f"{self.table}: {message}", DataQualityWarning, stacklevel=3)
        assert self.frame is not None
        return self.frame


def _unique_columns(sdf: SparkDataFrame) -> tuple[SparkDataFrame, list[str]]:
    """The first of each repeated column name kept (as pandas does), the others reported."""
    names = list(sdf.columns)
    dupes = sorted({c for c in names if names.count(c) > 1})
    if not dupes:
        return sdf, []
    seen: set[str] = set()
    temp = []
    for i, name in enumerate(names):
        temp.append(name if name not in seen else f"_vipml_repeated_{i}")
        seen.add(name)
    kept = sdf.toDF(*temp).select(*[F.col(f"`{n}`") for n in temp if n in names])
    return kept, [REPEATED_COLUMNS.format(names=", ".join(dupes))]


def _empty(sdf: SparkDataFrame) -> Column:
    """Rows whose customer id is missing or blank (:func:`vipml.data.customer_ids.empty_ids`)."""
    raw, kind = F.col("customer_id"), sdf.schema["customer_id"].dataType
    empty = raw.isNull()
    if isinstance(kind, (T.FloatType, T.DoubleType)):
        empty = empty | F.isnan(raw)
    return empty | (stripped(raw) == "")


def _ids(
    checks: RowChecks, sdf: SparkDataFrame, notes: list[_Note] | None, report: bool = True
) -> Callable[[Any], Column]:
    """The ids as :func:`vipml.data.customer_ids.check_ids` reads them: text stripped;
    decimal ids that are all whole read as whole numbers (decided after the count)."""
    raw, kind = F.col("customer_id"), sdf.schema["customer_id"].dataType
    empty = _empty(sdf)
    if report:
        checks.rows("customer_id", EMPTY_ID, empty, raw, EMPTY_ID_FIX)
    if isinstance(kind, T.StringType):
        return lambda row: stripped(raw)
    if not isinstance(kind, (T.FloatType, T.DoubleType)):
        return lambda row: raw
    whole = ~empty & (F.floor(raw) == raw) & (F.abs(raw) < F.lit(2.0**53))
    checks.totals["_ids_not_whole"] = F.sum(F.when(checks.keep & ~whole, 1).otherwise(0))
    checks.totals["_ids_first"] = F.first(F.when(checks.keep, raw), ignorenulls=True)

    def as_whole(row: Any) -> bool:
        return bool(row["_n"]) and not row["_ids_not_whole"]

    if notes is not None:
        notes.append(
            lambda row: WHOLE_IDS_NOTE.format(
                value=float(row["_ids_first"]), whole=int(row["_ids_first"])
            )
            if as_whole(row)
            else None
        )
    return lambda row: raw.cast("long") if as_whole(row) else raw


def _as_text(sdf: SparkDataFrame, name: str) -> Column:
    """:func:`vipml.data.coerce.as_text`: stripped text, ``unknown`` where missing."""
    raw, kind = F.col(name), sdf.schema[name].dataType
    missing = raw.isNull()
    if isinstance(kind, (T.FloatType, T.DoubleType)):
        missing = missing | F.isnan(raw)
    return F.when(missing, F.lit("unknown")).otherwise(stripped(raw))


def _stand_ins(
    checks: RowChecks, sdf: SparkDataFrame, out: dict[str, Column], notes: list[_Note]
) -> None:
    """:mod:`vipml.data.stand_ins` on Spark: revenue, quantity, cost and list price."""
    found = set(sdf.columns)
    if "quantity" in found:
        out["quantity"] = parse_number(
            checks, sdf, "quantity", "revenue" not in found, QUANTITY_FIX
        )
    if "revenue" in found:
        out["revenue"] = parse_number(checks, sdf, "revenue", True, MONEY_FIX)
        if "unit_price" in found:
            notes.append(UNIT_PRICE_NOT_USED)
    elif "unit_price" in found and "quantity" in found:
        price = parse_number(checks, sdf, "unit_price", True, MONEY_FIX)
        out["revenue"] = out["quantity"] * price
        notes.append(REVENUE_FROM_PRICE)
    elif "unit_price" in found:
        checks.problem(UNIT_PRICE_ALONE)
    revenue = out.get("revenue")
    if "cost" in found:
        out["cost"] = parse_number(checks, sdf, "cost", False, MONEY_FIX)
        if "profit" in found:
            notes.append(PROFIT_NOT_USED)
    elif "profit" in found:
        profit = parse_number(checks, sdf, "profit", False, MONEY_FIX)
        if revenue is not None:
            out["cost"] = revenue - profit
            notes.append(COST_FROM_PROFIT)
    if "list_price" in found:
        out["list_price"] = parse_number(checks, sdf, "list_price", False, MONEY_FIX)
        if "discount" in found:
            notes.append(DISCOUNT_NOT_USED)
    elif "discount" in found:
        discount = parse_number(checks, sdf, "discount", False, DISCOUNT_FIX)
        bad = discount.isNotNull() & ((discount < 0) | (discount >= 1))
        checks.rows("discount", NOT_A_FRACTION, bad, F.col("discount"), DISCOUNT_FIX)
        if revenue is not None:
            out["list_price"] = revenue / (F.lit(1.0) - F.when(~bad, discount))
            notes.append(LIST_PRICE_FROM_DISCOUNT)


def _repeats(frame: SparkDataFrame, rows: int) -> int:
    """Rows that exactly repeat another row (one ``distinct``); 0 when they cannot be
    compared (map columns), as pandas skips unhashable values."""
    try:
        with quiet_pyspark():
            return rows - frame.distinct().count()
    except Exception:  # noqa: BLE001  (an AnalysisException on a column Spark cannot compare)
        return 0


def _resolve(notes: list[_Note], row: Any) -> list[str]:
    out = []
    for note in notes:
        text = note(row) if callable(note) else note
        if text:
            out.append(text)
    return out


def check_transactions(
    sdf: SparkDataFrame,
    policy: InputConfig | None = None,
    *,
    duplicates: bool = True,
    allow_empty: bool = False,
) -> SparkValidation:
    """Check a Spark transaction table against the contract; find every problem at once.

    The rules of :func:`vipml.data.schema.check_transactions`, counted in one aggregation
    (plus one ``distinct`` for repeated rows, and a ``limit(5)`` query per problem found for
    its examples); see the module's notes for the few rules Spark cannot mirror.

    Parameters
    ----------
    sdf : Spark DataFrame
        The raw transactions, with vipml's column names (any types: text is parsed).
    policy : InputConfig, optional
        The config's ``input`` section; default nothing dropped, nothing guessed.
    duplicates : bool
        Count repeated rows for the warning (a shuffle); with ``duplicate_rows: drop`` they
        are always dropped.
    allow_empty : bool
        Accept a table without rows.

    Returns
    -------
    SparkValidation
        The clean frame (None with a problem), the problems, warnings and notes.

    Examples
    --------
    Needs a Spark session (``tests/test_spark_validation.py`` runs it)::

        >>> report = check_transactions(session.createDataFrame(raw))  # doctest: +SKIP
        >>> report.problems  # doctest: +SKIP
        ["revenue: not a number in 1 of 3 rows (values 'n/a'): give plain numbers such as ..."]
    """
    policy = policy or InputConfig()
    sdf, problems = _unique_columns(sdf)
    found = list(sdf.columns)
    problems += transaction_column_problems(found)
    attributes, attribute_problems = attribute_columns(found, None, policy.customer_attributes)
    problems += attribute_problems
    drop = "customer_id" in found and policy.rows_without_customer == "drop"
    empty = _empty(sdf) if "customer_id" in found else F.lit(False)
    checks = RowChecks(sdf, ~empty if drop else F.lit(True))
    for line in problems:
        checks.problem(line)
    if not allow_empty:
        listed = ", ".join(found) or "none"
        checks.problem(lambda row: None if row["_all"] else NO_DATA_ROWS.format(found=listed))
    notes: list[_Note] = []
    out: dict[str, Column] = {}
    if drop:
        _note_dropped(checks, sdf, empty, notes)
    ids = _ids(checks, sdf, notes) if "customer_id" in found else None
    timestamp_note = None
    if "timestamp" in found:
        out["timestamp"], timestamp_note = parse_timestamps(
            checks, sdf, "timestamp", policy.timestamp_format
        )
        notes.append(timestamp_note)
    _stand_ins(checks, sdf, out, notes)
    if "order_id" in found:
        out["order_id"] = F.col("order_id")
    for name in ("category", "product_id", *attributes):
        if name in found:
            out[name] = _as_text(sdf, name)
    if "is_return" in found:
        out["is_return"] = parse_bool(checks, sdf, "is_return")
    lines, row = checks.run()
    report = SparkValidation("transactions", None, lines, rows=int(row["_n"] or 0))
    report.notes = _resolve(notes, row)
    if ids is not None:
        out["customer_id"] = ids(row)
    order = [c for c in (*TRANSACTION_COLUMNS, *attributes) if c in out]
    if report.problems or not order:
        return report
    base = sdf.filter(~empty) if drop else sdf
    if policy.duplicate_rows == "drop":
        repeats = _repeats(base, report.rows)
        report.notes.append(DROPPED_DUPLICATES.format(dropped=repeats, rows=report.rows))
        base = base.dropDuplicates()
        report.rows -= repeats
    elif duplicates:
        repeats = _repeats(base, report.rows)
        if repeats:
            report.warnings.append(DUPLICATES_WARNING.format(repeats=repeats, rows=report.rows))
    if not report.rows and row["_all"] and not allow_empty:
        report.problems.append(NO_ROWS_LEFT)
        return report
    report.frame = base.select(*[out[c].alias(c) for c in order])
    return report


def _note_dropped(
    checks: RowChecks, sdf: SparkDataFrame, empty: Column, notes: list[_Note]
) -> None:
    """The ``rows_without_customer: drop`` note: rows and revenue dropped (raw amounts, the
    unreadable ones counting 0), from the same pass."""
    found = set(sdf.columns)
    silent = RowChecks(sdf)  # the amounts' faults are reported once, by the main checks
    if "revenue" in found:
        revenue: Column | None = parse_number(silent, sdf, "revenue", False, "")
    elif "quantity" in found and "unit_price" in found:
        revenue = parse_number(silent, sdf, "quantity", False, "") * parse_number(
            silent, sdf, "unit_price", False, ""
        )
    else:
        revenue = None
    amount = F.coalesce(revenue, F.lit(0.0)) if revenue is not None else F.lit(0.0)
    checks.totals["_dropped"] = F.sum(F.when(empty, 1).otherwise(0))
    checks.totals["_dropped_revenue"] = F.sum(F.when(empty, amount).otherwise(0.0))
    checks.totals["_total_revenue"] = F.sum(amount)

    def note(row: Any) -> str | None:
        if not row["_all"]:
            return None
        if not row["_dropped"]:
            return EVERY_ROW_HAS_CUSTOMER
        total = float(row["_total_revenue"] or 0.0) if revenue is not None else float("nan")
        dropped = float(row["_dropped_revenue"] or 0.0) if revenue is not None else float("nan")
        return without_customer_note(int(row["_dropped"]), int(row["_all"]), dropped, total)

    notes.append(note)


def validate_transactions(
    sdf: SparkDataFrame, policy: InputConfig | None = None, *, duplicates: bool = True
) -> SparkDataFrame:
    """Return the clean, typed Spark transactions or raise one :class:`SchemaError` with
    every problem (see :func:`check_transactions`); repeated rows are a
    :class:`~vipml.data.schema.DataQualityWarning` unless the policy drops them.

    Parameters
    ----------
    sdf : Spark DataFrame
        The raw transactions, with vipml's column names.
    policy : InputConfig, optional
        The config's ``input`` section.
    duplicates : bool
        Look for repeated rows (see :func:`check_transactions`).

    Returns
    -------
    Spark DataFrame
        ``customer_id``, ``timestamp``, ``revenue`` and the optional contract columns present,
        typed as the pandas checks type them, then the customer attributes.

    Examples
    --------
    Needs a Spark session (``tests/test_spark_validation.py`` runs it)::

        >>> tx = validate_transactions(raw_sdf, config.input)  # doctest: +SKIP
        >>> tx.schema["timestamp"].dataType                     # doctest: +SKIP
        TimestampType()
    """
    return check_transactions(sdf, policy, duplicates=duplicates).raise_if_problems()


def check_events(sdf: SparkDataFrame, policy: InputConfig | None = None) -> SparkValidation:
    """Check a Spark event table: :func:`vipml.data.schema.check_events`' rules.

    Required columns, empty customer ids, timestamps (the ``input.timestamp_format``), event
    kinds outside :data:`~vipml.data.schema.EVENT_KINDS`, a ``cost`` that is not a number
    (missing costs are 0), and repeated rows (a warning).

    Parameters
    ----------
    sdf : Spark DataFrame
        The raw events, with vipml's column names.
    policy : InputConfig, optional
        The config's ``input`` section.

    Returns
    -------
    SparkValidation
        The clean frame (None with a problem), the problems and warnings.

    Examples
    --------
    >>> check_events(session.createDataFrame(raw_events)).problems  # doctest: +SKIP
    """
    policy = policy or InputConfig()
    sdf, problems = _unique_columns(sdf)
    found = list(sdf.columns)
    problems += missing_contract_columns(found, EVENT_REQUIRED, "events")
    checks = RowChecks(sdf)
    for line in problems:
        checks.problem(line)
    out: dict[str, Column] = {}
    ids = _ids(checks, sdf, None) if "customer_id" in found else None
    if "timestamp" in found:
        out["timestamp"], _ = parse_timestamps(checks, sdf, "timestamp", policy.timestamp_format)
    if "kind" in found:
        kind = F.lower(stripped(F.col("kind")))
        bad = ~F.coalesce(kind.isin(*EVENT_KINDS), F.lit(False))
        checks.rows("kind", UNKNOWN_KIND, bad, F.col("kind"), KIND_FIX)
        out["kind"] = kind
    if "cost" in found:
        cost = parse_number(checks, sdf, "cost", False, EVENT_COST_FIX)
        out["cost"] = F.coalesce(cost, F.lit(0.0))
    lines, row = checks.run()
    report = SparkValidation("events", None, lines, rows=int(row["_n"] or 0))
    if ids is not None:
        out["customer_id"] = ids(row)
    order = [c for c in ("customer_id", "timestamp", "kind", "cost") if c in out]
    if not report.problems and order:
        repeats = _repeats(sdf, report.rows)
        if repeats:
            report.warnings.append(DUPLICATES_WARNING.format(repeats=repeats, rows=report.rows))
        report.frame = sdf.select(*[out[c].alias(c) for c in order])
    return report


def validate_events(sdf: SparkDataFrame, policy: InputConfig | None = None) -> SparkDataFrame:
    """Return the clean Spark events or raise one :class:`SchemaError` (:func:`check_events`).

    Parameters
    ----------
    sdf : Spark DataFrame
        The raw events, with vipml's column names.
    policy : InputConfig, optional
        The config's ``input`` section.

    Returns
    -------
    Spark DataFrame
        ``customer_id``, ``timestamp``, ``kind`` and ``cost`` (when given).

    Examples
    --------
    >>> events = validate_events(session.createDataFrame(raw_events))  # doctest: +SKIP
    """
    return check_events(sdf, policy).raise_if_problems()


def check_customers(sdf: SparkDataFrame, policy: InputConfig | None = None) -> SparkValidation:
    """Check a Spark customers table: :func:`vipml.data.schema.check_customers`' rules.

    Empty customer ids, ids listed more than once (one window count), ``signup_date``
    readable when given; other columns as they are (pandas strips only object columns, which
    a Spark text column is not).

    Parameters
    ----------
    sdf : Spark DataFrame
        The raw customers table, with vipml's column names.
    policy : InputConfig, optional
        The config's ``input`` section (its ``timestamp_format`` applies to ``signup_date``).

    Returns
    -------
    SparkValidation
        The clean frame (None with a problem) and the problems.

    Examples
    --------
    >>> check_customers(session.createDataFrame(raw_customers)).problems  # doctest: +SKIP
    """
    policy = policy or InputConfig()
    sdf, problems = _unique_columns(sdf)
    found = list(sdf.columns)
    problems += missing_contract_columns(found, CUSTOMER_REQUIRED, "customers")
    counted = sdf
    if "customer_id" in found:
        per_id = Window.partitionBy(F.col("customer_id"))
        counted = sdf.withColumn("_vipml_listed", F.count(F.lit(1)).over(per_id))
    checks = RowChecks(counted)
    for line in problems:
        checks.problem(line)
    out = {name: F.col(name) for name in found}
    ids = None
    if "customer_id" in found:
        ids = _ids(checks, sdf, None)
        repeated = (F.col("_vipml_listed") > 1) & ~_empty(sdf)
        checks.rows("customer_id", ID_REPEATED, repeated, F.col("customer_id"), ID_REPEATED_FIX)
    for name in CUSTOMER_DATES:
        if name in found:
            out[name], _ = parse_timestamps(
                checks, sdf, name, policy.timestamp_format, required=False
            )
    for name in found:  # the attributes: text stripped, "unknown" where missing
        if name != "customer_id" and name not in CUSTOMER_DATES:
            if isinstance(sdf.schema[name].dataType, T.StringType):
                out[name] = _as_text(sdf, name)
    lines, row = checks.run()
    report = SparkValidation("customers", None, lines, rows=int(row["_n"] or 0))
    if ids is not None:
        out["customer_id"] = ids(row)
    if not report.problems:
        report.frame = sdf.select(*[out[c].alias(c) for c in found])
    return report


def validate_customers(
    sdf: SparkDataFrame, policy: InputConfig | None = None
) -> SparkDataFrame:
    """Return the clean Spark customers table or raise one :class:`SchemaError`
    (:func:`check_customers`).

    Parameters
    ----------
    sdf : Spark DataFrame
        The raw customers table, with vipml's column names.
    policy : InputConfig, optional
        The config's ``input`` section.

    Returns
    -------
    Spark DataFrame
        The customers, ids and dates typed, text stripped.

    Examples
    --------
    >>> customers = validate_customers(session.createDataFrame(raw_customers))  # doctest: +SKIP
    """
    return check_customers(sdf, policy).raise_if_problems()
