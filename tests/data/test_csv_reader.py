"""read_csv_file: real CSV exports read, or a SchemaError naming the line and the fix."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vipml.data.csv_reader import CsvRead, read_csv_file
from vipml.errors import SchemaError

NAMES = "customer_id,name,revenue\n1,José,5.0\n2,Müller,7.5\n3,Zoë,1.25\n"


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


# --------------------------------------------------------------------------------------------
# files that read


def test_plain_utf8(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", NAMES))
    assert isinstance(read, CsvRead)
    assert read.frame["name"].tolist() == ["José", "Müller", "Zoë"]
    assert read.frame["revenue"].tolist() == [5.0, 7.5, 1.25]
    assert (read.encoding, read.separator, read.notes) == ("utf-8", ",", [])


def test_utf8_bom_is_stripped_from_the_first_column_name(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", b"\xef\xbb\xbf" + NAMES.encode()))
    assert list(read.frame.columns) == ["customer_id", "name", "revenue"]
    assert read.frame["customer_id"].tolist() == [1, 2, 3]
    assert read.encoding == "utf-8-sig"
    assert read.notes == ["encoding: utf-8-sig (UTF-8 with a byte order mark, stripped)"]


@pytest.mark.parametrize("explicit", ["utf-8", "utf-8-sig"])
def test_utf8_bom_with_an_explicit_encoding(tmp_path, explicit):
    path = write(tmp_path, "t.csv", b"\xef\xbb\xbf" + NAMES.encode())
    read = read_csv_file(path, encoding=explicit)
    assert read.frame.columns[0] == "customer_id"
    assert read.notes == []


def test_cp1252_names_read_in_auto(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", NAMES.encode("cp1252")))
    assert read.frame["name"].tolist() == ["José", "Müller", "Zoë"]
    assert read.encoding == "cp1252"
    assert read.notes == ["encoding: cp1252 (the file is not UTF-8: byte 0xe9 on line 2)"]


def test_latin1_when_cp1252_cannot_decode(tmp_path):
    data = NAMES.encode("latin-1") + b"4,Ana\x81,2.0\n"  # 0x81 is undefined in cp1252
    read = read_csv_file(write(tmp_path, "t.csv", data))
    assert read.frame["name"].tolist() == ["José", "Müller", "Zoë", "Ana\x81"]
    assert read.encoding == "latin-1"
    assert read.notes == [
        "encoding: latin-1 (the file is not UTF-8: byte 0xe9 on line 2; "
        "not cp1252: byte 0x81 on line 5)"
    ]


def test_non_utf8_byte_after_the_detection_prefix(tmp_path):
    rows = "".join(f"{i},Ana,1.0\n" for i in range(120_000))  # about 1.3 MB of ASCII
    data = ("customer_id,name,revenue\n" + rows).encode() + "9,Zoë,2.0\n".encode("cp1252")
    read = read_csv_file(write(tmp_path, "t.csv", data))
    assert read.encoding == "cp1252"
    assert read.frame["name"].iloc[-1] == "Zoë"
    assert read.notes == ["encoding: cp1252 (the file is not UTF-8: byte 0xeb on line 120002)"]
    # and a cp1252-undefined byte after the prefix falls back to latin-1
    data = ("customer_id,name,revenue\n1,José,1.0\n" + rows).encode("cp1252") + b"9,\x81,2\n"
    read = read_csv_file(write(tmp_path, "u.csv", data))
    assert read.encoding == "latin-1"
    assert read.frame["name"].iloc[0] == "José"
    assert "not cp1252: byte 0x81 on line 120003" in read.notes[0]


def test_utf16_with_a_byte_order_mark(tmp_path):
    data = NAMES.replace(",", "\t").encode("utf-16")  # Excel's "Unicode text"
    read = read_csv_file(write(tmp_path, "t.txt", data))
    assert read.frame["name"].tolist() == ["José", "Müller", "Zoë"]
    assert (read.encoding, read.separator) == ("utf-16", "\t")


@pytest.mark.parametrize(("sep", "shown"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_separator_is_sniffed(tmp_path, sep, shown):
    data = NAMES.replace(",", sep).replace("5.0", "5,0")  # a decimal comma too
    read = read_csv_file(write(tmp_path, "t.csv", data))
    assert read.separator == sep
    assert list(read.frame.columns) == ["customer_id", "name", "revenue"]
    assert read.frame["name"].tolist() == ["José", "Müller", "Zoë"]
    assert read.notes == [f"separator: {shown} (detected)"]


def test_tsv_reads_tab_by_default(tmp_path):
    read = read_csv_file(write(tmp_path, "t.tsv", NAMES.replace(",", "\t")))
    assert read.separator == "\t"
    assert read.frame.shape == (3, 3)


def test_comma_preferred_and_quoted_separators_ignored(tmp_path):
    data = 'a,b;c\n1,"x;y"\n2,"z;w"\n'  # ';' splits the header in 2 too, but not the rows
    read = read_csv_file(write(tmp_path, "t.csv", data))
    assert read.separator == ","
    assert read.frame["b;c"].tolist() == ["x;y", "z;w"]


def test_separator_given_by_name(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", NAMES.replace(",", "\t")), separator="tab")
    assert read.separator == "\t"
    assert read.notes == []


def test_one_column_file(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", "customer_id\n1\n2\n"))
    assert read.frame["customer_id"].tolist() == [1, 2]


def test_text_columns_keep_values_as_written(tmp_path):
    data = "customer_id,revenue,code\n00012398,1.5,7\n12398.0,2,8\n,3,9\n"
    read = read_csv_file(write(tmp_path, "t.csv", data), text_columns=["customer_id", "absent"])
    assert read.frame["customer_id"].tolist()[:2] == ["00012398", "12398.0"]
    assert pd.isna(read.frame["customer_id"].iloc[2])
    assert read.frame["customer_id"].dtype == "str"
    assert read.frame["revenue"].tolist() == [1.5, 2.0, 3.0]  # inferred as before
    assert read.frame["code"].tolist() == [7, 8, 9]


def test_empty_text_column_is_still_text(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", "id,x\n,1\n,2\n"), text_columns=["id"])
    assert read.frame["id"].dtype == "str"


def test_gzip(tmp_path):
    path = write(tmp_path, "t.csv.gz", gzip.compress(NAMES.replace(",", ";").encode("cp1252")))
    read = read_csv_file(path)
    assert read.frame["name"].tolist() == ["José", "Müller", "Zoë"]
    assert (read.encoding, read.separator) == ("cp1252", ";")


def test_columns_subset(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", NAMES), columns=["revenue", "customer_id"])
    assert list(read.frame.columns) == ["customer_id", "revenue"]


def test_duplicate_and_empty_header_names_are_read(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", "a,a,\n1,2,3\n"))
    assert list(read.frame.columns) == ["a", "a.1", "Unnamed: 2"]


def test_rows_with_fewer_fields_read_as_missing(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", "a,b,c\n1,2,3\n4,5\n"))
    assert read.frame["c"].isna().tolist() == [False, True]


def test_separator_ending_every_line(tmp_path):
    read = read_csv_file(write(tmp_path, "t.csv", "a,b,c\n1,2,3,\n4,5,6,\n"))
    assert read.frame.to_dict("list") == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}


def test_crlf_and_quoted_newlines(tmp_path):
    data = b'a,b\r\n1,"two\r\nlines"\r\n2,x\r\n'
    read = read_csv_file(write(tmp_path, "t.csv", data))
    assert read.frame["a"].tolist() == [1, 2]


# --------------------------------------------------------------------------------------------
# files that do not read: one SchemaError each


def test_missing_file(tmp_path):
    with pytest.raises(SchemaError, match=r"nope\.csv does not exist: check the path"):
        read_csv_file(tmp_path / "nope.csv")


def test_folder(tmp_path):
    with pytest.raises(SchemaError, match="is a folder, not a CSV file"):
        read_csv_file(tmp_path)


def test_empty_file(tmp_path):
    path = write(tmp_path, "x.csv", b"")
    with pytest.raises(SchemaError, match=r"x\.csv is empty \(0 bytes\): export the table again"):
        read_csv_file(path, table="transactions")


@pytest.mark.parametrize(
    ("data", "what"),
    [(b"  \r\n\n", "only whitespace, 5 bytes"), (b"\xef\xbb\xbf", "only a byte order mark")],
)
def test_whitespace_or_bom_only_file(tmp_path, data, what):
    path = write(tmp_path, "x.csv", data)
    with pytest.raises(SchemaError, match=rf"x\.csv is empty \({what}") as caught:
        read_csv_file(path)
    assert caught.value.table == "x.csv"


def test_empty_gzip(tmp_path):
    path = write(tmp_path, "x.csv.gz", gzip.compress(b""))
    with pytest.raises(SchemaError, match=r"is empty \(0 bytes once decompressed\)"):
        read_csv_file(path)


def test_header_only(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,timestamp,revenue\n")
    with pytest.raises(
        SchemaError,
        match=r"x\.csv has a header \(customer_id, timestamp, revenue\) but no data rows: "
        "export the table again with its data rows",
    ) as caught:
        read_csv_file(path, table="transactions")
    assert caught.value.table == "transactions"


def test_explicit_wrong_encoding_names_the_line_and_byte(tmp_path):
    path = write(tmp_path, "x.csv", NAMES.encode("cp1252"))
    with pytest.raises(
        SchemaError,
        match=r"x\.csv is not utf-8: byte 0xe9 on line 2 cannot be decoded: "
        r"set input\.encoding: cp1252 in the config \(or latin-1, or auto\)",
    ):
        read_csv_file(path, encoding="utf-8")


def test_explicit_cp1252_on_an_undefined_byte(tmp_path):
    path = write(tmp_path, "x.csv", b"a,b\n1,2\n3,\x81\n")
    with pytest.raises(SchemaError, match=r"not cp1252: byte 0x81 on line 3 .*latin-1"):
        read_csv_file(path, encoding="cp1252")


@pytest.mark.parametrize("encoding", ["klingon", "hex"])
def test_unknown_encoding(tmp_path, encoding):
    path = write(tmp_path, "x.csv", NAMES)
    with pytest.raises(
        SchemaError, match=rf"unknown text encoding '{encoding}' for x\.csv: use one of auto, utf-8"
    ):
        read_csv_file(path, encoding=encoding)


def test_broken_quote_on_the_last_row(tmp_path):
    path = write(tmp_path, "x.csv", 'a,b,c\n1,"two\nlines",3\n\n4,5,6\n7,"8,9\n')
    with pytest.raises(
        SchemaError,
        match=r"x\.csv line 6: a quoted field opens here and is never closed \('7,\"8,9'\): "
        "close the quote",
    ):
        read_csv_file(path)


def test_ragged_row(tmp_path):
    path = write(tmp_path, "x.csv", 'a,b,c\n1,"two\nlines",3\n\n4,5,6\n7,8,9,10\n')
    with pytest.raises(
        SchemaError,
        match=r"x\.csv line 6 has 4 fields where the header has 3 \('7,8,9,10'\): "
        r"quote values that contain the separator \(','\)",
    ):
        read_csv_file(path)


def test_ragged_first_row_is_not_read_as_an_index(tmp_path):
    path = write(tmp_path, "x.csv", "a,b,c\n1,2,3,4\n5,6,7\n")
    with pytest.raises(SchemaError, match=r"x\.csv line 2 has 4 fields where the header has 3"):
        read_csv_file(path)


def test_ragged_row_in_a_cp1252_semicolon_file(tmp_path):
    data = "a;b\nJosé;1\nZoë;2;3\n".encode("cp1252")
    path = write(tmp_path, "x.csv", data)
    with pytest.raises(
        SchemaError, match=r"line 3 has 3 fields where the header has 2 \('Zoë;2;3'\)"
    ):
        read_csv_file(path)


@pytest.mark.parametrize(
    ("data", "shown", "config"),
    [
        ("a;b;c\n1;2;3\n", "';'", "';'"),
        ("a;b\n1,5;2,5\n", "';'", "';'"),  # the rows split in two by ','
        ("a\tb\n1\t2\n", "tab", '"\\t"'),
        ("a|b\n1|2\n", "'|'", "'|'"),
    ],
)
def test_forced_wrong_separator(tmp_path, data, shown, config):
    path = write(tmp_path, "x.csv", data)
    column = data.split("\n")[0]
    with pytest.raises(SchemaError) as caught:
        read_csv_file(path, separator=",")
    assert caught.value.problems == [
        f"x.csv was read as one column ({column!r}): the separator looks like {shown}: "
        f"set input.separator: {config} in the config"
    ]


def test_comma_file_read_with_semicolon(tmp_path):
    path = write(tmp_path, "x.csv", NAMES)
    with pytest.raises(SchemaError, match="the separator looks like ','"):
        read_csv_file(path, separator=";")


def test_no_consistent_separator(tmp_path):
    path = write(tmp_path, "x.csv", "a;b;c\n1;2;3;4;5\n6;7;8;9\n")
    with pytest.raises(SchemaError, match=r"read as one column \('a;b;c'\).*looks like ';'"):
        read_csv_file(path)


def test_bad_separator(tmp_path):
    path = write(tmp_path, "x.csv", NAMES)
    with pytest.raises(SchemaError, match="separator ';;' for x.csv cannot be used"):
        read_csv_file(path, separator=";;")


def test_missing_column(tmp_path):
    path = write(tmp_path, "x.csv", NAMES)
    with pytest.raises(
        SchemaError,
        match=r"x\.csv has no column 'amount': its header has customer_id, name, revenue",
    ):
        read_csv_file(path, columns=["customer_id", "amount"])


def test_missing_column_with_the_wrong_separator(tmp_path):
    path = write(tmp_path, "x.csv", NAMES.replace(",", ";"))
    with pytest.raises(SchemaError, match="the separator looks like ';'"):
        read_csv_file(path, separator=",", columns=["customer_id"])


def test_gzip_named_csv(tmp_path):
    path = write(tmp_path, "x.csv", gzip.compress(NAMES.encode()))
    with pytest.raises(SchemaError, match=r"x\.csv is gzip-compressed: name it x\.csv\.gz"):
        read_csv_file(path)


def test_excel_named_csv(tmp_path):
    path = write(tmp_path, "x.csv", b"PK\x03\x04" + bytes(100))
    with pytest.raises(SchemaError, match="zip archive or an Excel workbook"):
        read_csv_file(path)


def test_damaged_gzip(tmp_path):
    path = write(tmp_path, "x.csv.gz", gzip.compress(NAMES.encode() * 2000)[:300])
    with pytest.raises(SchemaError, match=r"x\.csv\.gz could not be read as CSV \(.+\): check"):
        read_csv_file(path)


# --------------------------------------------------------------------------------------------
# anything in, a CsvRead or a SchemaError out

ENCODINGS = st.sampled_from(["auto", "utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "x"])
SEPARATORS = st.sampled_from(["auto", ",", ";", "\t", "|", "tab", '"', ";;", ""])


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One folder for all examples (hypothesis does not mix with function-scoped fixtures)."""
    return tmp_path_factory.mktemp("random")


