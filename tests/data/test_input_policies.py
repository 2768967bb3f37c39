"""The contract additions (unit_price, product_id, profit, discount, customer attributes on the
rows) and the ``input:`` policies (rows without a customer, duplicate rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vipml.config import InputConfig, config_from_dict
from vipml.data.schema import check_transactions, transaction_attributes, validate_transactions
from vipml.errors import ConfigError, SchemaError


def _lines(**extra) -> pd.DataFrame:
    base = {
        "customer_id": ["a", "a", "b", "b"],
        "timestamp": ["2024-01-02", "2024-01-03", "2024-02-03", "2024-02-04"],
    }
    return pd.DataFrame({**base, **extra})


def test_unit_price_gives_revenue_and_a_negative_quantity_is_a_return():
    report = check_transactions(_lines(quantity=[2, -1, 3, 1], unit_price=[4.5, 4.5, 2.0, 10.0]))
    assert report.ok
    assert report.frame["revenue"].tolist() == [9.0, -4.5, 6.0, 10.0]
    assert "revenue: quantity x unit_price (no revenue column" in " ".join(report.notes)


def test_revenue_wins_over_unit_price():
    report = check_transactions(
        _lines(revenue=[1.0, 2.0, 3.0, 4.0], quantity=[2, 1, 1, 1], unit_price=[9.0] * 4)
    )
    assert report.frame["revenue"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert "unit_price: not used (a revenue column is given)" in report.notes


def test_unit_price_without_quantity_is_a_problem_with_the_fix():
    with pytest.raises(SchemaError, match=r"unit_price: revenue = quantity x unit_price needs a "
                       r"quantity column too"):
        validate_transactions(_lines(unit_price=[1.0] * 4))


def test_missing_revenue_mentions_quantity_and_unit_price():
    with pytest.raises(SchemaError, match=r"missing required column 'revenue' .*or map quantity "
                       r"and unit_price \(revenue = quantity x unit_price\)"):
        validate_transactions(_lines())


def test_profit_gives_cost():
    report = check_transactions(
        _lines(revenue=[10.0, -5.0, 8.0, 4.0], profit=[3.0, -1.5, 8.0, None])
    )
    cost = report.frame["cost"].tolist()
    assert cost[:3] == [7.0, -3.5, 0.0] and np.isnan(cost[3])
    assert "cost: revenue - profit (no cost column)" in report.notes


def test_discount_gives_list_price_and_must_be_a_fraction():
    report = check_transactions(
        _lines(revenue=[80.0, 50.0, 30.0, 9.0], discount=[0.2, 0, 0.5, None])
    )
    list_price = report.frame["list_price"].tolist()
    assert list_price[:3] == [100.0, 50.0, 60.0] and np.isnan(list_price[3])
    with pytest.raises(SchemaError, match=r"discount: not a fraction in \[0, 1\) in 2 of 4 rows "
                       r"\(rows 1, 3; values 15.0, 1.0\): give the discount as a fraction of the "
                       r"list price, e.g. 0.15 for 15%"):
        validate_transactions(_lines(revenue=[1.0] * 4, discount=[15, 0.1, 1.0, 0.2]))


def test_product_id_is_kept_as_text():
    frame = validate_transactions(_lines(revenue=[1.0] * 4, product_id=["085", "85", None, "X"]))
    assert frame["product_id"].tolist() == ["085", "85", "unknown", "X"]


def test_customer_attributes_on_the_rows_are_kept_by_their_mapped_name():
    raw = _lines(revenue=[1.0] * 4, Land=["FR", "FR", "UK", None])
    policy = InputConfig(customer_attributes=("Land",))
    frame = validate_transactions(raw, policy=policy)
    assert transaction_attributes(frame) == ["Land"]
    assert frame["Land"].tolist() == ["FR", "FR", "UK", "unknown"]
    renamed = validate_transactions(raw, {"Land": "country"}, policy)  # listed by its own name
    assert transaction_attributes(renamed) == ["country"]


def test_unknown_or_contract_customer_attributes_are_problems():
    policy = InputConfig(customer_attributes=("Region", "revenue"))
    with pytest.raises(SchemaError) as err:
        validate_transactions(_lines(revenue=[1.0] * 4), policy=policy)
    assert err.value.problems == [
        "input.customer_attributes names 'Region' but the data have no such column (columns "
        "found: customer_id, timestamp, revenue): fix the name",
        "input.customer_attributes names 'revenue', which is the contract column 'revenue': "
        "list columns that describe the customer, such as a country or segment",
    ]


def test_rows_without_customer_are_an_error_by_default_with_the_policy_named():
    raw = _lines(revenue=[1.0, 2.0, 3.0, 4.0]).assign(customer_id=["a", None, " ", "b"])
    with pytest.raises(SchemaError, match=r"empty customer id in 2 of 4 rows \(rows 2, 3;.*set "
                       r"input.rows_without_customer: drop"):
        validate_transactions(raw)


def test_rows_without_customer_dropped_and_reported_with_their_revenue():
    raw = _lines(revenue=[1.0, 2.0, 3.0, 4.0]).assign(customer_id=["a", None, " ", "b"])
    report = check_transactions(raw, policy=InputConfig(rows_without_customer="drop"))
    assert report.frame["customer_id"].tolist() == ["a", "b"]
    assert (
        "input.rows_without_customer: drop: dropped 2 of 4 rows without a customer id (revenue "
        "5.00, 50.0% of all revenue)"
    ) in report.notes


def test_row_numbers_still_point_at_the_file_after_rows_are_dropped():
    raw = _lines(revenue=[1.0, 2.0, "x", 4.0]).assign(customer_id=[None, "a", "b", "b"])
    with pytest.raises(SchemaError, match=r"revenue: not a number in 1 of 3 rows \(rows 3;"):
        validate_transactions(raw, policy=InputConfig(rows_without_customer="drop"))


def test_duplicate_rows_kept_with_a_warning_or_dropped():
    raw = _lines(revenue=[1.0, 1.0, 3.0, 4.0])
    raw["timestamp"] = ["2024-01-02"] * 2 + ["2024-02-03"] * 2
    report = check_transactions(raw)
    assert len(report.frame) == 4
    assert report.warnings == [
        "1 of 4 rows are exact duplicates of another row: if they are not separate orders, drop "
        "them (set input.duplicate_rows: drop in the config)"
    ]
    dropped = check_transactions(raw, policy=InputConfig(duplicate_rows="drop"))
    assert len(dropped.frame) == 3 and not dropped.warnings
    assert "input.duplicate_rows: drop: dropped 1 of 4 rows that exactly repeat another row" in (
        dropped.notes
    )


def test_duplicates_compare_every_column_not_only_the_contract():
    raw = _lines(revenue=[1.0, 1.0, 3.0, 3.0], note=["x", "y", "z", "z"]).assign(
        timestamp="2024-01-02"
    )
    dropped = check_transactions(raw, policy=InputConfig(duplicate_rows="drop"))
    assert len(dropped.frame) == 3  # only the last two rows repeat each other whole


def test_header_only_and_everything_dropped_are_problems():
    empty = pd.DataFrame(columns=["customer_id", "timestamp", "revenue"])
    with pytest.raises(SchemaError, match=r"no data rows \(columns found: customer_id, timestamp, "
                       r"revenue\): the file holds a header only"):
        validate_transactions(empty)
    guests = _lines(revenue=[1.0] * 4).assign(customer_id=None)
    with pytest.raises(SchemaError, match="no rows left after the input policies"):
        validate_transactions(guests, policy=InputConfig(rows_without_customer="drop"))


def test_whole_decimal_ids_become_integers_and_text_ids_keep_leading_zeros():
    floats = validate_transactions(_lines(revenue=[1.0] * 4).assign(customer_id=[13085.0] * 4))
    assert floats["customer_id"].tolist() == [13085] * 4
    assert str(floats["customer_id"].dtype) == "int64"
    halves = validate_transactions(_lines(revenue=[1.0] * 4).assign(customer_id=[1.5] * 4))
    assert halves["customer_id"].tolist() == [1.5] * 4
    text = validate_transactions(_lines(revenue=[1.0] * 4).assign(customer_id=["00012398"] * 4))
    assert text["customer_id"].tolist() == ["00012398"] * 4


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"encoding": "klingon"}, r"input.encoding: 'klingon' is not a text encoding"),
        ({"separator": ";;"}, r"input.separator: ';;' is not one character"),
        ({"timestamp_format": "dd/mm/yyyy"}, r"input.timestamp_format: 'dd/mm/yyyy' is not a "
                                             r"strftime format"),
        ({"rows_without_customer": "ignore"}, r"input.rows_without_customer: 'ignore' is not one "
                                              r"of 'error', 'drop'"),
        ({"duplicate_rows": "merge"}, r"input.duplicate_rows: 'merge' is not one of 'keep', "
                                      r"'drop'"),
    ],
)
def test_input_config_rejects_bad_values(section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({"input": section})


def test_tab_separator_spelled_out():
    assert config_from_dict({"input": {"separator": "tab"}}).input.csv_separator == "\t"


def test_thousands_separators_read_and_decimal_commas_refused():
    frame = validate_transactions(_lines(revenue=["1,234.50", "12", "-2,000", "3.5"]))
    assert frame["revenue"].tolist() == [1234.5, 12.0, -2000.0, 3.5]
    with pytest.raises(SchemaError, match=r"revenue: a decimal comma \(or a misplaced thousands "
                       r"separator\) in 2 of 4 rows \(rows 1, 3; values '3,5', '12,50'\): export "
                       r"numbers with a decimal point"):
        validate_transactions(_lines(revenue=["3,5", "12", "12,50", "1,000"]))
