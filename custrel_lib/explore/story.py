"""One customer's relationship told as a story: a timeline of purchases, interactions, contract and stages.

The stages come from the explorer's current settings, computed in the engine on that customer's rows only
(every snapshot of the grid up to the snapshot date). Customer identifiers appear here on purpose: this is a
researcher's tool, never part of a shared report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custrel_lib.exceptions import ConfigError
from custrel_lib.explore.rules import with_values
from custrel_lib.explore.text import t
from custrel_lib.i18n import check_lang, format_currency, format_date, format_number
from custrel_lib.plots.common import date_axis, escape, titled
from custrel_lib.stages import typology
from custrel_lib.stages.features import REFERRAL_TYPES, RETURN_GAP, features_engine, to_pandas_features

#: Lanes of the timeline, bottom to top.
LANES = ("lane_purchases", "lane_interactions", "lane_contract", "lane_stage")
Y = {lane: i for i, lane in enumerate(LANES)}
NPS_COLORS = {"promoter": "#2E7D32", "passive": "#F9A825", "detractor": "#C62828"}


@dataclass
class CustomerEvents:
    """Everything dated about one customer (canonical columns), and its stage at each snapshot."""

    customer_id: str
    transactions: pd.DataFrame
    interactions: pd.DataFrame
    customer: pd.Series | None
    history: pd.DataFrame  # snapshot, stage
    amounts: bool = True  # False: transactions without amounts (amounts: false): no amount shown

    def stage_changes(self) -> pd.DataFrame:
        """``snapshot, stage``: the first snapshot and every snapshot where the stage differs from the one before."""
        h = self.history.sort_values("snapshot")
        return h[h["stage"] != h["stage"].shift()].reset_index(drop=True)


def customer_events(engine, customer_id: str, settings) -> CustomerEvents:
    """The rows of ``customer_id`` and its stage history under ``settings`` (an explorer ``Settings``)."""
    cid = str(customer_id).strip()
    tables = engine.wb.tables
    tx = tables["transactions"]
    tx = tx[tx["customer_id"] == cid]
    cu = tables.get("customers")
    row = cu[cu["customer_id"] == cid] if cu is not None else None
    if tx.empty and (row is None or row.empty):
        raise ConfigError(t("unknown_customer", "en", customer=cid))
    it = tables.get("interactions")
    it = it[it["customer_id"] == cid] if it is not None else pd.DataFrame(columns=["date", "type", "score"])
    snapshot = pd.Timestamp(settings.snapshot)
    grid = [s for s in engine.grid if s <= snapshot]
    one = {name: table.filter(table.customer_id == cid) for name, table in engine.tables.items()}
    expr, con = features_engine(
        one,
        grid,
        float(settings.horizon_days),
        backend=engine.con,
        return_gap=RETURN_GAP,
        loyalty_from=snapshot,
    )
    expr = engine.with_signals(expr, snapshot)
    rules = with_values(engine.base_rules, settings.values)
    staged = expr.mutate(stage=rules.compile(expr, float(settings.horizon_days)))
    hist = to_pandas_features(con.execute(staged))[["snapshot", "stage"]]
    return CustomerEvents(
        customer_id=cid,
        transactions=tx.sort_values("date").reset_index(drop=True),
        interactions=it.sort_values("date").reset_index(drop=True),
        customer=None if row is None or row.empty else row.iloc[0],
        history=hist.assign(stage=hist["stage"].astype(str)).reset_index(drop=True),
        amounts=engine.wb.amounts,
    )


def _bands(fig: go.Figure, ev: CustomerEvents, end: pd.Timestamp, lang: str) -> None:
    """Stage bands in the stages' colours behind everything, and the stage lane with a legend per stage."""
    changes = ev.stage_changes()
    shown: set[str] = set()
    for i, r in changes.iterrows():
        start = r["snapshot"]
        stop = changes["snapshot"].iloc[i + 1] if i + 1 < len(changes) else end
        color, label = typology.stage_color(r["stage"]), typology.stage_label(r["stage"], lang)
        if stop > start:
            fig.add_vrect(x0=start, x1=stop, fillcolor=color, opacity=0.16, line_width=0, layer="below")
        hover = f"{escape(label)}: {format_date(start, lang)} – {format_date(stop, lang)}<extra></extra>"
        fig.add_trace(
            go.Scatter(
                x=[start, max(stop, start + pd.Timedelta(days=3))],
                y=[Y["lane_stage"]] * 2,
                mode="lines",
                line={"color": color, "width": 16},
                name=escape(label),
                legendgroup=r["stage"],
                showlegend=r["stage"] not in shown,
                hovertemplate=hover,
            )
        )
        shown.add(r["stage"])
    if len(changes) > 1:
        moves = changes.iloc[1:]
        fig.add_trace(
            go.Scatter(
                x=moves["snapshot"],
                # alternate heights, so that the names of close changes do not overlap
                y=[Y["lane_stage"] + (0.3 if i % 2 == 0 else 0.55) for i in range(len(moves))],
                mode="text",
                text=[
                    escape(t("change_to", lang, stage=typology.stage_label(s, lang))) for s in moves["stage"]
                ],
                textfont={"size": 11},
                showlegend=False,
                hoverinfo="skip",
            )
        )


