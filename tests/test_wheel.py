"""The package works once installed: a wheel built from the repository, installed in a fresh virtual
environment outside it, runs ``custrel report`` on a copy of the bundled sample, with reports written to the
current directory (issue "The house", item 1).

The wheel's dependencies are not downloaded and installed again by pip (two to four minutes, most of the test):
the distributions its ``Requires-Dist`` names, and theirs in turn (extras and markers followed as pip follows
them), are linked from the test's own environment into the fresh one, file by file as each distribution's
``RECORD`` lists them, and nothing else. A dependency the code needs and the wheel does not declare is missing
there as it would be after ``pip install``; ``pip check`` then confirms every requirement is met. Resolving the
declared bounds against the registry is what ``make test``'s own ``pip install -e '.[dev]'`` does.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from custrel_lib.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _dependencies(wheel: Path) -> dict[str, importlib.metadata.Distribution]:
    """The distributions pip would install with ``wheel``: its requirements' closure, read in this environment."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        declared = email.message_from_bytes(z.read(meta)).get_all("Requires-Dist") or []
    todo = [r for r in map(Requirement, declared) if r.marker is None or r.marker.evaluate({"extra": ""})]
    found: dict[str, importlib.metadata.Distribution] = {}
    done: set[tuple[str, str]] = set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        dist = found.setdefault(name, importlib.metadata.distribution(req.name))
        assert req.specifier.contains(dist.version, prereleases=True), (
            f"{req} but {dist.version} is installed"
        )
        for extra in ("", *sorted(req.extras)):
            if (name, extra) not in done:
                done.add((name, extra))
                for r in map(Requirement, dist.requires or []):
                    if (r.marker is None and not extra) or (
                        r.marker is not None and r.marker.evaluate({"extra": extra})
                    ):
                        todo.append(r)
    return found


def _link_into(dists: dict[str, importlib.metadata.Distribution], python: Path) -> int:
    """Link every file of ``dists`` into the environment of ``python`` (scripts get its interpreter)."""
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], python.parent
        ).stdout.strip()
    )
    old_shebang = f"#!{Path(sys.executable).parent}/".encode()
    n = 0
    for dist in dists.values():
        for rel in dist.files or ():
            source = Path(dist.locate_file(rel))
            target = Path(os.path.normpath(site / rel))
            if not source.is_file() or target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            data = source.read_bytes() if target.parent == python.parent else b""
            if data.startswith(old_shebang):  # a console script: pip writes the new environment's python
                target.write_bytes(f"#!{python}\n".encode() + data.partition(b"\n")[2])
                target.chmod(source.stat().st_mode)
            else:
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)
            n += 1
    return n


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
    dists = _dependencies(wheel)
    assert {"pandas", "duckdb", "ibis-framework", "lifelines", "papermill", "nbconvert"} <= set(dists)
    assert "pytest" not in dists and "pyspark" not in dists  # the dev extra is not what a user installs
    assert _link_into(dists, python) > 10_000
    _run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], tmp_path)
    _run([str(python), "-m", "pip", "check"], tmp_path)
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
