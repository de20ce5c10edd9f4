"""Séparation: survival analysis of the time until churn (duration tables, Kaplan-Meier, Cox, AFT, at risk)."""

from custrel_lib.survival.durations import build_durations, landmark_table
from custrel_lib.survival.models import (
    AFTModel,
    CompetingRisks,
    CoxModel,
    KaplanMeier,
    at_risk_now,
    cohort_retention,
    flag_at_risk,
    holm,
    integrated_brier_score,
)
from custrel_lib.survival.text import median_sentence

__all__ = [
    "AFTModel",
    "CompetingRisks",
    "CoxModel",
    "KaplanMeier",
    "at_risk_now",
    "build_durations",
    "cohort_retention",
    "flag_at_risk",
    "holm",
    "integrated_brier_score",
    "landmark_table",
    "median_sentence",
]
