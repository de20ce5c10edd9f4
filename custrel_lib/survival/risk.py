"""Who is at risk now: a score for every active customer that uses what the last purchase says.

Non-contractual customers never announce that they leave: a separation is dated at the last purchase and
is known only once ``H`` days have passed without another. For a customer last seen ``r`` days ago
(``r <= H``), the question "has the flame gone out?" is the probability that the current gap between
purchases exceeds ``H``, given that it already lasts ``r`` days:

    p_lapse = P(gap > H | gap > r, x) = S_gap(H | x) / S_gap(r | x)

``S_gap`` is a Cox model of the gaps between purchases (each gap followed until the next purchase, capped at
``H``; the open gap of each customer censored at ``as_of``). After a repeat purchase, time is counted in
the customer's own rhythm (multiples of their mean earlier gap): regular buyers with different periods then
share one baseline, which a model in days cannot give them. Gaps after a first purchase have a baseline of
their own, in days (Cox strata). Covariates known when the gap begins: purchases so far, the rhythm itself
and how the last gap compared with it. So a customer who buys every month and has been silent for 80 days
scores higher than a quarterly buyer silent for 80 days; recency alone cannot tell them apart. :func:`backtest_lapse` measures, on the data itself, how
this score ranks customers one horizon ago against what happened since, beside recency alone.

Contract customers leave when their contract ends: ``P(end within h days | contract age t)`` comes from
Kaplan-Meier with delayed entry on the contract episodes (``S(t + h) / S(t)``).

Revenue exposed: every active customer's spend expected over the next ``h`` days (their daily spend over
the last 365 days, times ``h``), weighted by the score. One horizon ``h`` for both.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from sklearn.metrics import roc_auc_score

from custrel_lib.exceptions import InsufficientDataError, NotFittedError
from custrel_lib.survival.cox import CoxModel

GAP_COVARIATES = ["log_n_prior", "log_mean_gap", "log_rel_last_gap"]
TIME_DIGITS = 3  # significant digits of the gap model's time (see coarsen_time)
RISK_COLUMNS = [
    "customer_id",
    "definition",
    "last_purchase",
    "recency_days",
    "p_separation",
    "risk_kind",
    "expected_spend",
    "value_at_risk",
    "at_risk",
]


def empty_scores() -> pd.DataFrame:
    """An at-risk table with no row (nobody active, or no score computed), typed as :func:`score_active`'s."""
    return pd.DataFrame({c: pd.Series(dtype="bool" if c == "at_risk" else "float64") for c in RISK_COLUMNS})


def _purchase_days(transactions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    tx = transactions.loc[
        (transactions["amount"] > 0) & (transactions["date"] <= as_of), ["customer_id", "date"]
    ]
    days = tx.assign(customer_id=tx["customer_id"].astype("string"), date=tx["date"].dt.normalize())
    return days.drop_duplicates().sort_values(["customer_id", "date"], kind="stable").reset_index(drop=True)


def gap_table(transactions: pd.DataFrame, as_of, horizon_days: float) -> pd.DataFrame:
    """One row per purchase day: the gap that follows it and what was known when it began.

    Columns: ``customer_id``, ``date``, ``n_prior`` (earlier purchase days), ``mean_gap`` and ``last_gap``
    (days; missing for a first purchase), ``log_*`` of those, ``gap`` (days to the next purchase, or to
    ``as_of`` for the open gap), ``open`` (no later purchase yet), ``duration`` (``gap`` capped at ``H``) and
    ``event`` (1 when the next purchase came within ``H`` days).
    """
    as_of = pd.Timestamp(as_of)
    d = _purchase_days(transactions, as_of)
    if d.empty:
        raise InsufficientDataError("purchases", 0, 1)
    by = d.groupby("customer_id", sort=False)
    prev = by["date"].shift(1)
    nxt = by["date"].shift(-1)
    d["n_prior"] = by.cumcount()
    d["last_gap"] = (d["date"] - prev).dt.days.astype(float)
    first = by["date"].transform("min")
    d["mean_gap"] = np.where(
        d["n_prior"] > 0, (d["date"] - first).dt.days / d["n_prior"].clip(lower=1), np.nan
    )
    d["open"] = nxt.isna()
    d["gap"] = (nxt.fillna(as_of) - d["date"]).dt.days.astype(float)
    h = float(horizon_days)
    d["event"] = ((~d["open"]) & (d["gap"] <= h)).astype(int)
    d["duration"] = d["gap"].clip(upper=h)
    d["log_n_prior"] = np.log1p(d["n_prior"].astype(float))
    repeat = d["n_prior"] > 0
    # Time is counted in the customer's own rhythm (multiples of the mean earlier gap) after a repeat purchase,
    # in days after a first purchase; the two kinds of gap have baselines of their own (Cox strata).
    d["stratum"] = np.where(repeat, "repeat", "first")
    d["scale"] = np.where(repeat, d["mean_gap"].clip(lower=1.0), 1.0)
    d["log_mean_gap"] = np.where(repeat, np.log(d["scale"]), 0.0)
    d["log_rel_last_gap"] = np.where(repeat, np.log(d["last_gap"].clip(lower=1.0) / d["scale"]), 0.0)
    d["u"] = d["duration"] / d["scale"]
    return d


def coarsen_time(u: np.ndarray, digits: int = TIME_DIGITS) -> np.ndarray:
    """``u`` rounded to ``digits`` significant digits.

    After a repeat purchase the gap model's time is a ratio (days / the customer's mean gap), so nearly every
    gap has a time of its own, and lifelines' Efron fit loops in Python over the distinct times of each
    stratum at every Newton step (several times slower than once rounded). A gap of
    ``g`` days moves by at most ``0.5 * 10**(1 - digits) * g`` days (0.5 % of it at 3 digits, under a day
    within a horizon of 159): the ties this creates are what Efron's method is for. Gaps after a first
    purchase are whole days below 1,000 and do not move.
    """
    u = np.asarray(u, dtype=float)
    out = u.copy()
    positive = u > 0
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(u[positive])))
    out[positive] = np.round(u[positive] * scale) / scale
    return out


