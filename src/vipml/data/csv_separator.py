"""The field separator of a CSV file: given, or sniffed from its first rows; and the message
for a file read as one column because the separator was wrong.

Examples
--------
>>> choose_separator("auto", Path("t.csv"), "a;b\\n1;2\\n", True, SchemaError)
(';', "separator: ';' (detected)")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from vipml.errors import SchemaError

__all__ = [
    "SEPARATORS",
    "Fail",
    "choose_separator",
    "csv_records",
    "separator_label",
    "separator_problem",
]

#: What a reader raises: a function of the problem line giving the error.
Fail = Callable[[str], SchemaError]

#: The separators ``"auto"`` tries, in order.
SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_SNIFF_RECORDS = 50  # records after the header that the separator must split consistently


def choose_separator(
    separator: str, path: Path, text: str, complete: bool, fail: Fail
) -> tuple[str, str | None]:
    """The separator to use and the note on an ``"auto"`` choice other than ``,``.

    Parameters
    ----------
    separator : str
        One character (``"tab"``, ``"comma"``, ... are accepted), or ``"auto"``: the first of
        ``,`` ``;`` tab ``|`` (tab first for ``.tsv``) that splits the header and the first 50
        rows into the same number (more than one) of fields.
    path : Path
        The file (its name decides the order of the candidates, and names it in errors).
    text : str
        The decoded start of the file.
    complete : bool
        Whether ``text`` is the whole file.
    fail : callable
        Makes the error raised for an unusable ``separator``.

    Returns
    -------
    tuple of (str, str or None)
        The separator, and the note on what ``"auto"`` chose (None for ``,`` or a given one).

    Examples
    --------
    >>> choose_separator("tab", Path("t.csv"), "", True, SchemaError)
    ('\\t', None)
    >>> choose_separator("auto", Path("t.tsv"), "a\\tb\\n1\\t2\\n", True, SchemaError)
    ('\\t', 'separator: tab (.tsv file)')
    """
    given = separator if separator in ("\t", " ") else separator.strip()
    if given.lower() != "auto":
        sep = _SEPARATOR_NAMES.get(given.lower(), given)
        if len(sep) != 1 or sep in '"\r\n':
            raise fail(
                f"separator {separator!r} for {path.name} cannot be used: give one character "
                "such as ',' ';' '|' or tab (input.separator in the config), or auto"
            )
        return sep, None
    tsv = path.name.lower().removesuffix(".gz").endswith(".tsv")
    order = ("\t", ",", ";", "|") if tsv else SEPARATORS
    sniffed = _sniff(text, complete, order)
    if sniffed is None:
        return order[0], None
    sep = sniffed
    if sep == ",":
        return sep, None
    why = ".tsv file" if tsv and sep == "\t" else "detected"
    return sep, f"separator: {separator_label(sep)} ({why})"


def _sniff(text: str, complete: bool, order: tuple[str, ...]) -> str | None:
    """The first candidate splitting the header and every sniffed row into the same number
    (more than one) of fields; else the first splitting the header in more than one field and
    at least half the rows into as many (pandas then names a ragged row); else None."""
    relaxed = None
    for sep in order:
        counts = [len(record) for _, record in csv_records(text, complete, sep, _SNIFF_RECORDS + 1)]
        if not counts or counts[0] < 2:
            continue
        head, rows = counts[0], counts[1:]
        if all(n == head for n in rows):
            return sep
        if relaxed is None and 2 * sum(n == head for n in rows) >= len(rows):
            relaxed = sep
    return relaxed


def csv_records(text: str, complete: bool, sep: str, limit: int) -> list[tuple[int, list[str]]]:
    """Up to ``limit`` non-blank records of ``text`` as (1-based first line, fields); the last
    record of a cut prefix is left out (it may be cut too).

    Parameters
    ----------
    text : str
        The decoded start of the file.
    complete : bool
        Whether ``text`` is the whole file.
    sep : str
        The separator.
    limit : int
        The most records returned.

    Returns
    -------
    list of (int, list of str)
        Each record's first line and its fields.

    Examples
    --------
    >>> csv_records('a,b\\n\\n"x\\ny",2\\n', True, ",", 5)
    [(1, ['a', 'b']), (3, ['x\\ny', '2'])]
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=False)
    found: list[tuple[int, list[str]]] = []
    line = 0
    cut = not complete  # the text ends where the prefix was cut, maybe inside a record
    try:
        for record in reader:
            if record:
                found.append((line + 1, record))
            line = reader.line_num
            if len(found) > limit:
                cut = False
                break
    except csv.Error:  # a field over the csv module's size limit: keep the records read
        cut = False
    return found[:-1] if cut else found[:limit]


def separator_label(sep: str) -> str:
    """A separator as messages show it: ``tab``, or the character quoted.

    Parameters
    ----------
    sep : str
        The separator.

    Returns
    -------
    str
        Its label.

    Examples
    --------
    >>> separator_label("\\t"), separator_label(";")
    ('tab', "';'")
    """
    return "tab" if sep == "\t" else repr(sep)


def _config_value(sep: str) -> str:
    return '"\\t"' if sep == "\t" else repr(sep)


def separator_problem(name: str, text: str, sep: str, column: str | None = None) -> str | None:
    """The wrong-separator message when the header reads as one field holding another
    candidate separator; None otherwise.

    Parameters
    ----------
    name : str
        The file's name.
    text : str
        The decoded start of the file.
    sep : str
        The separator used.
    column : str, optional
        The one column name read; by default the first record of ``text`` split by ``sep``.

    Returns
    -------
    str or None
        The problem line, or None when the separator does not look wrong.

    Examples
    --------
    >>> print(separator_problem("t.csv", "a;b\\n1;2\\n", ","))  # doctest: +NORMALIZE_WHITESPACE
    t.csv was read as one column ('a;b'): the separator looks like ';':
    set input.separator: ';' in the config
    >>> separator_problem("t.csv", "a,b\\n", ",") is None
    True
    """
    if column is None:
        records = csv_records(text, True, sep, 1)
        if not records or len(records[0][1]) != 1:
            return None
        column = records[0][1][0]
    found = [c for c in SEPARATORS if c != sep and c in column]
    if not found:
        return None
    likely = max(found, key=column.count)
    shown = column if len(column) <= 60 else column[:57] + "..."
    return (
        f"{name} was read as one column ({shown!r}): the separator looks like "
        f"{separator_label(likely)}: set input.separator: {_config_value(likely)} in the config"
    )
