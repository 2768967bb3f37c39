"""The data contract on Spark reports what the pandas checks report (real Spark, local[2])."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyspark")

from vipml import spark as vs  # noqa: E402
from vipml.config import InputConfig  # noqa: E402
from vipml.data.schema import check_customers, check_events, check_transactions  # noqa: E402
from vipml.errors import SchemaError  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*PySpark does not yet fully support pandas:FutureWarning"),
]

#: column: what in N of M rows (rows ...; values ...): fix  (the rows only on pandas)
LINE = re.compile(
    r"^(\w+): (.+?) in ([\d,]+) of ([\d,]+) rows \((?:rows [^;]*; )?values .*?\): (.+)$"
)


def parts(line: str) -> tuple[str, ...]:
    """A problem line without its examples: (column, what, N, M, fix), or the line itself."""
    match = LINE.match(line)
    return match.groups() if match else (line,)


def same_report(pandas_report, spark_report) -> None:
    assert [parts(p) for p in spark_report.problems] == [parts(p) for p in pandas_report.problems]
    assert spark_report.warnings == pandas_report.warnings
    assert spark_report.notes == pandas_report.notes


def damaged() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", None, "  ", "b", "c", "c", "d", "e", "c", "c"],
            "timestamp": ["2024-01-02", "2024-01-03", "2024-01-04", "not a date", None, "",
                          "2024-02-30", "2024-01-05 10:00", "1500-01-01", "2024-01-05"],
            "revenue": ["10", "1,200.50", "x", "inf", "3,5", "3,5", "", None, "-1e400", "7"],
            "quantity": ["1", "2", "2", "1", "1", "1", "one", "1", "1", "1"],
            "cost": ["1", "2", "Infinity", "1", "1", "1", "1", "1", "1", "1"],
            "is_return": ["yes", "no", "maybe", "0", "", "", "1", "TRUE", None, "2"],
            "category": [" a ", None, "b", "b", "c", "c", "d", "e", "c", "c"],
        }
    )


def test_a_damaged_frame_reports_the_same_problems_on_spark_and_pandas(spark):
    raw = damaged()
    expected = check_transactions(raw)
    got = vs.check_transactions(spark.createDataFrame(raw))
    assert got.frame is None and expected.frame is None
    kinds = [parts(p)[:4] for p in got.problems]
    assert kinds == [
        ("customer_id", "empty customer id", "2", "10"),
        ("timestamp", "unparseable timestamp", "3", "10"),
        ("timestamp", "missing timestamp", "2", "10"),
        ("quantity", "not a number", "1", "10"),
        ("revenue", "a decimal comma (or a misplaced thousands separator)", "2", "10"),
        ("revenue", "not a number", "4", "10"),
        ("revenue", "missing revenue", "1", "10"),
        ("cost", "not a number", "1", "10"),
        ("is_return", "not true/false", "2", "10"),
    ]
    same_report(expected, got)
    # the fix names the date range when a date lies outside it, as pandas does
    assert "1677-09-22" in got.problems[1]
    # examples are the values (Spark rows have no order), the text otherwise the same
    assert "values 'not a date', '2024-02-30', '1500-01-01'" in got.problems[1]
    with pytest.raises(SchemaError, match="transactions: 9 problems found"):
        vs.validate_transactions(spark.createDataFrame(raw))


def test_typed_columns_report_the_same_problems(spark):
    raw = pd.DataFrame(
        {
            "customer_id": [1.0, np.nan, 3.0, 4.0],
            "timestamp": pd.to_datetime(["2024-01-02", None, "2024-01-03", "2024-01-04"]),
            "revenue": [1.0, np.inf, np.nan, -np.inf],
            "is_return": [1, 0, 2, 1],
        }
    )
    expected = check_transactions(raw)
    got = vs.check_transactions(spark.createDataFrame(raw))
    assert [parts(p)[:4] for p in got.problems] == [
        ("customer_id", "empty customer id", "1", "4"),
        ("timestamp", "missing timestamp", "1", "4"),
        ("revenue", "not a number", "2", "4"),
        ("revenue", "missing revenue", "1", "4"),
        ("is_return", "not true/false", "1", "4"),
    ]
    same_report(expected, got)
    flags = pd.DataFrame({"customer_id": [1], "timestamp": [True], "revenue": [False]})
    same_report(check_transactions(flags), vs.check_transactions(spark.createDataFrame(flags)))


def test_missing_columns_and_policies_are_reported_alike(spark):
    raw = damaged().drop(columns=["timestamp", "revenue", "quantity"]).assign(unit_price="2")
    policy = InputConfig(customer_attributes=("Country", "cost"))
    expected = check_transactions(raw, policy=policy)
    got = vs.check_transactions(spark.createDataFrame(raw), policy)
    assert got.problems[:2] == expected.problems[:2]
    assert got.problems[0].startswith("missing required column 'timestamp'")
    same_report(expected, got)
    empty = damaged().iloc[:0]
    schema = "customer_id string, timestamp string, revenue string"
    same_report(
        check_transactions(empty[["customer_id", "timestamp", "revenue"]]),
        vs.check_transactions(spark.createDataFrame([], schema)),
    )


def clean_raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", " b", " b", "c", "c"],
            "timestamp": ["2024-01-02", "2024-01-03 09:30", "2024-01-03 09:30",
                          "2024-01-04T10:00:00", "20240105"],
            "quantity": ["2", "1", "1", "3", "-1"],
            "unit_price": ["1,000.50", "2", "2", "3.5", "3.5"],
            "profit": [1.0, None, None, 2.0, 0.5],
            "discount": ["0.2", "0", "0", "0.5", None],
            "is_return": ["no", "yes", "yes", "", "1"],
            "category": ["books ", None, None, "music", "music"],
            "order_id": [1, 2, 2, 3, 4],
            "Country": ["UK", None, None, " FR", "FR"],
            "ignored": ["x", "y", "y", "z", "z"],
        }
    )


def collect(sdf) -> pd.DataFrame:
    with vs.quiet_pyspark():
        frame = sdf.toPandas()
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns]")
    return frame.sort_values(["customer_id", "timestamp", "order_id"]).reset_index(drop=True)


def test_a_clean_frame_passes_on_both_and_gives_the_same_frame(spark):
    policy = InputConfig(customer_attributes=("Country",))
    raw = clean_raw()
    expected = check_transactions(raw, policy=policy)
    got = vs.check_transactions(spark.createDataFrame(raw), policy)
    assert got.ok and expected.ok
    assert got.warnings == expected.warnings and len(got.warnings) == 1  # the repeated row
    same_report(expected, got)
    assert "revenue: quantity x unit_price" in " ".join(got.notes)
    want = expected.frame.sort_values(["customer_id", "timestamp", "order_id"])
    pd.testing.assert_frame_equal(
        collect(got.frame), want.reset_index(drop=True), check_dtype=False
    )
    assert got.frame.schema.simpleString() == (
        "struct<customer_id:string,timestamp:timestamp,revenue:double,order_id:bigint,"
        "cost:double,list_price:double,quantity:double,category:string,is_return:boolean,"
        "Country:string>"
    )
    with pytest.warns(UserWarning, match="1 of 5 rows are exact duplicates"):
        vs.validate_transactions(spark.createDataFrame(raw), policy)


@pytest.mark.parametrize(
    "policy",
    [
        InputConfig(rows_without_customer="drop"),
        InputConfig(rows_without_customer="drop", duplicate_rows="drop"),
        InputConfig(timestamp_format="%d/%m/%Y %H:%M", rows_without_customer="drop"),
    ],
    ids=["customers", "customers-and-duplicates", "format"],
)
def test_policy_drops_give_the_same_rows(spark, policy):
    raw = clean_raw().drop(columns=["profit", "discount"])
    raw.loc[len(raw)] = [None, "2024-01-09", "1", "5", "yes", "x", 9, "DE", "w"]
    raw.loc[len(raw)] = ["  ", "2024-01-09", "1", "5", "no", "x", 10, "DE", "w"]
    if policy.timestamp_format != "auto":
        stamps = pd.to_datetime(raw["timestamp"], format="mixed")
        raw["timestamp"] = stamps.dt.strftime("%-d/%m/%Y %H:%M")
    expected = check_transactions(raw, policy=policy)
    got = vs.check_transactions(spark.createDataFrame(raw), policy)
    assert expected.ok and got.ok, (expected.problems, got.problems)
    same_report(expected, got)
    assert got.notes[0].startswith("input.rows_without_customer: drop: dropped 2 of 7 rows")
    want = expected.frame.sort_values(["customer_id", "timestamp", "order_id"])
    pd.testing.assert_frame_equal(collect(got.frame), want.reset_index(drop=True),
                                  check_dtype=False)
    wrong = raw.assign(timestamp="2024-01-09")
    same_report(check_transactions(wrong, policy=policy),
                vs.check_transactions(spark.createDataFrame(wrong), policy))


def test_events_and_customers_are_checked_alike(spark):
    events = pd.DataFrame(
        {
            "customer_id": ["a", "", "b", "c"],
            "timestamp": ["2024-01-02", "2024-01-03", "soon", "2024-01-05"],
            "kind": ["review", "Referral", "call", None],
            "cost": ["1", None, "x", "2"],
        }
    )
    same_report(check_events(events), vs.check_events(spark.createDataFrame(events)))
    assert len(vs.check_events(spark.createDataFrame(events)).problems) == 4
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", None],
            "signup_date": ["2024-01-02", None, "x", "2024-13-01"],
            "region": [" N", None, "S", "S"],
        }
    )
    same_report(check_customers(customers), vs.check_customers(spark.createDataFrame(customers)))
    good = customers.iloc[:2]
    got = vs.check_customers(spark.createDataFrame(good))
    assert got.ok
    pd.testing.assert_frame_equal(
        collect_plain(got.frame), check_customers(good).frame, check_dtype=False
    )
    assert check_customers(good).frame["region"].tolist() == ["N", "unknown"]  # as attributes


def collect_plain(sdf) -> pd.DataFrame:
    with vs.quiet_pyspark():
        frame = sdf.toPandas()
    frame["signup_date"] = frame["signup_date"].astype("datetime64[ns]")
    return frame.sort_values("customer_id").reset_index(drop=True)
