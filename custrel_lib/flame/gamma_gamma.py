"""Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma model of monetary value"): the conditional
expected spend per purchase and a customer value (discounted expected spend, with BG/NBD's purchases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from custrel_lib.exceptions import AnalysisError
from custrel_lib.flame.bgnbd import BetaGeoModel
from custrel_lib.flame.estimation import _compress, _Estimator, _fit_log, _summary_table
from custrel_lib.flame.rfm import DAYS_PER_YEAR, _columns, _unit_days


def _gg_terms(p, q, v, x, m):
    """Per-row log-likelihood of Gamma-Gamma (Fader & Hardie 2013, eq. 5 with the x^px m^(px-1) Jacobian
    terms) and its partial derivatives in (p, q, v)."""
    px = p * x
    vxm = v + x * m
    ll = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(vxm)
    )
    dpq = special.digamma(px + q)
    d_p = x * (dpq - special.digamma(px) + np.log(m) + np.log(x) - np.log(vxm))
    d_q = dpq - special.digamma(q) + np.log(v) - np.log(vxm)
    d_v = q / v - (px + q) / vxm
    return ll, (d_p, d_q, d_v)


class GammaGammaModel(_Estimator):
    """Gamma-Gamma model of the spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma model of monetary
    value"): each transaction value is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)`` across customers. Fitted on
    repeat buyers only (``frequency > 0``, ``monetary_value > 0``), by maximum likelihood in log-parameters.

    It assumes the spend does not depend on the purchase frequency: check ``frequency_spend_corr_`` (the
    correlation of the two among repeat buyers), which should be small.
    """

    _names = ("p", "q", "v")
    _label = "Gamma-Gamma"

    def __init__(self, penalizer: float = 0.0, initial: dict | None = None):
        self.penalizer = penalizer
        self.initial = initial

    def fit(self, summary: pd.DataFrame) -> GammaGammaModel:
        """Fit on the repeat buyers of a summary with ``frequency`` and ``monetary_value`` (others are dropped)."""
        x, m = _columns(summary, ["frequency", "monetary_value"])
        keep = (x > 0) & (m > 0)
        if keep.sum() < 2:
            raise AnalysisError(
                "Gamma-Gamma needs repeat buyers with a positive spend.", code="no_positive_spend"
            )
        x, m = x[keep], m[keep]
        self.frequency_spend_corr_ = float(np.corrcoef(x, m)[0, 1]) if np.std(x) > 0 else float("nan")
        (x, m), w = _compress(x, m)
        init = {"p": 1.0, "q": 1.0, "v": 1.0}
        init.update(self.initial or {})
        theta0 = np.log([init[k] for k in self._names])
        total = w.sum()

        def neg(theta):
            params = np.exp(theta)
            ll, grads = _gg_terms(*params, x, m)
            value = -np.sum(w * ll) / total + self.penalizer * np.sum(params**2)
            grad = np.array([-np.sum(w * g) / total for g in grads]) * params + 2 * self.penalizer * params**2
            return value, grad

        res, cov = _fit_log(lambda th: neg(th)[0], lambda th: neg(th)[1], theta0)
        values = np.exp(res.x)
        self.params_ = pd.Series(values, index=list(self._names), name="coef")
        self.summary_ = _summary_table(self._names, values, None if cov is None else cov / total)
        self.log_likelihood_ = float(-res.fun * total + self.penalizer * total * np.sum(values**2))
        self.n_ = int(total)
        self.converged_ = bool(res.success)
        self.result_ = res
        return self

    def conditional_expected_spend(self, frequency, monetary_value) -> np.ndarray:
        """Expected spend per purchase given ``frequency`` repeat purchases of mean ``monetary_value``
        (Fader & Hardie 2013, eq. 6); the population mean ``p v / (q - 1)`` when ``frequency == 0``."""
        self._check_fitted()
        p, q, v = (float(self.params_[k]) for k in self._names)
        x, m = np.broadcast_arrays(*(np.asarray(a, dtype="float64") for a in (frequency, monetary_value)))
        m = np.where(x > 0, m, 0.0)
        out = p * (v + x * m) / (p * x + q - 1)
        return out if out.ndim else float(out)

    def customer_value(
        self,
        bg: BetaGeoModel,
        summary: pd.DataFrame,
        horizon: float,
        discount_rate: float = 0.0,
        unit: str | None = None,
        steps: int | None = None,
    ) -> pd.Series:
        """Discounted expected spend over ``horizon`` (in the summary's unit): the expected purchases of each
        period (BG/NBD) times the expected spend per purchase (Gamma-Gamma), discounted at the end of the
        period at the annual ``discount_rate``.

        ``steps`` periods (default: months, at least one) split the horizon; ``unit`` defaults to the
        summary's ``attrs["unit"]``, else days.
        """
        self._check_fitted()
        bg._check_fitted()
        unit = unit or summary.attrs.get("unit") or bg.unit or "days"
        per_year = DAYS_PER_YEAR / _unit_days(unit)
        if steps is None:
            steps = max(1, round(horizon / (per_year / 12)))
        x, tx, T, m = _columns(summary, ["frequency", "recency", "T", "monetary_value"])
        spend = self.conditional_expected_spend(x, m)
        value = np.zeros(len(x))
        previous = np.zeros(len(x))
        for k in range(1, steps + 1):
            t = horizon * k / steps
            cum = bg.expected_purchases(t, x, tx, T)
            value += (cum - previous) * spend / (1 + discount_rate) ** (t / per_year)
            previous = cum
        return pd.Series(value, index=summary.index, name="customer_value")
