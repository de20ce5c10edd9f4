"""Features per customer and snapshot, computed in the query engine through Ibis (DuckDB by default).

How it scales: dates become day numbers; every event is mapped to its *tick* (the calendar of month ends,
snapshot dates and window starts, so every window boundary is a tick); events are aggregated once per customer
and tick; running sums and maxima over the ticks give the state at every tick; windowed features (last 3, 6, 12
months) are differences of running sums at the snapshot and at the window start. One scan of each table, no
scan per snapshot. :func:`features_pandas` computes the same definitions plainly, snapshot by snapshot: the tests
require both to agree.

Definitions (``s`` the snapshot date; a *purchase* is a transaction with a positive amount; windows are
``(s - N months, s]``, ending on month ends when ``s`` is a month end):

==================  ==================================================================================
recency_days        days since the last purchase (null before the first)
n_purchases         purchases up to ``s``
monetary            net spend up to ``s`` (refunds included)
avg_basket          mean amount of the purchases up to ``s``
tenure_days         days since the customer was first known (sign-up or first transaction)
purchases_12m       purchases in the last 12 months
spend_6m            purchase amounts in the last 6 months (``spend_prev_6m``: the 6 months before)
spend_trend         ``spend_6m / spend_prev_6m - 1`` (null when nothing was bought in the 6 months before)
basket_trend        mean basket of the last 6 months over that of the 6 before, minus 1 (up-sell)
n_categories        distinct categories bought up to ``s`` (cross-sell)
gap_mean_days       mean days between consecutive purchases; ``gap_cv`` their coefficient of variation
active              a purchase within the horizon ``H`` (``recency_days <= H``)
days_since_return   days since the last purchase that came after a gap longer than ``return_gap`` x ``H``
committed           a contract running at ``s`` or a loyalty-programme member
contract_active     a contract running at ``s`` (started on or before, not ended)
committed_days      days since the contract started (or since sign-up for a loyalty member)
contract_ended      a contract ended on or before ``s``
nps_last            the latest NPS score up to ``s``; ``promoter`` (>= 9), ``detractor`` (<= 6)
complaints_3m       complaints in the last 3 months; ``open_complaints`` those not resolved
referrals           referrals (``referral`` or ``parrainage`` interactions) up to ``s``
commitment_signals  how many of: promoter, a referral, ``basket_trend >= 0.25``, ``n_categories >= 3``
==================  ==================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ibis
import numpy as np
import pandas as pd

from custrel_lib.exceptions import AnalysisError, ConfigError

WINDOWS = (3, 6, 12)
REFERRAL_TYPES = ("referral", "parrainage")
BASKET_SIGNAL = 0.25
CATEGORY_SIGNAL = 3
RETURN_GAP = 1.5
EPOCH = pd.Timestamp("1970-01-01")

FEATURE_COLUMNS = [
    "recency_days",
    "n_purchases",
    "monetary",
    "avg_basket",
    "tenure_days",
    "purchases_12m",
    "spend_6m",
    "spend_prev_6m",
    "spend_trend",
    "basket_trend",
    "n_categories",
    "gap_mean_days",
    "gap_cv",
    "active",
    "days_since_return",
    "committed",
    "contract_active",
    "committed_days",
    "contract_ended",
    "loyalty_member",
    "nps_last",
    "promoter",
    "detractor",
    "complaints_3m",
    "open_complaints",
    "referrals",
    "commitment_signals",
]
BOOL_FEATURES = (
    "active",
    "committed",
    "contract_active",
    "contract_ended",
    "loyalty_member",
    "promoter",
    "detractor",
)


# --- calendar -------------------------------------------------------------------------------------------


def snapshot_dates(
    first: pd.Timestamp, as_of: pd.Timestamp, cadence: str | Sequence = "month"
) -> list[pd.Timestamp]:
    """Period ends from the period of ``first`` to ``as_of`` (``as_of`` itself closes the last period)."""
    as_of = pd.Timestamp(as_of).normalize()
    if not isinstance(cadence, str):
        dates = sorted({pd.Timestamp(d).normalize() for d in cadence})
        if not dates:
            raise ConfigError("The list of snapshot dates is empty.")
        if dates[-1] > as_of:
            raise ConfigError(f"Snapshot {dates[-1].date()} is after the extraction date {as_of.date()}.")
        return dates
    freq = {"month": "ME", "quarter": "QE"}.get(cadence)
    if freq is None:
        raise ConfigError(f"Unknown cadence {cadence!r}: use 'month', 'quarter' or a list of dates.")
    ends = list(pd.date_range(pd.Timestamp(first).normalize(), as_of, freq=freq))
    if not ends or ends[-1] < as_of:
        ends.append(as_of)
    return ends


def window_start(s: pd.Timestamp, months: int) -> pd.Timestamp:
    """Start (excluded) of the ``months``-month window ending at ``s``; month ends map to month ends."""
    start = s - pd.DateOffset(months=months)
    return start + pd.offsets.MonthEnd(0) if s.is_month_end else start


def _days(ts) -> np.ndarray | int:
    if isinstance(ts, pd.Timestamp):
        return int((ts - EPOCH).days)
    return ((pd.DatetimeIndex(ts) - EPOCH).days).to_numpy(dtype=np.int64)


def _calendar(
    first_day: int, snapshots: list[pd.Timestamp]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Ticks (``tick`` day number, ``k`` index), the day->tick map, and each snapshot's window-start ticks."""
    last = snapshots[-1]
    first = EPOCH + pd.Timedelta(days=first_day)
    ticks = set(pd.date_range(first, last, freq="ME")) | set(snapshots)
    starts = {m: [window_start(s, m) for s in snapshots] for m in WINDOWS}
    for values in starts.values():
        ticks |= {d for d in values if d >= first}
    ticks.add(last)
    tick_days = np.array(sorted(_days(pd.DatetimeIndex(sorted(ticks)))), dtype=np.int64)
    tick_days = tick_days[tick_days >= first_day] if (tick_days >= first_day).any() else tick_days
    tick_table = pd.DataFrame({"tick": tick_days, "k": np.arange(len(tick_days), dtype=np.int64)})
    days = np.arange(first_day, int(tick_days[-1]) + 1, dtype=np.int64)
    day_map = pd.DataFrame({"d": days, "k": np.searchsorted(tick_days, days, side="left").astype(np.int64)})
    snap = pd.DataFrame({"s": _days(pd.DatetimeIndex(snapshots))})
    snap["k"] = np.searchsorted(tick_days, snap["s"].to_numpy())
    for m, values in starts.items():
        # The window start's tick, or -1 when the window starts before the data: nothing to subtract.
        v = _days(pd.DatetimeIndex(values))
        idx = np.searchsorted(tick_days, v)
        snap[f"k{m}"] = np.where(v < tick_days[0], -1, idx)
    return tick_table, day_map, snap


