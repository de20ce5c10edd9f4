"""The ``custrel.yml`` configuration: where the tables are, how their columns and formats map to the contract.

A complete, commented example is in ``docs/data_contract.md`` (and the README). Everything but
``tables.transactions.path`` is optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from custrel_lib.engine import EngineSpec, check_engine
from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import LANGUAGES
from custrel_lib.paths import SAMPLE_CONFIG

TABLES = ("transactions", "customers", "interactions")
TOP_LEVEL_KEYS = ("data_dir", "language", "engine", "tables", "analysis", "survival", "stages", "report")
TABLE_KEYS = (
    "path",
    "format",
    "columns",
    "date_format",
    "sep",
    "decimal",
    "encoding",
    "sheet",
    "true_values",
    "false_values",
)
ANALYSIS_KEYS = ("as_of", "cadence", "horizon_days", "snapshots", "max_rejected_share")
# The survival block (docs/data_contract.md, "Survival settings").
SURVIVAL_KEYS = (
    "origin",
    "unknown_origin",
    "horizon_days",
    "horizon_quantile",
    "min_events",
    "p_alive_threshold",
)
SURVIVAL_ORIGINS = ("auto", "first_purchase", "signup")
UNKNOWN_ORIGINS = ("exclude", "window_start")
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}
CADENCES = ("month", "quarter")


@dataclass
class TableSpec:
    """How to read one table. ``columns`` maps canonical names to the user's column names."""

    name: str
    path: Path
    format: str
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    sep: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sheet: str | int | None = None
    true_values: list[str] | None = None
    false_values: list[str] | None = None


@dataclass
class CustrelConfig:
    """A parsed ``custrel.yml``."""

    path: Path | None
    data_dir: Path
    language: str = "fr"
    tables: dict[str, TableSpec] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    survival: dict[str, Any] = field(default_factory=dict)
    stages: Any = None
    report: dict[str, Any] = field(default_factory=dict)
    engine: EngineSpec = field(default_factory=EngineSpec)  # custrel_lib/engine.py: duckdb, pyspark, a URL

    @classmethod
    def default(cls) -> CustrelConfig:
        """The bundled sample's configuration."""
        return load_config(SAMPLE_CONFIG)


def _fail(path: Path | None, message: str) -> ConfigError:
    return ConfigError(f"{path or 'configuration'}: {message}")


def _check_keys(path: Path | None, where: str, mapping: dict, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(mapping) - set(allowed))
    if unknown:
        raise _fail(
            path, f"unknown key(s) {', '.join(map(repr, unknown))} in {where}; allowed: {', '.join(allowed)}."
        )


def parse_config(
    doc: dict[str, Any] | None, path: Path | None = None, base_dir: Path | None = None
) -> CustrelConfig:
    """Validate a configuration mapping (as read from YAML) and resolve its paths against ``base_dir``."""
    doc = doc or {}
    if not isinstance(doc, dict):
        raise _fail(path, "the file must contain a mapping (key: value), not a list or a scalar.")
    _check_keys(path, "the top level", doc, TOP_LEVEL_KEYS)
    base_dir = Path(base_dir or (path.parent if path else Path.cwd()))
    data_dir = (base_dir / str(doc.get("data_dir") or ".")).resolve()
    language = str(doc.get("language") or "fr")
    if language not in LANGUAGES:
        raise _fail(path, f"language {language!r} is not supported; use one of {', '.join(LANGUAGES)}.")
    tables_doc = doc.get("tables") or {}
    if not isinstance(tables_doc, dict):
        raise _fail(path, "'tables' must be a mapping of table name to its settings.")
    _check_keys(path, "tables", tables_doc, TABLES)
    if "transactions" not in tables_doc:
        raise _fail(path, "tables.transactions is required (the only required table).")
    tables: dict[str, TableSpec] = {}
    for name, spec in tables_doc.items():
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict) or not spec.get("path"):
            raise _fail(path, f"tables.{name} needs a 'path'.")
        _check_keys(path, f"tables.{name}", spec, TABLE_KEYS)
        file = Path(str(spec["path"]))
        file = file if file.is_absolute() else data_dir / file
        fmt = spec.get("format") or FORMATS.get(file.suffix.lower())
        if fmt not in ("csv", "parquet", "xlsx"):
            raise _fail(
                path, f"tables.{name}: cannot tell the format of {file.name}; set format: csv|parquet|xlsx."
            )
        columns = spec.get("columns") or {}
        if not isinstance(columns, dict):
            raise _fail(path, f"tables.{name}.columns must map contract names to your column names.")
        tables[name] = TableSpec(
            name=name,
            path=file,
            format=fmt,
            columns={str(k): str(v) for k, v in columns.items()},
            date_format=spec.get("date_format"),
            sep=spec.get("sep"),
            decimal=spec.get("decimal"),
            encoding=spec.get("encoding"),
            sheet=spec.get("sheet"),
            true_values=[str(v) for v in spec["true_values"]] if spec.get("true_values") else None,
            false_values=[str(v) for v in spec["false_values"]] if spec.get("false_values") else None,
        )
    analysis = dict(doc.get("analysis") or {})
    _check_keys(path, "analysis", analysis, ANALYSIS_KEYS)
    if analysis.get("cadence") and analysis["cadence"] not in CADENCES:
        raise _fail(
            path, f"analysis.cadence must be one of {', '.join(CADENCES)}, not {analysis['cadence']!r}."
        )
    survival = _survival_block(path, doc.get("survival"), analysis)
    return CustrelConfig(
        path=path,
        data_dir=data_dir,
        language=language,
        tables=tables,
        analysis=analysis,
        survival=survival,
        stages=doc.get("stages"),
        report=dict(doc.get("report") or {}),
        engine=check_engine(doc.get("engine"), f"{path or 'configuration'}: engine"),
    )


