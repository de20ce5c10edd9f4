"""Survival figures (plotly): Kaplan-Meier with bands and numbers at risk, forest plot, cumulative incidence,
cohort retention heatmap, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from custrel_lib.i18n import CURRENCY, format_date, format_number, tr
from custrel_lib.plots.common import escape, style, titled
from custrel_lib.stages import typology

TEXT = {
    "km_title": {
        "fr": "Durée de la relation avant séparation",
        "en": "Relationship length before separation",
    },
    "survival": {"fr": "Part encore en relation", "en": "Share still in a relationship"},
    "days": {"fr": "Jours depuis le début de la relation", "en": "Days since the relationship began"},
    "at_risk": {"fr": "Effectifs à risque", "en": "Number at risk"},
    "forest_title": {
        "fr": "Ce qui raccourcit ou allonge la relation (Cox)",
        "en": "What shortens or lengthens the relationship (Cox)",
    },
    "hr": {
        "fr": "Rapport de risques (échelle log ; > 1 : séparation plus rapide)",
        "en": "Hazard ratio (log scale; > 1: faster separation)",
    },
    "cif_title": {
        "fr": "Séparations par motif (incidence cumulée)",
        "en": "Separations by reason (cumulative incidence)",
    },
    "incidence": {"fr": "Part séparée", "en": "Share separated"},
    "cohort_title": {
        "fr": "Rétention par cohorte mensuelle d'acquisition",
        "en": "Retention by monthly acquisition cohort",
    },
    "months": {"fr": "Mois après l'acquisition", "en": "Months after acquisition"},
    "cohort": {"fr": "Cohorte", "en": "Cohort"},
    "km_sub": {
        "fr": "{n} relations, {k} séparations ; données du {start} au {end}, relations suivies jusqu'au {censor} ; unité : jours",
        "en": "{n} relationships, {k} separations; data from {start} to {end}, relationships followed until {censor}; unit: days",
    },
    "cox_sub": {
        "fr": "{n} relations encore en cours {d} jours après leur début, {k} séparations ; données du {start} au {end}, suivies jusqu'au {censor} ; rapport de risque et son intervalle à 95 %, échelle logarithmique (au-dessus de 1 : une séparation plus rapide)",
        "en": "{n} relationships still running {d} days after they began, {k} separations; data from {start} to {end}, followed until {censor}; hazard ratio with its 95% interval, log scale (above 1: a faster separation)",
    },
    "km_left_out": {
        "fr": "{base}. Non tracé, moins de {m} relations : {items}",
        "en": "{base}. Not drawn, fewer than {m} relationships: {items}",
    },
    "km_left_out_alone": {
        "fr": "Non tracé, moins de {m} relations : {items}",
        "en": "Not drawn, fewer than {m} relationships: {items}",
    },
    "model_title": {
        "fr": "Modèle paramétrique et Kaplan-Meier sur les mêmes relations",
        "en": "Parametric model and Kaplan-Meier on the same relationships",
    },
    "model_sub": {
        "fr": "Survie moyenne prédite par le modèle ({kind}, avec la part des relations d'un seul jour) et estimation de Kaplan-Meier avec entrée différée ; écart maximal {gap} points",
        "en": "Mean survival predicted by the model ({kind}, with the share of one-day relationships) and the Kaplan-Meier estimate with delayed entry; largest gap {gap} points",
    },
    "km_name": {"fr": "Kaplan-Meier", "en": "Kaplan-Meier"},
    "km_title_kind": {
        "fr": "Durée de la relation avant séparation, par type de relation",
        "en": "Relationship length before separation, by kind of relationship",
    },
    "km_title_stage": {
        "fr": "Durée de la relation, selon l'étape atteinte au point de repère",
        "en": "Relationship length, by the stage held at the landmark",
    },
    "km_title_channel": {
        "fr": "Durée de la relation avant séparation, par canal d'acquisition",
        "en": "Relationship length before separation, by acquisition channel",
    },
    "km_sub_landmark": {
        "fr": "{base} ; relations encore en cours {d} jours après leur début (entrée à ce point de repère)",
        "en": "{base}; relationships still running {d} days after they began (entering at this landmark)",
    },
    "cohort_sub_contract": {
        "fr": "Premiers contrats, par mois de début du contrat ; part encore sous contrat k mois après ; cases vides : pas encore observables (fins de contrat connues jusqu'au {censor})",
        "en": "First contracts, by month the contract started; share still under contract k months later; empty cells: not observable yet (contract ends known until {censor})",
    },
    "cohort_sub": {
        "fr": "Premières relations sans contrat, par mois du premier achat ; part encore en relation k mois après ; cases vides : pas encore observables (séparations connues jusqu'au {censor})",
        "en": "First relationships without contract, by month of first purchase; share still in a relationship k months later; empty cells: not observable yet (separations known until {censor})",
    },
    "model_name": {"fr": "Modèle", "en": "Model"},
}
COVARIATES = {
    "contract": {"fr": "Sous contrat", "en": "Under contract"},
    "nps": {
        "fr": "Score de recommandation (90 premiers jours)",
        "en": "Recommendation score (first 90 days)",
    },
    "nps_missing": {"fr": "Score de recommandation non renseigné", "en": "No recommendation score"},
    "complaints": {"fr": "Réclamations (90 premiers jours)", "en": "Complaints (first 90 days)"},
    "spend_first": {
        "fr": "Dépense des 90 premiers jours (par {currency})",
        "en": "Spend in the first 90 days (per {currency})",
    },
    "acquisition_channel": {"fr": "Canal d'acquisition : {v}", "en": "Acquisition channel: {v}"},
    "region": {"fr": "Région : {v}", "en": "Region: {v}"},
    "loyalty": {"fr": "Programme de fidélité", "en": "Loyalty programme"},
}
REASONS = {
    "voluntary": {"fr": "Volontaire", "en": "Voluntary"},
    "involuntary": {"fr": "Involontaire", "en": "Involuntary"},
}
PALETTE = ["#8E24AA", "#00897B", "#F06292", "#455A64", "#C8A27A", "#1E88E5", "#FB8C00", "#6D4C41"]


def _group_style(groups: list[str], lang: str) -> dict[str, tuple[str, str]]:
    out = {}
    for i, g in enumerate(groups):
        if g in typology.stage_order():
            out[g] = (typology.stage_label(g, lang), typology.stage_color(g))
        else:
            out[g] = (escape(g), PALETTE[i % len(PALETTE)])
    return out


def _order(groups) -> list[str]:
    rank = {c: i for i, c in enumerate(typology.stage_order())}
    return sorted(groups, key=lambda g: (rank.get(g, 99), g))


def km_plot(
    km,
    lang: str = "fr",
    at_risk_times=None,
    title: str | None = None,
    labels: dict[str, str] | None = None,
    subtitle: str | None = None,
) -> go.Figure:
    """Kaplan-Meier curves with confidence bands, and a table of numbers at risk under the plot.

    ``labels`` maps group values to display labels (stage codes are labelled by the typology already);
    ``subtitle`` says what the figure covers (see :func:`km_subtitle`).
    """
    groups = _order(km.fitters_)
    look = _group_style(groups, lang)
    for g, label in (labels or {}).items():
        if g in look:
            look[g] = (escape(label), look[g][1])
    fig = make_subplots(rows=2, cols=1, row_heights=[0.8, 0.2], shared_xaxes=True, vertical_spacing=0.04)
    tmax = float(km.survival_["time"].max())
    times = at_risk_times if at_risk_times is not None else np.linspace(0, tmax, 6).round()
    for g in groups:
        name, colour = look[g]
        _add_curve(fig, km.survival_[km.survival_["group"] == g], g, name, colour)
        fig.add_trace(
            go.Scatter(
                x=list(times),
                y=[name] * len(times),
                text=[
                    f"{v:,}".replace(",", "\u202f" if lang == "fr" else ",")
                    for v in _at_risk(km.fitters_[g], times)
                ],
                mode="text",
                showlegend=False,
                hoverinfo="skip",
                textfont={"color": colour},
            ),
            2,
            1,
        )
    fig.update_yaxes(title=tr(TEXT, "survival", lang), tickformat=".0%", range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(title=tr(TEXT, "at_risk", lang), row=2, col=1, showgrid=False)
    fig.update_xaxes(title=tr(TEXT, "days", lang), row=2, col=1)
    subtitle = _left_out(km, labels or {}, lang, subtitle)
    if subtitle:
        return titled(fig, title or tr(TEXT, "km_title", lang), subtitle, lang, height=580)
    return style(fig, title or tr(TEXT, "km_title", lang), lang, height=560)


def _left_out(km, labels: dict[str, str], lang: str, base: str | None) -> str | None:
    """``base``, then ``Not drawn, fewer than 10 relationships: Relationship after a win-back (2)``: the groups
    too small for a curve (``KaplanMeier.dropped_groups_``), as plain text (:func:`titled` escapes it)."""
    dropped = getattr(km, "dropped_groups_", None)
    if not dropped:
        return base
    stages = typology.stage_order()

    def name(g: str) -> str:
        return labels.get(g) or (typology.stage_label(g, lang) if g in stages else g)

    items = ", ".join(f"{name(g)} ({format_number(n, lang)})" for g, n in dropped.items())
    m = format_number(km.min_size, lang)
    if base:
        return tr(TEXT, "km_left_out", lang, base=base, m=m, items=items)
    return tr(TEXT, "km_left_out_alone", lang, m=m, items=items)


def _add_curve(fig: go.Figure, c: pd.DataFrame, group: str, name: str, colour: str) -> None:
    """A Kaplan-Meier curve (step line) over its confidence band, in the top panel of ``fig``."""
    band = f"rgba({int(colour[1:3], 16)},{int(colour[3:5], 16)},{int(colour[5:7], 16)},0.15)"
    edge = {"showlegend": False, "hoverinfo": "skip", "legendgroup": group}
    fig.add_trace(go.Scatter(x=c["time"], y=c["upper"], line={"width": 0, "shape": "hv"}, **edge), 1, 1)
    fig.add_trace(
        go.Scatter(
            x=c["time"],
            y=c["lower"],
            line={"width": 0, "shape": "hv"},
            fill="tonexty",
            fillcolor=band,
            **edge,
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter(
            x=c["time"],
            y=c["survival"],
            name=name,
            legendgroup=group,
            line={"color": colour, "shape": "hv", "width": 2},
            hovertemplate=f"{name}: %{{y:.1%}} @ %{{x:,.0f}}<extra></extra>",
        ),
        1,
        1,
    )


def _at_risk(kmf, times) -> list[int]:
    """Numbers at risk of a fitted lifelines Kaplan-Meier at each of ``times`` (0 after the last time)."""
    table = kmf.event_table
    return [
        int(table["at_risk"].loc[lambda s, t=t: s.index >= t].iloc[0]) if (table.index >= t).any() else 0
        for t in times
    ]


def km_title(grouping: str, lang: str = "fr") -> str:
    """Title of a Kaplan-Meier figure by ``kind``, ``stage`` or ``channel``."""
    return tr(TEXT, f"km_title_{grouping}", lang)


def km_subtitle(durations: pd.DataFrame, lang: str = "fr", landmark_days: float | None = None) -> str:
    """Population, period and unit of a figure drawn from a duration table (and its landmark, if any)."""
    text = tr(TEXT, "km_sub", lang, **_counts_and_dates(durations, lang))
    if landmark_days is not None:
        text = tr(TEXT, "km_sub_landmark", lang, base=text, d=format_number(landmark_days, lang))
    return text


def _counts_and_dates(durations: pd.DataFrame, lang: str) -> dict[str, str]:
    """Relationships ``n``, separations ``k`` and the dates of a duration table (``start``, ``end``, ``censor``),
    as a subtitle writes them."""
    a = durations.attrs
    return {
        "n": format_number(len(durations), lang),
        "k": format_number(int(durations["event"].sum()), lang),
        "start": format_date(a["window_start"], lang),
        "end": format_date(a["as_of"], lang),
        "censor": format_date(a["censor_date"], lang),
    }


def model_check_plot(check: pd.DataFrame, kind: str, lang: str = "fr") -> go.Figure:
    """Mean model survival against Kaplan-Meier at the same times (``AFTModel.compare_km``)."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=check["time"], y=check["kaplan_meier"], name=tr(TEXT, "km_name", lang), mode="lines+markers",
            line={"color": "#455A64", "shape": "hv"},
        )
    )  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=check["time"], y=check["model"], name=tr(TEXT, "model_name", lang), mode="lines+markers",
            line={"color": "#8E24AA", "dash": "dash"},
        )
    )  # fmt: skip
    fig.update_yaxes(title=tr(TEXT, "survival", lang), tickformat=".0%", range=[0, 1.02])
    fig.update_xaxes(title=tr(TEXT, "days", lang))
    gap = format_number(100 * check.attrs.get("max_abs_difference", float("nan")), lang, 1)
    return titled(
        fig, tr(TEXT, "model_title", lang), tr(TEXT, "model_sub", lang, kind=kind, gap=gap), lang, 440
    )


