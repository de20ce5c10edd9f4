"""JupyterLab for real: the test starts ``jupyter lab`` on localhost, Chromium opens 4.0-explore, runs it all,
and checks that the widgets and figures render and that moving the horizon slider changes the stage counts.

The notebook is copied to a temporary folder first (JupyterLab saves what it opens; the committed notebook keeps
no output). Chromium comes from Debian as in tests/test_browser.py: without it the test skips, except under
CI=true. Screenshots are saved in tests/_output/lab/.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_browser import ARGS, _chromium

from custrel_lib.paths import NOTEBOOKS_DIR, PROJECT_ROOT

OUTPUT = PROJECT_ROOT / "tests" / "_output" / "lab"
NOTEBOOK = "4.0-explore.ipynb"
COUNTS_JS = (
    "() => Array.from(document.querySelectorAll('table.custrel-explorer-counts tr'))"
    ".map(tr => [tr.dataset.stage, tr.cells[1].textContent])"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a free localhost port with a random token, rooted in a temporary folder."""
    executable = _chromium()
    if executable is None:
        message = "no Chromium found (install Debian's chromium: `make browser`, needs root and apt-get)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    root = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOKS_DIR / NOTEBOOK, root / NOTEBOOK)
    news = root / ".lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}', encoding="utf-8")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".lab-workspaces"),
    }
    cmd = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--no-browser",
        "--allow-root",  # containers run tests as root
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(root / "lab.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter lab did not start:\n" + (root / "lab.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {"url": url, "token": token, "executable": executable, "root": root}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_runs_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=lab["executable"], args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK}?reset&token={lab['token']}")
            page.wait_for_function(
                "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                " && window.jupyterapp.shell.currentWidget.sessionContext",
                timeout=60_000,
            )
            page.evaluate(
                "async () => { await window.jupyterapp.shell.currentWidget.sessionContext.ready;"
                " await window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
            )
            # The explorer: its sliders, its counts and its first chart; then the customer story.
            page.wait_for_selector("table.custrel-explorer-counts tr", timeout=120_000)
            page.wait_for_function(
                "document.querySelectorAll('.jp-OutputArea .js-plotly-plot svg.main-svg').length >= 2",
                timeout=60_000,
            )
            sliders = page.locator(".widget-hslider")
            assert sliders.count() >= 9  # H and the eight rule thresholds
            before = page.evaluate(COUNTS_JS)
            assert len(before) >= 5 and all(n.replace("\u202f", "").isdigit() for _, n in before)
            bar = page.evaluate(
                "() => { const d = document.querySelector('.jp-OutputArea .js-plotly-plot');"
                " return d.data[0].x; }"
            )
            assert [int(x) for x in bar] == [int(n.replace("\u202f", "")) for _, n in before]
            page.screenshot(path=str(OUTPUT / "explorer.png"))

            # Move the horizon slider (type into its readout, as a user can) and wait for new counts.
            readout = page.locator(".widget-hslider", has_text="Horizon").locator(".widget-readout")
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("60")
            page.keyboard.press("Enter")
            page.wait_for_function(
                f"() => JSON.stringify(({COUNTS_JS})()) !== {json.dumps(json.dumps(before, separators=(',', ':'), ensure_ascii=False))}",
                timeout=60_000,
            )
            after = page.evaluate(COUNTS_JS)
            status = page.locator(".custrel-explorer-status").inner_text()
            assert "H = 60" in status, status
            counts = (
                {k: int(v.replace("\u202f", "")) for k, v in after},
                {k: int(v.replace("\u202f", "")) for k, v in before},
            )
            assert counts[0]["separe"] > counts[1]["separe"]  # a shorter H separates more customers
            page.screenshot(path=str(OUTPUT / "explorer-horizon-60.png"))
            titles = page.evaluate(
                "() => Array.from(document.querySelectorAll('.jp-OutputArea .js-plotly-plot'))"
                ".map(d => d.layout.title.text)"
            )
            assert any(t.startswith("Clients par étape") for t in titles), titles
            story = [t for t in titles if t.startswith("Histoire du client")]
            assert story, titles
            assert story[0].endswith(page.locator("input[list]").first.input_value())  # the searched id
            page.locator(".jp-OutputArea .js-plotly-plot").last.scroll_into_view_if_needed()
            page.screenshot(path=str(OUTPUT / "customer-story.png"))
            assert errors == [], errors
        finally:
            page.evaluate(
                "async () => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " if (w && w.sessionContext) { await w.sessionContext.shutdown(); } }"
            )
            browser.close()
