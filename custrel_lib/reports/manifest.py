"""What a run records: ``manifest.json`` (parameters, data fingerprints, versions, timings, files) and the
state ``--if-changed`` compares with the last successful run (``latest.json``).

The data files fingerprinted are the ones the config loader resolves (:func:`custrel_lib.config.load_config`),
so the manifest always names the files the notebooks read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from custrel_lib.config import CustrelConfig
from custrel_lib.paths import PROJECT_ROOT

__all__ = [
    "MANIFEST_VERSION",
    "NotebookResult",
    "fingerprint_inputs",
    "last_unchanged_run",
    "new_manifest",
    "run_state",
    "sha256_file",
    "write_json",
]

MANIFEST_VERSION = 1
LATEST_NAME = "latest.json"
VERSIONED_PACKAGES = {
    "custrel": "custrel",
    "pandas": "pandas",
    "lifelines": "lifelines",
    "plotly": "plotly",
    "papermill": "papermill",
    "nbconvert": "nbconvert",
    "duckdb": "duckdb",
    "ibis": "ibis-framework",
}


@dataclass
class NotebookResult:
    """Outcome of one notebook in a run.

    Attributes
    ----------
    name : str
        Notebook file name (``1.0-relationship-stages.ipynb``).
    status : {"ok", "failed", "not run"}
    duration_s : float
        Execution time in seconds (0 when not run).
    parameters : list of str
        Names of the parameters passed (only those the notebook declares).
    html : str or None
        File name of its HTML page in the run folder.
    html_size_bytes : int or None
    figures : int
        Plotly figures in the page.
    error : dict or None
        ``notebook``, ``cell_index``, ``execution_count``, ``ename``, ``evalue``, ``source`` on failure
        (and ``kernel_died``, ``peak_memory_bytes`` when the kernel died).
    """

    name: str
    status: str = "not run"
    duration_s: float = 0.0
    parameters: list[str] = field(default_factory=list)
    html: str | None = None
    html_size_bytes: int | None = None
    figures: int = 0
    title: str | None = None
    sha256: str | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "sha256": self.sha256,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "parameters": self.parameters,
            "html": self.html,
            "html_size_bytes": self.html_size_bytes,
            "figures": self.figures,
            "error": self.error,
        }


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def display_path(path: Path) -> str:
    """A path relative to the project when it is inside it, else absolute."""
    path = path.resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def fingerprint_inputs(config: CustrelConfig | None) -> dict[str, Any]:
    """sha256 and size of the config file and of each table's files (``sha256: None`` for a missing file)."""
    if config is None:
        return {"config": None, "data": []}
    entries = []
    for name, spec in config.tables.items():
        for (
            path
        ) in spec.files:  # a table of several files: each of them (one more, and the report runs again)
            exists = path.is_file()
            entries.append(
                {
                    "table": name,
                    "path": display_path(path),
                    "sha256": sha256_file(path) if exists else None,
                    "size_bytes": path.stat().st_size if exists else None,
                }
            )
    conf = None
    if config.path is not None:
        conf = {"path": display_path(config.path), "sha256": sha256_file(config.path)}
    return {"config": conf, "data": entries}


def versions() -> dict[str, str | None]:
    """Python's and the main packages' versions."""
    found: dict[str, str | None] = {"python": sys.version.split()[0]}
    for key, dist in VERSIONED_PACKAGES.items():
        try:
            found[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[key] = None
    return found


def git_commit() -> str | None:
    """The project's git commit when run from a checkout, else ``None``."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def now() -> str:
    """The local time, ISO, to the second."""
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def new_manifest(
    run_id: str, lang: str, config: CustrelConfig | None, common: Mapping[str, Any], fingerprints: dict
) -> dict[str, Any]:
    """The manifest of a run that starts now (``status: running``)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_id,
        "status": "running",
        "started": now(),
        "finished": None,
        "duration_s": None,
        "lang": lang,
        "config_path": display_path(config.path) if config is not None and config.path else None,
        "parameters": {**common, "output_dir": "."},
        "fingerprints": fingerprints,
        "versions": versions(),
        "git_commit": git_commit(),
        "notebooks": [],
        "unused_parameters": [],
        "files": [],
    }


def list_files(folder: Path) -> list[dict[str, Any]]:
    """Every file of a run folder with its size (``manifest["files"]``)."""
    return [
        {"name": p.relative_to(folder).as_posix(), "size_bytes": p.stat().st_size}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def write_json(path: Path, doc: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def run_state(parameters: Mapping[str, Any], fingerprints: Mapping[str, Any], notebooks: list[dict]) -> dict:
    """What ``--if-changed`` compares: parameters, data fingerprints, notebook names and hashes."""
    return {
        "parameters": dict(parameters),
        "fingerprints": fingerprints,
        "notebooks": [{"name": n["name"], "sha256": n["sha256"]} for n in notebooks],
    }


def _same_state(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def normalize(d: Mapping[str, Any]) -> str:
        return json.dumps(d, sort_keys=True, default=str)

    return normalize(a) == normalize(b)


def last_unchanged_run(reports_dir: Path, state: Mapping[str, Any]) -> tuple[str, Path, dict] | None:
    """``(run_id, folder, manifest)`` of the last successful run when its state equals ``state``, else None."""
    latest_path = reports_dir / LATEST_NAME
    if not latest_path.is_file():
        return None
    try:
        latest = json.loads(latest_path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    run_id = str(latest.get("run_id") or "")
    folder = reports_dir / run_id
    if not run_id or not folder.is_dir() or not _same_state(latest.get("state", {}), state):
        return None
    manifest: dict = {}
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return run_id, folder, manifest


def record_latest(reports_dir: Path, run_id: str, finished: str, state: Mapping[str, Any]) -> None:
    """Remember the last successful run and its state (``latest.json``)."""
    write_json(reports_dir / LATEST_NAME, {"run_id": run_id, "finished": finished, "state": dict(state)})
