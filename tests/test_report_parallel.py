"""Notebooks run side by side (`custrel report --jobs`): the run cache computes each entry once across processes,
and a failing notebook is named and stops the others with their kernels. That a parallel report equals a
sequential one is checked on the sample in tests/test_report.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_notebook

from custrel_lib.cli import report_command
from custrel_lib.exceptions import ConfigError, ReportError
from custrel_lib.reports import pool
from custrel_lib.reports.execute import (
    KERNEL_STARTUP,
    execute,
    ipc_prefix,
    kernel_command,
    remove_sockets,
    running_file,
)
from custrel_lib.reports.manifest import NotebookResult
from custrel_lib.reports.parameters import CACHE_ENV
from custrel_lib.reports.pool import JOBS_ENV, NotebookTask, report_jobs
from custrel_lib.reports.run import run_report

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------------- the run cache's lock

ASK = """
import os, sys, time
from pathlib import Path
from custrel_lib import runcache

log, role, outcome = sys.argv[1], sys.argv[2], sys.argv[3]
lock = Path(os.environ["CUSTREL_RUN_CACHE"], "entry.lock")

def note(line):
    with open(log, "a") as fh:
        fh.write(line + "\\n")

def another_process_waits_for_the_lock():
    inode = f":{os.stat(lock).st_ino} "
    return any("->" in ln and inode in ln for ln in Path("/proc/locks").read_text().splitlines())

def compute():
    note("compute started")
    if role == "first":  # hold the lock until the other process is blocked on it
        deadline = time.monotonic() + 120
        while not another_process_waits_for_the_lock():
            assert time.monotonic() < deadline, "nobody came"
            time.sleep(0.05)
    if outcome == "fail":
        note("compute failed")
        raise RuntimeError("no luck")
    note("compute done")
    return {"answer": 42}

note("asked")
try:
    value, reused = runcache.get_or_compute("entry", compute)
except RuntimeError:
    sys.exit(3)
note(f"got {value['answer']} reused={reused}")
"""


def _ask(cache: Path, log: Path, role: str, outcome: str = "ok") -> subprocess.Popen:
    env = {**os.environ, CACHE_ENV: str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", ASK, str(log), role, outcome], env=env)


def _wait_for_line(log: Path, line: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not (log.is_file() and line in log.read_text().splitlines()):
        assert time.monotonic() < deadline, f"{line!r} never written to {log}"
        time.sleep(0.05)


def test_two_processes_asking_at_once_compute_once(tmp_path):
    """The first computes and holds the lock until the second is blocked on it (read in /proc/locks): the
    second then loads what the first wrote."""
    cache, log = tmp_path / "cache", tmp_path / "log.txt"
    first = _ask(cache, log, "first")
    _wait_for_line(log, "compute started")
    second = _ask(cache, log, "second")
    assert first.wait(180) == 0 and second.wait(180) == 0
    lines = log.read_text().splitlines()
    assert lines.index("asked", 1) < lines.index("compute done")
    assert lines.count("compute started") == 1
    assert sorted(ln for ln in lines if ln.startswith("got")) == ["got 42 reused=False", "got 42 reused=True"]
    assert [p.name for p in sorted(cache.glob("*.pkl"))] == ["entry.pkl"] and not list(cache.glob("*.tmp"))


def test_a_computation_that_fails_writes_nothing_and_the_next_one_computes(tmp_path):
    cache, log = tmp_path / "cache", tmp_path / "log.txt"
    first = _ask(cache, log, "first", outcome="fail")
    _wait_for_line(log, "compute started")
    second = _ask(cache, log, "second")
    assert first.wait(180) == 3 and second.wait(180) == 0
    lines = log.read_text().splitlines()
    assert lines.index("asked", 1) < lines.index("compute failed")  # it was waiting during the failure
    assert lines.count("compute started") == 2 and lines[-1] == "got 42 reused=False"


# ------------------------------------------------------------------------------------------ how many jobs


def test_jobs_default_to_the_cores_and_never_exceed_the_notebooks(monkeypatch):
    monkeypatch.delenv(JOBS_ENV, raising=False)
    cores = len(os.sched_getaffinity(0))
    assert report_jobs(None, 100) == cores and report_jobs(None, 1) == 1
    assert report_jobs(3, 2) == 2 and report_jobs(1, 4) == 1
    # Large inputs (the engine path): one notebook at a time unless asked otherwise.
    assert report_jobs(None, 4, large=True) == 1 and report_jobs(2, 4, large=True) == 2
    monkeypatch.setenv(JOBS_ENV, "3")
    assert report_jobs(None, 4) == 3 and report_jobs(2, 4) == 2  # the argument wins over the variable
    assert report_jobs(None, 4, large=True) == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(JOBS_ENV, bad)
        with pytest.raises(ConfigError, match=JOBS_ENV):
            report_jobs(None, 4)
    with pytest.raises(ConfigError, match="--jobs"):
        report_jobs(0, 4)
    result = CliRunner().invoke(report_command, ["--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


# ------------------------------------------------------------------------------------ a failing notebook

PARAMETERS = 'lang = "fr"\nconfig_path = ""\noutput_dir = ""'
RECORD = """
import os, pathlib
pathlib.Path(output_dir, "pids-{name}.txt").write_text(f"{{os.getpid()}} {{os.getppid()}}")
"""
WAIT_FOR_FIRST = """
import pathlib, time
while not pathlib.Path(output_dir, "pids-1.0.txt").is_file():
    time.sleep(0.1)
