"""Simulate a retail transaction log from known processes, and return the truth.

:func:`simulate` draws customers, their purchases, spend, discounts, categories, returns and
non-purchase events from documented processes, fully vectorised with numpy (no per-customer
Python loop), so that every model in vipml can be judged against the truth it should recover.

Processes
---------
**Acquisition.** Customer ``i`` is born on a uniformly drawn day in
``[start, start + acquisition_days]`` (default: the first half of the window) and makes its first
purchase at birth: as in BG/NBD, time zero is the first purchase.

**Purchasing is exactly BG/NBD** (Fader, Hardie & Lee 2005), time unit = one week:
``lambda_ ~ Gamma(shape r, rate alpha)``, ``p_dropout ~ Beta(a, b)``; while active, the waiting
time to the next purchase is ``Exponential(lambda_)``; after every *repeat* purchase the customer
becomes inactive with probability ``p_dropout``. There is no dropout at time zero: this is the
BG/NBD likelihood that ``lifetimes.BetaGeoFitter`` maximises (``(1 - p)^x`` for ``x`` repeat
purchases) and the process of ``lifetimes.generate_data.beta_geometric_nbd_model``; a dropout at
time zero would be the MBG/NBD. Acquisition channel and region do **not** touch this process, so a
BG/NBD fit recovers ``r, alpha, a, b`` (daily aggregation, recency and T in weeks). Purchases are
generated in *rounds*: each round draws the next purchase of every still-active customer at once.
Time of day follows a daytime-heavy profile (few orders at night, peaks at lunch and in the
evening) through a monotone map of the time within each day (days counted from ``start``, so
give a midnight ``start`` for a calendar profile), so days (hence the daily BG/NBD
summary) and the order of events are unchanged; several purchases on one day are possible.

**Spend is Gamma-Gamma times documented factors.** ``nu ~ Gamma(shape q, rate gamma)`` per
customer and each order's base value ``z ~ Gamma(shape p, rate nu)``. The amount paid is
``revenue = z * channel spend factor * region spend factor`` (:data:`CHANNELS`,
:data:`REGIONS`), so ``params["gamma_gamma"]`` is the *base* process and
``truth["mean_spend"] = p / nu * spend_factor``. A discount never changes the amount paid: it
raises ``list_price = revenue / (1 - discount)`` and so the cost of goods, cutting the margin.

**Discounts.** ``discount_only`` customers (about 15%; 45% of marketplace customers, 4% of
referral customers) buy only on discount, 20-40% off. Everyone else buys on discount with a
per-customer probability ``discount_rate ~ Beta(1.2, 6) * channel discount factor``, 10-30% off.

**Categories and margin.** Six product lines (:data:`CATEGORIES`) with their own margin rate; each
customer has a Dirichlet preference over them that depends on the channel (referral and organic
customers lean to vinyl, apparel and accessories, the high-margin lines; marketplace customers to
electronics and gift cards). ``cost = list_price * (1 - margin)``.

**Returns.** ``return_propensity`` is ``Beta(1, 25)`` (mean 4%) for most customers and
``Beta(4, 8)`` (mean 33%) for heavy returners (10-25% of a channel, see :data:`CHANNELS`), times a
region factor; an order is returned with probability ``propensity * category return factor``
(capped at 0.95). A return is an extra row ``1 + Gamma(2, 4)`` days after the order, with
``is_return=True``, the order's ``order_id`` and negated ``revenue``, ``cost``, ``list_price``
and ``quantity``.

**Events** (Poisson processes over the active life, birth to dropout or the horizon end, with
uniform times; rates per week): support tickets ``0.0005 + lambda_ * (0.05 + 0.8 *
return_propensity)`` costing 5-25 each; referrals ``0.05 * lambda_ * mean_spend / (p * gamma / q)
* channel referral factor``; reviews ``lambda_ * review_propensity`` with
``review_propensity ~ Beta(0.6, 4)``; user-generated content at a quarter of the review rate.

**Time.** ``start``, ``end`` and the horizon end ``end + horizon_days`` are instants:
``transactions`` and ``events`` hold rows with ``start <= timestamp <= end``;
``future_transactions`` holds the rows in ``(end, end + horizon_days]``, the window that
``labels(tx, cutoff=end, horizon)`` reads. With the default midnight ``end``, the day ``end``
itself lies after the observation window.

Truth columns ``future_*`` summarise ``(end, end + horizon_days]``: ``future_purchases`` (orders),
``future_gross_revenue`` (orders only), ``future_revenue`` (net of refunds in the horizon),
``future_support_cost`` and ``future_profit`` (net revenue - net cost - support cost).

Examples
--------
>>> sim = simulate(200, seed=1)
>>> sim.truth["customer_id"].is_unique and len(sim.truth) == 200
True
>>> bool((sim.transactions["timestamp"] <= pd.Timestamp("2024-12-31")).all())
True
>>> sorted(sim.params["bgnbd"])
['a', 'alpha', 'b', 'r']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vipml.data.writers import write_table, write_text
from vipml.errors import ConfigError
from vipml.units import NS_PER_DAY

__all__ = ["CHANNELS", "REGIONS", "CATEGORIES", "Simulation", "simulate", "save_simulation"]

#: Acquisition channels: population share, spend factor (on the amount paid), probability of a
#: ``discount_only`` customer, factor on the occasional-discount rate, probability of a heavy
#: returner, referral-rate factor, and Dirichlet category preference (order of CATEGORIES).
CHANNELS: dict[str, dict[str, Any]] = {
    "organic": {
        "share": 0.25, "spend_factor": 1.25, "discount_only_prob": 0.06, "discount_factor": 0.8,
        "heavy_returner_prob": 0.10, "referral_factor": 1.5,
        "category_pref": [2.0, 0.8, 1.2, 1.6, 1.6, 0.4],
    },
    "paid_search": {
        "share": 0.22, "spend_factor": 0.95, "discount_only_prob": 0.12, "discount_factor": 1.0,
        "heavy_returner_prob": 0.12, "referral_factor": 1.0,
        "category_pref": [1.0, 1.4, 1.0, 1.0, 1.0, 0.6],
    },
    "social": {
        "share": 0.18, "spend_factor": 0.80, "discount_only_prob": 0.18, "discount_factor": 1.2,
        "heavy_returner_prob": 0.25, "referral_factor": 1.0,
        "category_pref": [0.8, 0.8, 0.6, 2.0, 1.4, 0.6],
    },
    "referral": {
        "share": 0.10, "spend_factor": 1.50, "discount_only_prob": 0.04, "discount_factor": 0.6,
        "heavy_returner_prob": 0.08, "referral_factor": 2.5,
        "category_pref": [2.2, 0.7, 1.2, 1.6, 1.8, 0.3],
    },
    "email": {
        "share": 0.10, "spend_factor": 1.10, "discount_only_prob": 0.12, "discount_factor": 1.5,
        "heavy_returner_prob": 0.10, "referral_factor": 1.0,
        "category_pref": [1.2, 1.0, 1.2, 1.2, 1.2, 0.8],
    },
    "marketplace": {
        "share": 0.15, "spend_factor": 0.75, "discount_only_prob": 0.45, "discount_factor": 1.8,
        "heavy_returner_prob": 0.20, "referral_factor": 0.3,
        "category_pref": [0.6, 2.2, 1.0, 0.8, 0.6, 1.4],
    },
}

#: Regions: population share, spend factor and return-propensity factor.
REGIONS: dict[str, dict[str, float]] = {
    "north": {"share": 0.22, "spend_factor": 1.05, "return_factor": 1.0},
    "south": {"share": 0.20, "spend_factor": 0.90, "return_factor": 1.0},
    "east": {"share": 0.20, "spend_factor": 1.10, "return_factor": 1.0},
    "west": {"share": 0.20, "spend_factor": 1.00, "return_factor": 1.0},
    "online_only": {"share": 0.18, "spend_factor": 0.95, "return_factor": 1.5},
}

#: Product lines: margin rate (share of list price kept), return factor, typical unit price.
CATEGORIES: dict[str, dict[str, float]] = {
    "vinyl": {"margin": 0.40, "return_factor": 0.6, "unit_price": 25.0},
    "electronics": {"margin": 0.12, "return_factor": 1.3, "unit_price": 120.0},
    "books": {"margin": 0.25, "return_factor": 0.5, "unit_price": 15.0},
    "apparel": {"margin": 0.55, "return_factor": 2.0, "unit_price": 40.0},
    "accessories": {"margin": 0.60, "return_factor": 0.8, "unit_price": 12.0},
    "gift_cards": {"margin": 0.03, "return_factor": 0.0, "unit_price": 50.0},
}

EVENT_KINDS = ("support_ticket", "referral", "review", "ugc")

# Relative order intensity per hour of the day (00-23): quiet nights, lunch and evening peaks.
_HOURLY = np.array(
    [0.6, 0.35, 0.2, 0.15, 0.15, 0.25, 0.6, 1.2, 2.0, 2.8, 3.2, 3.6,
     4.0, 3.8, 3.4, 3.2, 3.2, 3.4, 3.9, 4.6, 5.0, 4.4, 3.0, 1.6]
)
_HOUR_CDF = np.concatenate([[0.0], np.cumsum(_HOURLY) / _HOURLY.sum()])
_HOUR_EDGES = np.arange(25) / 24.0


@dataclass
class Simulation:
    """A simulated log and the truth behind it.

    Attributes
    ----------
    transactions
        Orders and returns with ``start <= timestamp <= end``: ``customer_id``, ``order_id``
        (int64), ``timestamp`` (datetime64[ns]), ``revenue``, ``cost``, ``list_price``,
        ``quantity`` (float), ``category`` (str), ``is_return`` (bool). A return row carries the
        ``order_id`` of the order it refunds; among orders, ``order_id`` is unique.
    events
        ``customer_id``, ``timestamp``, ``kind`` (support_ticket, referral, review, ugc) and
        ``cost`` (support tickets only), up to ``end``.
    customers
        ``customer_id``, ``acquisition_channel``, ``region``, ``signup_date`` (day of the first
        purchase).
    truth
        One row per customer (column ``customer_id``): the latent parameters and the future.
    params
        The true parameters and the settings (JSON-serialisable).
    future_transactions
        Rows (orders and returns) in ``(end, end + horizon_days]``, same columns as
        ``transactions``; ``truth``'s ``future_*`` columns summarise them.

    Examples
    --------
    >>> sim = simulate(20, seed=1)
    >>> len(sim.truth), set(sim.transactions["customer_id"]) <= set(sim.truth["customer_id"])
    (20, True)
    """

    transactions: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame
    params: dict[str, Any]
    future_transactions: pd.DataFrame = field(default_factory=pd.DataFrame)


def _check_args(
    n_customers: int, horizon_days: int, window_days: float, acquisition_days: int | None,
    positives: dict[str, float],
) -> None:
    if int(n_customers) < 1:
        raise ConfigError(f"n_customers must be at least 1, got {n_customers}")
    if window_days <= 0:
        raise ConfigError(f"end must be after start (window of {window_days:g} days)")
    if horizon_days < 0:
        raise ConfigError(f"horizon_days must be 0 or more, got {horizon_days}")
    bad = {k: v for k, v in positives.items() if not (np.isfinite(v) and v > 0)}
    if bad:
        listed = ", ".join(f"{k}={v}" for k, v in bad.items())
        raise ConfigError(f"model parameters must be positive and finite: {listed}")
    if acquisition_days is not None and not 0 <= acquisition_days <= window_days:
        raise ConfigError(
            f"acquisition_days must lie in [0, {window_days:g}] (the window from start to end), "
            f"got {acquisition_days}"
        )


def _to_ns(days: np.ndarray, start_ns: int) -> np.ndarray:
    """Days since ``start`` (float) → int64 nanoseconds, second resolution, daytime profile.

    The time within each day is mapped monotonically onto the hourly profile, so the day and
    the order of events within a day are kept.
    """
    day = np.floor(days)
    tod = np.interp(days - day, _HOUR_CDF, _HOUR_EDGES)
    seconds = day.astype(np.int64) * 86_400 + np.minimum(
        np.floor(tod * 86_400).astype(np.int64), 86_399
    )
    return start_ns + seconds * 10**9


def _labels(codes: np.ndarray, names: Sequence[str]) -> pd.Series:
    """A string column holding ``names[codes]``."""
    return pd.Series(np.array(names, dtype=object)[codes], dtype=str)


def _choice(rng: np.random.Generator, n: int, shares: np.ndarray) -> np.ndarray:
    """Codes 0..k-1 drawn with probabilities ``shares`` (vectorised)."""
    cdf = np.cumsum(shares) / np.sum(shares)
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(shares) - 1)


def _row_choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One code per row of ``probs`` (rows sum to 1), vectorised."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), probs.shape[1] - 1)


def _purchase_rounds(
    rng: np.random.Generator, birth: np.ndarray, lam: np.ndarray, p_drop: np.ndarray,
    limit: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD purchases in rounds: (customer index, time in days, dropout time or nan)."""
    n = len(birth)
    custs = [np.arange(n)]
    times = [birth]
    dropout = np.full(n, np.nan)
    idx, t = custs[0], birth
    with np.errstate(divide="ignore", over="ignore"):
        while idx.size:
            t = t + 7.0 * rng.standard_exponential(idx.size) / lam[idx]
            keep = t <= limit
            idx, t = idx[keep], t[keep]
            custs.append(idx)
            times.append(t)
            drop = rng.random(idx.size) < p_drop[idx]
            dropout[idx[drop]] = t[drop]
            idx, t = idx[~drop], t[~drop]
    cust = np.concatenate(custs)
    time = np.concatenate(times)
    order = np.argsort(cust, kind="stable")  # rounds are in time order within a customer
    return cust[order], time[order], dropout


