"""Fast exact TreeSHAP for LightGBM models with small trees, by decision patterns.

:func:`tree_contributions` returns the same numbers as LightGBM's
``booster.predict(X, pred_contrib=True)`` (path-dependent TreeSHAP, raw-score space), much
faster when the trees are small (``num_leaves`` up to ~31, typically 7).

The idea: in path-dependent TreeSHAP a row's SHAP vector for one tree depends on the row only
through its *decision pattern* -- at each internal node of the tree, would the row go left or
right. A tree with ``k`` internal nodes has at most ``2**k`` patterns (64 for 7 leaves), so:

1. per tree, each row's pattern is computed with ``k`` vectorised comparisons (LightGBM's exact
   split semantics: missing types ``None``/``Zero``/``NaN``, default directions, categorical
   bitsets) and packed into an integer code;
2. the SHAP vector of every code is computed once per model (TreeSHAP vectorised over codes
   and leaves) and kept in a table;
3. each row gets its pattern's values by table look-ups, one per feature the tree splits on.

The cost per row and tree is ``k`` comparisons plus a few gathers, instead of the ``O(L·D²)``
TreeSHAP recursion that ``pred_contrib`` runs for every row.

Bigger trees would need too big a table, so a tree is cut into subtrees of at most
``_PART_BITS`` conditions each: a subtree's leaves depend on the row only through its own
internal nodes' decisions and, for each feature split on above it, whether the row agrees with
the path to the subtree. Each subtree has its own table; the tree's values are their sum.
(Leaves deeper than that many distinct features are handled per chunk, from the distinct codes
that occur.) Models are parsed from ``booster.model_to_string()`` and the tables are cached per
model text, so repeated calls on the same booster do not parse again.

Examples
--------
>>> import lightgbm as lgb
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(1000, 4))
>>> X[rng.random(X.shape) < 0.1] = np.nan
>>> y = (np.nan_to_num(X[:, 0]) + rng.normal(size=1000) > 0).astype(int)
>>> booster = lgb.train({"objective": "binary", "num_leaves": 7, "verbose": -1},
...                     lgb.Dataset(X, y), num_boost_round=20)
>>> contrib = tree_contributions(booster, X)
>>> contrib.shape
(1000, 5)
>>> bool(np.allclose(contrib, booster.predict(X, pred_contrib=True), rtol=1e-9, atol=1e-9))
True
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import numpy as np
import pandas as pd

from vipml.errors import InvalidArgumentError
from vipml.modeling.tree_tables import (
    VARIANT_NAN_LEFT,
    VARIANT_NAN_RIGHT,
    VARIANT_NONE,
    VARIANT_ZERO_LEFT,
    Tree,
    TreeTables,
    distinct_codes,
    pack_codes,
)

__all__ = ["tree_contributions"]
#: LightGBM's ``kZeroThreshold`` (a ``double`` initialised from the float literal ``1e-35f``).
_K_ZERO = float(np.float32(1e-35))
#: Fewest rows worth a thread of their own.
_MIN_THREAD_ROWS = 4096


# --------------------------------------------------------------------------- input columns


class _Columns:
    """Float64 columns of one chunk of rows, and their per-split-type variants (cached).

    Mirrors how LightGBM feeds a dense row to its trees: values with ``|v| <= kZeroThreshold``
    become 0.0 (they are dropped when the row is made sparse). A numerical split then goes
    left iff ``variant <= threshold``, where the variant maps the values LightGBM sends the
    default way to -inf (default left) or NaN (default right).
    """

    def __init__(self, get_column: Any, lo: int, hi: int) -> None:
        self._get = get_column
        self._lo, self._hi = lo, hi
        self._base: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self._variants: dict[tuple[int, str], np.ndarray] = {}
        self._cat: dict[tuple[int, int], np.ndarray] = {}

    def _raw(self, f: int) -> tuple[np.ndarray, np.ndarray | None]:
        """(column with tiny values zeroed, NaN mask or None when there is no NaN)."""
        if f not in self._base:
            col = np.ascontiguousarray(self._get(f, self._lo, self._hi), dtype=np.float64)
            tiny = np.abs(col) <= _K_ZERO
            tiny &= col != 0.0
            if tiny.any():
                col = col.copy()
                col[tiny] = 0.0
            nan = np.isnan(col)
            self._base[f] = (col, nan if nan.any() else None)
        return self._base[f]

    def numeric(self, f: int, variant: str) -> np.ndarray:
        key = (f, variant)
        if key in self._variants:
            return self._variants[key]
        col, nan = self._raw(f)
        if variant == VARIANT_NAN_RIGHT or (
            nan is None and variant in (VARIANT_NONE, VARIANT_NAN_LEFT)
        ):
            out = col
        elif variant in (VARIANT_NONE, VARIANT_NAN_LEFT):
            out = col.copy()
            out[nan] = 0.0 if variant == VARIANT_NONE else -np.inf
        else:  # Zero missing type: NaN and zeros go the default way
            missing = col == 0.0
            if nan is not None:
                missing |= nan
            out = col
            if missing.any():
                out = col.copy()
                out[missing] = -np.inf if variant == VARIANT_ZERO_LEFT else np.nan
        self._variants[key] = out
        return out

    def categorical(self, f: int, size: int) -> np.ndarray:
        """Per row, its index into a node's ``[False, *bitset(size), False]`` look-up.

        Category ``c`` is at ``c + 1``; NaN, negative and too large values index a False end.
        """
        key = (f, size)
        if key not in self._cat:
            col, _ = self._raw(f)
            # C++ static_cast<int>: truncation; NaN, negatives and >= 2**31 go right.
            valid = (col > -1.0) & (col < 2.0**31)
            index = np.zeros(col.shape, np.intp)
            index[valid] = np.minimum(col[valid], size).astype(np.intp) + 1
            self._cat[key] = index
        return self._cat[key]


def _column_getter(X: Any, booster: Any) -> tuple[Any, int, int]:
    """``(get_column(f, lo, hi), n_rows, n_columns)``: X's values as LightGBM reads them.

    Columns are converted a chunk at a time, so X is never copied whole.
    """
    if isinstance(X, pd.DataFrame):
        series = [X.iloc[:, i] for i in range(X.shape[1])]
        is_cat = [isinstance(s.dtype, pd.CategoricalDtype) for s in series]
        categories = getattr(booster, "pandas_categorical", None)
        if categories is not None and len(categories) != sum(is_cat):
            raise InvalidArgumentError(
                "train and prediction data categorical features do not match"
            )
        todo = iter(categories or [])
        codes: dict[int, np.ndarray] = {}  # categorical columns: LightGBM's codes
        for i, s in enumerate(series):
            if is_cat[i]:
                train_categories = next(todo, None)
                if train_categories is not None and list(s.cat.categories) != list(
                    train_categories
                ):
                    s = s.cat.set_categories(train_categories)
                codes[i] = s.cat.codes.to_numpy()

        def get_df_column(f: int, lo: int, hi: int) -> np.ndarray:
            if f in codes:
                col = codes[f][lo:hi].astype(np.float64)
                col[col < 0] = np.nan
                return col
            return series[f].iloc[lo:hi].to_numpy(dtype=np.float64, na_value=np.nan)

        return get_df_column, X.shape[0], X.shape[1]
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InvalidArgumentError(f"X must be 2-dimensional, got shape {arr.shape}")
    if arr.dtype in (np.float32, np.float64):
        return (lambda f, lo, hi: arr[lo:hi, f]), arr.shape[0], arr.shape[1]
    # LightGBM predicts other dtypes as float32
    return (lambda f, lo, hi: arr[lo:hi, f].astype(np.float32)), arr.shape[0], arr.shape[1]


# --------------------------------------------------------------------------- contributions


def _node_decisions(tree: Tree, cols: _Columns, n: int) -> Any:
    """``agree(node, goes_left)``: per row, does it take that branch of the node (cached)."""
    cache: dict[tuple[int, bool], np.ndarray] = {}

    def agree(node: int, left: bool) -> np.ndarray:
        key = (node, left)
        if key not in cache:
            if not left:
                cache[key] = ~agree(node, True)
            else:
                f = int(tree.node_feature[node])
                variant = tree.node_variant[node]
                out = np.empty(n, bool)
                if variant is not None:
                    np.less_equal(cols.numeric(f, variant), tree.node_threshold[node], out=out)
                else:
                    lut = cast(np.ndarray, tree.node_lut[node])  # categorical split
                    np.take(lut, cols.categorical(f, len(lut) - 2), out=out, mode="clip")
                cache[key] = out
        return cache[key]

    return agree


def _n_trees(booster: Any, tables: TreeTables, num_iteration: int | None) -> int:
    """Trees that ``predict`` uses: ``best_iteration`` by default, else all."""
    if num_iteration is None:
        num_iteration = int(getattr(booster, "best_iteration", -1) or -1)
    n_all = len(tables.trees)
    if num_iteration > 0:
        return min(num_iteration * tables.n_classes, n_all)
    return n_all


def _explain_rows(
    tables: TreeTables,
    trees: list[Tree],
    bias: list[float],
    get_column: Any,
    lo: int,
    hi: int,
    out: np.ndarray,
) -> None:
    """Contributions of rows ``lo:hi`` into ``out[lo:hi]``."""
    n = hi - lo
    width = tables.n_features + 1
    cols = _Columns(get_column, lo, hi)
    acc = np.zeros((out.shape[1], n))  # transposed: one contiguous row per output column
    for c in range(tables.n_classes):
        acc[c * width + tables.n_features] = bias[c]
    gathered = np.empty(n)
    for tree in trees:  # a single-leaf tree has no parts: bias only
        agree = _node_decisions(tree, cols, n)
        for part in tree.parts:
            values = []
            for condition in part.conditions:
                value = agree(*condition[0])
                for step in condition[1:]:
                    value = value & agree(*step)
                values.append(value)
            words = pack_codes(values, n)
            if part.table is not None:
                index, table = words[0], part.table
            else:
                index, bits = distinct_codes(words, len(values))
                table = np.ascontiguousarray(part.pattern_table(bits).T)
            rows = part.features + tree.klass * width
            for j, r in enumerate(rows):
                np.take(table[j], index, out=gathered, mode="clip")
                acc[r] += gathered
    out[lo:hi] = acc.T


def tree_contributions(
    booster: Any,
    X: pd.DataFrame | np.ndarray,
    *,
    chunk_rows: int = 200_000,
    num_iteration: int | None = None,
    n_jobs: int = 1,
) -> np.ndarray:
    """Exact TreeSHAP contributions, equal to ``booster.predict(X, pred_contrib=True)``.

    Parameters
    ----------
    booster : lightgbm.Booster or fitted lightgbm.LGBMModel
        A trained model: numerical and categorical splits, any missing-value handling, any
        boosting type; not linear trees (``linear_tree=True``).
    X : pandas.DataFrame or numpy.ndarray
        Rows to explain, columns in the model's feature order. NaN allowed; pandas
        categorical columns are encoded as LightGBM does (``booster.pandas_categorical``).
    chunk_rows : int, default 200_000
        Rows processed at a time; bounds the work space to a few times
        ``chunk_rows * (n_features + 1)`` float64.
    num_iteration : int, optional
        As in ``Booster.predict``: ``None`` uses ``best_iteration`` when set, else all
        iterations; ``<= 0`` uses all.
    n_jobs : int, default 1
        Threads; each takes a share of every chunk's rows. The result does not depend on it.

    Returns
    -------
    numpy.ndarray
        float64 of shape ``(n_rows, n_features + 1)`` (``n_classes * (n_features + 1)`` for
        multiclass): per-feature contributions to the raw score, last column the expected
        value (bias). Rows sum to ``booster.predict(X, raw_score=True)``.

    Examples
    --------
    >>> import lightgbm as lgb
    >>> X = np.random.default_rng(1).normal(size=(300, 3))
    >>> booster = lgb.train({"objective": "binary", "num_leaves": 4, "verbose": -1},
    ...                     lgb.Dataset(X, (X[:, 1] > 0).astype(int)), num_boost_round=5)
    >>> contrib = tree_contributions(booster, X)
    >>> bool(np.allclose(contrib.sum(axis=1), booster.predict(X, raw_score=True)))
    True
    """
    if chunk_rows < 1:
        raise InvalidArgumentError(f"chunk_rows must be positive, got {chunk_rows}")
    if n_jobs < 1:
        raise InvalidArgumentError(f"n_jobs must be positive, got {n_jobs}")
    booster = getattr(booster, "booster_", booster)  # a fitted LGBMModel
    tables = TreeTables.from_booster(booster)
    get_column, n_rows, n_cols = _column_getter(X, booster)
    if n_cols != tables.n_features:
        raise InvalidArgumentError(
            f"X has {n_cols} columns but the model was trained on {tables.n_features} features"
        )
    trees = tables.trees[: _n_trees(booster, tables, num_iteration)]
    bias = [0.0] * tables.n_classes
    for tree in trees:  # summed in tree order, as LightGBM does
        bias[tree.klass] += tree.bias
    out = np.empty((n_rows, tables.n_classes * (tables.n_features + 1)))
    blocks = []
    for lo in range(0, n_rows, chunk_rows):
        hi = min(lo + chunk_rows, n_rows)
        parts = max(1, min(n_jobs, (hi - lo) // _MIN_THREAD_ROWS))
        edges = np.linspace(lo, hi, parts + 1).astype(int)
        blocks.append(list(zip(edges[:-1], edges[1:], strict=True)))

    def run(block: tuple[int, int]) -> None:
        _explain_rows(tables, trees, bias, get_column, block[0], block[1], out)

    if n_jobs == 1:
        for chunk in blocks:
            for block in chunk:
                run(block)
    else:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            for chunk in blocks:
                list(pool.map(run, chunk))
    return out
