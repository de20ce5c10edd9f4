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

from custrel_lib import typology
from custrel_lib.exceptions import ConfigError
from custrel_lib.journeys._base import ENTRY, EXIT, OTHER, PSEUDO_COLORS, PSEUDO_LABELS, period_label
from custrel_lib.journeys.touchpoints import step_label
from custrel_lib.plots.common import escape, style

TEXT = {
    "sankey_title": {"fr": "Parcours entre étapes de la relation", "en": "Moves between relationship stages"},
    "cycle_title": {"fr": "Parcours entre cycles de la relation", "en": "Moves between relationship cycles"},
    "heatmap_title": {
        "fr": "Taux de passage d'une étape à l'autre (par période)",
        "en": "Transition rates per period",
    },
    "from": {"fr": "Étape de départ", "en": "From"},
    "to": {"fr": "Étape d'arrivée", "en": "To"},
    "forecast_title": {
        "fr": "Projection de la répartition par étape (Markov)",
        "en": "Projected stage mix (Markov)",
    },
    "share": {"fr": "Part des clients", "en": "Share of customers"},
    "observed": {"fr": "observé", "en": "observed"},
    "projected": {"fr": "projeté", "en": "projected"},
    "previous": {"fr": "de l'étape précédente", "en": "of the previous step"},
    "start": {"fr": "de la population de départ", "en": "of the starting population"},
    "touch_title": {"fr": "Premières étapes du parcours client", "en": "First steps of the customer journey"},
    "dropoff_title": {
        "fr": "Clients restant à chaque étape du parcours",
        "en": "Customers left at each journey step",
    },
    "position": {"fr": "Étape n°", "en": "Step #"},
    "customers": {"fr": "Clients", "en": "Customers"},
}
CYCLE_COLORS = {
    "seduction": "#F8A5C2",
    "developpement": "#F06292",
    "fidelisation": "#6A1B9A",
    "retention": "#00897B",
    "separation": "#455A64",
}


def _t(key: str, lang: str) -> str:
    return TEXT[key][typology._check_lang(lang)]


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
    return style(
        fig, title or _t("cycle_title" if level == "cycle" else "sankey_title", lang), lang, height=560
    )


def transition_heatmap(transitions, lang: str = "fr") -> go.Figure:
    """Row-normalised transition rates pooled over all periods (counts on hover)."""
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
    return style(fig, _t("heatmap_title", lang), lang, height=520)


def mix_forecast_chart(projection, lang: str = "fr") -> go.Figure:
    """Observed stage shares (solid) and their Markov projection (dotted), one colour per stage."""
    fig = go.Figure()
    for code in projection.stages_:
        name = typology.stage_label(code, lang)
        colour = typology.stage_color(code)
        fig.add_trace(
            go.Scatter(
                x=projection.observed_.index,
                y=projection.observed_[code],
                name=name,
                legendgroup=code,
                line={"color": colour},
                hovertemplate=f"{escape(name)} ({_t('observed', lang)}): %{{y:.1%}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=projection.forecast_.index,
                y=projection.forecast_[code],
                name=name,
                legendgroup=code,
                showlegend=False,
                line={"color": colour, "dash": "dot"},
                hovertemplate=f"{escape(name)} ({_t('projected', lang)}): %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title=_t("share", lang), tickformat=".0%")
    return style(fig, _t("forecast_title", lang), lang, height=460)


def touchpoint_sankey(links: pd.DataFrame, lang: str = "fr") -> go.Figure:
    """Path Sankey of the first journey steps (from :func:`~custrel_lib.journeys.touchpoints.step_links`)."""
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
    return style(fig, _t("touch_title", lang), lang, height=480)


def dropoff_chart(table: pd.DataFrame, lang: str = "fr") -> go.Figure:
    """Customers reaching each journey position (bars) with the share of the start on hover."""
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
    return style(fig, _t("dropoff_title", lang), lang, height=380)