class GapModel:
    """Cox model of the gap after each purchase, capped at the horizon; scores the open gaps.

    Parameters
    ----------
    horizon_days : float
        The separation horizon ``H``.
    max_rows : int
        Gaps used for the fit at most (a seeded random sample beyond: the fit is on gaps, not customers,
        and a few hundred thousand estimate three coefficients and a baseline precisely).
    random_state : int
        Seed of that sample.
    """

    def __init__(self, horizon_days: float, max_rows: int = 200_000, random_state: int = 0):
        self.horizon_days, self.max_rows, self.random_state = float(horizon_days), max_rows, random_state

    def fit(self, gaps: pd.DataFrame) -> GapModel:
        data = gaps.loc[gaps["u"] > 0]
        if len(data) > self.max_rows:
            data = data.sample(self.max_rows, random_state=self.random_state)
        self.n_fit_ = len(data)
        data = data.assign(u=coarsen_time(data["u"].to_numpy()))
        self.cox_ = CoxModel(  # a scoring model: no proportional-hazards check (27 % of its CPU)
            GAP_COVARIATES, strata=["stratum"], penalizer=0.001, min_events=10, ph_test=False
        ).fit(data[["u", "event", "stratum", *GAP_COVARIATES]], "u", "event", None)
        base = self.cox_.model_.baseline_cumulative_hazard_
        self._baselines = {
            (col[0] if isinstance(col, tuple) else col): (
                base.index.to_numpy(dtype=float),
                base[col].ffill().fillna(0.0).to_numpy(dtype=float),
            )
            for col in base.columns
        }
        return self

    def _cumhaz(self, stratum: np.ndarray, u: np.ndarray) -> np.ndarray:
        out = np.zeros(len(u))
        for name, (times, cumhaz) in self._baselines.items():
            rows = stratum == name
            idx = np.searchsorted(times, u[rows], side="right") - 1
            out[rows] = np.where(idx >= 0, cumhaz[np.clip(idx, 0, None)], 0.0)
        return out

    def p_lapse(self, open_gaps: pd.DataFrame) -> np.ndarray:
        """``P(gap > H | gap > r, x)`` for open gaps (``gap`` = days since the last purchase, ``r <= H``)."""
        if not hasattr(self, "cox_"):
            raise NotFittedError("GapModel", "fit(gaps)")
        hazard = np.asarray(self.cox_.model_.predict_partial_hazard(self._design(open_gaps)), dtype=float)
        scale = open_gaps["scale"].to_numpy(dtype=float)
        r = np.minimum(open_gaps["gap"].to_numpy(dtype=float), self.horizon_days) / scale
        stratum = open_gaps["stratum"].to_numpy()
        cap = self.horizon_days / scale
        log_ratio = -(self._cumhaz(stratum, cap) - self._cumhaz(stratum, r)) * hazard
        return np.clip(np.exp(log_ratio), 0.0, 1.0)

    def _design(self, rows: pd.DataFrame) -> pd.DataFrame:
        return self.cox_._with_strata(rows)


