"""Cox proportional hazards with delayed entry: what shortens relationships (see :mod:`.models`)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines import utils as lifelines_utils
from lifelines.fitters.coxph_fitter import SemiParametricPHFitter
from lifelines.statistics import proportional_hazard_test

from custrel_lib.exceptions import InsufficientDataError
from custrel_lib.survival.covariates import design_matrix
from custrel_lib.survival.efron import efron_with_entry
from custrel_lib.survival.models import NUDGE, SurvivalModel, base_name
from custrel_lib.survival.validation import cross_validate


class _StrataByPosition(SemiParametricPHFitter):
    """lifelines' Cox fitter, with each stratum's rows taken by position and delayed entry's gradient vectorised.

    lifelines splits the data by stratum at every Newton step and for the residuals, taking each stratum's
    times, events, weights and entries with ``Series.loc[[stratum]]`` on a non-unique MultiIndex: a large share
    of a stratified fit's time. Its data are sorted by stratum and share one index, so the rows of
    the ``k``-th group of ``X`` are the same positions in every column: the same pieces, in the same order
    (``tests/test_survival.py`` checks the fit is identical to lifelines' own). Any other layout is left to
    lifelines.
    """

    def _compute_central_values_of_raw_training_data(self, df, strata=None, name="baseline"):
        """Deferred: lifelines computes these typical covariate values (``describe`` of every column, per
        stratum) only for ``plot_partial_effects_on_outcome``. A copy of the rows is kept and they are computed
        when first asked (:attr:`_central_values`), by lifelines' own code, its recursion over strata included."""
        if self.__dict__.get("_computing_central"):
            return super()._compute_central_values_of_raw_training_data(df, strata, name)
        self._central_inputs = (df.copy(), strata)
        return None

    @property
    def _central_values(self):
        inputs = self.__dict__.pop("_central_inputs", None)
        if inputs is not None:
            self._computing_central = True
            try:
                self._central_values_ = self._compute_central_values_of_raw_training_data(*inputs)
            finally:
                self._computing_central = False
        return self.__dict__.get("_central_values_")

    @_central_values.setter
    def _central_values(self, value):
        self._central_values_ = value

    def _choose_gradient_calculator(self, T, X, entries):
        """With delayed entry, :func:`~custrel_lib.survival.efron.efron_with_entry` (lifelines' loop over the
        event times, vectorised: the same sums); without, lifelines' own."""
        if entries is None:
            return super()._choose_gradient_calculator(T, X, entries)
        return lambda X, T, E, weights, entries, beta: efron_with_entry(
            X.values, E.values, entries.values, T.values, weights.values, beta
        )

    def _partition_by_strata(self, X, T, E, entries, weights):
        aligned = all(s is None or s.index.equals(X.index) for s in (T, E, entries, weights))
        if not aligned:
            yield from super()._partition_by_strata(X, T, E, entries, weights)
            return
        groups = X.groupby(self.strata)
        codes = groups.ngroup().to_numpy()
        for k, (stratum, stratified_X) in enumerate(groups):
            rows = np.flatnonzero(codes == k)
            pieces = (T.iloc[rows], E.iloc[rows], weights.iloc[rows])
            yield (stratified_X, *pieces, None if entries is None else entries.iloc[rows]), stratum


class _CoxPHFitter(CoxPHFitter):
    """``CoxPHFitter`` whose Breslow-baseline model is :class:`_StrataByPosition` (what ``fit`` builds)."""

    def _fit_model_breslow(self, *args, **kwargs):
        if not lifelines_utils.CensoringType.is_right_censoring(self):
            return super()._fit_model_breslow(*args, **kwargs)  # lifelines' own error
        model = _StrataByPosition(
            penalizer=self.penalizer,
            l1_ratio=self.l1_ratio,
            strata=self.strata,
            alpha=self.alpha,
            label=self._label,
        )
        model.fit(*args, **kwargs)
        return model


class CoxModel(SurvivalModel):
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
    ph_test : bool
        Run the proportional-hazards check (``ph_test_``); off for a model used only to score (it costs a
        refit and the Schoenfeld residuals), which then never stratifies.
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
        ph_test: bool = True,
    ):
        self.ph_test = ph_test
        self.covariates = list(covariates) if covariates is not None else None
        self.strata = list(strata) if strata else None
        self.penalizer, self.alpha, self.cv_folds, self.random_state = (
            penalizer,
            alpha,
            cv_folds,
            random_state,
        )
        self.stratify_failing, self.min_events = stratify_failing, min_events
        self.retest_after_stratifying = True

    def clone(self) -> CoxModel:
        """An unfitted copy for a cross-validation fold: the same settings, so the fold makes the same choices
        (the proportional-hazards check and the strata it implies, on the fold's own data), without the second
        check after stratifying, which only this model's report shows."""
        copy = CoxModel(
            self.covariates, self.strata, self.penalizer, self.alpha, 0, self.random_state,
            self.stratify_failing, self.min_events, self.ph_test,
        )  # fmt: skip
        copy.retest_after_stratifying = False
        return copy

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
            failing = sorted({base_name(c, self.covariates_) for c in self.failing_covariates_})
            self.first_ph_test_ = self.ph_test_
            for cov in failing:
                values = data[cov]
                if pd.api.types.is_float_dtype(values) and values.nunique() > 4:
                    edges = np.unique(np.quantile(values.dropna(), [0.25, 0.5, 0.75]))
                    self.strata_bins_[cov] = edges
                frame[f"stratum_{cov}"] = self._stratum(values, cov)
                frame = frame.drop(columns=[c for c in x.columns if base_name(c, self.covariates_) == cov])
            strata = strata + [f"stratum_{c}" for c in failing]
            self.stratified_ = failing
            self.design_columns_ = [c for c in frame.columns if c in self.design_columns_]
            if not self.design_columns_:
                raise InsufficientDataError("covariates_after_stratification", 0, 1)
            self._fit_frame(frame, duration_col, event_col, entry_col, strata, self.retest_after_stratifying)
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
            frame[duration_col] = np.maximum(frame[duration_col], frame[entry_col] + NUDGE)
        for s in strata:
            frame[s] = data[s].astype("string").fillna("(missing)")
        return frame

    def _fit_frame(self, frame, duration_col, event_col, entry_col, strata, test: bool = True) -> None:
        self.model_ = _CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha)
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
        if self.ph_test and test:
            self.ph_test_ = self._ph_table(frame, duration_col, event_col, entry_col, strata)
        else:
            self.ph_test_note_ = "not_run"
            self.ph_test_ = pd.DataFrame({"covariate": [], "statistic": [], "p_value": [], "passes": []})

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
                    model = _CoxPHFitter(penalizer=self.penalizer, alpha=self.alpha).fit(
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
    def concordance_(self) -> float:
        """Harrell's concordance on the training data, computed when first asked (lifelines keeps it): a model
        used only to score never pays for it."""
        self._check_fitted()
        return float(self.model_.concordance_index_)

    @property
    def failing_covariates_(self) -> list[str]:
        self._check_fitted()
        return self.ph_test_.loc[~self.ph_test_["passes"].astype(bool), "covariate"].tolist()

    def survival_function(self, df: pd.DataFrame, times: Sequence[float]) -> pd.DataFrame:
        """Survival at ``times`` (rows) of each episode of ``df`` (columns)."""
        self._check_fitted()
        return self.model_.predict_survival_function(self._with_strata(df), times=times)

    def risk_score(self, df: pd.DataFrame) -> np.ndarray:
        """Higher means an earlier separation (the partial hazard)."""
        self._check_fitted()
        return np.asarray(self.model_.predict_partial_hazard(self._with_strata(df)), dtype=float)
