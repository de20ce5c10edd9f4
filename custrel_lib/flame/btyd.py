"""Buy 'til you die: is the flame still burning? BG/NBD and Gamma-Gamma for non-contractual customers.

* :func:`rfm_summary` turns transactions into one row per customer (``frequency``, ``recency``, ``T``,
  ``monetary_value``, and the holdout purchases when a calibration end is given), in the query engine
  (DuckDB through Ibis); :func:`rfm_summary_pandas` is the plain reference that the tests hold it to.
* :class:`BetaGeoModel` is the BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy
  way", Marketing Science 24(2)), fitted by maximum likelihood with scipy (log-parameters, analytic gradient,
  L-BFGS-B): probability alive, expected purchases of a customer over a horizon, and of a new customer.
* :class:`GammaGammaModel` is the spend model of Fader & Hardie (2013), "The Gamma-Gamma model of monetary
  value", with the conditional expected spend and a customer value (discounted expected spend).

Conventions (the literature's): a *purchase* is a transaction with a positive amount (refunds and zero
amounts do not count); purchases on the same day make one purchase occasion. ``frequency`` is the number of
days with a purchase after the first one (repeat purchases), ``recency`` the time from the first to the last
purchase day, ``T`` the time from the first purchase day to the end of the calibration period, in days or
weeks. ``monetary_value`` is the mean spend of the repeat purchase days (0 without repeat purchase).

Known limit: BG/NBD lets a customer drop out only right after a purchase, so a customer without repeat
purchase (``frequency == 0``) is alive with probability 1, however long ago the first purchase was. The
typology's ``coup_d_un_soir`` rule covers those customers. See ``docs/btyd.md``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd
from scipy import optimize, special

from custrel_lib.exceptions import AnalysisError, DataContractError, MissingColumnError

UNITS = {"days": 1.0, "weeks": 7.0}
DAYS_PER_YEAR = 365.25
SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]


# --- the frequency / recency / T summary ------------------------------------------------------------------


def _unit_days(unit: str) -> float:
    if unit not in UNITS:
        raise ValueError(f"Unknown unit {unit!r}: use one of {', '.join(UNITS)}.")
    return UNITS[unit]


def _day(ts) -> int:
    return int((pd.Timestamp(ts).normalize() - pd.Timestamp("1970-01-01")).days)


def _check_transactions(tx) -> None:
    cols = list(tx.columns)
    for col in ("customer_id", "date", "amount"):
        if col not in cols:
            raise MissingColumnError("transactions", col, cols)
    if isinstance(tx, pd.DataFrame) and not pd.api.types.is_datetime64_any_dtype(tx["date"]):
        raise DataContractError(
            "transactions.date must be a datetime column (use custrel_lib.io.load.load_tables)."
        )


def _finish(df: pd.DataFrame, unit: str, holdout_days: int | None) -> pd.DataFrame:
    """Engine or pandas counts in days to the public form (same dtypes and order for both)."""
    k = _unit_days(unit)
    out = pd.DataFrame(
        {
            "customer_id": df["customer_id"].astype("string"),
            "frequency": df["frequency"].astype("int64"),
            "recency": df["recency_days"].astype("float64") / k,
            "T": df["T_days"].astype("float64") / k,
            "monetary_value": df["monetary_value"].astype("float64").fillna(0.0),
        }
    )
    if holdout_days is not None:
        out["frequency_holdout"] = df["frequency_holdout"].fillna(0).astype("int64")
        out["monetary_value_holdout"] = df["monetary_value_holdout"].astype("float64").fillna(0.0)
        out["duration_holdout"] = holdout_days / k
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    out.attrs["unit"] = unit
    return out


def _bounds(as_of, calibration_end) -> tuple[int, int, int | None]:
    end = _day(as_of)
    if calibration_end is None:
        return end, end, None
    cal = _day(calibration_end)
    if cal > end:
        raise ValueError(f"calibration_end ({calibration_end}) is after as_of ({as_of}).")
    return end, cal, end - cal


MONEY = "decimal(38, 6)"


def rfm_summary(
    transactions,
    as_of,
    calibration_end=None,
    unit: str = "days",
    backend=None,
    include_zero: bool = False,
) -> pd.DataFrame:
    """One row per customer with a purchase by the end of calibration: the BG/NBD and Gamma-Gamma inputs.

    Computed in the query engine (DuckDB through Ibis by default); ``backend="pandas"`` runs
    :func:`rfm_summary_pandas` instead.

    Parameters
    ----------
    transactions : DataFrame or ibis.Table
        ``customer_id``, ``date``, ``amount``. Only positive amounts are purchases; rows after ``as_of`` are
        ignored.
    as_of : date
        End of the observation (inclusive).
    calibration_end : date, optional
        End of the calibration period (inclusive). Without it, the whole period up to ``as_of`` is the
        calibration period. With it, the purchases after it (up to ``as_of``) are the holdout.
    unit : "days" or "weeks"
        Unit of ``recency``, ``T`` and ``duration_holdout``.
    backend : None, an Ibis backend, or "pandas"
        ``None``: a new in-process DuckDB connection (or the backend of an Ibis table).
    include_zero : bool
        Count zero-amount transactions (free items) as purchases too; refunds (negative amounts) never count.
        CDNOW's summaries count them.

    Returns
    -------
    DataFrame
        ``customer_id``, ``frequency`` (repeat purchase days), ``recency``, ``T``, ``monetary_value`` (mean
        spend of the repeat purchase days, 0 without one); with ``calibration_end``: ``frequency_holdout``
        (purchase days in the holdout), ``monetary_value_holdout`` (their mean spend) and
        ``duration_holdout`` (length of the holdout). Sorted by ``customer_id``; ``attrs["unit"]`` is the unit.
    """
    _unit_days(unit)
    if isinstance(backend, str):
        if backend != "pandas":
            raise ValueError(f"Unknown backend {backend!r}: None, an Ibis backend or 'pandas'.")
        return rfm_summary_pandas(transactions, as_of, calibration_end, unit, include_zero)
    _check_transactions(transactions)
    end, cal, holdout_days = _bounds(as_of, calibration_end)
    if isinstance(transactions, ibis.Table):
        tx = transactions.select("customer_id", "date", "amount")
        con = backend if backend is not None else tx.get_backend()
    else:
        tx = ibis.memtable(transactions[["customer_id", "date", "amount"]])
        con = backend if backend is not None else ibis.duckdb.connect()
    tx = tx.mutate(d=tx.date.cast("date").epoch_days().cast("int64"), amount=tx.amount.cast("float64"))
    tx = tx.filter(((tx.amount >= 0) if include_zero else (tx.amount > 0)) & (tx.d <= end))
    # Spend is summed as exact decimals: float sums in parallel threads depend on their order, and the fits
    # downstream would turn last-bit differences into different reports from the same data.
    money = tx.amount.cast(MONEY)
    daily = tx.group_by(["customer_id", "d"]).aggregate(spend=money.sum())
    cal_days = daily.filter(daily.d <= cal)
    cal_days = cal_days.mutate(first=cal_days.d.min().over(ibis.window(group_by=cal_days.customer_id)))
    per = cal_days.group_by("customer_id").aggregate(
        first=cal_days.first.min(),
        last=cal_days.d.max(),
        n=cal_days.count(),
        repeat_spend=(cal_days.d > cal_days.first).ifelse(cal_days.spend, ibis.literal(0).cast(MONEY)).sum(),
    )
    per = per.select(
        "customer_id",
        frequency=per.n - 1,
        recency_days=per["last"] - per["first"],
        T_days=ibis.literal(cal, "int64") - per["first"],
        monetary_value=(per.n > 1).ifelse(
            per.repeat_spend.cast("float64") / (per.n - 1).cast("float64"), 0.0
        ),
    )
    if holdout_days is not None:
        hold = daily.filter(daily.d > cal)
        hold = hold.group_by("customer_id").aggregate(
            frequency_holdout=hold.count(),
            monetary_value_holdout=hold.spend.sum().cast("float64") / hold.count().cast("float64"),
        )
        per = per.left_join(hold, per.customer_id == hold.customer_id)
        per = per.drop(*[c for c in per.columns if c.endswith("_right")])
    df = con.execute(per)
    return _finish(df, unit, holdout_days)


def rfm_summary_pandas(
    transactions: pd.DataFrame, as_of, calibration_end=None, unit: str = "days", include_zero: bool = False
) -> pd.DataFrame:
    """The plain pandas reference of :func:`rfm_summary` (same definitions, same output)."""
    _unit_days(unit)
    _check_transactions(transactions)
    end, cal, holdout_days = _bounds(as_of, calibration_end)
    tx = transactions[["customer_id", "date", "amount"]]
    d = (tx["date"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.astype("int64")
    tx = tx.assign(d=d, amount=tx["amount"].astype("float64"))
    bought = (tx["amount"] >= 0) if include_zero else (tx["amount"] > 0)
    tx = tx[bought & (tx["d"] <= end)]
    daily = tx.groupby(["customer_id", "d"], as_index=False, observed=True)["amount"].sum()
    daily = daily.rename(columns={"amount": "spend"})
    c = daily[daily["d"] <= cal]
    g = c.groupby("customer_id", observed=True)
    first, last, n, total = g["d"].min(), g["d"].max(), g.size(), g["spend"].sum()
    first_spend = c.loc[c["d"] == c["customer_id"].map(first), :].set_index("customer_id")["spend"]
    per = pd.DataFrame(
        {
            "frequency": n - 1,
            "recency_days": last - first,
            "T_days": cal - first,
            "monetary_value": ((total - first_spend) / (n - 1)).where(n > 1, 0.0),
        }
    )
    if holdout_days is not None:
        h = daily[daily["d"] > cal].groupby("customer_id", observed=True)["spend"]
        per["frequency_holdout"] = h.size().reindex(per.index)
        per["monetary_value_holdout"] = h.mean().reindex(per.index)
    per = per.rename_axis("customer_id").reset_index()
    return _finish(per, unit, holdout_days)


def _columns(summary: pd.DataFrame, names: Sequence[str]) -> list[np.ndarray]:
    missing = [c for c in names if c not in summary.columns]
    if missing:
        raise MissingColumnError("summary", missing[0], list(summary.columns))
    return [summary[c].to_numpy(dtype="float64") for c in names]


# --- estimation helpers -------------------------------------------------------------------------------------


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns and their counts: the likelihood sums over distinct inputs only."""
    stacked = np.column_stack(columns)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype("float64")


