"""BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Batislam, Denizel & Filiztekin 2007).

Examples
--------
>>> BetaGeoModel.param_names, ModifiedBetaGeoModel.label
(('r', 'alpha', 'a', 'b'), 'MBG/NBD')
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from vipml.modeling.btyd.grid import HistoryGrid, weighted_sum
from vipml.modeling.btyd.purchase import PurchaseModel
from vipml.modeling.btyd.special import log_hyp2f1

__all__ = ["BetaGeoModel", "ModifiedBetaGeoModel"]


class BetaGeoModel(PurchaseModel):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchases while alive, dropout after each.

    Parameters ``r, alpha`` (Gamma purchase rates), ``a, b`` (Beta dropout probability).
    ``P(no purchase in t | alive) = ((alpha + T) / (alpha + T + t)) ** (r + x)``: an alive
    customer can only drop out right after a purchase, and the posterior purchase rate of an
    alive customer is Gamma(r + x, alpha + T). Note that BG/NBD gives customers without a repeat
    purchase P(alive) = 1, so ``1 - P(alive)`` alone is a poor churn score;
    ``p_no_purchase`` is better.

    After ``fit``, ``variance_matrix_`` (DataFrame) is the inverse of the Hessian of the
    negative log-likelihood at the optimum, in the natural parameter scale (delta method from
    the log-parameters), ``standard_errors_`` (Series) the square roots of its diagonal and
    ``confidence_intervals_`` (DataFrame) the 95% intervals; NaN, with a
    :class:`BtydWarning`, when the Hessian is singular (see :class:`PurchaseModel`).

    Parameters
    ----------
    penalizers
        Penalizer schedule (L2 on the scaled parameters, as lifetimes), tried in order when a
        fit fails or parameters run away.
    compress
        Fit on distinct ``(frequency, recency, T)`` with weights (same result, faster).

    Examples
    --------
    >>> from vipml.data.datasets import load_cdnow
    >>> from vipml.features.rfm import btyd_summary
    >>> s = btyd_summary(load_cdnow(sample=True), "1997-09-30", freq="D", time_unit="W")
    >>> model = BetaGeoModel().fit(s)
    >>> model.n_customers_, model.n_unique_
    (2357, 1016)
    >>> model.p_alive(s).loc[[1, 2, 3]].round(3).tolist()  # customer 3: one purchase only
    [0.727, 0.212, 1.0]
    >>> model.p_no_purchase(s, 39).loc[[1, 2, 3]].round(3).tolist()
    [0.445, 0.883, 0.856]
    >>> model.standard_errors_.round(3).to_dict()
    {'r': 0.013, 'alpha': 0.378, 'a': 0.186, 'b': 0.705}
    """

    name = "bgnbd"
    label = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")
    time_params = ("alpha",)
    _shift = 0  # MBG/NBD: 1 (dropout also possible at time zero)

    def _terms(
        self, theta: np.ndarray, grid: HistoryGrid
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        r, alpha, a, b = theta
        m = self._shift
        ux = grid.ux
        mask = (grid.x > 0) if m == 0 else np.ones(len(grid), dtype=bool)
        # per distinct frequency
        c_x = (
            gammaln(r + ux)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + ux + m)
            - gammaln(b)
            - gammaln(a + b + ux + m)
        )
        la_T = np.log(alpha + grid.uT)[grid.iT]
        la_r = np.log(alpha + grid.ur)[grid.ir]
        rx = r + grid.x
        bx = b + np.maximum(grid.x + m, 1) - 1
        A3 = -rx * la_T
        A4 = np.where(mask, np.log(a) - np.log(bx) - rx * la_r, -np.inf)
        return c_x, A3, A4, mask, bx

    def _loglik(self, theta: np.ndarray, grid: HistoryGrid) -> np.ndarray:
        c_x, A3, A4, _, _ = self._terms(theta, grid)
        return c_x[grid.ix] + np.logaddexp(A3, A4)

    def _prepared(self, grid: HistoryGrid) -> dict[str, np.ndarray]:
        """Row subsets and level sums of the likelihood that do not depend on the parameters.

        ``ll = c(x) - (r + x) log(alpha + T) + softplus(d)`` with
        ``d = log a - log(b + x + shift - 1) - (r + x) (log(alpha + rec) - log(alpha + T))``;
        the softplus term vanishes for BG/NBD customers without repeat purchases, so only
        customers with repeat purchases (all, for MBG/NBD) are visited row by row.
        """
        key = f"bg{self._shift}"
        if key not in grid.cache:
            sel = np.flatnonzero(grid.x > 0) if self._shift == 0 else np.arange(len(grid))
            grid.cache[key] = {
                "x": grid.x[sel],
                "w": grid.w[sel],
                "ix": grid.ix[sel],
                "ir": grid.ir[sel],
                "iT": grid.iT[sel],
                "W_T": np.bincount(grid.iT, weights=grid.w, minlength=len(grid.uT)),
                "WX_T": np.bincount(grid.iT, weights=grid.w * grid.x, minlength=len(grid.uT)),
            }
        return grid.cache[key]

    def _loglik_grad(self, theta: np.ndarray, grid: HistoryGrid) -> tuple[float, np.ndarray]:
        r, alpha, a, b = theta
        m = self._shift
        c = self._prepared(grid)
        ux, wx = grid.ux, grid.wx
        la_T, la_r = np.log(alpha + grid.uT), np.log(alpha + grid.ur)
        inv_T, inv_r = 1.0 / (alpha + grid.uT), 1.0 / (alpha + grid.ur)
        bx_level = b + np.maximum(ux + m, 1) - 1
        c_x = (
            gammaln(r + ux)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + ux + m)
            - gammaln(b)
            - gammaln(a + b + ux + m)
        )
        # rows with a dropout term
        diff = la_r[c["ir"]] - la_T[c["iT"]]
        rx = r + c["x"]
        d = (np.log(a) - np.log(bx_level))[c["ix"]] - rx * diff
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        wp = c["w"] * (np.where(d >= 0, 1.0, e) / (1.0 + e))  # weight x sigmoid(d)
        W_T, WX_T = c["W_T"], c["WX_T"]
        ll = (
            weighted_sum(wx, c_x)
            - r * weighted_sum(W_T, la_T)
            - weighted_sum(WX_T, la_T)
            + weighted_sum(c["w"], softplus)
        )
        dig_abx = digamma(a + b + ux + m)
        g = np.empty(4)
        g[0] = weighted_sum(wx, digamma(r + ux) - digamma(r) + np.log(alpha)) - weighted_sum(
            W_T, la_T
        )
        g[0] -= weighted_sum(wp, diff)
        g[1] = wx.sum() * r / alpha - weighted_sum(r * W_T + WX_T, inv_T)
        g[1] -= weighted_sum(wp * rx, inv_r[c["ir"]] - inv_T[c["iT"]])
        g[2] = weighted_sum(wx, digamma(a + b) - dig_abx) + wp.sum() / a
        g[3] = weighted_sum(wx, digamma(a + b) + digamma(b + ux + m) - digamma(b) - dig_abx)
        g[3] -= weighted_sum(np.bincount(c["ix"], weights=wp, minlength=len(ux)), 1.0 / bx_level)
        return float(ll), g

    def _p_alive(self, grid: HistoryGrid) -> np.ndarray:
        r, alpha, a, b = self._vector()
        x = grid.x
        bx = b + np.maximum(x, 1) - 1
        log_div = (r + x) * (np.log(alpha + grid.T) - np.log(alpha + grid.rec)) + np.log(a / bx)
        return np.where(x == 0, 1.0, expit(-log_div))

    def _alive_expected(self, grid: HistoryGrid, t: float | None) -> np.ndarray:
        # computed once per distinct (x, T[, t]) and indexed back to the grid
        r, alpha, a, b = self._vector()
        x, T, tp = grid.xT_x, grid.xT_T, grid.xT_t(t)
        c = a + b + x - 1
        z = tp / (alpha + T + tp)
        ln_silent = (r + x) * np.log((alpha + T) / (alpha + T + tp))
        with np.errstate(invalid="ignore"):
            ln_hyp = log_hyp2f1(r + x, b + x, c, z)
        value = c / (a - 1) * -np.expm1(ln_hyp + ln_silent)
        negative = ~np.isfinite(value)
        if negative.any():  # a + b + x < 1 (b < 1, no repeat yet): 2F1 < 0 has no logarithm
            cn, xn = np.broadcast_to(c, value.shape)[negative], np.broadcast_to(x, value.shape)
            xn = xn[negative]
            hyp = hyp2f1(r + xn, b + xn, cn, np.broadcast_to(z, value.shape)[negative])
            value[negative] = cn / (a - 1) * (1.0 - hyp * np.exp(ln_silent[negative]))
        return value[grid.ixT]

    def _silent(self, grid: HistoryGrid, t: float | None) -> np.ndarray:
        r, alpha, a, b = self._vector()
        tr = grid.row_t(t)
        return np.exp((r + grid.x) * (np.log(alpha + grid.T) - np.log(alpha + grid.T + tr)))

    def _unconditional(self, t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._vector()
        hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD (Batislam, Denizel & Filiztekin 2007): BG/NBD with a dropout at time zero too.

    Unlike BG/NBD, customers without a repeat purchase can be inactive:
    ``P(alive) = 1 / (1 + a / (b + x) * ((alpha + T) / (alpha + recency)) ** (r + x))``. An
    alive customer drops out only right after a purchase, so
    ``P(no purchase in t | alive) = ((alpha + T) / (alpha + T + t)) ** (r + x)`` as for BG/NBD.
    ``variance_matrix_`` and ``standard_errors_`` as for BG/NBD.

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
    >>> model = ModifiedBetaGeoModel().fit(s)
    >>> model.p_alive(s).loc[[1, 2, 3]].round(3).tolist()
    [0.706, 0.171, 0.39]
    """

    name = "mbgnbd"
    label = "MBG/NBD"
    _shift = 1

    def _p_alive(self, grid: HistoryGrid) -> np.ndarray:
        r, alpha, a, b = self._vector()
        x = grid.x
        log_div = (r + x) * (np.log(alpha + grid.T) - np.log(alpha + grid.rec)) + np.log(
            a / (b + x)
        )
        return expit(-log_div)

    def _alive_expected(self, grid: HistoryGrid, t: float | None) -> np.ndarray:
        r, alpha, a, b = self._vector()
        x, T, tp = grid.xT_x, grid.xT_T, grid.xT_t(t)
        ln_hyp = log_hyp2f1(r + x, b + x + 1, a + b + x, tp / (alpha + T + tp))
        log_ratio = (r + x) * np.log((alpha + T) / (alpha + T + tp))
        value = (a + b + x) / (a - 1) * -np.expm1(ln_hyp + log_ratio)
        return value[grid.ixT]

    def _unconditional(self, t: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._vector()
        hyp = hyp2f1(r, b + 1, a + b, t / (alpha + t))
        return b / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)
