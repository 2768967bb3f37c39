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

from collections.abc import Mapping

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
from vipml.data.coerce import as_text, parse_bool, parse_number
from vipml.data.columns import (
    attribute_columns,
    missing_contract_columns,
    transaction_column_problems,
)
from vipml.data.customer_ids import align_ids, check_ids, empty_ids
from vipml.data.dates import parse_timestamps
from vipml.data.duplicates import duplicate_key, duplicate_mask, duplicate_warning
from vipml.data.messages import (
    DROPPED_DUPLICATES,
    EVENT_COST_FIX,
    EVERY_ROW_HAS_CUSTOMER,
    ID_REPEATED,
    ID_REPEATED_FIX,
    KIND_FIX,
    NO_DATA_ROWS,
    NO_ROWS_LEFT,
    REPEATED_COLUMNS,
    UNKNOWN_KIND,
    without_customer_note,
)
from vipml.data.problems import describe_rows, missing_required_problems
from vipml.data.stand_ins import derive_cost_and_list_price, derive_revenue
from vipml.data.validation_report import DataQualityWarning, ValidationReport
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

#: ``attrs`` key under which a reader leaves notes on how it read a file (encoding, separator).
READ_NOTES = "vipml_read_notes"


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
        problems.append(REPEATED_COLUMNS.format(names=", ".join(dupes)))
        df = df.loc[:, ~df.columns.duplicated()]
    return df, problems


def _renamed(columns: Mapping[str, str] | None, found: list[str]) -> dict[str, str]:
    """``{our_name: their_name}`` for the mapped columns present after the mapping."""
    return {ours: theirs for theirs, ours in (columns or {}).items() if ours in found}


#: ``attrs`` key marking a frame :func:`check_transactions` returned (not validated again).
VALIDATED = "vipml_validated"


def is_validated(transactions: pd.DataFrame) -> bool:
    """Whether ``transactions`` is a frame :func:`check_transactions` returned (or a slice of
    one): read it as it is instead of validating it again.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Any frame.

    Returns
    -------
    bool
        True when :func:`check_transactions` returned it.

    Examples
    --------
    >>> tx = validate_transactions(pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-02"],
    ...                                          "revenue": [1.0]}))
    >>> is_validated(tx), is_validated(tx.copy().assign(revenue=2.0)), is_validated(pd.DataFrame())
    (True, True, False)
    """
    return isinstance(transactions, pd.DataFrame) and (
        transactions.attrs.get(VALIDATED) == "transactions"
    )


def transaction_attributes(transactions: pd.DataFrame) -> list[str]:
    """The customer attributes a validated transaction frame carries
    (``input.customer_attributes``).

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions.

    Returns
    -------
    list of str
        The columns that are not the contract's.

    Examples
    --------
    >>> transaction_attributes(pd.DataFrame(columns=["customer_id", "revenue", "Country"]))
    ['Country']
    """
    return [c for c in transactions.columns if c not in TRANSACTION_COLUMNS]


def _drop_rows_without_customer(
    df: pd.DataFrame, notes: list[str]
) -> pd.DataFrame:
    """``input.rows_without_customer: drop``: the rows without a customer id go, reported."""
    empty = empty_ids(df["customer_id"])
    if not empty.any():
        notes.append(EVERY_ROW_HAS_CUSTOMER)
        return df
    revenue = _revenue_of(df.loc[empty])
    notes.append(without_customer_note(int(empty.sum()), len(df), revenue, _revenue_of(df)))
    return df.loc[~empty]


def _revenue_of(df: pd.DataFrame) -> float:
    """Total revenue of raw rows (revenue, else quantity x unit price), unreadable values 0."""
    ignored: list[str] = []
    if "revenue" in df:
        values = parse_number(df["revenue"], "revenue", ignored, False, "")
    elif "quantity" in df and "unit_price" in df:
        values = parse_number(df["quantity"], "quantity", ignored, False, "") * parse_number(
            df["unit_price"], "unit_price", ignored, False, ""
        )
    else:
        return float("nan")
    return float(values.fillna(0.0).sum())