def _daily_spend(transactions: pd.DataFrame, as_of: pd.Timestamp, days: int = 365) -> pd.Series:
    tx = transactions.loc[
        (transactions["date"] > as_of - pd.Timedelta(days=days)) & (transactions["date"] <= as_of)
    ]
    spend = tx.groupby(tx["customer_id"].astype("string"))["amount"].sum().clip(lower=0)
    return spend / float(days)


def contract_end_probability(contracts: pd.DataFrame, horizon: float) -> np.ndarray:
    """``1 - S(t + h) / S(t)`` per running contract, from Kaplan-Meier (delayed entry) on ``contracts``.

    ``contracts`` is the contractual part of a duration table; running contracts have ``event == 0`` and
    ``duration = t``. Beyond the last observed time, ``S`` stays at its last value (no extrapolation).
    """
    if contracts["event"].sum() < 1:
        return np.zeros(int((contracts["event"] == 0).sum()))
    kmf = KaplanMeierFitter().fit(contracts["duration"], contracts["event"], entry=contracts["entry"])
    running = contracts.loc[contracts["event"] == 0, "duration"].to_numpy(dtype=float)
    s_t = kmf.survival_function_at_times(running).to_numpy()
    s_th = kmf.survival_function_at_times(running + horizon).to_numpy()
    return np.clip(1 - s_th / np.clip(s_t, 1e-12, None), 0.0, 1.0)


def score_active(
    tables: dict[str, pd.DataFrame],
    durations: pd.DataFrame,
    as_of,
    horizon_days: float,
    risk_horizon_days: float = 90.0,
    threshold: float = 0.5,
    gap_model: GapModel | None = None,
) -> pd.DataFrame:
    """Every active customer with its probability of separation, the spend at stake and the at-risk flag.

    Parameters
    ----------
    tables : dict
        Canonical tables (``transactions`` required).
    durations : DataFrame
        The duration table (:func:`~custrel_lib.survival.build_durations`), for the contract episodes.
    as_of : date
        Extraction date.
    horizon_days : float
        Separation horizon ``H`` (days).
    risk_horizon_days : float
        ``h``: contract ends within ``h`` days, and the spend expected over ``h`` days.
    threshold : float
        ``at_risk`` is ``p_separation >= threshold``.
    gap_model : GapModel, optional
        A fitted gap model; default: fitted here on the purchases up to ``as_of``.

    Returns
    -------
    DataFrame
        ``RISK_COLUMNS``, sorted by value at risk. ``risk_kind`` is ``lapse`` (non-contractual:
        probability that the last purchase was the last of the relationship) or ``contract_end``.
    """
    as_of = pd.Timestamp(as_of)
    tx = tables["transactions"]
    gaps = gap_table(tx, as_of, horizon_days)
    parts = [
        _lapse_scores(gaps, durations, horizon_days, gap_model),
        _contract_scores(gaps, durations, as_of, risk_horizon_days),
    ]
    parts = [p for p in parts if p is not None]
    if not parts:
        return pd.DataFrame(columns=RISK_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    spend = _daily_spend(tx, as_of)
    out["expected_spend"] = out["customer_id"].map(spend).fillna(0.0).to_numpy() * float(risk_horizon_days)
    out["value_at_risk"] = out["p_separation"] * out["expected_spend"]
    out["at_risk"] = out["p_separation"] >= threshold
    out = out.sort_values(["value_at_risk", "p_separation", "customer_id"], ascending=[False, False, True])
    return out.reset_index(drop=True)[RISK_COLUMNS]


def _lapse_scores(gaps, durations, horizon_days, gap_model) -> pd.DataFrame | None:
    """Customers without a running contract and with an open gap within ``H``: their probability that the gap
    exceeds it. A customer whose contract has ended is scored here when they bought after its end (a new
    relationship); one whose last purchase came before the end left with the contract and is not active."""
    contracts = durations.loc[durations["definition"] == "contractual"]
    running = set(contracts.loc[contracts["event"] == 0, "customer_id"].astype(str))
    ended = contracts.loc[contracts["event"] == 1].groupby(contracts["customer_id"].astype(str))["end"].max()
    open_gaps = gaps.loc[gaps["open"] & (gaps["gap"] <= horizon_days)]
    ids = open_gaps["customer_id"].astype(str)
    after_end = ~(open_gaps["date"].to_numpy() <= ids.map(ended).to_numpy())  # NaT (no ended contract): True
    open_gaps = open_gaps.loc[~ids.isin(running).to_numpy() & after_end]
    if not len(open_gaps):
        return None
    model = gap_model or GapModel(horizon_days).fit(gaps)
    return pd.DataFrame(
        {
            "customer_id": open_gaps["customer_id"].astype(str).to_numpy(),
            "definition": "non_contractual",
            "last_purchase": open_gaps["date"].to_numpy(),
            "recency_days": open_gaps["gap"].to_numpy(),
            "p_separation": model.p_lapse(open_gaps),
            "risk_kind": "lapse",
        }
    )


def _contract_scores(gaps, durations, as_of, risk_horizon_days) -> pd.DataFrame | None:
    """Running contracts: their probability of ending within ``h`` days."""
    contracts = durations.loc[durations["definition"] == "contractual"]
    if not (contracts["event"] == 0).any():
        return None
    running = contracts.loc[contracts["event"] == 0]
    last = gaps.loc[gaps["open"]].set_index("customer_id")["date"]  # each customer's last purchase day
    ids = running["customer_id"].astype(str)
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "definition": "contractual",
            "last_purchase": ids.map(last).to_numpy(),
            "recency_days": (as_of - ids.map(last)).dt.days.to_numpy(dtype=float),
            "p_separation": contract_end_probability(contracts, risk_horizon_days),
            "risk_kind": "contract_end",
        }
    )


