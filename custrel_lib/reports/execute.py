"""Run one notebook with papermill and explain its failure in terms a user can act on.

The kernel's own stderr (jupyter's transport warnings, C-level messages) goes to a log file of the run, not
to the terminal; a kernel that dies (out of memory, killed) is reported with the notebook, the cell that was
running, the kernel's peak memory and what to do about it.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from custrel_lib.exceptions import ConfigError
from custrel_lib.paths import NOTEBOOKS_DIR
from custrel_lib.reports.html import select_language
from custrel_lib.reports.manifest import NotebookResult
from custrel_lib.reports.notebook_engine import register_engine, running_file

__all__ = ["execute", "failure_message", "list_notebooks", "lost_worker_error", "notebook_title"]

_POLL_S = 0.2


EXPLORATION_MARK = "-explore"


def is_exploration(path: str | Path) -> bool:
    """An interactive notebook (``*-explore*.ipynb``, docs/explore.md): never run by default, only when named."""
    return EXPLORATION_MARK in Path(path).stem


def list_notebooks(selected: Any = None, notebooks_dir: str | Path = NOTEBOOKS_DIR) -> list[Path]:
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
    if isinstance(selected, str) or not all(isinstance(s, str | Path) for s in selected):
        raise ConfigError("'report.notebooks' must be a list of notebook names.")
    paths: list[Path] = []
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


def notebook_title(path: Path, lang: str) -> str:
    """Title for the index: metadata ``custrel.title.<lang>``, else the first ``# `` heading of the cells shown
    in ``lang`` (cells tagged for another language are skipped), else the name."""
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


# ------------------------------------------------------------------------------------------ the kernel


@dataclass
class KernelWatch:
    """What the run knows of a notebook's kernel: its log file and the peak memory seen (bytes)."""

    log: Path
    peak_bytes: int = 0
    pid: int | None = None


def _peak_rss(pid: int) -> int | None:
    """The peak resident memory of a live process (``VmHWM``), in bytes; None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+)\s+kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _watch_memory(watch: KernelWatch) -> None:
    while watch.pid is not None:
        peak = _peak_rss(watch.pid)
        if peak is None:
            return
        watch.peak_bytes = max(watch.peak_bytes, peak)
        time.sleep(_POLL_S)


# Run by an IPython kernel before the notebook's first cell. The notebooks' plotly imports nbformat, hence
# jsonschema, which imports rfc3987_syntax (when installed, as jupyterlab brings it) and builds its grammar: over a
# second of every kernel's start, for IRI format checks that nothing in a report makes (custrel_lib._startup, for the
# command's own processes).
KERNEL_STARTUP = "import sys; sys.modules.setdefault('rfc3987_syntax', None)"


def kernel_command(kernel_cmd: list[str]) -> list[str]:
    """The command of a report's kernel: an IPython kernel gets :data:`KERNEL_STARTUP` as its ``exec_lines``;
    any other kernel is left as it is."""
    if not any("ipykernel" in part for part in kernel_cmd[:3]):
        return list(kernel_cmd)
    return [*kernel_cmd, f"--IPKernelApp.exec_lines={KERNEL_STARTUP}"]


def ipc_prefix(log: str | Path) -> str | None:
    """Where the sockets of the kernel whose log is ``log`` go: a path prefix of the temporary folder (POSIX),
    derived from the log's absolute path (each notebook of a run has its own, in the run's private work folder),
    or None (TCP). Derived rather than random, so that whoever finds the log can remove the sockets a killed
    kernel left (:func:`remove_sockets`): the run when a worker was killed, the next run when the run was.

    Over TCP, jupyter_client picks five free ports, closes them and hands them to the kernel, which binds them;
    two kernels started at once by ``custrel report --jobs`` (in processes of their own) can pick the same port,
    and the loser dies with "Address already in use" while papermill waits 60 s for it (papermill issue 511,
    seen here on the sample). Unix sockets under a path of their own cannot collide.
    """
    if os.name != "posix":
        return None
    tag = hashlib.sha256(os.path.abspath(log).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"custrel-kernel-{tag}")


def remove_sockets(prefix: str | None) -> None:
    """Remove the socket files a kernel left at ``prefix`` (a kernel or a worker that died leaves them)."""
    for leftover in glob.glob(f"{glob.escape(prefix)}-*") if prefix else []:
        with contextlib.suppress(OSError):
            os.remove(leftover)


def kernel_manager_class(watch: KernelWatch, ipc: str | None = None) -> type:
    """A jupyter kernel manager that sends the kernel's stderr to ``watch.log``, follows its memory, starts
    an IPython kernel with :data:`KERNEL_STARTUP` and, given ``ipc`` (:func:`ipc_prefix`), connects to it
    through Unix sockets at that prefix."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class WatchedKernelManager(AsyncKernelManager):
        if ipc is not None:

            @default("transport")
            def _transport_default(self) -> str:
                return "ipc"

            @default("ip")
            def _ip_default(self) -> str:
                return ipc

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kernel_cmd = kernel_command(kernel_cmd)
            with open(watch.log, "ab") as log:  # the child keeps its own copy of the descriptor
                kw["stderr"] = log
                await super()._async_launch_kernel(kernel_cmd, **kw)
            watch.pid = getattr(self.provisioner, "pid", None)
            if watch.pid is not None:
                threading.Thread(target=_watch_memory, args=(watch,), daemon=True).start()

    return WatchedKernelManager