# --- horizon ----------------------------------------------------------------------------------------------


def _purchases(t: ibis.Table) -> ibis.Table:
    p = t.filter(t.amount > 0)
    w = ibis.window(group_by=p.customer_id, order_by=[p.d, p.amount])
    return p.mutate(gap=p.d - p.d.lag().over(w))


def horizon_from_gaps(tx: ibis.Table, quantile: float = 0.95) -> float:
    """The ``quantile`` of repeat customers' inter-purchase gaps, each customer weighing the same.

    With every gap weighing the same, frequent buyers supply most gaps and the quantile lands near their
    rhythm; regular but slower buyers would then be called separated (see data/sample/README.md).
    """
    g = _purchases(tx)
    g = g.filter(g.gap.notnull())
    g = g.mutate(w=1.0 / g.count().over(ibis.window(group_by=g.customer_id)))
    total = g.w.sum().over(ibis.window())
    g = g.mutate(
        cum=g.w.sum().over(ibis.window(order_by=[g.gap, g.customer_id, g.d], rows=(None, 0))) / total
    )
    result = g.filter(g.cum >= quantile).gap.min()
    value = result.execute() if hasattr(result, "execute") else None
    if value is None or pd.isna(value):
        raise AnalysisError(
            "Cannot derive the separation horizon: no customer bought twice. Set analysis.horizon_days in custrel.yml."
        )
    return float(value)


