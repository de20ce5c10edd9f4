"""BG/NBD figures (plotly): P(alive) by frequency and recency, calibration against holdout purchases, the
P(alive) history of one customer. Each takes ``lang`` and says what it shows (population, period, unit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custrel_lib.flame import btyd
from custrel_lib.i18n import format_date, format_number, tr
from custrel_lib.plots.common import date_axis, escape, titled
from custrel_lib.privacy import MASK
from custrel_lib.stages import typology

TEXT = {
    "matrix_title": {
        "fr": "Probabilité d'être encore « en vie », selon la fréquence et la récence",
        "en": "Probability of still being “alive”, by frequency and recency",
    },
    "matrix_sub": {
        "fr": "{population} ; client observé depuis {T} {unit} ; fréquence : achats répétés (jours d'achat après le premier) ; récence : âge du client au dernier achat ; modèle BG/NBD",
        "en": "{population}; customer observed for {T} {unit}; frequency: repeat purchases (purchase days after the first); recency: customer's age at the last purchase; BG/NBD model",
    },
    "frequency": {"fr": "Fréquence (achats répétés)", "en": "Frequency (repeat purchases)"},
    "recency": {
        "fr": "Récence ({unit} entre le premier et le dernier achat)",
        "en": "Recency ({unit} from first to last purchase)",
    },
    "p_alive": {"fr": "P(en vie)", "en": "P(alive)"},
    "calib_title": {
        "fr": "Achats prévus et achats observés sur la période de validation",
        "en": "Predicted and observed purchases in the holdout period",
    },
    "calib_sub": {
        "fr": "{population} ; {n} clients ; calibration jusqu'au {cal}, validation de {hold} {unit} ; moyenne par fréquence de la calibration ({k} et plus regroupés)",
        "en": "{population}; {n} customers; calibration until {cal}, holdout of {hold} {unit}; mean by calibration frequency ({k} and above pooled)",
    },
    "calib_x": {
        "fr": "Achats répétés pendant la calibration",
        "en": "Repeat purchases in the calibration period",
    },
    "calib_y": {"fr": "Achats moyens pendant la validation", "en": "Mean purchases in the holdout period"},
    "actual": {"fr": "Observé", "en": "Observed"},
    "model": {"fr": "Modèle BG/NBD", "en": "BG/NBD model"},
    "customers": {"fr": "clients", "en": "customers"},
    "history_title": {
        "fr": "La flamme d'un client ({who}) : probabilité d'être encore « en vie » au fil du temps",
        "en": "One customer's flame ({who}): probability of still being “alive” over time",
    },
    "history_sub": {
        "fr": "Du premier achat ({start}) au {end} ; points : jours d'achat ; modèle BG/NBD ; unité du modèle : {unit}",
        "en": "From the first purchase ({start}) to {end}; dots: purchase days; BG/NBD model; model unit: {unit}",
    },
    "purchase": {"fr": "Achat", "en": "Purchase"},
    "date": {"fr": "Date", "en": "Date"},
    "days": {"fr": "jours", "en": "days"},
    "weeks": {"fr": "semaines", "en": "weeks"},
    "population": {"fr": "Tous les clients", "en": "All customers"},
    "stage_title": {
        "fr": "Probabilité d'être encore « en vie », par étape de la relation",
        "en": "Probability of still being “alive”, by relationship stage",
    },
    "stage_sub": {
        "fr": "{population} ; étape au {date} ; nombre de clients entre parenthèses ; sans achat répété, P(en vie) vaut 1 par construction (limite du BG/NBD)",
        "en": "{population}; stage on {date}; number of customers in brackets; without a repeat purchase, P(alive) is 1 by construction (a limit of BG/NBD)",
    },
    "stage": {"fr": "Étape", "en": "Stage"},
}


def _unit(unit: str | None, lang: str) -> str:
    return tr(TEXT, unit if unit in ("days", "weeks") else "days", lang)


def p_alive_matrix(
    bg: btyd.BetaGeoModel,
    T: float,
    max_frequency: int = 20,
    max_recency: float | None = None,
    lang: str = "fr",
    population: str | None = None,
    unit: str | None = None,
) -> go.Figure:
    """Heatmap of P(alive) of a customer observed for ``T`` units, by frequency (y) and recency (x)."""
    unit = unit or bg.unit or "days"
    m = btyd.p_alive_matrix(bg, T, max_frequency, max_recency)
    u = _unit(unit, lang)
    rec = m.columns.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=m.to_numpy(),
            x=rec,
            y=m.index.to_numpy(),
            zmin=0,
            zmax=1,
            colorscale="RdYlGn",
            colorbar={"title": {"text": escape(tr(TEXT, "p_alive", lang))}, "tickformat": ".0%"},
            hovertemplate=(
                f"{escape(tr(TEXT, 'frequency', lang))} %{{y}}<br>"
                f"{escape(tr(TEXT, 'recency', lang, unit=u))} %{{x:.1f}}<br>"
                f"{escape(tr(TEXT, 'p_alive', lang))} %{{z:.0%}}<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title_text=escape(tr(TEXT, "recency", lang, unit=u)))
    fig.update_yaxes(title_text=escape(tr(TEXT, "frequency", lang)))
    sub = tr(
        TEXT,
        "matrix_sub",
        lang,
        population=population or tr(TEXT, "population", lang),
        T=format_number(T, lang, 0 if float(T).is_integer() else 1),
        unit=u,
    )
    return titled(fig, tr(TEXT, "matrix_title", lang), sub, lang, height=520)


def calibration_holdout(
    bg: btyd.BetaGeoModel,
    summary: pd.DataFrame,
    max_frequency: int = 7,
    lang: str = "fr",
    population: str | None = None,
    calibration_end=None,
    unit: str | None = None,
) -> go.Figure:
    """Mean holdout purchases by calibration frequency: observed and expected by the model (FHL 2005, fig. 4).
    ``summary`` comes from :func:`~custrel_lib.flame.btyd.rfm_summary` with a ``calibration_end``."""
    unit = unit or summary.attrs.get("unit") or bg.unit or "days"
    data = btyd.calibration_holdout(bg, summary, max_frequency)
    labels = [str(int(f)) if f < max_frequency else f"{int(f)}+" for f in data["frequency"]]
    n_txt = [f"{format_number(n, lang)} {tr(TEXT, 'customers', lang)}" for n in data["customers"]]
    fig = go.Figure()
    for key, dash, color in (("actual", "solid", "#1f4e79"), ("model", "dash", "#d9822b")):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=data[key],
                name=escape(tr(TEXT, key, lang)),
                mode="lines+markers",
                line={"dash": dash, "color": color},
                customdata=n_txt,
                hovertemplate="%{x}: %{y:.2f} (%{customdata})<extra>"
                + escape(tr(TEXT, key, lang))
                + "</extra>",
            )
        )
    fig.update_xaxes(title_text=escape(tr(TEXT, "calib_x", lang)), type="category")
    fig.update_yaxes(title_text=escape(tr(TEXT, "calib_y", lang)), rangemode="tozero")
    hold = float(summary["duration_holdout"].iloc[0]) if len(summary) else float("nan")
    sub = tr(
        TEXT,
        "calib_sub",
        lang,
        population=population or tr(TEXT, "population", lang),
        n=format_number(len(summary), lang),
        cal=format_date(calibration_end, lang) if calibration_end is not None else "–",
        hold=format_number(hold, lang, 0 if hold.is_integer() else 1),
        unit=_unit(unit, lang),
        k=max_frequency,
    )
    return titled(fig, tr(TEXT, "calib_title", lang), sub, lang, height=460)


def p_alive_history(
    bg: btyd.BetaGeoModel,
    transactions: pd.DataFrame,
    customer_id,
    as_of,
    lang: str = "fr",
    unit: str | None = None,
    label: str = MASK,
) -> go.Figure:
    """P(alive) of one customer day by day, from the first purchase to ``as_of``, with the purchase days.

    The title names the customer by ``label`` (masked by default: a report page never shows an identifier)."""
    unit = unit or bg.unit or "days"
    h = btyd.p_alive_history(bg, transactions, customer_id, as_of, unit=unit)
    name = escape(tr(TEXT, "p_alive", lang))
    fig = go.Figure(
        go.Scatter(
            x=h["date"],
            y=h["p_alive"],
            mode="lines",
            name=name,
            line={"color": "#1f4e79", "shape": "hv"},
            hovertemplate="%{x}: %{y:.0%}<extra></extra>",
        )
    )
    buys = h[h["purchase"]]
    fig.add_trace(
        go.Scatter(
            x=buys["date"],
            y=buys["p_alive"],
            mode="markers",
            name=escape(tr(TEXT, "purchase", lang)),
            marker={"color": "#d9822b", "size": 9},
            hovertemplate="%{x}<extra>" + escape(tr(TEXT, "purchase", lang)) + "</extra>",
        )
    )
    fig.update_yaxes(title_text=name, range=[0, 1.05], tickformat=".0%")
    fig.update_xaxes(title_text=escape(tr(TEXT, "date", lang)))
    date_axis(fig, lang)
    sub = tr(
        TEXT,
        "history_sub",
        lang,
        start=format_date(h["date"].iloc[0], lang),
        end=format_date(pd.Timestamp(as_of), lang),
        unit=_unit(unit, lang),
    )
    fig = titled(fig, tr(TEXT, "history_title", lang, who=label), sub, lang, height=420)
    fig.update_layout(showlegend=bool(np.any(h["purchase"])))
    return fig


def p_alive_by_stage(
    staged: pd.DataFrame, as_of, lang: str = "fr", population: str | None = None
) -> go.Figure:
    """Box plots of P(alive) by stage (``staged``: ``p_alive`` and ``stage``, see
    :func:`custrel_lib.flame.analysis.with_stage`), stages in the typology's order."""
    fig = go.Figure()
    colors = typology.stage_colors()
    for code in typology.stage_order():
        p = staged.loc[staged["stage"] == code, "p_alive"]
        if p.empty:
            continue
        name = escape(f"{typology.stage_label(code, lang)} ({format_number(len(p), lang)})")
        fig.add_trace(
            go.Box(
                y=p.to_numpy(),
                name=name,
                marker_color=colors[code],
                boxpoints=False,
                hovertemplate=f"{name}<br>%{{y:.0%}}<extra></extra>",
            )
        )
    fig.update_yaxes(title_text=escape(tr(TEXT, "p_alive", lang)), range=[0, 1.05], tickformat=".0%")
    fig.update_xaxes(title_text=escape(tr(TEXT, "stage", lang)))
    sub = tr(
        TEXT,
        "stage_sub",
        lang,
        population=population or tr(TEXT, "population", lang),
        date=format_date(pd.Timestamp(as_of), lang),
    )
    fig = titled(fig, tr(TEXT, "stage_title", lang), sub, lang, height=460)
    fig.update_layout(showlegend=False)
    return fig