def _running_cell(executed: Path, running: Path | None = None) -> tuple[int | None, dict]:
    """Index and cell of the cell running when the kernel or the worker died: the last cell papermill started
    in the executed notebook, or the one noted in ``running`` (:func:`running_file`) when the notebook was not
    saved since that cell started (the worker itself was killed)."""
    with contextlib.suppress(Exception):
        nb = nbformat.read(str(executed), as_version=4)
        started = [
            i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("papermill", {}).get("start_time")
        ]
        if running is not None and running.is_file():
            started.append(int(running.read_text(encoding="utf-8")))
        index = max((i for i in started if i < len(nb.cells)), default=None)
        if index is not None:
            return index, nb.cells[index]
    return None, {}


def _first_line(source: Any) -> str:
    return next((ln for ln in str(source).splitlines() if ln.strip()), "")[:200]


def lost_worker_error(
    result: NotebookResult, output: Path, exitcode: int | None, log: Path | None = None
) -> dict:
    """``result.error`` for a notebook whose worker process (``custrel report --jobs``) ended without a word:
    killed, or out of memory; the cell is the one that was running (the executed notebook, and the cell noted
    next to the kernel's ``log``)."""
    index, cell = _running_cell(output, running_file(log) if log is not None else None)
    return {
        "notebook": result.name,
        "cell_index": index,
        "execution_count": cell.get("execution_count"),
        "ename": "WorkerDied",
        "evalue": f"the process running the notebook ended unexpectedly (exit code {exitcode})",
        "source": _first_line(cell.get("source", "")),
    }


def _error(result: NotebookResult, exc: BaseException, output: Path, watch: KernelWatch) -> dict:
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        return {
            "notebook": result.name,
            "cell_index": exc.cell_index,
            "execution_count": exc.exec_count,
            "ename": exc.ename,
            "evalue": exc.evalue,
            "source": _first_line(exc.source),
        }
    died = isinstance(exc, DeadKernelError)
    index, cell = _running_cell(output, running_file(watch.log)) if died else (None, {})
    return {
        "notebook": result.name,
        "cell_index": index,
        "execution_count": cell.get("execution_count"),
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "source": _first_line(cell.get("source", "")),
        "kernel_died": died,
        "peak_memory_bytes": watch.peak_bytes or None,
    }


