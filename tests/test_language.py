"""One language per report: a French report is French throughout, an English report English throughout.

The reports are run on the bundled sample (one run per notebook and language, shared by the tests of this
module) and every page is read as a reader sees it: the visible text of the HTML (headings, paragraphs, table
headers and cells, printed output) and the plotly figures embedded in it (titles, axis and legend titles,
trace names, annotations, Sankey node labels, table headers, tick labels). A page fails, with the list of
offending strings, when

(a) a visible string equals (or fills in a template of) a catalogue string of the other language only
    (:class:`custrel_lib.i18n.CatalogueIndex`; strings identical in both languages such as "NPS" are fine);
(b) a figure title, axis title, legend title or table header is produced by no catalogue of the page's
    language (a hard-coded label);
(c) a heading, paragraph or printed line reads as the other language (its small words: "the", "of", "each"
    in a French page, "le", "des", "chaque" in an English one);
(d) a number or a date is written the other language's way (``12.5`` or ``2025-12-31`` in a French page,
    ``12,5`` or ``31/12/2025`` in an English one), a figure has the other language's decimal separators,
    or a date axis is not formatted for the page's language.

Data values (customer categories, channel names, ids) are not labels: trace names, tick labels and table
cells are only checked for (a), (c) and (d). ``NOTEBOOKS`` lists the notebooks covered; select one with
``-k`` (``pytest tests/test_language.py -k 1.0``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest

from custrel_lib.i18n import PLOTLY_DATE_FORMATS, plotly_separators
from custrel_lib.reports.catalogue import CatalogueIndex, catalogue_texts
from custrel_lib.reports.html import LANGUAGE_TAGS
from custrel_lib.reports.run import run_report

NOTEBOOKS = (
    "0.0-executive-summary",
    "1.0-relationship-stages",
    "2.0-separation-survival",
    "3.0-journey-transitions",
)
LANGS = ("fr", "en")

# Small words that only one of the two languages uses (a heading or a sentence made of the other language's
# words is the other language). Words shared or ambiguous ("on", "a", "an", "or", "en" ...) are left out.
MARKERS = {
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "des",
            "du",
            "une",
            "est",
            "sont",
            "et",
            "dans",
            "pour",
            "avec",
            "sans",
            "chaque",
            "qui",
            "que",
            "ce",
            "cette",
            "ces",
            "sur",
            "par",
            "au",
            "aux",
            "leur",
            "leurs",
            "pas",
            "ou",
            "où",
            "combien",
            "pourquoi",
            "quand",
            "comment",
            "selon",
            "depuis",
            "entre",
            "vers",
            "jours",
            "mois",
            "semaines",
            "étape",
            "étapes",
            "l'",
            "d'",
            "qu'",
            "n'",
            "c'",
            "j'",
            "s'",
        ]
    ),
    "en": frozenset(
        [
            "the",
            "of",
            "and",
            "is",
            "are",
            "each",
            "with",
            "without",
            "by",
            "to",
            "for",
            "this",
            "that",
            "these",
            "those",
            "how",
            "many",
            "why",
            "what",
            "which",
            "when",
            "from",
            "their",
            "its",
            "it",
            "be",
            "has",
            "have",
            "not",
            "at",
            "than",
            "who",
            "per",
            "into",
            "between",
            "within",
            "days",
            "months",
            "weeks",
            "customers",
            "customer",
            "stage",
            "stages",
        ]
    ),
}
MIN_MARKERS = 2
BLOCK_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th", "caption", "pre", "title", "dt", "dd",
    "figcaption", "blockquote", "div", "summary", "label",
}  # fmt: skip
HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "title"}
SKIP_TAGS = {"script", "style"}

DECIMAL_POINT = re.compile(r"(?<![\w.,])\d+\.\d+(?![\w.])")
DECIMAL_COMMA = re.compile(r"(?<![\w.,])\d+,\d{1,2}(?![\d,])")
NARROW_THOUSANDS = re.compile(r"\d[\u202f\u00a0]\d{3}(?!\d)")
ISO_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w])")
FR_DATE = re.compile(r"(?<![\w/])\d{2}/\d{2}/\d{4}(?![\w/])")
ISO_DATE_DATA = re.compile(r"^\d{4}-\d{2}-\d{2}([ T][\d:.]+)?$")
TAG = re.compile(r"<[^>]+>")
# A key figure of the index page (``<div class="value">``): a number written the page's way, or a dash.
KEY_FIGURE = re.compile(r'<div class="value">([^<]*)</div>')
KEY_FIGURE_FORMAT = {  # French decimals: 1 or 2 digits (2,471 is an English thousand)
    "fr": re.compile(r"[+-]?\d{1,3}(?:\u202f\d{3})*(?:,\d{1,2})?(?:\u202f(?:%|€))?|–"),
    "en": re.compile(r"[+-]?€?\d{1,3}(?:,\d{3})*(?:\.\d+)?%?|–"),
}


@dataclass(frozen=True)
class Finding:
    """One offending string: the page, where in it, the text and what is wrong."""

    page: str
    where: str
    text: str
    problem: str

    def __str__(self) -> str:
        return f"{self.page} | {self.where} | {self.problem} | {self.text!r}"


@dataclass
class Item:
    """A visible string of a page: ``kind`` is ``heading``, ``header`` (table header), ``text`` (paragraph,
    cell, printed line), ``node`` (one text node of a block), ``figure-label`` (a figure's title, axis,
    legend or table header), ``figure-text`` (trace name, annotation, tick or category labels)."""

    kind: str
    where: str
    text: str


# -------------------------------------------------------------------------------------------- reading pages


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[Item] = []
        self.scripts: list[str] = []
        self._stack: list[str] = []
        self._skip = 0
        self._script: list[str] | None = None
        self._blocks: list[tuple[str, list[str], bool]] = []  # tag, text parts, inside <thead>
        self._thead = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP_TAGS:
            self._skip += 1
            if tag == "script":
                self._script = []
            return
        if tag == "thead":
            self._thead += 1
        if tag == "br" and self._blocks:
            self._blocks[-1][1].append("\n")
        if tag in BLOCK_TAGS:
            self._blocks.append((tag, [], self._thead > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
            if tag == "script" and self._script is not None:
                self.scripts.append("".join(self._script))
                self._script = None
            return
        if tag == "thead":
            self._thead = max(0, self._thead - 1)
        if tag in BLOCK_TAGS:
            # Close the innermost open block of that tag (and any unclosed blocks inside it).
            for i in range(len(self._blocks) - 1, -1, -1):
                if self._blocks[i][0] == tag:
                    for block in reversed(self._blocks[i:]):
                        self._close(block)
                    del self._blocks[i:]
                    break

    def _close(self, block: tuple[str, list[str], bool]) -> None:
        tag, parts, in_thead = block
        text = "".join(parts)
        if tag == "pre":
            for line in text.splitlines():
                if line.strip():
                    self.items.append(Item("text", "printed line", line.strip()))
            return
        text = " ".join(text.split())
        if not text:
            return
        if tag in HEADING_TAGS:
            kind = "heading"
        elif tag == "th" and in_thead:
            kind = "header"
        else:
            kind = "text"
        self.items.append(Item(kind, tag, text))

    def handle_data(self, data: str) -> None:
        if self._skip:
            if self._script is not None:
                self._script.append(data)
            return
        if data.strip():
            self.items.append(Item("node", "text node", " ".join(data.split())))
        if self._blocks:
            # Text belongs to the innermost block only (a <div> around a <p> does not repeat the <p>).
            self._blocks[-1][1].append(data)

    def close(self) -> None:
        super().close()
        for block in reversed(self._blocks):
            self._close(block)
        self._blocks = []


def plotly_figures(scripts: list[str]) -> list[tuple[list[dict], dict]]:
    """``(data, layout)`` of every ``Plotly.newPlot("id", data, layout, config)`` call in the scripts."""
    decoder = json.JSONDecoder()
    figures = []
    for script in scripts:
        for match in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]*\"\s*,\s*", script):
            data, end = decoder.raw_decode(script, match.end())
            end = re.compile(r"\s*,\s*").match(script, end).end()
            layout, _ = decoder.raw_decode(script, end)
            figures.append((data, layout))
    return figures


def _plotly_strings(value: Any) -> list[str]:
    """The visible pieces of a plotly text: tags (``<br>``, ``<b>``) split it, entities are decoded."""
    if value is None or isinstance(value, bool | int | float):
        return []
    text = value.get("text") if isinstance(value, dict) else value
    if not isinstance(text, str):
        return []
    return [" ".join(html.unescape(p).split()) for p in TAG.split(text) if p.strip()]


SUBTITLE_LINE = re.compile(r"\s*<sup>(.*)</sup>\s*", re.DOTALL)


def _title_strings(value: Any) -> list[str]:
    """The title and the subtitle of a figure. ``plots.common.titled`` wraps a long subtitle into
    ``<br><sup>`` lines: they are one text (a filled-in catalogue template), joined back before being read,
    a line that ends in a word's hyphen (``burn-`` / ``in``) without a space."""
    text = value.get("text") if isinstance(value, dict) else value
    if not isinstance(text, str):
        return []
    native = (value.get("subtitle") or {}).get("text") if isinstance(value, dict) else None
    if isinstance(native, str) and native:  # plotly's own subtitle: wrapped lines are one text
        joined = " ".join(line.strip() for line in re.split(r"<br\s*/?>", native))
        return _plotly_strings(text) + _plotly_strings(joined)
    title, *lines = re.split(r"<br\s*/?>", text)
    matches = [SUBTITLE_LINE.fullmatch(line) for line in lines]
    if not lines or not all(matches):
        return _plotly_strings(text)
    subtitle = ""
    for m in matches:
        line = m.group(1).strip()
        glue = "" if not subtitle or re.search(r"[^\W\d_]-$", subtitle) else " "
        subtitle += glue + line
    return _plotly_strings(title) + _plotly_strings(subtitle)


