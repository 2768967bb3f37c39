"""Every validation rule, with its message pinned."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames

from vipml.data.schema import (
    DataQualityWarning,
    check_transactions,
    validate_customers,
    validate_events,
    validate_transactions,
)
from vipml.errors import SchemaError


def good_tx(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"c{i % 3}" for i in range(n)],
            "timestamp": [f"2024-01-{i + 1:02d}" for i in range(n)],
            "revenue": [10.0 + i for i in range(n)],
        }
    )


def test_clean_input_is_typed():
    clean = validate_transactions(good_tx())
    assert list(clean.columns) == ["customer_id", "timestamp", "revenue"]
    assert str(clean["timestamp"].dtype) == "datetime64[ns]"
    assert clean["revenue"].dtype == np.float64


def test_missing_required_column_lists_columns_found():
    with pytest.raises(
        SchemaError,
        match=r"missing required column 'revenue' \(columns found: customer_id, timestamp\): "
        r"rename it, or map your name to it",
    ):
        validate_transactions(good_tx().drop(columns="revenue"))


def test_column_mapping_renames_user_columns():
    tx = good_tx().rename(columns={"customer_id": "client", "revenue": "amount"})
    clean = validate_transactions(tx, {"client": "customer_id", "amount": "revenue"})
    assert clean["revenue"].sum() == pytest.approx(75.0)


def test_mapping_to_absent_column_is_reported():
    with pytest.raises(SchemaError, match=r"column mapping names 'amt' .* no such column"):
        validate_transactions(good_tx().drop(columns="revenue"), {"amt": "revenue"})


def test_unparseable_timestamps_counted_with_examples():
    tx = good_tx()
    tx.loc[[1, 4], "timestamp"] = ["yesterday", "2024-13-45"]
    with pytest.raises(
        SchemaError,
        match=r"timestamp: unparseable timestamp in 2 of 6 rows \(rows 2, 5; values "
        r"'yesterday', '2024-13-45'\): use ISO dates",
    ):
        validate_transactions(tx)


def test_non_numeric_revenue():
    tx = good_tx()
    tx["revenue"] = tx["revenue"].astype(object)
    tx.loc[2, "revenue"] = "$12"
    with pytest.raises(
        SchemaError, match=r"revenue: not a number in 1 of 6 rows \(rows 3; values '\$12'\)"
    ):
        validate_transactions(tx)


def test_missing_revenue():
    tx = good_tx()
    tx.loc[0, "revenue"] = np.nan
    with pytest.raises(SchemaError, match=r"revenue: missing revenue in 1 of 6 rows \(rows 1;"):
        validate_transactions(tx)


def test_empty_customer_ids():
    tx = good_tx()
    tx.loc[[0, 3], "customer_id"] = ["", None]
    with pytest.raises(
        SchemaError, match=r"customer_id: empty customer id in 2 of 6 rows \(rows 1, 4;"
    ):
        validate_transactions(tx)


def test_mixed_time_zones():
    tx = good_tx()
    tx.loc[[0, 1], "timestamp"] = ["2024-01-01T10:00:00+02:00", "2024-01-02T10:00:00Z"]
    with pytest.raises(
        SchemaError,
        match=r"timestamp: a time zone other than the most common one .* in 2 of 6 rows "
        r".*mixed time zones: convert every timestamp to one zone",
    ):
        validate_transactions(tx)


def test_single_time_zone_is_accepted():
    tx = good_tx()
    tx["timestamp"] = tx["timestamp"] + "T12:00:00+01:00"
    clean = validate_transactions(tx)
    assert clean["timestamp"].iloc[0] == pd.Timestamp("2024-01-01 12:00")


def test_unknown_event_kinds():
    events = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "timestamp": ["2024-01-01"] * 3,
            "kind": ["review", "complaint", "tweet"],
        }
    )
    with pytest.raises(
        SchemaError,
        match=r"kind: unknown event kind in 2 of 3 rows \(rows 2, 3; values 'complaint', "
        r"'tweet'\): use one of support_ticket, referral, review, ugc",
    ):
        validate_events(events)


def test_customers_need_unique_ids():
    customers = pd.DataFrame({"customer_id": [1, 1, 2], "region": ["n", "s", "e"]})
    with pytest.raises(SchemaError, match=r"customer id listed more than once in 2 of 3 rows"):
        validate_customers(customers)


def test_every_problem_reported_at_once():
    tx = good_tx()
    tx["revenue"] = tx["revenue"].astype(object)
    tx.loc[0, "customer_id"] = ""
    tx.loc[1, "timestamp"] = "not a date"
    tx.loc[2, "revenue"] = "abc"
    with pytest.raises(SchemaError, match="3 problems found") as info:
        validate_transactions(tx)
    assert len(info.value.problems) == 3


def test_duplicated_rows_are_a_warning():
    tx = pd.concat([good_tx(), good_tx().head(2)], ignore_index=True)
    with pytest.warns(DataQualityWarning, match=r"2 of 8 rows are exact duplicates"):
        validate_transactions(tx)


def test_is_return_and_optional_numbers():
    tx = good_tx()
    tx["is_return"] = ["no", "yes", "0", "1", "true", "maybe"]
    tx["cost"] = ["1", "2", "x", "4", "5", "6"]
    report = check_transactions(tx)
    assert any(p.startswith("is_return: not true/false in 1 of 6 rows") for p in report.problems)
    assert any(p.startswith("cost: not a number in 1 of 6 rows") for p in report.problems)


_cells = st.one_of(
    st.none(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.booleans(),
    st.sampled_from(["2024-01-01", "2024-01-01T00:00+05:00", "Z", "", "1e400", "20240101"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data_frames(
        columns=[
            column("customer_id", elements=_cells, dtype=object),
            column("timestamp", elements=_cells, dtype=object),
            column("revenue", elements=_cells, dtype=object),
            column("cost", elements=_cells, dtype=object),
            column("is_return", elements=_cells, dtype=object),
        ]
    ),
    st.sets(st.sampled_from(["customer_id", "timestamp", "revenue", "cost", "is_return"])),
)
def test_validator_raises_only_schema_errors(frame, dropped):
    frame = frame.drop(columns=list(dropped))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            validate_transactions(frame)
        except SchemaError:
            pass
