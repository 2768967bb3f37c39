"""What the pipeline's steps share: the progress callback, the cutoff's day and the checks
of a transactions table."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pandas as pd

from vipml.data.schema import align_ids
from vipml.errors import SchemaError

log = logging.getLogger(__name__)


Progress = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    """The progress callback that reports nothing.

    Parameters
    ----------
    step
        What is being done.
    done, total
        Steps done so far and in all.

    Examples
    --------
    >>> no_progress("training", 1, 4) is None
    True
    """
    return None


def day_of(ts: str | pd.Timestamp) -> pd.Timestamp:
    """Midnight of the day of ``ts``.

    Parameters
    ----------
    ts
        A timestamp or a date in text.

    Returns
    -------
    pandas.Timestamp
        The day, at midnight.

    Examples
    --------
    >>> day_of("1997-12-31 18:30")
    Timestamp('1997-12-31 00:00:00')
    """
    return pd.Timestamp(ts).normalize()


def up_to(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows on or before the cutoff's day.

    Parameters
    ----------
    transactions
        Transactions with a datetime ``timestamp`` column.
    cutoff
        The cutoff; its whole day is kept.

    Returns
    -------
    pandas.DataFrame
        The rows on or before the cutoff's day (``transactions`` itself when all are).

    Examples
    --------
    >>> tx = pd.DataFrame({"timestamp": pd.to_datetime(["2024-01-01 20:00", "2024-01-02 08:00"])})
    >>> len(up_to(tx, pd.Timestamp("2024-01-01")))
    1
    """
    end = day_of(cutoff) + pd.Timedelta(days=1)
    keep = (transactions["timestamp"] < end).to_numpy()
    return transactions if keep.all() else transactions.loc[keep]


def aligned_tables(
    transactions: pd.DataFrame, events: pd.DataFrame | None, customers: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Events and customers with ids of the transactions' kind (see :func:`align_ids`).

    Parameters
    ----------
    transactions
        Transactions with a ``customer_id`` column.
    events, customers
        The optional side tables (``None`` stays ``None``).

    Returns
    -------
    tuple of (pandas.DataFrame or None, pandas.DataFrame or None)
        ``(events, customers)`` with ids of the transactions' kind.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 2]})
    >>> ev, cu = aligned_tables(tx, None, pd.DataFrame({"customer_id": ["1", "2"]}))
    >>> ev, cu["customer_id"].tolist()
    (None, [1, 2])
    """
    ids = transactions["customer_id"]
    return align_ids(events, ids), align_ids(customers, ids)


def require_transactions(transactions: pd.DataFrame) -> None:
    """Check that ``transactions`` is a validated, non-empty transactions frame.

    Parameters
    ----------
    transactions
        The table to check.

    Raises
    ------
    SchemaError
        When it is not a DataFrame, lacks ``customer_id``, ``timestamp`` (datetime) or
        ``revenue``, or has no rows.

    Examples
    --------
    >>> require_transactions(pd.DataFrame({"customer_id": [1], "revenue": [5.0],
    ...     "timestamp": pd.to_datetime(["2024-01-01"])}))
    >>> require_transactions(pd.DataFrame({"customer_id": [1]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: transactions: 1 problem found
      - transactions lack customer_id, timestamp (datetime) or revenue: ...
    """
    if not isinstance(transactions, pd.DataFrame):
        raise SchemaError([f"expected a pandas DataFrame, got {type(transactions).__name__}"])
    missing = [c for c in ("customer_id", "timestamp", "revenue") if c not in transactions]
    if missing or not pd.api.types.is_datetime64_any_dtype(transactions["timestamp"]):
        raise SchemaError(
            [
                "transactions lack customer_id, timestamp (datetime) or revenue: read them with "
                "vipml.data.io.read_transactions or validate_transactions first"
            ]
        )
    if transactions.empty:
        raise SchemaError(["transactions: no rows: nothing to train or score"])


#: Days a training cutoff may lie after the last transaction (a quiet weekend or holiday at the
#: end of an export) with a warning; beyond, it is an error.
QUIET_DAYS = 7

LABEL_COLUMNS = ("future_vip", "churn", "future_value", "future_purchases", "churn_eligible")