def _hessian(grad, theta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences of the analytic gradient; symmetrised."""
    k = len(theta)
    h = np.zeros((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = eps
        h[:, i] = (grad(theta + step) - grad(theta - step)) / (2 * eps)
    return (h + h.T) / 2


def _summary_table(names: Sequence[str], values: np.ndarray, cov_log: np.ndarray | None) -> pd.DataFrame:
    """Estimates with standard errors (delta method from the log-parameters) and 95 % Wald intervals on
    the log scale (so that they stay positive)."""
    if cov_log is None:
        se_log = np.full(len(values), np.nan)
    else:
        se_log = np.sqrt(np.clip(np.diag(cov_log), 0, None))
    return pd.DataFrame(
        {
            "coef": values,
            "se(coef)": values * se_log,
            "lower 95%": values * np.exp(-1.959964 * se_log),
            "upper 95%": values * np.exp(1.959964 * se_log),
        },
        index=pd.Index(list(names), name="param"),
    )


def _fit_log(neg_ll, neg_grad, x0: np.ndarray, maxiter: int = 1000):
    res = optimize.minimize(
        neg_ll,
        x0,
        jac=neg_grad,
        method="L-BFGS-B",
        bounds=[(-15.0, 15.0)] * len(x0),
        options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9},
    )
    if not np.isfinite(res.fun):
        raise AnalysisError(f"The likelihood could not be maximised ({res.message}).")
    try:
        cov = np.linalg.inv(_hessian(neg_grad, res.x))
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
            cov = None
    except np.linalg.LinAlgError:
        cov = None
    return res, cov


class _Estimator:
    _names: tuple[str, ...] = ()
    _label = ""

    params_: pd.Series

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise AnalysisError(f"{type(self).__name__} is not fitted: call fit() first.")

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors (inverse Hessian of the log-likelihood at the optimum) and 95 % intervals."""
        self._check_fitted()
        return self.summary_

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"<{type(self).__name__}: not fitted>"
        p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{type(self).__name__}: fitted on {self.n_:,} customers, {p}>"

    def _repr_html_(self) -> str:
        if not hasattr(self, "params_"):
            return f"<p>{html.escape(type(self).__name__)}: not fitted</p>"
        head = (
            f"<p><b>{html.escape(self._label)}</b> — {self.n_:,} customers, log-likelihood "
            f"{self.log_likelihood_:,.3f}, converged: {self.converged_}</p>"
        )
        return head + self.summary_.to_html(float_format=lambda v: f"{v:.4f}")


# --- BG/NBD --------------------------------------------------------------------------------------------------


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
    value.
    """
    c = a + b_x - 1
    z = t / (alpha_T + t)
    out = np.exp((a - 1) * np.log1p(-z)) * special.hyp2f1(c - r_x, a - 1, c, z)
    bad = ~np.isfinite(out)
    if np.any(bad):
        out = np.where(bad, special.hyp2f1(r_x, a - 1, c, -t / alpha_T), out)
    return out


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


# --- Gamma-Gamma --------------------------------------------------------------------------------------------


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
            raise AnalysisError("Gamma-Gamma needs repeat buyers with a positive spend.")
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


# --- what the plots and the report need ------------------------------------------------------------------------


def p_alive_matrix(
    bg: BetaGeoModel,
    T: float,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    n_recency: int = 40,
) -> pd.DataFrame:
    """P(alive) of a customer observed for ``T`` units, by frequency (rows, 0 to ``max_frequency``) and
    recency (columns, ``n_recency`` values from 0 to ``max_recency`` <= ``T``)."""
    max_frequency = 20 if max_frequency is None else int(max_frequency)
    max_recency = T if max_recency is None else min(float(max_recency), T)
    rec = np.linspace(0, max_recency, n_recency)
    freq = np.arange(0, max_frequency + 1)
    f, r = np.meshgrid(freq, rec, indexing="ij")
    p = bg.p_alive(f, np.where(f > 0, np.maximum(r, 1e-9), 0.0), np.full_like(r, T, dtype=float))
    # A customer without repeat purchase has recency 0 by definition: other cells of that row do not exist.
    p = np.where((f == 0) & (r > 0), np.nan, p)
    p = np.where((f > 0) & (r == 0), np.nan, p)
    return pd.DataFrame(p, index=pd.Index(freq, name="frequency"), columns=pd.Index(rec, name="recency"))


def calibration_holdout(bg: BetaGeoModel, summary: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency (``max_frequency`` and above pooled): actual and
    predicted by the model (conditional expectation over each customer's ``duration_holdout``)."""
    x, tx, T, dur, y = _columns(
        summary, ["frequency", "recency", "T", "duration_holdout", "frequency_holdout"]
    )
    pred = bg.expected_purchases(dur, x, tx, T)
    df = pd.DataFrame({"frequency": np.minimum(x, max_frequency).astype(int), "actual": y, "model": pred})
    out = df.groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), model=("model", "mean")
    )
    return out.reset_index()


