"""Read transactions and write outputs atomically.

Readers take a CSV file, a Parquet file, or a folder of Parquet files; the names ``cdnow`` and
``cdnow-sample`` stand for the CDNOW data bundled with lifetimes. CSV files are read by
:func:`vipml.data.csv_reader.read_csv_file`: encoding and separator detected (or as the config's
``input`` section says), identifier columns kept as text (``00012398`` stays ``00012398``), and
every file problem a :class:`~vipml.errors.SchemaError` naming the line and the fix.

The writers (CSV, Parquet, XLSX, text; atomic, formula-safe) live in :mod:`vipml.data.writers`
and are re-exported here.

Examples
--------
>>> import pandas as pd, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> out = write_table(pd.DataFrame({"a": [1, 2]}), folder / "t.csv")
>>> read_table(out)["a"].tolist()
[1, 2]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from vipml.config import InputConfig
from vipml.data.csv_reader import read_csv_file
from vipml.data.datasets import load_cdnow
from vipml.data.file_types import is_csv, is_parquet
from vipml.data.schema import (
    READ_NOTES,
    VALIDATED,
    is_validated,
    validate_customers,
    validate_events,
    validate_transactions,
)
from vipml.data.writers import (
    ROW_FORMATS,
    atomic_path,
    table_writer,
    write_excel,
    write_table,
    write_text,
)
from vipml.errors import SchemaError

__all__ = [
    "BUNDLED_DATASETS",
    "atomic_path",
    "ID_COLUMNS",
    "id_column_names",
    "read_table",
    "parquet_source",
    "RUN_ATTRIBUTES",
    "raw_transactions",
    "read_transactions",
    "read_events",
    "read_customers",
    "write_table",
    "table_writer",
    "write_text",
    "write_excel",
    "ROW_FORMATS",
]

#: Names that stand for a dataset bundled with a dependency (CDNOW, inside lifetimes).
BUNDLED_DATASETS = ("cdnow", "cdnow-sample")


#: Contract columns that identify something: read from CSV as text, exactly as written.
ID_COLUMNS = ("customer_id", "order_id", "product_id")


def id_column_names(columns: Mapping[str, str] | None = None) -> list[str]:
    """The names identifier columns may have in a file: the contract's and the mapped ones.

    Parameters
    ----------
    columns : mapping, optional
        The config's column mapping ``{their_name: our_name}``.

    Returns
    -------
    list of str
        The contract's id columns, then the file names mapped to them.

    Examples
    --------
    >>> id_column_names({"Customer ID": "customer_id", "Price": "unit_price"})
    ['customer_id', 'order_id', 'product_id', 'Customer ID']
    """
    mapped = [src for src, ours in (columns or {}).items() if ours in ID_COLUMNS]
    return [*ID_COLUMNS, *mapped]


def read_table(
    path: str | Path,
    columns: list[str] | None = None,
    *,
    policy: InputConfig | None = None,
    text_columns: Sequence[str] = ID_COLUMNS,
) -> pd.DataFrame:
    """Read a CSV file, a Parquet file, or a folder of Parquet files into a DataFrame.

    ``policy`` (the config's ``input`` section) sets a CSV file's encoding and separator
    (default: detected); ``text_columns`` are read from CSV as text. How the file was read
    (the encoding and separator chosen) is left in ``attrs[READ_NOTES]`` for the validation
    report. Whatever a file says of itself, its rows count as not validated yet.

    Parameters
    ----------
    path : str or Path
        A CSV file, a Parquet file, or a folder of Parquet files.
    columns : list of str, optional
        Read only these columns.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).
    text_columns : sequence of str
        Columns read from CSV as text, exactly as written.

    Returns
    -------
    pandas.DataFrame
        The rows as read, not validated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("customer_id;revenue\\n0012;3.5\\n")
    >>> frame = read_table(path)
    >>> frame.to_dict("list"), frame.attrs[READ_NOTES]
    ({'customer_id': ['0012'], 'revenue': [3.5]}, ['encoding: utf-8', "separator: ';' (detected)"])
    """
    frame, notes = _read_table(Path(path), columns, policy or InputConfig(), text_columns)
    frame.attrs.pop(VALIDATED, None)  # written by pandas with a validated frame
    frame.attrs[READ_NOTES] = notes
    return frame


#: In a folder of Parquet parts, what pandas keeps in a file's ``attrs`` (the scores' cutoff,
#: horizon and config) as JSON: Spark cannot write it into the parts.
RUN_ATTRIBUTES = "_vipml.json"


def _read_table(
    path: Path, columns: list[str] | None, policy: InputConfig, text_columns: Sequence[str]
) -> tuple[pd.DataFrame, list[str]]:
    if not path.exists():
        raise SchemaError([f"{path} does not exist: check the path"], table=str(path.name))
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise SchemaError(
                [f"folder {path} holds no .parquet files: point to a CSV or Parquet file"],
                table=path.name,
            )
        frame = _read_parquet(files, columns, path.name)
        if (path / RUN_ATTRIBUTES).is_file():  # a Spark run's cutoff and config
            frame.attrs.update(json.loads((path / RUN_ATTRIBUTES).read_text(encoding="utf-8")))
        return frame, []
    if is_parquet(path):
        return _read_parquet(path, columns, path.name), []
    if is_csv(path):
        read = read_csv_file(
            path,
            encoding=policy.encoding,
            separator=policy.csv_separator,
            text_columns=text_columns,
            columns=columns,
        )
        notes = list(read.notes)
        if not any(n.startswith("encoding:") for n in notes):
            notes.insert(0, f"encoding: {read.encoding}")
        if not any(n.startswith("separator:") for n in notes):
            notes.insert(1, f"separator: {read.separator!r}")
        return read.frame, notes
    raise SchemaError(
        [f"{path.name}: unknown file type '{path.suffix}': use .csv or .parquet"], table=path.name
    )


def _read_parquet(source: Any, columns: list[str] | None, name: str) -> pd.DataFrame:
    """``pd.read_parquet`` with its errors (a damaged file, an unknown column) as SchemaError."""
    try:
        return pd.read_parquet(source, columns=columns)
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaError(
            [f"{name} cannot be read as Parquet ({first}): check that the file is complete and "
             "really Parquet (or give the CSV export)"],
            table=name,
        ) from None


def raw_transactions(
    source: str | Path | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    policy: InputConfig | None = None,
) -> pd.DataFrame:
    """The transactions as they come, before validation: a frame, a file or a bundled name.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A frame (returned as it is), a file, or ``cdnow`` / ``cdnow-sample``.
    columns : mapping, optional
        The column mapping (its id columns are read as text).
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        The rows, not validated (the bundled datasets come validated).

    Examples
    --------
    >>> raw = pd.DataFrame({"cust": ["a"]})
    >>> raw_transactions(raw) is raw
    True
    """
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, str) and source in BUNDLED_DATASETS:
        return load_cdnow(sample=source == "cdnow-sample")
    return read_table(source, policy=policy, text_columns=id_column_names(columns))


def read_transactions(
    source: str | Path | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    policy: InputConfig | None = None,
) -> pd.DataFrame:
    """Read and validate transactions from a path, a DataFrame, or a bundled dataset name.

    ``cdnow`` is the full CDNOW log, ``cdnow-sample`` the 1/10 sample (both inside lifetimes).
    ``columns`` maps the file's names to the contract's; ``policy`` is the config's ``input``
    section (rows without a customer, duplicate rows, date format, encoding, separator,
    customer attributes). A frame validated already
    (:func:`vipml.data.schema.is_validated`) is returned as it is.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A file, a frame, or ``cdnow`` / ``cdnow-sample``.
    columns : mapping, optional
        ``{their_name: our_name}``.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        Validated transactions (SchemaError listing every problem otherwise).

    Examples
    --------
    >>> raw = pd.DataFrame({"cust": [1], "day": ["2024-01-02"], "paid": [9.5]})
    >>> read_transactions(raw, {"cust": "customer_id", "day": "timestamp", "paid": "revenue"})
       customer_id  timestamp  revenue
    0            1 2024-01-02      9.5
    """
    if is_validated(source):
        return source
    if isinstance(source, str) and source in BUNDLED_DATASETS:
        return raw_transactions(source)
    frame = raw_transactions(source, columns, policy)
    return validate_transactions(frame, columns, policy)


def read_events(
    source: str | Path | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    policy: InputConfig | None = None,
) -> pd.DataFrame:
    """Read and validate an events table.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A CSV or Parquet file, a folder of Parquet files, or a frame.
    columns : mapping, optional
        ``{their_name: our_name}``.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        Validated events.

    Examples
    --------
    >>> events = pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-02"],
    ...                        "kind": ["Review"]})
    >>> read_events(events)["kind"].tolist()
    ['review']
    """
    frame = source if isinstance(source, pd.DataFrame) else read_table(
        source, policy=policy, text_columns=id_column_names(columns)
    )
    return validate_events(frame, columns, policy)


def read_customers(
    source: str | Path | pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    policy: InputConfig | None = None,
) -> pd.DataFrame:
    """Read and validate a customers table.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A CSV or Parquet file, a folder of Parquet files, or a frame.
    columns : mapping, optional
        ``{their_name: our_name}``.
    policy : InputConfig, optional
        The config's ``input`` section (timestamp format, encoding, separator, ...).

    Returns
    -------
    pandas.DataFrame
        The validated customers table.

    Examples
    --------
    >>> read_customers(pd.DataFrame({"customer_id": [" a", "b"], "region": ["N", "S"]}))
      customer_id region
    0           a      N
    1           b      S
    """
    frame = source if isinstance(source, pd.DataFrame) else read_table(
        source, policy=policy, text_columns=id_column_names(columns)
    )
    return validate_customers(frame, columns, policy)


def parquet_source(source: str | Path | pd.DataFrame) -> Path | None:
    """The path when ``source`` is a Parquet file or a folder of them (read by row groups).

    Parameters
    ----------
    source
        A path, a bundled dataset name or a frame.

    Returns
    -------
    pathlib.Path or None
        The path; None for a frame, a bundled dataset or another kind of file.

    Examples
    --------
    >>> parquet_source("orders.parquet"), parquet_source("orders.csv"), parquet_source("cdnow")
    (PosixPath('orders.parquet'), None, None)
    """
    if isinstance(source, pd.DataFrame) or (
        isinstance(source, str) and source in BUNDLED_DATASETS
    ):
        return None
    path = Path(source)
    return path if path.is_dir() or path.suffix.lower() in (".parquet", ".pq") else None
