"""Customer lifetime value: a purchase model and Gamma-Gamma spend, discounted monthly.

Examples
--------
>>> LifetimeValueModel(purchase_model="pareto_nbd")
LifetimeValueModel(purchase_model='pareto_nbd', discount_rate_monthly=0.01)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from vipml.config import Config
from vipml.errors import ConfigError, InvalidArgumentError, ModelFormatError
from vipml.modeling.btyd.checks import (
    DEFAULT_PENALIZERS,
    FORMAT_VERSION,
    BtydWarning,
    check_time_unit,
    clip_predictions,
    history_arrays,
)
from vipml.modeling.btyd.gamma_gamma import GammaGammaModel, spend_columns
from vipml.modeling.btyd.grid import HistoryGrid
from vipml.modeling.btyd.purchase import PurchaseModel, PurchaseModelName
from vipml.modeling.btyd.registry import make_purchase_model, model_from_dict
from vipml.modeling.params import Params, check_is_fitted
from vipml.units import DAYS_PER_MONTH, PERIOD_DAYS

__all__ = ["LifetimeValueModel"]


def _rate(
    value: float | np.ndarray | pd.Series | None,
    summary: pd.DataFrame,
    name: str,
    default: float,
    low: float,
    high: float,
) -> np.ndarray:
    """A per-customer rate (scalar or aligned on the summary); NaN -> default, clipped, warned."""
    n = len(summary)
    if value is None:
        return np.full(n, default)
    if isinstance(value, pd.Series):
        arr = value.reindex(summary.index).to_numpy(dtype=np.float64)
    else:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()
    missing = ~np.isfinite(arr)
    out_of_range = ~missing & ((arr < low) | (arr > high))
    if missing.any() or out_of_range.any():
        parts = []
        if missing.any():
            parts.append(f"{int(missing.sum()):,} missing (set to {default:g})")
        if out_of_range.any():
            parts.append(f"{int(out_of_range.sum()):,} outside [{low:g}, {high:g}] (clipped)")
        warnings.warn(
            f"{name}: {' and '.join(parts)} of {n:,} customers",
            BtydWarning,
            stacklevel=3,
        )
        arr = np.where(missing, default, np.clip(arr, low, high))
    return arr


class LifetimeValueModel(Params):
    """Customer lifetime value: a purchase model (BG/NBD by default) and Gamma-Gamma spend.

    ``predict(summary, horizon_weeks)`` returns, per customer, over the next ``horizon_weeks``:

    * ``expected_purchases``: expected repeat purchases (not discounted);
    * ``p_alive``: probability the customer is still active now;
    * ``p_no_purchase``: P(no purchase in the horizon | history);
    * ``expected_spend``: Gamma-Gamma expected average spend per purchase;
    * ``clv``: revenue CLV, discounted monthly, exactly as lifetimes'
      ``customer_lifetime_value``::

          clv = expected_spend * D,
          D = sum_k (E[N(t_k)] - E[N(t_{k-1})]) / (1 + discount_rate_monthly) ** (t_k / month)

      with a month of ``days_per_month`` (30.4375) days, ``t_k = min(k, M)`` months for
      ``k = 1 .. ceil(M)`` and ``M`` the horizon in months (a partial last month is discounted
      at its end). For a whole number of months this is lifetimes' formula (lifetimes uses a
      month of 4.345 weeks when T is in weeks; pass ``days_per_month=30.415`` to match it);
    * ``clv_profit``: profit CLV, discounted the same way::

          clv_profit = D * (expected_spend * margin_rate * (1 - return_rate) - support_cost_rate)

      i.e. expected purchases x expected spend x margin rate, net of the share of revenue the
      customer returns, minus the expected support cost (``support_cost_rate`` is the support
      cost per purchase, e.g. the customer's past support cost / past purchases). Rates are a
      number or one per customer (a Series is aligned on the summary index); when not given,
      the margin is ``default_margin_rate`` and returns and support cost are 0. A negative
      profit CLV (costs above the margin) is clipped to 0 with a warning.

    No output is NaN, inf or negative: such values are clipped with a warning giving the count.

    Parameters
    ----------
    purchase_model
        ``'bgnbd'``, ``'pareto_nbd'`` or ``'mbgnbd'``.
    discount_rate_monthly
        Monthly discount rate (0.01 = 1% a month).
    penalizers
        Penalizer schedule for both fits.
    time_unit
        Unit of ``recency`` and ``T`` in the summaries (``'W'`` weeks or ``'D'`` days).
    days_per_month
        Length of a discounting month in days.
    default_margin_rate
        Gross margin rate used by ``clv_profit`` when ``margin_rate`` is not given.

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.features.rfm import btyd_summary
    >>> summary = btyd_summary(load_cdnow(sample=True), "1997-09-30", freq="D", time_unit="W")
    >>> ltv = LifetimeValueModel().fit(summary)
    >>> {k: round(v, 2) for k, v in ltv.gamma_gamma_.params_.items()}
    {'p': 6.25, 'q': 3.74, 'gamma': 15.44}
    >>> out = ltv.predict(summary, horizon_weeks=39, margin_rate=0.3, return_rate=0.1)
    >>> bool((out["clv_profit"] <= out["clv"] * 0.3 * 0.9 + 1e-9).all())
    True
    """

    def __init__(
        self,
        purchase_model: PurchaseModelName = "bgnbd",
        discount_rate_monthly: float = 0.01,
        penalizers: Sequence[float] = DEFAULT_PENALIZERS,
        time_unit: Literal["W", "D"] = "W",
        days_per_month: float = DAYS_PER_MONTH,
        default_margin_rate: float = 0.3,
        compress: bool = True,
    ) -> None:
        self.purchase_model = purchase_model
        self.discount_rate_monthly = discount_rate_monthly
        self.penalizers = penalizers
        self.time_unit = time_unit
        self.days_per_month = days_per_month
        self.default_margin_rate = default_margin_rate
        self.compress = compress

    def __repr__(self) -> str:
        return (
            f"LifetimeValueModel(purchase_model={self.purchase_model!r}, "
            f"discount_rate_monthly={self.discount_rate_monthly!r})"
        )

    def _check_settings(self) -> None:
        if self.time_unit not in PERIOD_DAYS:
            raise ConfigError(f"time_unit {self.time_unit!r} is not one of 'W', 'D'")
        if not (self.discount_rate_monthly > -1 and math.isfinite(self.discount_rate_monthly)):
            raise ConfigError(
                f"discount_rate_monthly {self.discount_rate_monthly!r} must be a number > -1"
            )
        if not self.days_per_month > 0:
            raise ConfigError(f"days_per_month {self.days_per_month!r} must be positive")

    def fit(self, summary: pd.DataFrame, weights: Any = None) -> LifetimeValueModel:
        """Fit the purchase model on every customer and Gamma-Gamma on the repeat customers.

        ``weights``: customers per row, when a row stands for several (distinct histories
        with their counts): the same fit as the rows repeated. Learned: ``purchase_model_``
        and ``gamma_gamma_``.
        """
        self._check_settings()
        self.purchase_model_ = make_purchase_model(
            self.purchase_model, penalizers=self.penalizers, compress=self.compress
        ).fit(summary, weights)
        self.gamma_gamma_ = GammaGammaModel(penalizers=self.penalizers, compress=self.compress).fit(
            summary, weights
        )
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(
            self,
            ("purchase_model_", "gamma_gamma_"),
            "call fit(summary) first, or load one with from_dict()",
        )

    def discounted_purchases(self, summary: pd.DataFrame, horizon_weeks: float) -> pd.Series:
        """``D``: expected purchases in the horizon, each discounted to today (see class doc)."""
        self._check_fitted()
        self._check_settings()
        grid = HistoryGrid(*history_arrays(summary), compress=True)
        values = self._discounted(grid, self._units(horizon_weeks))
        return pd.Series(grid.broadcast(values), index=summary.index, name="discounted_purchases")

    def _units(self, horizon_weeks: float) -> float:
        horizon = float(horizon_weeks)
        if not (math.isfinite(horizon) and horizon >= 0):
            raise InvalidArgumentError(
                f"horizon_weeks={horizon_weeks!r} must be a finite number >= 0"
            )
        return horizon * 7.0 / PERIOD_DAYS[self.time_unit]

    def _discounted(
        self, grid: HistoryGrid, horizon: float, alive: np.ndarray | None = None
    ) -> np.ndarray:
        model = self.purchase_model_
        month = self.days_per_month / PERIOD_DAYS[self.time_unit]
        months = horizon / month
        n_steps = math.ceil(months - 1e-12) if months > 0 else 0
        total = np.zeros(len(grid))
        with np.errstate(all="ignore"):
            alive = model._p_alive(grid) if alive is None else alive
            previous = np.zeros(len(grid))
            for k in range(1, n_steps + 1):
                step = min(float(k), months)
                current = model._alive_expected(grid, step * month)
                total += (current - previous) / (1 + self.discount_rate_monthly) ** step
                previous = current
        return alive * total

    def predict(
        self,
        summary: pd.DataFrame,
        horizon_weeks: float,
        *,
        margin_rate: float | np.ndarray | pd.Series | None = None,
        return_rate: float | np.ndarray | pd.Series | None = None,
        support_cost_rate: float | np.ndarray | pd.Series | None = None,
    ) -> pd.DataFrame:
        """Per-customer predictions over ``horizon_weeks`` (see the class docstring).

        Returns a DataFrame indexed like ``summary`` with columns ``expected_purchases,
        p_alive, p_no_purchase, expected_spend, clv, clv_profit``.
        """
        self._check_fitted()
        self._check_settings()
        x, rec, T = history_arrays(summary)
        check_time_unit(T, getattr(self.purchase_model_, "max_T_", None))
        _, m = spend_columns(summary)
        margin = _rate(margin_rate, summary, "margin_rate", self.default_margin_rate, -1e9, 1.0)
        returns = _rate(return_rate, summary, "return_rate", 0.0, 0.0, 1.0)
        support = _rate(support_cost_rate, summary, "support_cost_rate", 0.0, 0.0, np.inf)
        horizon = self._units(horizon_weeks)
        grid = HistoryGrid(x, rec, T, compress=True)
        model = self.purchase_model_
        with np.errstate(all="ignore"):
            alive = model._p_alive(grid)
            expected = alive * model._alive_expected(grid, horizon)
            silent = model._p_no_purchase(grid, horizon, alive)
            discounted = self._discounted(grid, horizon, alive)
        alive = clip_predictions(grid.broadcast(alive), "p_alive", upper=1.0)
        expected = clip_predictions(grid.broadcast(expected), "expected_purchases")
        silent = clip_predictions(grid.broadcast(silent), "p_no_purchase", upper=1.0)
        discounted = clip_predictions(grid.broadcast(discounted), "discounted purchases")
        spend = self.gamma_gamma_._expected_spend(x, m)
        clv = clip_predictions(discounted * spend, "clv")
        profit = discounted * (spend * margin * (1 - returns) - support)
        negative = profit < 0
        if negative.any():
            warnings.warn(
                f"clv_profit: {int(negative.sum()):,} of {len(profit):,} customers cost more "
                "than their margin brings (returns, support); their profit CLV is clipped to 0",
                BtydWarning,
                stacklevel=2,
            )
        profit = clip_predictions(np.maximum(profit, 0.0), "clv_profit")
        return pd.DataFrame(
            {
                "expected_purchases": expected,
                "p_alive": alive,
                "p_no_purchase": silent,
                "expected_spend": spend,
                "clv": clv,
                "clv_profit": profit,
            },
            index=summary.index,
        )

    @classmethod
    def from_config(cls, config: Config, purchase_model: str | None = None) -> LifetimeValueModel:
        """An unfitted model with the settings of ``config`` (``btyd`` and the default margin
        rate); ``purchase_model`` overrides ``config.btyd.model`` (which may not be ``'auto'``
        here: the choice is made on a calibration split by the caller).

        >>> from vipml.config import Config
        >>> LifetimeValueModel.from_config(Config(), "bgnbd").purchase_model
        'bgnbd'
        """
        return cls(
            purchase_model=purchase_model or config.btyd.model,  # type: ignore[arg-type]
            discount_rate_monthly=config.btyd.discount_rate_monthly,
            penalizers=config.btyd.penalizers,
            time_unit=config.btyd.time_unit,
            default_margin_rate=config.features.default_margin_rate,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: settings and both fitted models."""
        self._check_fitted()
        return {
            "model": "lifetime_value",
            "format_version": FORMAT_VERSION,
            "purchase_model": self.purchase_model_.to_dict(),
            "gamma_gamma": self.gamma_gamma_.to_dict(),
            "discount_rate_monthly": float(self.discount_rate_monthly),
            "penalizers": [float(p) for p in self.penalizers],
            "time_unit": self.time_unit,
            "days_per_month": float(self.days_per_month),
            "default_margin_rate": float(self.default_margin_rate),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LifetimeValueModel:
        """Rebuild a fitted model from :meth:`to_dict` output (checked)."""
        if not isinstance(d, Mapping) or d.get("model") != "lifetime_value":
            got = d.get("model") if isinstance(d, Mapping) else type(d).__name__
            raise ModelFormatError(f"lifetime value: the saved model is {got!r}, not a CLV model")
        if d.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"lifetime value: format_version {d.get('format_version')!r} is not supported "
                f"(this vipml reads {FORMAT_VERSION}): retrain the model"
            )
        for key in ("purchase_model", "gamma_gamma", "discount_rate_monthly", "time_unit"):
            if key not in d:
                raise ModelFormatError(
                    f"lifetime value: missing key {key!r}: the bundle is damaged"
                )
        purchase = model_from_dict(d["purchase_model"])
        if not isinstance(purchase, PurchaseModel):
            raise ModelFormatError("lifetime value: 'purchase_model' holds a Gamma-Gamma model")
        model = cls(
            purchase_model=purchase.name,  # type: ignore[arg-type]
            discount_rate_monthly=float(d["discount_rate_monthly"]),
            penalizers=tuple(d.get("penalizers", DEFAULT_PENALIZERS)),
            time_unit=d["time_unit"],
            days_per_month=float(d.get("days_per_month", DAYS_PER_MONTH)),
            default_margin_rate=float(d.get("default_margin_rate", 0.3)),
        )
        try:
            model._check_settings()
        except ConfigError as exc:
            raise ModelFormatError(f"lifetime value: {exc}") from None
        model.purchase_model_ = purchase
        model.gamma_gamma_ = GammaGammaModel.from_dict(d["gamma_gamma"])
        return model