def horizon_pandas(transactions: pd.DataFrame, quantile: float = 0.95) -> float:
    p = transactions[transactions["amount"] > 0].sort_values(["customer_id", "date", "amount"], kind="stable")
    d = _days(p["date"])
    gap = pd.Series(d, index=p.index).groupby(p["customer_id"].to_numpy()).diff().dropna()
    ids = p.loc[gap.index, "customer_id"]
    w = 1.0 / ids.map(ids.value_counts())
    order = np.lexsort((d[p.index.get_indexer(gap.index)], ids.to_numpy(), gap.to_numpy()))
    cum = np.cumsum(w.to_numpy()[order]) / w.sum()
    return float(gap.to_numpy()[order][np.argmax(cum >= quantile - 1e-12)])


# --- engine -----------------------------------------------------------------------------------------------


def connect(backend=None):
    """An Ibis backend: ``None`` is a new in-process DuckDB connection."""
    return ibis.duckdb.connect() if backend is None else backend


def _table(con, df: pd.DataFrame | ibis.Table | None, columns: list[str]) -> ibis.Table | None:
    if df is None:
        return None
    if isinstance(df, ibis.Table):
        return df.select(*columns)
    return ibis.memtable(df[columns])


def _dedup(t: ibis.Table) -> ibis.Table:
    """Drop the ``*_right`` copies of join keys (Ibis keeps them on left joins)."""
    extra = [c for c in t.columns if c.endswith("_right")]
    return t.drop(*extra) if extra else t


def _with_days(t: ibis.Table, column: str = "date", name: str = "d") -> ibis.Table:
    return t.mutate(**{name: t[column].cast("date").epoch_days().cast("int64")})


def first_seen_days(con, tables: dict) -> int:
    tx = _with_days(_table(con, tables["transactions"], ["customer_id", "date"]))
    first = int(con.execute(tx.d.min()))
    cu = tables.get("customers")
    if cu is not None:
        c = _table(con, cu, ["customer_id", "signup_date"])
        c = c.filter(c.signup_date.notnull())
        v = con.execute(c.signup_date.cast("date").epoch_days().min())
        if v is not None and not pd.isna(v):
            first = min(first, int(v))
    return first


