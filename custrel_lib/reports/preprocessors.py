"""nbconvert preprocessors that make an executed notebook a stable, offline report page.

They run, in this order, inside the HTML exporter (:func:`custrel_lib.reports.html.export_html`), and leave
what the page template needs in ``resources["custrel"]``:

1. :class:`LanguageFilter`: cells tagged for the other language are dropped;
2. :class:`StableIds`: cell ids become ``cell-<index>`` (papermill gives its injected cell a random id);
3. :class:`MergeStreams`: consecutive stream outputs are merged (the kernel splits them by timing), and
   :class:`DropWidgets`: widget outputs are removed (DuckDB and tqdm show a progress bar as a widget when a
   step takes more than a moment: it depends on the machine's load and means nothing in a static page);
4. :class:`OfflineFigures`: plotly figures become HTML without plotly.js copies or network scripts, their
   ``div`` ids numbered (``figures``, ``removed_remote_scripts``, ``plotlyjs``);
5. :class:`CollectErrors`: error outputs listed for the red banner at the top (``errors``).

The same notebook gives the same bytes twice.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode

__all__ = [
    "CollectErrors",
    "DropWidgets",
    "LanguageFilter",
    "MergeStreams",
    "OfflineFigures",
    "StableIds",
    "report_preprocessors",
]

WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
#: Cell tags marking a cell that belongs to one language's report only (``{lang: tag}``).
LANGUAGE_TAGS = {"fr": "fr", "en": "en"}

# A copy of plotly.js embedded by the ``notebook`` renderer: a <script> whose body starts with its banner.
_PLOTLYJS_SCRIPT = re.compile(r"<script[^>]*>\s*/\*\*?\s*\*?\s*plotly\.js v[\s\S]*?</script>", re.IGNORECASE)
# Any script loaded from the network (plotly adds MathJax from a CDN to every figure).
_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE
)
_PLOTLY_DIV = re.compile(r'<div id="([^"]+)" class="plotly-graph-div"')

ERROR_TEXTS = {
    "errors_title": {
        "fr": "Ce rapport contient des erreurs : ses résultats sont incomplets",
        "en": "This report contains errors: its results are incomplete",
    },
    "cell": {"fr": "Cellule {n}", "en": "Cell {n}"},
}


def check_page_lang(lang: str) -> str:
    """The page language: ``fr`` unless ``en``."""
    return lang if lang in LANGUAGE_TAGS else "fr"


def cell_languages(cell: Any) -> set[str]:
    """Languages a cell is tagged for (empty: an untagged cell, shown in every language)."""
    tags = cell.get("metadata", {}).get("tags", []) or []
    return {lang for lang, tag in LANGUAGE_TAGS.items() if tag in tags}


def _facts(resources: dict) -> dict:
    return resources.setdefault("custrel", {})


class LanguageFilter(Preprocessor):
    """Drop the cells tagged for another language than ``lang`` (untagged cells are kept)."""

    lang = Unicode("fr").tag(config=True)

    def preprocess(self, nb, resources):
        lang = check_page_lang(self.lang)
        nb.cells = [c for c in nb.cells if not cell_languages(c) or lang in cell_languages(c)]
        return nb, resources


class StableIds(Preprocessor):
    """Number the cell ids (``cell-0``, ``cell-1``, ...)."""

    def preprocess_cell(self, cell, resources, index):
        if "id" in cell:
            cell["id"] = f"cell-{index}"
        return cell, resources


class MergeStreams(Preprocessor):
    """Merge consecutive outputs of the same stream, so the page does not depend on the kernel's timing."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        merged: list = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (
                output.get("output_type") == "stream"
                and previous is not None
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")
            ):
                previous["text"] = "".join(previous["text"]) + "".join(output["text"])
                continue
            merged.append(output)
        cell["outputs"] = merged
        return cell, resources


class DropWidgets(Preprocessor):
    """Remove widget outputs (progress bars) and the widget state saved in the notebook's metadata."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell["outputs"] = [o for o in cell.get("outputs", []) if WIDGET_MIMETYPE not in o.get("data", {})]
        return cell, resources


def _figure_html(figure_json: Any) -> str:
    import plotly.io as pio

    if isinstance(figure_json, str):
        figure_json = json.loads(figure_json)
    return pio.to_html(
        figure_json,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        default_width="100%",
        default_height=525,
        config={"responsive": True},
        validate=False,
    )


class OfflineFigures(Preprocessor):
    """Plotly outputs as HTML with no copy of plotly.js and no network script; figure ids numbered.

    A bare ``application/vnd.plotly.v1+json`` output is turned into HTML here (plotly.py #5365: a guessed
    renderer otherwise gives blank figures); the JSON is then dropped so a page never falls back to it.
    """

    def preprocess(self, nb, resources):
        import plotly.offline

        facts = _facts(resources)
        facts.update(figures=0, removed_remote_scripts=0)
        nb, resources = super().preprocess(nb, resources)
        facts["plotlyjs"] = plotly.offline.get_plotlyjs() if facts["figures"] else ""
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        facts = _facts(resources)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data")
            if output.get("output_type") == "error" or not data:
                continue
            if PLOTLY_MIMETYPE in data and "text/html" not in data:
                data["text/html"] = _figure_html(data[PLOTLY_MIMETYPE])
            data.pop(PLOTLY_MIMETYPE, None)
            if "text/html" in data:
                text = data["text/html"]
                text = "".join(text) if isinstance(text, list) else text
                text = _PLOTLYJS_SCRIPT.sub("", text)
                text, removed = _REMOTE_SCRIPT.subn("", text)
                facts["removed_remote_scripts"] += removed
                for div_id in _PLOTLY_DIV.findall(text):
                    facts["figures"] += 1
                    text = text.replace(div_id, f"custrel-fig-{facts['figures']}")
                data["text/html"] = text
        return cell, resources


class CollectErrors(Preprocessor):
    """List the error outputs (cell, name, value, anchor) for the page's error banner, in ``lang``."""

    lang = Unicode("fr").tag(config=True)

    def preprocess(self, nb, resources):
        lang = check_page_lang(self.lang)
        facts = _facts(resources)
        facts["errors"] = []
        facts["error_title"] = ERROR_TEXTS["errors_title"][lang]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        lang = check_page_lang(self.lang)
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.get("output_type") != "error":
                continue
            cell_id = cell.get("id") or ""
            _facts(resources)["errors"].append(
                {
                    "cell": index,
                    "execution_count": cell.get("execution_count"),
                    "ename": str(output.get("ename", "")),
                    "evalue": str(output.get("evalue", "")),
                    "anchor": f"cell-id={cell_id}" if cell_id else "custrel-errors",
                    "where": ERROR_TEXTS["cell"][lang].format(n=index),
                    "message": f"{output.get('ename', '')}: {output.get('evalue', '')}",
                }
            )
        return cell, resources


def report_preprocessors(lang: str) -> list[Preprocessor]:
    """The preprocessors of a report page, in order, enabled."""
    return [
        LanguageFilter(lang=lang, enabled=True),
        StableIds(enabled=True),
        MergeStreams(enabled=True),
        DropWidgets(enabled=True),
        OfflineFigures(enabled=True),
        CollectErrors(lang=lang, enabled=True),
    ]
