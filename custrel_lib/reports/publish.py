"""Where a run writes, and how it becomes visible: the lock, the temporary folder, the failure archive and
the final rename.

A run writes into a hidden temporary folder inside the reports folder (``.tmp-<run-id>-<pid>``) and renames
it into place only once every notebook succeeded, so a run that fails or is killed at any moment leaves the
earlier reports byte-identical and no half-written report under a run id. Folders left by a killed run are
removed by the next run (which holds the lock, so no other run is writing). A failed run's folder goes to
``_failed/<run-id>/`` for diagnosis. An exclusive ``flock`` on ``.lock`` keeps two runs from writing at the
same time: the second one fails with a clear message, or waits (``--wait``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from custrel_lib.exceptions import ReportError
from custrel_lib.reports.execute import ipc_prefix, remove_sockets
from custrel_lib.reports.parameters import FAILED_DIR

__all__ = ["archive_failure", "clean_stale", "publish", "replace_dir", "report_lock", "work_folder"]

LOCK_NAME = ".lock"
TMP_PREFIX = ".tmp-"
WORK_PREFIX = ".tmp-work-"
OLD_PREFIX = ".old-"


@contextlib.contextmanager
def report_lock(reports_dir: str | Path, wait: bool = False) -> Iterator[Path]:
    """Hold an exclusive ``flock`` on ``<reports_dir>/.lock`` for the duration of a run.

    The lock is released by the system when the process ends, even when it is killed.

    Parameters
    ----------
    reports_dir : str or Path
    wait : bool
        Block until the other run finishes instead of failing (saying so on stderr first).

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
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            if not wait:
                raise ReportError(
                    f"Another report run is writing into {reports_dir} (lock {path}, held by {holder}). "
                    "Wait for it to finish, or run again with --wait."
                ) from exc
            # Said before blocking: a scheduled run that waits says why it has not started.
            print(
                f"Another report run is writing into {reports_dir} (held by {holder}): waiting for it to finish.",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
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


def clean_stale(reports_dir: Path) -> None:
    """Remove temporary folders left by a run that was killed (the caller holds the lock: no run is active),
    and the socket files of the kernels it had started (named after their kernel logs)."""
    for path in reports_dir.iterdir():
        if path.is_dir() and path.name.startswith((TMP_PREFIX, OLD_PREFIX)):
            for log in path.glob("kernel-*.log"):
                remove_sockets(ipc_prefix(log))
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def work_folder(reports_dir: Path, run_id: str, prefix: str = TMP_PREFIX) -> Iterator[Path]:
    """A hidden folder of this run inside ``reports_dir``, removed on the way out if still there."""
    path = reports_dir / f"{prefix}{run_id}-{os.getpid()}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def replace_dir(source: Path, target: Path) -> None:
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


def archive_failure(tmp: Path, reports_dir: Path, run_id: str, extra: list[Path] = ()) -> Path:
    """Move a failed run's folder (and ``extra`` files, e.g. kernel logs) to ``_failed/<run-id>/``."""
    for path in extra:
        if path.is_file():
            shutil.copy2(path, tmp / path.name)
    failed_dir = reports_dir / FAILED_DIR / run_id
    failed_dir.parent.mkdir(exist_ok=True)
    replace_dir(tmp, failed_dir)
    return failed_dir


def publish(tmp: Path, reports_dir: Path, run_id: str) -> Path:
    """Rename a finished run's folder into place as ``reports_dir/<run-id>`` (replacing an older one)."""
    final = reports_dir / run_id
    replace_dir(tmp, final)
    return final
