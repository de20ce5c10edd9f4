"""Self-contained HTML pages for executed notebooks and the report index.

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
import datetime as dt
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from custrel_lib.i18n import format_date, format_number, format_percent
from custrel_lib.paths import TEMPLATES_DIR as PACKAGE_TEMPLATES

TEMPLATES_DIR = PACKAGE_TEMPLATES
REPORT_TEMPLATE = "custrel_report.html.j2"
CSS_FILE = TEMPLATES_DIR / "custrel.css"

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
WIDGET_MIMETYPE = "application/vnd.jupyter.widget-view+json"

# A copy of plotly.js embedded by the ``notebook`` renderer: a <script> whose body starts with its banner.
_PLOTLYJS_SCRIPT = re.compile(r"<script[^>]*>\s*/\*\*?\s*\*?\s*plotly\.js v[\s\S]*?</script>", re.IGNORECASE)
# Any script loaded from the network (plotly adds MathJax from a CDN to every figure).
_REMOTE_SCRIPT = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*[\"']?(?:https?:)?//[^>]*>\s*</script>", re.IGNORECASE
)
_PLOTLY_DIV = re.compile(r'<div id="([^"]+)" class="plotly-graph-div"')

TEXTS = {
    "errors_title": {
        "fr": "Ce rapport contient des erreurs : ses résultats sont incomplets",
        "en": "This report contains errors: its results are incomplete",
    },
    "cell": {"fr": "Cellule {n}", "en": "Cell {n}"},
}


#: Cell tags marking a cell that belongs to one language's report only (``{lang: tag}``).
LANGUAGE_TAGS = {"fr": "fr", "en": "en"}


def cell_languages(cell: Any) -> set[str]:
    """Languages a cell is tagged for (empty: an untagged cell, shown in every language)."""
    tags = cell.get("metadata", {}).get("tags", []) or []
    return {lang for lang, tag in LANGUAGE_TAGS.items() if tag in tags}


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
    lang = _lang(lang)
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


def _lang(lang: str) -> str:
    return lang if lang in ("fr", "en") else "fr"


def prepare_notebook(nb: nbformat.NotebookNode, lang: str = "fr") -> tuple[nbformat.NotebookNode, dict]:
    """Return a copy of ``nb`` made safe for an offline page, and facts for the template.

    Parameters
    ----------
    nb : NotebookNode
        An executed notebook (it is not modified).
    lang : {"fr", "en"}
        Language of the page: cells tagged for the other language are dropped (:func:`select_language`),
        and the error banner is written in it.

    Returns
    -------
    (NotebookNode, dict)
        The cleaned copy and a dict with ``figures``, ``errors`` (list of dicts with ``cell``, ``ename``,
        ``evalue``, ``anchor``, ``where``, ``message``) and ``removed_remote_scripts``.
    """
    lang = _lang(lang)
    nb = select_language(nb, lang)
    figures = 0
    removed = 0
    errors: list[dict[str, Any]] = []
    for index, cell in enumerate(nb.cells):
        # papermill gives its injected cell a random id: fixed ids keep the page identical run after run.
        if "id" in cell:
            cell["id"] = f"cell-{index}"
        if cell.cell_type != "code":
            continue
        # Stream chunks are split by the kernel's timing: merge consecutive ones so the page is the same every run.
        merged: list = []
        for output in cell.get("outputs", []):
            if WIDGET_MIMETYPE in output.get("data", {}):
                # A widget has no saved state in a page: nothing to show offline (DuckDB draws its progress bar
                # as a widget in a kernel that has ipywidgets, only when a query is slow: the page would vary).
                continue
            if (
                output.get("output_type") == "stream"
                and merged
                and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")
            ):
                merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(output["text"])
                continue
            merged.append(output)
        cell["outputs"] = merged
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                cell_id = cell.get("id") or ""
                errors.append(
                    {
                        "cell": index,
                        "execution_count": cell.get("execution_count"),
                        "ename": str(output.get("ename", "")),
                        "evalue": str(output.get("evalue", "")),
                        "anchor": f"cell-id={cell_id}" if cell_id else "custrel-errors",
                        "where": TEXTS["cell"][lang].format(n=index),
                        "message": f"{output.get('ename', '')}: {output.get('evalue', '')}",
                    }
                )
                continue
            data = output.get("data")
            if not data:
                continue
            if PLOTLY_MIMETYPE in data and "text/html" not in data:
                data["text/html"] = _figure_html(data[PLOTLY_MIMETYPE])
            if PLOTLY_MIMETYPE in data:
                # Never let a page fall back to the JSON or its text/plain repr.
                del data[PLOTLY_MIMETYPE]
            if "text/html" in data:
                text = data["text/html"]
                if isinstance(text, list):
                    text = "".join(text)
                text = _PLOTLYJS_SCRIPT.sub("", text)
                text, n_removed = _REMOTE_SCRIPT.subn("", text)
                removed += n_removed
                for div_id in _PLOTLY_DIV.findall(text):
                    figures += 1
                    text = text.replace(div_id, f"custrel-fig-{figures}")
                data["text/html"] = text
    return nb, {"figures": figures, "errors": errors, "removed_remote_scripts": removed}


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


def _exporter(lang: str = "fr"):
    from nbconvert import HTMLExporter

    return HTMLExporter(
        language_code=_lang(lang),
        template_name="lab",
        extra_template_paths=[str(TEMPLATES_DIR)],
        template_file=REPORT_TEMPLATE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
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
    import plotly.offline

    path = Path(path)
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    clean, facts = prepare_notebook(nb, lang)
    clean.metadata["title"] = title or path.stem
    resources = {
        "metadata": {"name": title or path.stem},
        "custrel": {
            "css": CSS_FILE.read_text(encoding="utf-8"),
            "plotlyjs": plotly.offline.get_plotlyjs() if facts["figures"] else "",
            "errors": facts["errors"],
            "error_title": TEXTS["errors_title"][_lang(lang)],
        },
    }
    body, _ = _exporter(lang).from_notebook_node(clean, resources=resources)
    path.write_text(body, encoding="utf-8")
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


# ---------------------------------------------------------------------------------------------- index page

INDEX_TEXTS = {
    "title": {"fr": "Rapports custrel", "en": "custrel reports"},
    "run": {"fr": "Exécution {run_id}", "en": "Run {run_id}"},
    "as_of": {"fr": "Données arrêtées au {as_of}", "en": "Data as of {as_of}"},
    "key_figures": {"fr": "Chiffres clés", "en": "Key figures"},
    "stages": {"fr": "Clients par étape de la relation", "en": "Customers per relationship stage"},
    "stage": {"fr": "Étape", "en": "Stage"},
    "customers": {"fr": "Clients", "en": "Customers"},
    "previous": {"fr": "Précédent", "en": "Previous"},
    "change": {"fr": "Évolution", "en": "Change"},
    "reports": {"fr": "Rapports", "en": "Reports"},
    "in_short": {"fr": "En bref", "en": "In short"},
    "failed": {"fr": "échec", "en": "failed"},
    "footer": {
        "fr": "Généré par custrel {version} le {finished}. Paramètres, empreintes des données et versions : ",
        "en": "Generated by custrel {version} on {finished}. Parameters, data fingerprints and versions: ",
    },
    "no_figures": {
        "fr": "Pas de chiffres clés pour cette exécution (le notebook de synthèse n'a rien écrit).",
        "en": "No key figures for this run (the executive summary wrote none).",
    },
}


def _when(timestamp: str | None, lang: str) -> str:
    """An ISO time stamp as the reader's date and ``HH:MM`` (``22/11/2026 14:03``, ``2026-11-22 14:03``)."""
    if not timestamp:
        return "?"
    try:
        moment = dt.datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return f"{format_date(moment, lang)} {moment:%H:%M}"


