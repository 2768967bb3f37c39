"""The timestamp reader: one format decided on the whole column, or a problem; never a guess."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vipml.data.dates import CANDIDATE_FORMATS, parse_timestamps


def parse(values, fmt: str = "auto", required: bool = True, **series):
    """Parse ``values``; return (parsed, note, problems)."""
    raw = values if isinstance(values, pd.Series) else pd.Series(values, **series)
    problems: list[str] = []
    parsed, note = parse_timestamps(raw, "timestamp", problems, fmt=fmt, required=required)
    assert str(parsed.dtype) == "datetime64[ns]"
    assert parsed.index.equals(raw.index)
    return parsed, note, problems


def only(problems: list[str]) -> str:
    assert len(problems) == 1, problems
    return problems[0]


# --- auto: one reading --------------------------------------------------------------------


def test_uk_day_first_is_read_day_first():
    parsed, note, problems = parse(["01/12/2009 17:28", "13/12/2009 09:05", "02/01/2010 10:00"])
    assert problems == []
    assert parsed[0] == pd.Timestamp("2009-12-01 17:28")  # the first of December
    assert parsed[2] == pd.Timestamp("2010-01-02 10:00")
    assert note == (
        "timestamp: read as day-first dates '%d/%m/%Y %H:%M' (1 row has a day above 12, so "
        "month-first cannot be meant)"
    )


def test_us_month_first_is_read_month_first():
    values = ["12/01/2009", "12/31/2009", "01/02/2010", "12/31/2009"]
    parsed, note, problems = parse(values)
    assert problems == []
    assert (
        parsed.tolist()
        == pd.to_datetime(["2009-12-01", "2009-12-31", "2010-01-02", "2009-12-31"]).tolist()
    )
    assert note == (
        "timestamp: read as month-first dates '%m/%d/%Y' (2 rows have a day above 12, so "
        "day-first cannot be meant)"
    )


def test_twelve_hour_clock_and_dashes():
    parsed, note, problems = parse(["01-02-2010 10:00 PM", "13-02-2010 1:05 am"])
    assert problems == []
    assert parsed.tolist() == [pd.Timestamp("2010-02-01 22:00"), pd.Timestamp("2010-02-13 01:05")]
    assert "day-first dates '%d-%m-%Y %I:%M %p'" in note


def test_dotted_two_digit_years():
    parsed, note, _ = parse(["31.12.09", "01.01.10"])
    assert parsed.tolist() == [pd.Timestamp("2009-12-31"), pd.Timestamp("2010-01-01")]
    assert "'%d.%m.%y'" in note


def test_year_first_with_slashes():
    parsed, note, problems = parse(["2024/03/31", "2024/03/31", "2024/04/01"])
    assert problems == []
    assert parsed.tolist() == pd.to_datetime(["2024-03-31", "2024-03-31", "2024-04-01"]).tolist()
    assert note == "timestamp: read as year-first dates '%Y/%m/%d'"


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["31 Dec 2009", "1 jan 2010"], "%d %b %Y"),
        (["31 December 2009", "1 January 2010"], "%d %B %Y"),
        (["Dec 31, 2009", "Jan 1, 2010"], "%b %d, %Y"),
        (["31-Dec-09 17:28", "01-Jan-10 09:00"], "%d-%b-%y %H:%M"),
    ],
)
def test_month_names(values, fmt):
    parsed, note, problems = parse(values)
    assert problems == []
    assert parsed[0].date() == datetime(2009, 12, 31).date()
    assert parsed[1].date() == datetime(2010, 1, 1).date()
    assert note == f"timestamp: read as dates with month names {fmt!r}"


def test_day_equal_to_month_everywhere_is_not_ambiguous():
    parsed, note, problems = parse(["05/05/2010", "11/11/2010"])
    assert problems == []
    assert parsed[0] == pd.Timestamp("2010-05-05")
    assert "day and month are equal in every value" in note


def test_surrounding_spaces_are_ignored():
    parsed, _, problems = parse(["  13/01/2010 ", "14/01/2010"])
    assert problems == []
    assert parsed[0] == pd.Timestamp("2010-01-13")


# --- auto: ISO and time zones ----------------------------------------------------------------


def test_iso_dates():
    parsed, note, problems = parse(["2024-01-05", "2024-01-06T14:05:00", "20240107"])
    assert problems == []
    assert parsed.tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06 14:05"),
        pd.Timestamp("2024-01-07"),
    ]
    assert note == "timestamp: ISO 8601 dates"


def test_one_time_zone_keeps_the_local_time():
    parsed, note, problems = parse(["2024-01-01T12:00:00+01:00", "2024-01-02T08:30:00+01:00"])
    assert problems == []
    assert parsed.tolist() == [pd.Timestamp("2024-01-01 12:00"), pd.Timestamp("2024-01-02 08:30")]
    assert note == "timestamp: ISO 8601 dates (time zone +01:00 dropped: local times kept)"


def test_utc_suffixes_are_one_zone():
    parsed, note, problems = parse(["2024-01-01T12:00:00Z", "2024-01-02T12:00:00+00:00"])
    assert problems == []
    assert parsed[0] == pd.Timestamp("2024-01-01 12:00")
    assert "time zone UTC dropped" in note


def test_mixed_time_zones_are_a_problem():
    values = ["2024-01-01T10:00:00+02:00", "2024-01-02T10:00:00Z", "2024-01-03", "2024-01-04"]
    _, _, problems = parse(values)
    assert only(problems) == (
        "timestamp: a time zone other than the most common one (no zone: 2, +02:00: 1, UTC: 1) "
        "in 2 of 4 rows (rows 1, 2; values '2024-01-01T10:00:00+02:00', '2024-01-02T10:00:00Z'): "
        "mixed time zones: convert every timestamp to one zone (e.g. UTC) first"
    )


def test_a_year_at_the_end_of_a_dashed_date_is_not_a_time_zone():
    parsed, _, problems = parse(["01-12-2009", "13-12-2009"])
    assert problems == []
    assert parsed[0] == pd.Timestamp("2009-12-01")


# --- auto: problems instead of guesses -------------------------------------------------------


def test_every_day_at_most_twelve_is_ambiguous():
    values = ["01/02/2010 10:00", "03/04/2010 11:00", "05/06/2010 12:00"]
    parsed, note, problems = parse(values)
    assert parsed.isna().all() and note is None
    assert only(problems) == (
        "timestamp: every value (3 rows) fits both day-first '%d/%m/%Y %H:%M' and month-first "
        "'%m/%d/%Y %H:%M' (no day above 12; values '01/02/2010 10:00', '03/04/2010 11:00', "
        "'05/06/2010 12:00'): set input.timestamp_format in the config to the one your export uses"
    )


def test_ambiguous_examples_are_limited_to_five():
    values = [f"{d:02d}/01/2010" for d in range(1, 13)]
    _, _, problems = parse(values)
    assert "values '01/01/2010', '02/01/2010', '03/01/2010', '04/01/2010', '05/01/2010', ...)" in (
        only(problems)
    )


def test_iso_mixed_with_day_first_is_a_problem():
    parsed, note, problems = parse(["13/01/2010", "14/01/2010", "2010-01-15"])
    assert parsed.isna().all() and note is None
    assert only(problems) == (
        "timestamp: a date format other than the most common one (day-first '%d/%m/%Y': 2 rows, "
        "e.g. '13/01/2010'; ISO 8601: 1 row, e.g. '2010-01-15') in 1 of 3 rows (rows 3; values "
        "'2010-01-15'): export every date in one format (ISO dates such as 2024-03-31 are "
        "safest), or set input.timestamp_format to the one your export uses"
    )


def test_day_first_only_and_month_first_only_values_are_a_problem():
    _, note, problems = parse(["13/01/2010", "25/01/2010", "01/13/2010", "05/06/2010"])
    assert note is None
    assert re.fullmatch(
        r"timestamp: a date format other than the most common one \(day-first '%d/%m/%Y': 3 "
        r"rows, e\.g\. '13/01/2010'; month-first '%m/%d/%Y': 1 row, e\.g\. '01/13/2010'\) in 1 "
        r"of 4 rows \(rows 3; values '01/13/2010'\): export every date in one format .*",
        only(problems),
    )


def test_a_rare_format_outside_the_sample_is_still_found():
    dates = pd.date_range("2000-01-01", periods=5000, freq="D").strftime("%d/%m/%Y").tolist()
    # position 2502 is not in the screening sample: the format is found among the values left
    values = dates[:2502] + ["2010/01/13"] + dates[2502:]
    _, note, problems = parse(values)
    assert note is None
    assert "year-first '%Y/%m/%d': 1 row, e.g. '2010/01/13'" in only(problems)
    assert "(rows 2503; values '2010/01/13')" in problems[0]


def test_unparseable_values_keep_the_old_message():
    values = ["2024-01-01", "yesterday", "2024-01-03", "2024-01-04", "2024-13-45", "2024-01-06"]
    parsed, note, problems = parse(values)
    assert note == "timestamp: ISO 8601 dates"
    assert parsed.isna().tolist() == [False, True, False, False, True, False]
    assert only(problems) == (
        "timestamp: unparseable timestamp in 2 of 6 rows (rows 2, 5; values 'yesterday', "
        "'2024-13-45'): use ISO dates such as 2024-03-31 or 2024-03-31T14:05:00, or set "
        "input.timestamp_format"
    )


def test_unparseable_next_to_day_first_names_the_reading():
    parsed, note, problems = parse(["13/01/2010", "32/01/2010", "02/01/2010"])
    assert parsed.tolist()[::2] == [pd.Timestamp("2010-01-13"), pd.Timestamp("2010-01-02")]
    assert "day-first" in note
    assert only(problems).endswith(
        "or set input.timestamp_format (the other rows read as day-first '%d/%m/%Y')"
    )


def test_dates_outside_the_nanosecond_range_are_unparseable():
    parsed, _, problems = parse(["2024-01-01", "3000-01-01"])
    assert parsed.isna().tolist() == [False, True]
    assert only(problems).startswith(
        "timestamp: unparseable timestamp in 1 of 2 rows (rows 2; values '3000-01-01'): use ISO"
    )
    assert "dates must lie between 1677-09-22 and 2262-04-11" in problems[0]


def test_rows_are_numbered_from_the_index():
    raw = pd.Series(["2024-01-01", "soon"], index=[10, 11])
    parsed, _, problems = parse(raw)
    assert parsed.index.tolist() == [10, 11]
    assert "(rows 12; values 'soon')" in only(problems)


# --- missing values, numbers, datetimes, booleans --------------------------------------------


def test_missing_values_are_a_problem_when_required():
    parsed, note, problems = parse(["2024-01-01", None, "  ", np.nan])
    assert note == "timestamp: ISO 8601 dates"
    assert parsed.isna().tolist() == [False, True, True, True]
    assert only(problems) == (
        "timestamp: missing timestamp in 3 of 4 rows (rows 2, 3, 4; values nan, '  ', nan): "
        "drop these rows or fill in the date"
    )


def test_missing_values_are_allowed_when_not_required():
    parsed, _, problems = parse(["2024-01-01", None], required=False)
    assert problems == [] and parsed.isna().tolist() == [False, True]


def test_every_value_missing_decides_nothing():
    parsed, note, problems = parse([None, None], dtype=object, required=False)
    assert parsed.isna().all() and note is None and problems == []


def test_yyyymmdd_numbers():
    parsed, note, problems = parse([19970101, 19970102, 19980630])
    assert problems == []
    assert parsed.tolist() == pd.to_datetime(["1997-01-01", "1997-01-02", "1998-06-30"]).tolist()
    assert note == "timestamp: read as YYYYMMDD numbers"


def test_other_numbers_are_unparseable():
    parsed, _, problems = parse([19970101.0, 1.5, np.nan, 19971332])
    assert parsed.isna().tolist() == [False, True, True, True]
    assert problems[0].startswith(
        "timestamp: unparseable timestamp in 2 of 4 rows (rows 2, 4; values 1.5, 19971332.0): "
        "use ISO dates"
    )
    assert "numbers are read only as YYYYMMDD" in problems[0]
    assert problems[1].startswith("timestamp: missing timestamp in 1 of 4 rows (rows 3;")


def test_datetimes_pass_through_as_naive_nanoseconds():
    raw = pd.Series(pd.to_datetime(["2024-01-01 10:00", "2024-06-01 10:00"]).as_unit("s"))
    parsed, note, problems = parse(raw.dt.tz_localize("Europe/Paris"))
    assert problems == [] and note is None
    assert parsed.tolist() == raw.tolist()  # the local wall time is kept


def test_true_false_values_are_not_dates():
    parsed, note, problems = parse([True, False, True])
    assert parsed.isna().all() and note is None
    assert only(problems) == (
        "timestamp: holds true/false values, not dates (3 rows): give dates such as 2024-03-31 "
        "or 2024-03-31T14:05:00"
    )


def test_mixed_python_objects():
    raw = pd.Series([20240101, "20240102", True, None, pd.Timestamp("2024-01-03")], dtype=object)
    parsed, _, problems = parse(raw)
    assert parsed.tolist()[:2] == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    assert parsed[4] == pd.Timestamp("2024-01-03")
    assert problems[0].startswith("timestamp: unparseable timestamp in 1 of 5 rows (rows 3; ")


# --- an explicit format ----------------------------------------------------------------------


def test_explicit_format_resolves_the_ambiguous_case():
    values = ["01/02/2010 10:00", "03/04/2010 11:00"]
    parsed, note, problems = parse(values, fmt="%m/%d/%Y %H:%M")
    assert problems == []
    assert parsed.tolist() == [pd.Timestamp("2010-01-02 10:00"), pd.Timestamp("2010-03-04 11:00")]
    assert note == "timestamp: read with input.timestamp_format '%m/%d/%Y %H:%M'"


def test_explicit_format_reports_rows_it_cannot_read():
    parsed, _, problems = parse(["31.12.2009", "2010-01-01", "01.01.2010"], fmt="%d.%m.%Y")
    assert parsed.isna().tolist() == [False, True, False]
    assert only(problems) == (
        "timestamp: unparseable timestamp in 1 of 3 rows (rows 2; values '2010-01-01'): these do "
        "not match input.timestamp_format '%d.%m.%Y': fix these rows or the format"
    )


def test_explicit_format_applies_to_numbers():
    parsed, _, problems = parse([31122009, 1012010], fmt="%d%m%Y")
    assert problems == [] and parsed[0] == pd.Timestamp("2009-12-31")


def test_explicit_format_drops_a_zone_suffix_or_reads_it():
    values = ["01/12/2009 17:28 +0100", "13/12/2009 09:05 +0100"]
    parsed, note, problems = parse(values, fmt="%d/%m/%Y %H:%M")
    assert problems == [] and parsed[0] == pd.Timestamp("2009-12-01 17:28")
    assert note.endswith("(time zone +01:00 dropped: local times kept)")
    parsed, _, problems = parse(values, fmt="%d/%m/%Y %H:%M %z")
    assert problems == [] and parsed[0] == pd.Timestamp("2009-12-01 17:28")


@pytest.mark.parametrize("fmt", ["%Q", "%d/%m/%Y%", "mixed"])
def test_an_invalid_format_is_a_problem(fmt):
    parsed, note, problems = parse(["31.12.2009"], fmt=fmt)
    assert parsed.isna().all() and note is None
    assert only(problems).startswith(
        f"timestamp: input.timestamp_format {fmt!r} is not a format dates can be read with ("
    )


def test_candidates_are_exact_formats():
    assert "%d/%m/%Y %H:%M" in CANDIDATE_FORMATS and "%m/%d/%y" in CANDIDATE_FORMATS
    assert len(set(CANDIDATE_FORMATS)) == len(CANDIDATE_FORMATS)


# --- properties ------------------------------------------------------------------------------

_TRICKY = [
    "2024-01-01",
    "2024-01-01T00:00+05:00",
    "2024-01-01T00:00:00Z",
    "13/01/2024",
    "01/13/2024",
    "01/02/2024 10:00 PM",
    "31 Dec 2009",
    "Z",
    "+01:00",
    "1e400",
    "20240101",
    "99999999",
    "0001-01-01",
    "9999-12-31 23:59",
    "12:00",
    "",
]
_cells = st.one_of(
    st.none(),
    st.text(max_size=25),
    st.sampled_from(_TRICKY),
    st.from_regex(r"\A\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}( \d{1,2}:\d{2}(:\d{2})?( [AP]M)?)?\Z"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(_cells, max_size=30),
    fmt=st.sampled_from(["auto", "auto", "%d/%m/%Y", "%Y-%m-%d %z", "%Q"]),
    required=st.booleans(),
)
def test_random_text_never_raises_and_never_drops_a_value_silently(values, fmt, required):
    raw = pd.Series(values, dtype=object)
    parsed, note, problems = parse(raw, fmt=fmt, required=required)
    assert all(isinstance(p, str) for p in problems)
    assert note is None or isinstance(note, str)
    blank = raw.isna() | raw.map(lambda v: isinstance(v, str) and not v.strip())
    if (parsed.isna() & ~blank).any() or (required and blank.any()):
        assert problems


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)),
        min_size=1,
        max_size=40,
    ).filter(lambda ds: any(d.day > 12 for d in ds)),
    st.sampled_from(["%d/%m/%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y %I:%M:%S %p"]),
)
def test_day_first_round_trips_when_some_day_is_above_twelve(dates, fmt):
    text = [d.strftime(fmt) for d in dates]
    parsed, note, problems = parse(text)
    assert problems == []
    assert note.startswith(f"timestamp: read as day-first dates {fmt!r}")
    expected = pd.to_datetime(text, format=fmt)
    assert parsed.tolist() == list(expected)
