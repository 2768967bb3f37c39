"""Whatever bytes arrive as a transactions CSV, the reader and the contract answer with a
SchemaError (or a clean frame), never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vipml.config import InputConfig
from vipml.data.io import read_transactions
from vipml.errors import SchemaError

FOLDER = Path(tempfile.mkdtemp(prefix="vipml-random-files-"))
HEADERS = [b"customer_id,timestamp,revenue\n", b"c;t;q;p\n", b"", b"\xef\xbb\xbfcustomer_id,t\n"]
CELLS = st.sampled_from(
    [b"1", b"007", b"", b'"', b",", b";", b"\n", b"\r\n", b"\t", b"01/02/2010 10:00",
     b"13/01/2010", b"2024-01-01", b"-3,5", b"1,234.50", b"\xe9", b"\x00", b"NA", b"nan"]
)
MAPPINGS = st.sampled_from(
    [None, {"c": "customer_id", "t": "timestamp", "q": "quantity", "p": "unit_price"}]
)
POLICIES = st.builds(
    InputConfig,
    rows_without_customer=st.sampled_from(["error", "drop"]),
    duplicate_rows=st.sampled_from(["keep", "drop"]),
    encoding=st.sampled_from(["auto", "utf-8", "cp1252"]),
    separator=st.sampled_from(["auto", ",", ";"]),
)


def _read(data: bytes, mapping, policy) -> None:
    path = FOLDER / "tx.csv"
    path.write_bytes(data)
    try:
        frame = read_transactions(path, mapping, policy)
    except SchemaError:
        return
    assert {"customer_id", "timestamp", "revenue"} <= set(frame.columns)
    assert len(frame)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=300), mapping=MAPPINGS, policy=POLICIES)
def test_random_bytes_only_ever_raise_schema_error(data, mapping, policy):
    _read(data, mapping, policy)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(HEADERS),
    cells=st.lists(CELLS, max_size=60),
    mapping=MAPPINGS,
    policy=POLICIES,
)
def test_csv_like_bytes_only_ever_raise_schema_error(header, cells, mapping, policy):
    _read(header + b"".join(cells), mapping, policy)
