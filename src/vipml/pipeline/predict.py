"""Predictions and reasons for the rows of a model frame (the classifiers and TreeSHAP)."""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from vipml.bundle import VipModel
from vipml.errors import VipmlError
from vipml.modeling.backtest import (
    TARGETS,
)
from vipml.modeling.blend import apply_blend, blend_columns
from vipml.modeling.classifier import (
    VipClassifier,
)
from vipml.units import cpu_count
from vipml.wording import join_reasons, top_reasons

log = logging.getLogger(__name__)


class TreeInputs:
    """The trees' input matrix of a frame, built once for classifiers that read the same.

    Parameters
    ----------
    frame
        A model frame (:func:`~vipml.pipeline.frames.model_frame`).

    Examples
    --------
    >>> class Stub:
    ...     def tree_input_key(self): return ("orders",)
    ...     def tree_matrix(self, frame): return frame.to_numpy()
    >>> inputs = TreeInputs(pd.DataFrame({"orders": [1.0, 2.0]}))
    >>> inputs.of(Stub()) is inputs.of(Stub())
    True
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.built: dict[tuple, np.ndarray] = {}

    def of(self, classifier: VipClassifier) -> np.ndarray:
        key = classifier.tree_input_key()
        if key not in self.built:
            self.built[key] = classifier.tree_matrix(self.frame)
        return self.built[key]


#: Rows whose trees' input matrix is built at a time when a whole table is scored: a few tens
#: of MB instead of a matrix of the whole table (each row is scored on its own).
BLOCK_ROWS = 65_536


def tree_scores(
    model: VipModel, frame: pd.DataFrame, block_rows: int = BLOCK_ROWS
) -> dict[str, np.ndarray]:
    """Each classifier's trees' raw scores for the rows of a model frame, ``block_rows`` rows at
    a time (the trees' input matrix built once per block for classifiers that read the same).

    The blocks are scored by one LightGBM thread each, in a pool of one thread per core
    (LightGBM runs without the GIL): a core that another process slows down takes fewer
    blocks, where LightGBM's own threads would wait for it at every call.

    Parameters
    ----------
    model
        A trained or loaded :class:`~vipml.bundle.VipModel`.
    frame
        Its input rows (:func:`~vipml.pipeline.frames.model_frame`).
    block_rows
        Rows per block; the scores do not depend on it.

    Returns
    -------
    dict of str to numpy.ndarray
        Per target (``future_vip``, ``churn``), one raw score per row
        (:meth:`~vipml.modeling.classifier.VipClassifier.tree_scores`).

    Examples
    --------
    >>> class Clf:
    ...     def tree_input_key(self): return ()
    ...     def tree_matrix(self, frame): return frame.to_numpy()
    ...     def tree_scores(self, matrix, threads=None): return matrix[:, 0] * 2
    >>> class Model:
    ...     classifiers = {"future_vip": Clf(), "churn": Clf()}
    >>> tree_scores(Model(), pd.DataFrame({"orders": [1.0, 2.0, 3.0]}), block_rows=2)["churn"]
    array([2., 4., 6.])
    """
    out = {target: np.empty(len(frame), dtype=np.float64) for target in TARGETS}
    threads = cpu_count()

    def fill(target: str, lo: int, matrix: np.ndarray) -> None:
        scores = model.classifiers[target].tree_scores(matrix, threads=1)
        out[target][lo : lo + len(matrix)] = scores

    with ThreadPoolExecutor(threads, thread_name_prefix="vipml-trees") as pool:
        pending: deque[Any] = deque()
        for lo in range(0, len(frame), max(int(block_rows), 1)):
            matrices = TreeInputs(frame.iloc[lo : lo + block_rows])
            for target in TARGETS:
                matrix = matrices.of(model.classifiers[target])
                pending.append(pool.submit(fill, target, lo, matrix))
            while len(pending) > 2 * threads:  # a few blocks' matrices at a time
                pending.popleft().result()
        for job in pending:
            job.result()
    return out


def predict_frame(model: VipModel, frame: pd.DataFrame, explain: bool = True) -> pd.DataFrame:
    """Probabilities and reason columns (empty unless ``explain``) for a model frame's rows.

    A probability is the classifier's, or its blend with the rules when training chose the
    safety net (``model.training['blend']``, :mod:`vipml.modeling.blend`).

    Parameters
    ----------
    model
        A trained or loaded :class:`~vipml.bundle.VipModel`.
    frame
        Its input rows (:func:`~vipml.pipeline.frames.model_frame`).
    explain
        Whether to fill the reason columns (a TreeSHAP pass per row).

    Returns
    -------
    pandas.DataFrame
        ``p_future_vip``, ``p_churn``, the reason columns, then the frame's columns.

    Examples
    --------
    >>> class Clf:
    ...     def tree_input_key(self): return ()
    ...     def tree_matrix(self, frame): return frame.to_numpy()
    ...     def tree_scores(self, matrix, threads=None): return matrix[:, 0]
    ...     def predict_proba(self, frame, tree_scores): return 1 / (1 + np.exp(-tree_scores))
    >>> class Model:
    ...     classifiers = {"future_vip": Clf(), "churn": Clf()}
    >>> out = predict_frame(Model(), pd.DataFrame({"orders": [0.0]}), explain=False)
    >>> float(out["p_churn"].iloc[0]), list(out.columns[:3]), list(out.columns[-2:])
    (0.5, ['p_future_vip', 'p_churn', 'reasons'], ['churn_reasons', 'orders'])
    """
    out = pd.DataFrame(index=frame.index)
    trees = tree_scores(model, frame)
    blends = (getattr(model, "training", None) or {}).get("blend") or {}
    for target, column in (("future_vip", "p_future_vip"), ("churn", "p_churn")):
        classifier = model.classifiers[target]
        p = classifier.predict_proba(frame, tree_scores=trees[target])
        blend = blends.get(target) or {}
        if blend.get("use") and len(frame):  # the safety net (vipml.modeling.blend)
            p = apply_blend(blend["state"], blend_columns(frame, p, target), target)
        out[column] = p
    out = pd.concat([out, _reason_columns(model, frame, explain)], axis=1)
    return pd.concat([out, frame], axis=1)


REASON_COLUMNS = ("reasons", "reason_1", "reason_2", "reason_3", "churn_reasons")


def _reason_columns(model: VipModel, frame: pd.DataFrame, explain: bool) -> pd.DataFrame:
    """The reason columns of :data:`REASON_COLUMNS` for the rows of a model frame."""
    out = pd.DataFrame("", index=frame.index, columns=list(REASON_COLUMNS), dtype=object)
    if not explain or frame.empty:
        return out
    matrices = TreeInputs(frame)
    why = {}
    for target in TARGETS:
        classifier = model.classifiers[target]
        contributions = classifier.contributions(frame, matrices.of(classifier))
        why[target] = top_reasons(contributions, frame, k=3)
    out["reasons"] = join_reasons(why["future_vip"])
    for j, col in enumerate(why["future_vip"].columns, start=1):
        out[f"reason_{j}"] = why["future_vip"][col]
    out["churn_reasons"] = join_reasons(why["churn"])
    return out


def explain(
    model: VipModel, scores: pd.DataFrame, rows: np.ndarray | pd.Series | None = None
) -> pd.DataFrame:
    """Fill the reason columns of a scores table, for ``rows`` (a boolean mask) or every row.

    Reasons cost a TreeSHAP pass per customer and model. ``vipml score`` scores everyone
    without them (:func:`score` with ``explain=False``), segments, then explains the customers
    on a list (``scoring.reasons``); other rows keep empty reasons.

    Parameters
    ----------
    model
        The model that made the scores.
    scores
        A table made by :func:`~vipml.pipeline.scoring.score` (reason columns and features).
    rows
        A boolean mask of the rows to explain; ``None`` for every row.

    Returns
    -------
    pandas.DataFrame
        A copy of ``scores`` with the reason columns filled for ``rows``.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.config import config_from_dict
    >>> from vipml.pipeline import score, train
    >>> tx = load_cdnow(sample=True)
    >>> model = train(tx, "1997-12-31", "26W", config=config_from_dict(
    ...     {"lightgbm": {"n_estimators": 30, "num_threads": 1}}))
    >>> plain = score(model, tx, "1997-12-31", explain=False)
    >>> bool((plain["reasons"] == "").all())
    True
    >>> on = plain["p_future_vip"] > 0.5
    >>> full, everyone = explain(model, plain, rows=on), score(model, tx, "1997-12-31")
    >>> bool((full.loc[on, "reasons"] == everyone.loc[on, "reasons"]).all())
    True
    >>> bool((full.loc[~on, "reasons"] == "").all()), bool((everyone["reasons"] != "").any())
    (True, True)
    """
    missing = [c for c in (*model.feature_names, *REASON_COLUMNS) if c not in scores]
    if missing:
        raise VipmlError(
            f"explain: the scores lack {len(missing)} column(s) the model needs "
            f"({', '.join(missing[:5])}): pass a table made by vipml.pipeline.score"
        )
    mask = np.ones(len(scores), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    if len(mask) != len(scores):
        raise VipmlError(f"explain: rows has {len(mask):,} entries for {len(scores):,} scores")
    out = scores.copy(deep=False)  # copy-on-write: only the reason columns are replaced
    chosen = scores.loc[mask, model.feature_names]
    filled = _reason_columns(model, chosen, explain=True)
    for col in REASON_COLUMNS:
        if mask.all():  # every row: the columns exactly as score(explain=True) writes them
            out[col] = filled[col].set_axis(out.index)
            continue
        column = out[col].astype(object).to_numpy(copy=True)
        column[mask] = filled[col].to_numpy()
        out[col] = column
    return out