def _axes(layout: dict) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k) and isinstance(v, dict)]


def figure_items(number: int, data: list[dict], layout: dict) -> list[Item]:
    """Labels and texts of one plotly figure."""
    where = f"figure {number}"
    items = [Item("figure-label", f"{where} title", s) for s in _title_strings(layout.get("title"))]
    for name, axis in _axes(layout):
        items += [
            Item("figure-label", f"{where} {name} title", s) for s in _plotly_strings(axis.get("title"))
        ]
        for tick in axis.get("ticktext") or []:
            items += [Item("figure-text", f"{where} {name} tick", s) for s in _plotly_strings(tick)]
    legend = layout.get("legend") or {}
    items += [Item("figure-label", f"{where} legend title", s) for s in _plotly_strings(legend.get("title"))]
    for key, value in layout.items():
        if key.startswith("coloraxis") and isinstance(value, dict):
            title = (value.get("colorbar") or {}).get("title")
            items += [Item("figure-label", f"{where} colour bar title", s) for s in _plotly_strings(title)]
    for note in layout.get("annotations") or []:
        items += [Item("figure-text", f"{where} annotation", s) for s in _plotly_strings(note)]
    for trace in data:
        kind = trace.get("type", "scatter")
        items += [
            Item("figure-text", f"{where} {kind} trace name", s) for s in _plotly_strings(trace.get("name"))
        ]
        title = (trace.get("colorbar") or {}).get("title")
        items += [Item("figure-label", f"{where} colour bar title", s) for s in _plotly_strings(title)]
        if kind == "table":
            for value in (trace.get("header") or {}).get("values") or []:
                for v in value if isinstance(value, list) else [value]:
                    items += [Item("figure-label", f"{where} table header", s) for s in _plotly_strings(v)]
        if kind == "sankey":
            for label in (trace.get("node") or {}).get("label") or []:
                items += [Item("figure-text", f"{where} Sankey node", s) for s in _plotly_strings(label)]
        for axis in ("x", "y", "labels"):
            values = trace.get(axis)
            if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
                if all(ISO_DATE_DATA.match(v) for v in values):
                    continue
                for v in dict.fromkeys(values):
                    items += [
                        Item("figure-text", f"{where} {kind} {axis} category", s) for s in _plotly_strings(v)
                    ]
    return items


