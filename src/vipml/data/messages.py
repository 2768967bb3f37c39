"""The data contract's wording: what a problem, warning or note says, written once.

The pandas checks (:mod:`vipml.data.schema` and the parsers it calls) and the Spark checks
(:mod:`vipml.spark.validation`) report the same faults in the same words: both take their
text from here. Templates are filled with :meth:`str.format`; row-level problems are written
by :func:`vipml.data.problems.describe_problem` from a ``what`` and a ``fix`` below.

Examples
--------
>>> MISSING.format(column="revenue")
'missing revenue'
>>> without_customer_note(1, 3, 5.0, 20.0)  # doctest: +ELLIPSIS
'input.rows_without_customer: drop: dropped 1 of 3 rows ... (revenue 5.00, 25.0% of all revenue)'
"""

from __future__ import annotations

import math

from vipml.contract import EVENT_KINDS

__all__ = ["without_customer_note"]

# --- customer ids -------------------------------------------------------------------------
EMPTY_ID = "empty customer id"
EMPTY_ID_FIX = (
    "drop these rows or fill in the customer they belong to (guest orders: set "
    "input.rows_without_customer: drop)"
)
#: ``value``: the first id as read (a float), ``whole``: it as an integer.
WHOLE_IDS_NOTE = (
    "customer_id: decimal numbers that are whole ({value!r}) read as whole numbers ({whole})"
)
EVERY_ROW_HAS_CUSTOMER = "input.rows_without_customer: drop: every row has a customer id"
ID_REPEATED = "customer id listed more than once"
ID_REPEATED_FIX = "keep one row per customer"

# --- amounts ------------------------------------------------------------------------------
NOT_A_NUMBER = "not a number"
#: ``column``: the column's name.
MISSING = "missing {column}"
#: ``column``, ``fix``.
AMOUNTS_NOT_BOOL = "{column}: holds true/false values, not amounts: {fix}"
DECIMAL_COMMA = "a decimal comma (or a misplaced thousands separator)"
DECIMAL_COMMA_FIX = (
    "export numbers with a decimal point, such as 3.5 (a comma only between groups of three "
    "digits, as in 1,234.50)"
)
#: A number with thousands separators (``1,234.50``): the commas go (a regular expression that
#: Python and Java read alike).
GROUPED_NUMBER = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"
MONEY_FIX = "give plain numbers such as 19.99 (no currency symbols or text)"
QUANTITY_FIX = "give numbers such as 3"

# --- true/false flags ---------------------------------------------------------------------
#: Text read as true / as false (stripped, lower case; an empty cell is false).
TRUE_TEXT = ("true", "t", "yes", "y", "1", "1.0")
FALSE_TEXT = ("false", "f", "no", "n", "0", "0.0", "")
NOT_TRUE_FALSE = "not true/false"
TRUE_FALSE_FIX = "use true/false, yes/no or 1/0"

# --- timestamps ---------------------------------------------------------------------------
UNPARSEABLE_TIMESTAMP = "unparseable timestamp"
MISSING_TIMESTAMP = "missing timestamp"
ISO_FIX = "use ISO dates such as 2024-03-31 or 2024-03-31T14:05:00"
#: Added to :data:`ISO_FIX` when the format was decided from the text (``auto``).
OR_SET_FORMAT = ", or set input.timestamp_format"
#: Added to :data:`ISO_FIX` for a column of numbers.
NUMBER_DATES = " (numbers are read only as YYYYMMDD, such as 20240331)"
MISSING_DATE_FIX = "drop these rows or fill in the date"
RANGE_FIX = "dates must lie between 1677-09-22 and 2262-04-11"
#: ``fmt``: ``input.timestamp_format``.
FORMAT_MISMATCH_FIX = (
    "these do not match input.timestamp_format {fmt!r}: fix these rows or the format"
)
#: ``column``, ``n``: the rows.
DATES_NOT_BOOL = (
    "{column}: holds true/false values, not dates ({n:,} rows): give dates such as "
    "2024-03-31 or 2024-03-31T14:05:00"
)
ISO_NOTE = "{column}: ISO 8601 dates"
NUMBER_DATES_NOTE = "{column}: read as YYYYMMDD numbers"
FORMAT_NOTE = "{column}: read with input.timestamp_format {fmt!r}"
#: Plain ISO 8601 text: a date, perhaps a time, no zone (a regular expression that Python and
#: Java read alike, for ASCII digits).
PLAIN_ISO = r"\s*\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?\s*"

# --- the stand-in columns -----------------------------------------------------------------
UNIT_PRICE_NOT_USED = "unit_price: not used (a revenue column is given)"
REVENUE_FROM_PRICE = (
    "revenue: quantity x unit_price (no revenue column; a negative quantity is a return)"
)
UNIT_PRICE_ALONE = (
    "unit_price: revenue = quantity x unit_price needs a quantity column too: map your "
    "quantity column to `quantity` (or map a revenue column)"
)
PROFIT_NOT_USED = "profit: not used (a cost column is given)"
COST_FROM_PROFIT = "cost: revenue - profit (no cost column)"
DISCOUNT_NOT_USED = "discount: not used (a list_price column is given)"
LIST_PRICE_FROM_DISCOUNT = "list_price: revenue / (1 - discount) (no list_price column)"
DISCOUNT_FIX = "give the discount as a fraction of the list price, e.g. 0.15 for 15%"
NOT_A_FRACTION = "not a fraction in [0, 1)"

# --- whole tables -------------------------------------------------------------------------
#: ``names``: the repeated column names, joined.
REPEATED_COLUMNS = "column {names} appears more than once (after mapping): keep one"
#: ``found``: the columns found, joined (or ``none``).
NO_DATA_ROWS = (
    "no data rows (columns found: {found}): the file holds a header only: export the "
    "transactions themselves"
)
NO_ROWS_LEFT = (
    "no rows left after the input policies (every row was dropped): check "
    "input.rows_without_customer and input.duplicate_rows"
)
#: ``dropped``, ``rows``.
DROPPED_DUPLICATES = (
    "input.duplicate_rows: drop: dropped {dropped:,} of {rows:,} rows that exactly repeat "
    "another row"
)
#: ``repeats``, ``rows``.
DUPLICATES_WARNING = (
    "{repeats:,} of {rows:,} rows are exact duplicates of another row: if they are not separate "
    "orders, drop them (set input.duplicate_rows: drop in the config)"
)
UNKNOWN_KIND = "unknown event kind"
EVENT_COST_FIX = "give plain numbers such as 4.50"
KIND_FIX = f"use one of {', '.join(EVENT_KINDS)}"


def without_customer_note(dropped: int, rows: int, revenue: float, total: float) -> str:
    """The note ``input.rows_without_customer: drop`` leaves: rows and revenue dropped.

    Parameters
    ----------
    dropped : int
        Rows without a customer id (dropped).
    rows : int
        Rows in the table.
    revenue : float
        Their revenue (unreadable amounts count 0).
    total : float
        The revenue of every row (NaN when the table has no revenue).

    Returns
    -------
    str
        The note.

    Examples
    --------
    >>> without_customer_note(2, 10, 3.5, float("nan"))
    'input.rows_without_customer: drop: dropped 2 of 10 rows without a customer id (revenue 3.50)'
    """
    share = f", {revenue / total:.1%} of all revenue" if total and math.isfinite(total) else ""
    return (
        f"input.rows_without_customer: drop: dropped {dropped:,} of {rows:,} rows without a "
        f"customer id (revenue {revenue:,.2f}{share})"
    )
