"""One call that every notebook starts with: load the data, check it, place customers in stages.

Notebooks stay thin: ``wb = prepare(config_path, as_of, cadence, horizon_days, lang)`` gives the
validated tables, the problems report and the fitted :class:`~custrel_lib.stages.model.StageModel`;
``survival(wb, sections, ...)`` gives the survival analysis the executive summary and notebook 2.0 share.

When the stage rules read BG/NBD's P(alive) (the packaged rules do: a repeat customer without commitment more
likely gone than alive is separated), :func:`prepare` fits the flame (:func:`custrel_lib.flame.analysis.run_flame`,
on transactions alone) and applies it to the last snapshot (:meth:`StageModel.apply_signals
<custrel_lib.stages.results.StageResults.apply_signals>`) before any notebook reads the stages: ``wb.history``,
``wb.stages.current_``, profiles and exports are one history in every notebook of a run. When the flame cannot
be fitted (too few repeat buyers), the stages are placed without the signal and :meth:`Workbench.signal_sentences`
says why.

Prepared once per report run: ``custrel report`` names a cache folder of the run in the environment variable
``CUSTREL_RUN_CACHE``; the first notebook that prepares the data (or runs the survival analysis) stores the
result there as a pickle, keyed by the config file's content, the data files' sizes and modification times and
the parameters, and the next notebooks load it (waiting under a file lock while another computes it) instead
of computing it again. Without that variable (a notebook opened by hand), everything is computed in place.
"""

from __future__ import annotations

import gc
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from ibis.backends import BaseBackend

from custrel_lib.config import CustrelConfig, load_config
from custrel_lib.engine import connect, settle, spill_folder, spilling_duckdb
from custrel_lib.exceptions import ConfigError, DataContractError
from custrel_lib.flame.analysis import FlameResult
from custrel_lib.flame.extend import stage_signal
from custrel_lib.flame.signal import signal_sentence
from custrel_lib.i18n import LANGUAGES, set_currency
from custrel_lib.io.data_warnings import nps_on_five
from custrel_lib.io.keys import one_id_per_purchase
from custrel_lib.io.load import load_tables
from custrel_lib.io.problems import ProblemsReport
from custrel_lib.io.subsample import FIT_SAMPLE, analysis_tables
from custrel_lib.paths import SAMPLE_CONFIG
from custrel_lib.runcache import engine_tables, get_or_compute, portable, prepare_key, restore
from custrel_lib.sections import Sections
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.rules import rules_from_config
from custrel_lib.stages.signals import moves

