"""BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2)),
fitted by maximum likelihood with scipy (log-parameters, analytic gradient, L-BFGS-B): probability alive,
expected purchases of a customer over a horizon, and of a new customer; :func:`simulate_summary` draws
customers from the model itself.

Known limit: BG/NBD lets a customer drop out only right after a purchase, so a customer without repeat
purchase (``frequency == 0``) is alive with probability 1, however long ago the first purchase was. The
typology's ``coup_d_un_soir`` rule covers those customers. See ``docs/btyd.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from custrel_lib.exceptions import AnalysisError, DataContractError
from custrel_lib.flame.estimation import _compress, _Estimator, _fit_log, _summary_table
from custrel_lib.flame.rfm import _columns


def _bgnbd_terms(r, alpha, a, b, x, tx, T):
    """Per-row log-likelihood of BG/NBD (FHL 2005, eq. 6) and its partial derivatives in (r, alpha, a, b)."""
    pos = x > 0
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    bx1 = np.where(pos, b + x - 1, 1.0)
    a4 = np.where(pos, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + tx), -np.inf)
    m = np.maximum(a3, a4)
    e3, e4 = np.exp(a3 - m), np.exp(a4 - m)
    ll = a1 + a2 + m + np.log(e3 + e4)
    w3 = e3 / (e3 + e4)
    w4 = 1.0 - w3
    ab = special.digamma(a + b) - special.digamma(a + b + x)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha)
    d_r += -w3 * np.log(alpha + T) - w4 * np.log(alpha + tx)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + tx)
    d_a = ab + w4 / a
    d_b = ab + special.digamma(b + x) - special.digamma(b) - w4 / bx1
    return ll, (d_r, d_alpha, d_a, d_b)


def _hyp2f1_tail(r_x, a, b_x, t, alpha_T):
    """``((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; z)``, ``z = t/(alpha+T+t)``, the term of eq. 10.

    Euler's transformation gives ``(1-z)^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z)``: small numerator
    parameters, ``c - a - b = r + x + 1 - a > 0`` so the series converges up to ``z = 1``, and no vanishing
    power times a huge series when ``r + x`` or ``t`` are large (where the direct form overflows).
    Pfaff's form ``2F1(r+x, a-1; a+b+x-1; -t/(alpha+T))`` is the fallback where scipy returns a non-finite
    value. Where every form fails and ``a + b`` is huge (a fit whose dropout probability is the same for every
    customer, ``p = a / (a + b)``: Beta(a, b) a point mass, as on a log where 97 % buy once), the limit
    ``2F1(r+x, b+x; c; z) -> (1 - q z)^-(r+x)``, ``q = (b+x)/c``, holds to about ``1/c`` (:data:`LARGE_C`).
    """
    c = a + b_x - 1
    z = t / (alpha_T + t)
    with np.errstate(all="ignore"):  # a form that fails gives inf or NaN, and the next one takes over
        power = np.exp((a - 1) * np.log1p(-z))
        out = power * special.hyp2f1(c - r_x, a - 1, c, z)
        bad = ~np.isfinite(out)
        if np.any(bad):
            out = np.where(bad, special.hyp2f1(r_x, a - 1, c, -t / alpha_T), out)
        bad = ~np.isfinite(out) & (np.broadcast_to(c, np.shape(out)) >= LARGE_C)
        if np.any(bad):  # Beta(a, b) is a point mass: (b+x)_k / (c)_k -> q^k, and the series sums to a power
            out = np.where(bad, np.exp(r_x * (np.log1p(-z) - np.log1p(-(b_x / c) * z))), out)
    bad = ~np.isfinite(out)
    if np.any(bad):  # scipy gives NaN for a large negative first parameter (r, alpha -> infinity fits)
        A, C, Z, P = (np.broadcast_to(v, out.shape)[bad] for v in (c - r_x, c, z, power))
        out = np.array(out, dtype="float64")
        out[bad] = P * _hyp2f1_series(A, np.full(A.shape, a - 1), C, Z)
    return out


#: From this ``a + b + x - 1`` on, eq. 10's hypergeometric function is read at its point-mass limit where the
#: exact forms fail (relative error about 1/c: below 1e-5 at 1e4, checked in tests/test_btyd.py).
LARGE_C = 1e4


def _hyp2f1_series(A, B, C, z, max_terms: int = 100_000) -> np.ndarray:
    """Gauss's series of ``2F1(A, B; C; z)``, summed term by term until the terms stop mattering (NaN if they
    do not within ``max_terms``). Used where scipy fails: a very large negative ``A`` with ``|A B z / C|``
    small, where the series converges fast."""
    A, B, C, z = (np.asarray(v, dtype="float64") for v in (A, B, C, z))
    term = np.ones_like(z)
    total = np.ones_like(z)
    for k in range(max_terms):
        term = term * (A + k) * (B + k) / ((C + k) * (k + 1)) * z
        total = total + term
        if np.all(np.abs(term) <= 1e-16 * np.abs(total)):
            return total
    return np.where(np.abs(term) <= 1e-16 * np.abs(total), total, np.nan)


class BetaGeoModel(_Estimator):
    """BG/NBD (beta-geometric / negative binomial) model of repeat purchases, fitted by maximum likelihood.

    While alive, a customer buys at a Poisson rate ``lambda ~ Gamma(r, alpha)``; after each purchase they
    drop out with probability ``p ~ Beta(a, b)``. Fader, Hardie & Lee (2005), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.

    Parameters
    ----------
    penalizer : float
        L2 penalty on the parameters (``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood per customer); 0, the default, is plain maximum likelihood.
    initial : dict, optional
        Starting values ``{"r", "alpha", "a", "b"}`` (default: all 1, ``alpha`` the mean ``T``).

    Attributes (after ``fit``)
    --------------------------
    params_ : Series ``r, alpha, a, b``; ``summary`` : DataFrame with estimates, standard errors and 95 %
    intervals; ``log_likelihood_``; ``n_`` customers; ``converged_``; ``unit`` of the summary (when known).
    """

    _names = ("r", "alpha", "a", "b")
    _label = "BG/NBD"

    def __init__(self, penalizer: float = 0.0, initial: dict | None = None):
        self.penalizer = penalizer
        self.initial = initial

    # likelihood in log-parameters, on compressed data
    def _neg_ll_grad(self, theta, x, tx, T, w):
        r, alpha, a, b = np.exp(theta)
        ll, grads = _bgnbd_terms(r, alpha, a, b, x, tx, T)
        total = w.sum()
        params = np.exp(theta)
        value = -np.sum(w * ll) / total + self.penalizer * np.sum(params**2)
        grad = np.array([-np.sum(w * g) / total for g in grads]) * params + 2 * self.penalizer * params**2
        return value, grad

    def fit(self, summary: pd.DataFrame) -> BetaGeoModel:
        """Fit on a summary with ``frequency``, ``recency`` and ``T`` (see :func:`rfm_summary`)."""
        x, tx, T = _columns(summary, ["frequency", "recency", "T"])
        if len(x) == 0:
            raise AnalysisError("BG/NBD needs at least one customer.")
        if np.any(x < 0) or np.any(tx < 0) or np.any(tx > T + 1e-9) or np.any((x > 0) & (tx <= 0)):
            raise DataContractError(
                "Summary inconsistent: need frequency >= 0, 0 <= recency <= T, recency > 0 when frequency > 0."
            )
        if not np.any(x > 0):
            raise AnalysisError("BG/NBD needs at least one customer with a repeat purchase.")
        (x, tx, T), w = _compress(x, tx, T)
        init = {"r": 1.0, "alpha": max(float(np.average(T, weights=w)), 1e-3), "a": 1.0, "b": 1.0}
        init.update(self.initial or {})
        theta0 = np.log([init[k] for k in self._names])
        cache: dict = {}

        def both(theta):
            key = theta.tobytes()
            if key not in cache:
                cache.clear()
                cache[key] = self._neg_ll_grad(theta, x, tx, T, w)
            return cache[key]

        res, cov = _fit_log(lambda th: both(th)[0], lambda th: both(th)[1], theta0)
        n = float(w.sum())
        values = np.exp(res.x)
        self.params_ = pd.Series(values, index=list(self._names), name="coef")
        # The Hessian above is that of the mean log-likelihood: the covariance of the estimates is its
        # inverse divided by the number of customers.
        self.summary_ = _summary_table(self._names, values, None if cov is None else cov / n)
        self.log_likelihood_ = float(-res.fun * n + self.penalizer * n * np.sum(values**2))
        self.n_ = int(n)
        self.converged_ = bool(res.success)
        self.result_ = res
        self.unit = summary.attrs.get("unit")
        return self

    def _p(self):
        self._check_fitted()
        return (float(v) for v in self.params_[list(self._names)])

    def log_likelihood_terms(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters."""
        r, alpha, a, b = self._p()
        x, tx, T = (np.asarray(v, dtype="float64") for v in (frequency, recency, T))
        return _bgnbd_terms(r, alpha, a, b, x, tx, T)[0]

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """Probability that the customer is still alive at ``T`` (FHL 2005, eq. 12); 1 when ``frequency == 0``."""
        r, alpha, a, b = self._p()
        x, tx, T = np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in (frequency, recency, T)))
        pos = x > 0
        bx1 = np.where(pos, b + x - 1, 1.0)
        log_ratio = np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        out = np.where(pos, special.expit(-log_ratio), 1.0)
        return out if out.ndim else float(out)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected purchases in the next ``t`` units of a customer with this history (FHL 2005, eq. 10)."""
        r, alpha, a, b = self._p()
        t, x, tx, T = np.broadcast_arrays(
            *(np.asarray(v, dtype="float64") for v in (t, frequency, recency, T))
        )
        if abs(a - 1.0) < 1e-9:
            a = 1.0 + 1e-9
        pos = x > 0
        tail = _hyp2f1_tail(r + x, a, b + x, t, alpha + T)
        num = (a + b + x - 1) / (a - 1) * (1.0 - tail)
        bx1 = np.where(pos, b + x - 1, 1.0)
        odds = np.where(
            pos, np.exp(np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))), 0.0
        )
        out = num / (1.0 + odds)
        return out if out.ndim else float(out)

    def expected_purchases_new(self, t) -> np.ndarray:
        """Expected purchases of a new customer in their first ``t`` units (FHL 2005, eq. 9)."""
        r, alpha, a, b = self._p()
        t = np.asarray(t, dtype="float64")
        if abs(a - 1.0) < 1e-9:
            a = 1.0 + 1e-9
        tail = _hyp2f1_tail(r, a, b, t, alpha)
        out = (a + b - 1) / (a - 1) * (1.0 - tail)
        return out if out.ndim else float(out)

    def predict(self, summary: pd.DataFrame, t: float) -> pd.DataFrame:
        """``p_alive`` and ``expected_purchases`` over ``t`` for every row of a summary (same index)."""
        x, tx, T = _columns(summary, ["frequency", "recency", "T"])
        out = pd.DataFrame(index=summary.index)
        if "customer_id" in summary.columns:
            out["customer_id"] = summary["customer_id"]
        out["p_alive"] = self.p_alive(x, tx, T)
        out["expected_purchases"] = self.expected_purchases(t, x, tx, T)
        return out


def simulate_summary(
    n: int, r: float, alpha: float, a: float, b: float, T, seed: int | None = None
) -> pd.DataFrame:
    """Frequency / recency / T of ``n`` customers drawn from the BG/NBD process itself (for tests and
    benchmarks): ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)``; each customer drops out right after a repeat
    purchase with probability ``p``. ``T`` is a number or one per customer.

    Given ``N ~ Poisson(lambda T)`` purchase opportunities in ``(0, T]`` and ``J ~ Geometric(p)`` repeat
    purchases before dropping out, ``x = min(N, J)`` and the ``x``-th of ``N`` uniform times is
    ``T * Beta(x, N - x + 1)``.
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype="float64"), (n,)).copy()
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    N = rng.poisson(lam * T)
    J = rng.geometric(np.clip(p, 1e-12, 1.0))
    x = np.minimum(N, J)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(N - x + 1, 1)), 0.0)
    return pd.DataFrame({"frequency": x.astype("int64"), "recency": tx, "T": T})
