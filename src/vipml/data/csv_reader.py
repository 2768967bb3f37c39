"""Read a CSV export whatever its encoding and separator, or say exactly what is wrong with it.

:func:`read_csv_file` reads ``.csv``, ``.txt``, ``.tsv`` and compressed ``.csv.gz`` files with
pandas' C parser. In ``"auto"`` mode it picks the encoding (UTF-8, with or without a byte order
mark, then cp1252, then latin-1; UTF-16 when the file starts with its byte order mark) and the
separator (``,``, ``;``, tab or ``|``) and records each choice in :attr:`CsvRead.notes`.
Detection reads the first MiB of the file; the rest is streamed (to find the line of a bad
byte) only when pandas fails to decode it, so a file that decodes costs one ``pd.read_csv``.

Every failure is a :class:`~vipml.errors.SchemaError` naming the problem, the file line where it
is, and the fix: an empty file, a header without rows, bytes the encoding cannot decode, a quote
never closed, a row with more fields than the header, a file read as one column because of the
wrong separator, a requested column missing from the header.

Examples
--------
>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
>>> _ = path.write_bytes("id;name;revenue\\n00012;José;3,5\\n".encode("cp1252"))
>>> read = read_csv_file(path, text_columns=["id"])
>>> read.frame.to_dict("records")
[{'id': '00012', 'name': 'José', 'revenue': '3,5'}]
>>> read.encoding, read.separator
('cp1252', ';')
>>> read.notes
['encoding: cp1252 (the file is not UTF-8: byte 0xe9 on line 2)', "separator: ';' (detected)"]
>>> _ = path.write_text("a,b\\n1,2\\n3,4,5\\n")
>>> try:
...     read_csv_file(path)
... except SchemaError as error:
...     print(error.problems[0])  # doctest: +ELLIPSIS
t.csv line 3 has 3 fields where the header has 2 ('3,4,5'): quote values that contain...
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import re
import warnings
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from vipml.data.csv_separator import (
    Fail,
    choose_separator,
    csv_records,
    separator_label,
    separator_problem,
)
from vipml.errors import SchemaError, format_examples

__all__ = ["CsvRead", "read_csv_file"]

_PREFIX_BYTES = 1 << 20  # detection reads this much (decompressed) of the file
_CHUNK = 1 << 20
_BOM_UTF8 = codecs.BOM_UTF8
_BOM_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz"}
_VALID_ENCODINGS = "auto, utf-8, utf-8-sig, cp1252, latin-1, utf-16"
_FIX = (
    "check that it is a plain-text CSV export (open it in a text editor), "
    "or set input.encoding / input.separator in the config"
)
# what may escape pandas, the csv module, codecs or the file system on a malformed file
_READ_ERRORS = (
    ValueError,  # pandas.errors.ParserError and EmptyDataError, UnicodeDecodeError
    OSError,  # gzip.BadGzipFile too
    EOFError,  # a truncated .gz
    csv.Error,
    zlib.error,
    lzma.LZMAError,
    OverflowError,
)


@dataclass(frozen=True)
class CsvRead:
    """A CSV file read into a frame, with the choices that were made to read it.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows, with pandas' type inference except for the ``text_columns``.
    encoding : str
        The codec used, e.g. ``"utf-8"``, ``"utf-8-sig"``, ``"cp1252"``, ``"latin-1"``.
    separator : str
        The field separator used, e.g. ``","``, ``";"``, ``"\\t"``, ``"|"``.
    notes : list of str
        One line per choice ``"auto"`` made that differs from plain UTF-8 and ``,``.

    Examples
    --------
    >>> CsvRead(pd.DataFrame({"a": [1]}), "utf-8", ",").notes
    []
    """

    frame: pd.DataFrame
    encoding: str
    separator: str
    notes: list[str] = field(default_factory=list)


def read_csv_file(
    path: str | Path,
    *,
    encoding: str = "auto",
    separator: str = "auto",
    text_columns: Collection[str] = (),
    columns: list[str] | None = None,
    table: str | None = None,
) -> CsvRead:
    """Read a CSV (``.csv``, ``.txt``, ``.tsv``, ``.csv.gz``) file; raise SchemaError on any fault.

    Parameters
    ----------
    path : str or Path
        The file. ``.gz``, ``.bz2`` and ``.xz`` files are decompressed.
    encoding : str, default "auto"
        A Python codec name, or ``"auto"``: UTF-8 (a byte order mark is stripped), else cp1252
        when it decodes the whole file, else latin-1 (which decodes any bytes).
    separator : str, default "auto"
        One character (``"tab"`` is accepted for ``"\\t"``), or ``"auto"``: the first of ``,``
        ``;`` tab ``|`` (tab first for ``.tsv``) that splits the header and the first 50 rows
        into the same number (more than one) of fields.
    text_columns : collection of str, default ()
        Columns read as text exactly as written (``00012398`` keeps its zeros); names not in
        the file are ignored. Other columns get pandas' type inference.
    columns : list of str, optional
        Read only these columns; one missing from the header is an error.
    table : str, optional
        The table named in errors; the file name by default.

    Returns
    -------
    CsvRead
        The frame, the encoding and separator used, and notes on what ``"auto"`` chose.

    Raises
    ------
    SchemaError
        For every problem: the message names the file line at fault and the fix.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "orders.tsv"
    >>> _ = path.write_text("id\\tamount\\n007\\t2.5\\n")
    >>> read = read_csv_file(path, text_columns=["id"])
    >>> read.frame.to_dict("list"), read.notes
    ({'id': ['007'], 'amount': [2.5]}, ['separator: tab (.tsv file)'])
    """
    path = Path(path)
    table = table or path.name
    if isinstance(text_columns, str):
        text_columns = (text_columns,)
    try:
        return _read(path, encoding, separator, tuple(text_columns), columns, table)
    except SchemaError:
        raise
    except _READ_ERRORS as error:
        raise SchemaError(
            [f"{path.name} could not be read as CSV ({_one_line(error)}): {_FIX}"], table=table
        ) from error


# --------------------------------------------------------------------------------------------
# the read


def _read(
    path: Path,
    encoding: str,
    separator: str,
    text_columns: tuple[str, ...],
    columns: list[str] | None,
    table: str,
) -> CsvRead:
    name = path.name

    def fail(problem: str) -> SchemaError:
        return SchemaError([problem], table=table)

    if not path.exists():
        raise fail(f"{name} does not exist: check the path")
    if path.is_dir():
        raise fail(f"{name} is a folder, not a CSV file: point to the CSV file itself")
    compression = _COMPRESSIONS.get(path.suffix.lower())
    if compression is None:
        _check_not_binary(path, fail)
    prefix, complete = _read_prefix(path, compression)
    _check_not_empty(name, prefix, complete, compression, fail)

    auto_encoding = encoding.strip().lower() == "auto"
    failures: list[str] = []  # why "auto" passed over an encoding
    if auto_encoding:
        codec, failures = _detect_encoding(path, compression, prefix, complete)
    else:
        codec = _codec_name(encoding, name, fail)
        if codec == "utf-8" and prefix.startswith(_BOM_UTF8):
            codec = "utf-8-sig"

    while True:
        text = _decode_prefix(prefix, codec, complete)
        sep, sep_note = choose_separator(separator, path, text, complete, fail)
        _check_first_row(name, text, complete, sep, fail)
        try:
            frame = _read_frame(path, compression, codec, sep, text_columns, columns)
            break
        except UnicodeDecodeError as error:
            if not auto_encoding:
                bad = _first_undecodable(path, compression, codec)
                raise fail(_encoding_problem(name, codec, bad, error)) from error
            if codec == "latin-1":  # cannot happen: latin-1 decodes any bytes
                raise
            # the first MiB decoded, a later byte did not: try the next encoding
            codec, failures = _next_encoding(path, compression, prefix, complete, codec, failures)
        except pd.errors.EmptyDataError as error:
            raise fail(f"{name} is empty (no header row): {_EMPTY_FIX}") from error
        except pd.errors.ParserError as error:
            raise fail(_parser_problem(path, compression, codec, sep, text, error)) from error
        except ValueError as error:
            if "Usecols do not match" not in str(error) or columns is None:
                raise
            problem = separator_problem(name, text, sep) or _columns_problem(
                path, compression, codec, sep, columns
            )
            raise fail(problem) from error
    note = _encoding_note(codec, failures) if auto_encoding else None
    notes = [note] if note else []
    notes += [sep_note] if sep_note else []

    if len(frame.columns) == 1 and columns is None:
        one_column = separator_problem(name, text, sep, str(frame.columns[0]))
        if one_column:
            raise fail(one_column)
    if frame.empty and len(frame.columns) > 0:
        header = format_examples([_one_line_name(c) for c in frame.columns], limit=12)
        raise fail(
            f"{name} has a header ({header}) but no data rows: export the table again with "
            "its data rows (check the export's filters and date range)"
        )
    if len(frame.columns) == 0:
        raise fail(f"{name} has no columns to read: {_EMPTY_FIX}")
    return CsvRead(frame=frame, encoding=codec, separator=sep, notes=notes)


def _read_frame(
    path: Path,
    compression: str | None,
    codec: str,
    sep: str,
    text_columns: tuple[str, ...],
    columns: list[str] | None,
    nrows: int | None = None,
) -> pd.DataFrame:
    """One ``pd.read_csv`` with the C parser (pandas strips a UTF-8 byte order mark itself,
    and decodes UTF-8 fastest when told ``"utf-8"``)."""
    frame = _pandas_read(path, compression, codec, sep, text_columns, columns, nrows)
    for name in text_columns:
        if name in frame.columns and frame[name].dtype != "str":
            frame[name] = frame[name].astype("str")
    return frame


def _pandas_read(
    path: Path,
    compression: str | None,
    codec: str,
    sep: str,
    text_columns: tuple[str, ...],
    columns: list[str] | None,
    nrows: int | None,
) -> pd.DataFrame:
    with warnings.catch_warnings():
        # index_col=False: a first row with more fields than the header is not silently read
        # as an index (it is reported by _check_first_row); pandas warns when it drops the
        # empty field of a separator ending every line
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        return pd.read_csv(
            path,
            sep=sep,
            encoding="utf-8" if codec == "utf-8-sig" else codec,
            compression=compression,
            usecols=columns,
            # a converter keeps a value's text as written, like dtype=str, and reads 3x faster
            # (pandas 3.1, 3.3M unique ids: 1.3 s against 4.3 s); its all-empty column comes
            # back float, hence the cast below
            converters={name: str for name in text_columns} or None,
            index_col=False,
            nrows=nrows,
            engine="c",
            low_memory=False,
        )


# --------------------------------------------------------------------------------------------
# bytes


def _open_binary(path: Path, compression: str | None) -> BinaryIO:
    if compression == "gzip":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    if compression == "bz2":
        return bz2.open(path, "rb")  # type: ignore[return-value]
    if compression == "xz":
        return lzma.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _read_prefix(path: Path, compression: str | None) -> tuple[bytes, bool]:
    """The first ``_PREFIX_BYTES`` (decompressed) bytes, and whether they are the whole file."""
    with _open_binary(path, compression) as handle:
        prefix = handle.read(_PREFIX_BYTES)
        return prefix, len(prefix) < _PREFIX_BYTES or not handle.read(1)


def _chunks(path: Path, compression: str | None) -> Iterator[bytes]:
    with _open_binary(path, compression) as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _check_not_binary(path: Path, fail: Fail) -> None:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic.startswith(b"\x1f\x8b"):
        raise fail(
            f"{path.name} is gzip-compressed: name it {path.name}.gz (or decompress it) "
            "so it is decompressed before reading"
        )
    if magic == b"PK\x03\x04":
        raise fail(
            f"{path.name} is a zip archive or an Excel workbook, not a CSV file: "
            "save the sheet as CSV (or unzip the archive)"
        )


_EMPTY_FIX = "export the table again with its header row and data"


def _check_not_empty(
    name: str, prefix: bytes, complete: bool, compression: str | None, fail: Fail
) -> None:
    if not complete:
        return
    if not prefix:
        size = "0 bytes once decompressed" if compression else "0 bytes"
        raise fail(f"{name} is empty ({size}): {_EMPTY_FIX}")
    body = prefix.removeprefix(_BOM_UTF8)
    for bom in _BOM_UTF16:
        if prefix.startswith(bom) and len(prefix) % 2 == 0:
            body = prefix[2:].replace(b"\x00", b"")
    if not body.strip():
        what = "only whitespace" if body else "only a byte order mark"
        size = f"{len(prefix)} byte{'s' if len(prefix) != 1 else ''}"
        raise fail(f"{name} is empty ({what}, {size}): {_EMPTY_FIX}")


# --------------------------------------------------------------------------------------------
# encoding


def _codec_name(encoding: str, name: str, fail: Fail) -> str:
    """The canonical name of a text codec; SchemaError for an unknown or a bytes-only codec."""
    try:
        info = codecs.lookup(encoding.strip())
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise fail(
            f"unknown text encoding {encoding!r} for {name}: use one of {_VALID_ENCODINGS} "
            "(input.encoding in the config)"
        )
    return {"iso8859-1": "latin-1"}.get(info.name, info.name)


def _detect_encoding(
    path: Path, compression: str | None, prefix: bytes, complete: bool
) -> tuple[str, list[str]]:
    """The codec ``"auto"`` tries first, and why it passed over others.

    Only the prefix is checked here: a later byte the codec cannot decode surfaces as pandas'
    UnicodeDecodeError, and :func:`_next_encoding` is asked then. A file that decodes costs no
    pass over its bytes besides pandas' own.
    """
    if prefix.startswith(_BOM_UTF16) and _decodes(prefix, "utf-16", complete):
        return "utf-16", []
    if _decodes(prefix, "utf-8", complete):
        return ("utf-8-sig" if prefix.startswith(_BOM_UTF8) else "utf-8"), []
    return _next_encoding(path, compression, prefix, complete, "utf-8", [])


def _next_encoding(
    path: Path,
    compression: str | None,
    prefix: bytes,
    complete: bool,
    failed: str,
    failures: list[str],
) -> tuple[str, list[str]]:
    """The encoding to try after ``failed``: cp1252 unless it fails already, then latin-1."""
    failures = [*failures, _failure(failed, _first_undecodable(path, compression, failed))]
    if failed == "cp1252":
        return "latin-1", failures
    if _decodes(prefix, "cp1252", complete):
        return "cp1252", failures
    return _next_encoding(path, compression, prefix, complete, "cp1252", failures)


def _failure(codec: str, bad: tuple[int, bytes] | None) -> str:
    label = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16"}.get(codec, codec)
    return f"not {label}" + (f": {_where(bad)}" if bad else "")


def _encoding_note(codec: str, failures: list[str]) -> str | None:
    if failures:
        return f"encoding: {codec} (the file is {'; '.join(failures)})"
    if codec == "utf-8-sig":
        return "encoding: utf-8-sig (UTF-8 with a byte order mark, stripped)"
    if codec == "utf-16":
        return "encoding: utf-16 (the file starts with a UTF-16 byte order mark)"
    return None


def _decodes(data: bytes, codec: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(codec)().decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _where(bad: tuple[int, bytes]) -> str:
    line, data = bad
    return f"byte {_hex(data)} on line {line}"


def _hex(data: bytes) -> str:
    return " ".join(f"0x{b:02x}" for b in data[:4])


_ASCII_BASED = ("utf-8", "utf-8-sig", "cp1252", "iso8859-1", "latin-1", "ascii")


def _first_undecodable(path: Path, compression: str | None, codec: str) -> tuple[int, bytes] | None:
    """(1-based line, bytes) of the first bytes ``codec`` cannot decode; streams the file.

    Chunks of plain ASCII are only counted (about 0.02 s for 130 MB), not decoded.
    """
    decoder = codecs.getincrementaldecoder(codec)()
    ascii_based = codecs.lookup(codec).name in _ASCII_BASED
    lines = 0
    try:
        for chunk in _chunks(path, compression):
            if ascii_based and chunk.isascii() and not decoder.getstate()[0]:
                lines += _count_lines(chunk)
            else:
                lines += _count_lines(decoder.decode(chunk))
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        before = error.object[: error.start]
        text = codecs.getincrementaldecoder(codec)(errors="replace").decode(before)
        return lines + _count_lines(text) + 1, bytes(error.object[error.start : error.end])
    return None


def _count_lines(text: str | bytes) -> int:
    """Line breaks in ``text``: ``\\n``, ``\\r\\n`` or a lone ``\\r``."""
    if isinstance(text, str):
        return text.count("\n") + text.count("\r") - text.count("\r\n")
    return text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")


def _decode_prefix(prefix: bytes, codec: str, complete: bool) -> str:
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(prefix, final=complete)
    return text.removeprefix("\ufeff")


def _encoding_problem(
    name: str, codec: str, bad: tuple[int, bytes] | None, error: UnicodeDecodeError
) -> str:
    if codec == "cp1252":
        fix = "set input.encoding: latin-1 in the config (or auto)"
    else:
        fix = "set input.encoding: cp1252 in the config (or latin-1, or auto)"
    if bad is None:
        return f"{name} cannot be read as {codec} ({_one_line(error)}): {fix}"
    return f"{name} is not {codec}: {_where(bad)} cannot be decoded: {fix}"


# --------------------------------------------------------------------------------------------
# structure


def _check_first_row(name: str, text: str, complete: bool, sep: str, fail: Fail) -> None:
    """A first data row with more fields than the header (pandas would silently take the
    first column as the index, or drop the extra fields with ``index_col=False``)."""
    records = csv_records(text, complete, sep, 2)
    if len(records) < 2:
        return
    (_, header), (line, row) = records
    if len(row) > len(header) and any(value.strip() for value in row[len(header) :]):
        if len(header) == 1 and (problem := separator_problem(name, text, sep)):
            raise fail(problem)
        shown = _LINE_BREAK.split(text, maxsplit=line)[line - 1]
        raise fail(_ragged_problem(name, line, len(row), len(header), shown, sep))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_EXPECTED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _parser_problem(
    path: Path,
    compression: str | None,
    codec: str,
    sep: str,
    text: str,
    error: pd.errors.ParserError,
) -> str:
    name = path.name
    message = str(error)
    if match := _EXPECTED.search(message):
        expected, record, saw = (int(g) for g in match.groups())
        if expected == 1 and (problem := separator_problem(name, text, sep)):
            return problem
        line, shown = _record_start(path, compression, codec, sep, record)
        if line is None:
            return _ragged_problem(name, record, saw, expected, None, sep, exact=False)
        return _ragged_problem(name, line, saw, expected, shown, sep)
    if match := _EOF_QUOTE.search(message):
        record = int(match.group(1)) + 1  # pandas counts rows from 0 (the header)
        line, shown = _record_start(path, compression, codec, sep, record)
        where = f"line {line}" if line is not None else f"row {record}"
        context = f" ({shown!r})" if shown is not None else ""
        return (
            f"{name} {where}: a quoted field opens here and is never closed{context}: close "
            'the quote, or double each quote character inside a quoted value ("")'
        )
    return f"{name} could not be parsed ({_one_line(error)}): {_FIX}"


def _ragged_problem(
    name: str,
    line: int,
    saw: int,
    expected: int,
    shown: str | None,
    sep: str,
    exact: bool = True,
) -> str:
    where = f"line {line}" if exact else f"row {line} (counting the header as row 1)"
    context = ""
    if shown is not None:
        shown = shown.rstrip("\r\n")
        context = f" ({shown if len(shown) <= 60 else shown[:57] + '...'!r})"
    fix = (
        f"quote values that contain the separator ({separator_label(sep)}), or remove the extra "
        "separators"
    )
    return f"{name} {where} has {saw} fields where the header has {expected}{context}: {fix}"


def _record_start(
    path: Path, compression: str | None, codec: str, sep: str, record: int
) -> tuple[int | None, str | None]:
    """The file line where pandas' 1-based ``record`` starts, and that line's text.

    pandas numbers records, counting blank lines but not the line breaks inside quoted values;
    this follows its tokenizer (quotes open a value only at the start of a field) line by line.
    """
    decoder = "utf-8-sig" if codec == "utf-8" else codec
    with _open_binary(path, compression) as raw:
        stream = io.TextIOWrapper(raw, encoding=decoder, errors="replace", newline=None)
        count = 0
        in_quotes = False
        for number, line in enumerate(stream, start=1):
            if not in_quotes:
                count += 1
                if count == record:
                    return number, line.rstrip("\r\n")
            if '"' in line:
                in_quotes = _ends_in_quotes(line, sep, in_quotes)
    return None, None


def _ends_in_quotes(line: str, sep: str, in_quotes: bool) -> bool:
    """Whether a record is still inside a quoted value at the end of ``line``."""
    start, plain, quoted, quote_in_quoted = 0, 1, 2, 3
    state = quoted if in_quotes else start
    for char in line:
        if state == start:
            state = quoted if char == '"' else start if char == sep else plain
        elif state == plain:
            state = start if char == sep else plain
        elif state == quoted:
            state = quote_in_quoted if char == '"' else quoted
        else:  # a quote inside a quoted value: "" is a literal quote, else the value ends
            state = quoted if char == '"' else start if char == sep else plain
    return state == quoted


def _columns_problem(
    path: Path, compression: str | None, codec: str, sep: str, columns: list[str]
) -> str:
    header = _read_frame(path, compression, codec, sep, (), None, nrows=0).columns
    names = [str(c) for c in header]
    missing = [c for c in columns if c not in names]
    names = [_one_line_name(c) for c in names]
    listed = format_examples([repr(c) for c in missing])
    return (
        f"{path.name} has no column{'s' if len(missing) != 1 else ''} {listed}: its header has "
        f"{format_examples(names, limit=20)}: check the column names in the config"
    )


def _one_line_name(name: object) -> str:
    """A column name as written, or quoted with escapes when it holds a line break or a tab."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    text = text.removeprefix("Error tokenizing data. ")
    return text if len(text) <= 200 else text[:197] + "..."
