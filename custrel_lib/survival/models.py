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

This module holds what both share (:class:`SurvivalModel`: screening, design matrix, the fitted check);
:mod:`~custrel_lib.survival.cox` and :mod:`~custrel_lib.survival.aft` hold the models and
:mod:`~custrel_lib.survival.validation` their cross-validated concordance and integrated Brier score.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from custrel_lib.exceptions import InsufficientDataError, NotFittedError
from custrel_lib.survival.covariates import design_matrix, screen_covariates
from custrel_lib.survival.km import check_columns

# lifelines needs duration > entry; an episode ending the day it enters is moved this far after its entry.
NUDGE = 1e-6


def base_name(column: str, covariates: Sequence[str]) -> str:
    """The covariate a design column comes from (``acquisition_channel_web`` -> ``acquisition_channel``)."""
    for c in sorted(covariates, key=len, reverse=True):
        if column == c or column.startswith(f"{c}_"):
            return c
    return column


class SurvivalModel:
    """What Cox and AFT share: screening, design matrix, the check that the model is fitted."""

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
        self._check_fitted()
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

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(type(self).__name__, "fit(df, duration_col, event_col, entry_col)")

    @property
    def summary(self) -> pd.DataFrame:
        self._check_fitted()
        return self.summary_

    def _repr_html_(self) -> str:
        if not hasattr(self, "model_"):
            return f"<p>{type(self).__name__}: not fitted.</p>"
        return self.summary_.to_html(float_format=lambda v: f"{v:.3f}")