def covariate_label(name: str, lang: str = "fr") -> str:
    """Reader's label of a model covariate (``acquisition_channel_web`` -> "Acquisition channel: web")."""
    money = CURRENCY["symbol"]
    if name in COVARIATES:
        return tr(COVARIATES, name, lang, v="", currency=money)
    for base in sorted(COVARIATES, key=len, reverse=True):
        if name.startswith(f"{base}_"):
            return tr(COVARIATES, base, lang, v=name[len(base) + 1 :], currency=money)
    return name


def forest_plot(summary: pd.DataFrame, lang: str = "fr", subtitle: str | None = None) -> go.Figure:
    """Hazard ratios with their intervals (from ``CoxModel.summary_``), log scale, 1 marked; ``subtitle``: what
    the model was fitted on (:func:`cox_subtitle`)."""
    s = summary.sort_values("hazard_ratio")
    names = [escape(covariate_label(str(i), lang)) for i in s.index]
    colours = ["#C62828" if v > 1 else "#2E7D32" for v in s["hazard_ratio"]]
    fig = go.Figure(
        go.Scatter(
            x=s["hazard_ratio"],
            y=names,
            mode="markers",
            marker={"color": colours, "size": 9},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": s["hr_upper"] - s["hazard_ratio"],
                "arrayminus": s["hazard_ratio"] - s["hr_lower"],
            },
            customdata=np.c_[s["hr_lower"], s["hr_upper"], s["p_value"]],
            hovertemplate="%{y}: %{x:.2f} [%{customdata[0]:.2f} ; %{customdata[1]:.2f}], p = %{customdata[2]:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=1, line_dash="dash", line_color="#9E9E9E")
    fig.update_xaxes(type="log", title=tr(TEXT, "hr", lang))
    if subtitle:
        return titled(fig, tr(TEXT, "forest_title", lang), subtitle, lang, height=200 + 28 * len(s))
    return style(fig, tr(TEXT, "forest_title", lang), lang, height=180 + 28 * len(s))


def cox_subtitle(table: pd.DataFrame, lang: str, landmark_days: float) -> str:
    """Population, period and unit of a Cox model fitted on a landmark table (``landmark_table``)."""
    return tr(TEXT, "cox_sub", lang, d=format_number(landmark_days, lang), **_counts_and_dates(table, lang))


def cumulative_incidence_plot(cr, lang: str = "fr", subtitle: str | None = None) -> go.Figure:
    """Aalen-Johansen cumulative incidence of each reason; ``subtitle``: the relationships (:func:`km_subtitle`)."""
    fig = go.Figure()
    for i, r in enumerate(cr.reasons_):
        c = cr.incidence_[cr.incidence_["reason"] == r]
        name = REASONS.get(r, {}).get(lang, escape(r))
        fig.add_trace(
            go.Scatter(
                x=c["time"],
                y=c["incidence"],
                name=name,
                line={"shape": "hv", "color": PALETTE[i % len(PALETTE)]},
                hovertemplate=f"{name}: %{{y:.1%}} @ %{{x:,.0f}}<extra></extra>",
            )
        )
    fig.update_yaxes(title=tr(TEXT, "incidence", lang), tickformat=".0%")
    fig.update_xaxes(title=tr(TEXT, "days", lang))
    if subtitle:
        return titled(fig, tr(TEXT, "cif_title", lang), subtitle, lang, height=440)
    return style(fig, tr(TEXT, "cif_title", lang), lang, height=420)


def cohort_heatmap(table: pd.DataFrame, lang: str = "fr", censor=None) -> go.Figure:
    """Retention by monthly cohort (:func:`~custrel_lib.survival.cohort_retention`); empty cells stay empty.
    The subtitle says which relationships (the table's ``attrs``: contracts, or relationships without one) and
    until when separations are seen (the table's ``observed_until``, else ``censor``)."""
    contracts = table.attrs.get("definition") == "contractual"
    censor = table.attrs.get("observed_until", censor)
    months = [pd.Period(str(i), "M") for i in table.index]
    labels = [m.strftime("%m/%Y") if lang == "fr" else m.strftime("%Y-%m") for m in months]
    fig = go.Figure(
        go.Heatmap(
            z=table.to_numpy(),
            x=list(table.columns),
            y=labels,
            colorscale="Purples",
            zmin=0,
            zmax=1,
            hovertemplate="%{y}, +%{x}: %{z:.0%}<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_xaxes(title=tr(TEXT, "months", lang))
    fig.update_yaxes(title=tr(TEXT, "cohort", lang), autorange="reversed", type="category")
    height = max(400, 14 * len(table) + 140)
    if censor is None:
        return style(fig, tr(TEXT, "cohort_title", lang), lang, height=height)
    return titled(
        fig,
        tr(TEXT, "cohort_title", lang),
        tr(
            TEXT, "cohort_sub_contract" if contracts else "cohort_sub", lang, censor=format_date(censor, lang)
        ),
        lang,
        height,
    )