def simulate(
    n_customers: int = 10_000,
    seed: int = 0,
    *,
    start: str | pd.Timestamp = "2023-01-01",
    end: str | pd.Timestamp = "2024-12-31",
    horizon_days: int = 182,
    r: float = 0.25,
    alpha: float = 4.0,
    a: float = 0.8,
    b: float = 2.5,
    p: float = 6.0,
    q: float = 3.8,
    gamma: float = 15.0,
    acquisition_days: int | None = None,
) -> Simulation:
    """Simulate a retail transaction log (BG/NBD purchases, Gamma-Gamma spend) with its truth.

    The processes are described in the module docstring; the defaults are close to the
    Fader-Hardie-Lee CDNOW estimates.

    Parameters
    ----------
    n_customers
        Number of customers; each makes at least one purchase (at birth).
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives identical frames.
    start, end
        The observation window (instants); ``transactions`` hold ``start <= timestamp <= end``.
    horizon_days
        Length of the future window ``(end, end + horizon_days]`` summarised in ``truth``.
    r, alpha, a, b
        BG/NBD: ``lambda_ ~ Gamma(r, rate alpha)`` purchases per week, ``p ~ Beta(a, b)``.
    p, q, gamma
        Gamma-Gamma base spend: ``nu ~ Gamma(q, rate gamma)``, order value ``~ Gamma(p, rate
        nu)``; the amount paid is that base times the channel and region spend factors.
    acquisition_days
        Customers are born uniformly on days ``[start, start + acquisition_days]``; default:
        half of the window.

    Returns
    -------
    Simulation
        ``transactions``, ``events``, ``customers``, ``truth``, ``params`` and
        ``future_transactions``.

    Raises
    ------
    ConfigError
        On a non-positive parameter, ``end`` not after ``start``, or ``acquisition_days`` outside
        the window.

    Examples
    --------
    >>> sim = simulate(100, seed=3)
    >>> sorted(sim.transactions.columns)
    ['category', 'cost', 'customer_id', 'is_return', 'list_price', 'order_id', 'quantity', \
'revenue', 'timestamp']
    >>> int(sim.transactions["customer_id"].nunique())
    100
    >>> sim.params["bgnbd"]
    {'r': 0.25, 'alpha': 4.0, 'a': 0.8, 'b': 2.5}
    """
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    window_days = (end_ts - start_ts) / pd.Timedelta(days=1)
    bgnbd = {"r": float(r), "alpha": float(alpha), "a": float(a), "b": float(b)}
    gg = {"p": float(p), "q": float(q), "gamma": float(gamma)}
    _check_args(n_customers, horizon_days, window_days, acquisition_days, {**bgnbd, **gg})
    n = int(n_customers)
    rng = np.random.default_rng(seed)
    start_ns = start_ts.as_unit("ns").value
    end_ns = end_ts.as_unit("ns").value
    horizon_end_ns = end_ns + int(horizon_days) * NS_PER_DAY
    horizon_end_d = window_days + horizon_days

    # --- customers: birth, channel, region -------------------------------------------------
    acq = window_days / 2 if acquisition_days is None else float(acquisition_days)
    acq_days = int(np.floor(acq))
    last_day = int(np.ceil(window_days)) - 1  # the last day that starts before `end`
    birth_day = rng.integers(0, min(acq_days, last_day) + 1, n).astype(float)
    birth = birth_day + rng.random(n) * np.minimum(1.0, window_days - birth_day)

    ch_names = list(CHANNELS)
    rg_names = list(REGIONS)
    cat_names = list(CATEGORIES)
    channel = _choice(rng, n, np.array([CHANNELS[c]["share"] for c in ch_names]))
    region = _choice(rng, n, np.array([REGIONS[g]["share"] for g in rg_names]))
    ch = {k: np.array([CHANNELS[c][k] for c in ch_names], dtype=float) for k in CHANNELS["organic"]
          if k != "category_pref"}
    rg = {k: np.array([REGIONS[g][k] for g in rg_names]) for k in REGIONS["north"]}
    cat = {k: np.array([CATEGORIES[c][k] for c in cat_names]) for k in CATEGORIES["vinyl"]}
    cat_pref = np.array([CHANNELS[c]["category_pref"] for c in ch_names])

    # --- latent parameters ------------------------------------------------------------------
    lam = rng.gamma(r, 1.0 / alpha, n)
    p_drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1.0 / gamma, n)
    spend_factor = ch["spend_factor"][channel] * rg["spend_factor"][region]
    mean_spend = p / nu * spend_factor
    discount_only = rng.random(n) < ch["discount_only_prob"][channel]
    discount_rate = np.where(
        discount_only, 1.0,
        np.minimum(rng.beta(1.2, 6.0, n) * ch["discount_factor"][channel], 1.0),
    )
    heavy = rng.random(n) < ch["heavy_returner_prob"][channel]
    return_prop = np.where(heavy, rng.beta(4.0, 8.0, n), rng.beta(1.0, 25.0, n))
    return_prop = np.minimum(return_prop * rg["return_factor"][region], 0.95)
    prefs = rng.gamma(cat_pref[channel]) + 1e-12
    prefs /= prefs.sum(axis=1, keepdims=True)
    review_prop = rng.beta(0.6, 4.0, n)

    # --- purchases (exactly BG/NBD) ---------------------------------------------------------
    o_cust, o_day, dropout_day = _purchase_rounds(rng, birth, lam, p_drop, horizon_end_d + 1.0)
    o_ns = _to_ns(o_day, start_ns)
    keep = o_ns <= horizon_end_ns
    o_cust, o_day, o_ns = o_cust[keep], o_day[keep], o_ns[keep]
    m = len(o_cust)

    # --- order attributes -------------------------------------------------------------------
    revenue = np.maximum(np.round(rng.gamma(p, 1.0, m) / nu[o_cust] * spend_factor[o_cust], 2),
                         0.01)
    discounted = rng.random(m) < discount_rate[o_cust]
    depth = np.where(discount_only[o_cust], rng.uniform(0.20, 0.40, m), rng.uniform(0.10, 0.30, m))
    depth = np.where(discounted, depth, 0.0)
    list_price = np.where(discounted, np.round(revenue / (1.0 - depth), 2), revenue)
    o_cat = _row_choice(rng, prefs[o_cust])
    cost = np.round(list_price * (1.0 - cat["margin"][o_cat]), 2)
    quantity = 1.0 + rng.poisson(np.maximum(list_price / cat["unit_price"][o_cat] - 1.0, 0.0))
    order_id = np.empty(m, dtype=np.int64)
    order_id[np.argsort(o_ns, kind="stable")] = np.arange(1, m + 1, dtype=np.int64)

    # --- returns ----------------------------------------------------------------------------
    ret_p = np.minimum(return_prop[o_cust] * cat["return_factor"][o_cat], 0.95)
    returned = np.flatnonzero(rng.random(m) < ret_p)
    r_ns = _to_ns(o_day[returned] + 1.0 + rng.gamma(2.0, 4.0, returned.size), start_ns)
    in_time = r_ns <= horizon_end_ns
    returned, r_ns = returned[in_time], r_ns[in_time]

    rows_ns = np.concatenate([o_ns, r_ns])
    sign = np.concatenate([np.ones(m), -np.ones(returned.size)])
    src = np.concatenate([np.arange(m), returned])
    is_ret = np.concatenate([np.zeros(m, bool), np.ones(returned.size, bool)])
    order = np.lexsort((is_ret, order_id[src], rows_ns))
    rows_ns, sign, src, is_ret = rows_ns[order], sign[order], src[order], is_ret[order]
    tx_all = pd.DataFrame(
        {
            "customer_id": (o_cust[src] + 1).astype(np.int64),
            "order_id": order_id[src],
            "timestamp": rows_ns.view("datetime64[ns]"),
            "revenue": revenue[src] * sign,
            "cost": cost[src] * sign,
            "list_price": list_price[src] * sign,
            "quantity": quantity[src] * sign,
            "category": _labels(o_cat[src], cat_names),
            "is_return": is_ret,
        }
    )
    observed = rows_ns <= end_ns
    transactions = tx_all[observed].reset_index(drop=True)
    future_tx = tx_all[~observed].reset_index(drop=True)

    # --- events over the active life ------------------------------------------------------
    life_end = np.fmin(dropout_day, horizon_end_d)
    life_weeks = np.maximum(life_end - birth, 0.0) / 7.0
    rates = np.column_stack(
        [
            0.0005 + lam * (0.05 + 0.8 * return_prop),
            0.05 * lam * mean_spend / (p * gamma / q) * ch["referral_factor"][channel],
            lam * review_prop,
            0.25 * lam * review_prop,
        ]
    )
    counts = rng.poisson(rates * life_weeks[:, None]).ravel()
    e_cust = np.repeat(np.repeat(np.arange(n), len(EVENT_KINDS)), counts)
    e_kind = np.repeat(np.tile(np.arange(len(EVENT_KINDS)), n), counts)
    e_day = birth[e_cust] + rng.random(e_cust.size) * (life_end - birth)[e_cust]
    e_ns = _to_ns(e_day, start_ns)
    e_cost = np.where(e_kind == 0, np.round(rng.uniform(5.0, 25.0, e_cust.size), 2), 0.0)
    e_ok = e_ns <= horizon_end_ns
    e_cust, e_kind, e_ns, e_cost = e_cust[e_ok], e_kind[e_ok], e_ns[e_ok], e_cost[e_ok]
    e_order = np.lexsort((e_kind, e_cust, e_ns))
    e_cust, e_kind, e_ns, e_cost = e_cust[e_order], e_kind[e_order], e_ns[e_order], e_cost[e_order]
    e_obs = e_ns <= end_ns
    events = pd.DataFrame(
        {
            "customer_id": (e_cust[e_obs] + 1).astype(np.int64),
            "timestamp": e_ns[e_obs].view("datetime64[ns]"),
            "kind": _labels(e_kind[e_obs], EVENT_KINDS),
            "cost": e_cost[e_obs],
        }
    )

    # --- customers and truth ----------------------------------------------------------------
    ids = np.arange(1, n + 1, dtype=np.int64)
    birth_ns = _to_ns(birth, start_ns)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "acquisition_channel": _labels(channel, ch_names),
            "region": _labels(region, rg_names),
            "signup_date": pd.DatetimeIndex(birth_ns.view("datetime64[ns]")).normalize(),
        }
    )

    drop_ns = np.where(np.isnan(dropout_day), 0, _to_ns(np.nan_to_num(dropout_day), start_ns))
    dropped = ~np.isnan(dropout_day) & (drop_ns <= horizon_end_ns)
    dropout_time = np.where(dropped, drop_ns, np.iinfo(np.int64).min).view("datetime64[ns]")
    fut_cust = (future_tx["customer_id"].to_numpy() - 1).astype(np.int64)
    fut_ret = future_tx["is_return"].to_numpy()
    fut_rev = future_tx["revenue"].to_numpy()
    fut_cost = future_tx["cost"].to_numpy()
    support_future = np.bincount(
        e_cust[~e_obs], weights=e_cost[~e_obs], minlength=n
    )
    net_rev = np.bincount(fut_cust, weights=fut_rev, minlength=n)
    truth = pd.DataFrame(
        {
            "customer_id": ids,
            "lambda_": lam,
            "p_dropout": p_drop,
            "alive_at_end": ~(dropped & (drop_ns <= end_ns)),
            "dropout_time": dropout_time,
            "nu": nu,
            "spend_factor": spend_factor,
            "mean_spend": mean_spend,
            "discount_only": discount_only,
            "discount_rate": discount_rate,
            "return_propensity": return_prop,
            "review_propensity": review_prop,
            "future_purchases": np.bincount(fut_cust[~fut_ret], minlength=n).astype(np.int64),
            "future_gross_revenue": np.bincount(
                fut_cust[~fut_ret], weights=fut_rev[~fut_ret], minlength=n
            ),
            "future_revenue": net_rev,
            "future_support_cost": support_future,
            "future_profit": net_rev
            - np.bincount(fut_cust, weights=fut_cost, minlength=n)
            - support_future,
        }
    )

    params: dict[str, Any] = {
        "bgnbd": bgnbd,
        "gamma_gamma": gg,
        "time_unit": "week",
        "start": start_ts.isoformat(),
        "end": end_ts.isoformat(),
        "horizon_days": int(horizon_days),
        "horizon_end": (end_ts + pd.Timedelta(days=int(horizon_days))).isoformat(),
        "acquisition_days": acq,
        "n_customers": n,
        "seed": seed if isinstance(seed, int) else repr(seed),
        "spend": "revenue = Gamma-Gamma(p, q, gamma) draw x channel spend_factor x region "
        "spend_factor; list_price = revenue / (1 - discount); cost = list_price x (1 - margin)",
        "channels": {k: dict(v) for k, v in CHANNELS.items()},
        "regions": {k: dict(v) for k, v in REGIONS.items()},
        "categories": {k: dict(v) for k, v in CATEGORIES.items()},
    }
    return Simulation(transactions, events, customers, truth, params, future_tx)


