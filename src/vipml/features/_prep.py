"""Shared preparation of a transaction log for the feature builders (internal).

Every feature family works on the same arrays: the rows on or before the cutoff's day, with the
customer factorized into codes ``0..n-1`` (codes follow the sorted customer ids) and the rows
sorted by customer, then day (rows of one customer and day keep their input order).
:func:`prepare` builds them once; the families read them and never touch pandas group-bys,
so every per-customer aggregate is a ``np.bincount`` or a slice at group boundaries.

Row kinds
---------
A row is a **return** when ``is_return`` is true or its revenue is negative (a refund); every
other row, including zero-revenue rows, is a **purchase**. A return refunds ``abs(revenue)``
and gives back goods worth ``abs(cost)``, whatever the sign the data use.

Orders
------
With an ``order_id`` column, purchase rows of one customer sharing an ``order_id`` form one
order (order lines), dated by its first line; without it, every purchase row is an order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from vipml.units import NS_PER_DAY

log = logging.getLogger(__name__)


def cutoff_day(cutoff: str | pd.Timestamp) -> int:
    """The cutoff's day as whole days since 1970-01-01."""
    return int(pd.Timestamp(cutoff).normalize().value // NS_PER_DAY)


def day_end_ns(day: int) -> int:
    """The first nanosecond after ``day`` (rows strictly before it belong to the day or earlier)."""
    return (int(day) + 1) * NS_PER_DAY


def timestamps_ns(values: pd.Series | np.ndarray) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch."""
    return np.asarray(values, dtype="datetime64[ns]").view(np.int64)


def sorted_codes(ids: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """Factorize ids into codes that follow the sorted unique ids.

    Hash-factorizing without sorting and then sorting only the uniques is faster than
    ``pd.factorize(sort=True)`` on millions of rows.
    """
    codes, uniques = pd.factorize(ids, sort=False)
    order = np.argsort(np.asarray(uniques), kind="stable")
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order), dtype=np.intp)
    return rank[codes], pd.Index(uniques).take(order).rename("customer_id")


def group_sort(ids: pd.Series, day: np.ndarray) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Sort rows by ``(customer, day, row)`` and factorize the customers.

    Returns the permutation, the customer code of each sorted row (codes ``0..n-1`` follow the
    sorted ids) and the sorted unique ids. The sort is one ``np.sort`` of packed int64 keys
    ``(customer, day, row number)``, an order of magnitude faster than ``argsort``; integer
    ids spanning a small enough range are packed as they are, other ids are factorized first.
    Rows of one customer and day keep their input order.
    """
    n_rows = len(ids)
    if n_rows == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty, pd.Index(ids, name="customer_id")
    values = np.asarray(ids)
    day_lo = int(day.min())
    span = int(day.max()) - day_lo + 1
    bits = max(int(n_rows - 1).bit_length(), 1)
    group = None
    uniques = None
    if values.dtype.kind == "i":
        lo = int(values.min())
        if (int(values.max()) - lo + 1) * span < 2 ** (63 - bits):
            group = values - lo
    if group is None:
        group, uniques = sorted_codes(ids)
        if len(uniques) * span >= 2 ** (63 - bits):  # too wide to pack: lexsort
            perm = np.lexsort((day, group))
            return perm, group[perm], uniques
    key = group.astype(np.int64) * span
    key += day - day_lo
    key <<= bits
    key |= np.arange(n_rows, dtype=np.int64)
    key.sort()
    perm = (key & ((1 << bits) - 1)).astype(np.intp)
    key >>= bits
    key //= span  # the customer part
    new = np.ones(n_rows, dtype=bool)
    np.not_equal(key[1:], key[:-1], out=new[1:])
    code = np.cumsum(new, dtype=np.intp) - 1
    if uniques is None:
        first_rows = perm[new]
        taken = ids.take(first_rows) if isinstance(ids, pd.Series) else values[first_rows]
        uniques = pd.Index(taken, name="customer_id")
    return perm, code, uniques


def group_starts(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts and start offsets of each group in arrays sorted by ``codes``."""
    counts = np.bincount(codes, minlength=n)
    starts = np.cumsum(counts) - counts
    return counts, starts


def group_first_last(
    values: np.ndarray, codes: np.ndarray, n: int, fill: float | int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """First and last value of each group (arrays sorted by ``codes``); ``fill`` for empties."""
    counts, starts = group_starts(codes, n)
    has = counts > 0
    first = np.full(n, fill, dtype=np.result_type(values.dtype, np.asarray(fill).dtype))
    last = first.copy()
    first[has] = values[starts[has]]
    last[has] = values[starts[has] + counts[has] - 1]
    return first, last


def group_max(values: np.ndarray, codes: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    """Largest value per group (arrays sorted by ``codes``); ``fill`` for empty groups."""
    counts, starts = group_starts(codes, n)
    out = np.full(n, fill, dtype=np.float64)
    has = counts > 0
    if has.any():
        out[has] = np.maximum.reduceat(values, starts[has])
    return out


def group_median(values: np.ndarray, codes: np.ndarray, n: int, fill: float = 0.0) -> np.ndarray:
    """Median per group (arrays sorted by ``codes``); ``fill`` for empty groups.

    Groups of one or two values need no sort. The rows of larger groups are sorted by
    ``(code, value)`` in one ``np.sort``: of packed int64 keys for integer values, of complex
    numbers ``code + 1j * value`` (ordered lexicographically) for floats.
    """
    counts, starts = group_starts(codes, n)
    out = np.full(n, fill, dtype=np.float64)
    one = counts == 1
    out[one] = values[starts[one]]
    two = counts == 2
    out[two] = 0.5 * (values[starts[two]] + values[starts[two] + 1])
    big = counts >= 3
    if not big.any():
        return out
    rows = big[codes]
    sub_codes, sub_values = codes[rows], values[rows]
    if values.dtype.kind in "iu":
        lo = int(sub_values.min())
        width = int(sub_values.max()) - lo + 1
        if n * width < 2**62:
            key = sub_codes.astype(np.int64) * width + (sub_values - lo)
            key.sort()
            ordered = (key % width + lo).astype(np.float64)
        else:
            ordered = sub_values[np.lexsort((sub_values, sub_codes))].astype(np.float64)
    else:
        ordered = np.sort(sub_codes + 1j * sub_values.astype(np.float64)).imag
    sub_counts = counts[big]
    sub_starts = np.cumsum(sub_counts) - sub_counts
    lower = ordered[sub_starts + (sub_counts - 1) // 2]
    upper = ordered[sub_starts + sub_counts // 2]
    out[big] = 0.5 * (lower + upper)
    return out


def safe_ratio(num: np.ndarray, den: np.ndarray, fill: float) -> np.ndarray:
    """``num / den`` where ``den > 0``, else ``fill``."""
    out = np.full(np.shape(num), fill, dtype=np.float64)
    ok = den > 0
    np.divide(num, den, out=out, where=ok)
    return out


@dataclass
class Orders:
    """Purchase orders, sorted by (customer, first day)."""

    code: np.ndarray
    day: np.ndarray
    revenue: np.ndarray


@dataclass
class Prepared:
    """The rows on or before the cutoff's day, sorted by ``(customer, day, input row)``.

    Attributes hold one entry per row; ``customers`` lists the ids of codes ``0..n-1``.
    Optional columns are ``None`` when the data lack them.
    """

    cutoff_day: int
    customers: pd.Index
    code: np.ndarray
    ns: np.ndarray
    day: np.ndarray
    revenue: np.ndarray
    is_return: np.ndarray
    cost: np.ndarray | None
    list_price: np.ndarray | None
    category: np.ndarray | None
    category_names: pd.Index | None
    order: np.ndarray | None
    product: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of customers."""
        return len(self.customers)

    @cached_property
    def purchase(self) -> np.ndarray:
        """Mask of purchase rows."""
        return ~self.is_return

    @cached_property
    def p_code(self) -> np.ndarray:
        """Customer codes of purchase rows."""
        return self.code[self.purchase]

    @cached_property
    def p_day(self) -> np.ndarray:
        """Days of purchase rows."""
        return self.day[self.purchase]

    @cached_property
    def p_revenue(self) -> np.ndarray:
        """Revenue of purchase rows."""
        return self.revenue[self.purchase]

    @cached_property
    def first_row_day(self) -> np.ndarray:
        """Day of each customer's first row (purchase or return)."""
        first, _ = group_first_last(self.day, self.code, self.n)
        return first

    @cached_property
    def first_purchase_day(self) -> np.ndarray:
        """Day of each customer's first purchase; the first row's day when there is none."""
        counts = np.bincount(self.p_code, minlength=self.n)
        first, _ = group_first_last(self.p_day, self.p_code, self.n)
        return np.where(counts > 0, first, self.first_row_day)

    @cached_property
    def signed_revenue(self) -> np.ndarray:
        """Revenue with refunds negative (``-abs(revenue)`` on return rows)."""
        return np.where(self.is_return, -np.abs(self.revenue), self.revenue)

    def signed_cost(self, default_margin: float) -> tuple[np.ndarray, np.ndarray]:
        """Cost of goods per row (negative on returns) and a mask of rows whose cost was assumed.

        Where ``cost`` is missing, ``revenue * (1 - default_margin)`` is assumed.
        """
        assumed_cost = self.signed_revenue * (1.0 - default_margin)
        if self.cost is None:
            return assumed_cost, np.ones(len(self.code), dtype=bool)
        missing = np.isnan(self.cost)
        cost = np.where(self.is_return, -np.abs(self.cost), self.cost)
        return np.where(missing, assumed_cost, cost), missing

    @cached_property
    def orders(self) -> Orders:
        """Purchase orders (order lines joined by ``order_id``, else one row per order)."""
        if self.order is None:
            return Orders(self.p_code, self.p_day, self.p_revenue)
        index, n_orders = self.order_index(self.purchase)
        first = first_occurrences(index)
        return Orders(
            self.p_code[first],
            self.p_day[first],
            np.bincount(index, weights=self.p_revenue, minlength=n_orders),
        )

    def order_index(self, mask: np.ndarray) -> tuple[np.ndarray, int]:
        """Order number (in order of first appearance) of each masked row, and the count.

        Lines of one order are usually adjacent in the sorted rows (same customer and day):
        then runs of equal ``(customer, order_id)`` are the orders, checked by one sort of
        the run keys; otherwise the keys are hash-factorized.
        """
        assert self.order is not None
        code = self.code[mask].astype(np.int64)
        order = self.order[mask]
        if len(code) == 0:
            return np.zeros(0, dtype=np.intp), 0
        new = np.ones(len(code), dtype=bool)
        new[1:] = (code[1:] != code[:-1]) | (order[1:] != order[:-1])
        width = int(order.max()) + 1
        if (int(code[-1]) + 1) * width >= 2**62:  # densify the order codes first
            order = pd.factorize(order)[0].astype(np.int64)
            width = int(order.max()) + 1
        run_keys = np.sort(code[new] * width + order[new])
        if not (run_keys[1:] == run_keys[:-1]).any():
            index = np.cumsum(new, dtype=np.intp) - 1
            return index, len(run_keys)
        index, uniques = pd.factorize(code * width + order)
        return index, len(uniques)


def first_occurrences(index: np.ndarray) -> np.ndarray:
    """Positions where a factorized code appears for the first time (codes in appearance order)."""
    if len(index) == 0:
        return np.arange(0, dtype=np.intp)
    running = np.maximum.accumulate(index)
    new = np.ones(len(index), dtype=bool)
    new[1:] = running[1:] > running[:-1]
    return np.flatnonzero(new)


def _order_codes(column: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Non-negative int64 codes of ``order_id`` at ``rows`` (equal ids, equal codes)."""
    values = column.to_numpy()
    if values.dtype.kind in "iu" and len(rows):
        picked = values[rows].astype(np.int64)
        lo, hi = int(picked.min()), int(picked.max())
        if hi - lo < 2**40:
            return picked - lo
    return pd.factorize(column)[0][rows].astype(np.int64)


def prepare(
    transactions: pd.DataFrame, cutoff: str | pd.Timestamp, minimal: bool = False
) -> Prepared:
    """Select, factorize and sort the rows on or before ``cutoff``'s day (see module docs).

    With ``minimal``, the optional columns (cost, list price, category, order id, product id)
    are skipped:
    enough for the BTYD summary.
    """
    day0 = cutoff_day(cutoff)
    ns = timestamps_ns(transactions["timestamp"])
    keep = ns < day_end_ns(day0)
    ids = transactions["customer_id"]
    if keep.all():
        kept = None
    else:
        kept = np.flatnonzero(keep)
        ids, ns = ids.iloc[kept], ns[kept]
    day = ns // NS_PER_DAY
    perm, code, customers = group_sort(ids, day)
    ns, day = ns[perm], day[perm]
    rows = perm if kept is None else kept[perm]  # positions in `transactions`

    def column(name: str) -> np.ndarray | None:
        if name not in transactions or (minimal and name != "revenue"):
            return None
        return transactions[name].to_numpy(dtype=np.float64, na_value=np.nan)[rows]

    revenue = column("revenue")
    assert revenue is not None
    is_return = revenue < 0
    if "is_return" in transactions:
        is_return |= transactions["is_return"].to_numpy(dtype=bool)[rows]
    category = category_names = None
    if "category" in transactions and not minimal:
        codes, names = pd.factorize(transactions["category"].fillna("unknown"))
        codes = codes[rows]
        # only the categories seen up to the cutoff, in sorted order
        labels = np.asarray(names, dtype=object).astype(str)
        seen = np.flatnonzero(np.bincount(codes, minlength=len(labels)))
        seen = seen[np.argsort(labels[seen], kind="stable")]
        remap = np.full(len(labels), -1, dtype=np.intp)
        remap[seen] = np.arange(len(seen))
        category = remap[codes]
        category_names = pd.Index(labels[seen])
    order = product = None
    if "order_id" in transactions and not minimal:
        order = _order_codes(transactions["order_id"], rows)
    if "product_id" in transactions and not minimal:
        product = pd.factorize(transactions["product_id"].fillna(""))[0][rows].astype(np.int64)
    return Prepared(
        cutoff_day=day0,
        customers=customers,
        code=code,
        ns=ns,
        day=day,
        revenue=revenue,
        is_return=is_return,
        cost=column("cost"),
        list_price=column("list_price"),
        category=category,
        category_names=category_names,
        order=order,
        product=product,
    )


@dataclass
class Events:
    """Events of known customers in a time range: code, kind, cost and day per event."""

    code: np.ndarray
    kind_code: np.ndarray
    kind_names: np.ndarray
    cost: np.ndarray
    day: np.ndarray

    def of_kind(self, kind: str) -> np.ndarray:
        """Mask of the events of one kind."""
        hits = np.flatnonzero(self.kind_names == kind)
        if len(hits) == 0:
            return np.zeros(len(self.code), dtype=bool)
        return self.kind_code == hits[0]


def event_codes(
    events: pd.DataFrame | None, customers: pd.Index, end_ns: int, start_ns: int | None = None
) -> Events:
    """Events in ``[start_ns, end_ns)`` of the ``customers`` (others are dropped).

    Missing ``cost`` values (or a missing ``cost`` column) count as 0.
    """
    if events is None or len(events) == 0 or len(customers) == 0:
        empty = np.zeros(0, dtype=np.intp)
        names = np.zeros(0, dtype=object)
        return Events(empty, empty, names, np.zeros(0), empty.astype(np.int64))
    ns = timestamps_ns(events["timestamp"])
    keep = ns < end_ns
    if start_ns is not None:
        keep &= ns >= start_ns
    rows = np.flatnonzero(keep)
    codes = customers.get_indexer(events["customer_id"].iloc[rows])
    known = codes >= 0
    if len(rows) and not known.any():
        log.warning(
            "none of %d events matches a customer with transactions (event ids such as %r, "
            "transaction ids such as %r): are the customer_id types the same?",
            len(rows),
            events["customer_id"].iloc[rows[0]],
            customers[0],
        )
    rows = rows[known]
    kind_code, kind_names = pd.factorize(events["kind"])
    if "cost" in events:
        cost = events["cost"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
        cost = np.nan_to_num(cost, nan=0.0)
    else:
        cost = np.zeros(len(rows), dtype=np.float64)
    return Events(
        codes[known],
        kind_code[rows],
        np.asarray(kind_names, dtype=object),
        cost,
        ns[rows] // NS_PER_DAY,
    )
