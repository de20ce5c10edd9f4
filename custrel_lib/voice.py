"""The voice of the customer: the Net Promoter Score, computed as defined.

NPS = % promoters (scores 9-10) - % detractors (scores 0-6), on -100..100 (Reichheld, F. F., 2003, "The One
Number You Need to Grow", *Harvard Business Review* 81(12)). A mean of 0-10 scores is not an NPS and is
labelled "mean recommendation score" wherever it is shown.

Its standard error follows from the multinomial distribution of (promoter, passive, detractor): with shares
``p`` and ``d``, ``Var(p - d) = (p + d - (p - d)^2) / n`` (Rocks, B., 2016, "Interval Estimation for the
'Net Promoter Score'", *The American Statistician* 70(4), 365-372, where this Wald interval is compared with
better-covering ones for small samples: below 30 answers the interval is flagged as indicative).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

PROMOTER_MIN, DETRACTOR_MAX = 9, 6
SMALL_SAMPLE = 30


@dataclass(frozen=True)
class NPS:
    """A Net Promoter Score with its counts and confidence interval (all on the -100..100 scale)."""

    value: float
    n: int
    promoters: int
    passives: int
    detractors: int
    lower: float
    upper: float
    confidence: float = 0.95

    @property
    def small_sample(self) -> bool:
        return self.n < SMALL_SAMPLE

    def to_dict(self) -> dict:
        return {
            "value": None if math.isnan(self.value) else round(self.value, 1),
            "n": self.n,
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "lower": None if math.isnan(self.lower) else round(self.lower, 1),
            "upper": None if math.isnan(self.upper) else round(self.upper, 1),
            "confidence": self.confidence,
            "definition": "% promoters (9-10) - % detractors (0-6)",
        }


def nps(scores, confidence: float = 0.95) -> NPS:
    """The NPS of a set of 0-10 answers (missing values ignored), with a Wald interval clipped to -100..100.

    >>> nps([10, 9, 8, 7, 6, 0]).value  # 2 promoters, 2 detractors out of 6
    0.0
    """
    s = pd.Series(scores, dtype="float64").dropna()
    s = s[(s >= 0) & (s <= 10)]
    n = len(s)
    promoters = int((s >= PROMOTER_MIN).sum())
    detractors = int((s <= DETRACTOR_MAX).sum())
    passives = n - promoters - detractors
    if n == 0:
        return NPS(np.nan, 0, 0, 0, 0, np.nan, np.nan, confidence)
    p, d = promoters / n, detractors / n
    value = 100 * (p - d)
    se = 100 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    return NPS(
        value,
        n,
        promoters,
        passives,
        detractors,
        max(-100.0, value - z * se),
        min(100.0, value + z * se),
        confidence,
    )


def latest_scores(interactions: pd.DataFrame | None, as_of, days: int = 365) -> pd.Series:
    """Each customer's latest NPS answer in the ``days`` before ``as_of`` (one voice per customer)."""
    if (
        interactions is None
        or interactions.empty
        or "score" not in interactions
        or "type" not in interactions
    ):
        return pd.Series(dtype="float64")
    as_of = pd.Timestamp(as_of)
    it = interactions.loc[
        (interactions["type"].astype("string").str.lower() == "nps")
        & interactions["score"].notna()
        & (interactions["date"] <= as_of)
        & (interactions["date"] > as_of - pd.Timedelta(days=days))
    ]
    it = it.sort_values(["customer_id", "date"], kind="stable")
    return it.groupby("customer_id")["score"].last().astype(float)
