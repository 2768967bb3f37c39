"""Gamma-Gamma model of the average spend per purchase (Fader, Hardie & Lee 2005).

Examples
--------
>>> GammaGammaModel.param_names
('p', 'q', 'gamma')
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from vipml.errors import ConvergenceError, ModelFormatError, SchemaError, format_examples
from vipml.modeling.btyd.checks import (
    DEFAULT_PENALIZERS,
    FORMAT_VERSION,
    BtydWarning,
    check_columns,
    checked_params,
    clip_predictions,
    customer_weights,
    float_column,
)
from vipml.modeling.btyd.grid import group_rows, weighted_sum
from vipml.modeling.btyd.optimise import (
    Attempt,
    fit_with_penalizers,
    log_param_hessian,
    minimize_log_params,
    parameter_uncertainty,
    runaway_parameters,
    variance_matrix,
    warm_start_weights,
)
from vipml.modeling.params import Params, check_is_fitted

__all__ = ["GammaGammaModel", "spend_columns"]


def _gamma_gamma_objective(
    x: np.ndarray, m: np.ndarray, w: np.ndarray
) -> Callable[[np.ndarray, float], tuple[float, np.ndarray]]:
    """Penalised mean negative log-likelihood of Gamma-Gamma and its gradient (log-params)."""
    ux, ix = np.unique(x, return_inverse=True)
    wx = np.bincount(ix, weights=w)
    log_m, log_x = np.log(m), np.log(x)
    xm = x * m
    total = float(w.sum())
    s_lin = weighted_sum(w, x * (log_m + log_x))  # coefficient of p
    s_logm = weighted_sum(w, log_m)
    wxr = w * x

    center = np.array([0.0, 0.0, np.log(np.average(m, weights=w))])

    def objective(z: np.ndarray, penalizer: float) -> tuple[float, np.ndarray]:
        theta = np.exp(z)
        p, q, v = theta
        pux = p * ux
        lxv = np.log(xm + v)
        inv = 1.0 / (xm + v)
        s_w = weighted_sum(w, lxv)
        s_x = weighted_sum(wxr, lxv)
        ll = (
            weighted_sum(wx, gammaln(pux + q) - gammaln(pux))
            - total * gammaln(q)
            + total * q * np.log(v)
            + p * s_lin
            - s_logm
            - p * s_x
            - q * s_w
        )
        dig = digamma(pux + q)
        gp = weighted_sum(wx, ux * (dig - digamma(pux))) + s_lin - s_x
        gq = weighted_sum(wx, dig) - total * digamma(q) + total * np.log(v) - s_w
        gv = total * q / v - p * weighted_sum(wxr, inv) - q * weighted_sum(w, inv)
        grad = np.array([gp, gq, gv])
        zc = z - center
        value = -ll / total + penalizer * float(np.sum(zc**2))
        return value, -grad * theta / total + 2 * penalizer * zc

    return objective


def spend_columns(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``frequency`` and ``monetary_value`` arrays of a BTYD summary.

    Parameters
    ----------
    summary
        One row per customer with ``frequency`` and ``monetary_value``.

    Returns
    -------
    tuple of numpy.ndarray
        ``(frequency, monetary_value)``.

    Examples
    --------
    >>> import pandas as pd
    >>> x, m = spend_columns(pd.DataFrame({"frequency": [2], "monetary_value": [9.5]}))
    >>> x.tolist(), m.tolist()
    ([2.0], [9.5])
    """
    check_columns(summary, ("frequency", "monetary_value"))
    problems: list[str] = []
    x = float_column(summary, "frequency", problems)
    try:
        m = summary["monetary_value"].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        problems.append("column monetary_value is not numeric: convert it to numbers")
        m = np.zeros(len(summary))
    bad = ~np.isfinite(m)
    if bad.any():
        problems.append(
            f"monetary_value is missing or infinite for {int(bad.sum()):,} of {len(m):,} "
            f"customers (customer_id {format_examples(summary.index[bad])}): fix those rows"
        )
    if problems:
        raise SchemaError(problems, "summary")
    return x, m