def read_page(page: str) -> tuple[list[Item], list[tuple[list[dict], dict]]]:
    """Every visible string of an HTML page and its plotly figures."""
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    figures = plotly_figures(parser.scripts)
    items = list(parser.items)
    for number, (data, layout) in enumerate(figures, start=1):
        items += figure_items(number, data, layout)
    return items, figures


# ---------------------------------------------------------------------------------------------- the checks


def _words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    words = []
    for token in re.findall(r"[^\W\d_]+'?", text):
        if token.endswith("'"):
            words.append(token)
        else:
            words.append(token)
    return words


def prose_language(text: str) -> str | None:
    """``fr`` or ``en`` when ``text`` has at least :data:`MIN_MARKERS` small words of one language and at
    most a third as many of the other; else ``None`` (too short, mixed, or no words)."""
    words = _words(text)
    counts = {lang: sum(w in MARKERS[lang] for w in words) for lang in LANGS}
    for lang, other in (("fr", "en"), ("en", "fr")):
        if counts[lang] >= MIN_MARKERS and counts[other] * 3 <= counts[lang]:
            return lang
    return None


def check_page(
    page_name: str,
    page: str,
    lang: str,
    index: CatalogueIndex,
    ignore: tuple[str, ...] = (),
) -> list[Finding]:
    """The offending strings of one HTML page of a report in ``lang`` (see the module docstring).

    Parameters
    ----------
    page_name : str
        Name shown in the findings.
    page : str
        The HTML.
    lang : {"fr", "en"}
        The report's language.
    index : CatalogueIndex
    ignore : tuple of str
        Strings removed from the text before the number and date checks (the run id holds a date).
    """
    other = "en" if lang == "fr" else "fr"
    items, figures = read_page(page)
    found: dict[tuple[str, str, str], Finding] = {}

    def flag(item: Item, problem: str) -> None:
        key = (item.where, item.text, problem)
        found.setdefault(key, Finding(page_name, item.where, item.text, problem))

    # A text node is checked on its own only when it is part of a longer block ("Key figures" in
    # "<h2>Chiffres clés / <em>Key figures</em></h2>").
    block_texts = {i.text for i in items if i.kind != "node"}
    # A bilingual heading or line ("Chiffres clés / Key figures") is checked half by half too.
    items += [
        Item(item.kind, f"{item.where} (part)", part.strip(" ¶"))
        for item in list(items)
        if item.kind in ("heading", "text") and " / " in item.text
        for part in item.text.split(" / ")
        if part.strip(" ¶") and part.strip(" ¶") not in block_texts
    ]
    for item in items:
        if item.kind == "node" and item.text in block_texts:
            continue
        langs = index.languages_of(item.text)
        if langs == {other}:
            sources = sorted({m.source for m in index.matches(item.text) if m.lang == other})
            flag(item, f"(a) {other} catalogue string ({', '.join(sources[:2])})")
        is_label = item.kind in ("header", "figure-label") and not re.fullmatch(r"[\W\d_]*", item.text)
        if is_label and lang not in index.produced_by(item.text):
            flag(item, "(b) label from no catalogue of the page's language")
        if item.kind != "node" and prose_language(item.text) == other:
            flag(item, f"(c) reads as {other}")
        if item.kind != "node" and not item.where.endswith("(part)"):
            text = item.text
            for skip in ignore:
                text = text.replace(skip, "")
            bad_number = (
                DECIMAL_POINT.search(text)
                if lang == "fr"
                else DECIMAL_COMMA.search(text) or NARROW_THOUSANDS.search(text)
            )
            if bad_number:
                flag(item, f"(d) {other} number format {bad_number.group(0)!r}")
            bad_date = (ISO_DATE if lang == "fr" else FR_DATE).search(text)
            if bad_date:
                flag(item, f"(d) {other} date format {bad_date.group(0)!r}")
    for value in KEY_FIGURE.findall(page):
        value = html.unescape(value).strip()
        if not KEY_FIGURE_FORMAT[lang].fullmatch(value):
            flag(Item("key figure", "key figure", value), "(d) key figure not in the page's number format")
    for number, (data, layout) in enumerate(figures, start=1):
        where = f"figure {number}"
        if layout.get("separators") != plotly_separators(lang):
            flag(Item("figure", where, str(layout.get("separators"))), "(d) number separators not the page's")
        for trace in data:
            for axis_key in ("x", "y"):
                values = trace.get(axis_key)
                if not (isinstance(values, list) and values and all(isinstance(v, str) for v in values)):
                    continue
                if not all(ISO_DATE_DATA.match(v) for v in values):
                    continue
                ref = trace.get(f"{axis_key}axis", axis_key)
                axis = layout.get(f"{axis_key}axis{ref[1:]}") or {}
                if axis.get("tickformat") != PLOTLY_DATE_FORMATS[lang]:
                    flag(
                        Item("figure", f"{where} {axis_key}axis", str(axis.get("tickformat"))),
                        "(d) date axis not formatted for the page's language",
                    )
    return list(found.values())


