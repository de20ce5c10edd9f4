"""Run the notebooks with papermill into ``reports/<run-id>/``: executed notebooks, HTML, index, manifest.

A run reads in steps, each in its own module:

1. the config (:func:`custrel_lib.config.load_config`, the one config reader) and the parameters, checked
   for every notebook before anything runs (:mod:`~custrel_lib.reports.parameters`);
2. the inputs' fingerprints, and the skip when nothing changed since the last run
   (:mod:`~custrel_lib.reports.manifest`);
3. under the lock, each notebook executed by papermill in a hidden temporary folder
   (:mod:`~custrel_lib.reports.execute`), several at once in worker processes unless ``jobs`` is 1
   (:mod:`~custrel_lib.reports.pool`), the data prepared once for all of them (:mod:`custrel_lib.workbench`,
   a per-run cache folder);
4. the index page and the manifest, then the rename into place; on failure the run goes to
   ``_failed/<run-id>/`` and :class:`~custrel_lib.exceptions.ReportError` names the notebook and the cell
   (:mod:`~custrel_lib.reports.publish`).

Examples
--------
>>> run = run_report("data/sample/custrel.yml", lang="en")  # doctest: +SKIP
>>> run.path  # doctest: +SKIP
PosixPath('.../reports/2026-11-22-1a2b3c4d')
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custrel_lib.config import CustrelConfig, load_config
from custrel_lib.exceptions import ConfigError, ReportError
from custrel_lib.io.load import uses_engine
from custrel_lib.paths import NOTEBOOKS_DIR, SAMPLE_CONFIG, default_reports_dir
from custrel_lib.reports import manifest as mf
from custrel_lib.reports.digest import digest_link, write_digest
from custrel_lib.reports.execute import failure_message, list_notebooks, notebook_title
from custrel_lib.reports.html import export_html
from custrel_lib.reports.index import read_key_figures, write_index
from custrel_lib.reports.parameters import (
    CACHE_ENV,
    check_run_id,
    common_parameters,
    default_run_id,
    plan_parameters,
)
from custrel_lib.reports.pool import NotebookFailed, NotebookTask, report_jobs, run_parallel, run_sequential
from custrel_lib.reports.publish import (
    WORK_PREFIX,
    archive_failure,
    clean_stale,
    publish,
    report_lock,
    work_folder,
)
from custrel_lib.sections import gather_skipped

__all__ = ["ReportRun", "RunPlan", "plan_run", "run_report"]

KEY_FIGURES_NAME = "key_figures.json"


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
    notebooks: list[mf.NotebookResult] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    @property
    def index(self) -> Path:
        return self.path / "index.html"


@dataclass
class RunPlan:
    """Everything decided before a run starts: checked, with nothing written yet."""

    run_id: str
    lang: str
    config: CustrelConfig | None
    common: dict[str, Any]
    notebooks: list[dict[str, Any]]
    plans: list[dict[str, Any]]
    fingerprints: dict[str, Any]
    state: dict[str, Any]
    user_parameters: list[str]


def plan_run(
    config_path: str | Path | None,
    notebooks: Iterable[str | Path] | None,
    parameters: Mapping[str, Any] | None,
    run_id: str | None,
    lang: str | None,
    notebooks_dir: str | Path,
) -> RunPlan:
    """Read the config, select the notebooks and check every parameter against every notebook.

    Raises
    ------
    ConfigError
        Invalid config, notebook selection, run id, unknown parameter or wrong parameter type.
    """
    if config_path is None and SAMPLE_CONFIG.is_file():
        config_path = SAMPLE_CONFIG
    if config_path is not None and not Path(config_path).is_file():
        raise ConfigError(f"Config file not found: {Path(config_path).resolve()}.")
    config = load_config(config_path) if config_path is not None else None
    lang, common = common_parameters(config, lang, parameters)
    selected = notebooks or (config.report.get("notebooks") if config is not None else None)
    paths = list_notebooks(selected, notebooks_dir)
    entries = [{"name": p.name, "path": p, "sha256": mf.sha256_file(p)} for p in paths]
    run_id = check_run_id(run_id or default_run_id(common, [p.name for p in paths]))
    plans = plan_parameters(paths, common, parameters or {})
    fingerprints = mf.fingerprint_inputs(config)
    return RunPlan(
        run_id=run_id,
        lang=lang,
        config=config,
        common=common,
        notebooks=entries,
        plans=plans,
        fingerprints=fingerprints,
        state=mf.run_state(common, fingerprints, entries),
        user_parameters=sorted(parameters or {}),
    )


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the job) unwinds like Ctrl-C, so temporary folders are removed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """Set an environment variable for the kernels started inside the block."""
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _tasks(plan: RunPlan, tmp: Path, work: Path, kernel_name: str | None) -> list[NotebookTask]:
    """One task per notebook, in reading order: executed copy and page into ``tmp``, kernel log into ``work``."""
    tasks = []
    for number, (entry, passed) in enumerate(zip(plan.notebooks, plan.plans, strict=True), start=1):
        path: Path = entry["path"]
        result = mf.NotebookResult(
            name=path.name, sha256=entry["sha256"], title=notebook_title(path, plan.lang)
        )
        passed = {**passed, "output_dir": str(tmp)} if "output_dir" in passed else passed
        result.parameters = sorted(passed)
        tasks.append(
            NotebookTask(
                number=number,
                total=len(plan.notebooks),
                path=path,
                output=tmp / path.name,
                html=tmp / f"{path.stem}.html",
                parameters=passed,
                lang=plan.lang,
                log=work / f"kernel-{path.stem}.log",
                kernel_name=kernel_name,
                result=result,
            )
        )
    return tasks


def _run_notebooks(
    plan: RunPlan,
    tmp: Path,
    work: Path,
    results: list[mf.NotebookResult],
    progress: bool,
    kernel_name: str | None,
    jobs: int,
) -> None:
    """Execute each notebook into ``tmp`` and write its HTML page; ``results`` gets the notebooks' results in
    reading order (one after the other: appended as each starts).

    Raises
    ------
    NotebookFailed
        Names the failed notebook's result.
    """
    tasks = _tasks(plan, tmp, work, kernel_name)
    say = functools.partial(_say, progress)
    if jobs == 1:
        run_sequential(tasks, results, progress, say)
    else:
        results.extend(task.result for task in tasks)
        run_parallel(tasks, jobs, say)


def _fail(
    plan: RunPlan,
    reports_dir: Path,
    tmp: Path,
    work: Path,
    manifest: dict,
    results: list[mf.NotebookResult],
    failed: mf.NotebookResult | None,
    exc: BaseException,
) -> ReportError:
    """Archive a failed run (with the failed notebook's page when it can be written) and explain it."""
    if failed is not None and (tmp / failed.name).is_file():
        with contextlib.suppress(Exception):
            stem = Path(failed.name).stem
            page = export_html(tmp / failed.name, tmp / f"{stem}.html", failed.title, plan.lang)
            failed.html, failed.html_size_bytes = page.path.name, page.size_bytes
    manifest.update(status="failed", finished=mf.now(), notebooks=[r.to_dict() for r in results])
    mf.write_json(tmp / "manifest.json", manifest)
    logs = sorted(work.glob("kernel-*.log"))
    failed_dir = archive_failure(tmp, reports_dir, plan.run_id, logs)
    return ReportError(failure_message(failed, exc, failed_dir))


def _finish(plan: RunPlan, tmp: Path, manifest: dict, results: list[mf.NotebookResult]) -> None:
    """Gather the notebooks' outputs into the run folder: skipped sections, index page, manifest."""
    gather_skipped(tmp, KEY_FIGURES_NAME)  # sections each notebook could not compute, with their reasons
    manifest.update(status="ok", finished=mf.now(), notebooks=[r.to_dict() for r in results])
    write_digest(tmp, plan.lang)  # one page to e-mail (reports/digest.py), linked first in the index
    pages = [
        digest_link(plan.lang),
        *({"html": r.html, "title": r.title, "status": r.status} for r in results),
    ]
    write_index(
        tmp / "index.html",
        plan.run_id,
        pages,
        key_figures=read_key_figures(tmp / KEY_FIGURES_NAME),
        lang=plan.lang,
        version=manifest["versions"].get("custrel"),
        finished=manifest["finished"],
    )
    manifest["files"] = mf.list_files(tmp)
    mf.write_json(tmp / "manifest.json", manifest)


def _execute(
    plan: RunPlan,
    reports_dir: Path,
    tmp: Path,
    work: Path,
    progress: bool,
    kernel_name: str | None,
    jobs: int,
) -> tuple[dict, list[mf.NotebookResult]]:
    """Run the notebooks and write the index and the manifest into ``tmp``; on failure, archive and explain.

    Raises
    ------
    ReportError
        Names the failed notebook (the first in reading order when several failed side by side).
    """
    t0 = time.monotonic()
    manifest = mf.new_manifest(plan.run_id, plan.lang, plan.config, plan.common, plan.fingerprints)
    manifest["jobs"] = jobs
    results: list[mf.NotebookResult] = []
    try:
        _run_notebooks(plan, tmp, work, results, progress, kernel_name, jobs)
    except Exception as exc:
        manifest["duration_s"] = round(time.monotonic() - t0, 3)
        failed, cause = (exc.result, exc.cause) if isinstance(exc, NotebookFailed) else (None, exc)
        raise _fail(plan, reports_dir, tmp, work, manifest, results, failed, cause) from cause
    manifest["duration_s"] = round(time.monotonic() - t0, 3)
    _finish(plan, tmp, manifest, results)
    return manifest, results


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
    jobs: int | None = None,
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
        type each notebook declares; a name no notebook declares is refused.
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
        Print a line when each notebook starts and ends, and papermill's per-cell progress bar when the notebooks
        run one after the other (on stderr).
    kernel_name : str, optional
        Jupyter kernel; default: the one each notebook names.
    wait : bool
        Wait for another run's lock instead of failing.
    notebooks_dir : str or Path
        Where notebook names are looked up.
    jobs : int, optional
        How many notebooks run at once, each in a worker process; default: ``$CUSTREL_REPORT_JOBS``, else the
        CPU cores, at most the number of notebooks. 1 runs them one after the other in this process.

    Returns
    -------
    ReportRun

    Raises
    ------
    ReportError
        A notebook failed (the message names it and the cell), or another run holds the lock.
    ConfigError
        Invalid config, notebook selection, run id or parameter.
    """
    plan = plan_run(config_path, notebooks, parameters, run_id, lang, notebooks_dir)
    large = plan.config is not None and uses_engine(plan.config)
    jobs = report_jobs(jobs, len(plan.notebooks), large=large)
    reports_dir = Path(reports_dir if reports_dir is not None else default_reports_dir()).resolve()
    with report_lock(reports_dir, wait=wait), _terminate_as_interrupt():
        clean_stale(reports_dir)
        if if_changed and (last := mf.last_unchanged_run(reports_dir, plan.state)) is not None:
            _say(progress, f"Nothing changed since run {last[0]}: skipped.")
            return ReportRun(run_id=last[0], path=last[1], status="skipped", manifest=last[2])
        with (
            work_folder(reports_dir, plan.run_id) as tmp,
            work_folder(reports_dir, plan.run_id, WORK_PREFIX) as work,
            _environment(CACHE_ENV, str(work / "cache")),
        ):
            manifest, results = _execute(plan, reports_dir, tmp, work, progress, kernel_name, jobs)
            final = publish(tmp, reports_dir, plan.run_id)
        mf.record_latest(reports_dir, plan.run_id, manifest["finished"], plan.state)
        return ReportRun(run_id=plan.run_id, path=final, status="ok", notebooks=results, manifest=manifest)
