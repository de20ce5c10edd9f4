"""Regression models of the time until separation: Cox (what shortens relationships) and a parametric AFT
with a hurdle for relationships that end the day they begin (remaining lifetimes, extrapolation).

Estimator style after lifelines: settings in ``__init__``, ``fit(df, duration_col, event_col, entry_col)``
returns ``self``, results end with ``_``, a ``summary`` DataFrame and ``_repr_html_``. Every fit

* passes delayed entry (``entry_col``, default ``"entry"``) to lifelines, as Kaplan-Meier does;
* screens its covariates (:func:`~custrel_lib.survival.covariates.screen_covariates`): constant or entirely
  missing ones are dropped and listed in ``dropped_``; numeric gaps get a missing indicator;
* refuses, with an :class:`~custrel_lib.exceptions.InsufficientDataError` that says how many events there
  are and how many are needed, to fit on too few events.

One-time buyers end their relationship on the day it begins (duration 0). A log-time model cannot hold a
zero, and dropping them (as a first version did: 37 % of the sample's separations) makes survival look far
better than it is. :class:`AFTModel` is therefore a hurdle model: ``P(T = 0 | x)`` by logistic regression on
the episodes observed from their origin, and an AFT for ``T | T > 0`` with delayed entry, so that
``S(t | x) = (1 - p0(x)) S+(t | x)``. Its mean curve over the episodes is compared with Kaplan-Meier on the
same episodes (:meth:`AFTModel.compare_km`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import (
    CoxPHFitter,
    KaplanMeierFitter,
    LogLogisticAFTFitter,
    LogNormalAFTFitter,
    WeibullAFTFitter,
)
from lifelines.exceptions import StatError
from lifelines.statistics import proportional_hazard_test
from lifelines.utils import concordance_index
from scipy import stats
from sklearn.model_selection import KFold

from custrel_lib.exceptions import AnalysisError, ConfigError, InsufficientDataError
from custrel_lib.survival.covariates import design_matrix, screen_covariates
from custrel_lib.survival.km import check_columns

AFT_FITTERS = {
    "weibull": WeibullAFTFitter,
    "lognormal": LogNormalAFTFitter,
    "loglogistic": LogLogisticAFTFitter,
}
# lifelines needs duration > entry; an episode ending the day it enters is moved this far after its entry.
_NUDGE = 1e-6


def _base_name(column: str, covariates: Sequence[str]) -> str:
    """The covariate a design column comes from (``acquisition_channel_web`` -> ``acquisition_channel``)."""
    for c in sorted(covariates, key=len, reverse=True):
        if column == c or column.startswith(f"{c}_"):
            return c
    return column


class _SurvivalModel:
    """What Cox and AFT share: screening, design matrix, cross-validation."""

    min_events: int = 10

    def _prepare(self, df: pd.DataFrame, duration_col: str, event_col: str, entry_col: str | None):
        entry_col = entry_col if entry_col and entry_col in df else None
        check_columns(df, [duration_col, event_col])
        data = df.dropna(subset=[duration_col, event_col]).copy()
        covs = (
            list(self.covariates)
            if self.covariates is not None
            else [c for c in data.columns if c not in (duration_col, event_col, entry_col)]
        )
        screen = screen_covariates(data, covs, event_col)
        self.dropped_ = screen.dropped
        self.covariates_ = screen.kept
        events = int(data[event_col].sum())
        if events < self.min_events:
            raise InsufficientDataError("events", events, self.min_events)
        self.columns_ = (duration_col, event_col, entry_col)
        return screen.data, entry_col

    def _x(self, df: pd.DataFrame) -> pd.DataFrame:
        """The design matrix of new rows, aligned on the fitted columns (unseen levels are all-zero)."""
        screened = df.copy()
        for c in self.covariates_:
            if c.endswith("_missing") and c not in screened:
                base = c[: -len("_missing")]
                screened[c] = screened[base].isna().astype(float) if base in screened else 1.0
        for c in self.covariates_:
            if c in self.fill_ and c in screened:
                screened[c] = screened[c].astype(float).fillna(self.fill_[c])
        x = design_matrix(screened, self.covariates_) if self.covariates_ else pd.DataFrame(index=df.index)
        return x.reindex(columns=self.design_columns_, fill_value=0.0)

    def _remember_design(self, data: pd.DataFrame, x: pd.DataFrame) -> None:
        self.design_columns_ = list(x.columns)
        self.fill_ = {
            c: float(data[c].astype(float).mean())
            for c in self.covariates_
            if c in data and pd.api.types.is_float_dtype(data[c])
        }

    @property
    def summary(self) -> pd.DataFrame:
        return self.summary_

    def _repr_html_(self) -> str:
        return self.summary_.to_html(float_format=lambda v: f"{v:.3f}")


class CoxModel(_SurvivalModel):
    """Cox proportional hazards with delayed entry, a proportional-hazards check and cross-validated metrics.

    Parameters
    ----------
    covariates : sequence of str, optional
        Columns used (categoricals one-hot encoded, first level dropped); ``None`` uses every other column.
    strata : sequence of str, optional
        Columns to stratify on.
    penalizer : float
        Ridge penalty (0 reproduces the textbook estimates).
    alpha : float
        1 - confidence level of the intervals; also the threshold of the proportional-hazards check.
    cv_folds : int
        Folds of the cross-validated concordance and integrated Brier score (0 to skip).
    stratify_failing : bool
        Where the proportional-hazards check rejects a covariate, refit stratified on it (a continuous one is
        cut at its quartiles), so that no reported hazard ratio rests on a rejected assumption. The
        covariates handled that way are listed in ``stratified_``.
    min_events : int
        Fewer events raise :class:`~custrel_lib.exceptions.InsufficientDataError`.
    """

    def __init__(
        self,
        covariates: Sequence[str] | None = None,
        strata: Sequence[str] | None = None,
        penalizer: float = 0.0,
        alpha: float = 0.05,
        cv_folds: int = 0,
        random_state: int = 0,
        stratify_failing: bool = False,
        min_events: int = 10,
    ):
        self.covariates = list(covariates) if covariates is not None else None
        self.strata = list(strata) if strata else None
        self.penalizer, self.alpha, self.cv_folds, self.random_state = (
            penalizer,
            alpha,
            cv_folds,
            random_state,
        )
        self.stratify_failing, self.min_events = stratify_failing, min_events

    def clone(self) -> CoxModel:
        return CoxModel(
            self.covariates, self.strata, self.penalizer, self.alpha, 0, self.random_state,
            self.stratify_failing, self.min_events,
        )  # fmt: skip

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = "entry",
    ) -> CoxModel:
        data, entry_col = self._prepare(df, duration_col, event_col, entry_col)
        strata = [s for s in (self.strata or []) if s in data]
        self.covariates_ = [c for c in self.covariates_ if c not in strata]
        x = design_matrix(data, self.covariates_) if self.covariates_ else pd.DataFrame(index=data.index)
        if x.shape[1] == 0:
            raise InsufficientDataError("covariates", 0, 1)
        self._remember_design(data, x)
        frame = self._frame(data, x, duration_col, event_col, entry_col, strata)
        self.stratified_, self.strata_bins_ = [], {}
        self._fit_frame(frame, duration_col, event_col, entry_col, strata)
        if self.stratify_failing and self.failing_covariates_:
            failing = sorted({_base_name(c, self.covariates_) for c in self.failing_covariates_})
            self.first_ph_test_ = self.ph_test_
            for cov in failing:
                values = data[cov]
                if pd.api.types.is_float_dtype(values) and values.nunique() > 4:
                    edges = np.unique(np.quantile(values.dropna(), [0.25, 0.5, 0.75]))
                    self.strata_bins_[cov] = edges
                frame[f"stratum_{cov}"] = self._stratum(values, cov)
                frame = frame.drop(columns=[c for c in x.columns if _base_name(c, self.covariates_) == cov])
            strata = strata + [f"stratum_{c}" for c in failing]
            self.stratified_ = failing
            self.design_columns_ = [c for c in frame.columns if c in self.design_columns_]
            if not self.design_columns_:
                raise InsufficientDataError("covariates_after_stratification", 0, 1)
            self._fit_frame(frame, duration_col, event_col, entry_col, strata)
        self.strata_ = strata
        self.n_ = len(frame)
        self.cv_ = cross_validate(self, data) if self.cv_folds else None
        return self

    def _stratum(self, values: pd.Series, cov: str) -> pd.Series:
        """Stratum labels of a covariate: its value, or its quartile bin (edges kept from the fit)."""
        edges = self.strata_bins_.get(cov)
        if edges is not None:
            values = pd.Series(np.searchsorted(edges, values.astype(float), side="right"), index=values.index)
        return values.astype("string").fillna("(missing)")

    def _with_strata(self, df: pd.DataFrame) -> pd.DataFrame:
        """Design matrix of new rows plus their strata columns, as the fitted model expects them."""
        x = self._x(df)
        for s in self.strata_ or []:
            if s.startswith("stratum_"):
                cov = s[len("stratum_") :]
                values = df[cov] if cov in df else pd.Series(np.nan, index=df.index)
                if cov in self.fill_:
                    values = values.astype(float).fillna(self.fill_[cov])
                x[s] = self._stratum(values, cov)
            else:
                x[s] = df[s].astype("string").fillna("(missing)") if s in df else "(missing)"
        return x

    @staticmethod
    def _frame(data, x, duration_col, event_col, entry_col, strata) -> pd.DataFrame:
        frame = pd.concat([data[[duration_col, event_col]].astype(float), x], axis=1)
        if entry_col:
            frame[entry_col] = data[entry_col].astype(float)
            frame[duration_col] = np.maximum(frame[duration_col], frame[entry_col] + _NUDGE)
        for s in strata:
            frame[s] = data[s].astype("string").fillna("(missing)")
        return frame

    def _fit_frame(self, frame, duration_col, event_col, entry_col, strata) -> None:
        self.model_ = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(
                frame,
                duration_col=duration_col,
                event_col=event_col,
                entry_col=entry_col,
                strata=strata or None,
            )
        s = self.model_.summary
        lo = next(c for c in s.columns if c.startswith("exp(coef) lower"))
        hi = next(c for c in s.columns if c.startswith("exp(coef) upper"))
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
        self.ph_test_ = self._ph_table(frame, duration_col, event_col, entry_col, strata)

    def _ph_table(self, frame, duration_col, event_col, entry_col, strata) -> pd.DataFrame:
        """Rank-transformed Schoenfeld test; lifelines cannot test a delayed-entry fit, so the test is run on
        the same design refitted without entry (``ph_test_note_`` says so)."""
        self.ph_test_note_ = None
        model = self.model_
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if entry_col:
                    plain = frame.drop(columns=[entry_col])
                    model = CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha).fit(
                        plain, duration_col=duration_col, event_col=event_col, strata=strata or None
                    )
                    self.ph_test_note_ = "without_entry"
                    frame = plain
                ph = proportional_hazard_test(model, frame, time_transform="rank")
            table = ph.summary.reset_index().rename(
                columns={"index": "covariate", "test_statistic": "statistic", "p": "p_value"}
            )
            table = table[["covariate", "statistic", "p_value"]]
            table["passes"] = table["p_value"] >= self.alpha
            return table
        except Exception as exc:  # lifelines cannot test some degenerate fits
            self.ph_test_error_ = str(exc)
            return pd.DataFrame({"covariate": [], "statistic": [], "p_value": [], "passes": []})

    @property
    def failing_covariates_(self) -> list[str]:
        return self.ph_test_.loc[~self.ph_test_["passes"].astype(bool), "covariate"].tolist()

    def survival_function(self, df: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
        """Survival at ``times`` (rows) of each episode of ``df`` (columns)."""
        return self.model_.predict_survival_function(self._with_strata(df), times=times)

    def risk_score(self, df: pd.DataFrame) -> np.ndarray:
        """Higher means an earlier separation (the partial hazard)."""
        return np.asarray(self.model_.predict_partial_hazard(self._with_strata(df)), dtype=float)


class AFTModel(_SurvivalModel):
    """Hurdle accelerated-failure-time model: ``P(T = 0)`` by logistic regression, then Weibull, log-normal or
    log-logistic for ``T > 0`` (``kind="best"`` picks by AIC, within each cross-validation fold too).

    It extrapolates beyond the observed window, which Cox cannot: remaining lifetimes use it.
    """

    def __init__(
        self,
        covariates: Sequence[str] | None = None,
        kind: str = "best",
        penalizer: float = 0.0,
        alpha: float = 0.05,
        cv_folds: int = 0,
        random_state: int = 0,
        min_events: int = 10,
    ):
        if kind != "best" and kind not in AFT_FITTERS:
            raise ConfigError(f"Unknown AFT kind {kind!r}: use best, {', '.join(AFT_FITTERS)}.")
        self.covariates = list(covariates) if covariates is not None else None
        self.kind, self.penalizer, self.alpha = kind, penalizer, alpha
        self.cv_folds, self.random_state, self.min_events = cv_folds, random_state, min_events

    def clone(self) -> AFTModel:
        return AFTModel(
            self.covariates, self.kind, self.penalizer, self.alpha, 0, self.random_state, self.min_events
        )

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = "entry",
    ) -> AFTModel:
        data, entry_col = self._prepare(df, duration_col, event_col, entry_col)
        x = design_matrix(data, self.covariates_) if self.covariates_ else pd.DataFrame(index=data.index)
        self._remember_design(data, x)
        t = data[duration_col].astype(float)
        e = data[event_col].astype(int)
        entry = data[entry_col].astype(float) if entry_col else pd.Series(0.0, index=data.index)
        zero = (t <= 0) & (e == 1)
        self.n_, self.n_zero_ = len(data), int(zero.sum())
        self._fit_hurdle(x[entry <= 0], zero[entry <= 0])
        positive = ~zero
        if int(e[positive].sum()) < self.min_events:
            raise InsufficientDataError("events", int(e[positive].sum()), self.min_events)
        frame = pd.concat(
            [t[positive].rename(duration_col), e[positive].rename(event_col), x[positive]], axis=1
        )
        frame[duration_col] = frame[duration_col].clip(lower=_NUDGE)
        if entry_col:
            frame[entry_col] = entry[positive]
            frame[duration_col] = np.maximum(frame[duration_col], frame[entry_col] + _NUDGE)
        kinds = list(AFT_FITTERS) if self.kind == "best" else [self.kind]
        fits, aic = {}, {}
        for k in kinds:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    m = AFT_FITTERS[k](penalizer=self.penalizer, alpha=self.alpha).fit(
                        frame, duration_col=duration_col, event_col=event_col, entry_col=entry_col
                    )
                if not np.isfinite(m.AIC_):
                    raise ValueError("non-finite AIC")
                fits[k], aic[k] = m, m.AIC_
            except Exception:  # a family that does not converge is skipped, and reported as NaN
                aic[k] = np.nan
        if not fits:
            raise AnalysisError("No parametric model converged on this data.")
        self.aic_ = pd.Series(aic, name="AIC")
        self.kind_ = min(fits, key=lambda k: aic[k])
        self.model_ = fits[self.kind_]
        s = self.model_.summary.reset_index()
        duration_part = pd.DataFrame(
            {
                "part": "duration",
                "parameter": s["param"].astype(str) + ":" + s["covariate"].astype(str),
                "coef": s["coef"],
                "ratio": np.exp(s["coef"]),
                "se": s["se(coef)"],
                "p_value": s["p"],
            }
        )
        self.summary_ = pd.concat([self.hurdle_summary_, duration_part], ignore_index=True)
        self.cv_ = cross_validate(self, data) if self.cv_folds else None
        return self

    def _fit_hurdle(self, x: pd.DataFrame, zero: pd.Series) -> None:
        """Logistic regression of ``T = 0`` (maximum likelihood by Newton's method, standard errors from the
        observed information); a constant share when there are too few zeros or no covariate."""
        n, k = len(zero), int(zero.sum())
        self.hurdle_coef_ = None
        cols = list(x.columns)
        if n == 0 or k == 0:
            self.p0_ = 0.0
        elif k < self.min_events or n - k < self.min_events or not cols:
            self.p0_ = k / n
        else:
            design = np.column_stack([np.ones(n), x.to_numpy(dtype=float)])
            beta, cov = _logistic(design, zero.to_numpy(dtype=float))
            if beta is None:
                self.p0_ = k / n
            else:
                self.hurdle_coef_ = pd.Series(beta, index=["Intercept", *cols])
                se = np.sqrt(np.clip(np.diag(cov), 0, None))
                p = 2 * stats.norm.sf(np.abs(beta / np.where(se > 0, se, np.nan)))
                self.hurdle_summary_ = pd.DataFrame(
                    {
                        "part": "zero",
                        "parameter": [f"p0:{c}" for c in ["Intercept", *cols]],
                        "coef": beta,
                        "ratio": np.exp(beta),
                        "se": se,
                        "p_value": p,
                    }
                )
                self.p0_ = float(np.mean(1 / (1 + np.exp(-design @ beta))))
                return
        p0 = min(max(self.p0_, 1e-12), 1 - 1e-12)
        self.hurdle_summary_ = pd.DataFrame(
            [{"part": "zero", "parameter": "p0:Intercept", "coef": np.log(p0 / (1 - p0)), "ratio": p0 / (1 - p0),
              "se": np.nan, "p_value": np.nan}]
        )  # fmt: skip

    def p_zero(self, df: pd.DataFrame) -> np.ndarray:
        """Probability that a relationship ends the day it begins (a one-time purchase), per row of ``df``."""
        if self.hurdle_coef_ is None:
            return np.full(len(df), self.p0_)
        x = self._x(df).reindex(columns=self.hurdle_coef_.index[1:], fill_value=0.0)
        z = self.hurdle_coef_.iloc[0] + x.to_numpy(dtype=float) @ self.hurdle_coef_.iloc[1:].to_numpy()
        return 1 / (1 + np.exp(-z))

    def survival_function(self, df: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
        """``S(t | x) = (1 - p0(x)) S+(t | x)`` at ``times`` (rows) for each row of ``df`` (columns)."""
        times = np.asarray(times, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            positive = self.model_.predict_survival_function(self._x(df), times=np.maximum(times, 0.0))
        return positive * (1 - self.p_zero(df))[None, :]

    def mean_survival(self, df: pd.DataFrame, times: Sequence[float]) -> pd.Series:
        """The model's survival averaged over the rows of ``df``: comparable with Kaplan-Meier on them."""
        return pd.Series(self.survival_function(df, times).mean(axis=1).to_numpy(), index=np.asarray(times))

    def compare_km(self, df: pd.DataFrame, times: Sequence[float] | None = None) -> pd.DataFrame:
        """Mean model survival beside Kaplan-Meier (with delayed entry) on the same episodes.

        Returns ``time``, ``kaplan_meier``, ``model``, ``difference``; ``attrs["max_abs_difference"]``.
        """
        duration_col, event_col, entry_col = self.columns_
        d = df.dropna(subset=[duration_col, event_col])
        kmf = KaplanMeierFitter().fit(
            d[duration_col], d[event_col], entry=d[entry_col] if entry_col else None
        )
        if times is None:
            times = np.quantile(d.loc[d[event_col] == 1, duration_col], np.linspace(0.0, 0.9, 10))
        times = np.unique(np.asarray(times, dtype=float))
        km = kmf.survival_function_at_times(times).to_numpy()
        model = self.mean_survival(d, times).to_numpy()
        out = pd.DataFrame({"time": times, "kaplan_meier": km, "model": model, "difference": model - km})
        out.attrs["max_abs_difference"] = float(np.abs(out["difference"]).max())
        return out

    def risk_score(self, df: pd.DataFrame, tau: float | None = None) -> np.ndarray:
        """Minus the restricted mean lifetime up to ``tau``: higher means an earlier separation."""
        duration_col = self.columns_[0]
        if tau is None:
            tau = float(np.nanmax(df[duration_col])) if duration_col in df else 3650.0
        grid = np.linspace(0, tau, 60)
        s = self.survival_function(df, grid).to_numpy()
        return -np.trapezoid(s, grid, axis=0)


