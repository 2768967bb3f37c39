"""Fitting in log-parameter space: BFGS, Newton steps, the penalizer schedule, and the
parameter covariance from the Hessian at the optimum.

The models minimise a mean negative log-likelihood (plus ``penalizer * sum(z ** 2)``) over
``z = log(params)``. :func:`minimize_log_params` runs BFGS then Newton steps on a
finite-difference Hessian; with a warm start (the same objective on a sample of customers) the
sample is fitted first. :func:`fit_with_penalizers` retries along the penalizer schedule.

Examples
--------
>>> import numpy as np
>>> def objective(z):  # minimum at z = log(2)
...     return float((z[0] - np.log(2)) ** 2), 2 * (z - np.log(2))
>>> result = minimize_log_params(objective, np.zeros(1), analytic=True)
>>> result.ok, round(float(np.exp(result.log_params[0])), 6)
(True, 2.0)
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import norm

from vipml.errors import ConfigError, ConvergenceError
from vipml.modeling.btyd.checks import BtydWarning

__all__ = [
    "Attempt",
    "Objective",
    "PARAM_RANGE",
    "WARM_START_ROWS",
    "numeric_gradient",
    "warm_start_weights",
    "finite_difference_hessian",
    "minimize_log_params",
    "fit_with_penalizers",
    "runaway_parameters",
    "log_param_hessian",
    "variance_matrix",
    "parameter_uncertainty",
]

log = logging.getLogger(__name__)

PARAM_RANGE = (1e-6, 1e6)
"""Fitted parameters (in scaled units) outside this range count as runaway."""


class Attempt(NamedTuple):
    """The outcome of one minimisation.

    Attributes
    ----------
    log_params
        The log-parameters reached.
    ok
        Whether they are an optimum.
    reason
        Why not, when ``ok`` is false.

    Examples
    --------
    >>> import numpy as np
    >>> Attempt(np.zeros(2), False, "no optimum found").ok
    False
    """

    log_params: np.ndarray
    ok: bool
    reason: str


def numeric_gradient(
    f: Callable[[np.ndarray], float], z: np.ndarray, h: float = 1e-4
) -> np.ndarray:
    """Five-point central differences (truncation error O(h^4)).

    Parameters
    ----------
    f
        A function of a vector.
    z
        Where to take the gradient.
    h
        Step.

    Returns
    -------
    numpy.ndarray
        The gradient of ``f`` at ``z``.

    Examples
    --------
    >>> import numpy as np
    >>> numeric_gradient(lambda z: float(z @ z), np.array([1.0, -2.0])).round(8).tolist()
    [2.0, -4.0]
    """
    grad = np.empty_like(z)
    for k in range(len(z)):
        step = np.zeros_like(z)
        step[k] = h
        grad[k] = (8 * (f(z + step) - f(z - step)) - (f(z + 2 * step) - f(z - 2 * step))) / (12 * h)
    return grad


WARM_START_ROWS = 40_000
"""Above this many distinct rows a fit starts from a fit on a weighted sample of customers."""
_WARM_SAMPLE = 40_000


def warm_start_weights(w: np.ndarray, size: int = _WARM_SAMPLE, seed: int = 0) -> np.ndarray | None:
    """Weights of a random sample of ``size`` customers (deterministic) over the same rows, or
    ``None`` when there are no more than :data:`WARM_START_ROWS` rows (no warm start).

    Parameters
    ----------
    w
        The rows' weights (customers per distinct history).
    size
        Customers in the sample.
    seed
        Seed of the sample.

    Returns
    -------
    numpy.ndarray or None
        The sample's weights per row (many are 0).

    Examples
    --------
    >>> import numpy as np
    >>> warm_start_weights(np.ones(10)) is None
    True
    >>> int(warm_start_weights(np.ones(50_000), size=1000).sum())
    1000
    """
    if len(w) <= WARM_START_ROWS:
        return None
    rng = np.random.default_rng(seed)
    return rng.multinomial(size, w / w.sum()).astype(np.float64)


Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def _safe(fun: Objective) -> Objective:
    def safe(z: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, grad = fun(z)
        if not np.isfinite(value) or not np.isfinite(grad).all():
            return 1e300, np.zeros_like(z)
        return float(value), grad

    return safe


def finite_difference_hessian(safe: Objective, z: np.ndarray, h: float) -> np.ndarray:
    """Symmetrised central-difference Hessian from gradients.

    Parameters
    ----------
    safe
        Objective returning ``(value, gradient)``.
    z
        Where to take the Hessian.
    h
        Step.

    Returns
    -------
    numpy.ndarray
        The ``len(z) x len(z)`` Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> def objective(z):
    ...     return float(z @ z), 2 * z
    >>> finite_difference_hessian(objective, np.zeros(2), 1e-5).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    hess = np.empty((len(z), len(z)))
    for k in range(len(z)):
        step = np.zeros_like(z)
        step[k] = h
        hess[:, k] = (safe(z + step)[1] - safe(z - step)[1]) / (2 * h)
    return (hess + hess.T) / 2


