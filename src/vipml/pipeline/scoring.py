"""Scoring: the model's predictions for every customer at a cutoff, and the scoring service
that every entry point runs (score, population thresholds, segments, reasons)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from vipml.bundle import VipModel
from vipml.config import Config
from vipml.errors import ConfigError, SchemaError, VipmlError, format_examples
from vipml.features import FEATURE_COLUMNS
from vipml.model_inputs import GivenInputs, check_inputs, restrict_to_model
from vipml.pipeline.common import (
    aligned_tables,
    day_of,
    require_transactions,
    up_to,
)
from vipml.pipeline.frames import (
    categorical_attributes,
    customer_attributes_at,
    frame_from_features,
    model_frame,
)
from vipml.pipeline.predict import REASON_COLUMNS, explain, predict_frame
from vipml.segments import INPUT_COLUMNS, assign_segments, segment_thresholds

log = logging.getLogger(__name__)


#: The first columns of the scores table before segmenting: the predictions and their reasons
#: (feature columns follow). Segmenting puts :data:`vipml.segments.SCORE_COLUMNS` first.
PREDICTION_COLUMNS = INPUT_COLUMNS + ("reason_1", "reason_2", "reason_3", "churn_reasons")


def score(
    model: VipModel,
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp | None = None,
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
    explain: bool = True,
    allow_missing: Iterable[str] = (),
    verify_inputs: bool = True,
) -> pd.DataFrame:
    """Score every customer seen up to ``cutoff``: predictions for ``(cutoff, cutoff + horizon]``.

    Parameters
    ----------
    model
        A trained or loaded :class:`VipModel`.
    transactions
        Validated transactions; rows after the cutoff's day are ignored.
    cutoff
        The scoring date; None takes the last date in the data (logged).
    events, customers
        As in :func:`train`. The model's inputs are checked first
        (:mod:`vipml.model_inputs`): an optional column, event kind or customer attribute it
        was trained with and not given here raises
        :class:`~vipml.model_inputs.MissingInputError`; inputs it never saw are left out, with
        a warning.
    profitable_lines
        The most profitable product lines, when the customers are scored in chunks (see
        :func:`vipml.features.build_features`); by default ranked from ``transactions``.
    explain
        Write each customer's reasons (the default). ``False`` leaves the reason columns empty
        and skips the TreeSHAP pass; :func:`explain` fills them later for chosen rows.
    allow_missing
        Names of inputs that may be missing (or ``'events'``, ``'customers'`` for all of that
        table's): they are filled as :data:`vipml.model_inputs.FILLS` says, with a warning.
    verify_inputs
        Check the inputs (the default); False when the caller checked the whole data already
        (a chunk or a Spark partition is scored).

    Returns
    -------
    DataFrame
        One row per customer with a purchase or a return on or before the cutoff, columns
        :data:`PREDICTION_COLUMNS` (``reasons``: the three strongest drivers of ``p_future_vip``
        joined by ``"; "``; ``churn_reasons``: the same for ``p_churn``), then every model
        feature. ``attrs['cutoff']`` holds the cutoff used.

    Examples
    --------
    Scoring needs a trained model (see ``tests/test_pipeline.py``); the inputs are checked first:

    >>> score(None, [1, 2], "1997-12-31")
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: transactions: 1 problem found
      - expected a pandas DataFrame, got list
    """
    require_transactions(transactions)
    events, customers = aligned_tables(transactions, events, customers)
    if verify_inputs:
        given = GivenInputs.of(transactions.columns, events, customers)
        check_model_inputs(model, given, allow_missing, stacklevel=4)
    transactions, events = restrict_to_model(model.needed_inputs, transactions, events)
    if cutoff is None:
        cutoff = day_of(transactions["timestamp"].max())
        log.info("scoring at the last date in the data: %s", f"{cutoff:%Y-%m-%d}")
    cutoff = day_of(cutoff)
    tx = up_to(transactions, cutoff)
    if tx.empty:
        raise VipmlError(
            f"no transaction on or before the cutoff {cutoff:%Y-%m-%d} (the data start on "
            f"{transactions['timestamp'].min():%Y-%m-%d}): nothing to score"
        )
    attrs = None
    if model.attributes:
        table = categorical_attributes(customers)
        attrs = customer_attributes_at(tx, table, cutoff, model.attributes)
    frame = model_frame(
        tx, cutoff, model.horizon, model.btyd, events, attrs, model.config,
        profitable_lines=profitable_lines,
    )
    if list(frame.columns) != model.feature_names:
        raise VipmlError(
            "the features built here differ from the model's: rebuild them with the same "
            "customers table (attributes) as in training"
        )
    out = predict_frame(model, frame, explain=explain)
    out.index.name = "customer_id"
    out = out.reset_index()
    rest = [c for c in out.columns if c not in PREDICTION_COLUMNS]
    out = out[[*PREDICTION_COLUMNS, *rest]]
    out.attrs["cutoff"] = f"{cutoff:%Y-%m-%d}"
    out.attrs["horizon"] = model.horizon
    return out


def score_features(
    model: VipModel, features: pd.DataFrame, *, explain: bool = False
) -> pd.DataFrame:
    """Score customers from their feature rows, one row out per row in, in the same order.

    The per-customer face of :func:`score`: for a table of customers whose features are built
    already (:func:`vipml.spark.build_features` on a cluster, :func:`vipml.features.build_features`
    in pandas), e.g. row by row in ``mlflow.pyfunc.spark_udf``. No segments: they need the
    whole population (:func:`score_customers`).

    Parameters
    ----------
    model
        A trained or loaded :class:`VipModel`.
    features
        ``customer_id`` (a column or the index), the columns of
        :data:`vipml.features.FEATURE_COLUMNS` at the scoring date, and the customer attributes
        the model was trained with (``model.attributes``; a missing value reads ``'unknown'``).
    explain
        Write the reasons (TreeSHAP; off by default, the per-row cost matters here).

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, :data:`PREDICTION_COLUMNS`, then every model feature: the values
        :func:`score` gives the same customers.

    Examples
    --------
    >>> score_features(None, pd.DataFrame({"customer_id": [1]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    vipml.errors.SchemaError: customer features: 1 problem found
      - 42 column(s) missing (frequency, recency, T, monetary_value, orders, ...): build them ...
    """
    table = pd.DataFrame(features)
    if "customer_id" in table.columns:
        table = table.set_index("customer_id")
    table.index.name = "customer_id"
    attributes = list(getattr(model, "attributes", None) or [])
    missing = [c for c in (*FEATURE_COLUMNS, *attributes) if c not in table.columns]
    if missing:
        raise SchemaError(
            [
                f"{len(missing)} column(s) missing ({format_examples(missing)}): build them "
                "with vipml.features.build_features (or vipml.spark.build_features) at the "
                "scoring date, and join the customer attributes the model was trained with"
            ],
            table="customer features",
        )
    frame = frame_from_features(
        table[list(FEATURE_COLUMNS)], model.horizon, model.btyd, model.config,
        table[attributes].astype(object) if attributes else None,
    )
    out = predict_frame(model, frame, explain=explain).reset_index()
    rest = [c for c in out.columns if c not in PREDICTION_COLUMNS]
    return out[[*PREDICTION_COLUMNS, *rest]]


# --------------------------------------------------------------------------------------------
# The scoring service: one sequence for every entry point
# --------------------------------------------------------------------------------------------

#: The per-customer columns the population thresholds read (VIP bar, tiers, dormant CLV bar,
#: predicted-VIP bar): what a partitioned run collects from every part.
POPULATION_COLUMNS = ("customer_id", "spend_12m", "profit_12m", "clv", "clv_profit", "p_future_vip")

#: Whose reasons are written: the customers on a list (every segment but ``regular``), all, none.
REASONS = ("listed", "all", "none")


def check_reasons(reasons: str) -> str:
    """``reasons`` if it is one of :data:`REASONS`, else a :class:`~vipml.errors.ConfigError`.

    Parameters
    ----------
    reasons
        ``'listed'``, ``'all'`` or ``'none'``.

    Returns
    -------
    str
        ``reasons``.

    Examples
    --------
    >>> check_reasons("listed")
    'listed'
    """
    if reasons not in REASONS:
        raise ConfigError(f"reasons={reasons!r}: use one of {', '.join(REASONS)}")
    return reasons


def explain_rows(table: pd.DataFrame, reasons: str) -> np.ndarray:
    """The rows of a segmented table whose reasons ``reasons`` asks for.

    Parameters
    ----------
    table
        A segmented scores table (with ``segment``).
    reasons
        One of :data:`REASONS`.

    Returns
    -------
    numpy.ndarray
        A boolean mask over the rows.

    Examples
    --------
    >>> explain_rows(pd.DataFrame({"segment": ["vip", "regular"]}), "listed").tolist()
    [True, False]
    """
    if reasons == "all":
        return np.ones(len(table), dtype=bool)
    if reasons == "none":
        return np.zeros(len(table), dtype=bool)
    return (table["segment"] != "regular").to_numpy()


def check_model_inputs(
    model: VipModel,
    given: GivenInputs,
    allow_missing: Iterable[str] = (),
    stacklevel: int = 3,
) -> None:
    """Check once, before any part is scored, that the data hold the model's inputs.

    Parameters
    ----------
    model
        The model to score with.
    given
        What the data hold (:class:`~vipml.model_inputs.GivenInputs`).
    allow_missing
        Inputs that may be missing (filled with a warning).
    stacklevel
        Where the warnings point.

    Examples
    --------
    >>> from vipml.model_inputs import GivenInputs  # doctest: +SKIP
    >>> check_model_inputs(model, GivenInputs.of(tx.columns, None, None))  # doctest: +SKIP
    """
    check_inputs(model.needed_inputs, given, allow_missing).report(
        model.config.columns.transactions, stacklevel=stacklevel
    )


def score_part(
    model: VipModel,
    transactions: pd.DataFrame,
    cutoff: pd.Timestamp,
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    profitable_lines: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Step 1, for each part of the customers: the scores without reasons.

    The inputs are checked once for the whole data beforehand (:func:`check_model_inputs`);
    the reasons are left empty (:func:`finish_part` explains the rows that need them).

    Parameters
    ----------
    model
        The model to score with.
    transactions, events, customers
        The part's rows (all of each of its customers' rows).
    cutoff
        The scoring date.
    profitable_lines
        The most profitable product lines of the whole data
        (:func:`vipml.features.profitable_lines`), when the customers are split in parts.

    Returns
    -------
    pandas.DataFrame
        The scores table of :func:`score`, reasons empty.

    Examples
    --------
    See :func:`score_customers`, which runs the three steps on one table.
    """
    return score(
        model, transactions, cutoff, events, customers, profitable_lines=profitable_lines,
        explain=False, verify_inputs=False,
    )


def population_thresholds(
    population: pd.DataFrame,
    config: Config,
    cutoff: pd.Timestamp,
    previous: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Step 2, once over every customer: the thresholds the segments depend on.

    Parameters
    ----------
    population
        :data:`POPULATION_COLUMNS` of every customer scored (all parts together).
    config
        The VIP rules and segments.
    cutoff
        The scoring date.
    previous
        An earlier segmented table (fixed-mode status carried over).

    Returns
    -------
    dict
        The output of :func:`vipml.segments.segment_thresholds`.

    Examples
    --------
    >>> from vipml.config import Config
    >>> table = pd.DataFrame({"customer_id": [1, 2], "spend_12m": [0.0, 10.0],
    ...     "profit_12m": [0.0, 1.0], "clv": [1.0, 2.0], "clv_profit": [0.0, 0.0],
    ...     "p_future_vip": [0.1, 0.2]})
    >>> population_thresholds(table, Config(), pd.Timestamp("2024-01-01"))["vip_threshold"]
    10.0
    """
    columns = [c for c in POPULATION_COLUMNS if c in population.columns]
    return segment_thresholds(population[columns], config, previous=previous, as_of=cutoff)


def finish_part(
    model: VipModel,
    scored: pd.DataFrame,
    config: Config,
    cutoff: pd.Timestamp,
    thresholds: Mapping[str, Any],
    reasons: str,
    *,
    previous: pd.DataFrame | None = None,
    order: Literal["segment", "input"] = "input",
) -> pd.DataFrame:
    """Step 3, for each part: segments with the population's thresholds, then the reasons.

    Parameters
    ----------
    model
        The model that scored the part (it explains the rows).
    scored
        The part's output of :func:`score_part`.
    config
        The VIP rules, segments and treatments.
    cutoff
        The scoring date.
    thresholds
        :func:`population_thresholds` of every customer.
    reasons
        Whose reasons are written (:data:`REASONS`).
    previous
        An earlier segmented table (fixed-mode status carried over).
    order
        ``'input'`` keeps the part's row order; ``'segment'`` sorts by segment and value.

    Returns
    -------
    pandas.DataFrame
        The segmented table of :func:`vipml.segments.assign_segments`, reasons filled for the
        rows ``reasons`` asks for; ``attrs['cutoff']`` is the scoring date.

    Examples
    --------
    See :func:`score_customers`.
    """
    table = assign_segments(
        scored, config, previous=previous, as_of=cutoff, thresholds=thresholds, order=order
    )
    rows = explain_rows(table, reasons)
    if rows.any():
        table = explain(model, table, rows)
    table.attrs["cutoff"] = f"{cutoff:%Y-%m-%d}"
    return table


#: Rows explained (and handed on to be written) at a time by :func:`finish_blocks`.
FINISH_BLOCK_ROWS = 131_072


def finish_blocks(
    model: VipModel,
    scored: pd.DataFrame,
    config: Config,
    cutoff: pd.Timestamp,
    thresholds: Mapping[str, Any],
    reasons: str,
    *,
    attrs: Mapping[str, Any] | None = None,
    block_rows: int = FINISH_BLOCK_ROWS,
) -> tuple[ScoringResult, Iterator[pd.DataFrame]]:
    """Step 3, for one part, a block of rows at a time: :func:`finish_part` (``order='input'``)
    cut into consecutive row blocks, so that a caller can write a block while the next one is
    explained. The blocks put together equal :func:`finish_part`'s table (values, dtypes,
    ``attrs``).

    Parameters
    ----------
    model, scored, config, cutoff, thresholds, reasons
        As in :func:`finish_part`.
    attrs
        Extra ``attrs`` for every block (e.g. the config the scores were made with).
    block_rows
        Rows per block.

    Returns
    -------
    tuple of (ScoringResult, iterator of pandas.DataFrame)
        The part's summary and its blocks, in row order. The segments are assigned to every
        row at once, before the first block; each block is explained as it is taken, and the
        summary's ``explained`` counts the blocks taken so far (read it after the last).

    Examples
    --------
    See ``tests/test_batch.py``: a batch run writes these blocks.
    """
    table = assign_segments(
        scored, config, as_of=cutoff, thresholds=thresholds, order="input"
    )
    rows = explain_rows(table, reasons)
    summary = ScoringResult.of_part(table, cutoff)  # explain changes no score or segment
    summary.explained = 0
    extra = {"cutoff": f"{cutoff:%Y-%m-%d}", **dict(attrs or {})}

    def blocks() -> Iterator[pd.DataFrame]:
        for lo in range(0, len(table), max(int(block_rows), 1)):
            block, mask = table.iloc[lo : lo + block_rows], rows[lo : lo + block_rows]
            if rows.any():  # as finish_part: explained when any row of the part is
                block = explain(model, block, mask)
                if mask.all() and not rows.all():
                    # explain keeps the reason columns' dtype when it fills every row, and
                    # infers it from the values otherwise: as for the whole part
                    for col in REASON_COLUMNS:
                        block[col] = block[col].to_numpy(dtype=object)
            block.attrs.update(extra)
            summary.explained += int(block["reasons"].ne("").sum())
            yield block

    return summary, blocks()


@dataclass
class ScoringResult:
    """What a scoring run produced: the table (in memory) or where it was written, and a
    summary that adds up over parts (chunks, partitions).

    Attributes
    ----------
    cutoff
        The scoring date.
    customers
        Customers scored.
    explained
        Customers whose reasons were written.
    segments
        Customers per segment, largest first.
    total_p_future_vip, total_p_churn
        Sums of the probabilities (the means are properties).
    table
        The segmented scores, when they are kept in memory (:func:`score_customers`).
    out
        Where the scores were written (batch and Spark runs).
    parts, workers
        Parts (customer chunks or Spark buckets) and worker processes of the run.
    engine
        ``'pandas'`` or ``'spark'``.
    model
        The :class:`~vipml.bundle.VipModel` that scored (set by :func:`vipml.jobs.score_files`).

    Examples
    --------
    >>> a = ScoringResult.of_part(pd.DataFrame({"segment": ["vip", "regular"],
    ...     "p_future_vip": [0.5, 0.1], "p_churn": [0.2, 0.4], "reasons": ["x", ""]}),
    ...     pd.Timestamp("2024-01-01"))
    >>> b = a.plus(a)
    >>> b.customers, b.explained, b.segments, round(b.mean_p_churn, 2)
    (4, 2, {'vip': 2, 'regular': 2}, 0.3)
    """

    cutoff: pd.Timestamp
    customers: int = 0
    explained: int = 0
    segments: dict[str, int] = field(default_factory=dict)
    total_p_future_vip: float = 0.0
    total_p_churn: float = 0.0
    table: pd.DataFrame | None = None
    out: str | Path | None = None
    parts: int = 1
    workers: int = 1
    engine: str = "pandas"
    model: Any = None

    @classmethod
    def of_part(cls, table: pd.DataFrame, cutoff: pd.Timestamp) -> ScoringResult:
        """The summary of one finished part (its table is not kept)."""
        counts = table["segment"].value_counts()
        return cls(
            cutoff=cutoff,
            customers=len(table),
            explained=int(table["reasons"].ne("").sum()),
            segments={str(k): int(v) for k, v in counts.items()},
            total_p_future_vip=float(table["p_future_vip"].sum()),
            total_p_churn=float(table["p_churn"].sum()),
        )

    def plus(self, other: ScoringResult) -> ScoringResult:
        """This summary and another part's, added up (segments ordered largest first)."""
        counts = dict(self.segments)
        for name, n in other.segments.items():
            counts[name] = counts.get(name, 0) + n
        return replace(
            self,
            customers=self.customers + other.customers,
            explained=self.explained + other.explained,
            segments=dict(sorted(counts.items(), key=lambda kv: -kv[1])),
            total_p_future_vip=self.total_p_future_vip + other.total_p_future_vip,
            total_p_churn=self.total_p_churn + other.total_p_churn,
        )

    @property
    def mean_p_future_vip(self) -> float:
        """Mean P(future VIP) over the customers scored."""
        return self.total_p_future_vip / max(self.customers, 1)

    @property
    def mean_p_churn(self) -> float:
        """Mean P(churn) over the customers scored."""
        return self.total_p_churn / max(self.customers, 1)

    @property
    def chunks(self) -> int:
        """The number of parts (the name batch scoring uses)."""
        return self.parts


def score_customers(
    model: VipModel,
    transactions: pd.DataFrame,
    cutoff: str | pd.Timestamp | None = None,
    events: pd.DataFrame | None = None,
    customers: pd.DataFrame | None = None,
    *,
    config: Config | None = None,
    reasons: str | None = None,
    allow_missing: Iterable[str] | None = None,
    previous: pd.DataFrame | None = None,
    order: Literal["segment", "input"] = "segment",
    segment: bool = True,
) -> ScoringResult:
    """Score, segment and explain every customer of one table in memory: the whole sequence.

    The same steps as a batch or Spark run, with one part: :func:`check_model_inputs`,
    :func:`score_part`, :func:`population_thresholds`, :func:`finish_part`.

    Parameters
    ----------
    model
        A trained or loaded :class:`~vipml.bundle.VipModel`.
    transactions, events, customers
        Validated tables (as :func:`score`).
    cutoff
        The scoring date; None takes the last date in the data.
    config
        VIP rules, segments, treatments and scoring settings; default the model's.
    reasons
        Whose reasons are written (:data:`REASONS`); default ``config.scoring.reasons``.
    allow_missing
        Inputs that may be missing; default ``config.scoring.allow_missing``.
    previous
        An earlier segmented table (fixed-mode status carried over).
    order
        Row order of the table: ``'segment'`` (default) or ``'input'`` (by score row).
    segment
        Add the segments (the default). ``False`` returns the scores of :func:`score` with the
        reasons ``reasons`` asks for (``'listed'`` means all, as there is no list): for callers
        that score a few customers at a time (the MLflow pyfunc), whose population thresholds
        would be those of the request.

    Returns
    -------
    ScoringResult
        With the segmented scores in ``table``.

    Examples
    --------
    >>> from vipml.config import config_from_dict
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.pipeline import train
    >>> tx = load_cdnow(sample=True)
    >>> model = train(tx, "1997-12-31", "26W", config=config_from_dict(
    ...     {"lightgbm": {"n_estimators": 30, "num_threads": 1}}))
    >>> result = score_customers(model, tx, "1997-12-31", reasons="listed")
    >>> result.customers == len(result.table), result.segments["regular"] > 0
    (True, True)
    """
    config = config or model.config
    reasons = check_reasons(reasons or config.scoring.reasons)
    require_transactions(transactions)
    events, customers = aligned_tables(transactions, events, customers)
    allowed = config.scoring.allow_missing if allow_missing is None else allow_missing
    check_model_inputs(
        model, GivenInputs.of(transactions.columns, events, customers), allowed, stacklevel=4
    )
    if cutoff is None:
        cutoff = day_of(transactions["timestamp"].max())
        log.info("scoring at the last date in the data: %s", f"{cutoff:%Y-%m-%d}")
    when = day_of(cutoff)
    scored = score_part(model, transactions, when, events, customers)
    if not segment:
        table = scored if reasons == "none" else explain(model, scored)
        return ScoringResult(cutoff=when, customers=len(table), table=table, model=model)
    thresholds = population_thresholds(scored, config, when, previous)
    table = finish_part(
        model, scored, config, when, thresholds, reasons, previous=previous, order=order
    )
    result = ScoringResult.of_part(table, when)
    result.table = table
    return result