def _logistic(x: np.ndarray, y: np.ndarray, iterations: int = 100, ridge: float = 0.1):
    """Logistic regression by Newton-Raphson with a small ridge on the slopes (not the intercept), so that a
    covariate that separates the classes (contracts never end on their first day) keeps a finite estimate;
    ``(beta, covariance)`` or ``(None, None)``."""
    beta = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        w = p * (1 - p)
        info = x.T @ (x * w[:, None]) + np.diag(penalty)
        try:
            step = np.linalg.solve(info, x.T @ (y - p) - penalty * beta)
        except np.linalg.LinAlgError:
            return None, None
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    if not np.isfinite(beta).all():
        return None, None
    return beta, np.linalg.pinv(info)


def cross_validate(model, data: pd.DataFrame, times: Sequence[float] | None = None) -> pd.DataFrame:
    """K-fold concordance and integrated Brier score (IPCW) of a fitted Cox or AFT wrapper.

    Each fold refits a clone of the model on its training part, so the AFT family is chosen by AIC inside
    the fold, not on the whole data.
    """
    duration_col, event_col, _ = model.columns_
    folds = KFold(n_splits=model.cv_folds, shuffle=True, random_state=model.random_state)
    t = data[duration_col].to_numpy(dtype=float)
    e = data[event_col].to_numpy(dtype=int)
    grid = np.asarray(times) if times is not None else np.quantile(t[e == 1], np.linspace(0.1, 0.8, 15))
    rows = []
    for k, (tr, te) in enumerate(folds.split(data)):
        train, test = data.iloc[tr], data.iloc[te]
        try:
            fitted = model.clone().fit(train, *model.columns_)
            risk = fitted.risk_score(test)
            surv = fitted.survival_function(test, grid).to_numpy().T
        except (AnalysisError, StatError):  # too few events in the fold, or a stratum it has not seen
            continue
        c = concordance_index(test[duration_col], -risk, test[event_col])
        ibs = integrated_brier_score(
            train[duration_col], train[event_col], test[duration_col], test[event_col], surv, grid
        )
        rows.append({"fold": k + 1, "concordance": c, "integrated_brier": ibs})
    return pd.DataFrame(rows, columns=["fold", "concordance", "integrated_brier"])


