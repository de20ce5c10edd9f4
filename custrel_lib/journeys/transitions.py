"""Stage transitions between consecutive snapshots, with explicit entries and exits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd

from custrel_lib.engine import check_engine, connect, is_reference
from custrel_lib.exceptions import AnalysisError, ConfigError, InsufficientDataError, NotFittedError
from custrel_lib.journeys._base import (
    ENTRY,
    EXIT,
    check_cadence,
    check_history,
    describe_filters,
    normalise_filters,
    period_end,
)
from custrel_lib.journeys._engines import SEP, IbisEngine, PandasEngine
from custrel_lib.stages import typology

COUNT_COLUMNS = ["from_snapshot", "to_snapshot", "from_stage", "to_stage", "count"]


def code_rank(codes: Sequence[str] | None = None) -> dict[str, int]:
    """Sort key of codes: entry first, then the stages (or ``codes``) in display order, then exit."""
    order = [ENTRY, *(codes if codes is not None else typology.stage_order()), EXIT]
    return {c: i for i, c in enumerate(order)}


def sort_flows(flows: pd.DataFrame, codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Sort a flow table by snapshot pair, then source and target in display order."""
    rank = code_rank(codes)
    key = {"from_stage": lambda s: s.map(rank), "to_stage": lambda s: s.map(rank)}
    return flows.sort_values(
        ["from_snapshot", "from_stage", "to_stage"], key=lambda s: key.get(s.name, lambda x: x)(s)
    ).reset_index(drop=True)


