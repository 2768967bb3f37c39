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
2. the SHAP vector of every pattern is computed once -- for all ``2**k`` codes at once when
   ``k <= 8``, else for the distinct codes of the chunk -- with the TreeSHAP recursion
   vectorised over patterns and leaves;
3. each row gets its pattern's values by a table look-up, one per feature the tree splits on.

The cost per row and tree is ``k`` comparisons plus a few gathers, instead of the ``O(L·D²)``
TreeSHAP recursion that ``pred_contrib`` runs for every row. Models are parsed from
``booster.model_to_string()``; the parsed tables are cached per model text, so repeated calls
on the same booster do not parse again.

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

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["tree_contributions"]

#: LightGBM's ``kZeroThreshold`` (a ``double`` initialised from the float literal ``1e-35f``).
_K_ZERO = float(np.float32(1e-35))
#: Trees with at most this many internal nodes get a table over all ``2**k`` pattern codes.
_FULL_TABLE_NODES = 8
#: Leaves with at most this many distinct path features get a table over all feature subsets.
_LEAF_TABLE_MAX_FEATURES = 10
#: Rows per batch when computing leaf tables (bounds memory).
_SHAP_BATCH_ROWS = 1 << 18
#: Fewest rows worth a thread of their own.
_MIN_THREAD_ROWS = 4096
#: Bits per code word for trees with more than 63 internal nodes.
_WORD_BITS = 62

# Column variants for numerical splits (see ``_Columns``): what NaN, and the values that
# LightGBM treats as missing, become so that one ``value <= threshold`` decides the split.
_NONE = "none"  # missing type None: NaN -> 0.0
_NAN_RIGHT = "nan_right"  # missing type NaN, default right: NaN stays NaN (compares False)
_NAN_LEFT = "nan_left"  # missing type NaN, default left: NaN -> -inf (compares True)
_ZERO_RIGHT = "zero_right"  # missing type Zero, default right: NaN and zeros -> NaN
_ZERO_LEFT = "zero_left"  # missing type Zero, default left: NaN and zeros -> -inf
_MISSING_TYPES = {0: "None", 1: "Zero", 2: "NaN"}


# --------------------------------------------------------------------------- TreeSHAP kernel


