"""The tables of fast TreeSHAP: a LightGBM model parsed into trees whose subtrees hold the
contributions of every decision pattern (see :mod:`vipml.modeling.treeshap`).

The TreeSHAP kernel (LightGBM's ``ExtendPath``/``UnwoundPathSum``, vectorised) fills, for each
leaf, the contributions of every subset of the features on its path; a subtree's table sums its
leaves' over the decision patterns of its internal nodes.

Examples
--------
>>> text = "\\n".join(["max_feature_idx=3", "num_tree_per_iteration=1", "end of trees"])
>>> tables = TreeTables.from_model_string(text)
>>> tables.n_features, tables.trees
(4, [])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

__all__ = [
    "Tree",
    "TreeTables",
    "tables_from_model_string",
    "pack_codes",
    "distinct_codes",
    "VARIANT_NONE",
    "VARIANT_NAN_RIGHT",
    "VARIANT_NAN_LEFT",
    "VARIANT_ZERO_RIGHT",
    "VARIANT_ZERO_LEFT",
]

#: Most conditions (code bits) of a subtree with a precomputed table over all its codes.
_PART_BITS = 10
#: Leaves with at most this many distinct path features get a table over all feature subsets.
_LEAF_TABLE_MAX_FEATURES = 10
#: Rows per batch when computing leaf tables (bounds memory).
_SHAP_BATCH_ROWS = 1 << 16

# Column variants for numerical splits (see ``vipml.modeling.treeshap``): what NaN, and the
# values that LightGBM treats as missing, become so that one ``value <= threshold`` decides.
VARIANT_NONE = "none"  # missing type None: NaN -> 0.0
VARIANT_NAN_RIGHT = "nan_right"  # missing type NaN, default right: NaN stays NaN (False)
VARIANT_NAN_LEFT = "nan_left"  # missing type NaN, default left: NaN -> -inf (compares True)
VARIANT_ZERO_RIGHT = "zero_right"  # missing type Zero, default right: NaN and zeros -> NaN
VARIANT_ZERO_LEFT = "zero_left"  # missing type Zero, default left: NaN and zeros -> -inf
_MISSING_TYPES = {0: "None", 1: "Zero", 2: "NaN"}
#: Codes of at most this many bits are made distinct by counting, longer ones by hashing.
_BINCOUNT_BITS = 16
#: Most bits in one code word; longer codes take several words.
_WORD_BITS = 63


# --------------------------------------------------------------------------- TreeSHAP kernel


def _unwound_shap(z: np.ndarray, o: np.ndarray) -> np.ndarray:
    """Path-dependent TreeSHAP weights of one leaf's unique path, vectorised over columns.

    ``z`` and ``o`` (shape ``(u, R)``) are the zero and one fractions of the ``u`` distinct
    features on the path to a leaf (``o`` is 0 or 1), for ``R`` independent cases. Returns
    ``w * (o - z)`` per feature (shape ``(u, R)``): times the leaf value, that feature's SHAP
    contribution. The arithmetic is LightGBM's ``ExtendPath`` and ``UnwoundPathSum``
    (``tree.cpp``, after its root element of fractions 1), operation for operation, with the
    loops over path positions and over features vectorised.
    """
    u, n = o.shape
    pw = np.zeros((u + 1, n))  # permutation weights of the unique path
    pw[0] = 1.0
    for d in range(1, u + 1):  # ExtendPath(unique_depth=d)
        pos = np.arange(d + 1, dtype=np.float64)[:, None]
        old = pw[: d + 1]
        new = z[d - 1] * old * (d - pos) / (d + 1)
        new[1:] += o[d - 1] * old[:-1] * pos[1:] / (d + 1)
        pw[: d + 1] = new
    # UnwoundPathSum(unique_depth=u, path_index=e) for every e at once
    next_one = np.broadcast_to(pw[u], (u, n))
    total_one = np.zeros((u, n))
    total_zero = np.zeros((u, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(u - 1, -1, -1):
            tmp = next_one * (u + 1) / (i + 1)  # / ((i + 1) * one_fraction), used where it is 1
            total_one += tmp
            next_one = pw[i] - tmp * z * ((u - i) / (u + 1))
            total_zero += (pw[i] / z) / ((u - i) / (u + 1))
    return np.where(o != 0, total_one, total_zero) * (o - z)


def _subset_bits(u: int) -> np.ndarray:
    """``(u, 2**u)`` 0/1 float matrix: bit ``j`` of every subset code ``0 .. 2**u - 1``."""
    codes = np.arange(1 << u)
    return ((codes[None, :] >> np.arange(u)[:, None]) & 1).astype(np.float64)


# --------------------------------------------------------------------------- decision codes


def pack_codes(values: list[np.ndarray], n: int) -> list[np.ndarray]:
    """Boolean arrays as the bits of integer codes: one word, or words of ``_WORD_BITS`` bits.

    Parameters
    ----------
    values
        ``k`` boolean arrays (one per condition), each of ``n`` rows.
    n
        Rows.

    Returns
    -------
    list of numpy.ndarray
        The code words (bit ``i`` of a row's code is ``values[i]`` of that row).

    Examples
    --------
    >>> pack_codes([np.array([True, False]), np.array([True, True])], 2)[0].tolist()
    [3, 2]
    """
    k = len(values)
    dtype: Any = np.uint8 if k <= 8 else np.uint16 if k <= 16 else np.uint64
    words: list[np.ndarray] = []
    shifted = np.empty(n, dtype)
    for i, value in enumerate(values):
        bit = i % _WORD_BITS
        if bit == 0:
            words.append(value.astype(dtype))
        else:
            np.multiply(value.view(np.uint8), dtype(1 << bit), out=shifted)
            words[-1] += shifted
    return words


def distinct_codes(words: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """(inverse index per row, bits ``(P, k)`` of the ``P`` distinct codes).

    Parameters
    ----------
    words
        Code words as :func:`pack_codes` makes them.
    k
        Bits per code.

    Returns
    -------
    tuple of numpy.ndarray
        The index of each row's code among the distinct ones, and their bits.

    Examples
    --------
    >>> inverse, bits = distinct_codes([np.array([3, 2, 3], dtype=np.uint8)], 2)
    >>> inverse.tolist(), bits.tolist()
    ([1, 0, 1], [[False, True], [True, True]])
    """
    if len(words) == 1:
        code = words[0]
        if k <= _BINCOUNT_BITS:
            present = np.bincount(code, minlength=1 << k) > 0
            distinct = np.flatnonzero(present).astype(np.uint64)
            remap = np.zeros(1 << k, np.intp)
            remap[present] = np.arange(len(distinct))
            inverse = remap[code]
        else:
            inverse, uniques = pd.factorize(code)
            distinct = np.asarray(uniques, dtype=np.uint64)
        shifts = np.arange(k, dtype=np.uint64)
        bits = ((distinct[:, None] >> shifts[None, :]) & np.uint64(1)).astype(bool)
        return np.asarray(inverse, np.intp), bits
    distinct, inverse = np.unique(np.stack(words, axis=1), axis=0, return_inverse=True)
    bit = np.arange(k)
    shifts = (bit % _WORD_BITS).astype(np.uint64)
    words_of = distinct[:, bit // _WORD_BITS].astype(np.uint64)
    bits = ((words_of >> shifts[None, :]) & np.uint64(1)).astype(bool)
    return inverse.ravel().astype(np.intp), bits


# --------------------------------------------------------------------------- model structure

#: A condition on a row: it agrees with every ``(node, goes_left)`` step of the list.
_Condition = list[tuple[int, bool]]


@dataclass
class _Leaf:
    """One leaf's path, reduced to its distinct features (in LightGBM's unique-path order)."""

    value: float
    features: list[int]  # distinct split features on the path
    zero: list[float]  # their zero fractions (products of cover ratios)
    steps: list[list[tuple[int, bool]]]  # per feature: its (node, goes_left) steps
    table: np.ndarray | None = None  # (2**u, u): contributions for every subset of features


@dataclass
class _Part:
    """The leaves of one subtree and their contributions as a function of ``conditions``.

    A row's code has bit ``c`` set iff it meets ``conditions[c]``; ``table`` (when there are at
    most ``_PART_BITS`` conditions) holds the contributions of every code, one row per entry of
    ``features``.
    """

    conditions: list[_Condition]
    leaves: list[_Leaf]
    # per leaf, per feature: the (condition, required value) pairs its presence needs
    needs: list[list[list[tuple[int, bool]]]]
    features: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))
    table: np.ndarray | None = None
    _index: dict[str, np.ndarray] = field(default_factory=dict)
    _flat_table: np.ndarray | None = None
    _deep: list[int] = field(default_factory=list)  # leaves without a subset table

    def prepare(self) -> None:
        """Index arrays for :meth:`pattern_table`; the full table when small enough."""
        self.features = np.unique([f for leaf in self.leaves for f in leaf.features])
        col_of = {f: c for c, f in enumerate(self.features)}
        keys = "cond req group_start shift leaf_start base leaf scale col".split()
        ix: dict[str, list[int]] = {k: [] for k in keys}
        tables, offset = [], 0
        tabled = [i for i, leaf in enumerate(self.leaves) if leaf.table is not None]
        self._deep = [i for i, leaf in enumerate(self.leaves) if leaf.table is None]
        for li, i in enumerate(tabled):
            leaf = self.leaves[i]
            ix["leaf_start"].append(len(ix["shift"]))
            for j, need in enumerate(self.needs[i]):
                ix["group_start"].append(len(ix["cond"]))
                for cond, req in need:
                    ix["cond"].append(cond)
                    ix["req"].append(req)
                ix["shift"].append(j)
                ix["col"].append(col_of[leaf.features[j]])
                ix["base"].append(offset + j)
                ix["leaf"].append(li)
                ix["scale"].append(len(leaf.features))
            table = cast(np.ndarray, leaf.table)  # tabled leaves have one
            tables.append(table.ravel())
            offset += table.size
        self._index = {k: np.asarray(v, bool if k == "req" else np.intp) for k, v in ix.items()}
        self._flat_table = np.concatenate(tables) if tables else np.empty(0)
        order = np.argsort(self._index["col"], kind="stable")
        sorted_cols = self._index["col"][order]
        first = (
            np.flatnonzero(np.r_[True, sorted_cols[1:] != sorted_cols[:-1]])
            if len(order)
            else np.empty(0, np.intp)
        )
        self._index.update(order=order, col_start=first, cols=sorted_cols[first])
        n_cond = len(self.conditions)
        if n_cond <= _PART_BITS:
            codes = np.arange(1 << n_cond)
            bits = ((codes[:, None] >> np.arange(n_cond)[None, :]) & 1).astype(bool)
            self.table = np.ascontiguousarray(self.pattern_table(bits).T)
            self._flat_table = None
        for leaf in self.leaves:
            leaf.table = None  # copied into _flat_table or table

    def pattern_table(self, bits: np.ndarray) -> np.ndarray:
        """Contributions ``(P, len(features))`` of codes given as ``bits`` (``(P, n_cond)``)."""
        ix = self._index
        table = np.zeros((bits.shape[0], len(self.features)))
        if len(ix["group_start"]):
            match = bits[:, ix["cond"]] == ix["req"]
            present = np.logical_and.reduceat(match, ix["group_start"], axis=1)
            subset = np.add.reduceat(
                present.astype(np.intp) << ix["shift"], ix["leaf_start"], axis=1
            )
            flat = cast(np.ndarray, self._flat_table)  # kept while a leaf needs it
            values = flat[ix["base"] + subset[:, ix["leaf"]] * ix["scale"]]
            table[:, ix["cols"]] += np.add.reduceat(values[:, ix["order"]], ix["col_start"], axis=1)
        for i in self._deep:
            self._add_deep_leaf(i, bits, table)
        return table

    def _add_deep_leaf(self, i: int, bits: np.ndarray, table: np.ndarray) -> None:
        """A leaf with too many path features for a subset table: TreeSHAP per distinct subset."""
        leaf = self.leaves[i]
        u = len(leaf.features)
        present = np.ones((bits.shape[0], u), bool)
        for j, need in enumerate(self.needs[i]):
            for cond, req in need:
                present[:, j] &= bits[:, cond] == req
        inverse, distinct = distinct_codes(pack_codes(list(present.T), len(present)), u)
        zero = np.repeat(np.asarray(leaf.zero)[:, None], distinct.shape[0], axis=1)
        values = _unwound_shap(zero, distinct.T.astype(np.float64)) * leaf.value
        cols = np.searchsorted(self.features, leaf.features)
        for j, col in enumerate(cols):
            table[:, col] += values[j][inverse]


@dataclass
class Tree:
    """One tree: its nodes' split rules and the subtrees (parts) that share tables.

    Attributes
    ----------
    klass
        The class the tree scores (0 unless multiclass).
    bias
        LightGBM's expected value of the tree.
    node_feature, node_threshold, node_variant, node_lut
        Per internal node: the feature split on, the threshold, the column variant (how
        missing values go; ``None`` for a categorical split) and the categorical bitset.
    parts
        The subtrees, each with a table of contributions per decision pattern.

    Examples
    --------
    >>> Tree(klass=0, bias=0.5).parts
    []
    """

    klass: int
    bias: float  # LightGBM's ExpectedValue()
    node_feature: np.ndarray = field(default_factory=lambda: np.empty(0, np.intp))
    node_threshold: np.ndarray = field(default_factory=lambda: np.empty(0))
    node_variant: list[str | None] = field(default_factory=list)  # None for categorical
    node_lut: list[np.ndarray | None] = field(default_factory=list)  # categorical bitset
    parts: list[_Part] = field(default_factory=list)


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split()], dtype=np.float64)


def _ints(text: str) -> np.ndarray:
    return np.array([int(v) for v in text.split()], dtype=np.int64)


def _parse_tree(fields: dict[str, str], klass: int) -> Tree:
    """A ``Tree=`` block of LightGBM's model text (``Tree::ToString``) into a :class:`Tree`."""
    if int(fields.get("is_linear", "0")):
        raise NotImplementedError("linear trees (linear_tree=True) are not supported")
    n_leaves = int(fields["num_leaves"])
    leaf_value = _floats(fields["leaf_value"])
    if n_leaves == 1:
        return Tree(klass=klass, bias=float(leaf_value[0]))
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
    tree = Tree(
        klass=klass, bias=bias, node_feature=feature.astype(np.intp), node_threshold=threshold
    )

    for node in range(len(feature)):
        dtype = int(decision[node])
        default_left = bool(dtype & 2)
        missing = _MISSING_TYPES[(dtype >> 2) & 3]
        if dtype & 1:  # categorical: bitset of the categories that go left
            cat_idx = int(threshold[node])
            words = cat_threshold[cat_boundaries[cat_idx] : cat_boundaries[cat_idx + 1]]
            bits = ((words[:, None] >> np.arange(32)[None, :]) & 1).astype(bool).ravel()
            tree.node_variant.append(None)
            tree.node_lut.append(np.r_[False, bits, False])  # see vipml.modeling.treeshap
        else:
            if missing == "None":
                variant = VARIANT_NONE
            elif missing == "NaN":
                variant = VARIANT_NAN_LEFT if default_left else VARIANT_NAN_RIGHT
            else:
                variant = VARIANT_ZERO_LEFT if default_left else VARIANT_ZERO_RIGHT
            tree.node_variant.append(variant)
            tree.node_lut.append(None)

    def count(child: int) -> float:
        return float(internal_count[child] if child >= 0 else leaf_count[~child])

    def children(node: int) -> tuple[tuple[int, bool], tuple[int, bool]]:
        return (int(left_child[node]), True), (int(right_child[node]), False)

    # Depth-first walk: each leaf's path, reduced as TreeSHAP does (a feature met again is
    # unwound and re-extended at the end of the unique path, its fractions multiplied).
    leaves: dict[int, _Leaf] = {}
    stack: list[tuple[int, list[tuple[int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        for child, left in children(node):
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
            leaves[~child] = _Leaf(
                value=float(leaf_value[~child]),
                features=list(order),
                zero=list(zero[f] for f in order),
                steps=list(order.values()),
            )

    # Internal nodes under each node (post-order), then cut into parts.
    below: dict[int, list[int]] = {}  # node -> internal nodes of its subtree (itself first)
    leaves_below: dict[int, list[int]] = {}
    order_nodes: list[int] = []
    stack2 = [0]
    while stack2:
        node = stack2.pop()
        order_nodes.append(node)
        stack2.extend(c for c, _ in children(node) if c >= 0)
    for node in reversed(order_nodes):
        below[node] = [node]
        leaves_below[node] = []
        for c, _ in children(node):
            if c >= 0:
                below[node] += below[c]
                leaves_below[node] += leaves_below[c]
            else:
                leaves_below[node].append(~c)

    work: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
    while work:
        node, above = work.pop()
        above_features = {int(feature[n]) for n, _ in above}
        if node < 0 or len(above_features) + len(below[node]) <= _PART_BITS:
            tree.parts.append(_make_part(node, above, below, leaves_below, leaves, feature))
        else:
            for child, left in children(node):
                work.append((child, [*above, (node, left)]))
    return tree


def _make_part(
    node: int,
    above: list[tuple[int, bool]],
    below: dict[int, list[int]],
    leaves_below: dict[int, list[int]],
    leaves: dict[int, _Leaf],
    feature: np.ndarray,
) -> _Part:
    """The part of the subtree at ``node`` (``~leaf`` for a leaf), reached by steps ``above``."""
    conditions: list[_Condition] = []
    cond_of_feature: dict[int, int] = {}  # features split on above: agree with all those steps
    for n, left in above:
        f = int(feature[n])
        if f not in cond_of_feature:
            cond_of_feature[f] = len(conditions)
            conditions.append([])
        conditions[cond_of_feature[f]].append((n, left))
    cond_of_node: dict[int, int] = {}  # nodes of the subtree: goes left
    for n in below.get(node, []):
        cond_of_node[n] = len(conditions)
        conditions.append([(n, True)])
    above_nodes = {n for n, _ in above}
    part_leaves = [leaves[i] for i in (leaves_below[node] if node >= 0 else [~node])]
    needs = []
    for leaf in part_leaves:
        per_feature = []
        for steps in leaf.steps:
            need: dict[tuple[int, bool], None] = {}
            for n, left in steps:
                if n in above_nodes:
                    need[(cond_of_feature[int(feature[n])], True)] = None
                else:
                    need[(cond_of_node[n], left)] = None
            per_feature.append(list(need))
        needs.append(per_feature)
    return _Part(conditions=conditions, leaves=part_leaves, needs=needs)


def _fill_leaf_tables(leaves: list[_Leaf]) -> None:
    """Contributions of every feature subset for every leaf, batched by path length."""
    by_u: dict[int, list[_Leaf]] = {}
    for leaf in leaves:
        u = len(leaf.features)
        if u <= _LEAF_TABLE_MAX_FEATURES:
            by_u.setdefault(u, []).append(leaf)
    for u, group in by_u.items():
        n_sub = 1 << u
        subsets = _subset_bits(u)
        per_batch = max(1, _SHAP_BATCH_ROWS // n_sub)
        for start in range(0, len(group), per_batch):
            batch = group[start : start + per_batch]
            zero = np.repeat(np.array([leaf.zero for leaf in batch]).T, n_sub, axis=1)
            one = np.tile(subsets, (1, len(batch)))
            values = _unwound_shap(zero, one)  # (u, len(batch) * n_sub)
            for i, leaf in enumerate(batch):
                block = values[:, i * n_sub : (i + 1) * n_sub] * leaf.value
                leaf.table = np.ascontiguousarray(block.T)


@dataclass
class TreeTables:
    """A parsed LightGBM model: its trees with their tables, reusable across calls.

    Attributes
    ----------
    n_features
        Features of the model.
    n_classes
        Trees per iteration.
    trees
        The trees, in LightGBM's order.

    Examples
    --------
    >>> import lightgbm as lgb
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> booster = lgb.train({"objective": "binary", "num_leaves": 3, "verbose": -1},
    ...                     lgb.Dataset(X, (X[:, 0] > 0).astype(int)), num_boost_round=2)
    >>> tables = TreeTables.from_booster(booster)
    >>> tables.n_features, tables.n_classes, len(tables.trees)
    (2, 1, 2)
    """

    n_features: int
    n_classes: int  # trees per iteration
    trees: list[Tree]

    @classmethod
    def from_booster(cls, booster: Any) -> TreeTables:
        return tables_from_model_string(booster.model_to_string(num_iteration=-1))

    @classmethod
    def from_model_string(cls, text: str) -> TreeTables:
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
        n_classes = int(header.get("num_tree_per_iteration", "1"))
        trees = [_parse_tree(b, klass=i % n_classes) for i, b in enumerate(blocks)]
        parts = [part for tree in trees for part in tree.parts]
        _fill_leaf_tables([leaf for part in parts for leaf in part.leaves])
        for part in parts:
            part.prepare()
        return cls(n_features=int(header["max_feature_idx"]) + 1, n_classes=n_classes, trees=trees)


@functools.lru_cache(maxsize=4)
def tables_from_model_string(text: str) -> TreeTables:
    """The parsed model of ``booster.model_to_string()`` (cached per text).

    Parameters
    ----------
    text
        LightGBM's model text.

    Returns
    -------
    TreeTables
        The trees with their tables.

    Examples
    --------
    >>> tables_from_model_string("max_feature_idx=1").trees
    []
    """
    return TreeTables.from_model_string(text)