def _survival_block(path: Path | None, block: Any, analysis: dict[str, Any]) -> dict[str, Any]:
    """Check the ``survival:`` block; fill defaults (``origin: auto``, ``unknown_origin: exclude``).

    ``horizon_days`` may be set here or (as before) under ``analysis``; two different values are refused.
    """
    block = {} if block is None else block
    if not isinstance(block, dict):
        raise _fail(path, "'survival' must be a mapping, e.g. survival: {origin: first_purchase}.")
    _check_keys(path, "survival", block, SURVIVAL_KEYS)
    out = {"origin": "auto", "unknown_origin": "exclude", **block}
    if out["origin"] not in SURVIVAL_ORIGINS:
        raise _fail(
            path,
            f"survival.origin must be one of {', '.join(SURVIVAL_ORIGINS)}, not {out['origin']!r} "
            "(first_purchase: the data holds every customer's whole history; signup: use "
            "customers.signup_date; auto: sign-up dates when present, else leave out first relationships "
            "that may have begun before the data).",
        )
    if out["unknown_origin"] not in UNKNOWN_ORIGINS:
        raise _fail(
            path,
            f"survival.unknown_origin must be one of {', '.join(UNKNOWN_ORIGINS)}, not {out['unknown_origin']!r}.",
        )
    for key, what in (("horizon_days", "a positive number of days"), ("min_events", "a whole number")):
        value = out.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
        ):
            raise _fail(path, f"survival.{key} must be {what}, not {value!r}.")
    q = out.get("horizon_quantile")
    if q is not None and (isinstance(q, bool) or not isinstance(q, int | float) or not 0.5 <= q < 1):
        raise _fail(path, f"survival.horizon_quantile must be a number in [0.5, 1), not {q!r}.")
    p = out.get("p_alive_threshold")
    if p is not None and (isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p < 1):
        raise _fail(path, f"survival.p_alive_threshold must be a probability between 0 and 1, not {p!r}.")
    a, b = analysis.get("horizon_days"), out.get("horizon_days")
    if a and b and float(a) != float(b):
        raise _fail(path, f"analysis.horizon_days ({a}) and survival.horizon_days ({b}) differ: keep one.")
    if a and not b:
        out["horizon_days"] = a
    return out


def load_config(path: str | Path | None = None) -> CustrelConfig:
    """Read and validate a ``custrel.yml``; ``None`` is the bundled sample's."""
    path = Path(path) if path else SAMPLE_CONFIG
    if not path.is_file():
        raise ConfigError(f"Configuration file not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the configuration must be UTF-8 text ({exc}).") from exc
    return parse_config(doc, path=path.resolve())