def _positive_definite(hess: np.ndarray) -> bool:
    try:
        return bool(np.isfinite(hess).all() and np.linalg.eigvalsh(hess).min() > 0)
    except np.linalg.LinAlgError:  # pragma: no cover
        return False


def _better(value: float, gmax: float, new_value: float, new_gmax: float) -> bool:
    """A step is taken if it lowers the objective, or keeps it (to rounding) and the gradient."""
    if new_value >= 1e300:
        return False
    return new_value < value - 1e-14 * abs(value) or (
        new_value <= value + 1e-13 * abs(value) and new_gmax < gmax
    )


def _newton(
    safe: Objective, z: np.ndarray, hess: np.ndarray, iterations: int = 30
) -> tuple[np.ndarray, float, np.ndarray]:
    """Newton steps with a fixed Hessian and step halving; stops at a tiny gradient."""
    value, grad = safe(z)
    for _ in range(iterations):
        gmax = float(np.max(np.abs(grad)))
        if gmax < 1e-11:
            break
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-3:
            candidate = z - t * step
            new_value, new_grad = safe(candidate)
            if _better(value, gmax, new_value, float(np.max(np.abs(new_grad)))):
                break
            t /= 2
        else:
            break
        z, value, grad = candidate, new_value, new_grad
    return z, value, grad


