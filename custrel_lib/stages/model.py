"""Place every customer in a relationship stage at every snapshot: :class:`StageModel`.

The features (:mod:`custrel_lib.stages.features`) and the rules' CASE expression (:mod:`custrel_lib.stages.rules`)
run in the engine (DuckDB through Ibis by default). The stage history stays there
(:meth:`StageModel.history_table`, :meth:`StageModel.write_history`); ``history_`` brings it to pandas on first
use, and per-customer results (``current_``, ``summary``, profiles) come back on their own.
``backend="pandas"`` runs the plain reference implementation instead (small data).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import ibis
import pandas as pd

from custrel_lib.engine import check_engine, connect, is_reference
from custrel_lib.exceptions import ConfigError, DataContractError
from custrel_lib.progress import Steps
from custrel_lib.stages import history as hist
from custrel_lib.stages.explain import (  # noqa: F401  (re-exported)
    PROFILE_TEXT,
    TEXT,
    Explanation,
    StageProfiles,
    stage_profiles,
)
from custrel_lib.stages.features import (
    HORIZON_METHODS,
    RETURN_GAP,
    check_tables,
    features_pandas,
    horizon_from_gaps,
    horizon_pandas,
    horizon_window_check,
    snapshot_dates,
)
from custrel_lib.stages.features_engine import features_builder
from custrel_lib.stages.results import LOOKAHEAD_TEXTS, StageResults  # noqa: F401
from custrel_lib.stages.rules import RuleSet

LOYALTY_MODES = ("last_snapshot", "since_signup")


class StageModel(StageResults):
    """Relationship stage of every customer at every snapshot.

    Parameters
    ----------
    rules : None, path, list, mapping or RuleSet
        Stage rules; ``None`` is the packaged default (``custrel_lib/stages/stages.yml``).
    cadence : "month", "quarter" or a list of dates
        Snapshots: period ends from the first transaction to ``as_of`` (which closes the last period).
    horizon_days : float, optional
        The separation horizon H; ``None`` or 0 derives it from the data (``horizon_quantile`` of repeat
        customers' inter-purchase gaps, each customer weighing the same, corrected for the data window: see
        :func:`custrel_lib.stages.features.horizon_pandas`). H is one number for every snapshot
        (:meth:`lookahead_note` says so in the report's words).
    horizon_method : {"window", "observed"}
        ``"window"`` (default) weights each gap by the inverse of the chance that a gap of its length fits in the
        data window; ``"observed"`` is the uncorrected quantile (too low in short windows).
    backend : None, an engine setting, an Ibis backend, or "pandas"
        ``None`` is a new in-process DuckDB connection; ``"pyspark"``, an Ibis URL, ...: see
        :func:`custrel_lib.engine.connect`; ``"pandas"`` the reference implementation (small data).
    return_gap : float
        A purchase after a gap longer than ``return_gap`` x H is a return (win-back): it sets the feature
        ``days_since_return``. 1.5 rather than 1: a gap just over H is too often a slow buyer, not a lapse.
    loyalty_flag : {"last_snapshot", "since_signup"}
        The undated ``loyalty_member`` flag is known at extraction: ``"last_snapshot"`` (default) uses it at the
        last snapshot only, so no earlier snapshot uses information from later; ``"since_signup"`` applies it
        from sign-up (the former behaviour, an assumption stated by :meth:`lookahead_note`). Customers with
        contract dates are committed by their dates either way.
    verbose : bool
        Print each step and its duration.
    progress : bool
        Show a progress bar over the steps of :meth:`fit` (tqdm; off by default).

    Attributes
    ----------
    horizon_days_ : float
        H in days. ``horizon_source_`` says where it comes from.
    window_start_ : Timestamp
        First transaction date: with ``as_of_``, the data window.
    horizon_warning_ : dict or None
        ``{"fr": ..., "en": ...}`` when the window is too short for H
        (:func:`custrel_lib.stages.features.horizon_window_check`), else ``None``.
    signals_, signal_changes_ : DataFrame or None
        The signal features supplied at the last snapshot and the customers they moved
        (:meth:`apply_signals`); ``None`` without signals.
    """

    def __init__(
        self,
        rules=None,
        cadence: str | Sequence = "month",
        horizon_days: float | None = None,
        horizon_quantile: float = 0.95,
        backend=None,
        return_gap: float = RETURN_GAP,
        verbose: bool = False,
        horizon_method: str = "window",
        loyalty_flag: str = "last_snapshot",
        progress: bool = False,
        amounts: bool = True,
    ):
        if isinstance(cadence, str) and cadence not in ("month", "quarter"):
            raise ConfigError(f"Unknown cadence {cadence!r}: use 'month', 'quarter' or a list of dates.")
        if not 0.5 <= horizon_quantile < 1:
            raise ConfigError(f"horizon_quantile must be in [0.5, 1), got {horizon_quantile}.")
        if horizon_days is not None and horizon_days < 0:
            raise ConfigError(f"horizon_days must be positive, got {horizon_days}.")
        if horizon_method not in HORIZON_METHODS[:2]:
            raise ConfigError(f"Unknown horizon_method {horizon_method!r}: use 'window' or 'observed'.")
        if loyalty_flag not in LOYALTY_MODES:
            raise ConfigError(f"Unknown loyalty_flag {loyalty_flag!r}: use {' or '.join(LOYALTY_MODES)}.")
        self.horizon_method = horizon_method
        self.amounts = amounts  # False: transactions without amounts (amounts: false), no money shown
        self.loyalty_flag = loyalty_flag
        self.rules = rules
        self.cadence = cadence
        self.horizon_days = horizon_days
        self.horizon_quantile = horizon_quantile
        if not return_gap >= 1:
            raise ConfigError(f"return_gap must be at least 1 (a multiple of the horizon), got {return_gap}.")
        if not is_reference(backend):
            check_engine(backend, "backend")
        self.backend = backend
        self.return_gap = return_gap
        self.verbose = verbose
        self.progress = progress
        self.rules_ = RuleSet.from_obj(rules)

    @classmethod
    def from_config(cls, config, **kwargs) -> StageModel:
        """A model with the settings of a parsed ``custrel.yml`` (cadence, horizon, rules), as the reports use.

        ``kwargs`` override them (e.g. ``progress=True``).
        """
        analysis, survival = config.analysis or {}, config.survival or {}
        rules = config.stages or None
        if isinstance(rules, dict) and "rules_file" in rules and config.path is not None:
            rules = {"rules_file": str(Path(config.path).parent / rules["rules_file"])}
        horizon = survival.get("horizon_days") or analysis.get("horizon_days") or None
        settings = {
            "cadence": analysis.get("cadence") or "month",
            "horizon_days": float(horizon) if horizon else None,
            "rules": rules,
            "horizon_quantile": float(survival.get("horizon_quantile") or 0.95),
            "amounts": config.tables["transactions"].amounts if "transactions" in config.tables else True,
        }
        return cls(**(settings | kwargs))

    def _say(self, message: str) -> None:
        if self.verbose:
            print(f"[stages] {message}", flush=True)

    def fit(self, tables: dict, as_of) -> StageModel:
        """Compute the features and stages of every customer at every snapshot up to ``as_of``.

        Parameters
        ----------
        tables : dict
            Canonical tables (docs/architecture.md), pandas DataFrames or Ibis tables (e.g. from
            ``load_tables(engine=True)``): ``transactions`` required, ``customers`` and ``interactions`` optional.
        as_of : date-like
            The extraction date: the last snapshot.

        Returns
        -------
        StageModel
            ``self``, with ``snapshots_``, ``horizon_days_``, ``horizon_source_``, ``window_start_`` and
            ``horizon_warning_``; ``history_`` (pandas) is computed on first use, ``history_table()`` is the
            engine's.
        """
        t0 = time.perf_counter()
        self._fitted, self._history, self._snapshot_cache = False, None, {}
        self.signals_ = self.signal_changes_ = None
        tables = check_tables(tables)
        self.tables_ = tables
        self.as_of_ = pd.Timestamp(as_of).normalize()
        steps = Steps(["horizon", "features and stages"], "stages", self.progress)
        tx_in, backend = self._window(tables)
        self._fit_horizon(tx_in, backend)
        steps.done()
        if self._pandas_mode:
            self._fit_pandas(tables)
        else:
            self._fit_engine(tables, backend)
        steps.done()
        steps.close()
        self._fitted = True
        self.fit_seconds_ = time.perf_counter() - t0
        self._say(f"fitted in {self.fit_seconds_:.1f} s")
        return self

    @property
    def _pandas_mode(self) -> bool:
        return is_reference(self.backend)

    def _window(self, tables: dict):
        """Transactions up to ``as_of``, the snapshots and the data window; the backend to use."""
        tx = tables["transactions"]
        backend = None
        if not self._pandas_mode:  # one connection for the horizon and the features
            in_engine = isinstance(tx, ibis.Table) and self.backend is None
            backend = tx.get_backend() if in_engine else connect(self.backend)
        if isinstance(tx, ibis.Table):
            # Tables that live in an Ibis backend (e.g. DuckDB over Parquet files) stay there.
            if self._pandas_mode:
                raise ConfigError("backend='pandas' needs pandas DataFrames, not Ibis tables.")
            first = pd.Timestamp(backend.execute(tx.date.min()))
            tx_in = tx.filter(tx.date <= self.as_of_).select("customer_id", "date", "amount")
        else:
            first = tx["date"].min()
            tx_in = tx[tx["date"] <= self.as_of_]
        if first is None or pd.isna(first):
            raise DataContractError("Table 'transactions' is empty: no stage can be computed.")
        # Snapshots cover the transaction window; customers known earlier appear at the first snapshot.
        self.snapshots_ = snapshot_dates(pd.Timestamp(first), self.as_of_, self.cadence)
        self.window_start_ = pd.Timestamp(first).normalize()
        return tx_in, backend

    def _fit_horizon(self, tx_in, backend) -> None:
        window = {"method": self.horizon_method, "window_start": self.window_start_, "as_of": self.as_of_}
        source = f"q{self.horizon_quantile:g} of repeat gaps" + (
            ", window-corrected" if self.horizon_method == "window" else ""
        )
        if self.horizon_days:
            self.horizon_days_, self.horizon_source_ = float(self.horizon_days), "config"
        elif self._pandas_mode:
            self.horizon_days_ = horizon_pandas(tx_in, self.horizon_quantile, **window)
            self.horizon_source_ = source
        else:
            t = (
                tx_in
                if isinstance(tx_in, ibis.Table)
                else ibis.memtable(tx_in[["customer_id", "date", "amount"]])
            )
            t = t.mutate(d=t.date.cast("date").epoch_days().cast("int64"))
            self.horizon_days_ = horizon_from_gaps(t, self.horizon_quantile, backend, **window)
            self.horizon_source_ = source
        messages = {
            lang: horizon_window_check(self.window_start_, self.as_of_, self.horizon_days_, lang)
            for lang in ("fr", "en")
        }
        self.horizon_warning_ = messages if messages["en"] else None
        if self.horizon_warning_:
            self._say(self.horizon_warning_["en"])
        self._say(f"horizon H = {self.horizon_days_:.0f} days ({self.horizon_source_})")
        self._say(
            f"{len(self.snapshots_)} snapshots {self.snapshots_[0].date()} .. {self.snapshots_[-1].date()}"
        )

    @property
    def _loyalty_from(self):
        return self.as_of_ if self.loyalty_flag == "last_snapshot" else None

    def _fit_pandas(self, tables: dict) -> None:
        feats = features_pandas(
            tables,
            self.snapshots_,
            self.horizon_days_,
            return_gap=self.return_gap,
            loyalty_from=self._loyalty_from,
        )
        stage = self.rules_.assign_pandas(feats, self.horizon_days_)
        self._rules_pandas = hist.rule_number_pandas(self.rules_, feats, self.horizon_days_)
        frame = feats[["customer_id", "snapshot"]].assign(
            stage=stage.to_numpy(), ambassador=(feats["promoter"] | (feats["referrals"] > 0)).to_numpy()
        )
        self._history = hist.public(frame)
        self._features_cache = feats
        self._at_snapshot = self._con = self._history_expr = None
        self._kept = False

    def _fit_engine(self, tables: dict, backend) -> None:
        build = features_builder(
            tables,
            self.snapshots_,
            self.horizon_days_,
            backend=backend,
            return_gap=self.return_gap,
            loyalty_from=self._loyalty_from,
        )
        # The history needs only the features its rules read, hence fewer events (features_engine); the
        # features of one snapshot (features(), explain()) are computed for that snapshot alone.
        self._at_snapshot = hist.SnapshotFeatures(build, self.rules_, self.horizon_days_)
        self._history_expr, self._con = self._at_snapshot.history()
        self._features_cache = None
        self._kept = False  # whether materialize() kept the history

    def _staged_parts(self) -> list[ibis.Table]:
        """The staged history (``STAGED_COLUMNS``), in parts of customers when it is large for DuckDB's memory
        limit (:func:`~custrel_lib.stages.history.n_parts`): each part's window then stays in memory."""
        n = 1 if self._kept else hist.n_parts(self._con, self._at_snapshot.grid_rows)
        if n == 1:
            return [self._history_expr.select(*hist.STAGED_COLUMNS)]
        return [self._at_snapshot.history((i, n))[0].select(*hist.STAGED_COLUMNS) for i in range(n)]

    def materialize(self, folder: str | Path | None = None) -> StageModel:
        """Compute the stage history once and keep it (``customer_id, snapshot_day, stage, rule, ambassador``):
        in a Parquet file of ``folder`` (streamed by the engine, compressed, read back with the filters pushed
        down), else, on DuckDB, as a temporary table of the model's connection.

        For a session that reads the history more than once (a report): on the engine each read would otherwise
        run the window query again. The features of a snapshot do not need it (:meth:`features` computes
        that snapshot alone). No effect in pandas mode, nor without a folder on another engine (PySpark has no
        temporary tables; how it caches is the cluster's choice).
        """
        self._check_fitted()
        if self._history_expr is None or self._kept:
            return self
        parts = self._staged_parts()
        if folder is None:
            # A table of this connection: Ibis' cache() of an unbound expression may pick another one.
            if getattr(self._con, "name", None) == "duckdb":
                name = f"staged_{uuid.uuid4().hex}"
                self._history_expr = self._con.create_table(name, parts[0], temp=True)
                for part in parts[1:]:
                    self._con.insert(name, part)
                self._kept = True
            return self
        files = [str(f) for f in hist.write_parts(self._con, parts, folder)]
        self._history_expr = self._con.read_parquet(files[0] if len(files) == 1 else files)
        self._kept = True
        return self

    # --- the stage history -------------------------------------------------------------------------------

    @property
    def history_(self) -> pd.DataFrame:
        """Every customer at every snapshot: ``customer_id, snapshot, stage, at_risk, ambassador`` (pandas).

        On the engine it is computed on first use and kept; prefer :meth:`history_table` or
        :meth:`write_history` for large data.
        """
        self._check_fitted()
        if self._history is None:
            self._say("stage history to pandas ...")
            self._history = hist.to_pandas(self._con, self.history_table())
        return self._history

    def history_table(self) -> ibis.Table:
        """The stage history as an engine table: ``customer_id, snapshot, stage, rule, ambassador``.

        ``rule`` is the number of the rule that placed the customer (1-based, in ``rules_`` order).
        """
        self._check_fitted()
        if self._history_expr is None:
            frame = self._history.drop(columns="at_risk").assign(rule=self._rules_pandas.to_numpy())
            return ibis.memtable(frame[hist.EXPORT_COLUMNS])
        return hist.history_expr(self._history_expr)

    def write_history(self, path: str | Path, sort: bool = False) -> Path:
        """Write the stage history (with the rule that placed each customer) to a Parquet file.

        On the engine it is streamed by DuckDB (``COPY``) without passing through pandas.
        """
        self._check_fitted()
        if self._history_expr is None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame = self._history.drop(columns="at_risk").assign(rule=self._rules_pandas.to_numpy())
            frame[hist.EXPORT_COLUMNS].to_parquet(path, index=False)
            return path
        parts = [hist.history_expr(p) for p in self._staged_parts()]
        return hist.write_parquet(self._con, parts, path, sort=sort)