def integrated_brier_score(train_t, train_e, test_t, test_e, surv: np.ndarray, times: np.ndarray) -> float:
    """Integrated Brier score with inverse probability of censoring weights (Graf et al., 1999).

    ``surv[i, j]`` is the predicted survival of test subject ``i`` at ``times[j]``. ``G`` is the Kaplan-Meier
    estimate of the censoring distribution of the training data. An event at ``t_i <= s`` is weighted by
    ``1 / G(t_i-)`` (the censoring survival just before the event: a censoring at the same time happens
    after it), a subject still there at ``s`` by ``1 / G(s)``.
    """
    kmc = KaplanMeierFitter().fit(np.asarray(train_t), 1 - np.asarray(train_e))
    t, e = np.asarray(test_t, dtype=float), np.asarray(test_e, dtype=int)

    def g(u):
        u = np.asarray(u, dtype=float)
        values = kmc.survival_function_at_times(np.maximum(u, 0.0)).to_numpy()
        return np.clip(np.where(u < 0, 1.0, values), 1e-8, None)

    # G(t-) is 1 at (and before) the first time; lifelines has no value at a negative time.
    g_t_minus = np.where(t > 0, g(np.nextafter(np.maximum(t, 0.0), -np.inf)), 1.0)
    scores = []
    for j, s in enumerate(times):
        died = (t <= s) & (e == 1)
        alive = t > s
        gs = g(np.array([s]))[0]
        bs = np.where(died, surv[:, j] ** 2 / g_t_minus, 0.0) + np.where(
            alive, (1 - surv[:, j]) ** 2 / gs, 0.0
        )
        scores.append(bs.mean())
    scores = np.asarray(scores)
    if len(times) == 1:
        return float(scores[0])
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))