def p_alive_history(
    bg: BetaGeoModel, transactions: pd.DataFrame, customer_id, as_of, unit: str | None = None, freq: str = "D"
) -> pd.DataFrame:
    """P(alive) of one customer at every date (``freq``) from the first purchase to ``as_of``, with the
    purchase days: ``date``, ``p_alive``, ``purchase`` (a purchase that day), ``frequency`` so far."""
    unit = unit or bg.unit or "days"
    k = _unit_days(unit)
    tx = transactions.loc[
        (transactions["customer_id"].astype(str) == str(customer_id)) & (transactions["amount"] > 0), "date"
    ]
    days = np.unique((pd.to_datetime(tx).dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy())
    end = _day(as_of)
    days = days[days <= end]
    if len(days) == 0:
        raise AnalysisError(f"Customer {customer_id!r} has no purchase up to {pd.Timestamp(as_of).date()}.")
    dates = pd.date_range(
        pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(days[0])),
        pd.Timestamp(as_of).normalize(),
        freq=freq,
    )
    grid = (dates - pd.Timestamp("1970-01-01")).days.to_numpy()
    grid = np.union1d(grid, days)
    n_before = np.searchsorted(days, grid, side="right")  # purchase days up to each date
    x = n_before - 1
    last = days[n_before - 1]
    p = bg.p_alive(x, (last - days[0]) / k, (grid - days[0]) / k)
    return pd.DataFrame(
        {
            "date": pd.Timestamp("1970-01-01") + pd.to_timedelta(grid, unit="D"),
            "p_alive": p,
            "purchase": np.isin(grid, days),
            "frequency": x,
        }
    )


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
