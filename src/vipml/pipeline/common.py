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
    return None


def day_of(ts: str | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).normalize()


def up_to(transactions: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows on or before the cutoff's day."""
    end = day_of(cutoff) + pd.Timedelta(days=1)
    keep = (transactions["timestamp"] < end).to_numpy()
    return transactions if keep.all() else transactions.loc[keep]


def aligned_tables(
    transactions: pd.DataFrame, events: pd.DataFrame | None, customers: pd.DataFrame | None
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Events and customers with ids of the transactions' kind (see :func:`align_ids`)."""
    ids = transactions["customer_id"]
    return align_ids(events, ids), align_ids(customers, ids)


def require_transactions(transactions: pd.DataFrame) -> None:
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