def backtest_lapse(transactions: pd.DataFrame, as_of, horizon_days: float, min_customers: int = 30) -> dict:
    """How well the lapse score ranked customers one horizon ago, beside recency alone.

    At ``cut = as_of - H`` the gap model is fitted on the purchases up to ``cut`` and scores every
    customer active then (last purchase within ``H`` of ``cut``). Whether each one lapsed (no purchase in
    the ``H`` days after their last purchase before ``cut``) is known at ``as_of``. Returns the AUC of the
    score and of recency (days since the last purchase), the number of customers and of lapses, and
    ``detail``: each customer's score, recency and outcome (for a calibration plot).
    """
    as_of = pd.Timestamp(as_of)
    cut = as_of - pd.Timedelta(days=float(horizon_days))
    past = transactions.loc[transactions["date"] <= cut]
    try:
        gaps = gap_table(past, cut, horizon_days)
    except InsufficientDataError as exc:
        raise InsufficientDataError("customers", 0, min_customers) from exc
    open_gaps = gaps.loc[gaps["open"] & (gaps["gap"] <= horizon_days)].copy()
    later = _purchase_days(transactions, as_of)
    later = later.loc[later["date"] > cut]
    first_after = later.groupby("customer_id")["date"].min()
    nxt = open_gaps["customer_id"].map(first_after)
    lapsed = (nxt.isna() | ((nxt - open_gaps["date"]).dt.days > horizon_days)).astype(int).to_numpy()
    n, k = len(open_gaps), int(lapsed.sum())
    if n < min_customers or k == 0 or k == n:
        raise InsufficientDataError("customers", n if 0 < k < n else 0, min_customers)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GapModel(horizon_days).fit(gaps)
    score = model.p_lapse(open_gaps)
    recency = open_gaps["gap"].to_numpy(dtype=float)
    return {
        "cut": cut,
        "customers": n,
        "lapsed": k,
        "auc_model": float(roc_auc_score(lapsed, score)),
        "auc_recency": float(roc_auc_score(lapsed, recency)),
        "detail": pd.DataFrame({"p_lapse": score, "recency_days": recency, "lapsed": lapsed}),
    }


def flag_at_risk(history: pd.DataFrame, at_risk_ids, snapshot=None) -> pd.DataFrame:
    """The stage history with ``at_risk=True`` for ``at_risk_ids`` at ``snapshot`` (default: last).

    ``history`` is left as it is; the result shares its other columns (a new ``at_risk`` column only: a deep copy
    was 0.8 GB at a million customers, the executive summary's memory peak).
    """
    snap = history["snapshot"].max() if snapshot is None else pd.Timestamp(snapshot)
    mask = (history["snapshot"] == snap) & history["customer_id"].isin(pd.Index(at_risk_ids).astype(str))
    before = history["at_risk"] if "at_risk" in history else pd.Series(False, index=history.index)
    out = history.copy(deep=False)
    out["at_risk"] = before.mask(mask, True)
    return out