# ------------------------------------------------------------------------------------------ checker tests


@pytest.fixture(scope="module")
def catalogue_index() -> CatalogueIndex:
    return CatalogueIndex(catalogue_texts())


FIGURE = """
<script>
if (document.getElementById("custrel-fig-1")) {
  Plotly.newPlot("custrel-fig-1", [{"type": "bar", "name": "Part des clients", "x": ["Flirt", "Fianc\\u00e9(e)"],
  "y": [1, 2]}], {"title": {"text": "%s"}, "separators": "%s", "xaxis": {"title": {"text": "%s"}},
  "yaxis": {"title": {"text": "Clients"}}}, {"responsive": true})
};
</script>
"""


def _french_page(heading: str = "Combien de clients dans chaque étape ?", figure: str = "") -> str:
    return (
        "<html><head><title>Les étapes de la relation client</title></head><body>"
        f"<h1>Les étapes de la relation client</h1><h2>{heading}</h2>"
        "<p>La moitié des clients achètent chaque mois : 12,5 % au 31/12/2025.</p>"
        "<table><thead><tr><th>Étape</th><th>Clients</th></tr></thead>"
        "<tbody><tr><td>Flirt</td><td>1\u202f234</td></tr></tbody></table>"
        f"{figure}</body></html>"
    )


