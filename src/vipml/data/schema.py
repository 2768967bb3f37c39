"""The data contract: transactions, events and customers, checked once at the boundary.

Transactions hold one row per order or order line. Required columns: ``customer_id``,
``timestamp``, ``revenue`` (amount paid after discounts; negative = refund). Optional:
``order_id``, ``cost``, ``list_price``, ``quantity``, ``category``, ``is_return``.
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

from vipml.data.problems import describe_rows as _describe
from vipml.errors import SchemaError

__all__ = [
    "TRANSACTION_REQUIRED",
    "TRANSACTION_OPTIONAL",
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

TRANSACTION_REQUIRED = ("customer_id", "timestamp", "revenue")
TRANSACTION_OPTIONAL = ("order_id", "cost", "list_price", "quantity", "category", "is_return")
EVENT_REQUIRED = ("customer_id", "timestamp", "kind")
EVENT_OPTIONAL = ("cost",)
EVENT_KINDS = ("support_ticket", "referral", "review", "ugc")
CUSTOMER_REQUIRED = ("customer_id",)
CUSTOMER_DATES = ("signup_date",)

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


def _missing_required(df: pd.DataFrame, required: tuple[str, ...], config_key: str) -> list[str]:
    found = ", ".join(df.columns) or "none"
    return [
        f"missing required column '{col}' (columns found: {found}): rename it, or map your name "
        f"to it with `columns: {{{config_key}: {{your_name: {col}}}}}` in the config"
        for col in required
        if col not in df.columns
    ]


def _check_ids(df: pd.DataFrame, problems: list[str]) -> pd.Series | None:
    if "customer_id" not in df:
        return None
    ids = df["customer_id"]
    as_text = ids.astype("string").str.strip()
    empty = (ids.isna() | as_text.isna() | (as_text == "")).to_numpy(dtype=bool)
    if empty.any():
        problems.append(
            _describe(
                "customer_id",
                "empty customer id",
                empty,
                ids,
                "drop these rows or fill in the customer they belong to",
            )
        )
    if ids.dtype == object:
        kinds = ids[~empty].map(type).unique()
        if len(kinds) > 1:  # mixed ints and strings: compare as text
            ids = as_text
        elif len(kinds) == 1 and kinds[0] is str:
            ids = as_text
        elif len(kinds) == 1 and kinds[0] not in (int, float, np.int64, np.float64):
            ids = as_text
    return ids


def _as_ns(parsed: pd.Series) -> pd.Series:
    """Naive ``datetime64[ns]``; values outside its range (years 1678-2261) become NaT."""
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    if str(parsed.dtype) != "datetime64[ns]":
        inside = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
        parsed = parsed.where(inside).astype("datetime64[ns]")
    return parsed


def _parse_timestamps(
    raw: pd.Series, column: str, problems: list[str], required: bool = True
) -> pd.Series:
    """Parse a timestamp column into naive ``datetime64[ns]``; collect problems."""
    n = len(raw)
    null = raw.isna().to_numpy(dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(raw):
        return _as_ns(raw)
    if pd.api.types.is_bool_dtype(raw):
        problems.append(
            f"{column}: holds true/false values, not dates ({n:,} rows): give dates such as "
            "2024-03-31 or 2024-03-31T14:05:00"
        )
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if pd.api.types.is_numeric_dtype(raw):
        # Only YYYYMMDD integers (as in the CDNOW files) are accepted as numbers.
        text = raw.astype("Float64").astype("Int64").astype("string")
        parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    else:
        text = raw.astype("string").str.strip()
        tz = text.str.extract(_TZ_SUFFIX, expand=False)
        zones = tz.fillna("naive")[~null & text.notna()]
        distinct = zones.unique()
        if len(distinct) > 1:
            counts = zones.value_counts()
            majority = counts.index[0]
            mask = (zones.reindex(raw.index) != majority).fillna(False).to_numpy(dtype=bool)
            summary = ", ".join(f"{z}: {c:,}" for z, c in counts.head(5).items())
            problems.append(
                _describe(
                    column,
                    f"a time zone other than the most common one ({summary})",
                    mask,
                    raw,
                    "mixed time zones: convert every timestamp to one zone (e.g. UTC) first",
                )
            )
            # Keep going (in UTC) so that unparseable values are reported too.
            text = text.str.replace(_TZ_SUFFIX, "", regex=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(text, errors="coerce")
            except (ValueError, TypeError, OverflowError):
                parsed = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
            retry = parsed.isna() & text.notna() & (text != "")
            if retry.any():
                try:
                    again = pd.to_datetime(text[retry], errors="coerce", format="mixed")
                except (ValueError, TypeError, OverflowError):
                    again = pd.Series(pd.NaT, index=text[retry].index)
                parsed = _as_ns(parsed)
                parsed[retry] = _as_ns(pd.Series(again, index=text[retry].index))
    parsed = _as_ns(parsed)
    bad = (parsed.isna().to_numpy(dtype=bool)) & ~null
    if bad.any():
        problems.append(
            _describe(
                column,
                "unparseable timestamp",
                bad,
                raw,
                "use ISO dates such as 2024-03-31 or 2024-03-31T14:05:00",
            )
        )
    if required and null.any():
        problems.append(
            _describe(column, "missing timestamp", null, raw, "drop these rows or fill in the date")
        )
    return parsed


def _parse_number(
    raw: pd.Series, column: str, problems: list[str], required: bool, fix: str
) -> pd.Series:
    if pd.api.types.is_bool_dtype(raw):
        problems.append(f"{column}: holds true/false values, not amounts: {fix}")
        return pd.Series(np.nan, index=raw.index)
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        text = raw.astype("string").str.strip().str.replace(",", "", regex=False)
        values = pd.to_numeric(text, errors="coerce").astype("float64")
    values = values.replace([np.inf, -np.inf], np.nan)
    null = raw.isna().to_numpy(dtype=bool)
    bad = values.isna().to_numpy(dtype=bool) & ~null
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
    keys = pd.util.hash_pandas_object(key, index=False).to_numpy()
    ranked = np.sort(keys)
    repeated = ranked[1:][ranked[1:] == ranked[:-1]]
    if not len(repeated):
        return 0
    repeat = pd.Series(keys).isin(repeated).to_numpy()
    candidates = frame.loc[repeat]
    hashes = pd.util.hash_pandas_object(candidates, index=False).to_numpy()
    return int(pd.Series(hashes).duplicated().sum())


def _duplicate_warning(frame: pd.DataFrame, key: pd.DataFrame | None = None) -> list[str]:
    try:
        n_dupes = _duplicate_count(frame, frame if key is None or key.empty else key)
    except TypeError:  # unhashable values; other problems are reported already
        return []
    if not n_dupes:
        return []
    return [
        f"{n_dupes:,} of {len(frame):,} rows are exact duplicates of another row: if they are "
        "not separate orders, drop them (e.g. df.drop_duplicates())"
    ]


#: ``attrs`` key marking a frame :func:`check_transactions` returned (not validated again).
VALIDATED = "vipml_validated"


def is_validated(transactions: pd.DataFrame) -> bool:
    """Whether ``transactions`` is a frame :func:`check_transactions` returned (or a slice of
    one): read it as it is instead of validating it again."""
    return isinstance(transactions, pd.DataFrame) and (
        transactions.attrs.get(VALIDATED) == "transactions"
    )


def check_transactions(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, *, duplicates: bool = True
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
        when the warning would not be shown.
    """
    df, problems = _apply_mapping(df, columns, "transactions")
    found = list(df.columns)
    problems += _missing_required(df, TRANSACTION_REQUIRED, "transactions")
    known = TRANSACTION_REQUIRED + TRANSACTION_OPTIONAL
    out: dict[str, pd.Series] = {}
    ids = _check_ids(df, problems)
    if ids is not None:
        out["customer_id"] = ids
    if "timestamp" in df:
        out["timestamp"] = _parse_timestamps(df["timestamp"], "timestamp", problems)
    money_fix = "give plain numbers such as 19.99 (no currency symbols or text)"
    if "revenue" in df:
        out["revenue"] = _parse_number(df["revenue"], "revenue", problems, True, money_fix)
    if "order_id" in df:
        out["order_id"] = df["order_id"]
    for col in ("cost", "list_price", "quantity"):
        if col in df:
            out[col] = _parse_number(df[col], col, problems, False, money_fix)
    if "category" in df:
        out["category"] = _text(df["category"])
    if "is_return" in df:
        out["is_return"] = _parse_bool(df["is_return"], "is_return", problems)
    frame = pd.DataFrame(out, index=df.index).reset_index(drop=True) if out else None
    report = ValidationReport(
        table="transactions",
        frame=frame if not problems else None,
        problems=problems,
        columns_found=found,
        columns_recognised=[c for c in found if c in known],
        columns_ignored=[c for c in found if c not in known],
    )
    if frame is not None:
        frame.attrs[VALIDATED] = "transactions"
        if duplicates:
            key = [c for c in ("customer_id", "timestamp", "revenue") if c in frame]
            report.warnings += _duplicate_warning(df, frame[key])
    return report


