"""Self-contained HTML pages for executed notebooks (the index page is :mod:`custrel_lib.reports.index`).

A report page is read offline by people who never saw the code: code cells and prompts are hidden, every
plotly figure is interactive with plotly.js embedded once in the page (never a CDN), errors are listed in
red at the top, and nothing in the page asks the network for anything (no require.js, MathJax or mermaid
from a CDN, as nbconvert's stock template would).

Plotly figures reach the page whatever renderer the notebook used: the ``notebook`` renderer's HTML output
(its copies of plotly.js and its MathJax CDN tag are removed), or a bare ``application/vnd.plotly.v1+json``
output (turned into HTML here: plotly.py #5365 shows that a guessed renderer otherwise gives blank figures).
Figure ``div`` ids are renamed deterministically, so the same notebook gives the same bytes twice.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from custrel_lib.paths import TEMPLATES_DIR
from custrel_lib.reports.preprocessors import (
    LANGUAGE_TAGS,
    PLOTLY_MIMETYPE,
    cell_languages,
    check_page_lang,
    report_preprocessors,
)

__all__ = [
    "LANGUAGE_TAGS",
    "PLOTLY_MIMETYPE",
    "HtmlExport",
    "cell_languages",
    "count_plotlyjs",
    "export_html",
    "remote_references",
    "select_language",
]

REPORT_TEMPLATE = "custrel_report.html.j2"
CSS_FILE = TEMPLATES_DIR / "custrel.css"


def select_language(nb: nbformat.NotebookNode, lang: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` without the cells that belong to another language.

    A cell tagged ``fr`` is kept only in French reports, a cell tagged ``en`` only in English ones
    (:data:`LANGUAGE_TAGS`); untagged cells, and cells tagged with both languages, are kept in both.
    Markdown and code cells alike: a code cell of the other language is not run either when the
    notebook is filtered before execution (as :func:`custrel_lib.reports.run.run_report` does).

    Parameters
    ----------
    nb : NotebookNode
        A notebook (not modified).
    lang : {"fr", "en"}

    Returns
    -------
    NotebookNode
    """
    lang = check_page_lang(lang)
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if not cell_languages(cell) or lang in cell_languages(cell)]
    return nb


@dataclass
class HtmlExport:
    """What :func:`export_html` wrote.

    Attributes
    ----------
    path : Path
        The HTML file.
    size_bytes : int
        Its size on disk.
    figures : int
        Number of plotly figures in the page.
    plotlyjs_embedded : int
        Copies of plotly.js in the page (1 when there is a figure, else 0).
    errors : list of dict
        One entry per error output: ``cell`` (index), ``ename``, ``evalue``.
    removed_remote_scripts : int
        Network ``<script src>`` tags removed from outputs.
    """

    path: Path
    size_bytes: int
    figures: int
    plotlyjs_embedded: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    removed_remote_scripts: int = 0


def _exporter(lang: str = "fr"):
    from nbconvert import HTMLExporter

    return HTMLExporter(
        language_code=check_page_lang(lang),
        template_name="lab",
        extra_template_paths=[str(TEMPLATES_DIR)],
        template_file=REPORT_TEMPLATE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        preprocessors=report_preprocessors(lang),
    )


def export_html(
    nb: nbformat.NotebookNode | str | Path,
    path: str | Path,
    title: str | None = None,
    lang: str = "fr",
) -> HtmlExport:
    """Write an executed notebook as a self-contained, offline HTML page.

    Parameters
    ----------
    nb : NotebookNode or path
        The executed notebook.
    path : str or Path
        Where to write the page.
    title : str, optional
        Page title; defaults to the file name's stem.
    lang : {"fr", "en"}
        Language of the page: cells tagged for the other language are left out (:func:`select_language`);
        the page's own texts (error banner) are in it.

    Returns
    -------
    HtmlExport
    """
    path = Path(path)
    nb = copy.deepcopy(nb) if isinstance(nb, nbformat.NotebookNode) else nbformat.read(str(nb), as_version=4)
    nb.metadata["title"] = title or path.stem
    resources = {
        "metadata": {"name": title or path.stem},
        "custrel": {"css": CSS_FILE.read_text(encoding="utf-8")},
    }
    body, resources = _exporter(lang).from_notebook_node(nb, resources=resources)
    path.write_text(body, encoding="utf-8")
    facts = resources["custrel"]
    return HtmlExport(
        path=path,
        size_bytes=path.stat().st_size,
        figures=facts["figures"],
        plotlyjs_embedded=count_plotlyjs(body),
        errors=[{k: e[k] for k in ("cell", "ename", "evalue")} for e in facts["errors"]],
        removed_remote_scripts=facts["removed_remote_scripts"],
    )


def count_plotlyjs(page: str) -> int:
    """Number of copies of plotly.js embedded in an HTML page (counted by the library's banner)."""
    return len(re.findall(r"\*\s*plotly\.js v\d", page))


def remote_references(page: str) -> list[str]:
    """Network references an HTML page would load: ``src``/``href`` attributes and CSS ``url()`` to http(s).

    Links (``<a href>``) are not loads and are not listed. Strings inside scripts (plotly.js names map
    tile servers it never contacts for the chart types we draw) are not listed either.
    """
    found = []
    for match in re.finditer(r"<(script|link|img|iframe|source|video|audio)\b[^>]*>", page, re.IGNORECASE):
        tag = match.group(0)
        for attr in re.finditer(r"\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)", tag, re.IGNORECASE):
            found.append(attr.group(1))
    for style in re.findall(r"<style[^>]*>([\s\S]*?)</style>", page, re.IGNORECASE):
        found.extend(re.findall(r"url\(\s*[\"']?((?:https?:)?//[^)\"']+)", style))
    found.extend(re.findall(r"@import\s+[\"']((?:https?:)?//[^\"']+)", page))
    return found
