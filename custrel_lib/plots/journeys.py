"""Journey figures: transition heatmap, Markov mix forecast and its back-test, touchpoint drop-off (the
Sankey diagrams are in :mod:`.sankey`, the words in :mod:`.journey_text`)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import format_number
from custrel_lib.journeys._base import ENTRY, PSEUDO_LABELS, period_label
from custrel_lib.plots.common import date_axis, escape, titled
from custrel_lib.plots.journey_text import period_text, phrase, population_text, span_text, unit_text
from custrel_lib.stages import typology


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
    fig.update_xaxes(title=phrase("to", lang), side="top")
    fig.update_yaxes(title=phrase("from", lang), autorange="reversed")
    cad = transitions.cadence
    subtitle = phrase(
        "heatmap_sub",
        lang,
        population=population_text(transitions.n_customers_, lang, getattr(transitions, "filters_", None)),
        unit=unit_text(cad, lang),
        n_moves=format_number(int(c.drop(index=ENTRY, errors="ignore").to_numpy().sum()), lang),
        span=span_text(snaps[b], snaps[-1], cad, lang),
        burn_in=phrase("heatmap_burn_in", lang, n=unit_text(cad, lang, b)) if b else "",
    )
    return titled(fig, phrase("heatmap_title", lang, unit=unit_text(cad, lang)), subtitle, lang, height=560)


def _population_of(projection, lang: str) -> str:
    n = int(projection.observed_counts_.iloc[-1].sum())
    return population_text(n, lang)


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
                hovertemplate=f"{escape(name)} ({phrase('observed', lang)}): %{{y:{fmt}}}<extra></extra>",
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
                hovertemplate=f"{escape(name)} ({phrase('projected', lang)}): %{{y:{fmt}}}<extra></extra>",
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
            annotation_text=escape(phrase("burn_in", lang)),
            annotation_position="top left",
        )
    if unit == "share":
        fig.update_yaxes(title=phrase("share", lang), tickformat=".0%", rangemode="tozero")
    else:
        fig.update_yaxes(title=phrase("customers_axis", lang), tickformat=",d", rangemode="tozero")
    key = "forecast_sub_closed" if closed else f"forecast_sub_{unit}"
    subtitle = phrase(
        key,
        lang,
        population=_population_of(projection, lang),
        unit=unit_text(cad, lang),
        span=span_text(observed.index[0], observed.index[-1], cad, lang),
        k=unit_text(cad, lang, len(forecast) - 1),
        e=format_number(float(projection.chain_.entries.sum()), lang),
        burn_in=phrase("forecast_burn_in", lang) if burn else "",
    )
    title = phrase("forecast_title_closed" if closed else "forecast_title", lang)
    return date_axis(titled(fig, title, subtitle, lang, height=500), lang)


def backtest_chart(projection, lang: str = "fr") -> go.Figure:
    """Back-test per horizon step: the model's mean error beside the no-change forecast's, in points."""
    bt = projection.backtest_
    if bt is None:
        raise ConfigError("This projection has no back-test (see its notes_).")
    cad = projection.cadence_
    x = [
        f"{period_label(s, cad, lang)} (+{unit_text(cad, lang, int(k))})"
        for s, k in zip(bt["snapshot"], bt["step"], strict=True)
    ]
    fig = go.Figure()
    for key, col, colour in (("model", "model_mae", "#8E24AA"), ("no_change", "no_change_mae", "#9E9E9E")):
        name = phrase(key, lang)
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
    fig.update_yaxes(title=phrase("backtest_axis", lang), rangemode="tozero")
    fig.update_xaxes(title=phrase("backtest_x", lang))
    subtitle = phrase(
        "backtest_sub",
        lang,
        population=_population_of(projection, lang),
        n=len(projection.stages_),
        cut=period_label(projection.backtest_cut_, cad, lang),
        span=span_text(bt["snapshot"].iloc[0], bt["snapshot"].iloc[-1], cad, lang),
    )
    return titled(fig, phrase("backtest_title", lang), subtitle, lang, height=440)


def dropoff_chart(table: pd.DataFrame, lang: str = "fr", period=None) -> go.Figure:
    """Customers reaching each journey position (bars) with the share of the start on hover.

    ``period`` (first and last interaction dates) goes into the subtitle.
    """
    fig = go.Figure(
        go.Bar(
            x=[f"{phrase('position', lang)}{p}" for p in table["position"]],
            y=table["customers"],
            customdata=table["share_of_start"],
            marker_color="#8E24AA",
            hovertemplate="%{x}: %{y:,d} (%{customdata:.0%})<extra></extra>",
        )
    )
    fig.update_yaxes(title=phrase("customers", lang), tickformat=",d")
    n = int(table["customers"].iloc[0]) if len(table) else 0
    subtitle = phrase("dropoff_sub", lang, n=format_number(n, lang), period=period_text(period, lang))
    return titled(fig, phrase("dropoff_title", lang), subtitle, lang, height=400)