# Imported when first used: lifelines is slow to import, and notebooks 1.0 and 3.0 never need it.
if TYPE_CHECKING:
    from custrel_lib.survival.analysis import SurvivalResult


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
    key: str | None = None
    flame: FlameResult | None = None
    flame_error: dict[str, str] | None = None
    #: ``customers``, ``sampled``, ``seed`` when ``tables`` hold a seeded sample of customers (large data:
    #: ``analysis.fit_sample``); the stages and the flame's P(alive) are every customer's.
    sample: dict[str, int] | None = None
    #: customers of the customers table placed at no snapshot (:meth:`unplaced`)
    n_unplaced: int = 0
    #: with ``order_lines: true``: the purchases the kept lines make (the reports say it beside the lines read)
    n_orders: int | None = None
    #: (customer ids, purchases) when nearly every purchase has an id of its own: the data note warns
    one_id_each: tuple[int, int] | None = None
    #: (answers, lowest, highest) when every NPS answer scores between 1 and 5: the data note warns
    nps_on_five: tuple[int, float, float] | None = None

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
    def analysis_history(self) -> pd.DataFrame:
        """The stage history of the customers in ``tables`` (the sample's when sampled), for the analyses."""
        if not self.sample:
            return self.history
        ids = self.tables["transactions"]["customer_id"]
        if "customers" in self.tables:
            ids = pd.concat([ids, self.tables["customers"]["customer_id"]])
        h = self.history
        return h[h["customer_id"].isin(ids.astype("string").unique())].reset_index(drop=True)

    @property
    def survival(self) -> dict:
        """The ``survival:`` settings of the config (``origin``, ``unknown_origin``, ...), with defaults."""
        return {"origin": "auto", "unknown_origin": "exclude", **(self.config.survival or {})}

    @property
    def amounts(self) -> bool:
        """False when the transactions hold no amounts (``amounts: false``): every row one purchase, no money."""
        return self.stages.amounts

    @property
    def horizon_days(self) -> float:
        """The separation horizon in days (set in the config or derived from the data)."""
        return self.stages.horizon_days_

    @property
    def files(self) -> dict[str, str]:
        """The name of each table's file (no folder: reports show it), or of its first and last files."""
        from custrel_lib.io.problems import files_label

        return {n: files_label(spec.files) for n, spec in self.config.tables.items()}

    def data_figures(self) -> dict[str, Any]:
        """Rows read, kept and rejected per table, with the reasons, for ``key_figures.json`` (``data``)."""
        from custrel_lib.reports.data_note import data_figures

        return data_figures(self.problems, self.files, self.n_orders)

    def data_sentence(self, lang: str | None = None) -> str:
        """The same, as one sentence of the report: nothing rejected is left unsaid."""
        from custrel_lib.reports.data_note import data_sentence

        return data_sentence(
            self.problems,
            self.files,
            lang or self.lang,
            unplaced=self.unplaced(),
            orders=self.n_orders,
            one_id_each=self.one_id_each,
            amounts=self.amounts,
            nps_on_five=self.nps_on_five,
        )

    def unplaced(self) -> int:
        """Customers of the customers table placed at no snapshot: no purchase and no sign-up date, so no date
        from which they are known (counted on every customer loaded, also when ``tables`` are a sample)."""
        return self.n_unplaced

    def signal_sentences(self, lang: str | None = None) -> list[str]:
        """What P(alive) did to the stages (how many customers it moved, the known limit), or why it did not."""
        lang = lang or self.lang
        reason = self.flame_error[lang] if self.flame_error else None
        return signal_sentence(self.stages.signal_changes_, lang, self.stages.snapshots_[-1], reason)

    def signal_figures(self) -> dict[str, Any]:
        """The signal for ``key_figures.json``: ``applied``, the customers ``moved`` and their ``moves``."""
        changed = self.stages.signal_changes_
        out: dict[str, Any] = {"feature": "p_alive", "applied": changed is not None}
        if changed is not None:
            out.update(
                snapshot=str(self.stages.snapshots_[-1].date()), moved=len(changed), moves=moves(changed)
            )
        elif self.flame_error:
            out["why"] = self.flame_error["en"]
        return out

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

    Within a report run (``CUSTREL_RUN_CACHE`` set), the result is computed by the first notebook and loaded
    from the run's cache by the others.

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
    config = load_config(Path(config_path) if config_path else SAMPLE_CONFIG)
    set_currency(config.currency)  # amounts in this process's report are written in it
    lang = lang or config.language or "fr"
    if lang not in LANGUAGES:
        raise ConfigError(f"Unknown language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    key = prepare_key(config, as_of, cadence, horizon_days)

    def compute() -> Workbench:
        wb = _compute(config, as_of, cadence, horizon_days, lang, verbose)
        if key:
            wb.stages.features()  # the last snapshot's features, which the notebooks use, travel with the cache
            wb.key = key
        return wb

    wb, reused = get_or_compute(f"workbench-{key}" if key else None, compute, portable)
    if reused:
        wb = restore(wb)
        wb.lang = lang
        if verbose:
            print(f"Data prepared earlier in this run reused (as of {wb.as_of.date()}).")
    elif key and wb.stages.tables_ is not None and engine_tables(wb.stages.tables_):
        # Engine tables: this notebook reads the cached copy as the others do, and the engine's memory (the
        # staged table, DuckDB's buffers) is let go for the rest of the run.
        wb = restore(portable(wb))
        gc.collect()
    return wb


def _compute(config: CustrelConfig, as_of, cadence: str, horizon_days, lang: str, verbose: bool) -> Workbench:
    """Load the tables and fit the stage model (what :func:`prepare` does without a cache)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    analysis = config.analysis or {}
    cadence = cadence or analysis.get("cadence") or "month"
    survival = config.survival or {}
    horizon = (
        _as_int(horizon_days, "horizon_days")
        or _as_int(survival.get("horizon_days") or analysis.get("horizon_days"), "horizon_days")
        or None
    )
    rules = rules_from_config(config)  # bad rules are refused before the data is read
    # Large inputs are scanned and checked in DuckDB, where the stages are computed (module docstring).
    con = spilling_duckdb(config.engine)
    loaded = load_tables(
        config, as_of=pd.Timestamp(as_of) if as_of else None, engine=None if con else False, con=con
    )
    if loaded.problems.is_fatal:  # what `custrel validate` calls UNUSABLE stops the analysis, saying why
        raise DataContractError(loaded.problems.unusable_message())
    in_engine = loaded.con is not None
    timings["load"] = time.perf_counter() - t0
    if verbose:
        counts = ", ".join(f"{name}: {c['kept']:,} rows" for name, c in loaded.problems.counts.items())
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
        backend=None if in_engine else config.engine,  # engine tables are staged where they were loaded
        amounts=config.tables["transactions"].amounts,
    )
    model.fit(loaded.tables, as_of=loaded.as_of)
    # The history, the features of the last snapshot and explanations read one computed table: in a Parquet file
    # of the spill folder on large inputs, else an engine table (on the sample the window query ran twice).
    model.materialize(spill_folder(con) if in_engine else None)
    if in_engine:
        settle(con)
    timings["stages"] = time.perf_counter() - t1
    unplaced = _unplaced(loaded.tables.get("customers"), model)
    t2 = time.perf_counter()
    tables, sample = analysis_tables(
        loaded, int(analysis.get("fit_sample", FIT_SAMPLE)), int(analysis.get("fit_seed") or 1)
    )
    timings["sample"] = time.perf_counter() - t2
    t2 = time.perf_counter()
    flame, error = stage_signal(tables, loaded.as_of, model, loaded.tables if sample else None)
    timings["flame"] = time.perf_counter() - t2
    if verbose:
        print(
            f"Placed {model.history_['customer_id'].nunique():,} customers in stages at "
            f"{model.history_['snapshot'].nunique()} snapshots ({cadence}); "
            f"separation horizon {model.horizon_days_:.0f} days."
        )
    return Workbench(
        config=config,
        tables=tables,
        sample=sample and {"customers": sample.n_customers, "sampled": sample.n_sampled, "seed": sample.seed},
        problems=loaded.problems,
        as_of=loaded.as_of,
        stages=model,
        lang=lang,
        timings=timings,
        flame=flame,
        flame_error=error,
        n_unplaced=unplaced,
        n_orders=loaded.purchases if loaded.formats["transactions"].get("order_lines") else None,
        one_id_each=one_id_per_purchase(loaded),
        nps_on_five=nps_on_five(loaded),
    )


def _unplaced(customers, model: StageModel) -> int:
    """Customers of the loaded customers table (pandas or engine: its ids only come back) in no snapshot."""
    if customers is None:
        return 0
    ids = customers if isinstance(customers, pd.DataFrame) else customers.select("customer_id").to_pandas()
    placed = model.current_["customer_id"].astype("string")  # known customers stay to the end
    return int((~ids["customer_id"].astype("string").isin(placed)).sum())


def survival_analysis(
    wb: Workbench,
    sections: Sections,
    risk_horizon_days: float = 90.0,
    threshold: float = 0.5,
    landmark_days: float = 90.0,
) -> SurvivalResult:
    """:func:`~custrel_lib.survival.analysis.run_survival`, computed once per report run.

    The sections it skips are recorded in ``sections`` (and shown) whether it was computed here or loaded
    from the run's cache.
    """
    params = [wb.key, float(risk_horizon_days), float(threshold), float(landmark_days), sections.lang]
    key = hashlib.sha256(json.dumps(params, default=str).encode()).hexdigest()[:16] if wb.key else None

    def compute() -> tuple[SurvivalResult, list]:
        from custrel_lib.survival.analysis import run_survival

        before = len(sections.skipped)
        result = run_survival(wb, sections, risk_horizon_days, threshold, landmark_days)
        return result, sections.skipped[before:]

    (result, skipped), reused = get_or_compute(key and f"survival-{key}", compute)
    if reused:
        for item in skipped:
            sections.skipped.append(item)
            if sections.display:
                from IPython.display import HTML, display

                display(HTML(sections.note_html(item)))
    return result