_RUN_CHECK = "run vipml.data.schema.validate_transactions on the raw data first"


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

    Returns
    -------
    ValidationReport
        The clean frame (None with a problem), the problems, warnings and notes.

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
    problems += transaction_column_problems(found)
    attributes, attribute_problems = attribute_columns(found, columns, policy.customer_attributes)
    problems += attribute_problems
    if not len(df) and not allow_empty:
        problems.append(NO_DATA_ROWS.format(found=", ".join(found) or "none"))
    if "customer_id" in df and policy.rows_without_customer == "drop" and len(df):
        df = _drop_rows_without_customer(df, notes)
    out: dict[str, pd.Series] = {}
    ids = check_ids(df, problems, notes)
    if ids is not None:
        out["customer_id"] = ids
    if "timestamp" in df:
        out["timestamp"], how = parse_timestamps(
            df["timestamp"], "timestamp", problems, fmt=policy.timestamp_format
        )
        if how:
            notes.append(how)
    derive_revenue(df, out, problems, notes)
    if "order_id" in df:
        out["order_id"] = df["order_id"]
    derive_cost_and_list_price(df, out, problems, notes)
    if "category" in df:
        out["category"] = as_text(df["category"])
    if "is_return" in df:
        out["is_return"] = parse_bool(df["is_return"], "is_return", problems)
    if "product_id" in df:
        out["product_id"] = as_text(df["product_id"])
    for name in attributes:
        out[name] = as_text(df[name])
    order = [c for c in (*TRANSACTION_COLUMNS, *attributes) if c in out]
    frame = pd.DataFrame({c: out[c] for c in order}, index=df.index) if out else None
    warnings_found: list[str] = []
    if frame is not None and not problems:
        key = duplicate_key(frame)
        if policy.duplicate_rows == "drop":
            repeats = duplicate_mask(df, key)
            notes.append(DROPPED_DUPLICATES.format(dropped=int(repeats.sum()), rows=len(frame)))
            frame = frame.loc[~repeats]
        elif duplicates:
            warnings_found += duplicate_warning(df, key)
        if not len(frame) and n_raw and not allow_empty:
            problems.append(NO_ROWS_LEFT)
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

    Parameters
    ----------
    df : pandas.DataFrame
        The raw events.
    columns : mapping, optional
        ``{their_name: our_name}`` applied before checking.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    ValidationReport
        The clean frame (None with a problem), the problems and warnings.

    Examples
    --------
    >>> raw = pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-02"], "kind": ["call"]})
    >>> check_events(raw).problems  # doctest: +ELLIPSIS
    ["kind: unknown event kind in 1 of 1 rows (rows 1; values 'call'): use one of ..."]
    """
    policy = policy or InputConfig()
    df, problems = _apply_mapping(df, columns, "events")
    df = df.reset_index(drop=True)
    found = list(df.columns)
    problems += missing_contract_columns(found, EVENT_REQUIRED, "events")
    out: dict[str, pd.Series] = {}
    ids = check_ids(df, problems)
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
                describe_rows(
                    "kind",
                    UNKNOWN_KIND,
                    bad,
                    df["kind"],
                    KIND_FIX,
                )
            )
        out["kind"] = kind.astype(object)
    if "cost" in df:
        out["cost"] = parse_number(
            df["cost"], "cost", problems, False, EVENT_COST_FIX
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
        report.warnings += duplicate_warning(df, frame[key])
    return report


def check_customers(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> ValidationReport:
    """Check a customers table: one row per ``customer_id`` plus attributes.

    ``policy``: the config's ``input`` section (its ``timestamp_format`` applies to
    ``signup_date``).

    Parameters
    ----------
    df : pandas.DataFrame
        The raw customers table.
    columns : mapping, optional
        ``{their_name: our_name}`` applied before checking.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    ValidationReport
        The clean frame (None with a problem) and the problems.

    Examples
    --------
    >>> check_customers(pd.DataFrame({"customer_id": [1, 1]})).problems  # doctest: +ELLIPSIS
    ['customer_id: customer id listed more than once in 2 of 2 rows (rows 1, 2; ...']
    """
    policy = policy or InputConfig()
    df, problems = _apply_mapping(df, columns, "customers")
    df = df.reset_index(drop=True)
    found = list(df.columns)
    problems += missing_contract_columns(found, CUSTOMER_REQUIRED, "customers")
    out = df.copy()
    ids = check_ids(df, problems)
    if ids is not None:
        out["customer_id"] = ids
        dup = ids.duplicated(keep=False).to_numpy(dtype=bool) & ids.notna().to_numpy(dtype=bool)
        if dup.any():
            problems.append(
                describe_rows(
                    "customer_id",
                    ID_REPEATED,
                    dup,
                    ids,
                    ID_REPEATED_FIX,
                )
            )
    for col in CUSTOMER_DATES:
        if col in df:
            out[col], _ = parse_timestamps(
                df[col], col, problems, fmt=policy.timestamp_format, required=False
            )
    for col in out.columns:
        text = pd.api.types.is_string_dtype(out[col].dtype)  # object or pandas' str dtype
        if col != "customer_id" and col not in CUSTOMER_DATES and text:
            out[col] = as_text(out[col])
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

    Parameters
    ----------
    df : pandas.DataFrame
        The raw transactions.
    columns : mapping, optional
        ``{their_name: our_name}`` applied before checking.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        The clean, typed transactions.

    Examples
    --------
    >>> tx = validate_transactions(pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-02"],
    ...                                          "revenue": ["1,200.50"]}))
    >>> tx["revenue"].tolist()
    [1200.5]
    """
    return check_transactions(df, columns, policy=policy).raise_if_problems()