def test_checker_passes_a_french_page(catalogue_index):
    figure = FIGURE % ("Clients par étape au 31/12/2025", ", ", "Étape")
    assert check_page("ok.html", _french_page(figure=figure), "fr", catalogue_index) == []


def test_checker_catches_an_english_heading_in_a_french_page(catalogue_index):
    # A heading from the English catalogue (a), and an English heading from no catalogue (c).
    for heading, problem in (
        ("Customers by relationship stage", "(a) en catalogue string"),
        ("How many customers are in each stage?", "(c) reads as en"),
    ):
        findings = check_page("planted.html", _french_page(heading), "fr", catalogue_index)
        assert {(f.where, f.text) for f in findings} == {("h2", heading)}, findings
        assert any(f.problem.startswith(problem) for f in findings)


def test_checker_catches_figure_labels_numbers_and_dates(catalogue_index):
    figure = FIGURE % ("Customers by stage on 2025-12-31", ".,", "Stage code")
    page = _french_page(figure=figure).replace("12,5 %", "12.5%")
    findings = {
        (f.where, f.text, f.problem.split(" ")[0]) for f in check_page("p.html", page, "fr", catalogue_index)
    }
    assert ("figure 1 title", "Customers by stage on 2025-12-31", "(a)") in findings
    assert ("figure 1 title", "Customers by stage on 2025-12-31", "(b)") in findings
    assert ("figure 1 title", "Customers by stage on 2025-12-31", "(d)") in findings
    assert ("figure 1 xaxis title", "Stage code", "(b)") in findings  # hard-coded, in no catalogue
    assert ("figure 1", ".,", "(d)") in findings
    assert any(w == "p" and p == "(d)" for w, _, p in findings)  # 12.5% in a French paragraph
    # The same page is wrong the other way round when read as English.
    english = check_page("p.html", _french_page(), "en", catalogue_index)
    assert {"Étape", "Clients"} <= {f.text for f in english if f.problem.startswith("(a)")}
    assert any("'12,5'" in f.problem for f in english)
    assert any("'31/12/2025'" in f.problem for f in english)


