"""Compression: customers with identical histories are one row with a weight.

Every likelihood term that depends on fewer variables is computed once per distinct value
(``frequency``, ``T``, ``recency``) or pair (``frequency, T``); predictions are computed once per
distinct history and broadcast back.

Examples
--------
>>> import numpy as np
>>> grid = HistoryGrid(np.array([1.0, 1.0, 0.0]), np.array([2.0, 2.0, 0.0]), np.full(3, 5.0))
>>> len(grid), grid.w.tolist()
(2, [2.0, 1.0])
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = ["HistoryGrid", "group_rows", "weighted_sum"]


def weighted_sum(a: np.ndarray, b: np.ndarray) -> float:
    """Sum of ``a * b`` without BLAS (multi-threaded BLAS stalls on busy machines).

    Parameters
    ----------
    a, b
        Vectors of the same length.

    Returns
    -------
    float
        ``sum(a * b)``.

    Examples
    --------
    >>> import numpy as np
    >>> weighted_sum(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.einsum("i,i->", a, b))


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, uniques)`` in order of appearance.

    Finite floats are hashed through their bits (``+ 0.0`` merges -0.0 into 0.0): equal
    floats have equal bits, and integer hashing is about ten times faster.
    """
    values = np.asarray(values)
    if values.dtype == np.float64:
        codes, uniques = pd.factorize((values + 0.0).view(np.int64), sort=False)
        return np.asarray(codes, dtype=np.int64), np.asarray(uniques).view(np.float64)
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques)


def group_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows with identical values in every column: ``(inverse, first_row)`` of each group.

    Parameters
    ----------
    *columns
        Arrays of the same length.

    Returns
    -------
    tuple of numpy.ndarray
        ``inverse`` (the group of each row, groups numbered in order of appearance) and
        ``first_row`` (the first row of each group).

    Examples
    --------
    >>> import numpy as np
    >>> inverse, first = group_rows(np.array([1.0, 2.0, 1.0]), np.array([0, 0, 0]))
    >>> inverse.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    key = np.zeros(len(columns[0]), dtype=np.int64)
    size = 1
    for col in columns:
        codes, uniques = _codes(col)
        if size * max(len(uniques), 1) >= 2**62:  # pragma: no cover - astronomically many
            key, _ = _codes(key)
            size = int(key.max()) + 1
        key = key * len(uniques) + codes
        size *= max(len(uniques), 1)
    inverse, _ = _codes(key)
    first = np.empty(int(inverse.max()) + 1 if len(inverse) else 0, dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1)
    return inverse, first


class HistoryGrid:
    """Distinct histories ``(x, rec, T)`` with weights, and their distinct parts.

    Attributes computed on demand hold level indices: ``ix`` maps each history to its distinct
    frequency ``ux``; likewise ``iT``/``uT``, ``ir``/``ur``, and the pairs ``(x, T)`` and
    ``(x, rec)`` (``ixT``, ``xT_x``, ``xT_T``; ``ixr``, ``xr_x``, ``xr_r``).

    Parameters
    ----------
    x, rec, T
        Frequency, recency and age of each customer.
    compress
        Merge identical histories into one row with a weight (else one row per customer).
    t
        Each customer's own prediction horizon, if they differ (part of the history's key).
    weights
        Customers per row, when a row stands for several (default one each).

    Examples
    --------
    >>> import numpy as np
    >>> grid = HistoryGrid(np.array([2.0, 2.0]), np.array([3.0, 3.0]), np.array([9.0, 9.0]))
    >>> grid.n, len(grid), grid.broadcast(np.array([0.7])).tolist()
    (2, 1, [0.7, 0.7])
    """

    def __init__(
        self,
        x: np.ndarray,
        rec: np.ndarray,
        T: np.ndarray,
        compress: bool = True,
        t: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ):
        base = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.n = len(x) if weights is None else int(round(float(base.sum())))
        self.inverse: np.ndarray | None
        self.t: np.ndarray | None
        if compress:
            columns = (x, rec, T) if t is None else (x, rec, T, t)
            self.inverse, first = group_rows(*columns)
            self.x, self.rec, self.T = x[first], rec[first], T[first]
            self.t = None if t is None else t[first]
            self.w: np.ndarray = np.bincount(self.inverse, weights=base, minlength=len(first))
        else:
            self.inverse = None
            self.x, self.rec, self.T, self.t = x, rec, T, t
            self.w = base.copy()
        self.cache: dict[str, Any] = {}

    def reweighted(self, w: np.ndarray) -> HistoryGrid:
        """The rows with positive weight in ``w``, with those weights."""
        keep = w > 0
        out = HistoryGrid(self.x[keep], self.rec[keep], self.T[keep], compress=False)
        out.n, out.w = int(w.sum()), w[keep]
        return out

    def scaled(self, scale: float) -> HistoryGrid:
        """The same distinct histories with recency and T multiplied by ``scale``."""
        out = HistoryGrid(self.x, self.rec * scale, self.T * scale, compress=False)
        out.n, out.w = self.n, self.w
        return out

    def __len__(self) -> int:
        return len(self.x)

    def broadcast(self, values: np.ndarray) -> np.ndarray:
        return values if self.inverse is None else values[self.inverse]

    @cached_property
    def _x_levels(self) -> tuple[np.ndarray, np.ndarray]:
        return _codes(self.x)

    @property
    def ix(self) -> np.ndarray:
        return self._x_levels[0]

    @property
    def ux(self) -> np.ndarray:
        return self._x_levels[1]

    @cached_property
    def wx(self) -> np.ndarray:
        return np.bincount(self.ix, weights=self.w, minlength=len(self.ux))

    @cached_property
    def _T_levels(self) -> tuple[np.ndarray, np.ndarray]:
        return _codes(self.T)

    @property
    def iT(self) -> np.ndarray:
        return self._T_levels[0]

    @property
    def uT(self) -> np.ndarray:
        return self._T_levels[1]

    @cached_property
    def _r_levels(self) -> tuple[np.ndarray, np.ndarray]:
        return _codes(self.rec)

    @property
    def ir(self) -> np.ndarray:
        return self._r_levels[0]

    @property
    def ur(self) -> np.ndarray:
        return self._r_levels[1]

    @cached_property
    def _xT(self) -> tuple[np.ndarray, np.ndarray]:
        if self.t is None:
            return group_rows(self.x, self.T)
        return group_rows(self.x, self.T, self.t)

    @property
    def ixT(self) -> np.ndarray:
        return self._xT[0]

    @property
    def xT_x(self) -> np.ndarray:
        return self.x[self._xT[1]]

    @property
    def xT_T(self) -> np.ndarray:
        return self.T[self._xT[1]]

    def xT_t(self, t: float | None) -> float | np.ndarray:
        """The horizon of each (x, T) pair: ``t`` itself, or the rows' own horizons."""
        return t if t is not None else cast(np.ndarray, self.t)[self._xT[1]]

    def row_t(self, t: float | None) -> float | np.ndarray:
        """The horizon of each row: ``t`` itself, or the rows' own horizons."""
        return t if t is not None else cast(np.ndarray, self.t)

    @cached_property
    def _xr(self) -> tuple[np.ndarray, np.ndarray]:
        return group_rows(self.x, self.rec)

    @property
    def ixr(self) -> np.ndarray:
        return self._xr[0]

    @property
    def xr_x(self) -> np.ndarray:
        return self.x[self._xr[1]]

    @property
    def xr_r(self) -> np.ndarray:
        return self.rec[self._xr[1]]