def _unwound_shap(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Path-dependent TreeSHAP weights of one leaf's unique path, vectorised over columns.

    ``z`` and ``o`` (shape ``(u, R)``) are the zero and one fractions of the ``u`` distinct
    features on the path to a leaf (``o`` is 0 or 1), for ``R`` independent cases. Returns
    ``w * (o - z)`` per feature (shape ``(u, R)``): times the leaf value, that feature's SHAP
    contribution. Follows LightGBM's ``ExtendPath``/``UnwoundPathSum`` (``tree.cpp``),
    including its root element of fractions 1.
    """
    u, n = o.shape
    pw = np.zeros((u + 1, n))
    pw[0] = 1.0
    for d in range(1, u + 1):
        zf, of = z[d - 1], o[d - 1]
        for i in range(d - 1, -1, -1):
            pw[i + 1] += of * pw[i] * (i + 1) / (d + 1)
            pw[i] = zf * pw[i] * (d - i) / (d + 1)
    out = np.empty((u, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        for e in range(u):
            one, zero = o[e], z[e]
            next_one = pw[u]
            total_one = np.zeros(n)
            total_zero = np.zeros(n)
            for i in range(u - 1, -1, -1):
                tmp = next_one * (u + 1) / (i + 1)  # one_fraction is 1 where this is used
                total_one += tmp
                next_one = pw[i] - tmp * zero * ((u - i) / (u + 1))
                total_zero += (pw[i] / zero) / ((u - i) / (u + 1))
            out[e] = np.where(one != 0, total_one, total_zero) * (one - zero)
    return out


def _subset_bits(u: int) -> np.ndarray:
    """``(u, 2**u)`` 0/1 float matrix: bit ``j`` of every subset code ``0 .. 2**u - 1``."""
    codes = np.arange(1 << u)
    return ((codes[None, :] >> np.arange(u)[:, None]) & 1).astype(np.float64)


# --------------------------------------------------------------------------- model structure


@dataclass
class _Leaf:
    """One leaf's path, reduced to its distinct features (ordered by last occurrence)."""

    value: float
    features: list[int]  # distinct split features on the path
    zero: list[float]  # their zero fractions (products of cover ratios)
    steps: list[list[tuple[int, bool]]]  # per feature: (node, goes_left) steps on the path
    table: np.ndarray | None = None  # (2**u, u) contributions for every subset of features


@dataclass
class _Tree:
    """One tree: its nodes' split rules and the tables that map patterns to contributions."""

    klass: int
    bias: float  # LightGBM's ExpectedValue()
    node_feature: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))
    node_threshold: np.ndarray = field(default_factory=lambda: np.empty(0))
    node_variant: list[str | None] = field(default_factory=list)  # None for categorical
    node_lut: list[np.ndarray | None] = field(default_factory=list)  # categorical bitset
    leaves: list[_Leaf] = field(default_factory=list)
    features: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))  # used, sorted
    full_table: np.ndarray | None = None  # (len(features), 2**k) for small trees
    # Vectorised pattern -> contribution maps (see _Tree.pattern_table).
    _step_node: np.ndarray | None = None
    _step_left: np.ndarray | None = None
    _group_start: np.ndarray | None = None
    _group_shift: np.ndarray | None = None
    _leaf_group_start: np.ndarray | None = None
    _gather_base: np.ndarray | None = None
    _gather_leaf: np.ndarray | None = None
    _gather_scale: np.ndarray | None = None
    _flat_table: np.ndarray | None = None
    _feature_order: np.ndarray | None = None
    _feature_start: np.ndarray | None = None
    _feature_cols: np.ndarray | None = None
    _deep: list[_Leaf] = field(default_factory=list)  # leaves without a subset table

    @property
    def n_nodes(self) -> int:
        return len(self.node_feature)

    def prepare(self) -> None:
        """Index arrays for :meth:`pattern_table`; full table for small trees."""
        col_of = {f: c for c, f in enumerate(self.features)}
        step_node, step_left, group_start, group_shift, group_feature = [], [], [], [], []
        leaf_group_start, gather_base, gather_leaf, gather_scale = [], [], [], []
        tables, offset, n_groups = [], 0, 0
        tabled = [leaf for leaf in self.leaves if leaf.table is not None]
        self._deep = [leaf for leaf in self.leaves if leaf.table is None]
        for li, leaf in enumerate(tabled):
            u = len(leaf.features)
            leaf_group_start.append(n_groups)
            for j, steps in enumerate(leaf.steps):
                group_start.append(len(step_node))
                for node, left in steps:
                    step_node.append(node)
                    step_left.append(left)
                group_shift.append(j)
                group_feature.append(col_of[leaf.features[j]])
                gather_base.append(offset + j)
                gather_leaf.append(li)
                gather_scale.append(u)
                n_groups += 1
            tables.append(leaf.table.ravel())
            offset += leaf.table.size
            leaf.table = None  # kept in _flat_table
        self._step_node = np.asarray(step_node, np.intp)
        self._step_left = np.asarray(step_left, bool)
        self._group_start = np.asarray(group_start, np.intp)
        self._group_shift = np.asarray(group_shift, np.intp)
        self._leaf_group_start = np.asarray(leaf_group_start, np.intp)
        self._gather_base = np.asarray(gather_base, np.intp)
        self._gather_leaf = np.asarray(gather_leaf, np.intp)
        self._gather_scale = np.asarray(gather_scale, np.intp)
        self._flat_table = np.concatenate(tables) if tables else np.empty(0)
        order = np.argsort(np.asarray(group_feature, np.intp), kind="stable")
        sorted_features = np.asarray(group_feature, np.intp)[order]
        first = np.r_[True, sorted_features[1:] != sorted_features[:-1]] if len(order) else []
        self._feature_order = order
        self._feature_start = np.flatnonzero(first)
        self._feature_cols = sorted_features[self._feature_start]
        if self.n_nodes <= _FULL_TABLE_NODES:
            codes = np.arange(1 << self.n_nodes)
            bits = ((codes[:, None] >> np.arange(self.n_nodes)[None, :]) & 1).astype(bool)
            self.full_table = np.ascontiguousarray(self.pattern_table(bits).T)
            self._flat_table = None  # no longer needed

    def pattern_table(self, bits: np.ndarray) -> np.ndarray:
        """Contributions ``(P, len(features))`` of patterns ``bits`` (``(P, k)``, True = left)."""
        n_patterns = bits.shape[0]
        table = np.zeros((n_patterns, len(self.features)))
        if len(self._group_start):
            match = bits[:, self._step_node] == self._step_left
            present = np.logical_and.reduceat(match, self._group_start, axis=1)
            weighted = present.astype(np.intp) << self._group_shift
            subset = np.add.reduceat(weighted, self._leaf_group_start, axis=1)
            index = self._gather_base + subset[:, self._gather_leaf] * self._gather_scale
            values = self._flat_table[index][:, self._feature_order]
            table[:, self._feature_cols] += np.add.reduceat(values, self._feature_start, axis=1)
        for leaf in self._deep:
            self._add_deep_leaf(leaf, bits, table)
        return table

    def _add_deep_leaf(self, leaf: _Leaf, bits: np.ndarray, table: np.ndarray) -> None:
        """A leaf with too many path features for a subset table: computed per pattern."""
        present = np.ones((bits.shape[0], len(leaf.features)), bool)
        for j, steps in enumerate(leaf.steps):
            for node, left in steps:
                present[:, j] &= bits[:, node] == left
        distinct, inverse = np.unique(present, axis=0, return_inverse=True)
        zero = np.repeat(np.asarray(leaf.zero)[:, None], distinct.shape[0], axis=1)
        values = _unwound_shap(zero, distinct.T.astype(np.float64)) * leaf.value
        cols = np.searchsorted(self.features, leaf.features)
        for j, col in enumerate(cols):
            table[:, col] += values[j][inverse.ravel()]


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()], dtype=np.float64)


