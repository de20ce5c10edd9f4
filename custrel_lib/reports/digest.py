"""``digest.html``: one self-contained page of a report run, small enough to travel by e-mail.

It holds the key figures of the run (``key_figures.json``), then, for every section (executed notebook, in
reading order), its sentences (the bullet lists the notebook printed) and the first charts not already shown
(:data:`CHARTS_PER_SECTION`; a cell tagged ``digest`` chooses them instead). plotly.js is embedded once, so
the page reads offline; it stays under :data:`MAX_BYTES` (charts that would pass the limit are left out,
and the page says how many). The print style lays it out on A4 without cutting a chart across pages.

Everything comes from the executed notebooks and ``key_figures.json`` of the run, which show no raw customer
identifier (``tests/test_report.py``); texts from the data are escaped by the template.
"""

from __future__ import annotations

import html
import json
import math
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat

from custrel_lib.exceptions import ReportError
from custrel_lib.i18n import check_lang, format_date, format_number, tr
from custrel_lib.reports.html import CSS_FILE, TEMPLATES_DIR
from custrel_lib.reports.index import INDEX_TEXTS, headline_value, stage_rows
from custrel_lib.reports.preprocessors import PLOTLY_MIMETYPE

DIGEST_NAME = "digest.html"
DIGEST_TEMPLATE = "custrel_digest.html.j2"
DIGEST_TAG = "digest"
CHARTS_PER_SECTION = 2
SENTENCES_PER_SECTION = 6
MAX_BYTES = 6_000_000
CHART_HEIGHT = 420
LEGEND_PER_ROW = 4
LEGEND_ROW_PX = 20

TEXTS = {
    "title": {"fr": "L'essentiel du rapport", "en": "The report in brief"},
    "link": {
        "fr": "L'essentiel en une page (à envoyer par e-mail)",
        "en": "The report in brief (one page to e-mail)",
    },
    "subtitle": {"fr": "Données arrêtées au {as_of}", "en": "Data as of {as_of}"},
    "key_figures": {"fr": "Chiffres clés", "en": "Key figures"},
    "in_short": {"fr": "En bref", "en": "In short"},
    "stages": {"fr": "Clients par étape de la relation", "en": "Customers per relationship stage"},
    "stage": {"fr": "Étape", "en": "Stage"},
    "customers": {"fr": "Clients", "en": "Customers"},
    "previous": {"fr": "Précédent", "en": "Previous"},
    "change": {"fr": "Évolution", "en": "Change"},
    "left_out": {
        "fr": "{n} graphique(s) laissé(s) de côté pour que ce fichier reste sous {mb} Mo : voir les rapports complets.",
        "en": "{n} chart(s) left out to keep this file under {mb} MB: see the full reports.",
    },
    "footer": {
        "fr": "Chaque chiffre est défini dans les rapports complets de cette exécution (index.html).",
        "en": "Every figure is defined in the full reports of this run (index.html).",
    },
}


def digest_link(lang: str = "fr") -> dict[str, str]:
    """The index entry of the digest (``html``, ``title``, ``status``), to be listed first."""
    return {"html": DIGEST_NAME, "title": tr(TEXTS, "link", check_lang(lang)), "status": "ok"}