def test_checker_reads_key_figures_in_the_pages_format(catalogue_index):
    def tiles(*values: str) -> str:
        return "".join(f'<div class="custrel-tile"><div class="value">{v}</div></div>' for v in values)

    french = tiles("2\u202f471", "12,5\u202f%", "27\u202f673\u202f€", "–")
    english = tiles("2,471", "12.5%", "€27,673", "–")
    assert check_page("index.html", french, "fr", catalogue_index) == []
    assert check_page("index.html", english, "en", catalogue_index) == []
    wrong = {
        f.text for f in check_page("index.html", english, "fr", catalogue_index) if f.where == "key figure"
    }
    assert wrong == {"2,471", "12.5%", "€27,673"}
    wrong = {
        f.text for f in check_page("index.html", french, "en", catalogue_index) if f.where == "key figure"
    }
    assert wrong == {"2\u202f471", "12,5\u202f%", "27\u202f673\u202f€"}


def test_checker_reads_the_whole_figure():
    data = [
        {"type": "sankey", "node": {"label": ["Flirt", "Sortie"]}},
        {"type": "table", "header": {"values": ["Étape", "<b>Clients</b>"]}},
        {"type": "scatter", "name": "observé", "x": ["2025-01-31T00:00:00"], "y": [1]},
    ]
    layout = {
        "title": {"text": "A &amp; B<br><sup>sous-titre</sup>"},
        "legend": {"title": {"text": "Motif"}},
        "annotations": [{"text": "projeté"}],
        "yaxis2": {"title": {"text": "Part"}},
    }
    got = {(i.kind, i.where, i.text) for i in figure_items(1, data, layout)}
    assert got == {
        ("figure-label", "figure 1 title", "A & B"),
        ("figure-label", "figure 1 title", "sous-titre"),
        ("figure-label", "figure 1 legend title", "Motif"),
        ("figure-label", "figure 1 yaxis2 title", "Part"),
        ("figure-text", "figure 1 annotation", "projeté"),
        ("figure-text", "figure 1 Sankey node", "Flirt"),
        ("figure-text", "figure 1 Sankey node", "Sortie"),
        ("figure-label", "figure 1 table header", "Étape"),
        ("figure-label", "figure 1 table header", "Clients"),
        ("figure-text", "figure 1 scatter trace name", "observé"),
    }


