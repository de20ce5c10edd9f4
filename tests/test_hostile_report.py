"""Hostile strings: the whole report runs on a sample whose displayed texts carry HTML/JavaScript payloads, and a
real Chromium opens every page: no dialog, no injected element, no live plotly markup, and the payloads that a
report shows are visible as text.

Fields and where they show: ``acquisition_channel`` (survival: Kaplan-Meier by channel, covariates) and ``region``
(journeys, through the ``filter_column``/``filter_values`` parameters, also shown in the index). ``category``,
``channel``, unknown interaction types and the rules' notes carry payloads too but no report displays them
(README, "What was tried"); the test checks that they did not become markup either.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _hostile_sample import IMG, PAYLOADS, hostile_values, write_hostile_sample
from test_browser import browser  # noqa: F401  (the module-scoped Chromium fixture)

from custrel_lib.paths import NOTEBOOKS_DIR
from custrel_lib.reports.execute import list_notebooks

# Live markup in a page: each query returns what it found.
INJECTED = """() => ({
  img: Array.from(document.querySelectorAll('img[src="x"], img[onerror], [onerror]')).map(e => e.outerHTML),
  script: Array.from(document.querySelectorAll('script')).filter(s => s.textContent.trim() === 'alert(1)').length,
  bold: Array.from(document.querySelectorAll('b, strong')).filter(b => b.textContent === 'bold').length,
  svgBold: Array.from(document.querySelectorAll('svg tspan')).filter(
      t => t.textContent === 'bold' && /bold/.test(t.getAttribute('style') || '')).length,
  text: document.body.innerText + '\\n' + Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join('\\n'),
  raw: (() => {
    // Strings plotly renders as its own markup (names, labels, hover texts, titles) must hold no raw payload.
    const found = [];
    const walk = (v, path) => {
      if (typeof v === 'string') { if (/<(script|img|b)\\b/i.test(v)) found.push(path + ' = ' + v.slice(0, 120)); }
      else if (Array.isArray(v)) v.forEach((x, i) => walk(x, path + '[' + i + ']'));
      else if (v && typeof v === 'object') for (const k of Object.keys(v)) {
        if (!k.startsWith('_') && k !== 'legendgroup' && k !== 'uid') walk(v[k], path + '.' + k);
      }
    };
    document.querySelectorAll('.js-plotly-plot').forEach((d, i) => { walk(d.data, 'figure ' + i + ' data'); walk(d.layout, 'figure ' + i + ' layout'); });
    return found;
  })(),
})"""


@pytest.fixture(scope="module")
def hostile_run(browser, tmp_path_factory):
    """The full report (English) on the hostile sample, journeys filtered on three hostile regions."""
    import pandas as pd

    from custrel_lib.paths import SAMPLE_DIR
    from custrel_lib.reports.run import run_report

    folder = tmp_path_factory.mktemp("hostile")
    config = write_hostile_sample(folder / "data")
    customers = pd.read_csv(SAMPLE_DIR / "customers.csv", dtype=str, keep_default_na=False)
    channels = sorted(v for v in hostile_values(customers["acquisition_channel"]).values() if v)
    regions = sorted(v for v in hostile_values(customers["region"]).values() if v)[:3]  # one per payload
    run = run_report(
        config_path=config,
        parameters={"filter_column": "region", "filter_values": ",".join(regions)},
        reports_dir=folder / "reports",
        run_id="hostile",
        lang="en",
        progress=False,
    )
    return run, {"2.0-separation-survival.html": channels, "3.0-journey-transitions.html": regions}


def _inspect(context, path: Path) -> tuple[list[str], dict]:
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_timeout(1500)  # an <img onerror> fires after load
    found = page.evaluate(INJECTED)
    page.close()
    return dialogs, found


@pytest.mark.browser
@pytest.mark.slow
def test_hostile_strings_stay_text_in_every_page(browser, hostile_run, tmp_path, record_property):
    run, visible = hostile_run
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
    # The checks can fail: a page with the payloads left live is caught by each of them.
    control = tmp_path / "control.html"
    control.write_text(
        f"<html><body><p>x {PAYLOADS[0]} {IMG} {PAYLOADS[2]}</p></body></html>", encoding="utf-8"
    )
    dialogs, found = _inspect(context, control)
    assert dialogs and found["img"] and found["bold"] and found["script"]
    pages = sorted(run.path.glob("*.html"))
    assert [
        p.name for p in pages
    ] == [  # the four report pages, the digest (one page to e-mail) and the index
        *(f"{p.stem}.html" for p in list_notebooks(None, NOTEBOOKS_DIR)),
        "digest.html",
        "index.html",
    ]
    for path in pages:
        record_property("hostile_case", "markup in displayed fields (report pages)")
        dialogs, found = _inspect(context, path)
        assert dialogs == [], path.name
        assert found["img"] == [] and found["script"] == 0 and found["bold"] == 0 and found["svgBold"] == 0, (
            path.name
        )
        assert found["raw"] == [], (path.name, found["raw"][:5])
        for value in visible.get(path.name, []):
            assert value in found["text"], (path.name, value)
    context.close()
