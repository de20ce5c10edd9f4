"""Row-level journey computations: one Ibis implementation (DuckDB by default) and a pandas reference.

Both engines take a checked stage history, resample it to a cadence, apply filters and return only small
results (counts) as pandas DataFrames. The pandas engine uses different algorithms on purpose (merges
instead of window functions) so that the tests can compare the two.
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from custrel_lib.exceptions import ConfigError
from custrel_lib.journeys._base import _MONTHS, _TRUNCATE_UNIT, ENTRY, EXIT, period_end, require_columns

PAIR_COLUMNS = ["pair", "from_stage", "to_stage", "count"]
SEP = " > "


def _customer_columns(customers: Any, filters: dict[str, list[Any]]) -> list[str]:
    attrs = [k for k in filters if k != "cohort"]
    if attrs and customers is None:
        raise ConfigError(
            f"Filters on {', '.join(attrs)} need the customers table: pass customers=... to fit()."
        )
    if attrs:
        require_columns(customers, "customers", ["customer_id", *attrs])
    return attrs


class IbisEngine:
    """Journey counts computed inside an Ibis backend (DuckDB in process by default)."""

    def __init__(self, con, history, customers=None):
        self.con = con
        self.history = history if isinstance(history, ibis.Table) else ibis.memtable(history)
        self.customers = None
        if customers is not None:
            self.customers = customers if isinstance(customers, ibis.Table) else ibis.memtable(customers)
        self.table: ibis.Table | None = None

    def _execute(self, expr) -> pd.DataFrame:
        return self.con.execute(expr)

    def raw_snapshots(self) -> pd.Series:
        out = self._execute(self.history.select("snapshot").distinct())["snapshot"]
        return pd.to_datetime(out).astype("datetime64[ns]")

    def prepare(self, cadence: str, filters: dict[str, list[Any]]) -> None:
        t = self.history
        attrs = _customer_columns(self.customers, filters)
        if "cohort" in filters:
            first = t.group_by("customer_id").agg(first=t.snapshot.min())
            cond = ibis.or_(
                *[
                    (first["first"] >= p.start_time.to_pydatetime())
                    & (first["first"] < (p + 1).start_time.to_pydatetime())
                    for p in filters["cohort"]
                ]
            )
            t = t.semi_join(first.filter(cond), "customer_id")
        if attrs:
            c = self.customers
            for col in attrs:
                values = [v for v in filters[col] if v is not None and not pd.isna(v)]
                cond = c[col].isin(values) if values else ibis.literal(False)
                if len(values) < len(filters[col]):
                    cond = cond | c[col].isnull()
                c = c.filter(cond)
            t = t.semi_join(c.select("customer_id"), "customer_id")
        start = t.snapshot.truncate(_TRUNCATE_UNIT[cadence])
        end = (start + ibis.interval(months=_MONTHS[cadence]) - ibis.interval(days=1)).cast("timestamp")
        t = t.mutate(period_end=end)
        w = ibis.window(group_by=["customer_id", "period_end"], order_by=ibis.desc("snapshot"))
        t = t.mutate(rn=ibis.row_number().over(w))
        t = t.filter(t.rn == 0)
        self.table = t.select("customer_id", "stage", snapshot=t.period_end)

    def _indexed(self, snapshots: list[pd.Timestamp]) -> ibis.Table:
        t = self.table
        stamps = [pd.Timestamp(s).to_pydatetime() for s in snapshots]
        idx = ibis.cases(*[(t.snapshot == s, i) for i, s in enumerate(stamps)], else_=-1)
        t = t.mutate(i=idx.cast("int64"))
        return t.filter(t.i >= 0)

    def n_customers(self) -> int:
        return int(self._execute(self.table.customer_id.nunique()))

    def stage_counts(self) -> pd.DataFrame:
        t = self.table
        out = self._execute(t.group_by(["snapshot", "stage"]).agg(count=t.count()))
        out["snapshot"] = pd.to_datetime(out["snapshot"]).astype("datetime64[ns]")
        return out

    def pair_counts(self, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
        n = len(snapshots)
        t = self._indexed(snapshots)
        w = ibis.window(group_by="customer_id", order_by="i")
        t = t.mutate(next_i=t.i.lead().over(w), next_stage=t.stage.lead().over(w), prev_i=t.i.lag().over(w))
        moves = t.filter(t.next_i == t.i + 1).select(pair=t.i, from_stage=t.stage, to_stage=t.next_stage)
        exits = t.filter((t.i < n - 1) & (t.next_i.isnull() | (t.next_i > t.i + 1))).select(
            pair=t.i, from_stage=t.stage, to_stage=ibis.literal(EXIT, type="string")
        )
        entries = t.filter((t.i > 0) & (t.prev_i.isnull() | (t.prev_i < t.i - 1))).select(
            pair=(t.i - 1).cast("int64"), from_stage=ibis.literal(ENTRY, type="string"), to_stage=t.stage
        )
        u = ibis.union(moves, exits, entries, distinct=False)
        out = self._execute(u.group_by(["pair", "from_stage", "to_stage"]).agg(count=u.count()))
        return out[PAIR_COLUMNS]

    def paths(self, snapshots: list[pd.Timestamp], k: int, collapse: bool) -> pd.DataFrame:
        t = self._indexed(snapshots)
        w = ibis.window(group_by="customer_id", order_by="i")
        steps = {f"s{j}": t.stage.lead(j).over(w) for j in range(1, k)}
        t = t.mutate(last_i=t.i.lead(k - 1).over(w), **steps)
        t = t.filter(t.last_i == t.i + (k - 1))
        path = t.stage
        for j in range(1, k):
            step = ibis.literal(SEP) + t[f"s{j}"]
            if collapse:
                previous = t.stage if j == 1 else t[f"s{j - 1}"]
                step = ibis.ifelse(t[f"s{j}"] != previous, step, ibis.literal(""))
            path = path + step
        t = t.mutate(path=path)
        return self._execute(t.group_by("path").agg(count=t.count(), customers=t.customer_id.nunique()))


class PandasEngine:
    """Reference implementation in pandas (small data, tests)."""

    def __init__(self, history: pd.DataFrame, customers: pd.DataFrame | None = None):
        if isinstance(history, ibis.Table):
            history = history.to_pandas()
        if isinstance(customers, ibis.Table):
            customers = customers.to_pandas()
        self.history = history
        self.customers = customers
        self.table: pd.DataFrame | None = None

    def raw_snapshots(self) -> pd.Series:
        return pd.Series(self.history["snapshot"].unique()).astype("datetime64[ns]")

    def prepare(self, cadence: str, filters: dict[str, list[Any]]) -> None:
        h = self.history
        attrs = _customer_columns(self.customers, filters)
        keep = pd.Series(True, index=h.index)
        if "cohort" in filters:
            first = h.groupby("customer_id")["snapshot"].transform("min")
            ok = pd.Series(False, index=h.index)
            for p in filters["cohort"]:
                ok |= (first >= p.start_time) & (first < (p + 1).start_time)
            keep &= ok
        if attrs:
            c = self.customers
            for col in attrs:
                c = c[c[col].isin(filters[col]) | (c[col].isna() & any(pd.isna(v) for v in filters[col]))]
            keep &= h["customer_id"].isin(c["customer_id"])
        h = h[keep].assign(period_end=lambda d: period_end(d["snapshot"], cadence).to_numpy())
        h = (
            h.sort_values(["customer_id", "snapshot"])
            .groupby(["customer_id", "period_end"], as_index=False)
            .last()
        )
        self.table = h[["customer_id", "stage", "period_end"]].rename(columns={"period_end": "snapshot"})

    def _indexed(self, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
        index = {pd.Timestamp(s): i for i, s in enumerate(snapshots)}
        t = self.table[self.table["snapshot"].isin(list(index))].copy()
        t["i"] = t["snapshot"].map(index).astype(int)
        return t

    def n_customers(self) -> int:
        return int(self.table["customer_id"].nunique())

    def stage_counts(self) -> pd.DataFrame:
        return (
            self.table.groupby(["snapshot", "stage"], as_index=False).size().rename(columns={"size": "count"})
        )

    def pair_counts(self, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
        n = len(snapshots)
        t = self._indexed(snapshots)
        a = t[["customer_id", "i", "stage"]].rename(columns={"stage": "from_stage"})
        b = t.assign(i=t["i"] - 1)[["customer_id", "i", "stage"]].rename(columns={"stage": "to_stage"})
        m = a.merge(b, on=["customer_id", "i"], how="outer")
        m = m[(m["i"] >= 0) & (m["i"] < n - 1)]
        m = m.fillna({"from_stage": ENTRY, "to_stage": EXIT})
        out = m.groupby(["i", "from_stage", "to_stage"], as_index=False).size()
        return out.rename(columns={"i": "pair", "size": "count"})[PAIR_COLUMNS]

    def paths(self, snapshots: list[pd.Timestamp], k: int, collapse: bool) -> pd.DataFrame:
        t = self._indexed(snapshots)
        index = t.set_index(["customer_id", "i"])["stage"]
        rows = []
        for (cid, i), stage in index.items():
            seq = [stage]
            for j in range(1, k):
                nxt = index.get((cid, i + j))
                if nxt is None:
                    break
                seq.append(nxt)
            if len(seq) < k:
                continue
            if collapse:
                seq = [s for j, s in enumerate(seq) if j == 0 or s != seq[j - 1]]
            rows.append((SEP.join(seq), cid))
        df = pd.DataFrame(rows, columns=["path", "customer_id"])
        return df.groupby("path", as_index=False).agg(
            count=("customer_id", "size"), customers=("customer_id", "nunique")
        )