def save_simulation(sim: Simulation, out: str | Path) -> dict[str, Path]:
    """Write a simulation beside ``out``: transactions to ``out``, the rest next to it.

    ``out`` such as ``sim.parquet`` or ``sim.csv`` receives the transactions;
    ``sim_events``, ``sim_customers``, ``sim_truth`` and ``sim_future`` (future transactions)
    get the same suffix, and ``sim_params.json`` the parameters. Every file is written
    atomically.

    Returns
    -------
    dict
        Paths by table: ``transactions``, ``events``, ``customers``, ``truth``, ``future``,
        ``params``.

    Parameters
    ----------
    sim : Simulation
        What :func:`simulate` returned.
    out : str or Path
        The transactions file (``.csv`` or ``.parquet``); the other tables go beside it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> paths = save_simulation(simulate(50, seed=0), folder / "sim.csv")
    >>> sorted(p.name for p in paths.values())
    ['sim.csv', 'sim_customers.csv', 'sim_events.csv', 'sim_future.csv', 'sim_params.json', \
'sim_truth.csv']
    """
    out = Path(out)
    suffix = "".join(out.suffixes) if out.name.lower().endswith(".csv.gz") else out.suffix
    stem = out.name[: len(out.name) - len(suffix)] if suffix else out.name

    def beside(name: str) -> Path:
        return out.with_name(f"{stem}_{name}{suffix}")

    paths = {
        "transactions": write_table(sim.transactions, out),
        "events": write_table(sim.events, beside("events")),
        "customers": write_table(sim.customers, beside("customers")),
        "truth": write_table(sim.truth, beside("truth")),
        "future": write_table(sim.future_transactions, beside("future")),
    }
    paths["params"] = write_text(
        json.dumps(sim.params, indent=2, sort_keys=True, default=str),
        out.with_name(f"{stem}_params.json"),
    )
    return paths