def test_checker_reads_a_wrapped_subtitle_as_one_text(catalogue_index):
    # plots.common.titled wraps a long subtitle (a filled-in template) into <br> lines of plotly's subtitle
    # (formerly <br><sup> lines of the title): read line by line, no line was a catalogue string (a false
    # "(b) hard-coded label"); joined back, it is one.
    import plotly.graph_objects as go

    from custrel_lib.plots.common import titled
    from custrel_lib.plots.journey_text import TEXT as JOURNEY_TEXT

    def page(lang: str, text_lang: str) -> str:
        subtitle = JOURNEY_TEXT["forecast_sub_share"][text_lang].format(
            population="4 993 clients suivis" if text_lang == "fr" else "4,993 tracked customers",
            unit="trimestre" if text_lang == "fr" else "quarter",
            span="T1 2023–T4 2025" if text_lang == "fr" else "Q1 2023–Q4 2025",
            k="4 trimestres" if text_lang == "fr" else "4 quarters",
            e="328",
            burn_in=JOURNEY_TEXT["forecast_burn_in"][text_lang],
        )
        fig = titled(go.Figure(), JOURNEY_TEXT["forecast_title"][text_lang], subtitle, lang)
        layout = fig.to_plotly_json()["layout"]
        assert layout["title"]["subtitle"]["text"].count("<br>") >= 1  # wrapped into lines
        script = f'Plotly.newPlot("f", [], {json.dumps(layout)}, {{}})'
        return f"<html><body><script>{script}</script></body></html>"

    assert check_page("p.html", page("fr", "fr"), "fr", catalogue_index) == []
    assert check_page("p.html", page("en", "en"), "en", catalogue_index) == []
    # The other language's subtitle is still caught, as a whole.
    findings = check_page("p.html", page("fr", "en"), "fr", catalogue_index)
    subtitles = {f.text for f in findings if f.where == "figure 1 title" and f.problem.startswith("(a)")}
    assert len(subtitles) == 2 and any(t.startswith("4,993 tracked customers; share") for t in subtitles)
    assert _title_strings("A<br><sup>burn-</sup><br><sup>in left out</sup>") == ["A", "burn-in left out"]
    assert _title_strings("A<br>B") == ["A", "B"]  # not a subtitle: pieces as before


def test_checker_splits_bilingual_headings(catalogue_index):
    page = _french_page("Les mouvements du dernier trimestre / What moved in the last quarter")
    findings = check_page("p.html", page, "fr", catalogue_index)
    assert [(f.where, f.text, f.problem) for f in findings] == [
        ("h2 (part)", "What moved in the last quarter", "(c) reads as en")
    ]


def test_prose_language():
    assert prose_language("Combien de clients dans chaque étape ?") == "fr"
    assert prose_language("How many customers in each stage?") == "en"
    assert prose_language("Flirt") is None
    assert prose_language("NPS 12,5") is None


# ------------------------------------------------------------------------------------------ report tests


@pytest.fixture(scope="module")
def report_runs(tmp_path_factory, report_run):
    """The whole report once per language: ``get(lang) -> ReportRun``. French is the session's report on the
    sample (``report_run``, the sample's ``language: fr``); English runs once for the module."""
    base = tmp_path_factory.mktemp("language-runs")
    runs: dict[str, Any] = {"fr": report_run[0]}

    def get(lang: str):
        if lang not in runs:
            runs[lang] = run_report(reports_dir=base, lang=lang, run_id=lang, progress=False)
        assert runs[lang].manifest["lang"] == lang
        return runs[lang]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_report_speaks_one_language(notebook, lang, report_runs, catalogue_index):
    run = report_runs(lang)
    pages = [run.path / f"{notebook}.html", run.path / "index.html"]
    findings: list[Finding] = []
    for page in pages:
        findings += check_page(
            f"{lang}/{page.name}",
            page.read_text(encoding="utf-8"),
            lang,
            catalogue_index,
            ignore=(run.run_id,),
        )
    # The executed notebook kept in the run folder has no cell of the other language either.
    other = "en" if lang == "fr" else "fr"
    executed = nbformat.read(str(run.path / f"{notebook}.ipynb"), as_version=4)
    for number, cell in enumerate(executed.cells):
        if LANGUAGE_TAGS[other] in cell.get("metadata", {}).get("tags", []):
            findings.append(
                Finding(f"{lang}/{notebook}.ipynb", f"cell {number}", cell.source[:60], "tagged " + other)
            )
    assert not findings, f"{len(findings)} offending strings:\n" + "\n".join(map(str, findings))


