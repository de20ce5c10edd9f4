"""Shared figure styling: fonts, language-aware number separators, safe hover text."""

from __future__ import annotations

import html

import plotly.graph_objects as go

from custrel_lib.i18n import plotly_separators

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