def _read_or_schema_error(folder: Path, data: bytes, name: str, **options: object) -> None:
    path = folder / name
    path.write_bytes(data)
    try:
        read = read_csv_file(path, **options)
    except SchemaError as error:
        assert error.problems and all(p.strip() for p in error.problems)
        assert "\n" not in "".join(error.problems)
        return
    assert isinstance(read, CsvRead)
    assert len(read.frame) > 0 and len(read.frame.columns) > 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), encoding=ENCODINGS, separator=SEPARATORS)
def test_random_bytes_never_escape(folder, data, encoding, separator):
    _read_or_schema_error(folder, data, "random.csv", encoding=encoding, separator=separator)


CSV_TEXT = st.text(
    alphabet=st.sampled_from(list("abé1.0,;|\t\"\n\r 'Zë\x00")), max_size=200
) | st.lists(
    st.lists(st.sampled_from(["1", "a", '"x,y"', '"q', "", "2.5", 'b"c', "José"]), max_size=5),
    max_size=8,
).map(lambda rows: "\n".join(",".join(row) for row in rows))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=CSV_TEXT,
    codec=st.sampled_from(["utf-8", "cp1252", "utf-16", "utf-8-sig"]),
    encoding=ENCODINGS,
    separator=SEPARATORS,
    text_columns=st.sampled_from([(), ("a",), ("1", "x")]),
)
def test_random_csv_text_never_escapes(folder, text, codec, encoding, separator, text_columns):
    try:
        data = text.encode(codec)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    _read_or_schema_error(
        folder,
        data,
        "random.csv",
        encoding=encoding,
        separator=separator,
        text_columns=text_columns,
    )
