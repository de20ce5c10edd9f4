"""One call that every notebook starts with: load the data, check it, place customers in stages.

Notebooks stay thin: ``wb = prepare(config_path, as_of, cadence, horizon_days, lang)`` gives the
validated tables, the problems report and the fitted :class:`~custrel_lib.stages.model.StageModel`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from ibis.backends import BaseBackend

from custrel_lib.config import CustrelConfig, load_config
from custrel_lib.engine import connect
from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import LANGUAGES
from custrel_lib.io.load import load_tables
from custrel_lib.io.problems import ProblemsReport
from custrel_lib.paths import SAMPLE_CONFIG
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.rules import rules_from_config


@dataclass
class Workbench:
    """The prepared data of one analysis run."""

    config: CustrelConfig
    tables: dict[str, pd.DataFrame]
    problems: ProblemsReport
    as_of: pd.Timestamp
    stages: StageModel
    lang: str = "fr"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def engine(self) -> BaseBackend:
        """A connection to the config's ``engine:``, to pass as ``backend`` to the estimators.

        A property rather than a field, so a workbench holds no live connection (it can be pickled); the
        Spark session the stages ran in is found again (``getOrCreate``), DuckDB is a new in-process connection.
        """
        return connect(self.config.engine)

    @property
    def history(self) -> pd.DataFrame:
        """The stage history (``customer_id, snapshot, stage, at_risk, ambassador``)."""
        return self.stages.history_

    @property
    def survival(self) -> dict:
        """The ``survival:`` settings of the config (``origin``, ``unknown_origin``, ...), with defaults."""
        return {"origin": "auto", "unknown_origin": "exclude", **(self.config.survival or {})}

    @property
    def horizon_days(self) -> float:
        """The separation horizon in days (set in the config or derived from the data)."""
        return self.stages.horizon_days_

    def _repr_html_(self) -> str:
        n = {name: len(df) for name, df in self.tables.items()}
        rows = "".join(f"<tr><td>{k}</td><td>{v:,}</td></tr>" for k, v in n.items())
        return (
            f"<p><b>custrel</b> data as of {self.as_of.date()}, horizon {self.horizon_days:.0f} days</p>"
            f"<table><tr><th>table</th><th>rows</th></tr>{rows}</table>"
        )


def _as_int(value, name: str) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Parameter {name!r} must be a whole number of days, got {value!r}.") from exc


def prepare(
    config_path: str | Path | None = "",
    as_of: str | pd.Timestamp | None = "",
    cadence: str = "",
    horizon_days: int | None = 0,
    lang: str = "",
    verbose: bool = True,
) -> Workbench:
    """Load and validate the data described by ``config_path``, then fit the stage model.

    Parameters
    ----------
    config_path
        A ``custrel.yml``; empty means the bundled sample (``data/sample/custrel.yml``).
    as_of
        The last snapshot date (``YYYY-MM-DD``); empty means the config's ``analysis.as_of``, else the
        last transaction date.
    cadence
        Snapshot cadence (``month`` or ``quarter``); empty means the config's, else ``month``.
    horizon_days
        Separation horizon in days; 0 means the config's ``analysis.horizon_days``, else derived from the data.
    lang
        ``fr`` or ``en``; empty means the config's ``language``.
    verbose
        Print what was loaded and how long each step took.

    Returns
    -------
    Workbench
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    config = load_config(Path(config_path) if config_path else SAMPLE_CONFIG)
    analysis = config.analysis or {}
    lang = lang or config.language or "fr"
    if lang not in LANGUAGES:
        raise ConfigError(f"Unknown language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    cadence = cadence or analysis.get("cadence") or "month"
    survival = config.survival or {}
    horizon = (
        _as_int(horizon_days, "horizon_days")
        or _as_int(survival.get("horizon_days") or analysis.get("horizon_days"), "horizon_days")
        or None
    )
    rules = rules_from_config(config)  # bad rules are refused before the data is read
    loaded = load_tables(config, as_of=pd.Timestamp(as_of) if as_of else None)
    timings["load"] = time.perf_counter() - t0
    if verbose:
        counts = ", ".join(f"{name}: {len(df):,} rows" for name, df in loaded.tables.items())
        print(f"Loaded {counts} (as of {loaded.as_of.date()}).")
        rejected = sum(loaded.problems.rows_rejected(t) for t in loaded.tables)
        if rejected:
            print(f"{rejected:,} rows were rejected: see the problems report (wb.problems).")

    t1 = time.perf_counter()
    model = StageModel(
        cadence=cadence,
        horizon_days=horizon,
        rules=rules,
        horizon_quantile=float(survival.get("horizon_quantile") or 0.95),
        backend=config.engine,
    )
    model.fit(loaded.tables, as_of=loaded.as_of)
    timings["stages"] = time.perf_counter() - t1
    if verbose:
        print(
            f"Placed {model.history_['customer_id'].nunique():,} customers in stages at "
            f"{model.history_['snapshot'].nunique()} snapshots ({cadence}); "
            f"separation horizon {model.horizon_days_:.0f} days."
        )
    return Workbench(
        config=config,
        tables=loaded.tables,
        problems=loaded.problems,
        as_of=loaded.as_of,
        stages=model,
        lang=lang,
        timings=timings,
    )