def _ints(text: str) -> np.ndarray:
    return np.array([int(v) for v in text.split()], dtype=np.int64)


def _parse_tree(fields: dict[str, str], klass: int) -> _Tree:
    """A ``Tree=`` block of LightGBM's model text (``Tree::ToString``) into a :class:`_Tree`."""
    if int(fields.get("is_linear", "0")):
        raise NotImplementedError("linear trees (linear_tree=True) are not supported")
    n_leaves = int(fields["num_leaves"])
    leaf_value = _floats(fields["leaf_value"])
    if n_leaves == 1:
        return _Tree(klass=klass, bias=float(leaf_value[0]))
    feature = _ints(fields["split_feature"])
    threshold = _floats(fields["threshold"])
    decision = _ints(fields["decision_type"])
    left_child = _ints(fields["left_child"])
    right_child = _ints(fields["right_child"])
    leaf_count = _ints(fields["leaf_count"])
    internal_count = _ints(fields["internal_count"])
    if int(fields.get("num_cat", "0")) > 0:
        cat_boundaries = _ints(fields["cat_boundaries"])
        cat_threshold = _ints(fields["cat_threshold"])

    # ExpectedValue(): sum over leaves in index order, as LightGBM does.
    total = float(internal_count[0])
    bias = 0.0
    for i in range(n_leaves):
        bias += (float(leaf_count[i]) / total) * float(leaf_value[i])
    tree = _Tree(klass=klass, bias=bias, node_feature=feature.astype(np.intp),
                 node_threshold=threshold)

    for node in range(len(feature)):
        dtype = int(decision[node])
        default_left = bool(dtype & 2)
        missing = _MISSING_TYPES[(dtype >> 2) & 3]
        if dtype & 1:  # categorical: bitset of the categories that go left
            cat_idx = int(threshold[node])
            words = cat_threshold[cat_boundaries[cat_idx]:cat_boundaries[cat_idx + 1]]
            bits = ((words[:, None] >> np.arange(32)[None, :]) & 1).astype(bool).ravel()
            tree.node_variant.append(None)
            tree.node_lut.append(np.r_[False, bits, False])  # see _Columns.categorical
        else:
            if missing == "None":
                variant = _NONE
            elif missing == "NaN":
                variant = _NAN_LEFT if default_left else _NAN_RIGHT
            else:
                variant = _ZERO_LEFT if default_left else _ZERO_RIGHT
            tree.node_variant.append(variant)
            tree.node_lut.append(None)

    def count(child: int) -> float:
        return float(internal_count[child] if child >= 0 else leaf_count[~child])

    # Depth-first walk: each leaf's path, reduced as TreeSHAP does (a feature met again is
    # unwound and re-extended at the end of the unique path, its fractions multiplied).
    stack: list[tuple[int, list[tuple[int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        for child, left in ((int(right_child[node]), False), (int(left_child[node]), True)):
            step = [*path, (node, left, count(child) / float(internal_count[node]))]
            if child >= 0:
                stack.append((child, step))
                continue
            order: dict[int, list[tuple[int, bool]]] = {}
            zero: dict[int, float] = {}
            for n, went_left, ratio in step:
                f = int(feature[n])
                steps = order.pop(f, [])
                zero[f] = ratio * zero.get(f, 1.0)
                order[f] = [*steps, (n, went_left)]
            feats = list(order)
            tree.leaves.append(_Leaf(
                value=float(leaf_value[~child]),
                features=feats,
                zero=[zero[f] for f in feats],
                steps=[order[f] for f in feats],
            ))

    tree.features = np.unique(feature).astype(np.intp)
    return tree


def _fill_leaf_tables(trees: list[_Tree]) -> None:
    """Contributions of every feature subset for every leaf, batched by path length."""
    by_u: dict[int, list[_Leaf]] = {}
    for tree in trees:
        for leaf in tree.leaves:
            u = len(leaf.features)
            if u <= _LEAF_TABLE_MAX_FEATURES:
                by_u.setdefault(u, []).append(leaf)
    for u, leaves in by_u.items():
        n_sub = 1 << u
        subsets = _subset_bits(u)
        per_batch = max(1, _SHAP_BATCH_ROWS // n_sub)
        for start in range(0, len(leaves), per_batch):
            batch = leaves[start:start + per_batch]
            zero = np.repeat(np.array([leaf.zero for leaf in batch]).T, n_sub, axis=1)
            one = np.tile(subsets, (1, len(batch)))
            values = _unwound_shap(zero, one)  # (u, len(batch) * n_sub)
            for i, leaf in enumerate(batch):
                block = values[:, i * n_sub:(i + 1) * n_sub] * leaf.value
                leaf.table = np.ascontiguousarray(block.T)


@dataclass
class _TreeTables:
    """A parsed LightGBM model: its trees with their pattern tables, reusable across calls."""

    n_features: int
    n_classes: int  # trees per iteration
    trees: list[_Tree]

    @classmethod
    def from_booster(cls, booster: Any) -> _TreeTables:
        return _tables_from_model_string(booster.model_to_string(num_iteration=-1))

    @classmethod
    def from_model_string(cls, text: str) -> _TreeTables:
        header: dict[str, str] = {}
        blocks: list[dict[str, str]] = []
        current = header
        for line in text.splitlines():
            if line.startswith("Tree="):
                current = {}
                blocks.append(current)
            elif line.startswith("end of trees"):
                break
            elif "=" in line:
                key, value = line.split("=", 1)
                current[key] = value
        if "average_output" in header:
            raise NotImplementedError("averaged models (boosting='rf') are not supported")
        n_classes = int(header.get("num_tree_per_iteration", "1"))
        trees = [_parse_tree(b, klass=i % n_classes) for i, b in enumerate(blocks)]
        _fill_leaf_tables(trees)
        for tree in trees:
            if tree.leaves:
                tree.prepare()
        return cls(n_features=int(header["max_feature_idx"]) + 1, n_classes=n_classes,
                   trees=trees)


@functools.lru_cache(maxsize=4)
def _tables_from_model_string(text: str) -> _TreeTables:
    return _TreeTables.from_model_string(text)


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
        if variant == _NAN_RIGHT or (nan is None and variant in (_NONE, _NAN_LEFT)):
            out = col
        elif variant in (_NONE, _NAN_LEFT):
            out = col.copy()
            out[nan] = 0.0 if variant == _NONE else -np.inf
        else:  # Zero missing type: NaN and zeros go the default way
            missing = col == 0.0
            if nan is not None:
                missing |= nan
            out = col
            if missing.any():
                out = col.copy()
                out[missing] = -np.inf if variant == _ZERO_LEFT else np.nan
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
            raise ValueError("train and prediction data categorical features do not match")
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
        raise ValueError(f"X must be 2-dimensional, got shape {arr.shape}")
    if arr.dtype in (np.float32, np.float64):
        return (lambda f, lo, hi: arr[lo:hi, f]), arr.shape[0], arr.shape[1]
    # LightGBM predicts other dtypes as float32
    return (lambda f, lo, hi: arr[lo:hi, f].astype(np.float32)), arr.shape[0], arr.shape[1]


# --------------------------------------------------------------------------- contributions


def _codes(tree: _Tree, cols: _Columns, n: int) -> list[np.ndarray]:
    """Each row's decision pattern: bit ``i`` set iff the row goes left at node ``i``."""
    k = tree.n_nodes
    if k <= 8:
        dtype: Any = np.uint8
    elif k <= 16:
        dtype = np.uint16
    else:
        dtype = np.uint64
    bits_per_word = k if k <= 63 else _WORD_BITS
    words: list[np.ndarray] = []
    left = np.empty(n, bool)
    shifted = np.empty(n, dtype)
    for node in range(k):
        f = int(tree.node_feature[node])
        variant = tree.node_variant[node]
        if variant is not None:
            np.less_equal(cols.numeric(f, variant), tree.node_threshold[node], out=left)
        else:
            lut = tree.node_lut[node]
            np.take(lut, cols.categorical(f, len(lut) - 2), out=left, mode="clip")
        bit = node % bits_per_word
        if bit == 0:
            words.append(left.astype(dtype))
        else:
            np.multiply(left.view(np.uint8), dtype(1 << bit), out=shifted)
            words[-1] += shifted
    return words


def _distinct(words: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(inverse index per row, bits ``(P, k)`` of the ``P`` distinct patterns)."""
    if len(words) == 1:
        code = words[0]
        if k <= 16:
            present = np.bincount(code, minlength=1 << k) > 0
            distinct = np.flatnonzero(present)
            remap = np.zeros(1 << k, np.intp)
            remap[distinct] = np.arange(len(distinct))
            inverse = remap[code]
        else:
            inverse, distinct = pd.factorize(code)
            distinct = np.asarray(distinct, dtype=np.uint64)
        nodes = np.arange(k, dtype=np.uint64)
        bits = ((distinct.astype(np.uint64)[:, None] >> nodes[None, :]) & np.uint64(1)).astype(bool)
        return np.asarray(inverse, np.intp), bits
    stacked = np.stack(words, axis=1)
    distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
    nodes = np.arange(k)
    word, bit = nodes // _WORD_BITS, (nodes % _WORD_BITS).astype(np.uint64)
    bits = ((distinct[:, word] >> bit[None, :]) & np.uint64(1)).astype(bool)
    return inverse.ravel().astype(np.intp), bits


def _n_trees(booster: Any, tables: _TreeTables, num_iteration: int | None) -> int:
    """Trees that ``predict`` uses: ``best_iteration`` by default, else all."""
    if num_iteration is None:
        num_iteration = int(getattr(booster, "best_iteration", -1) or -1)
    n_all = len(tables.trees)
    if num_iteration > 0:
        return min(num_iteration * tables.n_classes, n_all)
    return n_all


def _explain_rows(
    tables: _TreeTables, trees: list[_Tree], bias: list[float], get_column: Any,
    lo: int, hi: int, out: np.ndarray,
) -> None:
    """Contributions of rows ``lo:hi`` into ``out[lo:hi]``."""
    n = hi - lo
    width = tables.n_features + 1
    cols = _Columns(get_column, lo, hi)
    acc = np.zeros((out.shape[1], n))  # transposed: one contiguous row per output column
    for c in range(tables.n_classes):
        acc[c * width + tables.n_features] = bias[c]
    gathered = np.empty(n)
    for tree in trees:
        if not tree.leaves:  # a single leaf: bias only
            continue
        words = _codes(tree, cols, n)
        if tree.full_table is not None:
            index, table = words[0], tree.full_table
        else:
            index, bits = _distinct(words, tree.n_nodes)
            table = np.ascontiguousarray(tree.pattern_table(bits).T)
        rows = tree.features + tree.klass * width
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
        A trained model (numerical and categorical splits, any missing-value handling; not
        linear trees or ``boosting='rf'``).
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
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be positive, got {n_jobs}")
    booster = getattr(booster, "booster_", booster)  # a fitted LGBMModel
    tables = _TreeTables.from_booster(booster)
    get_column, n_rows, n_cols = _column_getter(X, booster)
    if n_cols != tables.n_features:
        raise ValueError(
            f"X has {n_cols} columns but the model was trained on {tables.n_features} features"
        )
    trees = tables.trees[:_n_trees(booster, tables, num_iteration)]
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
