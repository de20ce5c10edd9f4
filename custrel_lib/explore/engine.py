"""What the stage explorer computes, without any widget: settings in, stages, flows and profiles out.

The tables are loaded once into one in-process DuckDB connection, and every feature is computed there once, at
every snapshot, and kept as a table; so are the purchases with their gaps. Each change then runs one small query
over the three snapshots shown (the date, six and twelve months before): the few features that depend on H
(``active``, ``days_since_return``: :func:`~custrel_lib.stages.features_update.with_horizon`) or on the date
(the loyalty flag counts from the snapshot date: :func:`~custrel_lib.stages.features_update.with_loyalty_from`),
then the rules' CASE expression and the filters. Only the few thousand rows of the shown customers come back to
pandas.

The stages are those a report would compute with ``analysis.as_of`` = the snapshot date, ``analysis.horizon_days``
= H and the rules changed as shown (:meth:`ExplorerEngine.export`); ``tests/test_explore.py`` checks it. So, when
the rules read BG/NBD's P(alive), it is supplied at the snapshot date as a report would (the workbench's own at its
last snapshot, the flame fitted up to the date at an earlier one: :meth:`ExplorerEngine.with_signals`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import ibis
import pandas as pd

from custrel_lib.exceptions import ConfigError, CustrelError
from custrel_lib.explore.rules import config_block, thresholds, with_values
from custrel_lib.flame.analysis import p_alive_at
from custrel_lib.journeys import Transitions
from custrel_lib.stages import typology
from custrel_lib.stages.calendar import days
from custrel_lib.stages.features import EPOCH, RETURN_GAP, features_engine, to_pandas_features
from custrel_lib.stages.features_update import purchase_gaps, with_horizon, with_loyalty_from
from custrel_lib.stages.model import StageProfiles, stage_profiles
from custrel_lib.stages.rules import RuleSet
from custrel_lib.stages.signals import signals_used
from custrel_lib.workbench import Workbench

#: Filters of the explorer: the column of the customer attributes table behind each.
FILTERS = ("cohort", "channel", "region")
#: Features listed next to each customer of a stage.
KEY_FEATURES = (
    "n_purchases",
    "recency_days",
    "tenure_days",
    "purchases_12m",
    "monetary",
    "committed_days",
    "days_since_return",
    "commitment_signals",
    "nps_last",
)
LOOKBACK_MONTHS = (12, 6)
CACHE_SIZE = 6


@dataclass
class Settings:
    """One state of the explorer's controls."""

    horizon_days: int
    snapshot: pd.Timestamp
    values: dict[str, float] = field(default_factory=dict)
    filters: dict[str, str | None] = field(default_factory=dict)

    def active_filters(self) -> dict[str, str]:
        return {k: v for k, v in self.filters.items() if v not in (None, "")}


@dataclass
class Exploration:
    """The result of one :class:`Settings`: ``frame`` holds the shown customers' features and stages."""

    settings: Settings
    rules: RuleSet
    snapshots: list[pd.Timestamp]
    frame: pd.DataFrame
    cadence: str
    seconds: float
    sample: dict | None = None  # the workbench's sample of customers (large data), else every customer
    interactions: bool = True  # whether the data has an interactions table (else no complaint rate)
    amounts: bool = True  # whether the transactions hold amounts (else no revenue)

    @cached_property
    def current(self) -> pd.DataFrame:
        """Features and stage of every shown customer at the snapshot date."""
        f = self.frame
        return f[f["snapshot"] == self.settings.snapshot].reset_index(drop=True)

    @cached_property
    def counts(self) -> pd.Series:
        """Customers per stage at the snapshot date, in the typology's order (stages with none left out)."""
        counts = self.current["stage"].value_counts()
        return pd.Series(
            {c: int(counts[c]) for c in typology.stage_order() if c in counts.index}, dtype="int64"
        )

    @cached_property
    def transitions(self) -> Transitions | None:
        """Moves between the shown snapshots (``None`` with fewer than two snapshots)."""
        if len(self.snapshots) < 2 or self.frame.empty:
            return None
        history = self.frame[["customer_id", "snapshot", "stage"]]
        return Transitions(cadence=self.cadence, backend="pandas").fit(history)

    def profiles(self, lang: str = "fr") -> StageProfiles:
        return stage_profiles(
            self.current, self.settings.snapshot, lang, interactions=self.interactions, amounts=self.amounts
        )

    def customers(self, stage: str, limit: int | None = 200) -> pd.DataFrame:
        """The customers of ``stage`` at the snapshot date with their key features (most purchases first)."""
        c = self.current[self.current["stage"] == stage]
        c = c.sort_values(["n_purchases", "customer_id"], ascending=[False, True], kind="stable")
        c = c[["customer_id", *KEY_FEATURES]].reset_index(drop=True)
        return c if limit is None else c.head(limit)

    def rule_text(self, stage: str, lang: str = "fr") -> str:
        """The rule that places customers in ``stage`` (first match wins: the stage's own rule)."""
        rule = next(r for r in self.rules.rules if r.stage == stage)
        return self.rules.describe(rule.when, lang, self.settings.horizon_days)