class GammaGammaModel(Params):
    """Gamma-Gamma model of average spend per purchase (Fader, Hardie & Lee 2005; Hardie note 025).

    Each purchase of a customer is Gamma(p, nu) with ``nu ~ Gamma(q, gamma)``; it is fitted on
    customers with repeat purchases (``frequency > 0``) and a positive ``monetary_value`` (the
    mean of their repeat purchases). The expected average spend of a customer is
    ``(1 - w) * gamma * p / (q - 1) + w * monetary_value`` with ``w = p x / (p x + q - 1)``,
    the population mean for customers without repeat purchases. A negative monetary value is
    clipped to 0 in that formula (with a warning); ``q <= 1`` (infinite mean spend) counts as a
    failed fit and is retried along the penalizer schedule.

    After ``fit``, ``variance_matrix_`` (DataFrame indexed and columned by ``p, q, gamma``) is
    the inverse of the Hessian of the negative log-likelihood at the optimum, in the natural
    parameter scale (delta method from the log-parameters the optimiser works in; the Hessian
    of the penalised objective when a penalizer was needed), and ``standard_errors_`` (Series)
    the square roots of its diagonal, ``confidence_intervals_`` (DataFrame, ``lower`` and
    ``upper``) the 95% intervals on the log scale; NaN with a :class:`BtydWarning` when the
    Hessian is singular. None of these is saved by :meth:`to_dict`.

    Parameters
    ----------
    penalizers
        Penalizer schedule, tried in order when a fit fails or ``q <= 1``.
    compress
        Fit on distinct ``(frequency, monetary_value)`` with weights (same result, faster).

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.features.rfm import btyd_summary
    >>> s = btyd_summary(load_cdnow(sample=True), "1997-09-30", freq="D", time_unit="W")
    >>> gg = GammaGammaModel().fit(s)
    >>> gg.n_customers_, round(gg.population_mean_spend_, 2)
    (946, 35.17)
    >>> gg.expected_spend(s).loc[[1, 2, 3]].round(2).tolist()  # customer 3: population mean
    [24.65, 18.91, 35.17]
    """

    param_names = ("p", "q", "gamma")
    label = "Gamma-Gamma"

    def __init__(self, penalizers: Sequence[float] = DEFAULT_PENALIZERS, compress: bool = True):
        self.penalizers = penalizers
        self.compress = compress

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"GammaGammaModel(penalizers={tuple(self.penalizers)!r})"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<GammaGammaModel {params}, log_likelihood={self.log_likelihood_:.1f}>"

    @staticmethod
    def _loglik_rows(theta: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, v = theta
        px = p * x
        return (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(x * m + v)
        )

    def fit(self, summary: pd.DataFrame, weights: Any = None) -> GammaGammaModel:
        """Fit on the repeat customers with positive ``monetary_value`` of a BTYD summary.

        ``weights``: customers per row (as in :meth:`PurchaseModel.fit`).

        Learned: ``params_`` (``p, q, gamma``), ``log_likelihood_`` (total), ``penalizer_``,
        ``n_customers_`` (customers used), ``n_unique_``, ``variance_matrix_`` and
        ``standard_errors_``.
        """
        x_all, m_all = spend_columns(summary)
        per_row = customer_weights(weights, len(x_all))
        keep = (x_all > 0) & (m_all > 0)
        if per_row is not None:
            keep &= per_row > 0
        base = np.ones(int(keep.sum())) if per_row is None else per_row[keep]
        n = int(round(float(base.sum())))
        if n < 2:
            raise ConvergenceError(
                f"Gamma-Gamma cannot be fitted on {n:,} customers: it needs at least 2 repeat "
                f"customers with a positive monetary_value (of {len(summary):,} customers; "
                f"penalizers {', '.join(f'{p:g}' for p in self.penalizers)} not tried): "
                "use a later cutoff or more data"
            )
        x, m = x_all[keep], m_all[keep]
        w: np.ndarray
        if self.compress:
            inverse, first = group_rows(x, m)
            w = np.bincount(inverse, weights=base)
            x, m = x[first], m[first]
        else:
            w = base
        mean_m = float(np.average(m, weights=w))
        full = _gamma_gamma_objective(x, m, w)
        sample = None
        w_sample = warm_start_weights(w)
        if w_sample is not None:
            keep_sample = w_sample > 0
            sample = _gamma_gamma_objective(x[keep_sample], m[keep_sample], w_sample[keep_sample])
        z0 = np.log(np.array([1.0, 2.0, mean_m]))

        def attempt(penalizer: float) -> Attempt:
            def warm(z: np.ndarray) -> tuple[float, np.ndarray]:
                assert sample is not None
                return sample(z, penalizer)

            return minimize_log_params(
                lambda z: full(z, penalizer), z0, True, warm if sample is not None else None
            )

        def check(z: np.ndarray) -> str:
            p, q, v = np.exp(z)
            if q <= 1:
                return f"q={q:.3g} <= 1 makes the mean spend infinite"
            return runaway_parameters({"p": p, "q": q, "gamma/mean spend": v / mean_m})

        z, penalizer = fit_with_penalizers(self.label, attempt, check, self.penalizers, n, len(x))
        theta = np.exp(z)
        self.params_ = dict(zip(self.param_names, theta.tolist(), strict=True))
        self.penalizer_ = penalizer

        def optimum(zz: np.ndarray) -> tuple[float, np.ndarray]:
            return full(zz, penalizer)

        hessian = log_param_hessian(optimum, z, True)
        self.variance_matrix_ = variance_matrix(hessian, float(w.sum()), self.params_, self.label)
        self.standard_errors_, self.confidence_intervals_ = parameter_uncertainty(
            self.variance_matrix_, self.params_
        )
        self.log_likelihood_ = float(weighted_sum(w, self._loglik_rows(theta, x, m)))
        self.n_customers_ = n
        self.n_unique_ = len(x)
        return self

    def _check_fitted(self) -> None:
        check_is_fitted(self, "params_", "call fit(summary) first, or load one with from_dict()")

    @property
    def population_mean_spend_(self) -> float:
        """``gamma * p / (q - 1)``: expected spend per purchase of a new customer."""
        self._check_fitted()
        p, q, v = (self.params_[n] for n in self.param_names)
        return v * p / (q - 1)

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Expected average spend per future purchase of each customer (never negative)."""
        self._check_fitted()
        x, m = spend_columns(summary)
        values = self._expected_spend(x, m)
        return pd.Series(values, index=summary.index, name="expected_spend")

    def _expected_spend(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, v = (self.params_[n] for n in self.param_names)
        negative = (m < 0) & (x > 0)
        if negative.any():
            warnings.warn(
                f"expected_spend: monetary_value is negative for {int(negative.sum()):,} of "
                f"{len(m):,} customers (net refunds); clipped to 0",
                BtydWarning,
                stacklevel=3,
            )
        m = np.where(x > 0, np.maximum(m, 0.0), 0.0)
        weight = p * x / (p * x + q - 1)
        with np.errstate(all="ignore"):
            values = (1 - weight) * (v * p / (q - 1)) + weight * m
        return clip_predictions(values, "expected_spend")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: parameters, log-likelihood, penalizer, counts."""
        self._check_fitted()
        return {
            "model": "gamma_gamma",
            "format_version": FORMAT_VERSION,
            "params": dict(self.params_),
            "log_likelihood": self.log_likelihood_,
            "penalizer": self.penalizer_,
            "penalizers": [float(p) for p in self.penalizers],
            "n_customers": self.n_customers_,
            "n_unique": self.n_unique_,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GammaGammaModel:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if not isinstance(d, Mapping) or d.get("model") != "gamma_gamma":
            got = d.get("model") if isinstance(d, Mapping) else type(d).__name__
            raise ModelFormatError(f"Gamma-Gamma: the saved model is {got!r}, not 'gamma_gamma'")
        if d.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"Gamma-Gamma: format_version {d.get('format_version')!r} is not supported "
                f"(this vipml reads {FORMAT_VERSION}): retrain the model"
            )
        model = cls(penalizers=tuple(d.get("penalizers", DEFAULT_PENALIZERS)))
        model.params_ = checked_params(d.get("params"), cls.param_names, cls.label)
        if model.params_["q"] <= 1:
            raise ModelFormatError("Gamma-Gamma: q must be > 1 (finite mean spend)")
        model.log_likelihood_ = float(d.get("log_likelihood", float("nan")))
        model.penalizer_ = float(d.get("penalizer", 0.0))
        model.n_customers_ = int(d.get("n_customers", 0))
        model.n_unique_ = int(d.get("n_unique", 0))
        return model