def features_engine(
    tables: dict,
    snapshots: list[pd.Timestamp],
    horizon_days: float,
    backend=None,
    return_gap: float = RETURN_GAP,
) -> tuple[ibis.Table, object]:
    """The feature table as an Ibis expression (one row per customer and snapshot where it exists)."""
    con = connect(backend)
    first_day = first_seen_days(con, tables)
    tick_table, day_map, snap = _calendar(first_day, snapshots)
    ticks, days, snaps = ibis.memtable(tick_table), ibis.memtable(day_map), ibis.memtable(snap)

    tx = _with_days(_table(con, tables["transactions"], ["customer_id", "date", "amount", "category"]))
    tx = tx.join(days, tx.d == days.d).select(tx.customer_id, tx.d, tx.amount, tx.category, days.k)
    p = _purchases(tx)
    long_gap = float(return_gap) * float(horizon_days)
    per = p.group_by(["customer_id", "k"]).aggregate(
        n_p=p.count(),
        s_p=p.amount.sum(),
        last_p=p.d.max(),
        first_p=p.d.min(),
        g_sum=p.gap.sum(),
        g_sq=(p.gap * p.gap).sum(),
        last_ret=(p.gap > long_gap).ifelse(p.d, ibis.null()).max(),
    )
    allx = tx.group_by(["customer_id", "k"]).aggregate(s_all=tx.amount.sum(), first_t=tx.d.min())
    cats = p.filter(p.category.notnull()).group_by(["customer_id", "category"]).aggregate(k=p.k.min())
    cats = cats.group_by(["customer_id", "k"]).aggregate(n_newcat=cats.count())

    # First tick of each customer: sign-up or first transaction.
    firsts = allx.group_by("customer_id").aggregate(fk=allx.k.min())
    cu_df = tables.get("customers")
    if cu_df is not None:
        cu = _table(
            con, cu_df, ["customer_id", "signup_date", "contract_start", "contract_end", "loyalty_member"]
        )
        cu = cu.mutate(
            signup=cu.signup_date.cast("date").epoch_days().cast("int64"),
            cstart=cu.contract_start.cast("date").epoch_days().cast("int64"),
            cend=cu.contract_end.cast("date").epoch_days().cast("int64"),
            loyal=cu.loyalty_member.cast("boolean").fill_null(False),
        )
        sk = cu.filter(cu.signup.notnull()).join(days, cu.signup == days.d)
        sk = sk.group_by("customer_id").aggregate(fk=sk.k.min())
        firsts = firsts.union(sk).group_by("customer_id").aggregate(fk=ibis._.fk.min())

    parts = [per, allx, cats]
    it_df = tables.get("interactions")
    if it_df is not None:
        it = _with_days(_table(con, it_df, ["customer_id", "date", "type", "score", "resolved"]))
        it = it.join(days, it.d == days.d).select(
            it.customer_id, it.d, it.type, it.score, it.resolved, days.k
        )
        # Voice-of-the-customer events before the customer is known count from its first tick.
        it = it.join(firsts, "customer_id").select(
            "customer_id", "d", "type", "score", "resolved", k=ibis.greatest(ibis._.k, ibis._.fk)
        )
        is_nps = (it.type == "nps") & it.score.notnull()
        # Latest NPS as a running max of (day, score) packed in one number: works in every engine.
        key = (it.d * 1000 + (it.score * 10).round().cast("int64")).cast("int64")
        inter = it.group_by(["customer_id", "k"]).aggregate(
            nps_key=is_nps.ifelse(key, ibis.null()).max(),
            n_compl=(it.type == "complaint").cast("int64").sum(),
            n_open=((it.type == "complaint") & (it.resolved == False)).cast("int64").sum(),  # noqa: E712
            n_ref=it.type.isin(REFERRAL_TYPES).cast("int64").sum(),
        )
        parts.append(inter)

    grid = firsts.cross_join(ticks).filter(lambda t: t.k >= t.fk).select("customer_id", "k", "tick")
    for part in parts:
        grid = _dedup(grid.left_join(part, ["customer_id", "k"]))
    cw = ibis.cumulative_window(group_by="customer_id", order_by="k")
    zero = ["n_p", "s_p", "g_sum", "g_sq", "s_all", "n_newcat"]
    zero += ["n_compl", "n_open", "n_ref"] if it_df is not None else []
    grid = grid.mutate(**{c: grid[c].fill_null(0) for c in zero})
    cum = {
        "c_np": grid.n_p.sum().over(cw),
        "c_sp": grid.s_p.sum().over(cw),
        "c_gsum": grid.g_sum.sum().over(cw),
        "c_gsq": grid.g_sq.sum().over(cw),
        "c_sall": grid.s_all.sum().over(cw),
        "c_cat": grid.n_newcat.sum().over(cw),
        "c_last": grid.last_p.max().over(cw),
        "c_first": grid.first_p.min().over(cw),
        "c_ret": grid.last_ret.max().over(cw),
    }
    if it_df is not None:
        cum |= {
            "c_nps": grid.nps_key.max().over(cw),
            "c_compl": grid.n_compl.sum().over(cw),
            "c_open": grid.n_open.sum().over(cw),
            "c_ref": grid.n_ref.sum().over(cw),
        }
    state = grid.select("customer_id", "k", "tick", **cum)
    state = _dedup(state.join(firsts, "customer_id"))

    f = _dedup(state.join(snaps, state.k == snaps.k))
    for m in WINDOWS:
        lag = state.select(
            customer_id=state.customer_id,
            k=state.k,
            **{f"np_{m}": state.c_np, f"sp_{m}": state.c_sp}
            | ({f"co_{m}": state.c_compl, f"op_{m}": state.c_open} if it_df is not None else {}),
        )
        f = _dedup(f.left_join(lag, [f.customer_id == lag.customer_id, f[f"k{m}"] == lag.k]))
    # First known day: the sign-up, or the first transaction.
    ftx = allx.group_by("customer_id").aggregate(first_tx=allx.first_t.min())
    f = _dedup(f.left_join(ftx, "customer_id"))
    first_known = f.first_tx
    if cu_df is not None:
        f = _dedup(f.left_join(cu.select("customer_id", "signup", "cstart", "cend", "loyal"), "customer_id"))
        first_known = ibis.coalesce(ibis.least(f.first_tx, f.signup), f.first_tx, f.signup)

    def window_sum(col: str, m: int):
        return f[{"np": "c_np", "sp": "c_sp", "co": "c_compl", "op": "c_open"}[col]] - f[
            f"{col}_{m}"
        ].fill_null(0)

    n12 = window_sum("np", 12)
    # Differences of running sums carry float noise: amounts are rounded to 6 decimals (cents are exact).
    n6, s6 = window_sum("np", 6), window_sum("sp", 6).round(6)
    n_prev, s_prev = n12 - n6, (window_sum("sp", 12) - s6).round(6)
    basket6 = (n6 > 0).ifelse(s6 / n6.cast("float64"), ibis.null())
    basket_prev = (n_prev > 0).ifelse(s_prev / n_prev.cast("float64"), ibis.null())
    n_gaps = f.c_np - 1
    gap_mean = (n_gaps > 0).ifelse(f.c_gsum / n_gaps.cast("float64"), ibis.null())
    gap_var = (n_gaps > 0).ifelse(f.c_gsq / n_gaps.cast("float64") - gap_mean * gap_mean, ibis.null())
    recency = (f.s - f.c_last).cast("float64")
    if it_df is not None:
        nps = (f.c_nps % 1000).cast("float64") / 10.0
        compl, open_c, refs = window_sum("co", 3), window_sum("op", 3), f.c_ref
    else:
        nps = ibis.null().cast("float64")
        compl = open_c = refs = ibis.literal(0, "int64")
    if cu_df is not None:
        running = f.cstart.notnull() & (f.cstart <= f.s) & (f.cend.isnull() | (f.cend > f.s))
        contract_active = running
        committed = running | f.loyal
        since = running.ifelse(f.cstart, f.loyal.ifelse(ibis.coalesce(f.signup, first_known), ibis.null()))
        committed_days = (f.s - since).cast("float64")
        ended = f.cend.notnull() & (f.cend <= f.s)
        loyal = f.loyal
    else:
        committed = ended = loyal = contract_active = ibis.literal(False)
        committed_days = ibis.null().cast("float64")
    basket_trend = (basket_prev > 0).ifelse(basket6 / basket_prev - 1.0, ibis.null())
    promoter = (nps >= 9).fill_null(False)
    out = f.select(
        customer_id=f.customer_id,
        snapshot_day=f.s,
        recency_days=recency,
        n_purchases=f.c_np.cast("int64"),
        monetary=f.c_sall.cast("float64"),
        avg_basket=(f.c_np > 0).ifelse(f.c_sp / f.c_np.cast("float64"), ibis.null()),
        tenure_days=(f.s - first_known).cast("float64"),
        purchases_12m=n12.cast("int64"),
        spend_6m=s6.cast("float64"),
        spend_prev_6m=s_prev.cast("float64"),
        spend_trend=(s_prev > 0).ifelse(s6 / s_prev - 1.0, ibis.null()),
        basket_trend=basket_trend,
        n_categories=f.c_cat.cast("int64"),
        gap_mean_days=gap_mean,
        gap_cv=(gap_mean > 0).ifelse(ibis.greatest(gap_var, 0.0).sqrt() / gap_mean, ibis.null()),
        active=(recency <= float(horizon_days)).fill_null(False),
        days_since_return=(f.s - f.c_ret).cast("float64"),
        committed=committed.fill_null(False),
        contract_active=contract_active.fill_null(False),
        committed_days=committed_days,
        contract_ended=ended.fill_null(False),
        loyalty_member=loyal.fill_null(False),
        nps_last=nps,
        promoter=promoter,
        detractor=(nps <= 6).fill_null(False),
        complaints_3m=compl.cast("int64"),
        open_complaints=open_c.cast("int64"),
        referrals=refs.cast("int64"),
        commitment_signals=(
            promoter.cast("int64")
            + (refs > 0).cast("int64")
            + (basket_trend >= BASKET_SIGNAL).fill_null(False).cast("int64")
            + (f.c_cat >= CATEGORY_SIGNAL).cast("int64")
        ),
    )
    return out, con


