"""The purchase models' common machinery: fit on compressed histories, predictions per
customer, checks and serialisation. The models (BG/NBD, MBG/NBD, Pareto/NBD) supply their
likelihood and the math of their predictions on distinct histories.

Examples
--------
>>> issubclass(PurchaseModel, Params)
True
>>> PURCHASE_MODELS
('bgnbd', 'pareto_nbd', 'mbgnbd')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from vipml.errors import ConvergenceError, ModelFormatError
from vipml.modeling.btyd.checks import (
    DEFAULT_PENALIZERS,
    FORMAT_VERSION,
    check_time_unit,
    checked_params,
    clip_predictions,
    customer_weights,
    history_arrays,
    horizons,
)
from vipml.modeling.btyd.grid import HistoryGrid, weighted_sum
from vipml.modeling.btyd.optimise import (
    Attempt,
    fit_with_penalizers,
    log_param_hessian,
    minimize_log_params,
    numeric_gradient,
    parameter_uncertainty,
    runaway_parameters,
    variance_matrix,
    warm_start_weights,
)
from vipml.modeling.params import Params, check_is_fitted

__all__ = ["PurchaseModel", "PurchaseModelName", "PURCHASE_MODELS"]

PurchaseModelName = Literal["bgnbd", "pareto_nbd", "mbgnbd"]
PURCHASE_MODELS: tuple[PurchaseModelName, ...] = ("bgnbd", "pareto_nbd", "mbgnbd")


class PurchaseModel(Params):
    """Shared machinery of the purchase models (fit, compression, checks, serialisation).

    After ``fit``, ``variance_matrix_`` (a DataFrame indexed and columned by parameter name)
    is the inverse of the Hessian of the negative log-likelihood at the optimum, in the
    parameters' natural scale (the delta method from the log-parameters the optimiser works
    in; time parameters in the summary's unit), and ``standard_errors_`` (a Series) the square
    roots of its diagonal: lifetimes' ``variance_matrix_`` and ``standard_errors_``;
    ``confidence_intervals_`` (a DataFrame, ``lower`` and ``upper``) the 95% intervals, taken
    on the log scale so they stay positive
    (:func:`~vipml.modeling.btyd.optimise.parameter_uncertainty`). When a
    penalizer was needed, the Hessian is that of the penalised objective (a ridge on the
    log-parameters). A singular Hessian gives NaN with a :class:`BtydWarning`. None of these
    is saved by :meth:`to_dict`.

    Parameters
    ----------
    penalizers
        Penalizer schedule, tried in order when a fit fails or parameters run away.
    compress
        Fit on distinct ``(frequency, recency, T)`` with weights (same result, faster).

    Examples
    --------
    >>> from vipml.modeling.btyd import BetaGeoModel
    >>> model = BetaGeoModel(penalizers=(0.0, 0.01))
    >>> isinstance(model, PurchaseModel), model.get_params()
    (True, {'penalizers': (0.0, 0.01), 'compress': True})
    """

    name: ClassVar[str]
    label: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]
    time_params: ClassVar[tuple[str, ...]]  # rate parameters in 1 / time units
    analytic: ClassVar[bool] = True

    def __init__(
        self, penalizers: Sequence[float] = DEFAULT_PENALIZERS, compress: bool = True
    ) -> None:
        self.penalizers = penalizers
        self.compress = compress

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"{type(self).__name__}(penalizers={tuple(self.penalizers)!r})"
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{type(self).__name__} {params}, log_likelihood={self.log_likelihood_:.1f}>"

    # -- fitting -------------------------------------------------------------------------
    def fit(self, summary: pd.DataFrame, weights: Any = None) -> PurchaseModel:
        """Fit on a BTYD summary (``frequency``, ``recency``, ``T``; time in any one unit).

        ``weights``: customers per row, when a row stands for several (distinct histories
        and their counts, as Spark sends them): the same fit as the rows repeated.

        Learned: ``params_`` (dict, in the summary's time unit), ``log_likelihood_`` (total,
        unpenalised, in that unit), ``penalizer_`` (the one that converged),
        ``n_customers_`` and ``n_unique_`` (distinct histories), ``variance_matrix_`` and
        ``standard_errors_`` (see the class docstring).
        """
        x, rec, T = history_arrays(summary)
        w = customer_weights(weights, len(x))
        if not (x > 0).any() or not (T > 0).any():
            raise ConvergenceError(
                f"{self.label} cannot be fitted on {len(x):,} customers: none made a repeat "
                f"purchase (penalizers {', '.join(f'{p:g}' for p in self.penalizers)} not "
                "tried): use a later cutoff or more history"
            )
        grid = HistoryGrid(x, rec, T, compress=self.compress, weights=w)
        scale = 10.0 / float(T.max())
        scaled = grid.scaled(scale)
        z0 = self._initial(scaled)

        sample_weights = warm_start_weights(scaled.w)
        sample = scaled.reweighted(sample_weights) if sample_weights is not None else None

        def attempt(penalizer: float) -> Attempt:
            def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
                return self._objective(z, scaled, penalizer)

            def warm(z: np.ndarray) -> tuple[float, np.ndarray]:
                assert sample is not None
                return self._objective(z, sample, penalizer)

            return minimize_log_params(
                objective, z0, self.analytic, warm if sample is not None else None
            )

        def check(z: np.ndarray) -> str:
            return runaway_parameters(dict(zip(self.param_names, np.exp(z), strict=True)))

        z, penalizer = fit_with_penalizers(
            self.label, attempt, check, self.penalizers, grid.n, len(grid)
        )
        params = dict(zip(self.param_names, np.exp(z).tolist(), strict=True))
        for name in self.time_params:
            params[name] /= scale
        self.params_ = params
        self.penalizer_ = penalizer

        def optimum(zz: np.ndarray) -> tuple[float, np.ndarray]:
            return self._objective(zz, scaled, penalizer)

        hessian = log_param_hessian(optimum, z, self.analytic)
        self.variance_matrix_ = variance_matrix(hessian, float(scaled.w.sum()), params, self.label)
        self.standard_errors_, self.confidence_intervals_ = parameter_uncertainty(
            self.variance_matrix_, params
        )
        with np.errstate(all="ignore"):
            ll = self._loglik(self._vector(), grid)
        self.log_likelihood_ = float(weighted_sum(grid.w, ll))
        self.n_customers_ = int(grid.n)
        self.n_unique_ = len(grid)
        self.max_T_ = float(T.max())
        return self

    def _initial(self, grid: HistoryGrid) -> np.ndarray:
        return np.zeros(len(self.param_names))

    def _objective(
        self, z: np.ndarray, grid: HistoryGrid, penalizer: float
    ) -> tuple[float, np.ndarray]:
        theta = np.exp(z)
        total = grid.w.sum()
        if self.analytic:
            ll, grad = self._loglik_grad(theta, grid)
            value = -ll / total + penalizer * float(np.sum(z**2))
            return value, -grad * theta / total + 2 * penalizer * z

        def f(zz: np.ndarray) -> float:
            th = np.exp(zz)
            with np.errstate(all="ignore"):
                ll = weighted_sum(grid.w, self._loglik(th, grid))
            return -ll / total + penalizer * float(np.sum(zz**2))

        return f(z), numeric_gradient(f, z)

    def _loglik(self, theta: np.ndarray, grid: HistoryGrid) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _loglik_grad(
        self, theta: np.ndarray, grid: HistoryGrid
    ) -> tuple[float, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    # -- prediction ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_is_fitted(self, "params_", _HOW)

    def _vector(self) -> np.ndarray:
        return np.array([self.params_[n] for n in self.param_names])

    def _grid(
        self, summary: pd.DataFrame, t: float | np.ndarray | pd.Series | None = None
    ) -> tuple[HistoryGrid, float | None]:
        """Distinct histories of the summary (with their horizons when t varies)."""
        self._check_fitted()
        x, rec, T = history_arrays(summary)
        check_time_unit(T, getattr(self, "max_T_", None))
        if t is None:
            return HistoryGrid(x, rec, T), None
        times = horizons(t, summary)
        if np.ndim(times) == 0:
            return HistoryGrid(x, rec, T), float(times)
        return HistoryGrid(x, rec, T, t=np.asarray(times)), None

    def _series(self, summary: pd.DataFrame, values: np.ndarray, name: str) -> pd.Series:
        return pd.Series(values, index=summary.index, name=name)

    def expected_purchases(
        self, summary: pd.DataFrame, t: float | np.ndarray | pd.Series
    ) -> pd.Series:
        """Expected number of repeat purchases in the next ``t`` time units, per customer.

        ``t`` is one number or one per customer, in the summary's time unit.
        """
        grid, tt = self._grid(summary, t)
        with np.errstate(all="ignore"):
            values = grid.broadcast(self._cond_expected(grid, tt))
        return self._series(
            summary, clip_predictions(values, "expected_purchases"), "expected_purchases"
        )

    def p_alive(self, summary: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still active (alive) at the end of the summary."""
        grid, _ = self._grid(summary)
        with np.errstate(all="ignore"):
            values = grid.broadcast(self._p_alive(grid))
        return self._series(summary, clip_predictions(values, "p_alive", upper=1.0), "p_alive")

    def p_no_purchase(self, summary: pd.DataFrame, t: float | np.ndarray | pd.Series) -> pd.Series:
        """P(no purchase in the next ``t`` time units | history), per customer.

        ``(1 - P(alive)) + P(alive) * P(no purchase in t | alive)``; see each model for the
        second factor.
        """
        grid, tt = self._grid(summary, t)
        with np.errstate(all="ignore"):
            values = grid.broadcast(self._p_no_purchase(grid, tt))
        return self._series(
            summary, clip_predictions(values, "p_no_purchase", upper=1.0), "p_no_purchase"
        )

    def expected_purchases_new(self, t: float | np.ndarray) -> np.ndarray:
        """Expected repeat purchases in ``(0, t]`` of a customer just acquired (unconditional)."""
        self._check_fitted()
        with np.errstate(all="ignore"):
            values = np.atleast_1d(self._unconditional(np.asarray(t, dtype=np.float64)))
        return clip_predictions(values, "expected_purchases_new")

    # Model math on distinct histories; ``t`` None means each row's own horizon (grid.t).
    def _cond_expected(self, grid: HistoryGrid, t: float | None) -> np.ndarray:
        return self._p_alive(grid) * self._alive_expected(grid, t)

    def _p_no_purchase(
        self, grid: HistoryGrid, t: float | None, alive: np.ndarray | None = None
    ) -> np.ndarray:
        alive = self._p_alive(grid) if alive is None else alive
        return (1 - alive) + alive * self._silent(grid, t)

    def _p_alive(self, grid: HistoryGrid) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _alive_expected(self, grid: HistoryGrid, t: float | None) -> np.ndarray:  # pragma: no cover
        """E[repeat purchases in t | alive now]."""
        raise NotImplementedError

    def _silent(self, grid: HistoryGrid, t: float | None) -> np.ndarray:  # pragma: no cover
        """P(no purchase in t | alive now)."""
        raise NotImplementedError

    def _unconditional(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: model name, parameters, log-likelihood, penalizer, counts."""
        self._check_fitted()
        return {
            "model": self.name,
            "format_version": FORMAT_VERSION,
            "params": dict(self.params_),
            "log_likelihood": self.log_likelihood_,
            "penalizer": self.penalizer_,
            "penalizers": [float(p) for p in self.penalizers],
            "n_customers": self.n_customers_,
            "n_unique": self.n_unique_,
            "max_T": getattr(self, "max_T_", None),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PurchaseModel:
        """Rebuild a fitted model from :meth:`to_dict` output (checked; no code is loaded)."""
        if not isinstance(d, Mapping):
            raise ModelFormatError(f"{cls.label}: expected a mapping, got {type(d).__name__}")
        if d.get("model") != cls.name:
            raise ModelFormatError(
                f"{cls.label}: the saved model is {d.get('model')!r}, not {cls.name!r}: "
                "load it with model_from_dict()"
            )
        if d.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(
                f"{cls.label}: format_version {d.get('format_version')!r} is not supported "
                f"(this vipml reads {FORMAT_VERSION}): retrain the model"
            )
        model = cls(penalizers=tuple(d.get("penalizers", DEFAULT_PENALIZERS)))
        model.params_ = checked_params(d.get("params"), cls.param_names, cls.label)
        model.log_likelihood_ = float(d.get("log_likelihood", float("nan")))
        model.penalizer_ = float(d.get("penalizer", 0.0))
        model.n_customers_ = int(d.get("n_customers", 0))
        model.n_unique_ = int(d.get("n_unique", 0))
        if d.get("max_T") is not None:
            model.max_T_ = float(d["max_T"])
        return model


_HOW = "call fit(summary) first, or load one with from_dict()"
