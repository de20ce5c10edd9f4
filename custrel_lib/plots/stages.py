"""Figures of the relationship stages (plotly; returned, never shown)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from custrel_lib.i18n import format_date, format_number, tr
from custrel_lib.plots.common import date_axis, escape, style, titled
from custrel_lib.stages import typology
from custrel_lib.stages.features import feature_label

TEXT = {
    "area_title": {"fr": "Clients par étape de la relation", "en": "Customers by relationship stage"},
    "area_title_share": {"fr": "Répartition des clients par étape", "en": "Share of customers by stage"},
    "customers": {"fr": "Clients", "en": "Customers"},
    "share": {"fr": "Part des clients", "en": "Share of customers"},
    "revenue_share": {"fr": "Part du chiffre d'affaires (12 mois)", "en": "Share of revenue (12 months)"},
    "profiles_title": {
        "fr": "Poids des étapes : clients et chiffre d'affaires",
        "en": "Stages: customers and revenue",
    },
    "heatmap_title": {
        "fr": "Segments statistiques et étapes de la relation",
        "en": "Data-driven segments and stages",
    },
    "segment": {"fr": "Segment", "en": "Segment"},
    "stage": {"fr": "Étape", "en": "Stage"},
    "bar_title": {"fr": "Clients par étape au {date}", "en": "Customers by stage on {date}"},
    "feature_title": {"fr": "{feature} selon l'étape", "en": "{feature} by stage"},
    # Subtitles: population, period, unit, definition.
    "area_sub": {
        "fr": "{n} clients, l'étape de chacun à {k} dates du {start} au {end}, selon les règles d'étapes ; unité : {unit}",
        "en": "{n} customers, each one's stage at {k} dates from {start} to {end}, by the stage rules; unit: {unit}",
    },
    "area_sub_unit": {"fr": "clients", "en": "customers"},
    "area_sub_unit_share": {
        "fr": "part des clients à chaque date",
        "en": "share of the customers at each date",
    },
    "area_sub_kept": {"fr": " ; sans les séparés", "en": "; separated customers left out"},
    "bar_sub": {
        "fr": "{n} clients, placés à cette date par les règles d'étapes ; unité : clients",
        "en": "{n} customers, placed on that date by the stage rules; unit: customers",
    },
    "profiles_title_count": {"fr": "Poids des étapes : clients", "en": "Stages: customers"},
    "profiles_sub_count": {
        "fr": "{n} clients à la dernière date : part de chaque étape parmi eux (sans montants dans les données, pas de part du chiffre d'affaires)",
        "en": "{n} customers on the last date: each stage's share of them (no amounts in the data, no share of revenue)",
    },
    "profiles_sub": {
        "fr": "{n} clients à la dernière date : part de chaque étape parmi eux, et part du chiffre d'affaires de leurs 12 derniers mois",
        "en": "{n} customers on the last date: each stage's share of them, and its share of their revenue over the last 12 months",
    },
    "heatmap_sub": {
        "fr": "{n} clients à la dernière date ; couleur : part des clients du segment dans chaque étape (au survol : nombre de clients)",
        "en": "{n} customers on the last date; colour: share of the segment's customers in each stage (on hover: number of customers)",
    },
    "feature_sub": {
        "fr": "{n} clients au {date}, par étape ; boîte : médiane et quartiles, moustaches jusqu'à 1,5 écart interquartile",
        "en": "{n} customers on {date}, by stage; box: median and quartiles, whiskers up to 1.5 interquartile ranges",
    },
}


def _n(count, lang: str) -> str:
    return format_number(int(count), lang)


def _stages_in(codes) -> list[str]:
    present = set(codes)
    return [c for c in typology.stage_order() if c in present]


def stage_area(
    history: pd.DataFrame, lang: str = "fr", normalize: bool = False, include_separated: bool = True
) -> go.Figure:
    """Stacked area of customers (or shares) per stage at each snapshot, stages in the typology's order."""
    h = history if include_separated else history[history["stage"] != "separe"]
    counts = h.groupby(["snapshot", "stage"], observed=True).size().unstack(fill_value=0)
    if normalize:
        counts = counts.div(counts.sum(axis=1), axis=0)
    fig = go.Figure()
    for code in _stages_in(counts.columns):
        label = typology.stage_label(code, lang)
        fig.add_trace(
            go.Scatter(
                x=counts.index,
                y=counts[code],
                name=label,
                mode="lines",
                stackgroup="stages",
                line={"width": 0.5, "color": typology.stage_color(code)},
                fillcolor=typology.stage_color(code),
                hovertemplate=f"{escape(label)}: %{{y:{'.1%' if normalize else ',.0f'}}}<extra></extra>",
            )
        )
    fig.update_yaxes(
        title=tr(TEXT, "share" if normalize else "customers", lang), tickformat=".0%" if normalize else ",d"
    )
    date_axis(fig, lang)
    title = tr(TEXT, "area_title_share" if normalize else "area_title", lang)
    if not len(counts):
        return style(fig, title, lang, height=450)
    sub = tr(
        TEXT,
        "area_sub",
        lang,
        n=_n(h["customer_id"].nunique(), lang),
        k=_n(len(counts), lang),
        start=format_date(pd.Timestamp(counts.index.min()), lang),
        end=format_date(pd.Timestamp(counts.index.max()), lang),
        unit=tr(TEXT, "area_sub_unit_share" if normalize else "area_sub_unit", lang),
    ) + ("" if include_separated else tr(TEXT, "area_sub_kept", lang))
    return titled(fig, title, sub, lang, height=470)


