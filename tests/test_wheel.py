"""The package works once installed: a wheel built from the repository, installed in a fresh virtual
environment outside it, runs ``custrel report`` on a copy of the bundled sample, with reports written to the
current directory (issue "The house", item 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from custrel_lib.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_installed_wheel_runs_the_report_outside_the_repository(tmp_path):
    assert not tmp_path.resolve().is_relative_to(PROJECT_ROOT.resolve())
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(PROJECT_ROOT)],
        tmp_path,
    )
    (wheel,) = wheels.glob("custrel-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], tmp_path)
    where = _run(
        [str(python), "-c", "import custrel_lib.paths as p; print(p.PACKAGE_DIR); print(p.IN_CHECKOUT)"],
        tmp_path,
    ).stdout.split()
    assert Path(where[0]).is_relative_to(venv) and where[1] == "False"  # the wheel's copy, not the checkout
    bundled = Path(where[0]) / "_bundle"
    assert sorted(p.name for p in (bundled / "notebooks").glob("*.ipynb")) == sorted(
        p.name for p in (PROJECT_ROOT / "notebooks").glob("*.ipynb")
    )
    assert (Path(where[0]) / "reports" / "templates" / "custrel.css").is_file()
    assert (Path(where[0]) / "stages" / "stages.yml").is_file()
    work = tmp_path / "work"
    shutil.copytree(bundled / "sample", work / "data")
    # Two of the four notebooks (every notebook runs from the checkout in tests/test_report.py): the summary,
    # which reads the bundled templates and stage rules, and the journeys.
    notebooks = ["--notebook", "0.0-executive-summary.ipynb", "--notebook", "3.0-journey-transitions.ipynb"]
    _run(
        [
            str(venv / "bin" / "custrel"),
            "report",
            "--config",
            "data/custrel.yml",
            "--no-progress",
            *notebooks,
        ],
        work,
    )
    (run,) = [p for p in (work / "reports").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "ok" and len(manifest["notebooks"]) == 2
    for nb in manifest["notebooks"]:
        assert (run / nb["name"].replace(".ipynb", ".html")).stat().st_size > 100_000
    assert (run / "index.html").is_file() and (run / "key_figures.json").is_file()
