"""The query engine: one place that turns an engine setting into an Ibis connection.

Row-level work (features, stage rules, transition counts) runs in the engine; only small results come back to
pandas. The engine is chosen by the ``engine:`` key of ``custrel.yml`` or by the ``backend`` argument of the
estimators, and both go through :func:`connect`:

- ``None`` or ``"duckdb"``: a new in-process DuckDB connection (the default);
- ``{"name": "duckdb", "settings": {...}}``: DuckDB with settings (``database``, ``threads``, ``memory_limit``);
- ``"pyspark"`` or ``{"name": "pyspark", "settings": {...}}``: the active Spark session (Databricks, a
  ``pyspark`` shell), else a new one built from the settings (Spark configuration keys, the ``spark.`` prefix
  may be left out; without ``master``, ``local[*]``);
- an Ibis connection URL (``postgres://...``, ``snowflake://...``, ``duckdb:///file.ddb``): passed to
  :func:`ibis.connect`; ``${VAR}`` in the URL is read from the environment, so no password is written in the
  config;
- an Ibis backend (or a ``pyspark.sql.SparkSession``): used as is.

The pandas reference implementation of some estimators (``backend="pandas"``) is not an engine: the estimators
test :func:`is_reference` before calling :func:`connect`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from custrel_lib.exceptions import ConfigError, EngineError

ENGINES = ("duckdb", "pyspark")
"""Engine names accepted besides a URL."""
REFERENCE = "pandas"
"""The ``backend`` value of the pandas reference implementations (tests, small data)."""
SPARK_DEFAULTS = {
    "spark.master": "local[*]",
    "spark.app.name": "custrel",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # results to pandas through Arrow, not row by row
}
"""Settings of a Spark session custrel creates itself; the config's ``settings`` override them."""
JAVA_HINT = (
    "PySpark needs a Java runtime (17 or newer): install one (on Debian or Ubuntu `make java`, or "
    "`apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
)

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class EngineSpec:
    """A checked engine setting: ``name`` is ``"duckdb"``, ``"pyspark"`` or ``"url"`` (then ``url`` is set)."""

    name: str = "duckdb"
    settings: dict[str, Any] = field(default_factory=dict)
    url: str | None = None

    def describe(self) -> str:
        """One line for messages; a password in a URL is masked."""
        if self.name == "url":
            return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", str(self.url))
        return self.name


def is_reference(backend: Any) -> bool:
    """Whether ``backend`` asks for the pandas reference implementation rather than an engine."""
    return isinstance(backend, str) and backend == REFERENCE


def _is_spark_session(value: Any) -> bool:
    return type(value).__name__ == "SparkSession" and type(value).__module__.startswith("pyspark.")


def check_engine(engine: Any = None, where: str = "engine") -> EngineSpec | BaseBackend | Any:
    """Check an engine setting without connecting; return an :class:`EngineSpec` (or the live connection).

    Parameters
    ----------
    engine
        ``None``, ``"duckdb"``, ``"pyspark"``, an Ibis URL, ``{"name": ..., "settings": {...}}``, an
        :class:`EngineSpec`, an Ibis backend or a Spark session.
    where
        How the message of an error names the setting (e.g. ``"custrel.yml: engine"``).

    Raises
    ------
    ConfigError
        The setting is none of the above.
    """
    if engine is None:
        return EngineSpec()
    if isinstance(engine, EngineSpec | BaseBackend) or _is_spark_session(engine):
        return engine
    allowed = "duckdb, pyspark, {name: pyspark, settings: {...}} or an Ibis connection URL"
    if isinstance(engine, str):
        if engine in ENGINES:
            return EngineSpec(engine)
        if _URL.match(engine):
            return EngineSpec("url", url=engine)
        raise ConfigError(f"{where}: unknown engine {engine!r}; use {allowed}.")
    if isinstance(engine, Mapping):
        unknown = sorted(set(map(str, engine)) - {"name", "settings"})
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; use name and settings.")
        name, settings = engine.get("name"), engine.get("settings") or {}
        if name not in ENGINES:
            raise ConfigError(f"{where}.name must be one of {', '.join(ENGINES)}, not {name!r}.")
        if not isinstance(settings, Mapping):
            raise ConfigError(f"{where}.settings must be a mapping (key: value), not {settings!r}.")
        return EngineSpec(name, {str(k): v for k, v in settings.items()})
    raise ConfigError(f"{where}: unknown engine {engine!r}; use {allowed}, or an Ibis connection.")


