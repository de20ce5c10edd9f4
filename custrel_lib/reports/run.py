"""Run the notebooks with papermill into ``reports/<run-id>/``: executed notebooks, HTML, index, manifest.

A run is safe: it is written into a hidden temporary folder inside the reports folder and renamed into place
only once every notebook succeeded, so a failed run leaves earlier reports byte-identical. The failed
executed notebook is kept in ``reports/_failed/<run-id>/`` and :class:`~custrel_lib.exceptions.ReportError`
names the notebook and the cell. A lock (``reports/.lock``) keeps two runs from writing at the same time.

Examples
--------
>>> run = run_report("data/sample/custrel.yml", lang="en")  # doctest: +SKIP
>>> run.path  # doctest: +SKIP
PosixPath('.../reports/2026-11-22-1a2b3c4d')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import click
import yaml

from custrel_lib.exceptions import ConfigError, CustrelError, ReportError
from custrel_lib.paths import NOTEBOOKS_DIR, PROJECT_ROOT, SAMPLE_CONFIG, default_reports_dir
from custrel_lib.reports.digest import digest_link, write_digest
from custrel_lib.reports.html import export_html, read_key_figures, render_index, select_language
from custrel_lib.sections import gather_skipped

__all__ = ["NotebookResult", "ReportRun", "report_command", "run_report"]

MANIFEST_VERSION = 1
LOCK_NAME = ".lock"
LATEST_NAME = "latest.json"
FAILED_DIR = "_failed"
KEY_FIGURES_NAME = "key_figures.json"
TMP_PREFIX = ".tmp-"
EXPLORATION_MARK = "-explore"
OLD_PREFIX = ".old-"
# Parameters the run itself fills from custrel.yml (when the notebook declares them).
CONFIG_PARAMETERS = ("config_path", "lang", "as_of", "cadence", "horizon_days")
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
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


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
        ``notebook``, ``cell_index``, ``execution_count``, ``ename``, ``evalue``, ``source`` on failure.
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


@dataclass
class ReportRun:
    """A finished (or skipped) report run.

    Attributes
    ----------
    run_id : str
    path : Path
        The run folder (``reports/<run-id>``).
    status : {"ok", "skipped"}
        ``skipped`` when ``if_changed`` found nothing new; ``path`` is then the last successful run.
    notebooks : list of NotebookResult
    manifest : dict
        Content of ``manifest.json``.
    """

    run_id: str
    path: Path
    status: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    @property
    def index(self) -> Path:
        return self.path / "index.html"


# ------------------------------------------------------------------------------------------ configuration


def read_report_settings(config_path: str | Path | None) -> dict[str, Any]:
    """Read what a report run needs from ``custrel.yml``, with pyyaml, without the full config loader.

    Parameters
    ----------
    config_path : str or Path or None
        The config file; ``None`` gives empty settings.

    Returns
    -------
    dict
        ``language``, ``as_of``, ``cadence``, ``horizon_days`` (only the keys present), ``notebooks``
        (list or None) and ``data_files`` (list of ``(table, Path)``; see :func:`data_files`).

    Raises
    ------
    ConfigError
        When the file is unreadable, not YAML, or its sections have the wrong shape.
    """
    if config_path is None:
        return {"notebooks": None, "data_files": []}
    path = Path(config_path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"Cannot read the config {path}: {exc}.") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(doc).__name__}.")
    settings: dict[str, Any] = {}
    if doc.get("language") is not None:
        settings["language"] = str(doc["language"])
    analysis = doc.get("analysis") or {}
    if not isinstance(analysis, dict):
        raise ConfigError(f"{path}: 'analysis' must be a mapping.")
    for key in ("as_of", "cadence", "horizon_days"):
        if analysis.get(key) is not None:
            value = analysis[key]
            settings[key] = value.isoformat() if isinstance(value, dt.date) else value
    report = doc.get("report") or {}
    if not isinstance(report, dict):
        raise ConfigError(f"{path}: 'report' must be a mapping.")
    notebooks = report.get("notebooks")
    if notebooks is not None and (
        not isinstance(notebooks, list) or not all(isinstance(n, str) for n in notebooks)
    ):
        raise ConfigError(f"{path}: 'report.notebooks' must be a list of notebook names.")
    settings["notebooks"] = notebooks
    settings["data_files"] = data_files(doc, path.resolve().parent)
    return settings


def data_files(doc: Mapping[str, Any], config_dir: Path) -> list[tuple[str, Path]]:
    """The data files a config names, resolved against the config folder.

    ``tables.<name>.path`` is looked up under ``data_dir`` (itself relative to the config folder) and
    then under the config folder; absolute paths are kept. With a ``data_dir`` and no table path, every
    file of ``data_dir`` counts. Tables read from a database (no ``path``) have no file.
    """
    data_dir = doc.get("data_dir")
    base = (config_dir / str(data_dir)) if data_dir else config_dir
    files: list[tuple[str, Path]] = []
    tables = doc.get("tables") or {}
    if isinstance(tables, dict):
        for name, spec in tables.items():
            raw = spec.get("path") if isinstance(spec, dict) else spec if isinstance(spec, str) else None
            if not raw:
                continue
            candidate = Path(str(raw)).expanduser()
            if not candidate.is_absolute():
                options = [base / candidate, config_dir / candidate]
                candidate = next((p for p in options if p.exists()), options[0])
            files.append((str(name), candidate))
    if not files and data_dir and base.is_dir():
        files = [(p.name, p) for p in sorted(base.iterdir()) if p.is_file() and not p.name.startswith(".")]
    return files


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _display_path(path: Path) -> str:
    path = path.resolve()
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def fingerprint_inputs(config_path: Path | None, files: Iterable[tuple[str, Path]]) -> dict[str, Any]:
    """sha256 and size of the config and of each data file (``sha256: None`` for a missing file)."""
    entries = []
    for table, path in files:
        exists = path.is_file()
        entries.append(
            {
                "table": table,
                "path": _display_path(path),
                "sha256": sha256_file(path) if exists else None,
                "size_bytes": path.stat().st_size if exists else None,
            }
        )
    config = None
    if config_path is not None:
        config = {"path": _display_path(config_path), "sha256": sha256_file(config_path)}
    return {"config": config, "data": entries}


# ------------------------------------------------------------------------------------------- notebooks


def is_exploration(path: str | Path) -> bool:
    """An interactive notebook (``*-explore*.ipynb``, docs/explore.md): never run by default, only when named."""
    return EXPLORATION_MARK in Path(path).stem


def list_notebooks(
    selected: Iterable[str | Path] | None = None, notebooks_dir: str | Path = NOTEBOOKS_DIR
) -> list[Path]:
    """The notebooks of a run, in reading order (file names sort: ``0.0-...``, ``1.0-...``).

    Parameters
    ----------
    selected : iterable of str or Path, optional
        Paths, file names or stems (``1.0-relationship-stages``) of notebooks of ``notebooks_dir``;
        all of its notebooks when ``None`` or empty, except exploration ones (:func:`is_exploration`).
    notebooks_dir : str or Path

    Raises
    ------
    ConfigError
        A selected notebook does not exist, or there is no notebook at all.
    """
    notebooks_dir = Path(notebooks_dir)
    if not selected:
        found = sorted(
            p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith(".") and not is_exploration(p)
        )
        if not found:
            raise ConfigError(f"No notebook in {notebooks_dir}.")
        return found
    paths = []
    for item in selected:
        candidates = [Path(item)]
        if not Path(item).is_absolute():
            candidates += [notebooks_dir / str(item), notebooks_dir / f"{item}.ipynb"]
        path = next((p for p in candidates if p.is_file() and p.suffix == ".ipynb"), None)
        if path is None:
            available = ", ".join(p.stem for p in sorted(notebooks_dir.glob("*.ipynb"))) or "(none)"
            raise ConfigError(f"Unknown notebook {str(item)!r}. Notebooks in {notebooks_dir}: {available}.")
        if path.resolve() not in [p.resolve() for p in paths]:
            paths.append(path)
    names = [p.name for p in paths]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"Two selected notebooks have the same file name: {', '.join(duplicates)}.")
    return sorted(paths, key=lambda p: p.name)


def _resolve_untyped(value: str) -> Any:
    """papermill's CLI inference for a value of an untyped parameter: int, float, bool, None or str."""
    if value in ("True", "true"):
        return True
    if value in ("False", "false"):
        return False
    if value == "None":
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def coerce_parameter(name: str, value: Any, type_name: str | None, notebook: str = "") -> Any:
    """Convert a parameter to the type its notebook declares (``name: int = 0``).

    Values from the command line are strings; a notebook expecting ``int`` must get an int.

    Raises
    ------
    ConfigError
        The value cannot be converted.
    """
    type_name = (type_name or "").strip().lower()
    if type_name.startswith("optional[") or type_name.endswith("| none"):
        if value is None or value == "None":
            return None
        type_name = type_name.removeprefix("optional[").removesuffix("]").removesuffix("| none").strip()
    try:
        if type_name == "str":
            return value.isoformat() if isinstance(value, dt.date) else str(value)
        if type_name == "int":
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if type_name == "float":
            return float(value)
        if type_name == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "oui"):
                return True
            if text in ("false", "0", "no", "non", ""):
                return False
            raise ValueError(value)
    except (TypeError, ValueError) as exc:
        where = f" of notebook {notebook}" if notebook else ""
        raise ConfigError(f"Parameter {name!r}{where} expects {type_name}, got {value!r}.") from exc
    if isinstance(value, str):
        return _resolve_untyped(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _declared_parameters(path: Path) -> dict[str, dict[str, Any]]:
    import papermill

    try:
        return papermill.inspect_notebook(str(path))
    except Exception as exc:  # papermill raises various errors for unreadable notebooks
        raise ReportError(f"Cannot read the parameters of notebook {path.name}: {exc}") from exc


def _notebook_title(path: Path, lang: str) -> str:
    """Title for the index: metadata ``custrel.title.<lang>``, else the first ``# `` heading of the cells shown
    in ``lang`` (cells tagged for another language are skipped), else the name."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:
        nb = None
    if nb is not None:
        title = nb.metadata.get("custrel", {}).get("title")
        if isinstance(title, dict) and title.get(lang):
            return str(title[lang])
        if isinstance(title, str) and title:
            return title
        for cell in select_language(nb, lang).cells:
            if cell.cell_type == "markdown":
                for line in cell.source.splitlines():
                    if line.startswith("# "):
                        return line[2:].strip()
    stem = re.sub(r"^[0-9.]+-", "", path.stem).replace("-", " ").replace("_", " ")
    return stem[:1].upper() + stem[1:]


# ------------------------------------------------------------------------------------------ run helpers


def _restore_input_path(executed: Path, source: Path) -> None:
    """Record the source notebook's path as papermill's ``input_path`` in an executed notebook.

    The run gives papermill the notebook already filtered to the report's language (a notebook object, which
    papermill would otherwise copy whole into that metadata field).
    """
    import nbformat

    if not executed.is_file():
        return
    with contextlib.suppress(Exception):
        nb = nbformat.read(str(executed), as_version=4)
        nb.metadata.setdefault("papermill", {})["input_path"] = str(source)
        nbformat.write(nb, str(executed))


def default_run_id(
    parameters: Mapping[str, Any], notebooks: Iterable[str], today: dt.date | None = None
) -> str:
    """``<date>-<8 hex>``: the run date and a short hash of the parameters and notebook names."""
    payload = json.dumps(
        {"parameters": parameters, "notebooks": list(notebooks)}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:8]
    return f"{(today or dt.date.today()).isoformat()}-{digest}"


def check_run_id(run_id: str) -> str:
    """A run id is a plain folder name: letters, digits, ``.``, ``_``, ``-``; not starting with ``.``/``_``."""
    if not _RUN_ID.match(run_id) or run_id in (FAILED_DIR,) or ".." in run_id:
        raise ConfigError(
            f"Invalid run id {run_id!r}: use letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 100 characters)."
        )
    return run_id


@contextlib.contextmanager
def report_lock(reports_dir: str | Path, wait: bool = False) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``<reports_dir>/.lock`` for the duration of a run.

    Parameters
    ----------
    reports_dir : str or Path
    wait : bool
        Block until the other run finishes instead of failing.

    Raises
    ------
    ReportError
        Another run holds the lock and ``wait`` is false.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / LOCK_NAME
    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 -- closed in finally, after the lock is released
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise ReportError(
                f"Another report run is writing into {reports_dir} (lock {path}, held by {holder}). "
                "Wait for it to finish, or run again with --wait."
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n")
        fh.flush()
        yield path
    finally:
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
        fh.close()  # closing the file releases the flock


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": sys.version.split()[0]}
    for key, dist in VERSIONED_PACKAGES.items():
        try:
            versions[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[key] = None
    return versions


def _git_commit() -> str | None:
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


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _write_json(path: Path, doc: Any) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _replace_dir(source: Path, target: Path) -> None:
    """Move the folder ``source`` to ``target``, replacing an existing ``target`` only once ``source`` is in."""
    if not target.exists():
        os.rename(source, target)
        return
    old = target.with_name(f"{OLD_PREFIX}{target.name}-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old)
    os.rename(target, old)
    try:
        os.rename(source, target)
    except OSError:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _clean_stale(reports_dir: Path) -> None:
    """Remove temporary folders left by a run that was killed (we hold the lock: no run is active)."""
    for path in reports_dir.iterdir():
        if path.is_dir() and path.name.startswith((TMP_PREFIX, OLD_PREFIX)):
            shutil.rmtree(path, ignore_errors=True)


def _run_state(parameters: Mapping[str, Any], fingerprints: Mapping[str, Any], notebooks: list[dict]) -> dict:
    """What ``--if-changed`` compares: parameters, data fingerprints, notebook names and hashes."""
    return {
        "parameters": dict(parameters),
        "fingerprints": fingerprints,
        "notebooks": [{"name": n["name"], "sha256": n["sha256"]} for n in notebooks],
    }


def _same_state(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    normalize = lambda d: json.dumps(d, sort_keys=True, default=str)  # noqa: E731
    return normalize(a) == normalize(b)


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ the run


def run_report(
    config_path: str | Path | None = None,
    notebooks: Iterable[str | Path] | None = None,
    parameters: Mapping[str, Any] | None = None,
    reports_dir: str | Path | None = None,
    run_id: str | None = None,
    if_changed: bool = False,
    lang: str | None = None,
    progress: bool = True,
    kernel_name: str | None = None,
    wait: bool = False,
    notebooks_dir: str | Path = NOTEBOOKS_DIR,
) -> ReportRun:
    """Run the notebooks with papermill into ``reports_dir/<run-id>/``.

    Parameters
    ----------
    config_path : str or Path, optional
        ``custrel.yml``; the bundled sample's when ``None`` and it exists. Its ``language`` and
        ``analysis.as_of/cadence/horizon_days`` become the parameters ``lang``, ``as_of``, ``cadence``,
        ``horizon_days``; ``report.notebooks`` selects the notebooks.
    notebooks : iterable of str or Path, optional
        Notebooks to run (names of ``notebooks_dir`` or paths); default: all, in reading order.
    parameters : mapping, optional
        Extra parameters (``-p NAME VALUE``); they override the config. Strings are converted to the
        type each notebook declares.
    reports_dir : str or Path
        Folder holding the runs.
    run_id : str, optional
        Folder name; default ``<date>-<hash of the parameters>``. A run with the id of an earlier one
        replaces it, on success only.
    if_changed : bool
        Skip the run when parameters, notebooks and data fingerprints equal the last successful run's.
    lang : {"fr", "en"}, optional
        Language of the reports; default: the config's ``language``, else ``fr``.
    progress : bool
        Print a line per notebook and papermill's per-cell progress bar (on stderr).
    kernel_name : str, optional
        Jupyter kernel; default: the one each notebook names.
    wait : bool
        Wait for another run's lock instead of failing.
    notebooks_dir : str or Path
        Where notebook names are looked up.

    Returns
    -------
    ReportRun

    Raises
    ------
    ReportError
        A notebook failed (the message names it and the cell), or another run holds the lock.
    ConfigError
        Invalid config, notebook selection, run id or parameter value.
    """
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    reports_dir = Path(reports_dir if reports_dir is not None else default_reports_dir()).resolve()
    if config_path is None and SAMPLE_CONFIG.is_file():
        config_path = SAMPLE_CONFIG
    config = Path(config_path).resolve() if config_path is not None else None
    if config is not None and not config.is_file():
        raise ConfigError(f"Config file not found: {config}.")
    settings = read_report_settings(config)
    lang = lang or settings.get("language") or "fr"
    if lang not in ("fr", "en"):
        raise ConfigError(f"Unknown language {lang!r}: use fr or en.")

    common: dict[str, Any] = {}
    if config is not None:
        common["config_path"] = str(config)
    common["lang"] = lang
    for key in ("as_of", "cadence", "horizon_days"):
        if key in settings:
            common[key] = settings[key]
    for name, value in (parameters or {}).items():
        if name == "output_dir":
            raise ConfigError("'output_dir' is set by the report run (the run folder); do not pass it.")
        common[str(name)] = value.isoformat() if isinstance(value, dt.date) else value

    paths = list_notebooks(notebooks or settings.get("notebooks"), notebooks_dir)
    nb_entries = [{"name": p.name, "path": p, "sha256": sha256_file(p)} for p in paths]
    run_id = check_run_id(run_id or default_run_id(common, [p.name for p in paths]))
    # Check every notebook's parameters before anything runs: a typo fails fast, with no partial run.
    plans: list[dict[str, Any]] = []
    declared_anywhere: set[str] = set()
    for entry in nb_entries:
        declared = _declared_parameters(entry["path"])
        declared_anywhere |= set(declared)
        passed = {
            name: coerce_parameter(name, value, declared[name].get("inferred_type_name"), entry["name"])
            for name, value in common.items()
            if name in declared
        }
        if "output_dir" in declared:
            passed["output_dir"] = None  # the run folder, known once the lock is held
        plans.append(passed)
    fingerprints = fingerprint_inputs(config, settings.get("data_files", []))
    state = _run_state(common, fingerprints, nb_entries)

    with report_lock(reports_dir, wait=wait):
        _clean_stale(reports_dir)
        latest_path = reports_dir / LATEST_NAME
        if if_changed and latest_path.is_file():
            try:
                latest = json.loads(latest_path.read_text(encoding="utf-8"))
            except ValueError:
                latest = {}
            last_dir = reports_dir / str(latest.get("run_id", ""))
            if latest.get("run_id") and last_dir.is_dir() and _same_state(latest.get("state", {}), state):
                _say(progress, f"Nothing changed since run {latest['run_id']}: skipped.")
                manifest = {}
                with contextlib.suppress(OSError, ValueError):
                    manifest = json.loads((last_dir / "manifest.json").read_text(encoding="utf-8"))
                return ReportRun(run_id=latest["run_id"], path=last_dir, status="skipped", manifest=manifest)

        tmp = reports_dir / f"{TMP_PREFIX}{run_id}-{os.getpid()}"
        tmp.mkdir()
        started, t0 = _now(), time.monotonic()
        results: list[NotebookResult] = []
        manifest: dict[str, Any] = {
            "manifest_version": MANIFEST_VERSION,
            "run_id": run_id,
            "status": "running",
            "started": started,
            "finished": None,
            "duration_s": None,
            "lang": lang,
            "config_path": _display_path(config) if config else None,
            "parameters": {**common, "output_dir": "."},
            "fingerprints": fingerprints,
            "versions": _versions(),
            "git_commit": _git_commit(),
            "notebooks": [],
            "unused_parameters": [],
            "files": [],
        }
        try:
            for number, (entry, passed) in enumerate(zip(nb_entries, plans, strict=True), start=1):
                path: Path = entry["path"]
                result = NotebookResult(
                    name=path.name, sha256=entry["sha256"], title=_notebook_title(path, lang)
                )
                results.append(result)
                if "output_dir" in passed:
                    passed["output_dir"] = str(tmp)
                result.parameters = sorted(passed)
                _say(progress, f"[{number}/{len(nb_entries)}] {path.name} ...")
                output_nb = tmp / path.name
                t_nb = time.monotonic()
                try:
                    # Only the cells of the report's language run (and stay in the executed notebook).
                    source_nb = select_language(nbformat.read(str(path), as_version=4), lang)
                    papermill.execute_notebook(
                        source_nb,
                        str(output_nb),
                        parameters=passed,
                        kernel_name=kernel_name,
                        progress_bar=progress,
                        cwd=str(path.parent),
                        log_output=False,
                    )
                except PapermillExecutionError as exc:
                    _restore_input_path(output_nb, path)
                    result.duration_s = time.monotonic() - t_nb
                    result.status = "failed"
                    first_line = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "")
                    result.error = {
                        "notebook": path.name,
                        "cell_index": exc.cell_index,
                        "execution_count": exc.exec_count,
                        "ename": exc.ename,
                        "evalue": exc.evalue,
                        "source": first_line[:200],
                    }
                    raise
                except Exception as exc:  # kernel died, missing kernel, timeout, ...
                    _restore_input_path(output_nb, path)
                    result.duration_s = time.monotonic() - t_nb
                    result.status = "failed"
                    result.error = {
                        "notebook": path.name,
                        "cell_index": None,
                        "execution_count": None,
                        "ename": type(exc).__name__,
                        "evalue": str(exc),
                        "source": "",
                    }
                    raise
                _restore_input_path(output_nb, path)
                result.duration_s = time.monotonic() - t_nb
                page = export_html(output_nb, tmp / f"{path.stem}.html", title=result.title, lang=lang)
                result.status = "ok"
                result.html = page.path.name
                result.html_size_bytes = page.size_bytes
                result.figures = page.figures
                _say(
                    progress,
                    f"[{number}/{len(nb_entries)}] {path.name} ok ({result.duration_s:.1f} s, "
                    f"{page.figures} figures, HTML {page.size_bytes / 1e6:.1f} MB)",
                )
        except Exception as exc:
            failed = results[-1] if results else None
            manifest.update(
                status="failed",
                finished=_now(),
                duration_s=round(time.monotonic() - t0, 3),
                notebooks=[r.to_dict() for r in results],
            )
            if failed is not None and (tmp / failed.name).is_file():
                with contextlib.suppress(Exception):
                    page = export_html(
                        tmp / failed.name, tmp / f"{Path(failed.name).stem}.html", failed.title, lang
                    )
                    failed.html, failed.html_size_bytes = page.path.name, page.size_bytes
                    manifest["notebooks"] = [r.to_dict() for r in results]
            _write_json(tmp / "manifest.json", manifest)
            failed_dir = reports_dir / FAILED_DIR / run_id
            failed_dir.parent.mkdir(exist_ok=True)
            _replace_dir(tmp, failed_dir)
            raise ReportError(_failure_message(failed, exc, failed_dir)) from exc

        gather_skipped(tmp, KEY_FIGURES_NAME)  # sections each notebook could not compute, with their reasons
        key_figures = read_key_figures(tmp / KEY_FIGURES_NAME)
        finished = _now()
        manifest.update(
            status="ok",
            finished=finished,
            duration_s=round(time.monotonic() - t0, 3),
            notebooks=[r.to_dict() for r in results],
            unused_parameters=sorted(set(parameters or {}) - declared_anywhere),
        )
        write_digest(tmp, lang)  # one page to e-mail (reports/digest.py), linked first in the index
        index = render_index(
            run_id,
            [digest_link(lang), *({"html": r.html, "title": r.title, "status": r.status} for r in results)],
            key_figures=key_figures,
            lang=lang,
            version=manifest["versions"].get("custrel"),
            finished=finished,
        )
        (tmp / "index.html").write_text(index, encoding="utf-8")
        manifest["files"] = [
            {"name": p.relative_to(tmp).as_posix(), "size_bytes": p.stat().st_size}
            for p in sorted(tmp.rglob("*"))
            if p.is_file()
        ]
        _write_json(tmp / "manifest.json", manifest)
        final = reports_dir / run_id
        _replace_dir(tmp, final)
        _write_json(
            latest_path,
            {"run_id": run_id, "finished": finished, "state": state},
        )
        if manifest["unused_parameters"]:
            _say(progress, f"Note: no notebook declares {', '.join(manifest['unused_parameters'])}.")
        return ReportRun(run_id=run_id, path=final, status="ok", notebooks=results, manifest=manifest)


def _failure_message(failed: NotebookResult | None, exc: BaseException, failed_dir: Path) -> str:
    if failed is None:
        return f"The report run failed before any notebook ran: {exc}. Details in {failed_dir}."
    if failed.error is None:
        return (
            f"Notebook {failed.name} ran, but its report could not be written: {type(exc).__name__}: {exc}.\n"
            f"Details in {failed_dir}; earlier reports are untouched."
        )
    err = failed.error
    if err["cell_index"] is not None:
        where = f"cell {err['cell_index']}"
        if err["execution_count"] is not None:
            where += f" (In [{err['execution_count']}])"
        if err["source"]:
            where += f": `{err['source']}`"
    else:
        where = "before its first cell ran"
    return (
        f"Notebook {failed.name} failed in {where}.\n"
        f"{err['ename']}: {err['evalue']}\n"
        f"The executed notebook is kept in {failed_dir} for diagnosis; earlier reports are untouched."
    )


# -------------------------------------------------------------------------------------------------- CLI


@click.command("report")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="custrel.yml (default: the bundled sample).",
)
@click.option(
    "--notebook",
    "notebooks",
    multiple=True,
    help="Notebook to run (name or path); repeat for several. Default: all, in reading order.",
)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Notebook parameter, like papermill's -p; converted to the type the notebook declares.",
)
@click.option("--run-id", help="Name of the run folder (default: date and a hash of the parameters).")
@click.option(
    "--reports-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the runs (default: reports/ in the current directory).",
)
@click.option("--if-changed", is_flag=True, help="Skip when data, notebooks and parameters did not change.")
@click.option("--lang", type=click.Choice(["fr", "en"]), help="Report language (default: the config's).")
@click.option("--wait", is_flag=True, help="Wait for another running report instead of failing.")
@click.option("--no-progress", is_flag=True, help="No progress lines or bars.")
@click.option("--kernel", "kernel_name", help="Jupyter kernel name (default: each notebook's).")
def report_command(
    config_path: Path | None,
    notebooks: tuple[str, ...],
    parameters: tuple[tuple[str, str], ...],
    run_id: str | None,
    reports_dir: Path,
    if_changed: bool,
    lang: str | None,
    wait: bool,
    no_progress: bool,
    kernel_name: str | None,
) -> None:
    """Run the notebooks into REPORTS_DIR/<run-id>/ (HTML, index.html, manifest.json) and print the folder.

    REPORTS_DIR is --reports-dir, by default reports/ in the current directory."""
    try:
        run = run_report(
            config_path=config_path,
            notebooks=list(notebooks) or None,
            parameters=dict(parameters),
            reports_dir=reports_dir,
            run_id=run_id,
            if_changed=if_changed,
            lang=lang,
            progress=not no_progress,
            kernel_name=kernel_name,
            wait=wait,
        )
    except CustrelError as exc:
        raise click.ClickException(str(exc)) from exc
    if run.skipped:
        click.echo(f"Unchanged since {run.run_id}; nothing to do.", err=True)
    click.echo(str(run.path))
