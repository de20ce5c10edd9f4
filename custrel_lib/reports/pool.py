"""Run a report's notebooks one after the other, or side by side in worker processes (``custrel report --jobs``).

Each notebook is one :class:`NotebookTask`: papermill runs it (:func:`~custrel_lib.reports.execute.execute`),
then its HTML page is written. With ``jobs == 1`` the tasks run in this process, in reading order, with
papermill's per-cell progress bar. With more, each task runs in a process of its own, at most ``jobs`` at a
time, started in reading order (so the first notebook takes the run cache's lock first and prepares the data,
while the next ones start their kernels: :func:`custrel_lib.runcache.get_or_compute`).

A worker is a fresh interpreter (``python -c``, reading its task as a pickle on its standard input and writing
its result to a file of the run's private work folder), not a fork: this process may hold DuckDB or ZeroMQ
state that a fork would copy half-way. Not :mod:`multiprocessing` either: its ``spawn`` runs the caller's main
script again in every worker (a script calling :func:`~custrel_lib.reports.run.run_report` without an
``if __name__ == "__main__"`` guard would start over), and a
:class:`~concurrent.futures.ProcessPoolExecutor` cannot stop a task that has started. Here the run holds each
process: when one notebook fails the others are stopped at once (SIGTERM, which a worker turns into an
interrupt, so papermill shuts its kernel down). A worker whose run is killed (``kill -9``) stops by itself; a
kernel whose worker dies stops by itself too (ipykernel watches its parent).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custrel_lib.exceptions import ConfigError
from custrel_lib.reports.execute import execute, ipc_prefix, lost_worker_error, remove_sockets
from custrel_lib.reports.html import export_html
from custrel_lib.reports.manifest import NotebookResult

__all__ = ["JOBS_ENV", "NotebookFailed", "NotebookTask", "report_jobs", "run_parallel", "run_sequential"]

JOBS_ENV = "CUSTREL_REPORT_JOBS"
STOP_WAIT_S = 20.0  # a stopped worker shuts its kernel down (papermill waits up to 5 s for a busy one)
POLL_S = 0.1
GRACE_S = 10.0  # when a notebook fails, how long the earlier ones still running get to fail too
# The math libraries' thread pools of each kernel (OpenBLAS, OpenMP, MKL). Each sizes its pool to every core, so
# two kernels at once on 2 cores ran 4 busy-waiting BLAS threads: the sample report took 48.9 s, 38.1 s with one
# thread per kernel (see _worker_env). A value the user set is kept.
THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the workers import this very custrel_lib
# custrel_lib._startup first: without it, building rfc3987_syntax's grammar took over a second of a worker's start.
_BOOT = (
    f"import sys; sys.path.insert(0, {str(PACKAGE_ROOT)!r}); import custrel_lib._startup; "
    "from custrel_lib.reports.pool import work; work()"
)


@dataclass
class NotebookTask:
    """One notebook of a run: where it is, where its executed copy, log and page go, and its result."""

    number: int
    total: int
    path: Path
    output: Path
    html: Path
    parameters: dict[str, Any]
    lang: str
    log: Path
    kernel_name: str | None
    result: NotebookResult

    @property
    def outbox(self) -> Path:
        """Where a worker writes its result (the kernel log's folder: the run's private work folder)."""
        return self.log.with_name(f"result-{self.path.stem}.pkl")

    def started_line(self) -> str:
        return f"[{self.number}/{self.total}] {self.path.name} ..."

    def done_line(self) -> str:
        r = self.result
        return (
            f"[{self.number}/{self.total}] {self.path.name} ok ({r.duration_s:.1f} s, "
            f"{r.figures} figures, HTML {(r.html_size_bytes or 0) / 1e6:.1f} MB)"
        )


class NotebookFailed(Exception):
    """A notebook of the run failed: ``result`` is its result; ``cause`` (also ``__cause__``), what it raised."""

    def __init__(self, result: NotebookResult, cause: BaseException):
        super().__init__(f"{result.name}: {type(cause).__name__}: {cause}")
        self.result, self.cause = result, cause


def report_jobs(jobs: int | str | None, n_notebooks: int, large: bool = False) -> int:
    """How many notebooks run at once: ``jobs``, else ``$CUSTREL_REPORT_JOBS``, else the CPU cores this process
    may use (1 when the inputs are ``large``: each kernel holds the prepared data, about 2.5 GB at a million
    customers, and the first one's preparation is the run's critical path anyway); never more than the notebooks.

    Raises
    ------
    ConfigError
        Not a whole number of at least 1.
    """
    value: Any = jobs if jobs is not None else os.environ.get(JOBS_ENV) or None
    if value is None and large:
        value = 1
    if value is None:
        value = cpu_cores()
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, float | bool):
        where = "--jobs" if jobs is not None else JOBS_ENV
        raise ConfigError(
            f"{where} must be a whole number of notebooks run at once (1 or more), got {value!r}."
        )
    return max(1, min(number, n_notebooks))


def run_task(task: NotebookTask, progress_bar: bool = False) -> None:
    """Execute one notebook and write its HTML page, filling ``task.result``."""
    result = task.result
    execute(
        task.path, task.output, task.parameters, result, task.lang, task.log, task.kernel_name, progress_bar
    )
    page = export_html(task.output, task.html, title=result.title, lang=task.lang)
    result.html, result.html_size_bytes, result.figures = page.path.name, page.size_bytes, page.figures


def run_sequential(
    tasks: list[NotebookTask], results: list[NotebookResult], progress: bool, say: Callable[[str], None]
) -> None:
    """Run the tasks here, one after the other, appending each result as it starts (with papermill's per-cell
    progress bar when ``progress``).

    Raises
    ------
    NotebookFailed
        At the first notebook that fails; the later ones are not run.
    """
    for task in tasks:
        results.append(task.result)
        say(task.started_line())
        try:
            run_task(task, progress_bar=progress)
        except Exception as exc:
            raise NotebookFailed(task.result, exc) from exc
        say(task.done_line())


# ------------------------------------------------------------------------------------------ in parallel


def run_parallel(tasks: list[NotebookTask], jobs: int, say: Callable[[str], None]) -> None:
    """Run the tasks in ``jobs`` worker processes, started in reading order; a worker that is done takes the
    next task waiting (each worker pays its start, chiefly papermill's imports, once).

    Raises
    ------
    NotebookFailed
        For the failed notebook first in reading order (:func:`_first_failure`); every other worker is stopped
        first, and its kernel with it.
    """
    waiting = list(tasks)
    busy: dict[subprocess.Popen, NotebookTask] = {}
    workers: list[subprocess.Popen] = []
    try:
        while waiting or busy:
            workers = [w for w in workers if w in busy or w.poll() is None]  # an idle worker may be gone
            while waiting and len(workers) < jobs:
                workers.append(_start_worker(jobs))
            for worker in workers:
                if waiting and worker not in busy and worker.poll() is None:
                    busy[worker] = task = waiting.pop(0)
                    _send(worker, task)
                    say(task.started_line())
                elif not waiting and worker not in busy:
                    _send(worker, None)  # no more work: it exits
            finished = [w for w in busy if busy[w].outbox.is_file() or w.poll() is not None]
            if not finished:
                time.sleep(POLL_S)
            for worker in finished:  # in the order the workers took their tasks
                task = busy.pop(worker)
                cause = _collect(worker, task)
                if cause is not None:
                    result, cause = _first_failure(task, cause, busy)
                    raise NotebookFailed(result, cause) from cause
                say(task.done_line())
    finally:
        _stop(workers + list(busy))
        for task in tasks:  # a worker killed (by the system, or stopped too late) leaves its kernel's sockets
            remove_sockets(ipc_prefix(task.log))


def _first_failure(
    task: NotebookTask, cause: BaseException, busy: dict[subprocess.Popen, NotebookTask]
) -> tuple[NotebookResult, BaseException]:
    """The failure to report when ``task`` failed: its own, or that of a notebook earlier in reading order.

    A later notebook can fail first for a cause an earlier one meets too (a wrong ``as_of``: the first notebook
    fails preparing the data, the next one, which waited for it, fails the same way a moment later). The later
    notebooks are stopped at once; the earlier ones still running get ``GRACE_S`` to finish, and the first
    failure in reading order is the one named, as a run of one notebook after the other would name it.
    """
    for worker, other in busy.items():
        if other.number > task.number:
            with contextlib.suppress(OSError):
                worker.terminate()
    named = (task.number, task.result, cause)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and any(other.number < task.number for other in busy.values()):
        for worker in [w for w, other in busy.items() if other.number < task.number]:
            if busy[worker].outbox.is_file() or worker.poll() is not None:
                other = busy.pop(worker)
                if (other_cause := _collect(worker, other)) is not None and other.number < named[0]:
                    named = (other.number, other.result, other_cause)
        time.sleep(POLL_S)
    return named[1], named[2]


def cpu_cores() -> int:
    """The CPU cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _worker_env(jobs: int) -> dict[str, str]:
    """The environment of a worker, hence of its kernel: the cores shared out between the ``jobs`` kernels for
    the math libraries' thread pools, unless the user set them."""
    env = dict(os.environ)
    threads = str(max(1, cpu_cores() // max(1, jobs)))
    for name in THREAD_ENV:
        env.setdefault(name, threads)
    return env


def _start_worker(jobs: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _BOOT, str(os.getpid())], stdin=subprocess.PIPE, env=_worker_env(jobs)
    )


def _send(worker: subprocess.Popen, task: NotebookTask | None) -> None:
    """Give a worker its next task (a pickle on its standard input), or close that input when there is none."""
    with contextlib.suppress(BrokenPipeError, ValueError):  # a dead worker is seen as such by _collect
        if task is None:
            worker.stdin.close()
        else:
            worker.stdin.write(pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL))
            worker.stdin.flush()


def _collect(worker: subprocess.Popen, task: NotebookTask) -> BaseException | None:
    """Copy a worker's result into ``task.result``; return what it raised (None when all went well)."""
    if not task.outbox.is_file():  # the worker died without a word (killed, out of memory)
        task.result.status = "failed"
        task.result.error = lost_worker_error(task.result, task.output, worker.returncode, task.log)
        return RuntimeError(task.result.error["evalue"])
    with open(task.outbox, "rb") as fh:
        result, cause = pickle.load(fh)  # written by our own worker, in the run's private work folder
    task.result.__dict__.update(result.__dict__)
    return cause


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop running workers: SIGTERM (each shuts its kernel down), then SIGKILL for any still there."""
    for process in processes:
        with contextlib.suppress(OSError):
            process.terminate()
    deadline = time.monotonic() + STOP_WAIT_S
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ------------------------------------------------------------------------------------------ the worker


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _watch_parent(parent: int) -> None:
    """Stop this worker when the run that started it is gone (killed with no chance to stop its workers)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def work() -> None:
    """A worker process (``python -c ... PARENT_PID``): run each task read on stdin (pickles, until it closes),
    writing ``(result, None)`` or ``(result, what it raised)`` to the task's outbox; exit 130 when stopped."""
    parent = int(sys.argv[1])
    signal.signal(signal.SIGTERM, _interrupt)  # unwinds papermill, which shuts the kernel down on its way out
    try:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
        while True:
            try:
                task: NotebookTask = pickle.load(sys.stdin.buffer)
            except EOFError:
                return
            try:
                run_task(task)
                outcome: tuple[NotebookResult, BaseException | None] = (task.result, None)
            except Exception as exc:
                outcome = (task.result, _portable(exc))
            partial = task.outbox.with_suffix(".tmp")
            partial.write_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(partial, task.outbox)
    except KeyboardInterrupt:  # stopped by the run (or Ctrl-C): nobody waits for a result
        sys.exit(130)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives a pickle (to cross back to the run), else a RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
