"""Write outputs atomically: CSV, Parquet, XLSX and text.

Each writer first writes a temporary file beside the target and then renames it into place, so
an interrupted run never leaves a half-written output. In the files people open (CSV, XLSX)
text that a spreadsheet would read as a formula stays text (:mod:`vipml.data.cells`); Parquet
values are written unchanged.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> out = write_table(pd.DataFrame({"a": [1, 2]}), pathlib.Path(tempfile.mkdtemp()) / "t.csv")
>>> out.read_bytes()
b'a\\r\\n1\\r\\n2\\r\\n'
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vipml.data.cells import formula_like, keep_as_text, safe_frame
from vipml.data.file_types import is_csv, is_parquet
from vipml.errors import SchemaError
from vipml.tempfiles import staging

__all__ = [
    "atomic_path",
    "write_table",
    "table_writer",
    "write_text",
    "write_excel",
    "ROW_FORMATS",
]

#: Line end of the CSV files written (RFC 4180): a text holding a carriage return or a newline
#: is then quoted, so it can never start a row of its own.
_CSV_LINE_END = "\r\n"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    Works for files and folders (a folder target is replaced as a whole). The temporary path
    is in this process's staging folder (:func:`vipml.tempfiles.staging`), removed whatever
    happens; what a killed run left there is removed by the next write into that folder.

    Parameters
    ----------
    path : str or Path
        The file or folder to write.

    Yields
    ------
    Path
        The temporary path to write to (yielded).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('done', ['x.txt'])
    """
    path = Path(path)
    with staging(path) as tmp:
        yield tmp
        if path.is_dir() and tmp.is_dir():
            old = tmp.with_name(f"{tmp.name}.old")
            path.rename(old)
            tmp.rename(path)
            _remove(old)
        else:
            os.replace(tmp, path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def write_table(df: pd.DataFrame, path: str | Path, index: bool = False) -> Path:
    """Write ``df`` atomically as CSV, Parquet or XLSX (chosen by the suffix); return the path.

    In CSV and XLSX, text a spreadsheet would read as a formula stays text
    (:mod:`vipml.data.cells`); Parquet gets the values unchanged. CSV lines end in CRLF
    (RFC 4180), so a text holding a line break is quoted and never starts a row.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : str or Path
        ``.csv`` (``.txt``, ``.tsv``, ``.csv.gz``), ``.parquet`` (``.pq``) or ``.xlsx``.
    index : bool, default False
        Write the index too.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_table(pd.DataFrame({"id": ["=1+2"], "x": [-2.5]}),
    ...                   pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> out.read_text().splitlines()
    ['id,x', "'=1+2,-2.5"]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if is_parquet(path):
            df.to_parquet(tmp, index=index)
        elif is_csv(path):
            safe_frame(df).to_csv(tmp, index=index, lineterminator=_CSV_LINE_END)
        elif suffix == ".xlsx":
            _write_xlsx({"data": df}, tmp)
        else:
            raise SchemaError(
                [f"{path.name}: unknown output type '{suffix}': use .csv, .parquet or .xlsx"],
                table="output",
            )
    return path


@contextlib.contextmanager
def table_writer(path: str | Path) -> Iterator[Callable[[Any], None]]:
    """Write one table part by part, atomically: ``write(part)`` appends the part's rows (a
    DataFrame, or a ``pyarrow.Table`` converted from one).

    CSV gets one header; Parquet gets one row group (or more) per part, with the first part's
    schema. Nothing appears at ``path`` until the block ends without an error, so a table too
    large for memory is written whole or not at all.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.parquet`` file.

    Yields
    ------
    callable
        ``write(part)``, appending a DataFrame or a ``pyarrow.Table``.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> with table_writer(out) as write:
    ...     write(pd.DataFrame({"a": [1, 2]}))
    ...     write(pd.DataFrame({"a": [3]}))
    >>> pd.read_parquet(out)["a"].tolist()
    [1, 2, 3]
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not is_parquet(path) and not is_csv(path):
        raise SchemaError(
            [f"{path.name}: unknown output type '{suffix}': use .csv or .parquet"], table="output"
        )
    with atomic_path(path) as tmp:
        if is_csv(path):
            with open(tmp, "w", encoding="utf-8", newline="") as handle:
                header = [True]

                def write_csv(part: Any) -> None:
                    if not isinstance(part, pd.DataFrame):  # an Arrow table
                        part = part.to_pandas()
                    safe_frame(part).to_csv(
                        handle, index=False, header=header[0], lineterminator=_CSV_LINE_END
                    )
                    header[0] = False

                yield write_csv
            return
        # lazy: pyarrow.parquet adds about 0.03 s to the import, needed only to write Parquet
        import pyarrow.parquet as pq

        writers: list[pq.ParquetWriter] = []

        def write_parquet(part: Any) -> None:
            table = part
            if isinstance(part, pd.DataFrame):
                table = pa.Table.from_pandas(part, preserve_index=False)
            if not writers:
                # dictionary pages pay off for text, counts and flags, not for measurements
                # (their values rarely repeat): writes about 1.5x faster
                coded = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
                writers.append(pq.ParquetWriter(tmp, table.schema, use_dictionary=coded))
            else:
                table = table.cast(writers[0].schema)
            writers[0].write_table(table)

        try:
            yield write_parquet
        finally:
            for writer in writers:
                writer.close()