def check_events(df: pd.DataFrame, columns: Mapping[str, str] | None = None) -> ValidationReport:
    """Check an event table (support tickets, referrals, reviews, UGC) against the contract."""
    df, problems = _apply_mapping(df, columns, "events")
    found = list(df.columns)
    problems += _missing_required(df, EVENT_REQUIRED, "events")
    out: dict[str, pd.Series] = {}
    ids = _check_ids(df, problems)
    if ids is not None:
        out["customer_id"] = ids
    if "timestamp" in df:
        out["timestamp"] = _parse_timestamps(df["timestamp"], "timestamp", problems)
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


def check_customers(df: pd.DataFrame, columns: Mapping[str, str] | None = None) -> ValidationReport:
    """Check a customers table: one row per ``customer_id`` plus attributes."""
    df, problems = _apply_mapping(df, columns, "customers")
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
            out[col] = _parse_timestamps(df[col], col, problems, required=False)
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
    df: pd.DataFrame, columns: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return the clean, typed transactions or raise one :class:`SchemaError` with every problem.

    Duplicated identical rows are kept and reported as a :class:`DataQualityWarning`.
    """
    return check_transactions(df, columns).raise_if_problems()


def validate_events(df: pd.DataFrame, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return the clean events or raise one :class:`SchemaError` with every problem."""
    return check_events(df, columns).raise_if_problems()


def validate_customers(df: pd.DataFrame, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Return the clean customers table or raise one :class:`SchemaError` with every problem."""
    return check_customers(df, columns).raise_if_problems()


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
