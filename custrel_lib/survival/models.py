"""Survival estimators on the duration table: Kaplan-Meier, Cox, parametric AFT, competing risks, at-risk list.

Thin, estimator-style wrappers over lifelines (settings in ``__init__``, ``fit`` returns ``self``, results end
with ``_``, ``summary`` DataFrames, ``_repr_html_``). Left truncation is passed to lifelines as ``entry``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import (
    AalenJohansenFitter,
    CoxPHFitter,
    KaplanMeierFitter,
    LogLogisticAFTFitter,
    LogNormalAFTFitter,
    WeibullAFTFitter,
)
from lifelines.statistics import multivariate_logrank_test, pairwise_logrank_test, proportional_hazard_test
from lifelines.utils import concordance_index
from sklearn.model_selection import KFold

from custrel_lib.exceptions import AnalysisError, ConfigError


def _check(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(
            f"Duration table: missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}."
        )


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


# --- Kaplan-Meier ----------------------------------------------------------------------------------------


class KaplanMeier:
    """Kaplan-Meier survival by group, with confidence bands, numbers at risk, medians and log-rank tests.

    Parameters
    ----------
    group : str, optional
        Column defining the groups (landmark stage, cohort, channel, ...); ``None`` is one curve.
    alpha : float
        1 - confidence level of the bands and the median's interval.
    min_size : int
        Groups with fewer episodes are left out (and listed in ``dropped_groups_``).
    """

    def __init__(self, group: str | None = None, alpha: float = 0.05, min_size: int = 10):
        self.group, self.alpha, self.min_size = group, alpha, min_size

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = "entry",
    ) -> KaplanMeier:
        cols = (
            [duration_col, event_col]
            + ([self.group] if self.group else [])
            + ([entry_col] if entry_col else [])
        )
        _check(df, cols)
        data = df.dropna(subset=[duration_col, event_col] + ([self.group] if self.group else []))
        groups = data.groupby(self.group, observed=True) if self.group else [("all", data)]
        self.fitters_: dict[str, KaplanMeierFitter] = {}
        self.dropped_groups_ = []
        curves, medians = [], []
        for name, part in groups:
            if len(part) < self.min_size:
                self.dropped_groups_.append(name)
                continue
            kmf = KaplanMeierFitter(alpha=self.alpha, label=str(name))
            entry = part[entry_col] if entry_col else None
            kmf.fit(part[duration_col], part[event_col], entry=entry)
            self.fitters_[str(name)] = kmf
            sf, ci = kmf.survival_function_, kmf.confidence_interval_survival_function_
            table = kmf.event_table
            curves.append(
                pd.DataFrame(
                    {
                        "group": str(name),
                        "time": sf.index.to_numpy(),
                        "survival": sf.iloc[:, 0].to_numpy(),
                        "lower": ci.iloc[:, 0].to_numpy(),
                        "upper": ci.iloc[:, 1].to_numpy(),
                        "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
                    }
                )
            )
            lo, hi = _median_ci(kmf)
            medians.append(
                {
                    "group": str(name),
                    "episodes": len(part),
                    "events": int(part[event_col].sum()),
                    "median": kmf.median_survival_time_,
                    "median_lower": lo,
                    "median_upper": hi,
                }
            )
        if not self.fitters_:
            raise AnalysisError(f"No group has {self.min_size} episodes or more: nothing to estimate.")
        self.survival_ = pd.concat(curves, ignore_index=True)
        self.medians_ = pd.DataFrame(medians)
        self.logrank_ = self.pairwise_ = None
        if self.group and len(self.fitters_) > 1:
            kept = data[data[self.group].astype(str).isin(self.fitters_)]
            # Log-rank tests ignore left truncation (lifelines has no delayed-entry version): read with care.
            res = multivariate_logrank_test(kept[duration_col], kept[self.group].astype(str), kept[event_col])
            self.logrank_ = pd.DataFrame(
                [
                    {
                        "test": "log-rank",
                        "groups": len(self.fitters_),
                        "statistic": res.test_statistic,
                        "p_value": res.p_value,
                    }
                ]
            )
            pw = pairwise_logrank_test(
                kept[duration_col], kept[self.group].astype(str), kept[event_col]
            ).summary
            pw = pw.reset_index().rename(
                columns={
                    "level_0": "group_a",
                    "level_1": "group_b",
                    "test_statistic": "statistic",
                    "p": "p_value",
                }
            )
            pw["p_holm"] = holm(pw["p_value"].to_numpy())
            self.pairwise_ = pw[["group_a", "group_b", "statistic", "p_value", "p_holm"]]
        return self

    def survival_at(self, t: float) -> pd.Series:
        """Survival probability of each group at time ``t``."""
        return pd.Series(
            {g: float(k.survival_function_at_times(t).iloc[0]) for g, k in self.fitters_.items()}
        )

    @property
    def summary(self) -> pd.DataFrame:
        return self.medians_

    def _repr_html_(self) -> str:
        return self.medians_.to_html(index=False, float_format=lambda v: f"{v:,.1f}", escape=True)


def _median_ci(kmf: KaplanMeierFitter) -> tuple[float, float]:
    from lifelines.utils import median_survival_times

    try:
        ci = median_survival_times(kmf.confidence_interval_survival_function_)
        return float(ci.iloc[0, 0]), float(ci.iloc[0, 1])
    except Exception:  # pragma: no cover - lifelines cannot always bound it
        return np.nan, np.nan


def cohort_retention(
    durations: pd.DataFrame, as_of, max_months: int = 24, first_episode_only: bool = True
) -> pd.DataFrame:
    """Share of each monthly acquisition cohort still in a relationship ``k`` months after its start.

    A cell is empty when the cohort is not yet ``k`` months old at ``as_of``. Censored relationships count as
    still running until ``as_of`` (they are, as far as the data knows).
    """
    _check(durations, ["start", "duration", "event", "definition"])
    d = durations[durations["episode"] == 1] if first_episode_only and "episode" in durations else durations
    d = d[d.get("entry", 0) == 0] if "entry" in d else d
    as_of = pd.Timestamp(as_of)
    cohort = d["start"].dt.to_period("M")
    end = d["start"] + pd.to_timedelta(d["duration"], unit="D")
    rows = {}
    for c, part in d.groupby(cohort):
        ages = []
        for k in range(max_months + 1):
            horizon = c.to_timestamp() + pd.DateOffset(months=k)
            if horizon > as_of:
                ages.append(np.nan)
                continue
            moment = part["start"] + pd.DateOffset(months=k)
            alive = ~((part["event"] == 1) & (end.loc[part.index] < moment))
            ages.append(float(alive.mean()))
        rows[str(c)] = ages
    out = pd.DataFrame.from_dict(rows, orient="index", columns=range(max_months + 1))
    out.index.name = "cohort"
    out.columns.name = "months"
    return out


# --- Cox -------------------------------------------------------------------------------------------------


class CoxModel:
    """Cox proportional hazards with a pass/fail proportional-hazards table and cross-validated metrics.

    Parameters
    ----------
    covariates : sequence of str, optional
        Columns used (categoricals are one-hot encoded, first level dropped); ``None`` uses every other column.
    strata : sequence of str, optional
        Columns to stratify on (where the proportional-hazards check fails).
    penalizer : float
        Ridge penalty (0 reproduces the textbook estimates).
    alpha : float
        1 - confidence level of the intervals; also the threshold of the PH check.
    cv_folds : int
        Folds of the cross-validated concordance and integrated Brier score (0 to skip).
    """

    def __init__(
        self,
        covariates: Sequence[str] | None = None,
        strata: Sequence[str] | None = None,
        penalizer: float = 0.0,
        alpha: float = 0.05,
        cv_folds: int = 0,
        random_state: int = 0,
    ):
        self.covariates = list(covariates) if covariates is not None else None
        self.strata = list(strata) if strata else None
        self.penalizer, self.alpha, self.cv_folds, self.random_state = (
            penalizer,
            alpha,
            cv_folds,
            random_state,
        )

    def _design(
        self, df: pd.DataFrame, duration_col: str, event_col: str, entry_col: str | None
    ) -> pd.DataFrame:
        covs = self.covariates or [c for c in df.columns if c not in (duration_col, event_col, entry_col)]
        cols = [*covs, *(self.strata or [])]
        _check(df, [duration_col, event_col, *cols] + ([entry_col] if entry_col else []))
        x = df[[duration_col, event_col, *cols] + ([entry_col] if entry_col else [])].dropna()
        cat = [c for c in covs if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c])]
        for c in cat:
            if pd.api.types.is_bool_dtype(x[c]):
                x[c] = x[c].astype(float)
        cat = [c for c in cat if not pd.api.types.is_float_dtype(x[c])]
        x = pd.get_dummies(x, columns=cat, drop_first=True, dtype=float)
        if entry_col:
            # lifelines requires entry < duration; an episode ending the day it enters (a one-time buyer,
            # duration 0) is kept by moving its end a negligible step after its entry, as lifelines advises.
            x[duration_col] = np.maximum(x[duration_col].astype(float), x[entry_col].astype(float) + 1e-6)
        return x

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = None,
    ) -> CoxModel:
        x = self._design(df, duration_col, event_col, entry_col)
        self.n_ = len(x)
        if x[event_col].sum() < 5:
            raise AnalysisError(f"Only {int(x[event_col].sum())} events: too few for a Cox model.")
        self.columns_ = (duration_col, event_col, entry_col)
        self.model_ = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        self.model_.fit(
            x, duration_col=duration_col, event_col=event_col, entry_col=entry_col, strata=self.strata
        )
        s = self.model_.summary
        lo, hi = (
            next(c for c in s.columns if c.startswith("exp(coef) lower")),
            next(c for c in s.columns if c.startswith("exp(coef) upper")),
        )
        self.summary_ = pd.DataFrame(
            {
                "coef": s["coef"],
                "se": s["se(coef)"],
                "hazard_ratio": s["exp(coef)"],
                "hr_lower": s[lo],
                "hr_upper": s[hi],
                "p_value": s["p"],
            }
        )
        self.summary_.index.name = "covariate"
        self.concordance_ = float(self.model_.concordance_index_)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ph = proportional_hazard_test(self.model_, x, time_transform="rank")
            table = ph.summary.reset_index().rename(
                columns={"index": "covariate", "test_statistic": "statistic", "p": "p_value"}
            )
            table = table[["covariate", "statistic", "p_value"]]
            table["passes"] = table["p_value"] >= self.alpha
            self.ph_test_ = table
        except Exception as exc:  # lifelines cannot test stratified or degenerate fits
            self.ph_test_ = pd.DataFrame({"covariate": [], "statistic": [], "p_value": [], "passes": []})
            self.ph_test_error_ = str(exc)
        self.cv_ = cross_validate(self, x, duration_col, event_col, entry_col) if self.cv_folds else None
        return self

    @property
    def failing_covariates_(self) -> list[str]:
        return self.ph_test_.loc[~self.ph_test_["passes"].astype(bool), "covariate"].tolist()

    def survival_function(self, df: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
        duration_col, event_col, entry_col = self.columns_
        x = self._design(
            df.assign(**{duration_col: 1.0, event_col: 0}) if duration_col not in df else df,
            duration_col,
            event_col,
            entry_col,
        )
        return self.model_.predict_survival_function(x, times=times)

    @property
    def summary(self) -> pd.DataFrame:
        return self.summary_

    def _repr_html_(self) -> str:
        return self.summary_.to_html(float_format=lambda v: f"{v:.3f}")


def cross_validate(
    model,
    x: pd.DataFrame,
    duration_col: str,
    event_col: str,
    entry_col: str | None,
    times: Sequence[float] | None = None,
) -> pd.DataFrame:
    """K-fold concordance and integrated Brier score (IPCW) of a Cox or AFT wrapper on design matrix ``x``."""
    folds = KFold(n_splits=model.cv_folds, shuffle=True, random_state=model.random_state)
    rows = []
    t = x[duration_col].to_numpy()
    grid = (
        np.asarray(times)
        if times is not None
        else np.quantile(t[x[event_col] == 1], np.linspace(0.1, 0.8, 15))
    )
    for k, (tr, te) in enumerate(folds.split(x)):
        train, test = x.iloc[tr], x.iloc[te]
        fitter = model._fresh()
        kwargs = {"entry_col": entry_col} if entry_col else {}
        if isinstance(fitter, CoxPHFitter) and getattr(model, "strata", None):
            kwargs["strata"] = model.strata
        fitter.fit(train, duration_col=duration_col, event_col=event_col, **kwargs)
        risk = (
            fitter.predict_median(test)
            if not isinstance(fitter, CoxPHFitter)
            else -fitter.predict_partial_hazard(test)
        )
        c = concordance_index(test[duration_col], np.asarray(risk, dtype=float), test[event_col])
        surv = fitter.predict_survival_function(test, times=grid).to_numpy().T
        ibs = integrated_brier_score(
            train[duration_col], train[event_col], test[duration_col], test[event_col], surv, grid
        )
        rows.append({"fold": k + 1, "concordance": c, "integrated_brier": ibs})
    out = pd.DataFrame(rows)
    return out


def _cox_fresh(self) -> CoxPHFitter:
    return CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)


CoxModel._fresh = _cox_fresh


def integrated_brier_score(train_t, train_e, test_t, test_e, surv: np.ndarray, times: np.ndarray) -> float:
    """Integrated Brier score with inverse probability of censoring weights (Graf et al., 1999).

    ``surv[i, j]`` is the predicted survival of test subject ``i`` at ``times[j]``. The censoring distribution
    ``G`` is the Kaplan-Meier estimate of the censoring times of the training data.
    """
    kmc = KaplanMeierFitter().fit(np.asarray(train_t), 1 - np.asarray(train_e))
    t, e = np.asarray(test_t, dtype=float), np.asarray(test_e, dtype=int)

    def g(u):
        return np.clip(kmc.survival_function_at_times(u).to_numpy(), 1e-8, None)

    g_t = g(t)
    scores = []
    for j, s in enumerate(times):
        died = (t <= s) & (e == 1)
        alive = t > s
        gs = g(np.array([s]))[0]
        bs = np.where(died, surv[:, j] ** 2 / g_t, 0.0) + np.where(alive, (1 - surv[:, j]) ** 2 / gs, 0.0)
        scores.append(bs.mean())
    scores = np.asarray(scores)
    if len(times) == 1:
        return float(scores[0])
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))


# --- parametric AFT --------------------------------------------------------------------------------------

AFT_FITTERS = {
    "weibull": WeibullAFTFitter,
    "lognormal": LogNormalAFTFitter,
    "loglogistic": LogLogisticAFTFitter,
}


class AFTModel(CoxModel):
    """Accelerated failure time model (Weibull, log-normal or log-logistic; ``kind="best"`` picks by AIC).

    It extrapolates beyond the observed window, which the Cox model cannot: remaining lifetimes use it.
    """

    def __init__(
        self,
        covariates: Sequence[str] | None = None,
        kind: str = "best",
        penalizer: float = 0.0,
        alpha: float = 0.05,
        cv_folds: int = 0,
        random_state: int = 0,
    ):
        if kind != "best" and kind not in AFT_FITTERS:
            raise ConfigError(f"Unknown AFT kind {kind!r}: use best, {', '.join(AFT_FITTERS)}.")
        super().__init__(covariates, None, penalizer, alpha, cv_folds, random_state)
        self.kind = kind

    def _fresh(self):
        return AFT_FITTERS[self.kind_](penalizer=self.penalizer, alpha=self.alpha)

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = None,
    ) -> AFTModel:
        x = self._design(df, duration_col, event_col, entry_col)
        x = x[x[duration_col] > 0]
        self.n_ = len(x)
        self.columns_ = (duration_col, event_col, entry_col)
        kinds = list(AFT_FITTERS) if self.kind == "best" else [self.kind]
        fits, aic = {}, {}
        for k in kinds:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    m = AFT_FITTERS[k](penalizer=self.penalizer, alpha=self.alpha).fit(
                        x, duration_col=duration_col, event_col=event_col, entry_col=entry_col
                    )
                fits[k], aic[k] = m, m.AIC_
            except Exception:  # a family that does not converge is skipped, and reported
                aic[k] = np.nan
        if not fits:
            raise AnalysisError("No parametric model converged on this data.")
        self.aic_ = pd.Series(aic, name="AIC")
        self.kind_ = min(fits, key=lambda k: aic[k])
        self.model_ = fits[self.kind_]
        s = self.model_.summary
        self.summary_ = s[["coef", "exp(coef)", "se(coef)", "p"]].rename(
            columns={"exp(coef)": "time_ratio", "se(coef)": "se", "p": "p_value"}
        )
        self.concordance_ = float(self.model_.concordance_index_)
        self.ph_test_ = None
        self.cv_ = cross_validate(self, x, duration_col, event_col, entry_col) if self.cv_folds else None
        return self


# --- at risk now, competing risks ------------------------------------------------------------------------


def at_risk_now(
    durations: pd.DataFrame,
    model: AFTModel,
    horizon: float = 90.0,
    spend_col: str = "recent_spend",
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Active (censored) episodes: probability of separation within ``horizon`` given the time survived,
    expected remaining lifetime, and value at risk (probability x recent spend), sorted by value at risk.

    ``P(T <= t + h | T > t) = 1 - S(t + h) / S(t)``; the remaining lifetime is the integral of ``S(u) / S(t)``
    from ``t`` over 10 years (the parametric model extrapolates).
    """
    active = durations[durations["event"] == 0].copy()
    if active.empty:
        return active.assign(p_separation=[], expected_remaining=[], value_at_risk=[], at_risk=[])
    duration_col, event_col, entry_col = model.columns_
    x = model._design(active, duration_col, event_col, entry_col)
    active = active.loc[x.index]
    t = active[duration_col].to_numpy(dtype=float)
    grid = np.linspace(0, 3650, 366)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = model.model_.predict_survival_function(
            x, times=np.unique(np.concatenate([grid, t, t + horizon]))
        ).T
    cols = sf.columns.to_numpy()
    vals = sf.to_numpy()

    def at(times):
        idx = np.searchsorted(cols, times)
        return vals[np.arange(len(times)), idx]

    s_t = np.clip(at(t), 1e-12, None)
    p = 1 - at(t + horizon) / s_t
    remaining = np.empty(len(t))
    for i in range(len(t)):
        mask = cols >= t[i]
        remaining[i] = np.trapezoid(vals[i, mask], cols[mask]) / s_t[i]
    active["p_separation"] = np.clip(p, 0, 1)
    active["expected_remaining"] = remaining
    active["value_at_risk"] = active["p_separation"] * active.get(spend_col, 0.0).fillna(0.0)
    active["at_risk"] = active["p_separation"] >= threshold
    return active.sort_values(["value_at_risk", "p_separation"], ascending=False).reset_index(drop=True)