def write_text(text: str | bytes, path: str | Path) -> Path:
    """Write text (or bytes) atomically; return the path.

    Parameters
    ----------
    text : str or bytes
        The content (text is written as UTF-8).
    path : str or Path
        The file.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_text("done", pathlib.Path(tempfile.mkdtemp()) / "x.txt").read_text()
    'done'
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text, encoding="utf-8")
    return path


#: Key of ``DataFrame.attrs`` for per-row number formats of a sheet written by
#: :func:`write_excel`: a mapping of column name to one format per row (``None``: the
#: column's format).
ROW_FORMATS = "row_formats"


def write_excel(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    number_formats: Mapping[str, str] | None = None,
) -> Path:
    """Write several sheets to one XLSX file atomically, formatted for people to read.

    Every sheet gets a bold, frozen header row with an autofilter, columns sized to their
    content, numbers as numbers with a format (``number_formats`` maps a column name to an
    Excel format such as ``'#,##0.00'``; other float columns get ``#,##0.00``, integer ones
    ``#,##0``), and text that a spreadsheet would read as a formula as a literal string cell
    (:func:`vipml.data.cells.keep_as_text`). A sheet whose values need a format per row (a
    summary mixing counts, amounts and shares) carries it in ``df.attrs[ROW_FORMATS]``.

    Parameters
    ----------
    sheets : mapping of str to pandas.DataFrame
        Sheet name (cut to 31 characters) to table.
    path : str or Path
        The ``.xlsx`` file.
    number_formats : mapping of str to str, optional
        Column name to Excel number format.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib, openpyxl
    >>> summary = pd.DataFrame({"Item": ["Customers", "Share"], "Value": [1200, 0.25]})
    >>> summary.attrs[ROW_FORMATS] = {"Value": ["#,##0", "0.0%"]}
    >>> out = write_excel({"Summary": summary}, pathlib.Path(tempfile.mkdtemp()) / "s.xlsx")
    >>> sheet = openpyxl.load_workbook(out)["Summary"]
    >>> [(c.value, c.number_format) for c in sheet["B"][1:]]
    [(1200, '#,##0'), (0.25, '0.0%')]
    >>> sheet.auto_filter.ref, sheet.freeze_panes
    ('A1:B3', 'A2')
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        _write_xlsx(sheets, tmp, number_formats or {})
    return path


def _write_xlsx(
    sheets: Mapping[str, pd.DataFrame], path: Path, number_formats: Mapping[str, str] = {}
) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, df in sheets.items():
            sheet_name = name[:31]
            df.to_excel(writer, sheet_name=sheet_name, index=False)
            ws = writer.sheets[sheet_name]
            _style_header(ws)
            _keep_text_as_text(ws, df)
            for i in range(len(df.columns)):
                _format_column(ws, df, i, number_formats)
            _format_rows(ws, df, df.attrs.get(ROW_FORMATS) or {})


def _style_header(ws: Any) -> None:
    """A bold, shaded, frozen header row with an autofilter over the sheet."""
    # lazy: openpyxl takes about 0.15 s to import, needed only to write a workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    header_fill = PatternFill("solid", fgColor="DDE4EE")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _keep_text_as_text(ws: Any, df: pd.DataFrame) -> None:
    """Formula-like headers and text values as literal string cells, never formulas."""
    for cell in ws[1]:
        keep_as_text(cell)
    for i in range(len(df.columns)):
        for row in np.flatnonzero(formula_like(df.iloc[:, i])):
            keep_as_text(ws.cell(row=int(row) + 2, column=i + 1))


def _format_column(
    ws: Any, df: pd.DataFrame, i: int, number_formats: Mapping[str, str]
) -> None:
    """Size column ``i`` (0-based) to its content and give its values their number format."""
    # lazy: openpyxl takes about 0.15 s to import, needed only to write a workbook
    from openpyxl.utils import get_column_letter

    col, values = df.columns[i], df.iloc[:, i]
    width = max([len(str(col))] + [len(str(v)) for v in values.head(200).astype(str)]) + 2
    ws.column_dimensions[get_column_letter(i + 1)].width = min(max(width, 8), 60)
    fmt = number_formats.get(str(col))
    if fmt is None and pd.api.types.is_float_dtype(values):
        fmt = "#,##0.00"
    elif fmt is None and pd.api.types.is_integer_dtype(values):
        fmt = "#,##0"
    if fmt:
        for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
            cell.number_format = fmt


def _format_rows(
    ws: Any, df: pd.DataFrame, row_formats: Mapping[str, Sequence[str | None]]
) -> None:
    """Per-row number formats (``df.attrs[ROW_FORMATS]``) over the column formats."""
    columns = [str(c) for c in df.columns]
    for col, formats in row_formats.items():
        if col not in columns:
            raise SchemaError(
                [f"row formats name column {col!r}, not in the sheet ({', '.join(columns)})"],
                table="output",
            )
        for row, fmt in enumerate(formats):
            if fmt:
                ws.cell(row=row + 2, column=columns.index(col) + 1).number_format = fmt