def test_the_notebook_list_is_complete():
    from custrel_lib.reports.execute import is_exploration

    folder = Path(__file__).parents[1] / "notebooks"
    notebooks = sorted(p.stem for p in folder.glob("*.ipynb") if not is_exploration(p))
    assert list(NOTEBOOKS) == notebooks


# ------------------------------------------------------------------------------------ language-tagged cells


def _tagged_notebook() -> nbformat.NotebookNode:
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    return new_notebook(
        cells=[
            new_markdown_cell("# Titre français", metadata={"tags": ["fr"]}),
            new_markdown_cell("# English title", metadata={"tags": ["en"]}),
            new_code_cell('lang = "fr"', metadata={"tags": ["parameters"]}),
            new_markdown_cell("Texte commun : NPS"),
            new_code_cell('print("bonjour")', metadata={"tags": ["fr"]}),
            new_code_cell('print("hello")', metadata={"tags": ["en"]}),
            new_markdown_cell("**Flirt**", metadata={"tags": ["fr", "en"]}),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def test_select_language_keeps_untagged_and_own_cells():
    from custrel_lib.reports.html import cell_languages, select_language

    nb = _tagged_notebook()
    french = select_language(nb, "fr")
    english = select_language(nb, "en")
    assert [c.source for c in french.cells] == [
        "# Titre français",
        'lang = "fr"',
        "Texte commun : NPS",
        'print("bonjour")',
        "**Flirt**",
    ]
    assert [c.source for c in english.cells] == [
        "# English title",
        'lang = "fr"',
        "Texte commun : NPS",
        'print("hello")',
        "**Flirt**",
    ]
    assert len(nb.cells) == 7  # the notebook itself is not modified
    assert cell_languages(nb.cells[6]) == {"fr", "en"} and cell_languages(nb.cells[3]) == set()


def test_export_drops_the_other_languages_cells(tmp_path):
    from custrel_lib.reports.html import export_html

    nb = _tagged_notebook()
    for lang, kept, dropped in (
        ("fr", "Titre français", "English title"),
        ("en", "English title", "Titre français"),
    ):
        page = export_html(nb, tmp_path / f"{lang}.html", lang=lang).path.read_text(encoding="utf-8")
        assert kept in page and dropped not in page and "Texte commun" in page
        assert f'<html lang="{lang}"' in page


def test_run_keeps_one_language_in_the_executed_notebook_and_the_index(tmp_path):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    nbformat.write(_tagged_notebook(), str(nb_dir / "1.0-tagged.ipynb"))
    for lang, word, other_word, title in (
        ("fr", "bonjour", "hello", "Titre français"),
        ("en", "hello", "bonjour", "English title"),
    ):
        run = run_report(
            config_path=None,
            reports_dir=tmp_path / "reports",
            notebooks_dir=nb_dir,
            lang=lang,
            run_id=lang,
            progress=False,
        )
        executed = nbformat.read(str(run.path / "1.0-tagged.ipynb"), as_version=4)
        outputs = "".join(
            o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
        )
        assert word in outputs and other_word not in outputs  # the other language's code cell did not run
        assert executed.metadata.papermill.input_path == str(nb_dir / "1.0-tagged.ipynb")
        assert run.notebooks[0].title == title
        assert f">{title}</a>" in (run.path / "index.html").read_text(encoding="utf-8")
