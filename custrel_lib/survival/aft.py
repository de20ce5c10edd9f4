"""Hurdle accelerated-failure-time model: one-day relationships, then a parametric lifetime (see
:mod:`.models`). It extrapolates beyond the window; remaining lifetimes use it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter, LogLogisticAFTFitter, LogNormalAFTFitter, WeibullAFTFitter
from scipy import stats

from custrel_lib.exceptions import AnalysisError, ConfigError, InsufficientDataError
from custrel_lib.survival.covariates import design_matrix
from custrel_lib.survival.models import NUDGE, SurvivalModel
from custrel_lib.survival.validation import cross_validate

AFT_FITTERS = {
    "weibull": WeibullAFTFitter,
    "lognormal": LogNormalAFTFitter,
    "loglogistic": LogLogisticAFTFitter,
}


class AFTModel(SurvivalModel):
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
        frame[duration_col] = frame[duration_col].clip(lower=NUDGE)
        if entry_col:
            frame[entry_col] = entry[positive]
            frame[duration_col] = np.maximum(frame[duration_col], frame[entry_col] + NUDGE)
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
            raise AnalysisError("No parametric model converged on this data.", code="no_parametric_fit")
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
        self._check_fitted()
        if self.hurdle_coef_ is None:
            return np.full(len(df), self.p0_)
        x = self._x(df).reindex(columns=self.hurdle_coef_.index[1:], fill_value=0.0)
        z = self.hurdle_coef_.iloc[0] + x.to_numpy(dtype=float) @ self.hurdle_coef_.iloc[1:].to_numpy()
        return 1 / (1 + np.exp(-z))

    def survival_function(self, df: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
        """``S(t | x) = (1 - p0(x)) S+(t | x)`` at ``times`` (rows) for each row of ``df`` (columns)."""
        self._check_fitted()
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
        self._check_fitted()
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
        self._check_fitted()
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