def execute(
    path: Path,
    output: Path,
    parameters: dict[str, Any],
    result: NotebookResult,
    lang: str,
    log: Path,
    kernel_name: str | None = None,
    progress: bool = False,
) -> None:
    """Run ``path`` (only the cells of ``lang``) into ``output``; fill ``result``'s duration, status, error.

    Raises
    ------
    Exception
        What papermill raised (``result.error`` then explains it).
    """
    import papermill

    watch = KernelWatch(log=log)
    ipc = ipc_prefix(log)
    t0 = time.monotonic()
    try:
        papermill.execute_notebook(
            select_language(nbformat.read(str(path), as_version=4), lang),
            str(output),
            parameters=parameters,
            engine_name=register_engine(),
            kernel_name=kernel_name,
            progress_bar=progress,
            cwd=str(path.parent),
            log_output=False,
            source_path=path,
            running=running_file(log),
            kernel_manager_class=kernel_manager_class(watch, ipc),
        )
    except Exception as exc:  # a cell failed, the kernel died, no such kernel, ...
        result.status, result.error = "failed", _error(result, exc, output, watch)
        raise
    finally:
        watch.pid = None
        remove_sockets(ipc)  # a kernel that died leaves its sockets
        result.duration_s = time.monotonic() - t0
    result.status = "ok"


# ------------------------------------------------------------------------------------------- messages

ADVICE_KERNEL = (
    "What to do: run on a smaller sample of customers, on a machine with more memory, or with the Spark "
    "engine (engine: pyspark in custrel.yml); if nothing ran out of memory, look for a process that killed it."
)


def _where(err: dict) -> str:
    if err.get("cell_index") is None:
        return "before its first cell ran"
    where = f"cell {err['cell_index']}"
    if err.get("execution_count") is not None:
        where += f" (In [{err['execution_count']}])"
    if err.get("source"):
        where += f": `{err['source']}`"
    return where


def failure_message(failed: NotebookResult | None, exc: BaseException, failed_dir: Path) -> str:
    """What the terminal says about a failed run: which notebook, where, why, and what to do."""
    if failed is None:
        return f"The report run failed before any notebook ran: {exc}. Details in {failed_dir}."
    if failed.error is None:
        return (
            f"Notebook {failed.name} ran, but its report could not be written: {type(exc).__name__}: {exc}.\n"
            f"Details in {failed_dir}; earlier reports are untouched."
        )
    err = failed.error
    if err.get("kernel_died"):
        peak = err.get("peak_memory_bytes")
        memory = f"its peak memory was {peak / 2**20:,.0f} MB" if peak else "its peak memory is unknown"
        return (
            f"The kernel of notebook {failed.name} died while running {_where(err)}; {memory}. "
            "It was killed: most often the machine ran out of memory.\n"
            f"{ADVICE_KERNEL}\n"
            f"The executed notebook and the kernel's log are kept in {failed_dir}; earlier reports are untouched."
        )
    if err.get("ename") in _user_errors():  # the data or custrel.yml, not the code: the cause leads
        return (
            f"{err['evalue']}\n"
            f"({err['ename']} in notebook {failed.name}, {_where(err)}.) Nothing was published; `custrel validate` "
            f"checks custrel.yml and the files in seconds. The executed notebook is kept in {failed_dir}."
        )
    return (
        f"Notebook {failed.name} failed {'' if err.get('cell_index') is None else 'in '}{_where(err)}.\n"
        f"{err['ename']}: {err['evalue']}\n"
        f"The executed notebook is kept in {failed_dir} for diagnosis; earlier reports are untouched."
    )


def _user_errors() -> set[str]:
    """The names of the errors a user causes with custrel.yml or the files (ConfigError, DataContractError, ...)."""
    from custrel_lib import exceptions

    found, todo = set(), [exceptions.ConfigError, exceptions.DataContractError, exceptions.RuleError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return found