def _signed(value: Any, lang: str) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    text = format_number(value, lang)
    return f"+{text}" if value > 0 else text


def _headline_value(item: dict, lang: str) -> str:
    """Display text of a headline figure: its pre-formatted ``text`` if given, else its ``value``."""
    if item.get("text") not in (None, ""):
        return str(item["text"])
    value = item.get("value")
    if isinstance(value, bool) or value is None:
        return "–"
    if isinstance(value, int | float):
        if item.get("unit") == "share":
            return format_percent(value, lang)
        return format_number(value, lang, 0 if float(value).is_integer() else 1)
    return str(value)


def render_index(
    run_id: str,
    reports: list[dict[str, Any]],
    key_figures: dict[str, Any] | None = None,
    lang: str = "fr",
    version: str | None = None,
    finished: str | None = None,
) -> str:
    """Build the index page of a run. Every string from data or parameters is HTML-escaped.

    Parameters
    ----------
    run_id : str
        The run folder's name.
    reports : list of dict
        One per notebook, in reading order: ``html`` (file name), ``title``, ``status``.
    key_figures : dict, optional
        Content of ``key_figures.json`` (see :func:`custrel_lib.reports.summary.key_figures`): ``headline``
        (list of ``label``/``value``/``text``), ``stages`` (list of ``label``/``count``/``previous``/
        ``change``), ``sentences``, ``as_of``. Whatever is missing is left out.
    lang : {"fr", "en"}
    version : str, optional
        custrel version for the footer.
    finished : str, optional
        End time of the run for the footer (ISO), shown as the reader's date and time.

    Returns
    -------
    str
        The HTML page.
    """
    lang = _lang(lang)

    def t(key: str, **fmt: Any) -> str:
        return html.escape(INDEX_TEXTS[key][lang].format(**fmt))

    e = html.escape
    kf = key_figures if isinstance(key_figures, dict) else {}
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
        f"<title>{t('title')} – {e(run_id)}</title>",
        f"<style>\n{CSS_FILE.read_text(encoding='utf-8')}\n</style>",
        "</head>",
        '<body class="custrel-index">',
        "<main>",
        f"<h1>{t('title')}</h1>",
        f'<p class="subtitle">{t("run", run_id=run_id)}'
        + (f" · {t('as_of', as_of=format_date(kf['as_of'], lang))}" if kf.get("as_of") else "")
        + "</p>",
    ]

    headline = [h for h in kf.get("headline", []) if isinstance(h, dict) and h.get("label")]
    if headline:
        parts.append(f"<h2>{t('key_figures')}</h2>")
        parts.append('<div class="custrel-tiles">')
        for item in headline:
            parts.append(
                '<div class="custrel-tile">'
                f'<div class="value">{e(_headline_value(item, lang))}</div>'
                f'<div class="label">{e(str(item["label"]))}</div>'
                "</div>"
            )
        parts.append("</div>")

    sentences = [s for s in kf.get("sentences", []) if isinstance(s, str) and s]
    if sentences:
        parts.append(f"<h2>{t('in_short')}</h2>")
        parts.append('<ul class="custrel-sentences">')
        parts.extend(f"<li>{e(s)}</li>" for s in sentences)
        parts.append("</ul>")

    stages = [s for s in kf.get("stages", []) if isinstance(s, dict)]
    if stages:
        has_previous = any(s.get("previous") is not None for s in stages)
        parts.append(f"<h2>{t('stages')}</h2>")
        parts.append('<table class="custrel-stages"><thead><tr>')
        parts.append(f"<th>{t('stage')}</th><th>{t('customers')}</th>")
        if has_previous:
            parts.append(f"<th>{t('previous')}</th><th>{t('change')}</th>")
        parts.append("</tr></thead><tbody>")
        for s in stages:
            label = s.get("label") or s.get("code") or ""
            row = f"<tr><td>{e(str(label))}</td><td class='num'>{e(_headline_value({'value': s.get('count')}, lang))}</td>"
            if has_previous:
                previous = s.get("previous")
                row += (
                    f"<td class='num'>{e(_headline_value({'value': previous}, lang))}</td>"
                    f"<td class='num'>{e(_signed(s.get('change'), lang))}</td>"
                )
            parts.append(row + "</tr>")
        parts.append("</tbody></table>")

    if not (headline or sentences or stages):
        parts.append(f"<p>{t('no_figures')}</p>")

    parts.append(f"<h2>{t('reports')}</h2>")
    parts.append('<ol class="custrel-reports">')
    for report in reports:
        href = e(str(report["html"]), quote=True)
        title = e(str(report.get("title") or report["html"]))
        status = ""
        if report.get("status") not in (None, "ok"):
            status = f' <span class="custrel-status-failed">({t("failed")})</span>'
        parts.append(f'<li><a href="{href}">{title}</a>{status}</li>')
    parts.append("</ol>")
    parts.append(
        f'<p class="custrel-footer">{t("footer", version=version or "?", finished=_when(finished, lang))}'
        '<a href="manifest.json">manifest.json</a></p>'
    )
    parts += ["</main>", "</body>", "</html>", ""]
    return "\n".join(parts)


def read_key_figures(path: str | Path) -> dict[str, Any] | None:
    """Read ``key_figures.json``; ``None`` when it is missing or not a JSON object."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