def select_snapshots(
    grid: Sequence[pd.Timestamp],
    snapshots: Sequence[Any] | None = None,
    every: int | None = None,
    first: int | None = None,
    last: int | None = None,
    cadence: str = "month",
) -> list[pd.Timestamp]:
    """Choose the snapshots a figure shows, out of the full ``grid``.

    Parameters
    ----------
    grid
        All snapshots (period ends), sorted.
    snapshots
        Explicit dates; each is moved to the end of its ``cadence`` period and must be in ``grid``.
    every
        Keep one snapshot in ``every``, counting back from the last one (so the latest is always shown).
    first, last
        Keep only the first or the last ``first``/``last`` snapshots (applied before ``every``).
    cadence
        Cadence of ``grid``, used to align explicit ``snapshots``.

    Returns
    -------
    list of pandas.Timestamp
        Sorted snapshots, at least two.
    """
    grid = [pd.Timestamp(s) for s in grid]
    if snapshots is not None:
        if every or first or last:
            raise ConfigError("Pass either explicit snapshots or every/first/last, not both.")
        wanted = sorted(set(period_end(pd.to_datetime(list(snapshots)), cadence)))
        missing = [w for w in wanted if w not in set(grid)]
        if missing:
            raise ConfigError(
                f"Snapshots {', '.join(f'{m:%Y-%m-%d}' for m in missing)} are not in the history "
                f"({grid[0]:%Y-%m-%d} to {grid[-1]:%Y-%m-%d})."
            )
        chosen = wanted
    else:
        if first and last:
            raise ConfigError("Pass first or last, not both.")
        for name, value in (("every", every), ("first", first), ("last", last)):
            if value is not None and (not isinstance(value, int | np.integer) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, not {value!r}.")
        chosen = grid[:first] if first else grid[-last:] if last else list(grid)
        if every:
            chosen = chosen[::-1][::every][::-1]
    if len(chosen) < 2:
        raise AnalysisError(f"Flows need at least two snapshots; the selection has {len(chosen)}.")
    return chosen


class Transitions:
    """Counts and rates of moves between stages from one snapshot to the next.

    The stage history is resampled to ``cadence`` (the stage at the last snapshot of each period, labelled
    by the period end), then every pair of consecutive periods is compared. A customer absent at ``t``
    and present at ``t + 1`` is an *entry* (from the pseudo-stage ``"entree"``); present at ``t`` and
    absent at ``t + 1``, an *exit* (to the pseudo-stage ``"sortie"``). So for each pair:
    customers at ``t`` + entries = customers at ``t + 1`` + exits (see :attr:`conservation_`).

    Parameters
    ----------
    cadence : {"month", "quarter", "year"}
        Period of the snapshots compared.
    backend : None, an engine setting, an Ibis connection, or "pandas"
        Where the row-level work runs: ``None`` is a new in-process DuckDB connection; ``"pyspark"``, an Ibis
        URL, ...: see :func:`custrel_lib.engine.connect`; ``"pandas"`` the reference implementation (small
        data only). An Ibis history table runs on its own backend.

    Attributes
    ----------
    snapshots_ : list of pandas.Timestamp
        Every period end of the (unfiltered) history: the time axis shared by all filtered fits.
    counts_ : pandas.DataFrame
        ``from_snapshot, to_snapshot, from_stage, to_stage, count`` for every consecutive pair, entries
        and exits included; staying in a stage is a row with ``from_stage == to_stage``.
    rates_ : pandas.DataFrame
        ``counts_`` with ``rate``: ``count`` over the row total of ``(from_snapshot, from_stage)``.
    count_matrix_, matrix_ : pandas.DataFrame
        Counts and row-normalised rates pooled over all pairs; rows ``entree`` + stages, columns stages +
        ``sortie``, both in display order (rows without customers are NaN in ``matrix_``).
    entries_, exits_ : pandas.DataFrame
        Entries (``to_snapshot, stage, count``) and exits (``from_snapshot, stage, count``).
    stage_counts_ : pandas.DataFrame
        ``snapshot, stage, count, share`` (share of the snapshot's customers).
    mix_ : pandas.DataFrame
        Stage shares, one row per snapshot of ``snapshots_``, one column per stage in display order.
    conservation_ : pandas.DataFrame
        Per pair: ``customers_from, entries, customers_to, exits, balanced``.
    n_customers_ : int
        Customers left after the filters.
    filters_ : dict
        Normalised filters.
    """

    def __init__(self, cadence: str = "month", backend: Any = None):
        self.cadence = check_cadence(cadence)
        self.backend = backend
        if not is_reference(backend):
            check_engine(backend, "backend")  # fail early on a bad backend argument, without connecting

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        history: pd.DataFrame | ibis.Table,
        customers: pd.DataFrame | ibis.Table | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Transitions:
        """Compute the transitions of ``history``.

        Parameters
        ----------
        history
            Stage history (``customer_id, snapshot, stage``, one row per customer and snapshot).
        customers
            Canonical customers table, needed to filter on customer attributes.
        filters
            ``{column: value or list of values}``: any column of ``customers`` (``None`` matches missing
            values), and ``cohort``: the period of the customer's first snapshot, as ``"2024"``,
            ``"2024Q1"`` or ``"2024-03"`` (its granularity sets the cohort's).

        Returns
        -------
        Transitions
            ``self``, fitted.
        """
        history = check_history(history)
        self.filters_ = normalise_filters(filters)
        if is_reference(self.backend):
            engine = PandasEngine(history, customers)
        else:
            if isinstance(history, ibis.Table) and self.backend is None:
                con = history.get_backend()
            else:
                con = connect(self.backend)
            engine = IbisEngine(con, history, customers)
        self._engine = engine
        self.snapshots_ = sorted(set(period_end(engine.raw_snapshots(), self.cadence)))
        if len(self.snapshots_) < 2:  # "the history covers 1 quarter, transitions need 2" (sections.WHAT)
            raise InsufficientDataError(f"{self.cadence}s_covered", len(self.snapshots_), 2)
        engine.prepare(self.cadence, self.filters_)
        self.n_customers_ = engine.n_customers()
        if self.n_customers_ == 0:
            raise AnalysisError(
                f"No customer left after the filters ({describe_filters(self.filters_, 'en')}): nothing to count."
            )
        self._stage_tables(engine.stage_counts())
        self.counts_ = self._flows(self.snapshots_)
        self._flow_tables()
        return self

    def _stage_tables(self, sc: pd.DataFrame) -> None:
        """``stage_counts_``, ``mix_`` and ``population_`` from the engine's counts per snapshot and stage."""
        sc["count"] = sc["count"].astype("int64")
        sc["share"] = sc["count"] / sc.groupby("snapshot")["count"].transform("sum")
        rank = code_rank()
        self.stage_counts_ = sc.sort_values(
            ["snapshot", "stage"], key=lambda s: s.map(rank) if s.name == "stage" else s
        )
        self.stage_counts_ = self.stage_counts_.reset_index(drop=True)[
            ["snapshot", "stage", "count", "share"]
        ]
        self.mix_ = (
            sc.pivot_table(index="snapshot", columns="stage", values="share", aggfunc="sum")
            .reindex(index=self.snapshots_, columns=typology.stage_order())
            .fillna(0.0)
        )
        self.mix_.columns.name = "stage"
        self.population_ = (
            sc.groupby("snapshot")["count"].sum().reindex(self.snapshots_, fill_value=0).astype("int64")
        )

    def _flow_tables(self) -> None:
        """Rates, entries, exits, pooled matrices and the conservation check, from ``counts_``."""
        self.rates_ = self.counts_.assign(
            rate=lambda d: d["count"] / d.groupby(["from_snapshot", "from_stage"])["count"].transform("sum")
        )
        self.entries_ = (
            self.counts_[self.counts_["from_stage"] == ENTRY]
            .rename(columns={"to_stage": "stage"})[["to_snapshot", "stage", "count"]]
            .reset_index(drop=True)
        )
        self.exits_ = (
            self.counts_[self.counts_["to_stage"] == EXIT]
            .rename(columns={"from_stage": "stage"})[["from_snapshot", "stage", "count"]]
            .reset_index(drop=True)
        )
        rows, cols = [ENTRY, *typology.stage_order()], [*typology.stage_order(), EXIT]
        cm = self.counts_.pivot_table(index="from_stage", columns="to_stage", values="count", aggfunc="sum")
        self.count_matrix_ = cm.reindex(index=rows, columns=cols).fillna(0).astype("int64")
        totals = self.count_matrix_.sum(axis=1)
        self.matrix_ = self.count_matrix_.div(totals.where(totals > 0), axis=0)
        self.conservation_ = self._conservation()

    def flows(self, snapshots: Sequence[pd.Timestamp]) -> pd.DataFrame:
        """Counts between consecutive snapshots of a selection (e.g. every sixth month).

        Parameters
        ----------
        snapshots
            Sorted snapshots of :attr:`snapshots_`; a customer present at two selected snapshots and
            absent at an unselected one in between counts as a move, not as an exit and an entry.

        Returns
        -------
        pandas.DataFrame
            Same columns as :attr:`counts_`.
        """
        self._check_fitted()
        return self._flows(snapshots)

    def _flows(self, snapshots: Sequence[pd.Timestamp]) -> pd.DataFrame:
        snapshots = [pd.Timestamp(s) for s in snapshots]
        known = set(self.snapshots_)
        if any(s not in known for s in snapshots) or snapshots != sorted(set(snapshots)):
            raise ConfigError("flows() needs sorted, distinct snapshots taken from snapshots_.")
        raw = self._engine.pair_counts(snapshots)
        pairs = pd.DataFrame({"pair": range(len(snapshots) - 1)})
        pairs["from_snapshot"] = snapshots[:-1]
        pairs["to_snapshot"] = snapshots[1:]
        out = raw.merge(pairs, on="pair")
        out["count"] = out["count"].astype("int64")
        out["from_snapshot"] = out["from_snapshot"].astype("datetime64[ns]")
        out["to_snapshot"] = out["to_snapshot"].astype("datetime64[ns]")
        return sort_flows(out[COUNT_COLUMNS])

    def select_snapshots(self, snapshots=None, every=None, first=None, last=None) -> list[pd.Timestamp]:
        """Snapshots of :attr:`snapshots_` to show: see :func:`select_snapshots`."""
        self._check_fitted()
        return select_snapshots(self.snapshots_, snapshots, every, first, last, self.cadence)

    def paths(self, k: int = 3, top: int = 10, collapse: bool = False) -> pd.DataFrame:
        """Most frequent stage sequences over ``k`` consecutive snapshots.

        Every customer contributes one window per starting snapshot where it is present at all ``k``
        consecutive snapshots (a sliding window over :attr:`snapshots_`).

        Parameters
        ----------
        k
            Length of the windows, at least 2.
        top
            Number of paths returned (the rest is summed up in no row; ``share`` is over all windows).
        collapse
            Merge repeated stages inside a window (``flirt > flirt > petit_ami`` becomes
            ``flirt > petit_ami``), so that paths differing only by how long a stage lasted add up.

        Returns
        -------
        pandas.DataFrame
            ``path`` (stage codes joined by ``" > "``), ``count`` (windows), ``share`` (of all windows),
            ``customers`` (distinct customers), most frequent first.
        """
        self._check_fitted()
        if not isinstance(k, int | np.integer) or k < 2:
            raise ConfigError(f"k must be an integer of at least 2, not {k!r}.")
        if k > len(self.snapshots_):
            raise AnalysisError(f"k={k} is longer than the history ({len(self.snapshots_)} snapshots).")
        out = self._engine.paths(self.snapshots_, int(k), bool(collapse))
        if out.empty:
            return pd.DataFrame({"path": [], "count": [], "share": [], "customers": []})
        out["count"] = out["count"].astype("int64")
        out["customers"] = out["customers"].astype("int64")
        out["share"] = out["count"] / out["count"].sum()
        out = out.sort_values(["count", "path"], ascending=[False, True]).head(top)
        return out[["path", "count", "share", "customers"]].reset_index(drop=True)

    # ------------------------------------------------------------ reporting
    def _conservation(self) -> pd.DataFrame:
        c = self.counts_
        entry, exit_ = c["from_stage"] == ENTRY, c["to_stage"] == EXIT
        parts = pd.DataFrame(
            {
                "from_snapshot": c["from_snapshot"],
                "to_snapshot": c["to_snapshot"],
                "customers_from": c["count"].where(~entry, 0),
                "entries": c["count"].where(entry, 0),
                "customers_to": c["count"].where(~exit_, 0),
                "exits": c["count"].where(exit_, 0),
            }
        )
        out = parts.groupby(["from_snapshot", "to_snapshot"]).sum()
        pairs = pd.MultiIndex.from_arrays([self.snapshots_[:-1], self.snapshots_[1:]])
        out = out.reindex(pairs, fill_value=0).astype("int64")
        out.index.names = ["from_snapshot", "to_snapshot"]
        out = out.reset_index()
        pop = self.population_
        out["balanced"] = (
            (out["customers_from"] + out["entries"] == out["customers_to"] + out["exits"])
            & (out["customers_from"].to_numpy() == pop.loc[out["from_snapshot"]].to_numpy())
            & (out["customers_to"].to_numpy() == pop.loc[out["to_snapshot"]].to_numpy())
        )
        return out

    @property
    def summary(self) -> pd.DataFrame:
        """One row per stage: customers and share at the last snapshot, pooled stay and exit rates, and
        the most frequent other destination with its rate."""
        self._check_fitted()
        last = self.snapshots_[-1]
        m = self.matrix_.drop(index=ENTRY)
        sc = self.stage_counts_
        at_last = sc[sc["snapshot"] == last].set_index("stage")["count"]
        rows = []
        for stage in typology.stage_order():
            rates = m.loc[stage]
            others = rates.drop([stage, EXIT]).dropna()
            best = others.idxmax() if len(others) and others.max() > 0 else None
            rows.append(
                {
                    "stage": stage,
                    "customers_last": int(at_last.get(stage, 0)),
                    "share_last": float(self.mix_.loc[last, stage]),
                    "observed_moves": int(self.count_matrix_.loc[stage].sum()),
                    "stay_rate": rates[stage],
                    "exit_rate": rates[EXIT],
                    "main_destination": best,
                    "main_destination_rate": others[best] if best else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("stage")

    def _repr_html_(self) -> str:
        if not hasattr(self, "counts_"):
            return f"<p>Transitions(cadence={self.cadence!r}), not fitted.</p>"
        from custrel_lib.journeys.tables import transitions_table

        return transitions_table(self, "fr")._repr_html_()

    def __repr__(self) -> str:
        return f"Transitions(cadence={self.cadence!r}, backend={self.backend!r})"

    def _check_fitted(self) -> None:
        if not hasattr(self, "counts_"):
            raise NotFittedError("Transitions", "fit(history)")


def path_label(path: str, lang: str = "fr") -> str:
    """Translate a path of stage codes (``"flirt > petit_ami"``) into labels (``"Flirt → Petit(e) ami(e)"``)."""
    from custrel_lib.journeys._base import code_label

    return " → ".join(code_label(code, lang) for code in path.split(SEP))
