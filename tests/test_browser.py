"""A real browser opens the sample report from disk with the network off: figures render, no script errors.

Chromium comes from Debian (`scripts/install_browser.sh`, run by `make test`), driven by Playwright; Playwright's
own browser download is never used. Without a browser the test skips, except under CI (`CI=true`): a failure.
Screenshots are saved in tests/_output/browser/ for a reviewer.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from custrel_lib.paths import PROJECT_ROOT

OUTPUT = PROJECT_ROOT / "tests" / "_output" / "browser"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for candidate in (
        os.environ.get("CUSTREL_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        message = "no Chromium found (install Debian's chromium: `make browser`, needs root and apt-get)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=ARGS)
        yield b
        b.close()


def _expected_traces(notebook: Path) -> list[int]:
    """Traces of every plotly figure in the executed notebook, in order."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    counts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            fig = out.get("data", {}).get("application/vnd.plotly.v1+json")
            if fig:
                counts.append(len(fig.get("data", [])))
    return counts


@pytest.mark.browser
def test_reports_render_offline(browser, report_run):
    run, _ = report_run
    OUTPUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(
        "**/*", lambda route: route.continue_() if route.request.url.startswith("file://") else route.abort()
    )
    context.set_offline(True)
    # digest.html has its own browser test (tests/test_digest.py)
    pages = [
        "index.html",
        *sorted(p.name for p in run.path.glob("*.html") if p.name not in ("index.html", "digest.html")),
    ]
    for name in pages:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.on(
            "console", lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None
        )
        page.goto((run.path / name).as_uri(), wait_until="load")
        if name != "index.html":
            expected = _expected_traces(run.path / name.replace(".html", ".ipynb"))
            assert expected, f"{name}: no figure in the executed notebook"
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length >= {len(expected)}", timeout=60_000
            )
            rendered = page.evaluate(
                "() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({traces: (d.data || []).length, svg: !!d.querySelector('svg.main-svg')}))"
            )
            assert [r["traces"] for r in rendered] == expected, name
            assert all(r["svg"] for r in rendered), f"{name}: a figure has no SVG"
        else:
            links = page.eval_on_selector_all(
                "ol.custrel-reports a", "els => els.map(e => e.getAttribute('href'))"
            )
            assert links[0] == "digest.html" and sorted(links[1:]) == sorted(pages[1:])
        page.screenshot(path=str(OUTPUT / f"{Path(name).stem}.png"), full_page=name == "index.html")
        assert errors == [], f"{name}: {errors}"
        page.close()
    context.close()
