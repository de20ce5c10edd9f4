"""digest.html: one offline page of a run, at most 6 MB, with the key figures, sentences and charts that matter.

Small hand-made runs check the selection, escaping, language and size rules; the sample's full report run
(shared ``report_run`` fixture) checks the real page, and a real Chromium opens it offline with every chart
drawn (screenshots and an A4 PDF in tests/_output/digest/).
"""

from __future__ import annotations

import html
import json
import re
import shutil

import nbformat
import plotly.graph_objects as go
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from test_browser import browser  # noqa: F401  (the module-scoped Chromium fixture)

from custrel_lib.exceptions import ReportError
from custrel_lib.paths import PROJECT_ROOT
from custrel_lib.reports import digest as digest_module
from custrel_lib.reports.digest import DIGEST_NAME, MAX_BYTES, write_digest
from custrel_lib.reports.html import PLOTLY_MIMETYPE, count_plotlyjs, remote_references

OUTPUT = PROJECT_ROOT / "tests" / "_output" / "digest"
FIG_ID = re.compile(r'<div id="(custrel-digest-fig-\d+)" class="plotly-graph-div"')


def _figure(title: str, n_traces: int = 1) -> dict:
    fig = go.Figure([go.Bar(x=[1, 2, 3], y=[i, i + 1, i + 2], name=f"t{i}") for i in range(n_traces)])
    fig.update_layout(title={"text": title})
    return json.loads(fig.to_json())


def _cell(*outputs, tags=()) -> nbformat.NotebookNode:
    cell = new_code_cell("x = 1", metadata={"tags": list(tags)})
    cell.outputs = list(outputs)
    return cell


def _fig_out(fig: dict):
    return new_output("display_data", data={PLOTLY_MIMETYPE: fig, "text/plain": "<Figure>"})


def _html_out(html: str):
    return new_output("display_data", data={"text/html": html, "text/plain": ""})


@pytest.fixture
def run_dir(tmp_path):
    """A run folder with two executed notebooks and key_figures.json, in French."""
    a = new_notebook(
        cells=[
            new_markdown_cell("# Section A\n\nIntro"),
            _cell(
                _html_out("<ul><li>Phrase A1.</li><li>Danger <script>alert(1)</script> &amp; co</li></ul>")
            ),
            _cell(_fig_out(_figure("Clients par étape"))),
            _cell(_fig_out(_figure("Deuxième", 2))),
            _cell(_fig_out(_figure("Troisième"))),
        ]
    )
    b = new_notebook(
        cells=[
            new_markdown_cell("# Section B"),
            _cell(_html_out("<table><tr><td>not a sentence</td></tr></table>")),
            _cell(_fig_out(_figure("Clients par étape"))),  # already shown in A: left out
            _cell(_fig_out(_figure("Nouveau B"))),
            _cell(_fig_out(_figure("Choisi", 3)), tags=["digest"]),  # a tag chooses the charts
        ]
    )
    nbformat.write(a, str(tmp_path / "0.0-a.ipynb"))
    nbformat.write(b, str(tmp_path / "1.0-b.ipynb"))
    key_figures = {
        "lang": "fr",
        "as_of": "2025-12-31",
        "headline": [{"label": "Clients en relation", "value": 2489, "text": "2 489"}],
        "sentences": ["Au 31/12/2025, 2 489 clients sont en relation.", "Phrase A1."],
        "stages": [{"code": "flirt", "label": "Flirt", "count": 446, "previous": 449, "change": -3}],
    }
    (tmp_path / "key_figures.json").write_text(json.dumps(key_figures), encoding="utf-8")
    return tmp_path


def test_digest_selects_key_figures_sentences_and_charts(run_dir):
    path = write_digest(run_dir, "fr")
    page = path.read_text(encoding="utf-8")
    assert path.name == DIGEST_NAME and path.parent == run_dir
    assert count_plotlyjs(page) == 1 and remote_references(page) == []
    assert path.stat().st_size <= MAX_BYTES
    assert '<html lang="fr">' in page and "Chiffres clés" in page and "2 489" in page
    assert re.findall(r"<h2>(.*?)</h2>", page)[-2:] == ["Section A", "Section B"]
    # Section A: its first two charts; Section B: only the tagged one.
    ids = FIG_ID.findall(page)
    assert len(ids) == 3
    titles = re.findall(r'"title":\{"text":"([^"]+)"', page)
    assert titles == ["Clients par \\u00e9tape", "Deuxi\\u00e8me", "Choisi"]
    # A sentence already in the key figures is not repeated; markup from outputs never becomes live.
    assert page.count("Phrase A1.") == 1
    assert "<script>alert(1)" not in page
    assert "<li>Danger alert(1) &amp; co</li>" in page  # the item's text only, escaped again
    assert "not a sentence" not in page
    assert "break-inside: avoid" in page and "size: A4" in page


