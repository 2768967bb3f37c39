"""The data contract: transactions, events and customers, checked once at the boundary.

Transactions hold one row per order or order line. Required columns: ``customer_id``,
``timestamp``, ``revenue`` (amount paid after discounts; negative = refund). Optional:
``order_id``, ``cost``, ``list_price``, ``quantity``, ``category``, ``is_return``,
``product_id``, and three columns that stand in for a missing one: ``unit_price`` (revenue =
quantity x unit price), ``profit`` (cost = revenue - profit) and ``discount`` (list price =
revenue / (1 - discount)). Columns named in ``input.customer_attributes`` (country, segment)
are kept as text: they describe the customer.
Events (optional): ``customer_id``, ``timestamp``, ``kind`` (one of :data:`EVENT_KINDS`),
``cost``. Customers (optional): ``customer_id`` plus free attributes (``acquisition_channel``,
``region``, ``signup_date``, ...).

:func:`check_transactions` (and its siblings) find **every** problem at once and return a
:class:`ValidationReport`; :func:`validate_transactions` raises one :class:`SchemaError` listing
them all, or returns the clean, typed frame. Each problem names the column, the number of rows at
fault, up to five example rows (1-based data row numbers, the header not counted) with their
values, and the fix.

Examples
--------
>>> import pandas as pd
>>> tx = pd.DataFrame({"cust": [1, 1, 2], "date": ["2024-01-02", "2024-02-03", "2024-01-05"],
...                    "amount": [10.0, 12.5, 8.0]})
>>> clean = validate_transactions(tx, columns={"cust": "customer_id", "date": "timestamp",
...                                            "amount": "revenue"})
>>> list(clean.columns), str(clean["timestamp"].dtype)
(['customer_id', 'timestamp', 'revenue'], 'datetime64[ns]')
>>> validate_transactions(tx)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
vipml.errors.SchemaError: transactions: 3 problems found
  - missing required column 'customer_id' (columns found: cust, date, amount): rename it, ...
  - missing required column 'timestamp' (columns found: cust, date, amount): rename it, ...
  - missing required column 'revenue' (columns found: cust, date, amount): rename it, ...
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from vipml.config import InputConfig
from vipml.contract import (
    CUSTOMER_DATES,
    CUSTOMER_REQUIRED,
    EVENT_KINDS,
    EVENT_OPTIONAL,
    EVENT_REQUIRED,
    STAND_IN_COLUMNS,
    TRANSACTION_COLUMNS,
    TRANSACTION_OPTIONAL,
    TRANSACTION_REQUIRED,
)
from vipml.data.dates import parse_timestamps
from vipml.data.problems import describe_rows as _describe
from vipml.errors import SchemaError

__all__ = [
    "TRANSACTION_REQUIRED",
    "TRANSACTION_OPTIONAL",
    "TRANSACTION_COLUMNS",
    "STAND_IN_COLUMNS",
    "READ_NOTES",
    "transaction_attributes",
    "align_ids",
    "EVENT_KINDS",
    "DataQualityWarning",
    "ValidationReport",
    "check_transactions",
    "check_events",
    "check_customers",
    "validate_transactions",
    "validate_events",
    "validate_customers",
    "require_validated",
]

log = logging.getLogger(__name__)

#: ``attrs`` key under which a reader leaves notes on how it read a file (encoding, separator).
READ_NOTES = "vipml_read_notes"

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", ""}
_TZ_SUFFIX = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


class DataQualityWarning(UserWarning):
    """Data that are valid but probably not what the user meant (e.g. duplicated rows)."""


@dataclass
class ValidationReport:
    """What a check found: the clean frame (when usable), problems, warnings and a summary."""

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


def _apply_mapping(
    df: pd.DataFrame, columns: Mapping[str, str] | None, table: str
) -> tuple[pd.DataFrame, list[str]]:
    problems: list[str] = []
    if not isinstance(df, pd.DataFrame):
        raise SchemaError([f"expected a pandas DataFrame, got {type(df).__name__}"], table)
    df = df.copy(deep=False)
    df.columns = [str(c) for c in df.columns]
    if columns:
        missing = [src for src in columns if src not in df.columns and columns[src] not in df]
        for src in missing:
            problems.append(
                f"column mapping names '{src}' (-> '{columns[src]}') but the data have no such "
                f"column (columns found: {', '.join(df.columns) or 'none'}): fix the mapping"
            )
        df = df.rename(columns={k: v for k, v in columns.items() if k in df.columns})
    dupes = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dupes:
        problems.append(
            f"column {', '.join(dupes)} appears more than once (after mapping): keep one"
        )
        df = df.loc[:, ~df.columns.duplicated()]
    return df, problems


def _renamed(columns: Mapping[str, str] | None, found: list[str]) -> dict[str, str]:
    """``{our_name: their_name}`` for the mapped columns present after the mapping."""
    return {ours: theirs for theirs, ours in (columns or {}).items() if ours in found}


def _missing_required(
    df: pd.DataFrame,
    required: tuple[str, ...],
    config_key: str,
    hints: Mapping[str, str] | None = None,
) -> list[str]:
    found = ", ".join(df.columns) or "none"
    hints = hints or {}
    return [
        f"missing required column '{col}' (columns found: {found}): rename it, or map your name "
        f"to it with `columns: {{{config_key}: {{your_name: {col}}}}}` in the config"
        + hints.get(col, "")
        for col in required
        if col not in df.columns
    ]


def _empty_ids(ids: pd.Series) -> np.ndarray:
    """Rows whose customer id is missing or blank."""
    as_text = ids.astype("string").str.strip()
    return (ids.isna() | as_text.isna() | (as_text == "")).to_numpy(dtype=bool)


def _check_ids(
    df: pd.DataFrame, problems: list[str], notes: list[str] | None = None
) -> pd.Series | None:
    """The customer ids, checked: none empty; text ids stripped; decimal ids that are whole
    numbers (``13085.0``, as spreadsheets and Parquet exports with gaps store them) read as
    whole numbers, so the lists join back to the source."""
    if "customer_id" not in df:
        return None
    ids = df["customer_id"]
    empty = _empty_ids(ids)
    if empty.any():
        problems.append(
            _describe(
                "customer_id",
                "empty customer id",
                empty,
                ids,
                "drop these rows or fill in the customer they belong to (guest orders: set "
                "input.rows_without_customer: drop)",
            )
        )
    as_text = None
    if ids.dtype == object:
        kinds = ids[~empty].map(type).unique()
        if len(kinds) > 1 or (len(kinds) == 1 and kinds[0] not in _NUMBER_TYPES):
            as_text = True  # strings, or mixed ints and strings: compare as text
    elif pd.api.types.is_string_dtype(ids):
        as_text = True
    if as_text:
        return ids.astype("string").str.strip().astype(object)
    if pd.api.types.is_float_dtype(ids) and not empty.any():
        values = ids.to_numpy(dtype=np.float64)
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2**53)
        if len(values) and whole.all():
            if notes is not None:
                notes.append(
                    f"customer_id: decimal numbers that are whole ({float(values[0])!r}) read "
                    f"as whole numbers ({int(values[0])})"
                )
            return pd.Series(values.astype(np.int64), index=ids.index, name=ids.name)
    return ids


_NUMBER_TYPES = (int, float, np.int64, np.float64)


_GROUPED = r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?"


def _parse_number(
    raw: pd.Series, column: str, problems: list[str], required: bool, fix: str
) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        problems.append(f"{column}: holds true/false values, not amounts: {fix}")
        return pd.Series(np.nan, index=raw.index)
    decimal_comma = None
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        text = raw.astype("string").str.strip()
        comma = text.str.contains(",", regex=False).fillna(False)
        if comma.any():  # thousands separators (1,234.50) go; a decimal comma (3,5) is no number
            grouped = text.str.fullmatch(_GROUPED).fillna(False)
            decimal_comma = (comma & ~grouped).to_numpy(dtype=bool)
            text = text.where(~comma, text.str.replace(",", "", regex=False).where(grouped))
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    values = values.replace([np.inf, -np.inf], np.nan)
    null = raw.isna().to_numpy(dtype=bool)
    bad = values.isna().to_numpy(dtype=bool) & ~null
    if decimal_comma is not None and decimal_comma.any():
        problems.append(
            _describe(
                column,
                "a decimal comma (or a misplaced thousands separator)",
                decimal_comma,
                raw,
                "export numbers with a decimal point, such as 3.5 (a comma only between groups "
                "of three digits, as in 1,234.50)",
            )
        )
        bad &= ~decimal_comma
    if bad.any():
        problems.append(_describe(column, "not a number", bad, raw, fix))
    if required and null.any():
        problems.append(_describe(column, f"missing {column}", null, raw, fix))
    return values


def _parse_bool(raw: pd.Series, column: str, problems: list[str]) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw) and not raw.isna().any():
        return raw.astype(bool)
    text = raw.astype("string").str.strip().str.lower().fillna("")
    truthy = text.isin(_TRUE)
    bad = (~truthy & ~text.isin(_FALSE)).to_numpy(dtype=bool)
    if bad.any():
        problems.append(
            _describe(column, "not true/false", bad, raw, "use true/false, yes/no or 1/0")
        )
    return truthy.astype(bool)


def _text(raw: pd.Series) -> pd.Series:
    return raw.astype("string").str.strip().fillna("unknown").astype(object)


def _duplicate_count(frame: pd.DataFrame, key: pd.DataFrame) -> int:
    """Rows of ``frame`` that exactly repeat an earlier row.

    ``key`` holds parsed columns of the same rows (ids, timestamps, amounts): rows that repeat
    each other also repeat their key, so only rows whose key hash occurs twice are compared
    whole. Sorting one 64-bit hash per row is several times faster than hashing every column
    of every row (a hash collision only adds a candidate, it never changes the count).

    >>> raw = pd.DataFrame({"customer_id": [1, 1, 2, 1], "note": ["a", "a", "a", "b"]})
    >>> _duplicate_count(raw, raw[["customer_id"]])
    1
    """
    return int(_duplicate_mask(frame, key).sum())


def _duplicate_warning(frame: pd.DataFrame, key: pd.DataFrame | None = None) -> list[str]:
    try:
        n_dupes = _duplicate_count(frame, frame if key is None or key.empty else key)
    except TypeError:  # unhashable values; other problems are reported already
        return []
    if not n_dupes:
        return []
    return [
        f"{n_dupes:,} of {len(frame):,} rows are exact duplicates of another row: if they are "
        "not separate orders, drop them (set input.duplicate_rows: drop in the config)"
    ]


#: ``attrs`` key marking a frame :func:`check_transactions` returned (not validated again).
VALIDATED = "vipml_validated"


def is_validated(transactions: pd.DataFrame) -> bool:
    """Whether ``transactions`` is a frame :func:`check_transactions` returned (or a slice of
    one): read it as it is instead of validating it again."""
    return isinstance(transactions, pd.DataFrame) and (
        transactions.attrs.get(VALIDATED) == "transactions"
    )


def align_ids(table: pd.DataFrame | None, reference: pd.Series) -> pd.DataFrame | None:
    """``table`` with its ``customer_id`` of the same kind as ``reference`` (the transactions'
    ids), so that the tables join: a customers CSV read as text (``'12346'``) against integer
    ids from Parquet, or the other way round. Text ids that are not plain integers (``'007'``)
    stay text and match no integer id. ``None`` stays ``None``.

    Examples
    --------
    >>> people = pd.DataFrame({"customer_id": ["12346", "007"], "region": ["N", "S"]})
    >>> align_ids(people, pd.Series([12346, 12347]))["customer_id"].tolist()
    [12346, '007']
    >>> align_ids(pd.DataFrame({"customer_id": [7]}), pd.Series(["7", "x"]))["customer_id"].tolist()
    ['7']
    """
    if table is None or "customer_id" not in table or not len(table):
        return table
    ids, like = table["customer_id"], reference
    integer = pd.api.types.is_integer_dtype
    if integer(like.dtype) and not integer(ids.dtype):
        text = ids.astype("string").str.strip()
        plain = text.str.fullmatch(r"-?(?:0|[1-9]\d{0,17})").fillna(False).to_numpy(dtype=bool)
        if not plain.any():
            return table
        values = ids.astype(object).to_numpy(copy=True)
        values[plain] = text[plain].astype("int64").to_numpy()
        aligned = pd.Series(values, index=ids.index, name=ids.name)
        if plain.all():
            aligned = aligned.astype("int64")
        return table.assign(customer_id=aligned)
    if not integer(like.dtype) and integer(ids.dtype):
        return table.assign(customer_id=ids.astype(str).astype(object))
    return table


def transaction_attributes(transactions: pd.DataFrame) -> list[str]:
    """The customer attributes a validated transaction frame carries
    (``input.customer_attributes``).

    >>> transaction_attributes(pd.DataFrame(columns=["customer_id", "revenue", "Country"]))
    ['Country']
    """
    return [c for c in transactions.columns if c not in TRANSACTION_COLUMNS]


def _attribute_names(
    df: pd.DataFrame, columns: Mapping[str, str] | None, wanted: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """Resolve ``input.customer_attributes`` to columns of the mapped frame; collect problems.

    A name may be the column's name in the data or the name it is mapped to.
    """
    names: list[str] = []
    problems: list[str] = []
    contract = set(TRANSACTION_REQUIRED + TRANSACTION_OPTIONAL)
    for name in wanted:
        resolved = name if name in df.columns else (columns or {}).get(name, name)
        if resolved not in df.columns:
            problems.append(
                f"input.customer_attributes names '{name}' but the data have no such column "
                f"(columns found: {', '.join(df.columns) or 'none'}): fix the name"
            )
        elif resolved in contract:
            problems.append(
                f"input.customer_attributes names '{name}', which is the contract column "
                f"'{resolved}': list columns that describe the customer, such as a country or "
                "segment"
            )
        else:
            names.append(resolved)
    return names, problems


def _money(total: float) -> str:
    return f"{total:,.2f}"


def _drop_rows_without_customer(
    df: pd.DataFrame, notes: list[str]
) -> pd.DataFrame:
    """``input.rows_without_customer: drop``: the rows without a customer id go, reported."""
    empty = _empty_ids(df["customer_id"])
    if not empty.any():
        notes.append("input.rows_without_customer: drop: every row has a customer id")
        return df
    gone = df.loc[empty]
    revenue = _revenue_of(gone)
    total = _revenue_of(df)
    share = f", {revenue / total:.1%} of all revenue" if total and np.isfinite(total) else ""
    notes.append(
        f"input.rows_without_customer: drop: dropped {int(empty.sum()):,} of {len(df):,} rows "
        f"without a customer id (revenue {_money(revenue)}{share})"
    )
    return df.loc[~empty]


def _revenue_of(df: pd.DataFrame) -> float:
    """Total revenue of raw rows (revenue, else quantity x unit price), unreadable values 0."""
    ignored: list[str] = []
    if "revenue" in df:
        values = _parse_number(df["revenue"], "revenue", ignored, False, "")
    elif "quantity" in df and "unit_price" in df:
        values = _parse_number(df["quantity"], "quantity", ignored, False, "") * _parse_number(
            df["unit_price"], "unit_price", ignored, False, ""
        )
    else:
        return float("nan")
    return float(values.fillna(0.0).sum())


_MONEY_FIX = "give plain numbers such as 19.99 (no currency symbols or text)"
_REVENUE_HINT = "; or map quantity and unit_price (revenue = quantity x unit_price)"


def _derive_revenue(
    df: pd.DataFrame, out: dict[str, pd.Series], problems: list[str], notes: list[str]
) -> None:
    """``revenue`` as given, or quantity x unit_price; ``quantity`` parsed either way."""
    if "quantity" in df:
        out["quantity"] = _parse_number(
            df["quantity"], "quantity", problems, "revenue" not in df, "give numbers such as 3"
        )
    if "revenue" in df:
        out["revenue"] = _parse_number(df["revenue"], "revenue", problems, True, _MONEY_FIX)
        if "unit_price" in df:
            notes.append("unit_price: not used (a revenue column is given)")
    elif "unit_price" in df and "quantity" in df:
        price = _parse_number(df["unit_price"], "unit_price", problems, True, _MONEY_FIX)
        out["revenue"] = out["quantity"] * price
        notes.append(
            "revenue: quantity x unit_price (no revenue column; a negative quantity is a return)"
        )
    elif "unit_price" in df:
        problems.append(
            "unit_price: revenue = quantity x unit_price needs a quantity column too: map your "
            "quantity column to `quantity` (or map a revenue column)"
        )


def _derive_cost_and_list_price(
    df: pd.DataFrame, out: dict[str, pd.Series], problems: list[str], notes: list[str]
) -> None:
    """``cost`` (or revenue - profit) and ``list_price`` (or revenue / (1 - discount))."""
    revenue = out.get("revenue")
    if "cost" in df:
        out["cost"] = _parse_number(df["cost"], "cost", problems, False, _MONEY_FIX)
        if "profit" in df:
            notes.append("profit: not used (a cost column is given)")
    elif "profit" in df:
        profit = _parse_number(df["profit"], "profit", problems, False, _MONEY_FIX)
        if revenue is not None:
            out["cost"] = revenue - profit
            notes.append("cost: revenue - profit (no cost column)")
    if "list_price" in df:
        out["list_price"] = _parse_number(
            df["list_price"], "list_price", problems, False, _MONEY_FIX
        )
        if "discount" in df:
            notes.append("discount: not used (a list_price column is given)")
    elif "discount" in df:
        fix = "give the discount as a fraction of the list price, e.g. 0.15 for 15%"
        discount = _parse_number(df["discount"], "discount", problems, False, fix)
        bad = (discount.notna() & ((discount < 0) | (discount >= 1))).to_numpy(dtype=bool)
        if bad.any():
            problems.append(
                _describe("discount", "not a fraction in [0, 1)", bad, df["discount"], fix)
            )
        if revenue is not None:
            out["list_price"] = revenue / (1.0 - discount.where(~bad))
            notes.append("list_price: revenue / (1 - discount) (no list_price column)")


def _duplicate_key(frame: pd.DataFrame) -> pd.DataFrame:
    """The parsed columns whose hash finds candidate repeats cheaply: the timestamp and the
    amount, and the customer when its ids are numbers (hashing millions of text ids costs more
    than the few extra candidates it would rule out)."""
    names = [c for c in ("timestamp", "revenue") if c in frame]
    if "customer_id" in frame and pd.api.types.is_numeric_dtype(frame["customer_id"]):
        names.insert(0, "customer_id")
    return frame[names] if names else frame


def _duplicate_mask(frame: pd.DataFrame, key: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` that exactly repeat an earlier row (see :func:`_duplicate_count`)."""
    keys = pd.util.hash_pandas_object(key, index=False).to_numpy()
    ranked = np.sort(keys)
    repeated = ranked[1:][ranked[1:] == ranked[:-1]]
    out = np.zeros(len(frame), dtype=bool)
    if not len(repeated):
        return out
    repeat = pd.Series(keys).isin(repeated).to_numpy()
    hashes = pd.util.hash_pandas_object(frame.loc[repeat], index=False)
    out[repeat] = hashes.duplicated().to_numpy()
    return out


