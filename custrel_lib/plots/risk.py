"""Figures of the at-risk score (:mod:`custrel_lib.survival.risk`): its back-test against recency alone and
its calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custrel_lib.i18n import format_date, format_number, tr
from custrel_lib.plots.common import style, titled

TEXT = {
    "calib_title": {
        "fr": "Calibration : risque prédit et séparations observées",
        "en": "Calibration: predicted risk and observed separations",
    },
    "predicted": {"fr": "Probabilité prédite", "en": "Predicted probability"},
    "observed": {"fr": "Part observée", "en": "Observed share"},
    "auc_title": {
        "fr": "Qui est parti ? Score de risque et ancienneté du dernier achat, contrôlés sur le passé",
        "en": "Who left? Risk score and days since last purchase, checked on the past",
    },
    "auc_sub": {
        "fr": "AUC (0,5 : hasard ; 1 : parfait) parmi les {n} clients actifs au {date}, dont {k} sont partis depuis (aucun achat dans les {h} jours suivant leur dernier achat)",
        "en": "AUC (0.5: chance; 1: perfect) among the {n} customers active on {date}, of whom {k} have left since (no purchase within {h} days of their last purchase)",
    },
    "calib_sub": {
        "fr": "Les {n} clients actifs au {date}, par dixième de risque prédit : risque moyen prédit, et part de ceux partis depuis (aucun achat dans les {h} jours suivant leur dernier achat)",
        "en": "The {n} customers active on {date}, by tenth of predicted risk: mean predicted risk, and share of them who have left since (no purchase within {h} days of their last purchase)",
    },
    "auc_model": {"fr": "Score de risque", "en": "Risk score"},
    "auc": {"fr": "AUC", "en": "AUC"},
    "auc_recency": {"fr": "Ancienneté du dernier achat", "en": "Days since last purchase"},
}


def backtest_auc_plot(backtest: dict, horizon_days: float, lang: str = "fr") -> go.Figure:
    """AUC of the risk score beside recency alone, on the customers active one horizon ago."""
    names = [tr(TEXT, "auc_model", lang), tr(TEXT, "auc_recency", lang)]
    values = [backtest["auc_model"], backtest["auc_recency"]]
    fig = go.Figure(
        go.Bar(
            x=values, y=names, orientation="h", marker={"color": ["#8E24AA", "#9E9E9E"]},
            text=[format_number(v, lang, 3) for v in values], textposition="auto", hoverinfo="skip",
        )
    )  # fmt: skip
    fig.update_xaxes(range=[0.5, 1.0], title=tr(TEXT, "auc", lang))
    sub = _backtest_sub("auc_sub", backtest, horizon_days, lang)
    return titled(fig, tr(TEXT, "auc_title", lang), sub, lang, 300)


def calibration_plot(
    predicted: np.ndarray,
    observed: np.ndarray,
    lang: str = "fr",
    bins: int = 10,
    backtest=None,
    horizon_days=None,
) -> go.Figure:
    """Mean predicted probability against the observed share, by decile of prediction; given the ``backtest``
    it comes from (:func:`~custrel_lib.survival.backtest_lapse`) and H, the subtitle says who and when."""
    df = pd.DataFrame({"p": predicted, "y": observed}).dropna()
    df["bin"] = pd.qcut(df["p"].rank(method="first"), q=min(bins, len(df)), labels=False)
    g = df.groupby("bin").agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size"))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dash", "color": "#9E9E9E"},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=g["p"],
            y=g["y"],
            mode="markers+lines",
            marker={"size": 9, "color": "#8E24AA"},
            customdata=g["n"],
            showlegend=False,
            hovertemplate="%{x:.1%} → %{y:.1%} (n = %{customdata})<extra></extra>",
        )
    )
    fig.update_xaxes(title=tr(TEXT, "predicted", lang), tickformat=".0%", range=[0, 1])
    fig.update_yaxes(title=tr(TEXT, "observed", lang), tickformat=".0%", range=[0, 1])
    if backtest is None:
        return style(fig, tr(TEXT, "calib_title", lang), lang, height=420)
    sub = _backtest_sub("calib_sub", backtest, horizon_days, lang)
    return titled(fig, tr(TEXT, "calib_title", lang), sub, lang, height=440)


def _backtest_sub(key: str, backtest, horizon_days, lang: str) -> str:
    """The subtitle ``key`` of a figure of the risk score's back-test: who (active at the cut), how many left."""
    return tr(
        TEXT,
        key,
        lang,
        n=format_number(backtest["customers"], lang),
        k=format_number(backtest["lapsed"], lang),
        date=format_date(backtest["cut"], lang),
        h=format_number(horizon_days, lang),
    )