def test_without_tags_new_titles_come_first(run_dir):
    nb = nbformat.read(str(run_dir / "1.0-b.ipynb"), as_version=4)
    nb.cells[-1].metadata["tags"] = []
    nbformat.write(nb, str(run_dir / "1.0-b.ipynb"))
    page = write_digest(run_dir, "fr").read_text(encoding="utf-8")
    titles = re.findall(r'"title":\{"text":"([^"]+)"', page)
    assert titles == ["Clients par \\u00e9tape", "Deuxi\\u00e8me", "Nouveau B", "Choisi"]


def test_digest_keeps_the_report_language(run_dir):
    with pytest.raises(ReportError, match="language"):
        write_digest(run_dir, "en")
    with pytest.raises(ReportError, match="not found"):
        write_digest(run_dir / "missing", "fr")


def test_charts_over_the_size_limit_are_left_out_and_said(run_dir, monkeypatch):
    import plotly.offline

    room = len(plotly.offline.get_plotlyjs().encode()) + 200_000
    one_chart = len(digest_module._chart_html(_figure("x", 2), 1).encode())
    monkeypatch.setattr(digest_module, "MAX_BYTES", room + int(one_chart * 1.5))
    page = write_digest(run_dir, "fr").read_text(encoding="utf-8")
    assert len(FIG_ID.findall(page)) == 1
    assert "2 graphique(s) laissé(s) de côté" in page


def test_the_sample_digest(report_run, sample_tables):
    run, _ = report_run
    path = run.path / DIGEST_NAME
    page = path.read_text(encoding="utf-8")
    size = path.stat().st_size
    print(f"digest.html: {size / 1e6:.2f} MB, {len(FIG_ID.findall(page))} charts")
    assert size <= MAX_BYTES
    assert count_plotlyjs(page) == 1 and remote_references(page) == []
    ids = set(sample_tables["customers"]["customer_id"]) | set(sample_tables["transactions"]["customer_id"])
    assert not set(re.findall(r"\bC\d{4}\b", page)) & ids
    sections = re.findall(r"<h2>(.*?)</h2>", page)
    executed = sorted(run.path.glob("*.ipynb"))
    assert len(executed) == 4
    titles = [digest_module._title(nbformat.read(str(p), as_version=4), p.stem) for p in executed]
    assert [html.unescape(s) for s in sections[-4:]] == titles
    assert 6 <= len(FIG_ID.findall(page)) <= 8
    index = (run.path / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'<ol class="custrel-reports">\s*<li><a href="([^"]+)"', index)
    assert links == [DIGEST_NAME]


@pytest.mark.browser
def test_digest_opens_offline_with_every_chart_drawn(browser, report_run):
    run, _ = report_run
    path = run.path / DIGEST_NAME
    expected = [
        int(n)
        for n in re.findall(
            r'class="custrel-digest-chart" data-traces="(\d+)"', path.read_text(encoding="utf-8")
        )
    ]
    assert expected
    OUTPUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    context.set_offline(True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot svg.main-svg').length >= {len(expected)}", timeout=60_000
    )
    drawn = page.evaluate(
        "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({traces: (d.data || []).length,"
        " svg: !!d.querySelector('svg.main-svg'), height: d.getBoundingClientRect().height}))"
    )
    assert [d["traces"] for d in drawn] == expected
    assert all(d["svg"] and d["height"] > 100 for d in drawn)
    page.screenshot(path=str(OUTPUT / "digest.png"), full_page=True)
    page.emulate_media(media="print")
    breaks = page.evaluate(
        "() => Array.from(document.querySelectorAll('.custrel-digest-chart')).map(d => getComputedStyle(d).breakInside)"
    )
    assert breaks and set(breaks) == {"avoid"}
    page.pdf(path=str(OUTPUT / "digest-a4.pdf"), format="A4", print_background=True)
    assert (OUTPUT / "digest-a4.pdf").stat().st_size > 10_000
    assert errors == []
    context.close()


def test_same_run_gives_the_same_bytes(run_dir, tmp_path_factory):
    """The digest does not name the run folder: two runs of the same inputs give the same file."""
    other = tmp_path_factory.mktemp("other-run")
    for p in run_dir.iterdir():
        shutil.copy(p, other / p.name)
    assert write_digest(run_dir, "fr").read_bytes() == write_digest(other, "fr").read_bytes()


def test_report_pages_leave_widget_outputs_out(tmp_path):
    """DuckDB shows a progress bar widget in a kernel that has ipywidgets when a query is slow: report pages
    (and so the digest's sources) must not depend on it."""
    from custrel_lib.reports.html import export_html
    from custrel_lib.reports.preprocessors import WIDGET_MIMETYPE

    widget = new_output(
        "display_data",
        data={WIDGET_MIMETYPE: {"model_id": "abc", "version_major": 2}, "text/plain": "FloatProgress()"},
    )
    nb = new_notebook(cells=[new_markdown_cell("# T"), _cell(widget, _html_out("<ul><li>Kept.</li></ul>"))])
    page = export_html(nb, tmp_path / "p.html", lang="fr").path.read_text(encoding="utf-8")
    assert "Kept." in page and "FloatProgress" not in page and "abc" not in page