def stage_bar(current: pd.DataFrame, lang: str = "fr") -> go.Figure:
    """Customers per stage at one snapshot (horizontal bars, typology order top to bottom)."""
    counts = current["stage"].value_counts()
    codes = _stages_in(counts.index)
    labels = [typology.stage_label(c, lang) for c in codes]
    total = counts.sum()
    fig = go.Figure(
        go.Bar(
            x=[int(counts[c]) for c in codes],
            y=labels,
            orientation="h",
            marker_color=[typology.stage_color(c) for c in codes],
            customdata=[counts[c] / total for c in codes],
            hovertemplate="%{y}: %{x:,d} (%{customdata:.1%})<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=tr(TEXT, "customers", lang), tickformat=",d")
    date = (
        format_date(pd.Timestamp(current["snapshot"].max()), lang)
        if "snapshot" in current and len(current)
        else ""
    )
    return titled(
        fig, tr(TEXT, "bar_title", lang, date=date), tr(TEXT, "bar_sub", lang, n=_n(total, lang)), lang, 440
    )


def stage_profiles_chart(profiles: pd.DataFrame, lang: str = "fr") -> go.Figure:
    """Share of customers next to share of revenue for each stage (from ``StageModel.profiles().table``)."""
    codes = _stages_in(profiles["stage"])
    p = profiles.set_index("stage").loc[codes]
    labels = [typology.stage_label(c, lang) for c in codes]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=p["share"], name=tr(TEXT, "share", lang), marker_color="#90A4AE"))
    revenue = p["revenue_share"].notna().any()  # none without amounts
    if revenue:
        fig.add_trace(
            go.Bar(
                x=labels,
                y=p["revenue_share"],
                name=tr(TEXT, "revenue_share", lang),
                marker_color=[typology.stage_color(c) for c in codes],
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%")
    end = "" if revenue else "_count"
    sub = (
        tr(TEXT, "profiles_sub" + end, lang, n=_n(profiles["customers"].sum(), lang))
        if "customers" in profiles
        else None
    )
    return titled(fig, tr(TEXT, "profiles_title" + end, lang), sub, lang, height=440)


def cluster_stage_heatmap(crosstab: pd.DataFrame, lang: str = "fr") -> go.Figure:
    """Customers of each data-driven segment (rows) in each stage (columns), shares of the segment on colour."""
    cols = _stages_in(crosstab.columns)
    table = crosstab[cols]
    shares = table.div(table.sum(axis=1), axis=0)
    fig = go.Figure(
        go.Heatmap(
            z=shares.to_numpy(),
            x=[typology.stage_label(c, lang) for c in cols],
            y=[escape(i) for i in table.index],
            customdata=table.to_numpy(),
            colorscale="Purples",
            zmin=0,
            zmax=1,
            hovertemplate="%{y} → %{x}: %{customdata:,d} (%{z:.0%})<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_xaxes(title=tr(TEXT, "stage", lang))
    fig.update_yaxes(title=tr(TEXT, "segment", lang), autorange="reversed")
    sub = tr(TEXT, "heatmap_sub", lang, n=_n(table.to_numpy().sum(), lang))
    return titled(fig, tr(TEXT, "heatmap_title", lang), sub, lang, height=140 + 40 * len(table))


def feature_by_stage(
    features: pd.DataFrame, feature: str, lang: str = "fr", label: str | None = None
) -> go.Figure:
    """Distribution of one feature per stage (box plots, typology order and colours).

    The title names the feature by ``label``, else by its label in ``lang`` (:func:`feature_label`).
    """
    fig = go.Figure()
    for code in _stages_in(features["stage"]):
        values = features.loc[features["stage"] == code, feature].dropna()
        fig.add_trace(
            go.Box(
                y=values,
                name=typology.stage_label(code, lang),
                marker_color=typology.stage_color(code),
                boxpoints=False,
            )
        )
    fig.update_layout(showlegend=False)
    title = tr(TEXT, "feature_title", lang, feature=label or feature_label(feature, lang))
    if "snapshot" not in features or not len(features):
        return style(fig, title, lang, height=420)
    date = format_date(pd.Timestamp(features["snapshot"].max()), lang)
    return titled(fig, title, tr(TEXT, "feature_sub", lang, n=_n(len(features), lang), date=date), lang, 440)
