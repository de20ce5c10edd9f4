"""Warnings on a loaded data set as a whole, which no single row shows and ``custrel validate`` prints: NPS
answers that all lie between 1 and 5 (:func:`nps_on_five`). Counted where the tables are (pandas, or the engine:
one row comes back)."""

from __future__ import annotations

import pandas as pd

#: Fewer NPS answers than this say nothing of their scale.
NPS_SCALE_MIN = 30


def nps_on_five(loaded) -> tuple[int, float, float] | None:
    """``(answers, lowest, highest)`` when every NPS answer with a score (at least :data:`NPS_SCALE_MIN`) lies
    between 1 and 5: a scale of stars or satisfaction read as NPS, where even a 5 is a detractor; else None."""
    inter = loaded.tables.get("interactions")
    if inter is None:
        return None
    if isinstance(inter, pd.DataFrame):
        nps = inter.loc[(inter["type"] == "nps") & inter["score"].notna(), "score"]
        n, low, high = len(nps), nps.min(), nps.max()
    else:
        nps = inter.filter((inter.type == "nps") & inter.score.notnull())
        row = (
            nps.aggregate(n=nps.score.count(), low=nps.score.min(), high=nps.score.max()).to_pandas().iloc[0]
        )
        n, low, high = int(row["n"]), row["low"], row["high"]
    if n < NPS_SCALE_MIN or not (low >= 1 and high <= 5):
        return None
    return n, float(low), float(high)


def nps_on_five_message(answers: int, low: float, high: float) -> str:
    return (
        f"warning: the {answers:,} NPS answers all score between {low:g} and {high:g}: a scale of 1 to 5 (stars, "
        "satisfaction) read as NPS, where every answer is a detractor (NPS counts 9 and 10 as promoters, 0 to 6 "
        'as detractors). If so, read them as reviews (type: "=review", or values: {type: {...: review}}), or '
        "map the 0-10 question."
    )