def check_transactions(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    duplicates: bool = True,
    policy: InputConfig | None = None,
    allow_empty: bool = False,
) -> ValidationReport:
    """Check a transaction table against the contract; find every problem at once.

    Parameters
    ----------
    df
        The raw transactions.
    columns
        Optional mapping ``{their_name: our_name}`` applied before checking.
    duplicates
        Look for rows repeated exactly (a warning, not a problem); ``False`` skips the search
        when the warning would not be shown (with ``duplicate_rows: drop`` they are always
        searched for).
    policy
        The ``input`` section of the config: rows without a customer, duplicate rows, the
        timestamp format and customer attributes carried on the rows. Default: nothing
        dropped, nothing guessed.
    allow_empty
        Accept a table without rows (one batch of a larger file); by default it is a problem.

    Examples
    --------
    >>> from vipml.config import InputConfig
    >>> raw = pd.DataFrame({"Customer": ["007", "007", None], "Date": ["13/01/2024"] * 3,
    ...                     "Qty": [2, -1, 5], "Price": [4.5, 4.5, 1.0]})
    >>> report = check_transactions(
    ...     raw, {"Customer": "customer_id", "Date": "timestamp", "Qty": "quantity",
    ...           "Price": "unit_price"}, policy=InputConfig(rows_without_customer="drop"))
    >>> report.frame[["customer_id", "timestamp", "revenue"]].to_dict("list")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'customer_id': ['007', '007'],
     'timestamp': [Timestamp('2024-01-13 00:00:00'), Timestamp('2024-01-13 00:00:00')],
     'revenue': [9.0, -4.5]}
    >>> print("\\n".join(report.notes))  # doctest: +ELLIPSIS
    input.rows_without_customer: drop: dropped 1 of 3 rows without a customer id (revenue 5.00, ...)
    timestamp: ...
    revenue: quantity x unit_price (no revenue column; a negative quantity is a return)
    """
    policy = policy or InputConfig()
    notes = list(df.attrs.get(READ_NOTES, [])) if isinstance(df, pd.DataFrame) else []
    df, problems = _apply_mapping(df, columns, "transactions")
    df = df.reset_index(drop=True)
    n_raw = len(df)
    found = list(df.columns)
    has_price = "quantity" in df and "unit_price" in df
    required = tuple(c for c in TRANSACTION_REQUIRED if not (c == "revenue" and has_price))
    problems += _missing_required(df, required, "transactions", {"revenue": _REVENUE_HINT})
    attributes, attribute_problems = _attribute_names(df, columns, policy.customer_attributes)
    problems += attribute_problems
    if not len(df) and not allow_empty:
        problems.append(
            f"no data rows (columns found: {', '.join(found) or 'none'}): the file holds a header "
            "only: export the transactions themselves"
        )
    if "customer_id" in df and policy.rows_without_customer == "drop" and len(df):
        df = _drop_rows_without_customer(df, notes)
    out: dict[str, pd.Series] = {}
    ids = _check_ids(df, problems, notes)
    if ids is not None:
        out["customer_id"] = ids
    if "timestamp" in df:
        out["timestamp"], how = parse_timestamps(
            df["timestamp"], "timestamp", problems, fmt=policy.timestamp_format
        )
        if how:
            notes.append(how)
    _derive_revenue(df, out, problems, notes)
    if "order_id" in df:
        out["order_id"] = df["order_id"]
    _derive_cost_and_list_price(df, out, problems, notes)
    if "category" in df:
        out["category"] = _text(df["category"])
    if "is_return" in df:
        out["is_return"] = _parse_bool(df["is_return"], "is_return", problems)
    if "product_id" in df:
        out["product_id"] = _text(df["product_id"])
    for name in attributes:
        out[name] = _text(df[name])
    order = [c for c in (*TRANSACTION_COLUMNS, *attributes) if c in out]
    frame = pd.DataFrame({c: out[c] for c in order}, index=df.index) if out else None
    warnings_found: list[str] = []
    if frame is not None and not problems:
        key = _duplicate_key(frame)
        if policy.duplicate_rows == "drop":
            repeats = _duplicate_mask(df, key)
            notes.append(
                f"input.duplicate_rows: drop: dropped {int(repeats.sum()):,} of {len(frame):,} "
                "rows that exactly repeat another row"
            )
            frame = frame.loc[~repeats]
        elif duplicates:
            warnings_found += _duplicate_warning(df, key)
        if not len(frame) and n_raw and not allow_empty:
            problems.append(
                "no rows left after the input policies (every row was dropped): check "
                "input.rows_without_customer and input.duplicate_rows"
            )
        frame = frame.reset_index(drop=True)
    known = set(TRANSACTION_REQUIRED + TRANSACTION_OPTIONAL) | set(attributes)
    report = ValidationReport(
        table="transactions",
        frame=frame if not problems else None,
        problems=problems,
        warnings=warnings_found,
        columns_found=found,
        columns_recognised=[c for c in found if c in known],
        columns_ignored=[c for c in found if c not in known],
        notes=notes,
        renamed=_renamed(columns, found),
    )
    if report.frame is not None:
        report.frame.attrs[VALIDATED] = "transactions"
    return report