def connect(engine: Any = None) -> BaseBackend:
    """The Ibis connection for an engine setting (see the module docstring for the accepted values).

    Raises
    ------
    ConfigError
        The setting is invalid.
    EngineError
        The engine cannot start: PySpark not installed, no Java runtime, a URL the backend refuses.
    """
    spec = check_engine(engine)
    if isinstance(spec, BaseBackend):
        return spec
    if _is_spark_session(spec):
        return ibis.pyspark.connect(spec)
    if spec.name == "duckdb":
        con = ibis.duckdb.connect(**spec.settings)
        # DuckDB draws a progress bar (a notebook widget) when a query runs past ~2 s: it would make a report's
        # pages depend on the machine's load. custrel shows its own progress.
        con.raw_sql("SET enable_progress_bar = false")
        return con
    if spec.name == "pyspark":
        return ibis.pyspark.connect(spark_session(spec.settings))
    url = os.path.expandvars(spec.url)
    try:
        return ibis.connect(url)
    except Exception as exc:  # every backend raises its own driver errors
        raise EngineError(f"Cannot connect to {spec.describe()}: {type(exc).__name__}: {exc}") from exc


def spark_session(settings: Mapping[str, Any] | None = None):
    """The active Spark session when there is one and no settings are given, else a new one.

    ``settings`` are Spark configuration keys (``master``, ``sql.shuffle.partitions``, ``driver.memory``, ...;
    the ``spark.`` prefix may be left out) on top of :data:`SPARK_DEFAULTS`.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "engine pyspark needs PySpark: pip install 'custrel[spark]' (or use a Databricks runtime)."
        ) from exc
    active = SparkSession.getActiveSession()
    if active is not None and not settings:
        return active
    conf = dict(SPARK_DEFAULTS)
    for key, value in (settings or {}).items():
        conf[key if key.startswith("spark.") else f"spark.{key}"] = str(value)
    if conf["spark.master"].startswith("local"):
        # Local Python workers run this interpreter (its pandas and pyarrow), not whatever python3 is first on
        # the PATH (PySpark reads the variable when the session starts); a cluster's workers keep their own.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        return builder.getOrCreate()
    except Exception as exc:  # a missing Java shows as a gateway error from py4j/pyspark
        raise EngineError(f"Cannot start Spark ({type(exc).__name__}: {exc}). {JAVA_HINT}") from exc


#: DuckDB's memory limit for a report's engine work (:func:`spilling_duckdb`), unless ``engine: {name: duckdb, settings: {memory_limit:
#: ...}}`` sets one: beyond it, windows, joins and the staged table spill to a temporary folder.
ENGINE_MEMORY = "3GB"
#: Its limit once the staged table is written (:func:`settle`): what is left (the history sorted into pandas, the
#: last snapshot's features, the sample) is light, and DuckDB keeps the buffers it used up to its limit: they made
#: the report's memory peak at a million customers (benchmarks/README.md).
ENGINE_MEMORY_AFTER = "1GB"


def spilling_duckdb(engine) -> BaseBackend | None:
    """A DuckDB connection for the engine path (memory capped, spilling to a temporary folder); ``None`` when
    the config names another engine (the tables then go through pandas to it, as before)."""
    spec = check_engine(engine, "custrel.yml: engine")
    if getattr(spec, "name", None) != "duckdb":
        return None
    con = connect(spec)
    con._custrel_capped = "memory_limit" not in spec.settings
    if con._custrel_capped:
        con.raw_sql(f"SET memory_limit = '{ENGINE_MEMORY}'")
    spill = Path(tempfile.mkdtemp(prefix="custrel-spill-"))
    weakref.finalize(con, shutil.rmtree, spill, ignore_errors=True)
    con._custrel_spill = spill
    if "temp_directory" not in spec.settings:
        con.raw_sql(f"SET temp_directory = '{spill}'")
    return con


def settle(con) -> None:
    """Lower the memory limit of a :func:`spilling_duckdb` connection to :data:`ENGINE_MEMORY_AFTER` once its
    heavy work is done, unless the user's engine settings chose the limit."""
    if getattr(con, "_custrel_capped", False):
        con.raw_sql(f"SET memory_limit = '{ENGINE_MEMORY_AFTER}'")


def spill_folder(con) -> Path | None:
    """The temporary folder of a connection made by :func:`spilling_duckdb` (removed with the connection)."""
    return getattr(con, "_custrel_spill", None)


_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def memory_limit_bytes(con) -> float | None:
    """DuckDB's memory limit in bytes (it shows it as ``"1.8 GiB"``); ``None`` on another engine."""
    if getattr(con, "name", None) != "duckdb":
        return None
    text = con.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    m = re.fullmatch(r"([\d.]+)\s*(\w+)", str(text).strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m and m.group(2) in _UNITS else None
