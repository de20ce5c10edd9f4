"""What the stages say about customers: per-stage profiles and the explanation of one customer's stage.

:class:`StageProfiles` and :class:`Explanation` are what :meth:`StageModel.profiles` and
:meth:`StageModel.explain` return; :func:`stage_profiles` computes the profile table from one snapshot's features.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custrel_lib.i18n import format_date, tr
from custrel_lib.privacy import MASK
from custrel_lib.stages import typology
from custrel_lib.stages.features import feature_label
from custrel_lib.tables import html_table
from custrel_lib.voice import nps

#: Headers of :meth:`StageModel.profiles` (``table`` column: label). ``mean_score`` is the mean of the 0-10
#: answers, not an NPS; ``nps`` is the NPS of the stage's customers' latest answers (-100..100).
PROFILE_TEXT = {
    "fr": {
        "stage": "Étape",
        "customers": "Clients",
        "share": "Part des clients",
        "revenue_share": "Part du CA (12 mois)",
        "median_tenure_days": "Ancienneté médiane (jours)",
        "mean_score": "Score moyen de recommandation (0-10)",
        "nps": "NPS (-100 à 100)",
        "nps_answers": "Réponses NPS",
        "complaint_rate": "Clients avec réclamation (90 jours)",
    },
    "en": {
        "stage": "Stage",
        "customers": "Customers",
        "share": "Share of customers",
        "revenue_share": "Share of revenue (12 months)",
        "median_tenure_days": "Median tenure (days)",
        "mean_score": "Mean recommendation score (0-10)",
        "nps": "NPS (-100 to 100)",
        "nps_answers": "NPS answers",
        "complaint_rate": "Customers with a complaint (90 days)",
    },
}
#: Captions, headers and words of the profiles and explanations.
TEXT = {
    "profiles_caption": {"fr": "Profil des étapes au {date}", "en": "Stage profiles at {date}"},
    "explain_head": {"fr": "{customer} au {date} : {stage}", "en": "{customer} at {date}: {stage}"},
    "col_true": {"fr": "vrai", "en": "true"},
    "col_chosen": {"fr": "retenue", "en": "chosen"},
    "col_code": {"fr": "code", "en": "code"},
    "col_description": {"fr": "description", "en": "description"},
    "col_value": {"fr": "valeur", "en": "value"},
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
    "model_head": {
        "fr": "{n} instantanés ({cadence}) jusqu'au {date} ; H = {h} jours",
        "en": "{n} snapshots ({cadence}) up to {date}; H = {h} days",
    },
}


@dataclass
class StageProfiles:
    """One row per stage at a snapshot; ``table`` has the numbers, ``_repr_html_`` the display."""

    table: pd.DataFrame
    snapshot: pd.Timestamp
    lang: str = "fr"

    def display_frame(self) -> pd.DataFrame:
        """The table as shown: labels for stages and headers, without the columns of a voice that is unknown
        (no NPS answer at all; no interactions table for the complaints), never shown as zeros."""
        text = {k: v for k, v in PROFILE_TEXT[self.lang].items() if k not in self.unknown_columns()}
        df = self.table.copy()
        df["stage"] = df["stage"].map(lambda c: typology.stage_label(c, self.lang))
        return df[list(text)].rename(columns=text)

    def unknown_columns(self) -> list[str]:
        """Columns with no information in this data: the NPS ones without any answer, the complaint rate
        without an interactions table, the revenue without amounts (NaN in ``table``)."""
        t = self.table
        out = []
        if t.empty or t["nps_answers"].fillna(0).sum() == 0:
            out += ["mean_score", "nps", "nps_answers"]
        if t.empty or t["complaint_rate"].isna().all():
            out.append("complaint_rate")
        if t.empty or t["revenue"].isna().all():  # transactions without amounts
            out += ["revenue", "revenue_share"]
        return out

    def _repr_html_(self) -> str:
        text = PROFILE_TEXT[self.lang]
        frame = self.display_frame()
        shown = frame.columns
        return html_table(
            frame,
            self.lang,
            percent=[text[k] for k in ("share", "revenue_share", "complaint_rate") if text[k] in shown],
            decimals={
                text[k]: d
                for k, d in (("median_tenure_days", 0), ("mean_score", 1), ("nps", 0))
                if text[k] in shown
            },
            title=tr(TEXT, "profiles_caption", self.lang, date=format_date(self.snapshot, self.lang)),
        )


@dataclass
class Explanation:
    """Why a customer is in its stage: each rule in order, whether it matched, and the feature values."""

    customer_id: str
    snapshot: pd.Timestamp
    stage: str
    rules: pd.DataFrame
    features: pd.Series
    lang: str = "fr"
    masked: bool = False

    def mask(self) -> Explanation:
        """The same explanation with the customer identifier hidden (for reports that are shared)."""
        return dataclasses.replace(self, masked=True)

    def _who(self) -> str:
        return MASK if self.masked else str(self.customer_id)

    def _head(self, customer: str, stage: str) -> str:
        date = format_date(self.snapshot, self.lang)
        return tr(TEXT, "explain_head", self.lang, customer=customer, date=date, stage=stage)

    def __str__(self) -> str:
        head = self._head(self._who(), typology.stage_label(self.stage, self.lang))
        return head + "\n" + self.rules.to_string(index=False)

    def _repr_html_(self) -> str:
        customer = f"<b>{html.escape(self._who())}</b>"
        stage = f"<b>{html.escape(typology.stage_label(self.stage, self.lang))}</b>"
        head = f"<p>{self._head(customer, stage)}</p>"
        return head + html_table(self.rules, self.lang) + html_table(self.feature_frame(), self.lang)

    def feature_frame(self) -> pd.DataFrame:
        """The feature values with their code and label; yes/no in words."""
        lang = self.lang
        words = {True: tr(TEXT, "yes", lang), False: tr(TEXT, "no", lang)}
        values = [words[bool(v)] if isinstance(v, bool | np.bool_) else v for v in self.features]
        return pd.DataFrame(
            {
                tr(TEXT, "col_code", lang): self.features.index,
                tr(TEXT, "col_description", lang): [feature_label(c, lang) for c in self.features.index],
                tr(TEXT, "col_value", lang): values,
            }
        )


def stage_profiles(
    f: pd.DataFrame, s: pd.Timestamp, lang: str, interactions: bool = True, amounts: bool = True
) -> StageProfiles:
    """Per stage, from the features of one snapshot (with their ``stage``): see :meth:`StageModel.profiles`.

    ``interactions`` False (the data has no interactions table): the complaint rate is unknown (NaN), not 0.
    ``amounts`` False (transactions without amounts): the revenue and its share are unknown (NaN).
    """
    revenue = f["spend_6m"] + f["spend_prev_6m"] if amounts else pd.Series(np.nan, index=f.index)
    g = f.assign(revenue=revenue, complained=f["complaints_90d"] > 0).groupby("stage", observed=True)
    table = pd.DataFrame(
        {
            "customers": g.size(),
            "revenue": g["revenue"].sum(min_count=1),  # NaN without amounts
            "median_tenure_days": g["tenure_days"].median(),
            "mean_score": g["nps_last"].mean(),
            "complaint_rate": g["complained"].mean(),
        }
    )
    scores = {stage: nps(answers) for stage, answers in g["nps_last"]}
    table["nps"] = pd.Series({k: v.value for k, v in scores.items()}, dtype="float64")
    table["nps_answers"] = pd.Series({k: v.n for k, v in scores.items()}, dtype="int64")
    if not interactions:
        table["complaint_rate"] = np.nan
    order = [c for c in typology.stage_order() if c in table.index]
    table = table.reindex(order)
    table["share"] = table["customers"] / table["customers"].sum()
    total = table["revenue"].sum()
    table["revenue_share"] = table["revenue"] / total if total else (np.nan if not amounts else 0.0)
    table = table.reset_index(names="stage")
    table.insert(1, "label", table["stage"].map(lambda c: typology.stage_label(c, lang)))
    return StageProfiles(table=table, snapshot=s, lang=lang)