class _Items(HTMLParser):
    """The text of every ``<li>`` of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[str] = []
        self._depth = 0
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "li":
            self._depth += 1
            self._buf = []

    def handle_endtag(self, tag):
        if tag == "li" and self._depth:
            self._depth -= 1
            text = " ".join("".join(self._buf).split())
            if text:
                self.items.append(text)

    def handle_data(self, data):
        if self._depth:
            self._buf.append(data)


def _sentences(fragment: str) -> list[str]:
    if "<li" not in fragment or "<ul" not in fragment:
        return []
    parser = _Items()
    parser.feed(fragment)
    return parser.items


def _title(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def read_section(path: Path) -> dict[str, Any]:
    """``title``, ``sentences``, ``figures`` (``(tagged, figure json)`` in order) of an executed notebook."""
    nb = nbformat.read(str(path), as_version=4)
    sentences: list[str] = []
    figures: list[tuple[bool, dict]] = []
    for cell in nb.cells:
        tagged = DIGEST_TAG in (cell.get("metadata", {}).get("tags") or [])
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if PLOTLY_MIMETYPE in data:
                fig = data[PLOTLY_MIMETYPE]
                figures.append((tagged, json.loads(fig) if isinstance(fig, str) else fig))
            elif "text/html" in data:
                fragment = data["text/html"]
                sentences += _sentences("".join(fragment) if isinstance(fragment, list) else fragment)
    return {"title": _title(nb, path.stem), "sentences": sentences, "figures": figures}


def _figure_title(fig: dict) -> str:
    title = (fig.get("layout") or {}).get("title") or {}
    return html.unescape(title.get("text", "") if isinstance(title, dict) else str(title))


def _chart_html(fig: dict, number: int) -> str:
    import plotly.io as pio

    layout = {**(fig.get("layout") or {})}
    layout.pop("width", None)
    # A page of A4 is narrower than a report: smaller text, and room above the plot for the legend's rows
    # (plotly puts a horizontal legend above the plot, where it would cover the title once it wraps).
    layout["font"] = {**(layout.get("font") or {}), "size": 11}
    named = [d for d in fig.get("data", []) if d.get("name") and d.get("showlegend", True) is not False]
    rows = math.ceil(len(named) / LEGEND_PER_ROW) if named else 0
    margin = {**(layout.get("margin") or {})}
    margin["t"] = int(margin.get("t") or 70) + LEGEND_ROW_PX * rows
    layout["margin"] = margin
    layout["height"] = min(int(layout.get("height") or CHART_HEIGHT), 560) + LEGEND_ROW_PX * rows
    fig = {**fig, "layout": layout}
    return pio.to_html(
        fig,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        div_id=f"custrel-digest-fig-{number}",
        default_width="100%",
        config={"displayModeBar": False, "responsive": True},
        validate=False,
    )


def _key_figures(run_dir: Path, lang: str) -> dict[str, Any]:
    path = run_dir / "key_figures.json"
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ReportError(f"{path}: not valid JSON ({exc}).") from exc
    if not isinstance(doc, dict):
        return {}
    if doc.get("lang") not in (None, lang):
        raise ReportError(
            f"{path} is in {doc['lang']!r}, not {lang!r}: a digest keeps the report's language."
        )
    return doc


def _overview(kf: dict[str, Any], lang: str) -> dict[str, Any]:
    headline = [
        {"label": str(h["label"]), "value": headline_value(h, lang)}
        for h in kf.get("headline", [])
        if isinstance(h, dict) and h.get("label")
    ]
    table = stage_rows(kf, lang)
    return {
        "headline": headline,
        "sentences": [s for s in kf.get("sentences", []) if isinstance(s, str) and s],
        "stages": table["rows"],
        "has_previous": table["has_previous"],
        "has_signal": table["has_signal"],
    }


def write_digest(run_dir: str | Path, lang: str = "fr") -> Path:
    """Write ``digest.html`` into a finished run folder and return its path (see the module docstring).

    Parameters
    ----------
    run_dir : str or Path
        The run folder: its executed notebooks (``*.ipynb``) and ``key_figures.json``.
    lang : {"fr", "en"}
        The report's language (the run's notebooks hold only that language's cells).
    """
    import jinja2
    import plotly.offline

    lang = check_lang(lang)
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"Run folder not found: {run_dir}.")
    kf = _key_figures(run_dir, lang)
    overview = _overview(kf, lang)
    plotlyjs = plotly.offline.get_plotlyjs()
    budget = MAX_BYTES - len(plotlyjs.encode()) - 200_000  # room for the page's text and styles
    seen_titles: set[str] = set()
    seen_sentences = set(overview["sentences"])
    sections, number, left_out = [], 0, 0
    for path in sorted(run_dir.glob("*.ipynb")):
        section = read_section(path)
        tagged = [f for tag, f in section["figures"] if tag]
        candidates = tagged or [f for _, f in section["figures"] if _figure_title(f) not in seen_titles]
        charts = []
        for fig in candidates[: len(tagged) or CHARTS_PER_SECTION]:
            number += 1
            chart = _chart_html(fig, number)
            if len(chart.encode()) > budget:
                left_out += 1
                continue
            budget -= len(chart.encode())
            seen_titles.add(_figure_title(fig))
            charts.append({"html": chart, "traces": len(fig.get("data", []))})
        sentences = [s for s in section["sentences"] if s not in seen_sentences][:SENTENCES_PER_SECTION]
        seen_sentences.update(sentences)
        if charts or sentences:
            sections.append({"title": section["title"], "sentences": sentences, "charts": charts})
    as_of = kf.get("as_of")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True)
    page = env.get_template(DIGEST_TEMPLATE).render(
        lang=lang,
        title=tr(TEXTS, "title", lang),
        subtitle=tr(TEXTS, "subtitle", lang, as_of=format_date(as_of, lang)) if as_of else "",
        texts={
            k: tr(TEXTS, k, lang)
            for k in ("key_figures", "in_short", "stages", "stage", "customers", "previous", "change")
        }
        | {"signal": tr(INDEX_TEXTS, "signal", lang)},
        css=CSS_FILE.read_text(encoding="utf-8"),
        plotlyjs=plotlyjs if any(s["charts"] for s in sections) else "",
        sections=sections,
        left_out=tr(TEXTS, "left_out", lang, n=left_out, mb=format_number(MAX_BYTES / 1e6, lang))
        if left_out
        else "",
        footer=tr(TEXTS, "footer", lang),
        **overview,
    )
    out = run_dir / DIGEST_NAME
    out.write_text(page, encoding="utf-8")
    return out