def _contract(fig: go.Figure, ev: CustomerEvents, end: pd.Timestamp, lang: str) -> None:
    c = ev.customer
    if c is None or pd.isna(c.get("contract_start")):
        return
    start = pd.Timestamp(c["contract_start"])
    stop = pd.Timestamp(c["contract_end"]) if pd.notna(c.get("contract_end")) else end
    hover = f"{t('contract', lang)}: {format_date(start, lang)} – {format_date(stop, lang)}<extra></extra>"
    fig.add_trace(
        go.Scatter(
            x=[start, stop],
            y=[Y["lane_contract"]] * 2,
            mode="lines+markers",
            line={"color": "#37474F", "width": 8},
            marker={"symbol": ["line-ns-open", "line-ns-open"], "size": 18, "color": "#37474F"},
            name=t("contract", lang),
            hovertemplate=hover,
        )
    )


def _purchases(fig: go.Figure, ev: CustomerEvents, lang: str) -> None:
    tx = ev.transactions
    for key, part in (("purchase", tx[tx["amount"] > 0]), ("refund", tx[tx["amount"] <= 0])):
        if part.empty:
            continue
        size = 8 + 22 * np.sqrt(part["amount"].abs() / max(tx["amount"].abs().max(), 1e-9))
        size = size if ev.amounts else 14
        cats = part["category"] if "category" in part else pd.Series("", index=part.index)
        text = [
            format_date(d, lang)
            + (f" · {format_currency(a, lang)}" if ev.amounts else "")
            + (f" · {escape(c)}" if pd.notna(c) and c else "")
            for d, a, c in zip(part["date"], part["amount"], cats.fillna(""), strict=True)
        ]
        fig.add_trace(
            go.Scatter(
                x=part["date"],
                y=[Y["lane_purchases"]] * len(part),
                mode="markers",
                marker={
                    "size": size,
                    "color": "#5C6BC0" if key == "purchase" else "#E53935",
                    "symbol": "circle" if key == "purchase" else "x",
                    "opacity": 0.75,
                    "line": {"width": 0.5, "color": "white"},
                },
                name=t(key, lang),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )


def _interactions(fig: go.Figure, ev: CustomerEvents, lang: str) -> None:
    it = ev.interactions
    y = Y["lane_interactions"]
    nps_rows = it[(it["type"] == "nps") & it["score"].notna()]
    if not nps_rows.empty:
        kind = np.where(
            nps_rows["score"] >= 9, "promoter", np.where(nps_rows["score"] <= 6, "detractor", "passive")
        )
        fig.add_trace(
            go.Scatter(
                x=nps_rows["date"],
                y=[y] * len(nps_rows),
                mode="markers+text",
                marker={"size": 20, "color": [NPS_COLORS[k] for k in kind], "symbol": "square"},
                text=[format_number(s, lang) for s in nps_rows["score"]],
                textfont={"color": "white", "size": 10},
                name=t("nps", lang),
                hovertemplate=f"{t('nps', lang)} %{{text}}/10 · %{{x}}<extra></extra>",
            )
        )
    complaints = it[it["type"] == "complaint"]
    if not complaints.empty:
        resolved = (
            complaints["resolved"] if "resolved" in complaints else pd.Series(pd.NA, index=complaints.index)
        )
        states = [t("resolved" if r is True else "open", lang) if pd.notna(r) else "" for r in resolved]
        fig.add_trace(
            go.Scatter(
                x=complaints["date"],
                y=[y - 0.25] * len(complaints),
                mode="markers",
                marker={"size": 13, "color": "#C62828", "symbol": "triangle-down"},
                name=t("complaint", lang),
                text=states,
                hovertemplate=f"{t('complaint', lang)} %{{text}} · %{{x}}<extra></extra>",
            )
        )
    refs = it[it["type"].isin(REFERRAL_TYPES)]
    if not refs.empty:
        fig.add_trace(
            go.Scatter(
                x=refs["date"],
                y=[y + 0.25] * len(refs),
                mode="markers",
                marker={"size": 15, "color": "#2E7D32", "symbol": "star"},
                name=t("referral", lang),
                hovertemplate=f"{t('referral', lang)} · %{{x}}<extra></extra>",
            )
        )


def story_figure(ev: CustomerEvents, lang: str = "fr", horizon_days: float | None = None) -> go.Figure:
    """The timeline of one customer (see the module docstring); returned, never shown."""
    lang = check_lang(lang)
    end = ev.history["snapshot"].max() if not ev.history.empty else ev.transactions["date"].max()
    fig = go.Figure()
    _bands(fig, ev, end, lang)
    _contract(fig, ev, end, lang)
    _interactions(fig, ev, lang)
    _purchases(fig, ev, lang)
    fig.update_yaxes(
        tickvals=list(Y.values()),
        ticktext=[t(lane, lang) for lane in LANES],
        range=[-0.7, len(LANES) - 0.2],
        showgrid=False,
        zeroline=False,
    )
    date_axis(fig, lang)
    h = format_number(horizon_days, lang) if horizon_days else "?"
    titled(
        fig,
        t("story_title", lang, customer=ev.customer_id),
        t("story_sub" if ev.amounts else "story_sub_count", lang, h=h),
        lang,
        height=500,
    )
    # the legend goes under the dates: above the plot it would cover the subtitle
    return fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "x": 0}, margin={"b": 90}
    )
