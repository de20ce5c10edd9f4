"""Shared figure styling: fonts, language-aware number separators, safe hover text."""

from __future__ import annotations

import html
import textwrap

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


SUBTITLE_WIDTH = 120
"""Characters per subtitle line (plotly does not wrap titles)."""


def titled(fig: go.Figure, title: str, subtitle: str, lang: str, height: int | None = None) -> go.Figure:
    """House style, then a title with a smaller subtitle that says what the figure shows (population,
    period, unit, definition); both escaped. plotly's own subtitle keeps both inside the figure (a title
    written as several ``<br>`` lines was clipped at the top)."""
    style(fig, None, lang, height)
    if subtitle:  # keep French quotes with their words when the subtitle is wrapped
        for a, b in (("« ", "«\u00a0"), (" »", "\u00a0»"), (" :", "\u00a0:"), (" ;", "\u00a0;")):
            subtitle = subtitle.replace(a, b)
    lines = textwrap.wrap(subtitle, SUBTITLE_WIDTH, break_on_hyphens=False) if subtitle else []
    fig.update_layout(
        title={
            "text": escape(title),
            "x": 0,
            "xanchor": "left",
            "subtitle": {"text": "<br>".join(escape(line) for line in lines)},
        },
        margin={"t": 70 + 17 * len(lines)},
    )
    return fig


def caption(fig: go.Figure) -> str:
    """A figure's title and subtitle as one plain text (what a reader sees above the chart)."""
    title = fig.layout.title
    parts = [title.text or "", (title.subtitle.text if title.subtitle else None) or ""]
    text = " ".join(p.replace("<br>", " ") for p in parts if p)
    return " ".join(html.unescape(text).replace("\u00a0", " ").split())


def date_axis(fig: go.Figure, lang: str = "fr", axis: str = "x") -> go.Figure:
    """Write the dates of an axis (ticks and hover) the reader's way: ``31/12/2025`` or ``2025-12-31``.

    plotly.js would otherwise write English month names (``Jan 2025``) in a French report.
    """
    fmt = PLOTLY_DATE_FORMATS[lang if lang in PLOTLY_DATE_FORMATS else "fr"]
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(tickformat=fmt, hoverformat=fmt)
    return fig
