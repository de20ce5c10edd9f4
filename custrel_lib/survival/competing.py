"""Competing risks: cumulative incidence of each end reason (Aalen-Johansen), with delayed entry."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter

from custrel_lib.exceptions import AnalysisError, NotFittedError
from custrel_lib.survival.km import check_columns

JITTER = 1e-4  # lifelines' default jitter of tied event times (in the unit of the durations)


class CompetingRisks:
    """Cumulative incidence of each end reason (Aalen-Johansen), e.g. voluntary vs involuntary.

    Left-truncated episodes enter the risk set at ``entry`` (passed to lifelines). lifelines breaks tied
    event times with a small seeded jitter.
    """

    def __init__(self, reason_col: str = "end_reason", alpha: float = 0.05):
        self.reason_col, self.alpha = reason_col, alpha

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = "entry",
    ) -> CompetingRisks:
        check_columns(df, [duration_col, event_col, self.reason_col])
        entry_col = entry_col if entry_col and entry_col in df else None
        d = df.dropna(subset=[duration_col]).reset_index(drop=True)
        reasons = sorted(d.loc[d[event_col] == 1, self.reason_col].dropna().astype(str).unique())
        if not reasons:
            raise AnalysisError("No event has an end reason: competing risks need one.", code="no_end_reason")
        code = {r: i + 1 for i, r in enumerate(reasons)}
        ev = pd.Series(
            np.where(d[event_col] == 1, d[self.reason_col].astype(str).map(code).fillna(0), 0).astype(int)
        )
        duration = d[duration_col].astype(float)
        entry = d[entry_col].astype(float) if entry_col else None
        if entry is not None:
            # An episode that ends when it enters stays in the risk set for an instant; the margin exceeds
            # lifelines' jitter of tied event times (up to JITTER either way), which could otherwise end
            # it before it began.
            duration = np.maximum(duration, entry + 10 * JITTER)
        self.reasons_ = reasons
        curves = []
        self.fitters_ = {}
        for r in reasons:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ajf = AalenJohansenFitter(
                    jitter_level=JITTER, alpha=self.alpha, calculate_variance=True, seed=0
                ).fit(duration, ev, event_of_interest=code[r], entry=entry)
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

    def _check_fitted(self) -> None:
        if not hasattr(self, "incidence_"):
            raise NotFittedError("CompetingRisks", "fit(df, duration_col, event_col, entry_col)")

    def incidence_at(self, t: float) -> pd.Series:
        """Cumulative incidence of each end reason at time ``t``."""
        self._check_fitted()
        out = {}
        for r in self.reasons_:
            part = self.incidence_[(self.incidence_["reason"] == r) & (self.incidence_["time"] <= t)]
            out[r] = float(part["incidence"].iloc[-1]) if len(part) else 0.0
        return pd.Series(out)

    @property
    def summary(self) -> pd.DataFrame:
        self._check_fitted()
        last = self.incidence_.groupby("reason").tail(1).set_index("reason")
        return last[["time", "incidence"]]

    def _repr_html_(self) -> str:
        if not hasattr(self, "incidence_"):
            return "<p>CompetingRisks: not fitted.</p>"
        return self.summary.to_html(float_format=lambda v: f"{v:.3f}")