def customer_attributes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """``customer_id, cohort, channel, region``: the year a customer was first known and its attributes."""
    tx = tables["transactions"]
    first = tx.groupby("customer_id")["date"].min()
    cu = tables.get("customers")
    if cu is not None:
        signup = cu.groupby("customer_id")["signup_date"].min()
        first = pd.concat([first, signup], axis=1).min(axis=1)
    out = pd.DataFrame({"customer_id": first.index.astype(str), "cohort": first.dt.year.astype("Int64")})
    out["cohort"] = out["cohort"].astype("string")
    for name, column in (("channel", "acquisition_channel"), ("region", "region")):
        if cu is not None and column in cu:
            values = cu.drop_duplicates("customer_id").set_index("customer_id")[column].astype("string")
            out[name] = out["customer_id"].map(values).astype("string")
        else:
            out[name] = pd.Series(pd.NA, index=out.index, dtype="string")
    return out.reset_index(drop=True)


class ExplorerEngine:
    """Recomputes the stages of a :class:`~custrel_lib.workbench.Workbench` under changed settings.

    Parameters
    ----------
    wb : Workbench
        The prepared data: its tables are loaded once into DuckDB, its rules and H are the starting point.
    """

    def __init__(self, wb: Workbench):
        self.wb = wb
        self.con = ibis.duckdb.connect()
        self.tables = {name: self.con.create_table(f"explore_{name}", df) for name, df in wb.tables.items()}
        self.attributes = customer_attributes(wb.tables)
        self._attrs = self.con.create_table("explore_attributes", self.attributes)
        self.base_rules: RuleSet = wb.stages.rules_
        self.thresholds = thresholds(self.base_rules)
        self.grid: list[pd.Timestamp] = list(wb.stages.snapshots_)
        cadence = wb.stages.cadence
        self.cadence = cadence if isinstance(cadence, str) else "month"
        self._tables: tuple[ibis.Table, ibis.Table] | None = None
        self._features: dict[tuple[int, pd.Timestamp], tuple[str, ibis.Table]] = {}
        self._signals: dict[pd.Timestamp, ibis.Table | None] = {}
        self._n = 0

    def default_settings(self) -> Settings:
        """The workbench's own settings: its H, its last snapshot, its rules, no filter."""
        return Settings(
            horizon_days=round(self.wb.horizon_days),
            snapshot=self.grid[-1],
            values={t.key: t.value for t in self.thresholds},
            filters={k: "" for k in FILTERS},
        )

    def filter_options(self) -> dict[str, list[str]]:
        """The values each filter can take (sorted, missing values left out)."""
        return {k: sorted(self.attributes[k].dropna().unique().tolist()) for k in FILTERS}

    def snapshots_for(self, snapshot: pd.Timestamp) -> list[pd.Timestamp]:
        """The snapshot date and the grid's snapshots 12 and 6 months before it (those in the data)."""
        s = pd.Timestamp(snapshot)
        if s not in self.grid:
            raise ConfigError(
                f"{s.date()} is not a snapshot; choose a date of {self.grid[0].date()} .. {self.grid[-1].date()}."
            )
        earlier = [(s - pd.DateOffset(months=m)) + pd.offsets.MonthEnd(0) for m in LOOKBACK_MONTHS]
        return [e for e in earlier if e in self.grid] + [s]

    def _base(self) -> tuple[ibis.Table, ibis.Table]:
        """Every feature at every snapshot (computed under the workbench's H, the loyalty flag counted at every
        snapshot) and the purchases with their gaps, as DuckDB tables: computed on first use, then kept."""
        if self._tables is None:
            expr, _ = features_engine(
                self.tables, self.grid, float(self.wb.horizon_days), backend=self.con, loyalty_from=None
            )
            features = self.con.create_table("explore_features", expr)
            gaps = self.con.create_table("explore_purchase_gaps", purchase_gaps(self.tables, self.con))
            self._tables = (features, gaps)
        return self._tables

    def _feature_table(self, horizon: int, snapshot: pd.Timestamp) -> ibis.Table:
        """The features at :meth:`snapshots_for` ``snapshot``, under H = ``horizon``, the loyalty flag counted from
        ``snapshot`` (as in a report whose extraction date is the snapshot date); the last ``CACHE_SIZE`` are kept
        as tables, so that a threshold or a filter change only re-runs the rules on a few thousand rows."""
        key = (int(horizon), pd.Timestamp(snapshot))
        if key in self._features:
            return self._features[key][1]
        features, gaps = self._base()
        shown = [days(s) for s in self.snapshots_for(snapshot)]
        ft = with_loyalty_from(features.filter(features.snapshot_day.isin(shown)), snapshot)
        self._n += 1
        name = f"explore_shown_{self._n}"
        table = self.con.create_table(name, with_horizon(ft, gaps, float(horizon), RETURN_GAP), temp=True)
        while self._features and len(self._features) >= CACHE_SIZE:
            old_name, _ = self._features.pop(next(iter(self._features)))
            self.con.drop_table(old_name)
        self._features[key] = (name, table)
        return table

    def with_signals(self, table: ibis.Table, snapshot: pd.Timestamp) -> ibis.Table:
        """``table`` (features, on this engine's connection) with the signal features that a report with
        ``as_of`` = ``snapshot`` supplies at its last snapshot; unchanged when the rules read none."""
        snapshot = pd.Timestamp(snapshot)
        if not signals_used(self.base_rules):
            return table
        if snapshot not in self._signals:
            self._signals[snapshot] = self._signal_table(snapshot)
        s = self._signals[snapshot]
        if s is None:
            return table
        joined = table.left_join(
            s, [table.customer_id == s.signal_customer, table.snapshot_day == s.signal_day]
        )
        return joined.drop("signal_customer", "signal_day")

    def _signal_table(self, snapshot: pd.Timestamp) -> ibis.Table | None:
        """P(alive) at ``snapshot``: the workbench's at its last snapshot, else the flame fitted up to it."""
        if snapshot == self.grid[-1]:
            signals = self.wb.stages.signals_
        else:
            try:
                signals = p_alive_at(self.wb.tables, snapshot)
            except CustrelError:  # too few repeat buyers at that date: the report would place without it
                signals = None
        if signals is None:
            return None
        frame = signals.astype({"customer_id": "string"}).rename(columns={"customer_id": "signal_customer"})
        frame["signal_day"] = int((snapshot - EPOCH).days)
        self._n += 1
        return self.con.create_table(f"explore_signals_{self._n}", frame)

    def compute(self, settings: Settings) -> Exploration:
        """Stages, features and flows of the shown customers under ``settings``."""
        t0 = time.perf_counter()
        if int(settings.horizon_days) < 1:
            raise ConfigError(f"The horizon H must be at least one day, got {settings.horizon_days}.")
        unknown = sorted(set(settings.filters) - set(FILTERS))
        if unknown:
            raise ConfigError(f"Unknown filter(s) {', '.join(unknown)}; filters are {', '.join(FILTERS)}.")
        snapshot = pd.Timestamp(settings.snapshot)
        rules = with_values(self.base_rules, settings.values)
        ft = self.with_signals(self._feature_table(settings.horizon_days, snapshot), snapshot)
        staged = ft.mutate(stage=rules.compile(ft, float(settings.horizon_days)))
        active = settings.active_filters()
        if active:
            a = self._attrs
            for name, value in active.items():
                a = a.filter(a[name] == str(value))
            staged = staged.filter(staged.customer_id.isin(a.customer_id))
        frame = to_pandas_features(self.con.execute(staged))
        frame["stage"] = frame["stage"].astype("string")
        return Exploration(
            settings=Settings(
                int(settings.horizon_days), snapshot, dict(settings.values), dict(settings.filters)
            ),
            rules=rules,
            snapshots=self.snapshots_for(snapshot),
            frame=frame,
            cadence=self.cadence,
            seconds=time.perf_counter() - t0,
            sample=getattr(self.wb, "sample", None),
            interactions="interactions" in self.tables,
            amounts=self.wb.amounts,
        )

    def export(self, settings: Settings) -> str:
        """The ``custrel.yml`` block (``analysis`` and ``stages``) that makes a report compute these stages."""
        return config_block(
            self.base_rules,
            settings.values,
            settings.horizon_days,
            settings.snapshot,
            settings.active_filters(),
        )
