"""The survival analysis a report runs, in one call shared by the executive summary and notebook 2.0.

:func:`run_survival` builds the episodes with the configured origin, counts what it leaves out, fits
Kaplan-Meier by kind of relationship (the headline medians), the hurdle AFT checked against Kaplan-Meier,
scores every active customer and back-tests the score against recency, and adds BG/NBD's P(alive) and
expected spend (:mod:`custrel_lib.flame.analysis`) to the at-risk list. Every step that the data cannot
support is skipped through :class:`~custrel_lib.sections.Sections`, with its reason; the result holds what
could be computed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.flame.analysis import flag_fading, run_flame
from custrel_lib.flame.extend import at_horizon
from custrel_lib.i18n import format_date, format_number, format_percent, tr
from custrel_lib.sections import Sections
from custrel_lib.survival.aft import AFTModel
from custrel_lib.survival.durations import build_durations, exclusion_counts
from custrel_lib.survival.km import KaplanMeier
from custrel_lib.survival.risk import backtest_lapse, score_active
from custrel_lib.survival.text import TEXT, exclusion_sentences

# Covariates known at the start of a relationship (no immortal-time bias): the AFT behind remaining lifetimes.
ORIGIN_COVARIATES = ["contract", "acquisition_channel", "region"]
#: The Cox model's covariates in notebook 2.0 (spend in the first period only when the transactions hold amounts).
COX_COVARIATES = ["contract", "nps", "complaints", "spend_first", "acquisition_channel"]


def cox_covariates(amounts: bool = True) -> list[str]:
    """:data:`COX_COVARIATES`, without the spend when the transactions hold no amounts (``amounts: false``)."""
    return [c for c in COX_COVARIATES if amounts or c != "spend_first"]


def episode_kind(durations: pd.DataFrame) -> pd.Series:
    """``contract``, ``purchase`` (a first relationship without contract) or ``winback`` (a later one)."""
    return pd.Series(
        np.where(
            durations["definition"] == "contractual",
            "contract",
            np.where(durations["episode"] > 1, "winback", "purchase"),
        ),
        index=durations.index,
    )


@dataclass
class SurvivalResult:
    """What :func:`run_survival` could compute (``None`` where a step was skipped)."""

    durations: pd.DataFrame | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    km_kind: KaplanMeier | None = None
    aft: AFTModel | None = None
    km_check: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    backtest: dict[str, Any] | None = None
    flame: Any = None
    p_alive_threshold: float | None = None
    horizon_days: float = float("nan")
    risk_horizon_days: float = 90.0
    threshold: float = 0.5
    #: ``customers``, ``sampled``, ``seed``: the episodes, fits and scores are a seeded sample's (large data).
    sample: dict[str, int] | None = None
    #: False: the transactions hold no amounts (``amounts: false``): no spend at stake, no revenue figure.
    amounts: bool = True

    def medians(self) -> pd.DataFrame:
        """Median length per kind of relationship, with the longest time observed when there is none."""
        if self.km_kind is None:
            return pd.DataFrame(columns=["kind", "episodes", "events", "median", "observed_up_to"])
        m = self.km_kind.medians_.rename(columns={"group": "kind"})
        m["observed_up_to"] = [float(self.km_kind.fitters_[k].timeline.max()) for k in m["kind"]]
        return m

    def to_dict(self) -> dict[str, Any]:
        """Survival counts for ``key_figures.json``."""
        out: dict[str, Any] = {"horizon_days": self.horizon_days, **self.counts}
        if self.sample:
            out["sample"] = dict(self.sample)
        if self.durations is not None:
            d = self.durations
            out["separations_by_cause"] = {
                str(k): int(v) for k, v in d.loc[d["event"] == 1, "end_reason"].value_counts().items()
            }
            out["censor_date"] = str(pd.Timestamp(d.attrs["censor_date"]).date())
            out["origin"] = d.attrs["origin"]
        out["median_days"] = {
            r.kind: (
                {"median": round(float(r.median), 1), "episodes": int(r.episodes), "events": int(r.events)}
                if math.isfinite(r.median)
                else {
                    "median": None,
                    "why": "more than half still running",
                    "observed_up_to": round(float(r.observed_up_to), 1),
                    "episodes": int(r.episodes),
                    "events": int(r.events),
                }
            )
            for r in self.medians().itertuples()
        }
        if self.km_check is not None:
            out["aft_vs_km_max_difference"] = round(self.km_check.attrs["max_abs_difference"], 4)
        if self.backtest is not None:
            out["risk_backtest"] = {
                k: (round(v, 4) if isinstance(v, float) else str(pd.Timestamp(v).date()) if k == "cut" else v)
                for k, v in self.backtest.items()
                if k != "detail"
            }
        if self.flame is not None:
            out["flame"] = self.flame.to_dict()
        if self.scores is not None:
            out["at_risk"] = {
                "active_customers": len(self.scores),
                "flagged": int(self.scores["at_risk"].sum()),
                "threshold": self.threshold,
                "p_alive_threshold": self.p_alive_threshold,
                "risk_horizon_days": self.risk_horizon_days,
            }
            if self.amounts:
                value = self.scores["value_at_risk"]
                out["at_risk"]["value_at_risk_all_active"] = round(float(value.sum()), 2)
                out["at_risk"]["value_at_risk_flagged"] = round(float(value[self.scores["at_risk"]].sum()), 2)
        return out


def run_survival(
    wb,
    sections: Sections,
    risk_horizon_days: float = 90.0,
    threshold: float = 0.5,
    landmark_days: float = 90.0,
) -> SurvivalResult:
    """Episodes, medians by kind, hurdle AFT against Kaplan-Meier, at-risk scores and their back-test.

    Parameters
    ----------
    wb : Workbench
        Prepared data (:func:`custrel_lib.workbench.prepare`).
    sections : Sections
        Where skipped steps are recorded (and explained in the notebook).
    risk_horizon_days : float
        ``h``: contract ends within ``h`` days; spend at stake over ``h`` days.
    threshold : float
        Probability of separation from which a customer is flagged at risk.
    landmark_days : float
        Length of the first period of the early covariates and the landmark stage.
    """
    res = SurvivalResult(
        horizon_days=float(wb.horizon_days), risk_horizon_days=float(risk_horizon_days), threshold=threshold
    )
    settings = wb.survival
    res.p_alive_threshold = settings.get("p_alive_threshold")
    res.sample = getattr(wb, "sample", None)
    res.amounts = getattr(wb, "amounts", True)
    with sections.section("survival_episodes"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = build_durations(
                wb.tables,
                wb.as_of,
                wb.horizon_days,
                window_start=getattr(wb.stages, "window_start_", None),
                history=getattr(wb, "analysis_history", wb.history),
                landmark_days=landmark_days,
                origin=settings["origin"],
                unknown_origin=settings["unknown_origin"],
            )
        d["kind"] = episode_kind(d)
        res.durations = d
        res.counts = exclusion_counts(d)
    d = res.durations
    if d is not None:  # without episodes (a cohort read with the default origin), the flame still runs
        with sections.section("survival_medians"):
            res.km_kind = KaplanMeier(group="kind").fit(d)
        with sections.section("survival_aft"):
            aft = AFTModel(ORIGIN_COVARIATES, min_events=int(settings.get("min_events") or 10)).fit(d)
            res.aft, res.km_check = aft, aft.compare_km(d)
        with sections.section("at_risk"):
            res.scores = score_active(wb.tables, d, wb.as_of, wb.horizon_days, risk_horizon_days, threshold)
            if not res.amounts:  # every purchase counted as 1: no spend to put at stake
                res.scores[["expected_spend", "value_at_risk"]] = np.nan
    with sections.section("risk_backtest"):
        res.backtest = backtest_lapse(wb.tables["transactions"], wb.as_of, wb.horizon_days)
    with sections.section("flame"):
        # The flame fitted by prepare() for the stage signal is reused when it forecasts over the same horizon.
        prepared = getattr(wb, "flame", None)
        same = prepared is not None and prepared.horizon_days == float(risk_horizon_days)
        if same:
            res.flame = prepared
        elif res.sample and prepared is not None and prepared.fitted_on:  # every customer's, not the sample's
            res.flame = at_horizon(prepared, risk_horizon_days)
        else:
            res.flame = run_flame(wb.tables, wb.as_of, risk_horizon_days, spend=res.amounts)
        if res.scores is not None:
            extra = [c for c in ("p_alive", "expected_value", "frequency") if c in res.flame.customers]
            per_customer = res.flame.customers[["customer_id", *extra]].astype({"customer_id": str})
            merged = res.scores.merge(per_customer, on="customer_id", how="left")
            res.scores = flag_fading(merged, settings.get("p_alive_threshold")).drop(columns=["frequency"])
    return res


def method_notes(wb, res: SurvivalResult, lang: str) -> list[str]:
    """What a reader must know to read the survival figures: horizon (and its warning), what each snapshot
    knows, the origin rule, the censoring date, what was left out and why, the model check, the back-test."""
    notes = []
    stages = wb.stages
    if getattr(stages, "horizon_warning", None) and stages.horizon_warning(lang):
        notes.append(stages.horizon_warning(lang))
    if getattr(stages, "lookahead_note", None):
        notes.append(stages.lookahead_note(lang))
    d = res.durations
    if d is not None:  # without episodes, the risk score's check on the past is still said (below)
        if res.sample:
            n, total = (format_number(res.sample[k], lang) for k in ("sampled", "customers"))
            notes.append(tr(TEXT, "sample", lang, n=n, total=total, seed=res.sample["seed"]))
        origin = d.attrs["origin"]
        customers = wb.tables.get("customers")
        if origin == "auto" and isinstance(customers, pd.DataFrame) and "signup_date" in customers:
            origin = "auto_signup" if customers["signup_date"].notna().any() else origin  # the rule it used
        notes.append(tr(TEXT, f"origin_{origin}", lang))
        h = format_number(res.horizon_days, lang)
        notes.append(tr(TEXT, "censoring", lang, h=h, date=format_date(d.attrs["censor_date"], lang)))
        notes.extend(exclusion_sentences(res.counts, res.horizon_days, lang))
        if res.km_check is not None:
            gap = format_number(100 * res.km_check.attrs["max_abs_difference"], lang, 1)
            notes.append(tr(TEXT, "km_check", lang, gap=gap))
    if res.backtest is not None:
        b = res.backtest
        better = b["auc_model"] > b["auc_recency"]
        notes.append(
            tr(
                TEXT,
                "backtest",
                lang,
                date=format_date(b["cut"], lang),
                n=format_number(b["customers"], lang),
                k=format_number(b["lapsed"], lang),
                auc_model=format_number(b["auc_model"], lang, 3),
                auc_recency=format_number(b["auc_recency"], lang, 3),
                verdict=tr(TEXT, "backtest_better" if better else "backtest_worse", lang),
            )
        )
    if res.scores is not None:
        s = res.scores
        notes.append(
            tr(
                TEXT,
                "risk_counts",
                lang,
                n=format_number(len(s), lang),
                lapse=format_number(int((s["risk_kind"] == "lapse").sum()), lang),
                contract=format_number(int((s["risk_kind"] == "contract_end").sum()), lang),
                r=format_number(res.risk_horizon_days, lang),
                flagged=format_number(int(s["at_risk"].sum()), lang),
                p=format_percent(res.threshold, lang, 0),
            )
        )
    return notes
