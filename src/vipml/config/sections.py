"""The sections of the settings: one frozen dataclass each, every field with its default.

:class:`Config` holds them all; :func:`vipml.config.config_from_dict` builds one from plain
data, checking every key and value.

Examples
--------
>>> Config().labels.vip_top_pct, Config().vip.tiers[0]
(0.1, TierConfig(name='gold', min_value=0.9))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from vipml.config.treatments import DEFAULT_TREATMENTS, TreatmentRule

__all__ = [
    "ColumnsConfig",
    "InputConfig",
    "FeaturesConfig",
    "BtydConfig",
    "LabelsConfig",
    "TrainingConfig",
    "LightGBMConfig",
    "VipConfig",
    "TierConfig",
    "SegmentsConfig",
    "ScoringConfig",
    "TrackingConfig",
    "Config",
]


@dataclass(frozen=True)
class ColumnsConfig:
    """Map the user's column names onto vipml's contract (``their_name: our_name``).

    Attributes
    ----------
    transactions, events, customers
        The mapping of each table's columns.

    Examples
    --------
    >>> ColumnsConfig(transactions={"Amount": "revenue"}).transactions
    {'Amount': 'revenue'}
    """

    transactions: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    customers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InputConfig:
    """How a raw export is read: what to do with rows vipml cannot use as they are, and the
    file's dialect. Every default is safe (nothing dropped, nothing guessed), and ``vipml
    validate`` reports each choice with its row count.

    Attributes
    ----------
    rows_without_customer
        Rows with an empty customer id (guest orders): an ``error``, or ``drop`` them (the rows
        and the revenue dropped are reported).
    duplicate_rows
        Rows that exactly repeat another row: ``keep`` them (with a warning) or ``drop`` them.
    timestamp_format
        ``auto``: ISO 8601 and unambiguous formats are read, ambiguous day/month orders are an
        error; or a strftime format such as ``'%d/%m/%Y %H:%M'``.
    encoding
        CSV text encoding: ``auto`` tries UTF-8 (with or without BOM), then cp1252, then
        latin-1 and says which it used; or a codec name such as ``cp1252``.
    separator
        CSV field separator: ``auto`` detects ``,`` ``;`` tab or ``|``; or the character
        (``tab`` for a tab).
    customer_attributes
        Columns of the transaction rows that describe the customer (country, segment,
        region): each becomes a customer attribute, the value on the customer's latest row up
        to the cutoff, used like a customers-table attribute (a customers table wins for the
        same name).

    Examples
    --------
    >>> from vipml.config import config_from_dict
    >>> config_from_dict({"input": {"rows_without_customer": "drop",
    ...                             "customer_attributes": ["Country"]}}).input.customer_attributes
    ('Country',)
    """

    rows_without_customer: Literal["error", "drop"] = "error"
    duplicate_rows: Literal["keep", "drop"] = "keep"
    timestamp_format: str = "auto"
    encoding: str = "auto"
    separator: str = "auto"
    customer_attributes: tuple[str, ...] = ()

    @property
    def csv_separator(self) -> str:
        """The separator as a character (``tab`` spelled out becomes ``\\t``)."""
        return "\t" if self.separator.lower() in ("tab", "\\t") else self.separator


@dataclass(frozen=True)
class FeaturesConfig:
    """Feature windows and fill-ins.

    Attributes
    ----------
    default_margin_rate
        Gross margin assumed where the data carry no ``cost`` column (the output flags it).
    top_lines_share
        Share of categories (ranked by margin rate) counted as the 'most profitable lines'.
    windows_days
        The short, medium and long activity windows (about 3, 6 and 12 months).

    Examples
    --------
    >>> FeaturesConfig().windows_days
    (91, 182, 365)
    """

    default_margin_rate: float = 0.3
    top_lines_share: float = 0.3
    windows_days: tuple[int, ...] = (91, 182, 365)


@dataclass(frozen=True)
class BtydConfig:
    """Lifetime-value models.

    Attributes
    ----------
    model
        The purchase model: ``bgnbd``, ``pareto_nbd``, ``mbgnbd`` or ``auto``.
    freq
        Period purchases are aggregated into (lifetimes' ``freq``).
    time_unit
        Unit recency and T are expressed in (the published CDNOW tables use weeks).
    penalizers
        Penalizer schedule tried in order when a fit fails or parameters run away.
    discount_rate_monthly
        Monthly discount rate of the CLV.
    clv_months
        Months the CLV covers.

    Examples
    --------
    >>> BtydConfig().model, BtydConfig().penalizers[:2]
    ('bgnbd', (0.0, 0.001))
    """

    model: Literal["bgnbd", "pareto_nbd", "mbgnbd", "auto"] = "bgnbd"
    freq: Literal["D", "W"] = "D"
    time_unit: Literal["D", "W"] = "W"
    penalizers: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
    discount_rate_monthly: float = 0.01
    clv_months: int = 12


@dataclass(frozen=True)
class LabelsConfig:
    """Targets in (cutoff, cutoff + horizon].

    Attributes
    ----------
    horizon
        The label window (:func:`vipml.config.parse_duration`).
    vip_top_pct
        A future VIP is in the top share of customers by value in the horizon.
    vip_fixed_amount
        When set, a future VIP is anyone whose value in the horizon exceeds this amount.
    churn_active_days
        Customers with a purchase in this many days before the cutoff can churn.

    Examples
    --------
    >>> LabelsConfig().horizon
    '26W'
    """

    horizon: str = "26W"
    vip_top_pct: float = 0.1
    vip_fixed_amount: float | None = None
    churn_active_days: int = 365


@dataclass(frozen=True)
class TrainingConfig:
    """Rolling historical cutoffs stacked into one training set.

    Attributes
    ----------
    cutoff_step
        Time between two historical cutoffs.
    max_cutoffs
        Label windows stacked: the latest (ending at the training cutoff) validates, others
        train.
    min_history_days
        A historical cutoff needs this many days of data before it.
    seed
        Random seed.
    max_customers
        Customers whose rows train the classifiers, per window. Above it, a fixed hash sample
        of ``customer_id`` (the same customers in every window) is used: the features are
        built for the sample only, while the BTYD fit, the profitable lines and the label
        thresholds still use every customer. LightGBM learns no better from millions of rows
        than from a few hundred thousand, and training time is proportional. ``null``: every
        customer.
    validation_share
        Share of customers (by a hash of customer_id) held out of the training windows; their
        rows in the latest window validate. Label windows overlap, so validating on customers
        the trees trained on would reward memorising their futures.
    selection_windows
        Out-of-time model selection: up to this many older windows whose label windows end
        before the validation window starts (``c + horizon <= latest cutoff``) train a
        selection model; its validation rows pick the number of trees and the safety net's
        blend, so no choice is judged on a future the training labels saw. The final model
        then trains on the usual windows with those choices. When the history is too short for
        such a window (or ``0``), the choices are judged on the held-out customers of the
        latest window, whose future overlaps the training labels, and the bundle says so.
    linear_prior
        ``false`` (default): LightGBM on every feature, ages and lifetime totals included.
        ``true``: LightGBM boosted from a logistic regression on a few monotone transforms
        (``vipml.modeling.classifier.BASE_TERMS``), with ages and lifetime totals
        (``TIME_SCALE_COLUMNS``) fed to the prior only, so the scores extrapolate to older
        customers than training saw. Chosen out of time: on 8 real backtests (CDNOW at 2
        cutoffs, Online Retail II at 6) the trees alone, blended with the rules by the safety
        net, beat the best rule's future-VIP AP by 0.010 to 0.021 (mean 0.015), against
        -0.008 to 0.015 (mean 0.005) with the prior (see docs/training.md).
    class_weight
        Class imbalance: weigh each class to parity (calibration restores the probabilities).
    calibration
        Probability calibration on the latest (validation) window: Platt, isotonic or none.

    Examples
    --------
    >>> TrainingConfig().max_cutoffs, TrainingConfig().calibration
    (6, 'sigmoid')
    """

    cutoff_step: str = "4W"
    max_cutoffs: int = 6
    min_history_days: int = 90
    seed: int = 42
    max_customers: int | None = 200_000
    validation_share: float = 0.3
    selection_windows: int = 3
    linear_prior: bool = False
    class_weight: Literal["balanced", "none"] = "balanced"
    calibration: Literal["sigmoid", "isotonic", "none"] = "sigmoid"


@dataclass(frozen=True)
class LightGBMConfig:
    """LightGBM hyperparameters (binary objective).

    Attributes
    ----------
    num_leaves, learning_rate, min_child_samples, feature_fraction, bagging_fraction, \
bagging_freq, lambda_l2, early_stopping_rounds
        LightGBM's parameters of those names.
    n_estimators
        Most boosting rounds; early stopping on the validation window picks the number.
    num_threads
        0: LightGBM's default (all cores).

    Examples
    --------
    >>> LightGBMConfig().num_leaves
    7
    """

    num_leaves: int = 7
    learning_rate: float = 0.1
    n_estimators: int = 2000
    min_child_samples: int = 200
    feature_fraction: float = 0.9
    bagging_fraction: float = 0.9
    bagging_freq: int = 1
    lambda_l2: float = 10.0
    early_stopping_rounds: int = 50
    num_threads: int = 0


@dataclass(frozen=True)
class TierConfig:
    """One VIP tier: a name and its lower bound.

    With ``vip.tier_by: quantile`` the bound is a quantile of value among the VIPs (``0.9``: the
    top 10% of VIPs); with ``amount`` it is an amount of value in the window. A VIP below every
    bound lands in the lowest tier.

    Attributes
    ----------
    name
        The tier's name.
    min_value
        Its lower bound.

    Examples
    --------
    >>> TierConfig("gold", 0.9)
    TierConfig(name='gold', min_value=0.9)
    """

    name: str
    min_value: float


@dataclass(frozen=True)
class VipConfig:
    """Who is a VIP now (see :func:`vipml.segments.assign_segments`).

    ``fixed``: value in the window at or above ``threshold``; a status once granted holds for
    ``term_days`` and is then re-evaluated (pass the previous run's table as ``previous``).
    ``dynamic``: the top ``top_pct`` of all scored customers by value, re-evaluated at each run.

    Attributes
    ----------
    mode
        ``fixed`` or ``dynamic``.
    value
        What makes a VIP: ``spend_12m`` or ``profit_12m`` (and ``clv`` or ``clv_profit``).
    window_days
        The activity window of ``spend_12m`` / ``profit_12m`` (computed by the scorer).
    threshold
        Fixed mode: a VIP's value in the window is at least this amount.
    top_pct
        Dynamic mode: the top share of customers by value at each run.
    term_days
        Fixed mode: how long a status holds before it is re-evaluated (about 10 months).
    tier_by
        Tier bounds are ``quantile`` of value among VIPs or ``amount`` of value.
    tiers
        From the highest bound to the lowest; the lowest is the entry tier.
    currency
        Currency symbol used in treatment messages, the spreadsheet and the report.

    Examples
    --------
    >>> [tier.name for tier in VipConfig().tiers]
    ['gold', 'silver', 'bronze']
    """

    mode: Literal["fixed", "dynamic"] = "dynamic"
    value: Literal["spend", "profit"] = "spend"
    window_days: int = 365
    threshold: float = 1000.0
    top_pct: float = 0.1
    term_days: int = 304
    tier_by: Literal["quantile", "amount"] = "quantile"
    tiers: tuple[TierConfig, ...] = (
        TierConfig("gold", 0.9),
        TierConfig("silver", 0.6),
        TierConfig("bronze", 0.0),
    )
    currency: str = "$"


@dataclass(frozen=True)
class SegmentsConfig:
    """Thresholds of the marketer lists (one segment per customer, first match wins).

    ``at_risk_vip``: VIP now, ``p_churn >= at_risk_min_p_churn`` and still alive enough to save
    (``p_alive >= lapsed_max_p_alive``); ``lapsed_vip``: VIP now with ``p_alive`` below that
    floor (win back, no gifts); ``vip``: every other VIP; ``predicted_vip``: not VIP, among
    the top ``predicted_vip_top_pct`` of non-VIPs by ``p_future_vip`` and at least
    ``predicted_vip_min_lift`` times their mean ``p_future_vip`` (the base rate); ``near_vip``:
    not VIP, value short of the VIP threshold by at most ``near_vip_gap_pct`` of it;
    ``dormant_high_potential``: not VIP, no purchase for ``dormant_days`` and CLV at or above
    the ``dormant_min_clv_quantile`` quantile of all customers; ``regular``: everyone else.

    Attributes
    ----------
    predicted_vip_top_pct
        Capacity of the predicted-VIP list: this share of the non-VIP customers, the most
        likely first (ties at the boundary are all in).
    predicted_vip_min_lift
        A predicted VIP's ``p_future_vip`` is at least this many times the non-VIPs' mean.
    predicted_vip_min_p
        An absolute floor on ``p_future_vip`` for the predicted-VIP list (0: none).
    near_vip_gap_pct
        Near-VIP: value within this share below the VIP threshold.
    at_risk_min_p_churn
        An at-risk VIP's ``p_churn`` is at least this.
    lapsed_max_p_alive
        A VIP whose ``p_alive`` is below this is lapsed (``lapsed_vip``), not at risk.
    dormant_days, dormant_min_clv_quantile
        The dormant high-potential rule (see above).
    full_price_min_share
        A full-price buyer: at least this share of spend at full price
        (``full_price_share``). A rule with ``offers_discount: true`` never applies to one, nor
        where the share is unknown.

    Examples
    --------
    >>> SegmentsConfig().predicted_vip_top_pct
    0.02
    """

    predicted_vip_top_pct: float = 0.02
    predicted_vip_min_lift: float = 2.0
    predicted_vip_min_p: float = 0.0
    near_vip_gap_pct: float = 0.25
    at_risk_min_p_churn: float = 0.5
    lapsed_max_p_alive: float = 0.2
    dormant_days: int = 180
    dormant_min_clv_quantile: float = 0.8
    full_price_min_share: float = 0.8


#: Transaction rows per customer chunk when ``scoring.chunks`` is ``auto``.
ROWS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class ScoringConfig:
    """Batch scoring.

    Attributes
    ----------
    chunks
        Number of customer chunks (ranges of customer_id); each is scored whole in memory.
        ``auto`` (the default): one chunk per :data:`ROWS_PER_CHUNK` transaction rows (4M,
        about 1.2M customers and 3 GiB of memory on this 2-core reference machine), counted
        from a Parquet input's metadata or after reading any other input; one chunk up to
        that size.
    workers
        Processes scoring chunks side by side; 0: one per core, at most one per chunk. Each
        holds one chunk in memory, so peak memory grows with it; the output does not change.
    reasons
        Whose reasons ``vipml score`` writes: the customers on a list (``listed``: every
        segment but ``regular``, the ones marketers see), ``all``, or ``none``. Each explained
        customer costs a TreeSHAP pass per model; the probabilities are computed for everyone
        either way.
    allow_missing
        Inputs the model was trained with that may be missing when scoring (a transaction
        column, an event kind, a customer attribute; ``events`` or ``customers`` for all of
        that table's): they are filled with defaults, with a warning. Any other missing input
        is an error (:mod:`vipml.model_inputs`).

    Examples
    --------
    >>> ScoringConfig().reasons
    'listed'
    """

    chunks: int | Literal["auto"] = "auto"
    workers: int = 0
    reasons: Literal["listed", "all", "none"] = "listed"
    allow_missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackingConfig:
    """MLflow tracking.

    Attributes
    ----------
    enabled
        Log runs to MLflow (``--no-tracking`` turns it off for one command).
    experiment
        The MLflow experiment.
    registered_model
        The registry name of the models logged.
    promote_metric
        The metric ``vipml promote`` compares.

    Examples
    --------
    >>> TrackingConfig().registered_model
    'vipml'
    """

    enabled: bool = True
    experiment: str = "vipml"
    registered_model: str = "vipml"
    promote_metric: str = "future_vip_average_precision"


@dataclass(frozen=True)
class Config:
    """Every setting of vipml, with its default.

    Attributes
    ----------
    columns, input, features, btyd, labels, training, lightgbm, vip, segments, scoring, \
tracking
        The sections (:class:`ColumnsConfig`, :class:`InputConfig`, ...).
    treatments
        The treatment rules, tried in order (:data:`~vipml.config.DEFAULT_TREATMENTS`).

    Examples
    --------
    >>> cfg = Config()
    >>> cfg.labels.vip_top_pct, cfg.vip.mode
    (0.1, 'dynamic')
    """

    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    input: InputConfig = field(default_factory=InputConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    btyd: BtydConfig = field(default_factory=BtydConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    lightgbm: LightGBMConfig = field(default_factory=LightGBMConfig)
    vip: VipConfig = field(default_factory=VipConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    treatments: tuple[TreatmentRule, ...] = DEFAULT_TREATMENTS
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
