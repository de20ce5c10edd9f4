"""Shared figure styling: fonts, language-aware number separators, safe hover text."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from custrel_lib.i18n import PLOTLY_DATE_FORMATS, plotly_separators

FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"


def style(fig: go.Figure, title: str | None = None, lang: str = "fr", height: int | None = None) -> go.Figure:
    """Apply the house style and the reader's number format to ``fig`` (in place) and return it."""
    fig.update_layout(
        template="plotly_white",
        font={"family": FONT, "size": 13},
        separators=plotly_separators(lang),
        margin={"l": 60, "r": 30, "t": 70 if title else 30, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    )
    if title:
        fig.update_layout(title={"text": escape(title), "x": 0, "xanchor": "left"})
    if height:
        fig.update_layout(height=height)
    return fig


def escape(text: object) -> str:
    """HTML-escape an untrusted string (category, channel, ...) before plotly renders it as markup."""
    return html.escape(str(text), quote=True)


def date_axis(fig: go.Figure, lang: str = "fr", axis: str = "x") -> go.Figure:
    """Write the dates of an axis (ticks and hover) the reader's way: ``31/12/2025`` or ``2025-12-31``.

    plotly.js would otherwise write English month names (``Jan 2025``) in a French report.
    """
    fmt = PLOTLY_DATE_FORMATS[lang if lang in PLOTLY_DATE_FORMATS else "fr"]
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(tickformat=fmt, hoverformat=fmt)
    return fig
