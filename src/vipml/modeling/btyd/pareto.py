"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987).

Examples
--------
>>> ParetoNBDModel.param_names
('r', 'alpha', 's', 'beta')
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, gammaln

from vipml.modeling.btyd.grid import HistoryGrid
from vipml.modeling.btyd.purchase import PurchaseModel
from vipml.modeling.btyd.special import log_hyp2f1

__all__ = ["ParetoNBDModel"]


def _log_mean_share(k: np.ndarray, A: np.ndarray, s: float, B: np.ndarray) -> np.ndarray:
    """log E[lam / (lam + mu)] for independent lam ~ Gamma(k, rate A), mu ~ Gamma(s, rate B).

    ``E = k A^k B^s / (k + s) * M^-(k+s) * 2F1(., k + s; k + s + 1; |A - B| / M)`` with
    ``M = max(A, B)`` and first argument ``s`` when ``A >= B``, ``k + 1`` otherwise (from
    ``lam / (lam + mu) = lam * integral of exp(-u (lam + mu)) du``).
    """
    M = np.maximum(A, B)
    first = np.where(A >= B, s, k + 1)
    ks = k + s
    return (
        np.log(k)
        + k * np.log(A)
        + s * np.log(B)
        - np.log(ks)
        - ks * np.log(M)
        + log_hyp2f1(first, ks, ks + 1, np.abs(A - B) / M)
    )


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD (Schmittlein, Morrison & Colombo 1987): Poisson purchases, exponential life.

    Parameters ``r, alpha`` (Gamma purchase rates ``lam``), ``s, beta`` (Gamma dropout rates
    ``mu``). Given alive, ``lam ~ Gamma(r + x, alpha + T)`` and ``mu ~ Gamma(s, beta + T)``
    independently, and no purchase happens in ``t`` if the customer neither buys before dying
    nor buys at all: ``P(no purchase in t | alive) = E[mu / (lam + mu)]
    + E[lam / (lam + mu) * exp(-(lam + mu) t)]``, both closed forms in a Gauss hypergeometric
    function (see ``_log_mean_share``; checked against lifetimes'
    ``conditional_probability_of_n_purchases_up_to_time(0, ...)``).

    Fitted with BFGS on central-difference gradients in log-parameter space; the hypergeometric
    terms are evaluated once per distinct ``(frequency, recency)`` and ``(frequency, T)``.
    ``variance_matrix_`` and ``standard_errors_`` as for :class:`PurchaseModel` (the Hessian
    from central differences of the numerical gradient).

    Parameters
    ----------
    penalizers
        Penalizer schedule, tried in order when a fit fails or parameters run away.
    compress
        Fit on distinct ``(frequency, recency, T)`` with weights (same result, faster).

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.features.rfm import btyd_summary
    >>> s = btyd_summary(load_cdnow(sample=True), "1997-09-30", freq="D", time_unit="W")
    >>> model = ParetoNBDModel().fit(s)
    >>> {k: round(v, 3) for k, v in model.params_.items()}
    {'r': 0.553, 'alpha': 10.578, 's': 0.606, 'beta': 11.669}
    >>> model.expected_purchases(s, 39).loc[[1, 2]].round(3).tolist()
    [1.455, 0.171]
    """

    name = "pareto_nbd"
    label = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    time_params = ("alpha", "beta")
    analytic = False

    def _log_A0(self, theta: np.ndarray, grid: HistoryGrid) -> np.ndarray:
        """log of Hardie's A_0 (note 009, eq. 19-20), -inf where recency == T."""
        r, alpha, s, beta = theta
        mx = max(alpha, beta)
        diff = abs(alpha - beta)

        def part(x: np.ndarray, u: np.ndarray) -> np.ndarray:
            rsx = r + s + x
            second = np.full(len(x), s + 1.0) if alpha >= beta else r + x
            return log_hyp2f1(rsx, second, rsx + 1, diff / (mx + u)) - rsx * np.log(mx + u)

        L1 = part(grid.xr_x, grid.xr_r)[grid.ixr]
        L2 = part(grid.xT_x, grid.xT_T)[grid.ixT]
        d = np.minimum(L2 - L1, 0.0)
        return L1 + np.log(-np.expm1(d))

    def _loglik(self, theta: np.ndarray, grid: HistoryGrid) -> np.ndarray:
        r, alpha, s, beta = theta
        x = grid.x
        c_x = gammaln(r + grid.ux) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        first = -(r + x) * np.log(alpha + grid.uT)[grid.iT] - s * np.log(beta + grid.uT)[grid.iT]
        second = np.log(s) + self._log_A0(theta, grid) - np.log(r + s + x)
        return c_x[grid.ix] + np.logaddexp(first, second)

    def _p_alive(self, grid: HistoryGrid) -> np.ndarray:
        theta = self._vector()
        r, alpha, s, beta = theta
        x, T = grid.x, grid.T
        log_term = (
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + T)
            + s * np.log(beta + T)
            + self._log_A0(theta, grid)
        )
        return expit(-log_term)

    def _alive_expected(self, grid: HistoryGrid, t: float | None) -> np.ndarray:
        r, alpha, s, beta = self._vector()
        x, T, tr = grid.x, grid.T, grid.row_t(t)
        log_u = np.log(beta + T) - np.log(beta + T + tr)
        tail = -log_u if abs(s - 1) < 1e-10 else -np.expm1((s - 1) * log_u) / (s - 1)
        return (r + x) * (beta + T) / (alpha + T) * tail

    def _silent(self, grid: HistoryGrid, t: float | None) -> np.ndarray:
        r, alpha, s, beta = self._vector()
        x, T, tp = grid.xT_x, grid.xT_T, grid.xT_t(t)
        k = r + x
        share_now = np.exp(_log_mean_share(k, alpha + T, s, beta + T))
        log_tilt = k * (np.log(alpha + T) - np.log(alpha + T + tp)) + s * (
            np.log(beta + T) - np.log(beta + T + tp)
        )
        share_later = np.exp(log_tilt + _log_mean_share(k, alpha + T + tp, s, beta + T + tp))
        return (1 - share_now + share_later)[grid.ixT]

    def _unconditional(self, t: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = self._vector()
        log_u = np.log(beta) - np.log(beta + t)
        tail = -log_u if abs(s - 1) < 1e-10 else -np.expm1((s - 1) * log_u) / (s - 1)
        return r * beta / alpha * tail
