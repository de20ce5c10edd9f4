"""The ``custrel.yml`` configuration: where the tables are, how their columns and formats map to the contract.

A complete, commented example is in ``docs/data_contract.md`` (and the README). Everything but
``tables.transactions.path`` is optional. Every error names the key at fault as a dotted path
(``tables.transactions.columns.amount``) and, for an unknown key or value, lists the valid ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from custrel_lib.config_checker import Checker as _Checker
from custrel_lib.engine import EngineSpec, check_engine
from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import LANGUAGES
from custrel_lib.io.contract import SCHEMA  # data only
from custrel_lib.paths import SAMPLE_CONFIG
from custrel_lib.table_spec import FORMATS, TableSpec, table_spec

__all__ = [
    "CONTRACT_COLUMNS",
    "FORMATS",
    "TABLES",
    "CustrelConfig",
    "TableSpec",
    "load_config",
    "parse_config",
]

TABLES = tuple(SCHEMA)
#: The contract's column names per table (their types and loading rules: ``custrel_lib.io.contract.SCHEMA``).
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {name: tuple(columns) for name, columns in SCHEMA.items()}
TOP_LEVEL_KEYS = ("data_dir", "language", "currency", "engine", "tables", "analysis", "survival", "stages")
TOP_LEVEL_KEYS += ("report",)
ANALYSIS_KEYS = ("as_of", "cadence", "horizon_days", "max_rejected_share", "fit_sample", "fit_seed")
# The survival block (docs/data_contract.md, "Survival settings").
SURVIVAL_KEYS = ("origin", "unknown_origin", "horizon_days", "horizon_quantile", "min_events")
SURVIVAL_KEYS += ("p_alive_threshold",)
STAGES_KEYS = ("rules", "rules_file")
REPORT_KEYS = ("notebooks",)
SURVIVAL_ORIGINS = ("auto", "first_purchase", "signup")
UNKNOWN_ORIGINS = ("exclude", "window_start")
CADENCES = ("month", "quarter")
#: Keys once documented but never read: refused with what to do instead.
RETIRED_KEYS = {
    "analysis.snapshots": (
        "is not read by custrel: the stage snapshots are the ends of every analysis.cadence period up to "
        "as_of, and the Sankey's columns are chosen with the notebook parameters sankey_periods and "
        "sankey_cadence (custrel report -p sankey_periods 4). Remove the key."
    ),
}


@dataclass
class CustrelConfig:
    """A parsed ``custrel.yml``."""

    path: Path | None
    data_dir: Path
    language: str = "fr"
    currency: str = "€"  # of transactions.amount, as the reports write it (EUR, GBP, USD: their sign)
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


def _analysis(c: _Checker, block: Any) -> dict[str, Any]:
    analysis = dict(c.mapping("analysis", block, ", ".join(ANALYSIS_KEYS)))
    c.keys("analysis", analysis, ANALYSIS_KEYS)
    if analysis.get("as_of") is not None:
        analysis["as_of"] = c.date("analysis.as_of", analysis["as_of"])
    if analysis.get("cadence") is not None:
        c.choice("analysis.cadence", analysis["cadence"], CADENCES)
    c.number(
        "analysis.horizon_days",
        analysis.get("horizon_days"),
        "a number of days >= 0 (0: derived)",
        lambda v: v >= 0,
    )
    share = analysis.get("max_rejected_share")
    c.number("analysis.max_rejected_share", share, "a share between 0 and 1", lambda v: 0 <= v <= 1)
    for key in ("fit_sample", "fit_seed"):
        c.number(
            f"analysis.{key}", analysis.get(key), "a whole number >= 0", lambda v: v >= 0 and v == int(v)
        )
    return analysis


def _survival(c: _Checker, block: Any, analysis: dict[str, Any]) -> dict[str, Any]:
    """Check the ``survival:`` block; fill defaults (``origin: auto``, ``unknown_origin: exclude``).

    ``horizon_days`` may be set here or (as before) under ``analysis``; two different values are refused.
    """
    block = c.mapping("survival", block, "e.g. survival: {origin: first_purchase}")
    c.keys("survival", block, SURVIVAL_KEYS)
    out = {"origin": "auto", "unknown_origin": "exclude", **block}
    if out["origin"] not in SURVIVAL_ORIGINS:
        raise c.fail(
            "survival.origin",
            f"must be one of {', '.join(SURVIVAL_ORIGINS)}, not {out['origin']!r} "
            "(first_purchase: the data holds every customer's whole history; signup: use "
            "customers.signup_date; auto: sign-up dates when present, else leave out first relationships "
            "that may have begun before the data).",
        )
    c.choice("survival.unknown_origin", out["unknown_origin"], UNKNOWN_ORIGINS)
    c.number("survival.horizon_days", out.get("horizon_days"), "a positive number of days", lambda v: v > 0)
    c.number(
        "survival.min_events", out.get("min_events"), "a whole number >= 1", lambda v: v >= 1 and v == int(v)
    )
    c.number(
        "survival.horizon_quantile",
        out.get("horizon_quantile"),
        "a number in [0.5, 1)",
        lambda v: 0.5 <= v < 1,
    )
    c.number(
        "survival.p_alive_threshold",
        out.get("p_alive_threshold"),
        "a probability between 0 and 1",
        lambda v: 0 < v < 1,
    )
    a, b = analysis.get("horizon_days"), out.get("horizon_days")
    if a and b and float(a) != float(b):
        raise c.fail("survival.horizon_days", f"({b}) and analysis.horizon_days ({a}) differ: keep one.")
    if a and not b:
        out["horizon_days"] = a
    return out


def _stages(c: _Checker, block: Any) -> dict[str, Any] | None:
    """The shape of ``stages:``; the rules themselves (features, operators) are checked by the stage model."""
    if block is None:
        return None
    block = c.mapping("stages", block, "rules: [...] or rules_file: my_rules.yml")
    c.keys("stages", block, STAGES_KEYS)
    if len(block) != 1:
        raise c.fail("stages", "needs exactly one of rules (a list) or rules_file (a path).")
    if "rules_file" in block:
        c.text("stages.rules_file", block["rules_file"], "the path of a rules file")
    elif not isinstance(block["rules"], list) or not block["rules"]:
        raise c.fail("stages.rules", f"must be a non-empty list of rules, not {block['rules']!r}.")
    return block


def _report(c: _Checker, block: Any) -> dict[str, Any]:
    report = dict(c.mapping("report", block, "notebooks: [...]"))
    c.keys("report", report, REPORT_KEYS)
    notebooks = report.get("notebooks")
    if notebooks is not None and (
        not isinstance(notebooks, list) or not all(isinstance(n, str) for n in notebooks)
    ):
        raise c.fail("report.notebooks", f"must be a list of notebook names, not {notebooks!r}.")
    return report


def parse_config(
    doc: dict[str, Any] | None, path: Path | None = None, base_dir: Path | None = None
) -> CustrelConfig:
    """Validate a configuration mapping (as read from YAML) and resolve its paths against ``base_dir``.

    Raises
    ------
    ConfigError
        Unknown keys (the message names the key's dotted path and lists the valid ones), a missing
        ``tables.transactions``, or a value of the wrong kind; the error's ``key`` attribute is the path.
    """
    c = _Checker(path, RETIRED_KEYS)
    doc = {} if doc is None else doc
    if not isinstance(doc, dict):
        raise c.fail("(top level)", "must be a mapping (key: value), not a list or a scalar.")
    c.keys("", doc, TOP_LEVEL_KEYS)
    base_dir = Path(base_dir or (path.parent if path else Path.cwd()))
    data_dir = (
        c.text("data_dir", doc["data_dir"], "a folder path") if doc.get("data_dir") is not None else "."
    )
    data_dir_path = (base_dir / Path(data_dir).expanduser()).resolve()
    language = c.choice("language", doc.get("language") or "fr", LANGUAGES)
    currency = c.text(
        "currency", doc.get("currency", "€"), "a currency sign or code such as €, £, EUR or CHF"
    )
    if len(currency.strip()) > 4:
        raise c.fail(
            "currency", f"must be a currency sign or code such as €, £, EUR or CHF, not {currency!r}."
        )
    tables_doc = c.mapping("tables", doc.get("tables"), "table name: its settings")
    c.keys("tables", tables_doc, TABLES)
    if "transactions" not in tables_doc:
        raise c.fail("tables.transactions", "is required (the only required table).")
    tables = {name: table_spec(c, data_dir_path, name, spec) for name, spec in tables_doc.items()}
    analysis = _analysis(c, doc.get("analysis"))
    return CustrelConfig(
        path=path,
        data_dir=data_dir_path,
        language=language,
        currency=currency.strip(),
        tables=tables,
        analysis=analysis,
        survival=_survival(c, doc.get("survival"), analysis),
        stages=_stages(c, doc.get("stages")),
        report=_report(c, doc.get("report")),
        engine=check_engine(doc.get("engine"), f"{path or 'configuration'}: engine"),
    )


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