def _bfgs_polish(
    safe: Objective, z0: np.ndarray, analytic: bool
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray | None, str]:
    """BFGS, then up to three Newton steps on a finite-difference Hessian."""
    result = minimize(safe, z0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    z = result.x
    value, grad = safe(z)
    hess = None
    if value >= 1e300:
        return z, value, grad, hess, str(result.message)
    h = 1e-5 if analytic else 1e-4
    for _ in range(3):
        gmax = float(np.max(np.abs(grad)))
        if gmax < 1e-12:
            break
        hess = finite_difference_hessian(safe, z, h)
        if not _positive_definite(hess):
            hess = None
            break
        candidate = z - np.linalg.solve(hess, grad)
        new_value, new_grad = safe(candidate)
        if not _better(value, gmax, new_value, float(np.max(np.abs(new_grad)))):
            break
        z, value, grad = candidate, new_value, new_grad
    return z, value, grad, hess, str(result.message)


def minimize_log_params(
    fun: Objective, z0: np.ndarray, analytic: bool, warm: Objective | None = None
) -> Attempt:
    """Minimise ``fun`` (value and gradient) over log-parameters.

    BFGS, then Newton steps on a finite-difference Hessian. With ``warm`` (the same objective
    on a sample of customers), the sample is fitted first and its Hessian drives Newton steps
    on the full objective: a handful of full evaluations instead of dozens.

    Parameters
    ----------
    fun
        Objective returning ``(value, gradient)``.
    z0
        Starting log-parameters.
    analytic
        Whether the gradient is analytic (a smaller Hessian step) or numerical.
    warm
        The same objective on a sample of customers, or ``None``.

    Returns
    -------
    Attempt
        The log-parameters reached, whether they are an optimum, and why not.

    Examples
    --------
    >>> import numpy as np
    >>> minimize_log_params(lambda z: (float(z @ z), 2 * z), np.ones(2), True).ok
    True
    """
    safe = _safe(fun)
    try:
        if warm is not None:
            safe_warm = _safe(warm)
            z_w, value_w, grad_w, hess, _ = _bfgs_polish(safe_warm, z0, analytic)
            if value_w < 1e300 and np.max(np.abs(grad_w)) < 1e-6:
                if hess is None:
                    hess = finite_difference_hessian(safe_warm, z_w, 1e-5 if analytic else 1e-4)
                if _positive_definite(hess):
                    z, value, grad = _newton(safe, z_w, hess)
                    if value < 1e300 and np.max(np.abs(grad)) < 1e-9:
                        return Attempt(z, True, "")
                    if value < 1e300:
                        z0 = z
        z, value, grad, _, message = _bfgs_polish(safe, z0, analytic)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
        return Attempt(z0, False, f"the optimizer failed ({exc})")
    if value >= 1e300:
        return Attempt(z, False, "the log-likelihood is not finite at the optimum")
    gnorm = float(np.max(np.abs(grad)))
    if gnorm > 1e-5:
        return Attempt(z, False, f"no optimum found ({message}; gradient {gnorm:.1e})")
    return Attempt(z, True, "")


def fit_with_penalizers(
    label: str,
    attempt: Callable[[float], Attempt],
    check: Callable[[np.ndarray], str],
    penalizers: Sequence[float],
    n_customers: int,
    n_unique: int,
) -> tuple[np.ndarray, float]:
    """Fit with each penalizer in turn until one converges to sane parameters.

    A fit that needed a penalizer warns (:class:`BtydWarning`) with the reasons the earlier
    ones failed; when every penalizer fails, :class:`~vipml.errors.ConvergenceError` says why.

    Parameters
    ----------
    label
        The model's name, for messages.
    attempt
        Minimises the objective with a penalizer.
    check
        The reason fitted log-parameters are not acceptable, or ``""``.
    penalizers
        The schedule, tried in order.
    n_customers, n_unique
        Customers and distinct histories, for messages.

    Returns
    -------
    tuple
        ``(log_params, penalizer)`` of the first fit that converged to sane parameters.

    Examples
    --------
    >>> import numpy as np
    >>> attempt = lambda penalizer: Attempt(np.zeros(1), penalizer > 0, "no optimum")
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     fit_with_penalizers("M", attempt, lambda z: "", (0.0, 0.1), 10, 5)[1]
    0.1
    """
    penalizers = tuple(float(p) for p in penalizers)
    if not penalizers:
        raise ConfigError("penalizers: give at least one penalizer, e.g. (0.0, 0.001, 0.01, 0.1)")
    failures: list[str] = []
    for k, penalizer in enumerate(penalizers):
        result = attempt(penalizer)
        reason = result.reason if not result.ok else check(result.log_params)
        if not reason:
            if failures:
                warnings.warn(
                    f"{label}: fit on {n_customers:,} customers needed penalizer {penalizer:g} "
                    f"({'; '.join(failures)})",
                    BtydWarning,
                    stacklevel=3,
                )
            return result.log_params, penalizer
        failures.append(f"penalizer {penalizer:g}: {reason}")
        if k + 1 < len(penalizers):
            log.info("%s: %s; retrying with penalizer %g", label, reason, penalizers[k + 1])
    raise ConvergenceError(
        f"{label} did not converge on {n_customers:,} customers ({n_unique:,} distinct "
        f"histories) with penalizers {', '.join(f'{p:g}' for p in penalizers)}: "
        f"{'; '.join(failures)}. Check that recency and T are in the same time unit and that "
        "enough customers made repeat purchases, or try larger penalizers."
    )


def runaway_parameters(params: Mapping[str, float], low: float = PARAM_RANGE[0]) -> str:
    """Why parameters ran away (outside ``[low, 1e6]``), or ``""`` when they did not.

    Parameters
    ----------
    params
        Parameters by name.
    low
        Smallest sane value.

    Returns
    -------
    str
        The reason, naming the parameters outside the range.

    Examples
    --------
    >>> runaway_parameters({"r": 0.2, "a": 1e-9})
    'parameters ran away (a=1e-09)'
    """
    high = PARAM_RANGE[1]
    bad = [f"{k}={v:.3g}" for k, v in params.items() if not (low <= v <= high)]
    return f"parameters ran away ({', '.join(bad)})" if bad else ""


def log_param_hessian(fun: Objective, z: np.ndarray, analytic: bool) -> np.ndarray:
    """Hessian of ``fun`` at ``z`` (central differences of its gradient).

    Parameters
    ----------
    fun
        Objective returning ``(value, gradient)`` over log-parameters.
    z
        The optimum.
    analytic
        Whether the gradient is analytic (step 1e-5) or numerical (step 1e-4).

    Returns
    -------
    numpy.ndarray
        The Hessian (NaN where the objective is not finite nearby).

    Examples
    --------
    >>> import numpy as np
    >>> log_param_hessian(lambda z: (float(z @ z), 2 * z), np.zeros(1), True).tolist()
    [[2.0]]
    """
    safe = _safe(fun)
    h = 1e-5 if analytic else 1e-4
    for k in range(len(z)):
        for sign in (1, -1):
            step = np.zeros_like(z)
            step[k] = sign * h
            if safe(z + step)[0] >= 1e300:
                return np.full((len(z), len(z)), np.nan)
    return finite_difference_hessian(safe, z, h)


def variance_matrix(
    hessian: np.ndarray, n: float, params: Mapping[str, float], label: str
) -> pd.DataFrame:
    """Covariance of the parameters from the Hessian of the mean objective over log-parameters.

    The Hessian of the total negative log-likelihood over ``z = log(params)`` is
    ``n * hessian``; its inverse is the covariance of ``z``, and the delta method
    (``d params / d z = params``) gives that of the parameters:
    ``diag(params) (n H)^-1 diag(params)``. A Hessian that is not finite or not positive
    definite (a flat or saddle optimum) gives NaN with a :class:`BtydWarning`.

    Parameters
    ----------
    hessian
        Hessian of the mean objective over log-parameters, at the optimum.
    n
        Customers the mean is over.
    params
        Parameters in their natural units, by name (in the order of the Hessian).
    label
        The model's name, for the warning.

    Returns
    -------
    pandas.DataFrame
        Symmetric, indexed and columned by parameter name.

    Examples
    --------
    >>> import numpy as np
    >>> vm = variance_matrix(np.diag([2.0, 8.0]), 100, {"r": 1.0, "alpha": 10.0}, "M")
    >>> list(vm.index), vm.round(6).to_numpy().tolist()
    (['r', 'alpha'], [[0.005, 0.0], [0.0, 0.125]])
    """
    names = list(params)
    theta = np.array([params[n] for n in names], dtype=np.float64)
    out = np.full((len(names), len(names)), np.nan)
    total = np.asarray(hessian, dtype=np.float64) * float(n)
    if _positive_definite(total):
        inverse = np.linalg.inv(total)
        out = (inverse + inverse.T) / 2 * np.outer(theta, theta)
    if not np.isfinite(out).all():
        warnings.warn(
            f"{label}: the Hessian of the log-likelihood is singular or not positive definite "
            "at the optimum: variance_matrix_ and standard_errors_ are NaN",
            BtydWarning,
            stacklevel=3,
        )
        out = np.full((len(names), len(names)), np.nan)
    return pd.DataFrame(out, index=names, columns=names)


def parameter_uncertainty(
    variance: pd.DataFrame, params: Mapping[str, float], level: float = 0.95
) -> tuple[pd.Series, pd.DataFrame]:
    """Standard errors and confidence intervals of positive parameters from their covariance.

    The intervals are taken on the log scale the fit works in and mapped back,
    ``theta * exp(+-z * se / theta)``: they stay positive and follow the likelihood's skew
    (lifetimes' ``summary`` gives ``theta +- z * se``, which can cross zero); the standard
    errors are the same.

    Parameters
    ----------
    variance
        The parameters' covariance (:func:`variance_matrix`).
    params
        The fitted parameters, by name.
    level
        The intervals' coverage.

    Returns
    -------
    tuple of (pandas.Series, pandas.DataFrame)
        ``standard_error`` per parameter, and ``lower`` / ``upper`` bounds per parameter
        (NaN where the covariance is).

    Examples
    --------
    >>> vm = pd.DataFrame([[0.01, 0.0], [0.0, 4.0]], index=["r", "a"], columns=["r", "a"])
    >>> se, ci = parameter_uncertainty(vm, {"r": 0.5, "a": 10.0})
    >>> se.round(2).tolist(), ci.round(3).to_numpy().tolist()
    ([0.1, 2.0], [[0.338, 0.74], [6.757, 14.799]])
    """
    names = list(variance.index)
    theta = np.array([params[n] for n in names], dtype=np.float64)
    se = np.sqrt(np.diag(variance.to_numpy(dtype=np.float64)))
    z = float(norm.ppf(0.5 + level / 2))
    with np.errstate(all="ignore"):
        spread = np.exp(z * se / theta)
    errors = pd.Series(se, index=names, name="standard_error")
    bounds = pd.DataFrame({"lower": theta / spread, "upper": theta * spread}, index=names)
    return errors, bounds