raise ValueError("the second notebook fails on purpose")
"""


def _notebook(folder: Path, name: str, *bodies: str) -> None:
    nb = new_notebook(cells=[new_code_cell(PARAMETERS), *(new_code_cell(b) for b in bodies)])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"{name}.ipynb")


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_failing_notebook_is_named_and_the_others_are_stopped_with_their_kernels(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs, "1.0-slow", RECORD.format(name="1.0"), "import time\ntime.sleep(300)")
    _notebook(nbs, "2.0-failing", RECORD.format(name="2.0"), WAIT_FOR_FIRST)
    _notebook(nbs, "3.0-never", "print('never run')")
    reports = tmp_path / "r"
    with pytest.raises(ReportError) as failure:
        run_report(reports_dir=reports, notebooks_dir=nbs, progress=False, run_id="par", jobs=2)
    message = str(failure.value)
    assert "Notebook 2.0-failing.ipynb failed in cell" in message
    assert "ValueError: the second notebook fails on purpose" in message
    assert "1.0-slow" not in message and "3.0-never" not in message

    failed = reports / "_failed" / "par"
    manifest = json.loads((failed / "manifest.json").read_text(encoding="utf-8"))
    status = {n["name"]: n["status"] for n in manifest["notebooks"]}
    assert manifest["status"] == "failed" and manifest["jobs"] == 2
    assert status == {
        "1.0-slow.ipynb": "not run",
        "2.0-failing.ipynb": "failed",
        "3.0-never.ipynb": "not run",
    }
    assert manifest["notebooks"][1]["error"]["ename"] == "ValueError"
    assert (failed / "2.0-failing.ipynb").is_file() and (failed / "2.0-failing.html").is_file()
    assert not (reports / "par").exists() and not list(reports.glob(".tmp-*"))

    # Both kernels and both workers are gone: the slow one was stopped, not left sleeping.
    pids = [int(p) for n in ("1.0", "2.0") for p in (failed / f"pids-{n}.txt").read_text().split()]
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in pids if _alive(pid)]


def test_when_two_notebooks_fail_the_first_in_reading_order_is_named(tmp_path):
    """2.0 fails at once, 1.0 a moment later (as when 1.0 waited for data that 2.0 failed to prepare): the
    error names 1.0, as a run of one notebook after the other would."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    wait_then_fail = WAIT_FOR_FIRST.replace("pids-1.0", "pids-2.0").replace("second", "first")
    _notebook(nbs, "1.0-late", RECORD.format(name="1.0"), wait_then_fail)
    _notebook(
        nbs, "2.0-early", RECORD.format(name="2.0"), "raise ValueError('the second notebook fails first')"
    )
    reports = tmp_path / "r"
    with pytest.raises(ReportError) as failure:
        run_report(reports_dir=reports, notebooks_dir=nbs, progress=False, run_id="two", jobs=2)
    assert "Notebook 1.0-late.ipynb failed in cell" in str(failure.value)
    assert "ValueError: the first notebook fails on purpose" in str(failure.value)
    manifest = json.loads((reports / "_failed" / "two" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["notebooks"][0]["status"] == "failed"


# ------------------------------------------------------------------------- the math libraries' threads

THREADS = """
import json, os, pathlib, sys
from ipykernel.connect import get_connection_info
names = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
seen = {{n: os.environ.get(n) for n in names}}
seen["transport"] = json.loads(get_connection_info())["transport"]
seen["startup"] = "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None
pathlib.Path(output_dir, "threads-{name}.json").write_text(json.dumps(seen))
"""


def test_kernels_run_side_by_side_share_the_cores_and_talk_over_unix_sockets(tmp_path, monkeypatch):
    """Each kernel's BLAS/OpenMP pool would size itself to every core: two kernels at once on 2 cores ran 4
    busy-waiting threads. Each worker's kernel gets the cores divided by the jobs; a value the user set stays.
    And each kernel's sockets are Unix sockets of its own."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "7")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for name in ("1.0", "2.0"):
        _notebook(nbs, f"{name}-threads", THREADS.format(name=name))
    run = run_report(reports_dir=tmp_path / "r", notebooks_dir=nbs, progress=False, run_id="t", jobs=2)
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    for name in ("1.0", "2.0"):
        seen = json.loads((run.path / f"threads-{name}.json").read_text())
        transport, startup = seen.pop("transport"), seen.pop("startup")
        assert seen == {"OPENBLAS_NUM_THREADS": share, "OMP_NUM_THREADS": share, "MKL_NUM_THREADS": "7"}
        # Unix sockets, not TCP ports two kernels started at once could both pick (execute.ipc_prefix).
        assert transport == "ipc"
        assert startup  # execute.KERNEL_STARTUP ran before the first cell


def test_only_an_ipython_kernel_gets_the_startup_line():
    ipython = ["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert kernel_command(ipython) == [*ipython, f"--IPKernelApp.exec_lines={KERNEL_STARTUP}"]
    other = ["R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"]
    assert kernel_command(other) == other


# ------------------------------------------------------------------------------ the executed notebook's writes


def _task(nbs: Path, name: str, work: Path) -> NotebookTask:
    work.mkdir(parents=True, exist_ok=True)
    path = nbs / f"{name}.ipynb"
    return NotebookTask(
        number=1,
        total=1,
        path=path,
        output=work / path.name,
        html=work / f"{name}.html",
        parameters={"lang": "fr", "config_path": "", "output_dir": str(work)},
        lang="fr",
        log=work / f"kernel-{name}.log",
        kernel_name=None,
        result=NotebookResult(name=path.name, sha256="-", title=name),
    )


def test_the_executed_notebook_is_written_when_it_starts_and_ends_not_at_every_cell(tmp_path, monkeypatch):
    """papermill's own engine writes the whole notebook at the start and end of every cell (2 writes per cell,
    each copying, validating and serialising all the outputs so far); the report's engine writes it at the
    start and at the end, and notes the running cell in a small file."""
    import papermill.engines
    import papermill.execute

    writes = []
    for module in (papermill.engines, papermill.execute):
        real = module.write_ipynb
        monkeypatch.setattr(
            module, "write_ipynb", lambda nb, path, real=real: writes.append(path) or real(nb, path)
        )
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs, "1.0-cells", *[f"print({i} * {i})" for i in range(8)])
    task = _task(nbs, "1.0-cells", tmp_path / "work")
    execute(task.path, task.output, task.parameters, task.result, "fr", task.log)

    executed = nbformat.read(task.output, as_version=4)
    assert [c.outputs[0]["text"] for c in executed.cells[2:]] == [f"{i * i}\n" for i in range(8)]
    assert all(c.metadata.papermill.status == "completed" for c in executed.cells)
    assert executed.metadata.papermill.input_path == str(task.path)
    # Start, end, and papermill's final write: not 2 per cell (20 for these 10 cells).
    assert 2 <= len(writes) <= 3, writes
    assert running_file(task.log).read_text() == str(len(executed.cells) - 1)


def test_a_killed_worker_is_reported_with_the_cell_it_was_running(tmp_path):
    """The worker (not the kernel) is killed mid-cell: the notebook was last written when it started, and the
    run names the running cell from the note taken when that cell started."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs, "1.0-long", "x = 1", "y = 2", "import time\ntime.sleep(300)")
    task = _task(nbs, "1.0-long", tmp_path / "work")
    worker = pool._start_worker(1)
    try:
        pool._send(worker, task)
        deadline = time.monotonic() + 120
        note = running_file(task.log)
        while not (note.is_file() and note.read_text() == "4"):
            assert time.monotonic() < deadline and worker.poll() is None, "the long cell never started"
            time.sleep(0.05)
        worker.kill()
        worker.wait(30)
    finally:
        pool._stop([worker])
        remove_sockets(ipc_prefix(task.log))  # what run_parallel does for its tasks
    cause = pool._collect(worker, task)
    assert isinstance(cause, RuntimeError)
    error = task.result.error
    assert error["ename"] == "WorkerDied" and error["cell_index"] == 4
    assert error["source"] == "import time"
    assert nbformat.read(task.output, as_version=4).cells[4].metadata.papermill.start_time is None


KILL_OWN_WORKER = """
import json, os, pathlib, signal
from ipykernel.connect import get_connection_info
pathlib.Path(os.environ["TMPDIR"], "sockets.txt").write_text(json.loads(get_connection_info())["ip"])
os.kill(os.getppid(), signal.SIGKILL)  # the kernel's parent: the worker, which can no longer clean up
"""


def test_a_killed_workers_kernel_sockets_are_removed_by_the_run(tmp_path, monkeypatch, request):
    """A worker killed mid-notebook takes its kernel with it, and the kernel's Unix socket files stay in the
    temporary folder (nobody runs execute()'s cleanup): the run removes them, as their prefix comes from the
    task. Checked in a temporary folder of the test's own (a short path: sockets' paths are limited)."""
    short = tempfile.mkdtemp(prefix="ck", dir="/tmp")
    request.addfinalizer(lambda: shutil.rmtree(short, ignore_errors=True))
    monkeypatch.setenv("TMPDIR", short)
    monkeypatch.setattr(tempfile, "tempdir", short)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    _notebook(nbs, "1.0-killer", KILL_OWN_WORKER)
    _notebook(nbs, "2.0-other", "x = 1")
    with pytest.raises(ReportError, match=r"1\.0-killer"):
        run_report(reports_dir=tmp_path / "r", notebooks_dir=nbs, progress=False, run_id="k", jobs=2)
    prefix = (Path(short) / "sockets.txt").read_text()
    assert prefix.startswith(os.path.join(short, "custrel-kernel-"))
    left = [p.name for p in Path(short).iterdir() if p.name.startswith("custrel-kernel-")]
    assert not left, f"left behind: {left}; the killed worker's kernel: {prefix}"