def validate_events(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> pd.DataFrame:
    """Return the clean events or raise one :class:`SchemaError` with every problem.

    Parameters
    ----------
    df : pandas.DataFrame
        The raw events.
    columns : mapping, optional
        ``{their_name: our_name}`` applied before checking.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        The clean events.

    Examples
    --------
    >>> events = validate_events(pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-02"],
    ...                                        "kind": ["referral"]}))
    >>> str(events["timestamp"].dtype)
    'datetime64[ns]'
    """
    return check_events(df, columns, policy).raise_if_problems()


def validate_customers(
    df: pd.DataFrame, columns: Mapping[str, str] | None = None, policy: InputConfig | None = None
) -> pd.DataFrame:
    """Return the clean customers table or raise one :class:`SchemaError` with every problem.

    Parameters
    ----------
    df : pandas.DataFrame
        The raw customers table.
    columns : mapping, optional
        ``{their_name: our_name}`` applied before checking.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        The clean customers table.

    Examples
    --------
    >>> validate_customers(pd.DataFrame({"customer_id": [1], "signup_date": ["2024-01-02"]}))
       customer_id signup_date
    0            1  2024-01-02
    """
    return check_customers(df, columns, policy).raise_if_problems()


def require_validated(transactions: pd.DataFrame) -> None:
    """Check, cheaply, that inner code got validated transactions (a DataFrame with the
    required columns and datetime timestamps); raise :class:`SchemaError` otherwise.

    Parameters
    ----------
    transactions : pandas.DataFrame
        What inner code was given.

    Examples
    --------
    >>> require_validated(pd.DataFrame({"customer_id": [1], "revenue": [1.0]}))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: transactions: 1 problem found
      - missing required column 'timestamp' (columns found: customer_id, revenue): run ...
    """
    if not isinstance(transactions, pd.DataFrame):
        raise SchemaError([f"expected a pandas DataFrame, got {type(transactions).__name__}"])
    missing = missing_required_problems(transactions.columns, TRANSACTION_REQUIRED, _RUN_CHECK)
    if missing:
        raise SchemaError(missing)
    if not pd.api.types.is_datetime64_any_dtype(transactions["timestamp"]):
        raise SchemaError(
            [
                f"timestamp: dtype {transactions['timestamp'].dtype} is not a datetime: "
                + _RUN_CHECK
            ]
        )