def flag_at_risk(history: pd.DataFrame, at_risk_ids, snapshot=None) -> pd.DataFrame:
    """A copy of the stage history with ``at_risk=True`` for ``at_risk_ids`` at ``snapshot`` (default: last)."""
    out = history.copy()
    snap = out["snapshot"].max() if snapshot is None else pd.Timestamp(snapshot)
    mask = (out["snapshot"] == snap) & out["customer_id"].isin(pd.Index(at_risk_ids).astype(str))
    out.loc[mask, "at_risk"] = True
    return out


class CompetingRisks:
    """Cumulative incidence of each end reason (Aalen-Johansen), e.g. voluntary vs involuntary."""

    def __init__(self, reason_col: str = "end_reason", alpha: float = 0.05):
        self.reason_col, self.alpha = reason_col, alpha

    def fit(
        self, df: pd.DataFrame, duration_col: str = "duration", event_col: str = "event"
    ) -> CompetingRisks:
        _check(df, [duration_col, event_col, self.reason_col])
        d = df.dropna(subset=[duration_col]).reset_index(drop=True)
        reasons = sorted(d.loc[d[event_col] == 1, self.reason_col].dropna().astype(str).unique())
        if not reasons:
            raise AnalysisError("No event has an end reason: competing risks need one.")
        code = {r: i + 1 for i, r in enumerate(reasons)}
        ev = pd.Series(
            np.where(d[event_col] == 1, d[self.reason_col].astype(str).map(code).fillna(0), 0).astype(int)
        )
        self.reasons_ = reasons
        curves = []
        self.fitters_ = {}
        for r in reasons:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ajf = AalenJohansenFitter(alpha=self.alpha, calculate_variance=True, seed=0).fit(
                    d[duration_col], ev, event_of_interest=code[r]
                )
            self.fitters_[r] = ajf
            ci = ajf.cumulative_density_
            conf = ajf.confidence_interval_cumulative_density_
            curves.append(
                pd.DataFrame(
                    {
                        "reason": r,
                        "time": ci.index.to_numpy(),
                        "incidence": ci.iloc[:, 0].to_numpy(),
                        "lower": conf.iloc[:, 0].to_numpy(),
                        "upper": conf.iloc[:, 1].to_numpy(),
                    }
                )
            )
        self.incidence_ = pd.concat(curves, ignore_index=True)
        return self

    def incidence_at(self, t: float) -> pd.Series:
        out = {}
        for r in self.reasons_:
            part = self.incidence_[(self.incidence_["reason"] == r) & (self.incidence_["time"] <= t)]
            out[r] = float(part["incidence"].iloc[-1]) if len(part) else 0.0
        return pd.Series(out)

    @property
    def summary(self) -> pd.DataFrame:
        last = self.incidence_.groupby("reason").tail(1).set_index("reason")
        return last[["time", "incidence"]]

    def _repr_html_(self) -> str:
        return self.summary.to_html(float_format=lambda v: f"{v:.3f}")