def check_events(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> ValidationReport:
    """Check an event table (support tickets, referrals, reviews, UGC) against the contract.

    ``policy``: the config's ``input`` section (its ``timestamp_format`` applies here too).
    """
    policy = policy or InputConfig()
    df, problems = _apply_mapping(df, columns, "events")
    df = df.reset_index(drop=True)
    found = list(df.columns)
    problems += _missing_required(df, EVENT_REQUIRED, "events")
    out: dict[str, pd.Series] = {}
    ids = _check_ids(df, problems)
    if ids is not None:
        out["customer_id"] = ids
    if "timestamp" in df:
        out["timestamp"], _ = parse_timestamps(
            df["timestamp"], "timestamp", problems, fmt=policy.timestamp_format
        )
    if "kind" in df:
        kind = df["kind"].astype("string").str.strip().str.lower()
        bad = (~kind.isin(EVENT_KINDS) | kind.isna()).to_numpy(dtype=bool)
        if bad.any():
            problems.append(
                _describe(
                    "kind",
                    "unknown event kind",
                    bad,
                    df["kind"],
                    f"use one of {', '.join(EVENT_KINDS)}",
                )
            )
        out["kind"] = kind.astype(object)
    if "cost" in df:
        out["cost"] = _parse_number(
            df["cost"], "cost", problems, False, "give plain numbers such as 4.50"
        ).fillna(0.0)
    known = EVENT_REQUIRED + EVENT_OPTIONAL
    frame = pd.DataFrame(out).reset_index(drop=True) if out else None
    report = ValidationReport(
        "events",
        frame if not problems else None,
        problems,
        columns_found=found,
        columns_recognised=[c for c in found if c in known],
        columns_ignored=[c for c in found if c not in known],
    )
    if frame is not None:
        key = [c for c in ("customer_id", "timestamp") if c in frame]
        report.warnings += _duplicate_warning(df, frame[key])
    return report


def check_customers(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> ValidationReport:
    """Check a customers table: one row per ``customer_id`` plus attributes.

    ``policy``: the config's ``input`` section (its ``timestamp_format`` applies to
    ``signup_date``).
    """
    policy = policy or InputConfig()
    df, problems = _apply_mapping(df, columns, "customers")
    df = df.reset_index(drop=True)
    found = list(df.columns)
    problems += _missing_required(df, CUSTOMER_REQUIRED, "customers")
    out = df.copy()
    ids = _check_ids(df, problems)
    if ids is not None:
        out["customer_id"] = ids
        dup = ids.duplicated(keep=False).to_numpy(dtype=bool) & ids.notna().to_numpy(dtype=bool)
        if dup.any():
            problems.append(
                _describe(
                    "customer_id",
                    "customer id listed more than once",
                    dup,
                    ids,
                    "keep one row per customer",
                )
            )
    for col in CUSTOMER_DATES:
        if col in df:
            out[col], _ = parse_timestamps(
                df[col], col, problems, fmt=policy.timestamp_format, required=False
            )
    for col in out.columns:
        if col != "customer_id" and col not in CUSTOMER_DATES and out[col].dtype == object:
            out[col] = _text(out[col])
    return ValidationReport(
        "customers",
        out.reset_index(drop=True) if not problems else None,
        problems,
        columns_found=found,
        columns_recognised=found,
        columns_ignored=[],
    )


def validate_transactions(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    policy: InputConfig | None = None,
) -> pd.DataFrame:
    """Return the clean, typed transactions or raise one :class:`SchemaError` with every problem.

    ``policy``: the config's ``input`` section (see :func:`check_transactions`). Duplicated
    identical rows are kept (unless the policy drops them) and reported as a
    :class:`DataQualityWarning`.
    """
    return check_transactions(df, columns, policy=policy).raise_if_problems()


def validate_events(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> pd.DataFrame:
    """Return the clean events or raise one :class:`SchemaError` with every problem."""
    return check_events(df, columns, policy).raise_if_problems()


def validate_customers(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> pd.DataFrame:
    """Return the clean customers table or raise one :class:`SchemaError` with every problem."""
    return check_customers(df, columns, policy).raise_if_problems()


def require_validated(transactions: pd.DataFrame) -> None:
    """Check, cheaply, that inner code got validated transactions (a DataFrame with the
    required columns and datetime timestamps); raise :class:`SchemaError` otherwise."""
    if not isinstance(transactions, pd.DataFrame):
        raise SchemaError([f"expected a pandas DataFrame, got {type(transactions).__name__}"])
    missing = [c for c in ("customer_id", "timestamp", "revenue") if c not in transactions]
    if missing:
        raise SchemaError(
            [
                f"missing required column '{c}' (columns found: "
                f"{', '.join(map(str, transactions.columns)) or 'none'}): run "
                "vipml.data.schema.validate_transactions on the raw data first"
                for c in missing
            ]
        )
    if not pd.api.types.is_datetime64_any_dtype(transactions["timestamp"]):
        raise SchemaError(
            [
                f"timestamp: dtype {transactions['timestamp'].dtype} is not a datetime: run "
                "vipml.data.schema.validate_transactions on the raw data first"
            ]
        )
