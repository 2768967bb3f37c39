"""Which kind of table file a path names, by its suffix: CSV (plain or gzipped) or Parquet.

Examples
--------
>>> is_csv("orders.csv.gz"), is_parquet("orders.csv.gz")
(True, False)
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CSV_SUFFIXES", "PARQUET_SUFFIXES", "is_csv", "is_parquet"]

#: Suffixes of the files read (and written) as CSV.
CSV_SUFFIXES = (".csv", ".txt", ".csv.gz", ".tsv")
#: Suffixes of the files read (and written) as Parquet.
PARQUET_SUFFIXES = (".parquet", ".pq")


def is_csv(path: str | Path) -> bool:
    """Whether ``path`` names a CSV file (``.csv``, ``.txt``, ``.csv.gz``, ``.tsv``).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    bool
        True for a CSV suffix, in any case.

    Examples
    --------
    >>> is_csv("Export.TSV"), is_csv("model.json")
    (True, False)
    """
    return any(Path(path).name.lower().endswith(ext) for ext in CSV_SUFFIXES)


def is_parquet(path: str | Path) -> bool:
    """Whether ``path`` names a Parquet file (``.parquet``, ``.pq``).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    bool
        True for a Parquet suffix, in any case.

    Examples
    --------
    >>> is_parquet("scores.PQ")
    True
    """
    return Path(path).suffix.lower() in PARQUET_SUFFIXES
