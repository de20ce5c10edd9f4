"""How long the stage explorer takes to redraw after each kind of control change, old path against new.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/explore.py             # 5 changes of each kind, on the sample
    PYTHONPATH=$PWD .venv/bin/python benchmarks/explore.py --repeat 9

Two headless explorers (``StageExplorer`` outside IPython: the figures are built, not drawn) on the sample
(``data/sample/custrel.yml``), moved side by side, one change at a time, alternately: ``old`` rebuilds the whole
feature table in the engine for every new (H, snapshot date) pair (:class:`LegacyEngine`, the explorer's code
before per-snapshot tables; the last six pairs cached), ``new`` is :class:`custrel_lib.explore.ExplorerEngine`.
Kinds of change: a rule threshold (``purchases_12m >= n`` of cohabiting), the region filter, H (a value not seen
before every time) and the snapshot date (a date not seen before every time). Per kind and path: the median, the
fastest and the slowest full redraw (engine, bar chart, Sankey, profiles, customer list: the time the status line
shows) and the median of the engine's part. After every change the two explorers' stages are compared customer
by customer (every shown snapshot): a difference stops the script.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

from custrel_lib.explore import ExplorerEngine, StageExplorer
from custrel_lib.stages.features import RETURN_GAP, features_engine
from custrel_lib.workbench import prepare

CONCUBINAGE_12M = "concubinage.all.1"
KINDS = ("threshold", "filter", "horizon", "snapshot")


class LegacyEngine(ExplorerEngine):
    """The explorer's engine before per-snapshot tables: every new (H, date) pair recomputes all the features
    at the date and 6 and 12 months before (``features_engine``), kept as a DuckDB table (six pairs cached)."""

    def __init__(self, wb):
        super().__init__(wb)
        self._legacy: dict = {}
        self._legacy_n = 0

    def _feature_table(self, horizon, snapshot):
        key = (int(horizon), pd.Timestamp(snapshot))
        if key in self._legacy:
            return self._legacy[key][1]
        expr, _ = features_engine(
            self.tables,
            self.snapshots_for(snapshot),
            float(horizon),
            backend=self.con,
            return_gap=RETURN_GAP,
            loyalty_from=snapshot,
        )
        self._legacy_n += 1
        name = f"explore_legacy_{self._legacy_n}"
        table = self.con.create_table(name, expr)
        while len(self._legacy) >= 6:
            old_name, _ = self._legacy.pop(next(iter(self._legacy)))
            self.con.drop_table(old_name)
        self._legacy[key] = (name, table)
        return table


def _changes(explorer: StageExplorer, kind: str, repeat: int) -> list:
    """``repeat`` (control, value) pairs of one kind, each value different from the one before."""
    if kind == "threshold":
        values = [4, 5, 7, 3, 8, 2, 9, 4, 5, 7, 3, 8][:repeat]
        return [(explorer.thresholds[CONCUBINAGE_12M], v) for v in values]
    if kind == "filter":
        regions = [v for _label, v in explorer.filters["region"].options if v]
        return [(explorer.filters["region"], regions[i % len(regions)]) for i in range(repeat)]
    if kind == "horizon":
        h = explorer.defaults.horizon_days
        return [(explorer.horizon, h + 7 * (i + 1) * (-1) ** i) for i in range(repeat)]
    dates = [v for _label, v in explorer.snapshot.options][::-1][1 : repeat + 1]
    return [(explorer.snapshot, d) for d in dates]


def _same_stages(a: StageExplorer, b: StageExplorer) -> bool:
    cols = ["customer_id", "snapshot", "stage"]
    fa = a.result.frame[cols].sort_values(cols[:2]).reset_index(drop=True)
    fb = b.result.frame[cols].sort_values(cols[:2]).reset_index(drop=True)
    return fa.astype(str).equals(fb.astype(str))


def run(repeat: int) -> dict:
    t0 = time.perf_counter()
    wb = prepare(verbose=False)
    print(f"prepare() on the sample: {time.perf_counter() - t0:.2f} s")
    explorers = {}
    for path, engine_class in (("old", LegacyEngine), ("new", ExplorerEngine)):
        t0 = time.perf_counter()
        explorers[path] = StageExplorer(wb, lang="en", engine=engine_class(wb))
        print(f"{path}: explorer opened in {time.perf_counter() - t0:.2f} s")
    times = {(k, p): [] for k in KINDS for p in explorers}
    for kind in KINDS:
        for ex in explorers.values():
            ex.reset()
        plans = {p: _changes(ex, kind, repeat) for p, ex in explorers.items()}
        for i in range(repeat):
            for path, ex in explorers.items():
                control, value = plans[path][i]
                control.value = value  # the observer recomputes and redraws (``refresh``)
                times[kind, path].append((ex.seconds, ex.result.seconds))
            if not _same_stages(explorers["old"], explorers["new"]):
                raise SystemExit(f"different stages after the {kind} change to {plans['new'][i][1]}")
    return times


def report(times: dict, repeat: int) -> None:
    print(
        f"\n{repeat} changes of each kind; seconds (full redraw: median [fastest, slowest]; engine: median)"
    )
    print(
        f"{'change':<10} {'old redraw':>22} {'old engine':>11} {'new redraw':>22} {'new engine':>11} {'old/new':>8}"
    )
    for kind in KINDS:
        cells = []
        for path in ("old", "new"):
            full = [t[0] for t in times[kind, path]]
            engine = [t[1] for t in times[kind, path]]
            cells.append(f"{statistics.median(full):6.2f} [{min(full):5.2f}, {max(full):5.2f}]")
            cells.append(f"{statistics.median(engine):11.2f}")
        ratio = statistics.median(t[0] for t in times[kind, "old"]) / statistics.median(
            t[0] for t in times[kind, "new"]
        )
        print(f"{kind:<10} {cells[0]:>22} {cells[1]} {cells[2]:>22} {cells[3]} {ratio:7.1f}x")
    print("Stages identical between the two paths after every change.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="changes of each kind (default 5, at most 12)")
    args = parser.parse_args()
    repeat = max(1, min(args.repeat, 12))
    with open("/proc/loadavg") as fh:
        print(f"load average at start: {' '.join(fh.read().split()[:3])}")
    times = run(repeat)
    report(times, repeat)
    with open("/proc/loadavg") as fh:
        print(f"load average at end: {' '.join(fh.read().split()[:3])}")


if __name__ == "__main__":
    main()
