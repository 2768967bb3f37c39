"""Read a timestamp column without guessing: one format, decided on the whole column, or a problem.

:func:`parse_timestamps` reads a raw column (text, numbers or datetimes) into naive
``datetime64[ns]`` and says how it read it. With ``fmt="auto"``:

1. every value ISO 8601 (``2024-03-31``, ``2024-03-31T14:05:00``, ``20240331``) → ISO;
2. otherwise the distinct values are tried against explicit candidate formats (day-first,
   month-first and year-first numbers with ``/``, ``-`` or ``.``, a time or not, and dates with
   month names), each an exact match;
3. one reading fits every value → it is used (day-first is only chosen when some day is above
   12, so that month-first cannot be meant, and the other way round); day-first and month-first
   both fit → a problem asking for ``input.timestamp_format``; the values need several formats →
   a problem listing them; values no format reads → ``unparseable timestamp``.

A time zone suffix (``Z``, ``+01:00``) is dropped and the local wall time kept; different zones
in one column are a problem. Numbers are read only as YYYYMMDD (as in the CDNOW files).
The work is done on the distinct values, so a column of millions of rows costs little more than
its few thousand distinct dates.

Examples
--------
>>> import pandas as pd
>>> problems = []
>>> uk = pd.Series(["01/12/2009 17:28", "13/12/2009 09:05"])
>>> parsed, note = parse_timestamps(uk, "timestamp", problems)
>>> parsed.tolist(), problems
([Timestamp('2009-12-01 17:28:00'), Timestamp('2009-12-13 09:05:00')], [])
>>> print(note)  # doctest: +NORMALIZE_WHITESPACE
timestamp: read as day-first dates '%d/%m/%Y %H:%M' (1 row has a day above 12, so month-first
cannot be meant)
>>> parsed, note = parse_timestamps(pd.Series(["01/02/2010", "03/04/2010"]), "date", problems)
>>> bool(parsed.isna().all()), note
(True, None)
>>> print(problems[0])  # doctest: +NORMALIZE_WHITESPACE
date: every value (2 rows) fits both day-first '%d/%m/%Y' and month-first '%m/%d/%Y' (no day
above 12; values '01/02/2010', '03/04/2010'): set input.timestamp_format in the config to the
one your export uses
>>> parsed, note = parse_timestamps(pd.Series(["01/02/2010"]), "date", [], fmt="%d/%m/%Y")
>>> parsed.tolist(), note
([Timestamp('2010-02-01 00:00:00')], "date: read with input.timestamp_format '%d/%m/%Y'")
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vipml.data.messages import (
    DATES_NOT_BOOL,
    FORMAT_MISMATCH_FIX,
    FORMAT_NOTE,
    ISO_FIX,
    ISO_NOTE,
    MISSING_DATE_FIX,
    MISSING_TIMESTAMP,
    NUMBER_DATES,
    NUMBER_DATES_NOTE,
    OR_SET_FORMAT,
    PLAIN_ISO,
    RANGE_FIX,
    UNPARSEABLE_TIMESTAMP,
)
from vipml.data.problems import describe_rows
from vipml.errors import InvalidArgumentError, format_examples

__all__ = ["CANDIDATE_FORMATS", "parse_timestamps"]

_TIMES = ("", " %H:%M", " %H:%M:%S", " %I:%M %p", " %I:%M:%S %p")
_NUMBER_DATES = ("%d{s}%m{s}%Y", "%d{s}%m{s}%y", "%m{s}%d{s}%Y", "%m{s}%d{s}%y", "%Y{s}%m{s}%d")
_NAMED_DATES = (
    "%d %b %Y",
    "%d %B %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
)
_NAMED_TIMES = ("", " %H:%M", " %H:%M:%S")

CANDIDATE_FORMATS: tuple[str, ...] = tuple(
    [d.format(s=s) + t for s in "/-." for d in _NUMBER_DATES for t in _TIMES]
    + [d + t for d in _NAMED_DATES for t in _NAMED_TIMES]
)
"""The strftime formats ``fmt="auto"`` tries (after ISO 8601), each as an exact match."""

ISO = "ISO8601"
_SAMPLE = 2000
# An ISO 8601 value starts with a four-digit year followed by '-', by MMDD, or by nothing.
_ISO_START = re.compile(r"[+-]?\d{4}(?:-|\d{4}|$)")
# The common case, read without looking at each distinct value: ISO dates, perhaps with a time,
# no zone (a column of millions of distinct timestamps costs one vectorised match).
# A zone suffix after a time: 'Z', 'UTC', 'GMT', '+01:00', '+0100' or '+01'.
_TZ = re.compile(
    r"^(?P<body>.*\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp][Mm])?)\s*"
    r"(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
)
_DIGITS, _LETTERS, _SPACES = re.compile(r"\d+"), re.compile(r"[^\W\d_]+"), re.compile(r"\s+")


def _shape(text: str) -> str:
    """Runs of digits → ``9``, of letters → ``a``, of spaces → one space: ``'9/9/9 9:9'``.

    A format can only read values of its own shape (pandas reads ``%d`` as one or two digits and
    a space in the format as any run of spaces), so each value is tried only against the few
    candidates of its shape.
    """
    return _SPACES.sub(" ", _LETTERS.sub("a", _DIGITS.sub("9", text)))


def _shapes(texts: np.ndarray) -> np.ndarray:
    """:func:`_shape` of many values at once (Arrow's regular expressions run in C)."""
    arr = pa.array(texts, type=pa.string())
    for pattern, repl in ((r"\d+", "9"), (r"\pL+", "a"), (r"\s+", " ")):
        arr = pc.replace_substring_regex(arr, pattern=pattern, replacement=repl)
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def _zone_candidates(texts: np.ndarray) -> np.ndarray:
    """Positions of the values that end in a zone suffix (:data:`_TZ`), found in C."""
    if not len(texts):
        return np.zeros(0, dtype=np.intp)
    hits = pc.match_substring_regex(pa.array(texts, type=pa.string()), pattern=_TZ.pattern)
    return np.flatnonzero(hits.to_numpy(zero_copy_only=False))


_SAMPLE_DATE = datetime(2009, 12, 31, 17, 28, 5)
_BY_SHAPE: dict[str, list[str]] = {}
for _f in CANDIDATE_FORMATS:
    _BY_SHAPE.setdefault(_shape(_SAMPLE_DATE.strftime(_f)), []).append(_f)


def _label(fmt: str) -> str:
    """How a format orders the date: ``day-first``, ``month-first``, ``year-first``..."""
    if fmt == ISO:
        return "ISO 8601"
    if "%b" in fmt or "%B" in fmt:
        return "month-name"
    return {"%d": "day-first", "%m": "month-first", "%Y": "year-first"}.get(fmt[:2], "custom")


def _name(fmt: str) -> str:
    return "ISO 8601" if fmt == ISO else f"{_label(fmt)} {fmt!r}"


@dataclass
class _Fit:
    """What one format makes of the distinct values (arrays over the distinct values)."""

    fmt: str
    fit: np.ndarray  # the value matches the format
    values: np.ndarray  # datetime64[ns]; NaT where not fit or outside the ns range
    out: np.ndarray  # fits, but outside the datetime64[ns] range

    @classmethod
    def empty(cls, fmt: str, k: int) -> _Fit:
        return cls(
            fmt, np.zeros(k, bool), np.full(k, np.datetime64("NaT", "ns")), np.zeros(k, bool)
        )

    def fill(self, where: np.ndarray, texts: np.ndarray) -> None:
        """Parse ``texts`` (the values at positions ``where``) and record the result."""
        fit, values, out = _parse(texts, self.fmt)
        self.fit[where], self.values[where], self.out[where] = fit, values, out


def _parse(texts: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact parse of text values: (fits, naive ``datetime64[ns]`` values, outside the range).

    Raises :class:`~vipml.errors.InvalidArgumentError` only for an invalid format. A time zone
    is dropped, keeping the local wall time (several zones in one array, which only a ``%z``
    format can meet, are converted to UTC: the caller reports mixed zones).
    """
    index = pd.Index(texts, dtype=object)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(index, format=fmt, errors="coerce")
        except (ValueError, TypeError, OverflowError) as err:
            if _bad_format(fmt) is not None:
                raise InvalidArgumentError(f"timestamp format {fmt!r}: {err}") from err
            try:
                parsed = pd.to_datetime(index, format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                parsed = pd.DatetimeIndex([pd.NaT] * len(index))
    if not isinstance(parsed, pd.DatetimeIndex):  # mixed aware/naive objects: give up on them
        parsed = pd.DatetimeIndex([pd.NaT] * len(index))
    if parsed.tz is not None:
        parsed = parsed.tz_localize(None)
    fit = ~np.asarray(parsed.isna())
    inside = fit & np.asarray((parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max))
    values = np.full(len(index), np.datetime64("NaT", "ns"))
    values[inside] = parsed[inside].as_unit("ns").to_numpy()
    return fit, values, fit & ~inside


def _bad_format(fmt: str) -> str | None:
    """Why pandas cannot use ``fmt`` as a format, or None when it can."""
    if fmt == "mixed":
        return "'mixed' guesses a format for every value"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.to_datetime(pd.Index(["0"], dtype=object), format=fmt, errors="coerce")
    except (ValueError, TypeError) as err:
        return str(err)
    return None


@dataclass
class _Column:
    """A column reduced to its distinct (stripped, zone-free) text values."""

    raw: pd.Series
    column: str
    codes: np.ndarray  # per row: index into texts, -1 when missing
    texts: np.ndarray  # distinct non-empty values (object array of str)
    originals: np.ndarray  # the same values before their zone was dropped

    @functools.cached_property
    def counts(self) -> np.ndarray:
        """Rows per distinct value."""
        return np.bincount(self.codes[self.codes >= 0], minlength=len(self.texts))

    @property
    def null(self) -> np.ndarray:
        return self.codes < 0

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """Row mask from a mask over the distinct values."""
        return np.append(mask, False)[self.codes]

    def weight(self, mask: np.ndarray) -> int:
        """Rows holding one of the masked distinct values."""
        return int(self.counts[mask].sum())

    def series(self, values: np.ndarray) -> pd.Series:
        out = np.append(values, np.datetime64("NaT", "ns"))[self.codes]
        return pd.Series(out, index=self.raw.index, name=self.raw.name)


def _distinct(raw: pd.Series, column: str, numeric: bool) -> _Column:
    """Factorize ``raw`` and strip its distinct values; blanks count as missing.

    Numbers become the text of whole numbers (others cannot be YYYYMMDD: they become text no
    format reads).
    """
    codes, uniques = pd.factorize(raw)
    if numeric:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # complex numbers lose their imaginary part
                numbers = np.asarray(uniques, dtype="float64")
        except (TypeError, ValueError):
            numbers = np.full(len(uniques), np.nan)
        whole = np.isfinite(numbers) & (np.abs(numbers) < 1e15)
        whole &= np.floor(np.where(whole, numbers, 0)) == np.where(whole, numbers, 0)
        strings = [f"{int(v)}" if w else repr(v) for v, w in zip(numbers, whole, strict=True)]
    else:
        uniques = np.asarray(uniques, dtype=object)
        if not all(isinstance(v, str) for v in uniques):
            # mixed objects (1 and True factorize as one value): each as its own text
            codes, uniques = pd.factorize(raw.astype(str).where(raw.notna()))
            uniques = np.asarray(uniques, dtype=object)
        strings = [v.strip() for v in uniques]
    codes2, texts = pd.factorize(np.array(strings, dtype=object))
    texts = np.asarray(texts, dtype=object)
    blank = np.flatnonzero(texts == "")
    if len(blank):  # blanks are missing values: drop them from the distinct values
        keep = texts != ""
        renumber = np.cumsum(keep) - 1
        codes2 = np.where(keep[codes2], renumber[codes2], -1)
        texts = texts[keep]
    codes = np.where(codes >= 0, codes2[codes] if len(codes2) else -1, -1).astype(np.intp)
    return _Column(raw, column, codes, texts, texts.copy())


def _drop_zones(col: _Column, problems: list[str], strip: bool = True) -> str | None:
    """Drop zone suffixes from the distinct values; report different zones in one column.

    Returns the single zone dropped (for the note), or None. With ``strip=False`` (a format
    that reads the zone itself) the values are left as they are: only mixed zones are reported.
    """
    zones = np.full(len(col.texts), "no zone", dtype=object)
    for i in _zone_candidates(col.texts):
        match = _TZ.match(col.texts[i])
        if match:
            if strip:
                col.texts[i] = match["body"].rstrip()
            zones[i] = _zone_name(match["tz"])
    if not (zones != "no zone").any():
        return None
    with_none = np.append(zones, np.array([None], dtype=object))
    row_zones = pd.Series(with_none[col.codes], index=col.raw.index)
    counts = row_zones.value_counts()
    if len(counts) == 1:
        return str(counts.index[0])
    majority = counts.index[0]
    mask = (row_zones.notna() & (row_zones != majority)).to_numpy(dtype=bool)
    summary = ", ".join(f"{z}: {c:,}" for z, c in counts.head(5).items())
    problems.append(
        describe_rows(
            col.column,
            f"a time zone other than the most common one ({summary})",
            mask,
            col.raw,
            "mixed time zones: convert every timestamp to one zone (e.g. UTC) first",
        )
    )
    return None


def _zone_name(tz: str) -> str:
    if tz in ("Z", "UTC", "GMT"):
        return "UTC"
    digits = tz[1:].replace(":", "")
    name = f"{tz[0]}{digits[:2]}:{digits[2:] or '00'}"
    return "UTC" if name in ("+00:00", "-00:00") else name


def _candidate_fits(texts: np.ndarray, todo: np.ndarray) -> list[_Fit]:
    """The candidate formats that read at least one of the values at positions ``todo``.

    Values are grouped by shape; within a group of more than ``_SAMPLE`` values the candidates
    are first screened on a sample, the survivors run on every value, and the others only on
    the values no survivor reads (so the result is the same as running every candidate on
    every value).
    """
    k = len(texts)
    fits: dict[str, _Fit] = {}
    shapes = _shapes(texts[todo])
    shape_codes, shape_names = pd.factorize(shapes)
    for s, name in enumerate(shape_names):
        formats = _BY_SHAPE.get(name)
        if not formats:
            continue
        group = todo[shape_codes == s]
        if len(group) <= _SAMPLE:
            survivors: list[str] = formats
            others: list[str] = []
        else:
            sample = group[np.linspace(0, len(group) - 1, _SAMPLE).astype(int)]
            survivors, others = [], []
            for fmt in formats:
                fit, _, _ = _parse(texts[sample], fmt)
                (survivors if fit.any() else others).append(fmt)
        read = np.zeros(k, bool)
        for fmt in survivors:
            fits[fmt] = _Fit.empty(fmt, k)
            fits[fmt].fill(group, texts[group])
            read |= fits[fmt].fit
        rest = group[~read[group]]
        for fmt in others if len(rest) else []:
            fits[fmt] = _Fit.empty(fmt, k)
            fits[fmt].fill(rest, texts[rest])
    order = {f: i for i, f in enumerate(CANDIDATE_FORMATS)}
    return sorted((f for f in fits.values() if f.fit.any()), key=lambda f: order[f.fmt])


def _iso_fit(texts: np.ndarray) -> _Fit:
    fit = _Fit.empty(ISO, len(texts))
    gate = np.flatnonzero([bool(_ISO_START.match(t)) for t in texts])
    if len(gate):
        fit.fill(gate, texts[gate])
    return fit


def _same(a: _Fit, b: _Fit, where: np.ndarray) -> bool:
    return bool(np.array_equal(a.values[where].view("i8"), b.values[where].view("i8")))


def _decide(col: _Column, fits: list[_Fit], problems: list[str], bad: np.ndarray) -> _Fit | None:
    """The one reading of every readable value, or None after writing the problem."""
    readable = ~bad
    n_readable = int(readable.sum())
    full = [f for f in fits if int(f.fit.sum()) == n_readable]
    groups: list[list[_Fit]] = []
    for f in full:
        for g in groups:
            if _same(g[0], f, readable):
                g.append(f)
                break
        else:
            groups.append([f])
    if len(groups) == 1:
        return groups[0][0]
    if groups:
        names = [_name(g[0].fmt) for g in groups]
        both = " and ".join(names) if len(names) == 2 else ", ".join(names)
        labels = {_label(g[0].fmt) for g in groups}
        why = "no day above 12; " if labels == {"day-first", "month-first"} else ""
        examples = format_examples(repr(t) for t in col.originals[readable][:6])
        every = "every value" if not bad.any() else "every readable value"
        problems.append(
            f"{col.column}: {every} ({_rows(col.weight(readable))}) fits "
            f"{'both ' if len(names) == 2 else ''}{both} ({why}values {examples}): set "
            "input.timestamp_format in the config to the one your export uses"
        )
        return None
    # no format reads every value: the column mixes formats; name them, most rows first
    left, parts = readable.copy(), []
    first: np.ndarray | None = None
    while left.any():
        best = max(fits, key=lambda f: col.weight(f.fit & left))
        took = best.fit & left
        example = col.originals[took][0]
        parts.append(f"{_name(best.fmt)}: {_rows(col.weight(took))}, e.g. {example!r}")
        first = took if first is None else first
        left &= ~took
    listing = "; ".join(parts[:5]) + ("; ..." if len(parts) > 5 else "")
    problems.append(
        describe_rows(
            col.column,
            f"a date format other than the most common one ({listing})",
            col.rows(readable & ~cast(np.ndarray, first)),
            col.raw,
            "export every date in one format (ISO dates such as 2024-03-31 are safest), or set "
            "input.timestamp_format to the one your export uses",
        )
    )
    return None


def _rows(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


def _note(col: _Column, chosen: _Fit, zone: str | None) -> str:
    fmt, label = chosen.fmt, _label(chosen.fmt)
    if fmt == ISO:
        note = "ISO 8601 dates"
    elif label in ("day-first", "month-first"):
        day = pd.DatetimeIndex(chosen.values).day.to_numpy()
        above = col.weight(chosen.fit & (day > 12))
        other = "month-first" if label == "day-first" else "day-first"
        if above:
            rows = f"{_rows(above)} {'has' if above == 1 else 'have'}"
            note = (
                f"read as {label} dates {fmt!r} ({rows} a day above 12, so {other} cannot be meant)"
            )
        else:
            note = f"read as {fmt!r} (day and month are equal in every value)"
    elif label == "year-first":
        note = f"read as year-first dates {fmt!r}"
    else:
        note = f"read as dates with month names {fmt!r}"
    if zone:
        note += f" (time zone {zone} dropped: local times kept)"
    return f"{col.column}: {note}"


def _finish(
    col: _Column,
    problems: list[str],
    values: np.ndarray,
    bad: np.ndarray,
    fix: str,
    required: bool,
) -> pd.Series:
    """Report unreadable and missing rows; map the distinct values back to the rows."""
    rows_bad = col.rows(bad)
    if rows_bad.any():
        problems.append(describe_rows(col.column, UNPARSEABLE_TIMESTAMP, rows_bad, col.raw, fix))
    null = col.null
    if required and null.any():
        problems.append(
            describe_rows(col.column, MISSING_TIMESTAMP, null, col.raw, MISSING_DATE_FIX)
        )
    return col.series(values)


def _from_datetimes(raw: pd.Series, column: str, problems: list[str], required: bool) -> pd.Series:
    """A datetime column: naive wall time in ``datetime64[ns]``."""
    parsed = raw
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    null = parsed.isna().to_numpy(dtype=bool)
    if str(parsed.dtype) != "datetime64[ns]":
        inside = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
        parsed = parsed.where(inside).astype("datetime64[ns]")
    out = parsed.isna().to_numpy(dtype=bool) & ~null
    if out.any():
        problems.append(describe_rows(column, UNPARSEABLE_TIMESTAMP, out, raw, RANGE_FIX))
    if required and null.any():
        problems.append(describe_rows(column, MISSING_TIMESTAMP, null, raw, MISSING_DATE_FIX))
    return parsed


def parse_timestamps(
    raw: pd.Series, column: str, problems: list[str], *, fmt: str = "auto", required: bool = True
) -> tuple[pd.Series, str | None]:
    """Read a timestamp column into naive ``datetime64[ns]``, deciding its format honestly.

    Parameters
    ----------
    raw
        The column as read: text, numbers (YYYYMMDD only) or datetimes.
    column
        Its name in messages (``timestamp``).
    problems
        Problems found are appended here, one line each (the caller raises them together).
    fmt
        ``"auto"``: ISO 8601, else the one candidate format (:data:`CANDIDATE_FORMATS`) that
        reads every value; ambiguous day/month orders and mixed formats are problems. Otherwise
        a strftime format such as ``'%d/%m/%Y %H:%M'``, used as given (an exact match).
    required
        Missing values are a problem (``missing timestamp``); otherwise they stay NaT.

    Returns
    -------
    tuple[pd.Series, str | None]
        The parsed values (``datetime64[ns]``, raw's index; NaT where missing or unreadable)
        and a one-line note on how the column was read (None when nothing was decided: a
        datetime column, every value missing, or a problem instead of a decision).

    Examples
    --------
    >>> import pandas as pd
    >>> problems = []
    >>> values, note = parse_timestamps(pd.Series(["31/01/2024", "13/02/2024"]), "timestamp",
    ...                                 problems)
    >>> values.dt.strftime("%Y-%m-%d").tolist(), problems
    (['2024-01-31', '2024-02-13'], [])
    """
    n = len(raw)
    if pd.api.types.is_datetime64_any_dtype(raw):
        return _from_datetimes(raw, column, problems, required), None
    if pd.api.types.is_bool_dtype(raw):
        problems.append(DATES_NOT_BOOL.format(column=column, n=n))
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]", name=raw.name), None
    numeric = pd.api.types.is_numeric_dtype(raw)
    if fmt == "auto" and not numeric:
        plain = _plain_iso(raw)
        if plain is not None:
            return plain, ISO_NOTE.format(column=column)
    col = _distinct(raw, column, numeric)
    k = len(col.texts)
    nothing = np.full(k, np.datetime64("NaT", "ns"))
    if fmt != "auto":
        return _explicit(col, problems, fmt, required)
    if not k:
        return _finish(col, problems, nothing, np.zeros(0, bool), ISO_FIX, required), None
    if numeric:
        chosen = _Fit.empty("%Y%m%d", k)
        chosen.fill(np.arange(k), col.texts)
        bad = ~chosen.fit | chosen.out
        fix = ISO_FIX + NUMBER_DATES
        note = NUMBER_DATES_NOTE.format(column=column) if chosen.fit.any() else None
        return _finish(col, problems, chosen.values, bad, fix, required), note
    zone = _drop_zones(col, problems)
    fits = [_iso_fit(col.texts)]
    if not fits[0].fit.all():
        fits = [f for f in fits if f.fit.any()] + _candidate_fits(
            col.texts, np.flatnonzero(~fits[0].fit)
        )
    read = np.zeros(k, bool)
    for f in fits:
        read |= f.fit
    decided = _decide(col, fits, problems, ~read) if read.any() else None
    fix = ISO_FIX + OR_SET_FORMAT
    if decided is None:
        return _finish(col, problems, nothing, ~read, fix, required), None
    chosen = decided
    bad = ~chosen.fit | chosen.out
    if chosen.out.any():
        fix += f" ({RANGE_FIX})"
    if chosen.fmt != ISO:
        fix += f" (the other rows read as {_name(chosen.fmt)})"
    return _finish(col, problems, chosen.values, bad, fix, required), _note(col, chosen, zone)


def _plain_iso(raw: pd.Series) -> pd.Series | None:
    """The column read as ISO dates when every value is a plain one (none missing, no zone);
    else None, and the general path decides."""
    if not len(raw) or raw.isna().any():
        return None
    try:  # Arrow's regular expressions and ISO parser run in C, Python's once per value
        text = pa.array(raw) if pd.api.types.is_string_dtype(raw) else None
        if text is None or not pa.types.is_string(text.type) and not pa.types.is_large_string(
            text.type
        ):
            text = pa.array(raw.to_numpy(dtype=object), type=pa.string())
        if not pc.all(pc.match_substring_regex(text, f"^{PLAIN_ISO}$")).as_py():
            return None
        stamps = pc.cast(pc.utf8_trim_whitespace(text), pa.timestamp("ns"))
    except (pa.ArrowException, TypeError, ValueError):  # 2024-02-30, or out of range
        return None
    parsed = pd.Series(stamps.to_numpy(zero_copy_only=False), index=raw.index)
    if parsed.isna().any():
        return None
    years = parsed.dt.year
    if years.min() < 1678 or years.max() > 2261:  # near or outside the datetime64[ns] range
        return None
    values = parsed.to_numpy(dtype="datetime64[ns]")
    return pd.Series(values, index=raw.index, name=raw.name)


def _explicit(
    col: _Column, problems: list[str], fmt: str, required: bool
) -> tuple[pd.Series, str | None]:
    """Read with the format the config gives (an exact match)."""
    k = len(col.texts)
    why = _bad_format(fmt)
    if why is not None:
        problems.append(
            f"{col.column}: input.timestamp_format {fmt!r} is not a format dates can be read "
            f"with ({why}): use auto or a strftime format such as '%d/%m/%Y %H:%M' (day first) "
            "or '%m/%d/%Y %H:%M' (month first)"
        )
        nothing = np.full(k, np.datetime64("NaT", "ns"))
        return _finish(col, problems, nothing, np.zeros(k, bool), "", required), None
    zone = _drop_zones(col, problems, strip="%z" not in fmt and "%Z" not in fmt)
    chosen = _Fit.empty(fmt, k)
    if k:
        chosen.fill(np.arange(k), col.texts)
    bad = ~chosen.fit | chosen.out
    fix = FORMAT_MISMATCH_FIX.format(fmt=fmt)
    if chosen.out.any():
        fix += f" ({RANGE_FIX})"
    note = FORMAT_NOTE.format(column=col.column, fmt=fmt) if k else None
    if note and zone and "%z" not in fmt and "%Z" not in fmt:
        note += f" (time zone {zone} dropped: local times kept)"
    return _finish(col, problems, chosen.values, bad, fix, required), note
