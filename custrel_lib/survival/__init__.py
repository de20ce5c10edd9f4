"""Séparation: survival analysis of the time until churn.

Modules, in the order of the analysis: ``durations`` (the episode table: censoring, truncation, exclusions; built from ``episodes``),
``km`` (Kaplan-Meier, log-rank with delayed entry, cohort retention), ``covariates`` (screening),
``models`` (what the regression models share), ``cox`` and ``aft`` (Cox, hurdle AFT), ``validation``
(cross-validated concordance and Brier score), ``competing`` (Aalen-Johansen), ``risk`` (who is at risk
now), ``text`` (sentences).
"""

from custrel_lib.survival.aft import AFTModel
from custrel_lib.survival.competing import CompetingRisks
from custrel_lib.survival.covariates import screen_covariates
from custrel_lib.survival.cox import CoxModel
from custrel_lib.survival.durations import build_durations, exclusion_counts, landmark_table
from custrel_lib.survival.km import KaplanMeier, cohort_retention, holm, logrank_test
from custrel_lib.survival.risk import (
    GapModel,
    backtest_lapse,
    flag_at_risk,
    gap_table,
    score_active,
)
from custrel_lib.survival.text import median_sentence
from custrel_lib.survival.validation import cross_validate, integrated_brier_score

__all__ = [
    "AFTModel",
    "CompetingRisks",
    "CoxModel",
    "GapModel",
    "KaplanMeier",
    "backtest_lapse",
    "build_durations",
    "cohort_retention",
    "cross_validate",
    "exclusion_counts",
    "flag_at_risk",
    "gap_table",
    "holm",
    "integrated_brier_score",
    "landmark_table",
    "logrank_test",
    "median_sentence",
    "score_active",
    "screen_covariates",
]
