"""Touchpoint journeys: the first journey steps of each customer, as paths, and the drop-off per step."""

from __future__ import annotations

import pandas as pd

from custrel_lib.exceptions import AnalysisError
from custrel_lib.io.contract import JOURNEY_STEPS

STEPS = JOURNEY_STEPS
STEP_LABELS = {
    "fr": dict(
        zip(
            STEPS,
            ("Besoin", "Recherche", "Choix", "Achat", "Découverte", "Usage", "Recommandation", "Parrainage"),
            strict=True,
        )
    ),
    "en": dict(
        zip(
            STEPS,
            ("Need", "Search", "Choice", "Purchase", "Discovery", "Use", "Recommendation", "Referral"),
            strict=True,
        )
    ),
}


def step_label(step: str, lang: str = "fr") -> str:
    return STEP_LABELS[lang].get(step, str(step))


def first_steps(interactions: pd.DataFrame, max_steps: int = 5, steps=STEPS) -> pd.DataFrame:
    """``customer_id, position, step``: each customer's journey steps in date order, repeats of the same
    step in a row merged, the first ``max_steps`` kept."""
    it = interactions[interactions["type"].isin(steps)]
    if it.empty:
        raise AnalysisError(
            "The interactions table has no journey steps (besoin, recherche, choix, ...).",
            code="no_journey_steps",
        )
    rank = {s: i for i, s in enumerate(steps)}
    it = it.assign(_r=it["type"].map(rank)).sort_values(["customer_id", "date", "_r"], kind="stable")
    repeat = it["type"].eq(it.groupby("customer_id")["type"].shift())
    it = it[~repeat]
    it = it.assign(position=it.groupby("customer_id").cumcount() + 1)
    it = it[it["position"] <= max_steps]
    return it[["customer_id", "position", "type"]].rename(columns={"type": "step"}).reset_index(drop=True)


def step_links(steps: pd.DataFrame) -> pd.DataFrame:
    """Counts of moves between consecutive positions: ``position, source, target, count``."""
    nxt = steps.assign(position=steps["position"] - 1).rename(columns={"step": "target"})
    links = steps.merge(nxt, on=["customer_id", "position"]).rename(columns={"step": "source"})
    return (
        links.groupby(["position", "source", "target"])
        .size()
        .rename("count")
        .reset_index()
        .sort_values(["position", "count"], ascending=[True, False])
        .reset_index(drop=True)
    )


def dropoff(steps: pd.DataFrame) -> pd.DataFrame:
    """Customers who reached each position, and the share lost since the previous one."""
    reached = steps.groupby("position")["customer_id"].nunique().rename("customers").reset_index()
    reached["kept_from_previous"] = reached["customers"] / reached["customers"].shift()
    reached["dropoff"] = 1 - reached["kept_from_previous"]
    reached["share_of_start"] = reached["customers"] / reached["customers"].iloc[0]
    return reached
