"""Sankey diagrams of journeys: moves between stages (or cycles) and paths through the touchpoints.

Layout: one column per snapshot (x fixed), one row per stage in the typology's order (y fixed, the same for
every figure whatever stages are present), so win-backs never draw a cycle and two figures line up. Entries
come from an "Entrée" node in the previous column (top); exits go to a "Sortie" node (bottom).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import format_number
from custrel_lib.journeys._base import ENTRY, EXIT, OTHER, PSEUDO_COLORS, PSEUDO_LABELS, period_label
from custrel_lib.journeys.touchpoints import STEPS, step_label
from custrel_lib.plots.common import escape, titled
from custrel_lib.plots.journey_text import period_text, phrase, population_text, span_text, unit_text
from custrel_lib.stages import typology

CYCLE_COLORS = {
    "seduction": "#F8A5C2",
    "developpement": "#F06292",
    "fidelisation": "#6A1B9A",
    "retention": "#00897B",
    "separation": "#455A64",
}


def rgba(hex_color: str, alpha: float = 0.45) -> str:
    """``#RRGGBB`` as a translucent ``rgba(...)`` for the links."""
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
    fig = go.Figure(_stage_sankey(links, snaps, transitions.cadence, level, lang, percent_of))
    subtitle = phrase(
        "sankey_sub",
        lang,
        population=population_text(transitions.n_customers_, lang, getattr(transitions, "filters_", None)),
        unit=unit_text(transitions.cadence, lang),
        span=span_text(snaps[0], snaps[-1], transitions.cadence, lang),
    )
    return titled(
        fig,
        title or phrase("cycle_title" if level == "cycle" else "sankey_title", lang),
        subtitle,
        lang,
        height=580,
    )


def _stage_sankey(links: pd.DataFrame, snaps: list, cadence: str, level: str, lang: str, percent_of: str):
    """The ``go.Sankey`` trace of :func:`sankey`: nodes at their fixed places, links in a stable order."""
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
            node_label.append(escape(f"{label(code)} · {period_label(snaps[col], cadence, lang)}"))
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
        src.append(node(i, r.from_code))
        tgt.append(node(i + 1, r.to_code))
        val.append(int(r.count))
        link_color.append(rgba(color(r.from_code)))
        base = out_total[(r.from_snapshot, r.from_code)] if percent_of == "previous" else start_pop
        custom.append(r.count / base if base else np.nan)
    hover = "%{source.label} → %{target.label}<br>%{value:,.0f} (%{customdata:.1%} "
    return go.Sankey(
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
            "hovertemplate": hover + escape(phrase(percent_of, lang)) + ")<extra></extra>",
        },
    )


def touchpoint_sankey(
    links: pd.DataFrame, lang: str = "fr", customers: int | None = None, period=None, max_steps: int = 5
) -> go.Figure:
    """Path Sankey of the first journey steps (from :func:`~custrel_lib.journeys.touchpoints.step_links`).

    ``customers`` (customers with journey steps) and ``period`` (first and last interaction dates) go into
    the subtitle; ``customers`` defaults to those in the first column.
    """
    n_cols = int(links["position"].max()) + 1 if len(links) else 2
    steps = sorted(set(links["source"]) | set(links["target"]))
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
        lc.append(rgba(colour[r.source]))
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={"label": nl, "x": nx, "y": ny, "color": nc, "pad": 10, "thickness": 14},
            link={"source": src, "target": tgt, "value": val, "color": lc},
        )
    )
    if customers is None:
        customers = int(links.loc[links["position"] == 1, "count"].sum()) if len(links) else 0
    subtitle = phrase(
        "touch_sub", lang, n=format_number(customers, lang), period=period_text(period, lang), k=max_steps
    )
    return titled(fig, phrase("touch_title", lang), subtitle, lang, height=500)
