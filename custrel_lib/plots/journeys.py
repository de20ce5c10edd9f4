"""Journey figures: stage and cycle Sankey diagrams, transition heatmap, mix forecast, touchpoint paths.

Sankey layout: one column per snapshot (x fixed), one row per stage in the typology's order (y fixed, the same
for every figure whatever stages are present), so win-backs never draw a cycle and two figures line up.
Entries come from an "Entrée" node in the previous column (top); exits go to a "Sortie" node (bottom).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import check_lang, format_date, format_number, tr
from custrel_lib.journeys._base import (
    ENTRY,
    EXIT,
    OTHER,
    PSEUDO_COLORS,
    PSEUDO_LABELS,
    describe_filters,
    period_label,
)
from custrel_lib.journeys.touchpoints import step_label
from custrel_lib.plots.common import date_axis, escape, titled
from custrel_lib.stages import typology

TEXT = {
    "sankey_title": {"fr": "Parcours entre étapes de la relation", "en": "Moves between relationship stages"},
    "cycle_title": {"fr": "Parcours entre cycles de la relation", "en": "Moves between relationship cycles"},
    "sankey_sub": {
        "fr": (
            "{population}, étape en fin de {unit}, {span} ; épaisseur d'un flux : nombre de clients ; "
            "« Entrée » : vus pour la première fois, « Sortie » : plus vus"
        ),
        "en": (
            "{population}, stage at the end of each {unit}, {span}; link width: number of customers; "
            '"Entry": seen for the first time, "Exit": no longer seen'
        ),
    },
    "population": {"fr": "{n} clients suivis", "en": "{n} tracked customers"},
    "population_filtered": {
        "fr": "{n} clients suivis ({filters})",
        "en": "{n} tracked customers ({filters})",
    },
    "span": {"fr": "{a}–{b}", "en": "{a}–{b}"},
    "heatmap_title": {
        "fr": "Taux de passage d'une étape à l'autre (par {unit})",
        "en": "Transition rates per {unit}",
    },
    "heatmap_sub": {
        "fr": (
            "{population} ; part des clients d'une étape (ligne) en fin de {unit} qui sont dans chaque étape "
            "(colonne) un {unit} plus tard ; {n_moves} passages cumulés, {span}{burn_in} ; ligne « Entrée » : "
            "étape des nouveaux clients"
        ),
        "en": (
            "{population}; share of the customers of a stage (row) at the end of a {unit} found in each stage "
            '(column) one {unit} later; {n_moves} moves pooled, {span}{burn_in}; row "Entry": stage of the new '
            "customers"
        ),
    },
    "heatmap_burn_in": {"fr": " (rodage de {n} exclu)", "en": " ({n} burn-in left out)"},
    "from": {"fr": "Étape de départ", "en": "From"},
    "to": {"fr": "Étape d'arrivée", "en": "To"},
    "forecast_title": {
        "fr": "Répartition des clients par étape, observée puis projetée (Markov, population ouverte)",
        "en": "Customers by stage, observed then projected (Markov, open population)",
    },
    "forecast_title_closed": {
        "fr": "Répartition des clients par étape, observée puis projetée (Markov, population fermée)",
        "en": "Customers by stage, observed then projected (Markov, closed population)",
    },
    "forecast_sub_share": {
        "fr": (
            "{population} ; part de chaque étape en fin de {unit}, observée {span} (trait plein), projetée "
            "sur {k} (pointillés) avec {e} nouveaux clients par {unit}{burn_in}"
        ),
        "en": (
            "{population}; share of each stage at the end of each {unit}, observed {span} (solid), projected "
            "over {k} (dotted) with {e} new customers per {unit}{burn_in}"
        ),
    },
    "forecast_sub_count": {
        "fr": (
            "{population} ; nombre de clients de chaque étape en fin de {unit}, observé {span} (trait plein), "
            "projeté sur {k} (pointillés) avec {e} nouveaux clients par {unit}{burn_in}"
        ),
        "en": (
            "{population}; customers in each stage at the end of each {unit}, observed {span} (solid), "
            "projected over {k} (dotted) with {e} new customers per {unit}{burn_in}"
        ),
    },
    "forecast_sub_closed": {
        "fr": (
            "{population} ; part de chaque étape en fin de {unit}, observée {span} (trait plein), projetée "
            "sur {k} (pointillés) sans nouveaux clients{burn_in}"
        ),
        "en": (
            "{population}; share of each stage at the end of each {unit}, observed {span} (solid), projected "
            "over {k} (dotted) without new customers{burn_in}"
        ),
    },
    "forecast_burn_in": {
        "fr": " ; zone grisée : rodage, hors estimation",
        "en": "; shaded: burn-in, left out of the estimation",
    },
    "burn_in": {"fr": "rodage", "en": "burn-in"},
    "share": {"fr": "Part des clients", "en": "Share of customers"},
    "customers_axis": {"fr": "Nombre de clients", "en": "Number of customers"},
    "observed": {"fr": "observé", "en": "observed"},
    "projected": {"fr": "projeté", "en": "projected"},
    "backtest_title": {
        "fr": "Back-test : erreur du modèle face à la prévision « rien ne change »",
        "en": 'Back-test: model error against the "no change" forecast',
    },
    "backtest_sub": {
        "fr": (
            "{population} ; écart absolu moyen entre parts projetées et observées, moyenne sur les {n} étapes, "
            "en points ; ajusté jusqu'à {cut}, comparé à {span} ; « rien ne change » : répartition de {cut} "
            "reconduite"
        ),
        "en": (
            "{population}; mean absolute error between projected and observed shares over the {n} stages, in "
            'points; fitted up to {cut}, compared with {span}; "no change": the mix of {cut} carried forward'
        ),
    },
    "backtest_axis": {"fr": "Écart moyen par étape (points)", "en": "Mean error per stage (points)"},
    "backtest_x": {"fr": "Période prévue (horizon)", "en": "Forecast period (horizon)"},
    "model": {"fr": "Modèle de Markov", "en": "Markov model"},
    "no_change": {"fr": "Rien ne change", "en": "No change"},
    "previous": {"fr": "de l'étape précédente", "en": "of the previous step"},
    "start": {"fr": "de la population de départ", "en": "of the starting population"},
    "touch_title": {"fr": "Premières étapes du parcours client", "en": "First steps of the customer journey"},
    "touch_sub": {
        "fr": (
            "{n} clients ayant des interactions de parcours{period} ; {k} premières étapes dans l'ordre des "
            "dates, répétitions fusionnées ; épaisseur : nombre de clients"
        ),
        "en": (
            "{n} customers with journey interactions{period}; first {k} steps in date order, repeats merged; "
            "link width: number of customers"
        ),
    },
    "dropoff_title": {
        "fr": "Clients restant à chaque étape du parcours",
        "en": "Customers left at each journey step",
    },
    "dropoff_sub": {
        "fr": (
            "{n} clients ayant des interactions de parcours{period} ; nombre de clients ayant atteint chaque "
            "étape (survol : part des clients de l'étape 1)"
        ),
        "en": (
            "{n} customers with journey interactions{period}; customers who reached each step (hover: share "
            "of those at step 1)"
        ),
    },
    "period": {"fr": ", {span}", "en": ", {span}"},
    "position": {"fr": "Étape n°", "en": "Step #"},
    "customers": {"fr": "Clients", "en": "Customers"},
}
UNITS = {
    "month": {"fr": ("mois", "mois"), "en": ("month", "months")},
    "quarter": {"fr": ("trimestre", "trimestres"), "en": ("quarter", "quarters")},
    "year": {"fr": ("an", "ans"), "en": ("year", "years")},
}
CYCLE_COLORS = {
    "seduction": "#F8A5C2",
    "developpement": "#F06292",
    "fidelisation": "#6A1B9A",
    "retention": "#00897B",
    "separation": "#455A64",
}


def _t(key: str, lang: str, **fmt) -> str:
    return tr(TEXT, key, check_lang(lang), **fmt)


def _unit(cadence: str, lang: str, n: int | None = None) -> str:
    one, many = UNITS[cadence][lang]
    if n is None:
        return one
    return f"{n} {one if n == 1 else many}"


def _span(a, b, cadence: str, lang: str) -> str:
    la, lb = period_label(a, cadence, lang), period_label(b, cadence, lang)
    return la if la == lb else _t("span", lang, a=la, b=lb)


def _population(n: int, lang: str, filters: dict | None = None) -> str:
    if filters:
        return _t(
            "population_filtered", lang, n=format_number(n, lang), filters=describe_filters(filters, lang)
        )
    return _t("population", lang, n=format_number(n, lang))


def _titled(fig: go.Figure, title: str, subtitle: str, lang: str, height: int | None = None) -> go.Figure:
    """House style with a title and a smaller subtitle that says what the figure shows."""
    return titled(fig, title, subtitle, lang, height)


def _rgba(hex_color: str, alpha: float = 0.45) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _levels(level: str) -> tuple[list[str], dict[str, str], callable]:
    if level == "stage":
        codes = typology.stage_order()
        return (
            codes,
            {c: typology.stage_color(c) for c in codes},
            lambda c, lang: typology.stage_label(c, lang),
        )
    if level == "cycle":
        codes = [c.code for c in typology.cycles()]
        return codes, CYCLE_COLORS, lambda c, lang: typology.cycle_label(c, lang)
    raise ConfigError(f"Unknown level {level!r}: use 'stage' or 'cycle'.")


def sankey_layout(n_columns: int, level: str = "stage") -> tuple[list[str], dict[str, float], list[float]]:
    """The fixed positions: codes in order (entry first, other and exit last), y per code, x per column."""
    codes, _, _ = _levels(level)
    rows = [ENTRY, *codes, OTHER, EXIT]
    y = {c: round(0.02 + 0.96 * i / (len(rows) - 1), 6) for i, c in enumerate(rows)}
    x = [round(0.01 + 0.98 * i / max(n_columns - 1, 1), 6) for i in range(n_columns)]
    return rows, y, x


def sankey_links(flows: pd.DataFrame, level: str = "stage", min_flow_share: float = 0.0) -> pd.DataFrame:
    """Link table of a Sankey: ``from_snapshot, to_snapshot, from_code, to_code, count``.

    At cycle level stages are mapped to their cycle and summed. Links smaller than ``min_flow_share`` of their
    column's flows are sent to an "other" node of the next column (their count is kept).
    """
    f = flows.rename(columns={"from_stage": "from_code", "to_stage": "to_code"}).copy()
    if level == "cycle":
        for col in ("from_code", "to_code"):
            f[col] = f[col].map(lambda c: c if c in (ENTRY, EXIT) else typology.cycle_of(c))
    f = f.groupby(["from_snapshot", "to_snapshot", "from_code", "to_code"], as_index=False)["count"].sum()
    f = f[f["count"] > 0]
    if min_flow_share > 0:
        total = f.groupby("from_snapshot")["count"].transform("sum")
        small = (f["count"] < min_flow_share * total) & (f["to_code"] != EXIT)
        f.loc[small, "to_code"] = OTHER
        f = f.groupby(["from_snapshot", "to_snapshot", "from_code", "to_code"], as_index=False)["count"].sum()
    return f.reset_index(drop=True)


def sankey(
    transitions,
    snapshots: Sequence[pd.Timestamp] | None = None,
    lang: str = "fr",
    percent_of: str = "previous",
    min_flow_share: float = 0.0,
    level: str = "stage",
    title: str | None = None,
) -> go.Figure:
    """Sankey of the moves between the selected snapshots of a fitted :class:`Transitions`.

    ``percent_of``: hover percentages of the previous step (the source node's customers) or of the starting
    population (customers at the first selected snapshot).
    """
    if percent_of not in ("previous", "start"):
        raise ConfigError("percent_of must be 'previous' or 'start'.")
    snaps = list(snapshots) if snapshots is not None else transitions.snapshots_
    flows = transitions.flows(snaps) if list(snaps) != list(transitions.snapshots_) else transitions.counts_
    links = sankey_links(flows, level, min_flow_share)
    rows, y, x = sankey_layout(len(snaps), level)
    _codes, colors, label_of = _levels(level)
    col_of = {pd.Timestamp(s): i for i, s in enumerate(snaps)}

    def label(code: str) -> str:
        return PSEUDO_LABELS[code][lang] if code in PSEUDO_LABELS else label_of(code, lang)

    def color(code: str) -> str:
        return PSEUDO_COLORS.get(code) or colors[code]

    nodes: dict[tuple[int, str], int] = {}
    node_x, node_y, node_label, node_color = [], [], [], []

    def node(col: int, code: str) -> int:
        key = (col, code)
        if key not in nodes:
            nodes[key] = len(nodes)
            node_x.append(x[col])
            node_y.append(y[code])
            node_label.append(
                escape(f"{label(code)} · {period_label(snaps[col], transitions.cadence, lang)}")
            )
            node_color.append(color(code))
        return nodes[key]

    src, tgt, val, link_color, custom = [], [], [], [], []
    out_total = links.groupby(["from_snapshot", "from_code"])["count"].sum()
    start_pop = links[(links["from_snapshot"] == snaps[0]) & (links["from_code"] != ENTRY)]["count"].sum()
    # Stable order: by column, then by the fixed row order of source and target.
    order = {c: i for i, c in enumerate(rows)}
    links = links.assign(_a=links["from_code"].map(order), _b=links["to_code"].map(order)).sort_values(
        ["from_snapshot", "_a", "_b"], kind="stable"
    )
    for r in links.itertuples(index=False):
        i = col_of[pd.Timestamp(r.from_snapshot)]
        # Entries are drawn from the previous column's "Entrée" node, exits into the next column's "Sortie".
        s = node(i, r.from_code)
        t = node(i + 1, r.to_code)
        src.append(s)
        tgt.append(t)
        val.append(int(r.count))
        link_color.append(_rgba(color(r.from_code)))
        base = out_total[(r.from_snapshot, r.from_code)] if percent_of == "previous" else start_pop
        custom.append(r.count / base if base else np.nan)
    pct_text = _t(percent_of, lang)
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={
                "label": node_label,
                "x": node_x,
                "y": node_y,
                "color": node_color,
                "pad": 12,
                "thickness": 14,
                "hovertemplate": "%{label}: %{value:,.0f}<extra></extra>",
            },
            link={
                "source": src,
                "target": tgt,
                "value": val,
                "color": link_color,
                "customdata": custom,
                "hovertemplate": (
                    "%{source.label} → %{target.label}<br>%{value:,.0f} (%{customdata:.1%} "
                    + escape(pct_text)
                    + ")<extra></extra>"
                ),
            },
        )
    )
    subtitle = _t(
        "sankey_sub",
        lang,
        population=_population(transitions.n_customers_, lang, getattr(transitions, "filters_", None)),
        unit=_unit(transitions.cadence, lang),
        span=_span(snaps[0], snaps[-1], transitions.cadence, lang),
    )
    return _titled(
        fig,
        title or _t("cycle_title" if level == "cycle" else "sankey_title", lang),
        subtitle,
        lang,
        height=580,
    )


def transition_heatmap(transitions, lang: str = "fr", burn_in: int = 0) -> go.Figure:
    """Row-normalised transition rates pooled over the pairs after the first ``burn_in`` snapshots.

    Counts are on hover; the subtitle says which periods were pooled. A ``burn_in`` that leaves no pair
    is ignored (every pair is pooled, and the subtitle says so).
    """
    snaps = list(transitions.snapshots_)
    if burn_in < 0:
        raise ConfigError("burn_in cannot be negative.")
    b = burn_in if burn_in < len(snaps) - 1 else 0
    if b:
        counts = transitions.counts_[transitions.counts_["from_snapshot"] >= snaps[b]]
        rows_all, cols_all = list(transitions.count_matrix_.index), list(transitions.count_matrix_.columns)
        c = counts.pivot_table(index="from_stage", columns="to_stage", values="count", aggfunc="sum")
        c = c.reindex(index=rows_all, columns=cols_all).fillna(0).astype("int64")
        totals = c.sum(axis=1)
        m = c.div(totals.where(totals > 0), axis=0)
    else:
        m, c = transitions.matrix_, transitions.count_matrix_
    rows = [r for r in m.index if c.loc[r].sum() > 0]
    cols = list(m.columns)

    def lab(code: str) -> str:
        return PSEUDO_LABELS[code][lang] if code in PSEUDO_LABELS else typology.stage_label(code, lang)

    fig = go.Figure(
        go.Heatmap(
            z=m.loc[rows, cols].to_numpy(),
            x=[lab(k) for k in cols],
            y=[lab(k) for k in rows],
            customdata=c.loc[rows, cols].to_numpy(),
            colorscale="Purples",
            zmin=0,
            zmax=1,
            hovertemplate="%{y} → %{x}: %{z:.1%} (%{customdata:,d})<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    fig.update_xaxes(title=_t("to", lang), side="top")
    fig.update_yaxes(title=_t("from", lang), autorange="reversed")
    cad = transitions.cadence
    subtitle = _t(
        "heatmap_sub",
        lang,
        population=_population(transitions.n_customers_, lang, getattr(transitions, "filters_", None)),
        unit=_unit(cad, lang),
        n_moves=format_number(int(c.drop(index=ENTRY, errors="ignore").to_numpy().sum()), lang),
        span=_span(snaps[b], snaps[-1], cad, lang),
        burn_in=_t("heatmap_burn_in", lang, n=_unit(cad, lang, b)) if b else "",
    )
    return _titled(fig, _t("heatmap_title", lang, unit=_unit(cad, lang)), subtitle, lang, height=560)


def _population_of(projection, lang: str) -> str:
    n = int(projection.observed_counts_.iloc[-1].sum())
    return _population(n, lang)


def mix_forecast_chart(projection, lang: str = "fr", unit: str = "share") -> go.Figure:
    """Observed stage shares or counts (solid) and their Markov projection (dotted), one colour per stage.

    Parameters
    ----------
    projection : MarkovProjection
        Fitted, with ``status_ == "ok"``.
    lang : {"fr", "en"}
    unit : {"share", "count"}
        Shares of the customers, or numbers of customers (open population only).
    """
    if unit not in ("share", "count"):
        raise ConfigError("unit must be 'share' or 'count'.")
    closed = projection.population == "closed"
    if unit == "count" and closed:
        raise ConfigError("A closed-population projection has no counts: use unit='share'.")
    observed = projection.observed_ if unit == "share" else projection.observed_counts_
    forecast = projection.forecast_ if unit == "share" else projection.forecast_counts_
    fmt = ".1%" if unit == "share" else ",.0f"
    fig = go.Figure()
    for code in projection.stages_:
        if observed[code].max() <= 0 and forecast[code].max() <= 0:
            continue
        name = typology.stage_label(code, lang)
        colour = typology.stage_color(code)
        fig.add_trace(
            go.Scatter(
                x=observed.index,
                y=observed[code],
                name=name,
                legendgroup=code,
                line={"color": colour},
                hovertemplate=f"{escape(name)} ({_t('observed', lang)}): %{{y:{fmt}}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=forecast.index,
                y=forecast[code],
                name=name,
                legendgroup=code,
                showlegend=False,
                line={"color": colour, "dash": "dot"},
                hovertemplate=f"{escape(name)} ({_t('projected', lang)}): %{{y:{fmt}}}<extra></extra>",
            )
        )
    cad = projection.cadence_
    burn = projection.burn_in_snapshots_
    if burn:
        fig.add_vrect(
            x0=burn[0] - pd.Timedelta(days=15),
            x1=burn[-1] + pd.Timedelta(days=15),
            fillcolor="#9E9E9E",
            opacity=0.15,
            line_width=0,
            annotation_text=escape(_t("burn_in", lang)),
            annotation_position="top left",
        )
    if unit == "share":
        fig.update_yaxes(title=_t("share", lang), tickformat=".0%", rangemode="tozero")
    else:
        fig.update_yaxes(title=_t("customers_axis", lang), tickformat=",d", rangemode="tozero")
    key = "forecast_sub_closed" if closed else f"forecast_sub_{unit}"
    subtitle = _t(
        key,
        lang,
        population=_population_of(projection, lang),
        unit=_unit(cad, lang),
        span=_span(observed.index[0], observed.index[-1], cad, lang),
        k=_unit(cad, lang, len(forecast) - 1),
        e=format_number(float(projection.chain_.entries.sum()), lang),
        burn_in=_t("forecast_burn_in", lang) if burn else "",
    )
    title = _t("forecast_title_closed" if closed else "forecast_title", lang)
    return date_axis(_titled(fig, title, subtitle, lang, height=500), lang)


def backtest_chart(projection, lang: str = "fr") -> go.Figure:
    """Back-test per horizon step: the model's mean error beside the no-change forecast's, in points."""
    bt = projection.backtest_
    if bt is None:
        raise ConfigError("This projection has no back-test (see its notes_).")
    cad = projection.cadence_
    x = [
        f"{period_label(s, cad, lang)} (+{_unit(cad, lang, int(k))})"
        for s, k in zip(bt["snapshot"], bt["step"], strict=True)
    ]
    fig = go.Figure()
    for key, col, colour in (("model", "model_mae", "#8E24AA"), ("no_change", "no_change_mae", "#9E9E9E")):
        name = _t(key, lang)
        fig.add_trace(
            go.Bar(
                x=x,
                y=bt[col] * 100,
                name=name,
                marker_color=colour,
                text=[format_number(v * 100, lang, 2) for v in bt[col]],
                textposition="outside",
                hovertemplate=f"{escape(name)}: %{{y:.2f}} pt<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=_t("backtest_axis", lang), rangemode="tozero")
    fig.update_xaxes(title=_t("backtest_x", lang))
    subtitle = _t(
        "backtest_sub",
        lang,
        population=_population_of(projection, lang),
        n=len(projection.stages_),
        cut=period_label(projection.backtest_cut_, cad, lang),
        span=_span(bt["snapshot"].iloc[0], bt["snapshot"].iloc[-1], cad, lang),
    )
    return _titled(fig, _t("backtest_title", lang), subtitle, lang, height=440)


def _period_text(period, lang: str) -> str:
    if period is None:
        return ""
    a, b = (format_date(pd.Timestamp(p), lang) for p in period)
    return _t("period", lang, span=_t("span", lang, a=a, b=b))


def touchpoint_sankey(
    links: pd.DataFrame, lang: str = "fr", customers: int | None = None, period=None, max_steps: int = 5
) -> go.Figure:
    """Path Sankey of the first journey steps (from :func:`~custrel_lib.journeys.touchpoints.step_links`).

    ``customers`` (customers with journey steps) and ``period`` (first and last interaction dates) go into
    the subtitle; ``customers`` defaults to those in the first column.
    """
    n_cols = int(links["position"].max()) + 1 if len(links) else 2
    steps = sorted(set(links["source"]) | set(links["target"]))
    from custrel_lib.journeys.touchpoints import STEPS

    order = [s for s in STEPS if s in steps] + [s for s in steps if s not in STEPS]
    y = {s: round(0.02 + 0.96 * i / max(len(order) - 1, 1), 6) for i, s in enumerate(order)}
    palette = ["#F8A5C2", "#F06292", "#D81B60", "#8E24AA", "#4A148C", "#00897B", "#455A64", "#C8A27A"]
    colour = {s: palette[i % len(palette)] for i, s in enumerate(order)}
    nodes: dict[tuple[int, str], int] = {}
    nx, ny, nl, nc = [], [], [], []

    def node(col: int, step: str) -> int:
        if (col, step) not in nodes:
            nodes[(col, step)] = len(nodes)
            nx.append(round(0.01 + 0.98 * (col - 1) / max(n_cols - 1, 1), 6))
            ny.append(y[step])
            nl.append(escape(f"{step_label(step, lang)} ({col})"))
            nc.append(colour[step])
        return nodes[(col, step)]

    src, tgt, val, lc = [], [], [], []
    for r in links.itertuples(index=False):
        src.append(node(int(r.position), r.source))
        tgt.append(node(int(r.position) + 1, r.target))
        val.append(int(r.count))
        lc.append(_rgba(colour[r.source]))
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={"label": nl, "x": nx, "y": ny, "color": nc, "pad": 10, "thickness": 14},
            link={"source": src, "target": tgt, "value": val, "color": lc},
        )
    )
    if customers is None:
        customers = int(links.loc[links["position"] == 1, "count"].sum()) if len(links) else 0
    subtitle = _t(
        "touch_sub", lang, n=format_number(customers, lang), period=_period_text(period, lang), k=max_steps
    )
    return _titled(fig, _t("touch_title", lang), subtitle, lang, height=500)


def dropoff_chart(table: pd.DataFrame, lang: str = "fr", period=None) -> go.Figure:
    """Customers reaching each journey position (bars) with the share of the start on hover.

    ``period`` (first and last interaction dates) goes into the subtitle.
    """
    fig = go.Figure(
        go.Bar(
            x=[f"{_t('position', lang)}{p}" for p in table["position"]],
            y=table["customers"],
            customdata=table["share_of_start"],
            marker_color="#8E24AA",
            hovertemplate="%{x}: %{y:,d} (%{customdata:.0%})<extra></extra>",
        )
    )
    fig.update_yaxes(title=_t("customers", lang), tickformat=",d")
    n = int(table["customers"].iloc[0]) if len(table) else 0
    subtitle = _t("dropoff_sub", lang, n=format_number(n, lang), period=_period_text(period, lang))
    return _titled(fig, _t("dropoff_title", lang), subtitle, lang, height=400)