def to_pandas_features(df: pd.DataFrame) -> pd.DataFrame:
    """Engine output to the public form: ``snapshot`` as a date, sorted, canonical dtypes."""
    df = df.copy()
    df.insert(1, "snapshot", EPOCH + pd.to_timedelta(df.pop("snapshot_day"), unit="D"))
    df["customer_id"] = df["customer_id"].astype("string")
    df["snapshot"] = df["snapshot"].astype("datetime64[ns]")
    for c in BOOL_FEATURES:
        df[c] = df[c].astype(bool)
    for c in (
        "n_purchases",
        "purchases_12m",
        "n_categories",
        "complaints_3m",
        "open_complaints",
        "referrals",
        "commitment_signals",
    ):
        df[c] = df[c].astype("int64")
    for c in (
        set(FEATURE_COLUMNS)
        - set(BOOL_FEATURES)
        - {
            "n_purchases",
            "purchases_12m",
            "n_categories",
            "complaints_3m",
            "open_complaints",
            "referrals",
            "commitment_signals",
        }
    ):
        df[c] = df[c].astype("float64")
    return df.sort_values(["customer_id", "snapshot"], kind="stable").reset_index(drop=True)


# --- pandas reference -----------------------------------------------------------------------------------------


def features_pandas(
    tables: dict[str, pd.DataFrame],
    snapshots: Iterable[pd.Timestamp],
    horizon_days: float,
    return_gap: float = RETURN_GAP,
) -> pd.DataFrame:
    """The same features, computed plainly one snapshot at a time (small data: tests and reference)."""
    tx = tables["transactions"]
    cu, it = tables.get("customers"), tables.get("interactions")
    p = tx[tx["amount"] > 0].sort_values(["customer_id", "date", "amount"], kind="stable").copy()
    p["gap"] = p.groupby("customer_id")["date"].diff().dt.days
    first = tx.groupby("customer_id")["date"].min()
    if cu is not None:
        signup = cu.set_index("customer_id")["signup_date"]
        first = pd.concat([first, signup.dropna()]).groupby(level=0).min()
    rows = []
    for s in snapshots:
        s = pd.Timestamp(s)
        w = {m: window_start(s, m) for m in WINDOWS}
        ids = first[first <= s].index
        ps = p[p["date"] <= s]
        g = ps.groupby("customer_id")
        n = g.size().reindex(ids, fill_value=0)
        sp = g["amount"].sum().reindex(ids, fill_value=0.0)
        last = g["date"].max().reindex(ids)
        firstp = g["date"].min().reindex(ids)
        gsum = g["gap"].sum().reindex(ids, fill_value=0.0)
        gsq = (ps["gap"] ** 2).groupby(ps["customer_id"]).sum().reindex(ids, fill_value=0.0)
        ret = ps[ps["gap"] > return_gap * horizon_days].groupby("customer_id")["date"].max().reindex(ids)
        cats = (
            ps.dropna(subset=["category"])
            .groupby("customer_id")["category"]
            .nunique()
            .reindex(ids, fill_value=0)
        )
        mon = tx[tx["date"] <= s].groupby("customer_id")["amount"].sum().reindex(ids, fill_value=0.0)

        def in_window(frame, lo, hi=s):
            return frame[(frame["date"] > lo) & (frame["date"] <= hi)]

        n12 = in_window(ps, w[12]).groupby("customer_id").size().reindex(ids, fill_value=0)
        last6 = in_window(ps, w[6]).groupby("customer_id")["amount"].agg(["size", "sum"]).reindex(ids)
        prev6 = in_window(ps, w[12], w[6]).groupby("customer_id")["amount"].agg(["size", "sum"]).reindex(ids)
        n6, s6 = last6["size"].fillna(0), last6["sum"].fillna(0.0).round(6)
        np6, sp6 = prev6["size"].fillna(0), prev6["sum"].fillna(0.0).round(6)
        b6 = (s6 / n6).where(n6 > 0)
        bp = (sp6 / np6).where(np6 > 0)
        btrend = (b6 / bp - 1).where(bp > 0)
        ng = n - 1
        gmean = (gsum / ng).where(ng > 0)
        gvar = (gsq / ng - gmean**2).where(ng > 0)
        recency = (s - last).dt.days.astype("float64")
        f = pd.DataFrame(index=ids)
        f["customer_id"] = ids
        f["snapshot"] = s
        f["recency_days"] = recency
        f["n_purchases"] = n
        f["monetary"] = mon
        f["avg_basket"] = (sp / n).where(n > 0)
        f["tenure_days"] = (s - first.reindex(ids)).dt.days.astype("float64")
        f["purchases_12m"] = n12
        f["spend_6m"] = s6
        f["spend_prev_6m"] = sp6
        f["spend_trend"] = (s6 / sp6 - 1).where(sp6 > 0)
        f["basket_trend"] = btrend
        f["n_categories"] = cats
        f["gap_mean_days"] = gmean
        f["gap_cv"] = (np.sqrt(gvar.clip(lower=0)) / gmean).where(gmean > 0)
        f["active"] = (recency <= horizon_days).fillna(False)
        f["days_since_return"] = (s - ret).dt.days.astype("float64")
        del firstp
        if cu is not None:
            c = cu.set_index("customer_id").reindex(ids)
            running = (
                c["contract_start"].notna()
                & (c["contract_start"] <= s)
                & (c["contract_end"].isna() | (c["contract_end"] > s))
            )
            loyal = c["loyalty_member"].fillna(False).astype(bool)
            since = c["contract_start"].where(
                running, c["signup_date"].fillna(first.reindex(ids)).where(loyal)
            )
            f["committed"] = running | loyal
            f["contract_active"] = running
            f["committed_days"] = (s - since).dt.days.astype("float64")
            f["contract_ended"] = c["contract_end"].notna() & (c["contract_end"] <= s)
            f["loyalty_member"] = loyal
        else:
            f["committed"], f["committed_days"], f["contract_ended"], f["loyalty_member"] = (
                False,
                np.nan,
                False,
                False,
            )
            f["contract_active"] = False
        if it is not None:
            i = it[it["date"] <= s]
            nps_rows = i[(i["type"] == "nps") & i["score"].notna()].sort_values(
                ["customer_id", "date", "score"]
            )
            nps = nps_rows.groupby("customer_id")["score"].last().reindex(ids)
            comp = in_window(i[i["type"] == "complaint"], w[3])
            f["nps_last"] = nps.round(1)
            f["complaints_3m"] = comp.groupby("customer_id").size().reindex(ids, fill_value=0)
            f["open_complaints"] = (
                comp[comp["resolved"].eq(False).fillna(False).astype(bool)]
                .groupby("customer_id")
                .size()
                .reindex(
                    ids, fill_value=0
                )
            )
            f["referrals"] = (
                i[i["type"].isin(REFERRAL_TYPES)].groupby("customer_id").size().reindex(ids, fill_value=0)
            )
        else:
            f["nps_last"], f["complaints_3m"], f["open_complaints"], f["referrals"] = np.nan, 0, 0, 0
        f["promoter"] = (f["nps_last"] >= 9).fillna(False)
        f["detractor"] = (f["nps_last"] <= 6).fillna(False)
        f["commitment_signals"] = (
            f["promoter"].astype(int)
            + (f["referrals"] > 0).astype(int)
            + (f["basket_trend"] >= BASKET_SIGNAL).fillna(False).astype(int)
            + (f["n_categories"] >= CATEGORY_SIGNAL).astype(int)
        )
        rows.append(f.reset_index(drop=True))
    out = pd.concat(rows, ignore_index=True)[["customer_id", "snapshot", *FEATURE_COLUMNS]]
    out.insert(1, "snapshot_day", _days(out.pop("snapshot")))
    return to_pandas_features(out)
