"""The cache of a report run: what the first notebook computes (the prepared data, the survival analysis),
the next ones load (:mod:`custrel_lib.workbench`, docs/reports.md "Data prepared once per run").

``custrel report`` names a folder in ``CUSTREL_RUN_CACHE``; each entry is a pickle keyed by what it depends on,
written atomically under an exclusive file lock, so notebooks that run at once compute it once.
"""

from __future__ import annotations

import copy
import dataclasses
import fcntl
import hashlib
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ibis

from custrel_lib.config import CustrelConfig
from custrel_lib.exceptions import CustrelError
from custrel_lib.reports.parameters import CACHE_ENV
from custrel_lib.stages.model import StageModel


def cache_dir() -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    return Path(folder) if folder else None


def prepare_key(config: CustrelConfig, as_of, cadence, horizon_days) -> str | None:
    """What the prepared data depends on: the config's bytes, the data files' sizes and times, parameters."""
    if cache_dir() is None:
        return None
    files = []
    for name, spec in sorted(config.tables.items()):
        for path in spec.files:
            stat = path.stat() if path.is_file() else None
            files.append([name, str(path), stat and stat.st_size, stat and stat.st_mtime_ns])
    text = Path(config.path).read_bytes() if config.path is not None else b""
    payload = [hashlib.sha256(text).hexdigest(), files, str(as_of or ""), cadence or "", horizon_days or 0]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:16]


def get_or_compute(name: str | None, compute: Callable[[], Any], portable: Callable = lambda v: v) -> tuple:
    """``(value, True)`` from the run's cache entry ``name``, else ``(compute(), False)``, storing it.

    Notebooks run at once (``custrel report --jobs``) ask for the same entries: under an exclusive ``flock`` on
    ``<cache>/<name>.lock`` one computes while the others wait, then read it. What is stored is
    ``portable(value)``; a computation that raises writes nothing. Without a run cache (``name`` None, no
    ``CUSTREL_RUN_CACHE``), ``compute()`` is simply called.
    """
    folder = cache_dir()
    if name is None or folder is None:
        return compute(), False
    folder.mkdir(parents=True, exist_ok=True)
    # Closing the file (or the process's end) releases the lock; free at once unless another notebook computes.
    with open(folder / f"{name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        cached = cache_read(name)
        if cached is not None:
            return cached, True
        value = compute()
        cache_write(name, portable(value))
        return value, False


def cache_read(name: str) -> Any:
    folder = cache_dir()
    path = folder / f"{name}.pkl" if folder else None
    if path is None or not path.is_file():
        return None
    with open(path, "rb") as fh:
        return pickle.load(fh)  # written by this run, in its own private folder


def cache_write(name: str, obj: Any) -> None:
    """Write atomically: a notebook killed while writing leaves no half-written entry."""
    folder = cache_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, folder / f"{name}.pkl")


# The stage model's engine state (its history's Ibis expression, the builder of one snapshot's features and their
# DuckDB connection) does not survive a pickle: it travels without it, and a notebook that needs it (features at
# another snapshot than the cached ones) gets a copy of the model fitted again, on first use.
_ENGINE_STATE = ("_at_snapshot", "_con", "_history_expr")


def engine_tables(tables: dict) -> bool:
    return any(isinstance(t, ibis.Table) for t in tables.values())


def portable(wb):
    model = copy.copy(wb.stages)
    for name in _ENGINE_STATE:
        model.__dict__.pop(name, None)
    if engine_tables(model.tables_):
        model.tables_ = None  # engine tables live in this process's engine: no refit elsewhere (_Refit)
    return dataclasses.replace(wb, stages=model)


def restore(wb):
    model = wb.stages
    if getattr(model, "_features_cache", None) is None:
        refit = _Refit(model)
        for name in _ENGINE_STATE:
            setattr(model, name, _Delegate(refit, name))
    return wb


class _Refit:
    """A copy of a cached stage model, fitted again the first time its engine state is needed."""

    def __init__(self, model: StageModel):
        self._source, self._model = model, None

    def get(self, name: str) -> Any:
        if self._model is None and self._source.tables_ is None:
            raise CustrelError(
                "The stages of this report run were computed in the engine by the first notebook: features "
                "at a snapshot other than the last ones are not shared with the others. Call prepare() in a "
                "notebook opened by hand (outside custrel report) to explore every snapshot."
            )
        if self._model is None:
            fresh = copy.copy(self._source)
            for attr in _ENGINE_STATE:
                fresh.__dict__.pop(attr, None)
            self._model = fresh.fit(self._source.tables_, self._source.as_of_)
        return getattr(self._model, name)


class _Delegate:
    """Stands for one attribute of the engine state until it is used."""

    def __init__(self, refit: _Refit, name: str):
        self._refit, self._name = refit, name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._refit.get(self._name), attr)
