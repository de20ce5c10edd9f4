"""The features engine: every feature at every snapshot in one pass of the query engine, through Ibis.

How it scales is explained in :mod:`custrel_lib.stages.features` (the definitions); this module builds the
expression: events mapped to the snapshot where they enter and leave their windows, aggregated once per customer
and snapshot, running sums over the customer x snapshot grid, then the feature columns. When every purchase leaves
a window a fixed number of snapshots after it enters (period-end snapshots, :func:`framed_windows`), that window
is a sum over a frame of snapshots and needs no exit events.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from custrel_lib.engine import connect
from custrel_lib.stages.calendar import COMPLAINT_WINDOW, WINDOWS, calendar_table
from custrel_lib.stages.calendar import days as _days
from custrel_lib.stages.features import (
    _CAL,
    _WINDOWED,
    FEATURE_COLUMNS,
    REFERRAL_TYPES,
    RETURN_GAP,
    check_tables,
)
from custrel_lib.stages.features_sums import _at_snapshot, _event, _running
from custrel_lib.stages.features_table import dedup, feature_table
from custrel_lib.stages.horizon import _purchases


def _table(con, df: pd.DataFrame | ibis.Table | None, columns: list[str]) -> ibis.Table | None:
    if df is None:
        return None
    if isinstance(df, ibis.Table):
        return df.select(*columns)
    return ibis.memtable(df[columns])


def _with_days(t: ibis.Table, column: str = "date", name: str = "d") -> ibis.Table:
    return t.mutate(**{name: t[column].cast("date").epoch_days().cast("int64")})


def _keyed(t: ibis.Table, hashed: bool) -> ibis.Table:
    """``customer_id`` replaced by an integer key (its hash) for the joins, groups and windows; the text in ``cid``.

    Sorting and hashing integers is much cheaper than text; :func:`_hash_is_unique` checks there is no collision.
    """
    return (
        t.mutate(cid=t.customer_id, customer_id=t.customer_id.hash())
        if hashed
        else t.mutate(cid=t.customer_id)
    )


def _in_part(t: ibis.Table, part: tuple[int, int] | None) -> ibis.Table:
    """The rows of ``t`` whose customer is in part ``i`` of ``n`` (by the hash of the text id); all without."""
    if part is None:
        return t
    i, n = part
    return t.filter((t.cid.hash() % n).abs() == i)


def _hash_is_unique(con, tables: dict) -> tuple[bool, int]:
    """Whether the customers' hashes are all distinct (else the text ids are used as keys: same result,
    slower), and how many customers there are."""
    ids = [
        _table(con, tables[n], ["customer_id"])
        for n in ("transactions", "customers")
        if tables.get(n) is not None
    ]
    t = ids[0] if len(ids) == 1 else ids[0].union(ids[1])
    t = t.distinct()
    n, distinct = con.execute(t.aggregate(n=t.count(), d=t.customer_id.hash().nunique())).iloc[0]
    return int(n) == int(distinct), int(n)


def first_seen_days(con, tables: dict, with_first_tx: bool = False):
    """The first day a customer is seen (a transaction or a sign-up); with ``with_first_tx``, also the first
    transaction's day."""
    tx = _with_days(_table(con, tables["transactions"], ["customer_id", "date"]))
    first = first_tx = int(con.execute(tx.d.min()))
    cu = tables.get("customers")
    if cu is not None:
        c = _table(con, cu, ["customer_id", "signup_date"])
        c = c.filter(c.signup_date.notnull())
        v = con.execute(c.signup_date.cast("date").epoch_days().min())
        if v is not None and not pd.isna(v):
            first = min(first, int(v))
    return (first, first_tx) if with_first_tx else first


def framed_windows(calendar: pd.DataFrame, from_day: int, n_snap: int) -> dict[int, int]:
    """The purchase windows whose exit is a fixed number of snapshots after the entry for every day from
    ``from_day`` (monthly or quarterly snapshots at period ends, windows in months): ``{months: snapshots}``.

    Those windows are running sums over the last ``snapshots`` rows of the customer x snapshot grid (dense from
    each customer's first snapshot), without an exit event per purchase; the others keep their exit events.
    """
    days = calendar[(calendar.d >= from_day) & (calendar.k < n_snap)]
    out = {}
    for m in _PURCHASE_WINDOWS:
        shift = days[f"x{m}"] - days["k"]
        off = int(shift.iloc[0]) if len(days) else 0
        if off > 0 and (days[f"x{m}"] == (days["k"] + off).clip(upper=n_snap)).all():
            out[m] = off
    return out


_PURCHASE_WINDOWS = [m for m in WINDOWS if "np" in _WINDOWED[m]]


def _customers(con, tables: dict, hashed: bool, part=None) -> ibis.Table:
    columns = ["customer_id", "signup_date", "contract_start", "contract_end", "loyalty_member"]
    cu = _in_part(_keyed(_table(con, tables["customers"], columns), hashed), part)
    return cu.mutate(
        signup=cu.signup_date.cast("date").epoch_days().cast("int64"),
        cstart=cu.contract_start.cast("date").epoch_days().cast("int64"),
        cend=cu.contract_end.cast("date").epoch_days().cast("int64"),
        loyal=cu.loyalty_member.cast("boolean").fill_null(False),
    )


def _firsts(tx: ibis.Table, cu: ibis.Table | None, days: ibis.Table, n_snap: int) -> ibis.Table:
    """First snapshot of each customer: the first on or after its sign-up or first transaction."""
    firsts = tx.group_by("customer_id").aggregate(fk=tx.k.min(), first_tx=tx.d.min(), cid=tx.cid.min())
    if cu is None:
        return firsts
    sk = cu.filter(cu.signup.notnull()).join(days, cu.signup == days.d)
    sk = sk.filter(sk.k < n_snap).select("customer_id", fk=sk.k, first_tx=ibis.null("int64"), cid=sk.cid)
    return (
        firsts.union(sk)
        .group_by("customer_id")
        .aggregate(fk=ibis._.fk.min(), first_tx=ibis._.first_tx.min(), cid=ibis._.cid.min())
    )


def after_contract_end(p: ibis.Table) -> ibis.Value:
    """Whether each purchase of ``p`` (with ``d``, ``gap`` and the contract end ``cend``) is the first one after
    the customer's contract ended: a return, whatever the gap."""
    return ((p.d > p.cend) & (p.gap.isnull() | (p.d - p.gap <= p.cend))).fill_null(False)


def _purchase_events(
    tx: ibis.Table, cu: ibis.Table | None, long_gap: float, framed: dict[int, int], kinds: set[str]
) -> list[ibis.Table]:
    """Purchases (entering and leaving their windows), and of ``kinds`` (:func:`_event_kinds`) transactions and
    first purchases in a category.

    The windows in ``framed`` (:func:`framed_windows`) need no events: they are running sums of ``n_p`` and
    ``s_p`` over a frame of snapshots."""
    windows = [m for m in _PURCHASE_WINDOWS if m not in framed]
    p = _purchases(tx)
    one = ibis.literal(1.0)
    # A return (win-back): a purchase after a long gap, or the first purchase after the contract ended.
    returned = (p.gap > long_gap).fill_null(False)
    pr = p
    if cu is not None:
        pr = dedup(p.left_join(cu.select("customer_id", "cend"), "customer_id"))
        returned = (pr.gap > long_gap).fill_null(False) | after_contract_end(pr)
    events = [
        _event(
            pr,
            pr.k,
            n_p=one,
            s_p=pr.amount,
            g_sum=pr.gap.fill_null(0),
            g_sq=(pr.gap * pr.gap).fill_null(0),
            last_p=pr.d,
            last_ret=returned.ifelse(pr.d, ibis.null("int64")),
            **{f"w{m}_np": one for m in windows},
            **{f"w{m}_sp": p.amount for m in windows},
        ),
    ]
    if "transactions" in kinds:
        events.append(_event(tx, tx.k, s_all=tx.amount))
    # Leaving each window: the same purchase with the opposite sign, at the snapshot where it drops out.
    events += [_event(p, p[f"x{m}"], **{f"w{m}_np": -one, f"w{m}_sp": -p.amount}) for m in windows]
    if "categories" in kinds:
        cats = p.filter(p.category.notnull()).group_by(["customer_id", "category"]).aggregate(k=p.k.min())
        events.append(_event(cats, cats.k, n_cat=one))
    return events


def _interaction_events(
    it: ibis.Table, firsts: ibis.Table, days: ibis.Table, first_day: int, n_snap: int, kinds: set[str]
):
    it = _with_days(it)
    # Events before anyone's first day map to the first snapshot; before the customer is known, to its first.
    it = it.mutate(dk=ibis.greatest(it.d, first_day))
    it = it.join(days, it.dk == days.d).select(
        it.customer_id, it.d, it.type, it.score, it.resolved, days.k, *[days[f"x{m}"] for m in WINDOWS]
    )
    it = it.filter(it.k < n_snap)
    it = it.join(firsts.select("customer_id", "fk"), "customer_id")
    is_nps = (it.type == "nps") & it.score.notnull()
    # Latest NPS as a running max of (day, score) packed in one number: works in every engine.
    key = (it.d * 1000 + (it.score * 10).round().cast("int64")).cast("int64")
    compl = (it.type == "complaint").ifelse(1.0, 0.0)
    open_c = ((it.type == "complaint") & (it.resolved == False)).ifelse(1.0, 0.0)  # noqa: E712
    enter, leave = ibis.greatest(it.k, it.fk), ibis.greatest(it[f"x{COMPLAINT_WINDOW}"], it.fk)
    w = f"w{COMPLAINT_WINDOW}"
    events = [
        _event(
            it,
            enter,
            n_compl=compl,
            n_ref=it.type.isin(REFERRAL_TYPES).ifelse(1.0, 0.0),
            nps_key=is_nps.ifelse(key, ibis.null("int64")),
            **{f"{w}_co": compl, f"{w}_op": open_c},
        )
    ]
    if "complaint_exits" in kinds:
        events.append(_event(it, leave, **{f"{w}_co": -compl, f"{w}_op": -open_c}))
    return events


#: The kinds of events, beyond purchases, that a feature reads: the other kinds are left out of a feature table
#: restricted to some columns (``features_engine(columns=...)``). ``tests/test_features.py`` checks each
#: feature alone against the full table.
_KINDS = {
    "monetary": {"transactions"},
    "n_categories": {"categories"},
    "nps_last": {"interactions"},
    "promoter": {"interactions"},
    "detractor": {"interactions"},
    "referrals": {"interactions"},
    "complaints_90d": {"interactions", "complaint_exits"},
    "open_complaints": {"interactions", "complaint_exits"},
    "commitment_signals": {"interactions", "categories"},
}


def _event_kinds(names: list[str]) -> set[str]:
    return set().union(*(_KINDS.get(c, set()) for c in names))


def features_engine(
    tables: dict,
    snapshots: list[pd.Timestamp],
    horizon_days: float,
    backend=None,
    return_gap: float = RETURN_GAP,
    loyalty_from=None,
    columns=None,
) -> tuple[ibis.Table, object]:
    """The feature table as an Ibis expression (one row per customer and snapshot where it exists).

    ``loyalty_from``: the undated ``loyalty_member`` flag counts only at snapshots on or after this date (the
    date it was observed: :class:`~custrel_lib.stages.model.StageModel` passes the extraction date); ``None`` applies
    it at every snapshot.

    Every event (purchase, transaction, new category, interaction) is mapped to the snapshot where it first
    counts (``k``) and, for windowed features, to the snapshot where it leaves the window (``x<m>``, with the
    opposite sign). All events are aggregated once per customer and snapshot, joined to the customer x
    snapshot grid, and running sums / maxima over the snapshots (one window pass) give every feature.

    ``columns``: only these feature columns (in :data:`FEATURE_COLUMNS` order), from only the events they read:
    the stage history of the default rules needs neither the transactions other than purchases nor the
    complaints leaving their window: at a million customers, 11 of the 23 million rows of events.
    """
    return features_builder(tables, snapshots, horizon_days, backend, return_gap, loyalty_from)(columns)


def features_builder(
    tables: dict,
    snapshots: list[pd.Timestamp],
    horizon_days: float,
    backend=None,
    return_gap: float = RETURN_GAP,
    loyalty_from=None,
):
    """What :func:`features_engine` asks the engine before it builds an expression (the first days, whether
    the customers' hashes are distinct), asked once; returns ``build(columns=None, at=None) -> (expr, con)``,
    which builds the feature table of those columns (:func:`features_engine`) without asking again; with
    ``at`` (a snapshot's index in ``snapshots``), at that snapshot only, by a group-by instead of the window
    over every snapshot (:func:`_at_snapshot`): what the features of one snapshot need. With ``part=(i, n)``,
    for the customers of part ``i`` of ``n`` only (by the hash of their id): the window of a large history,
    computed part by part, fits in memory. ``build.grid_rows`` bounds the rows of the customer x snapshot grid."""
    tables = check_tables(tables)
    con = connect(backend)
    n_snap = len(snapshots)
    first_day, first_tx = first_seen_days(con, tables, with_first_tx=True)
    calendar = calendar_table(first_day, snapshots)
    framed = framed_windows(calendar, first_tx, n_snap)
    hashed, n_customers = _hash_is_unique(con, tables)
    snap_days = _days(pd.DatetimeIndex(snapshots))

    def build(columns=None, at: int | None = None, part: tuple[int, int] | None = None):
        names = FEATURE_COLUMNS if columns is None else [c for c in FEATURE_COLUMNS if c in set(columns)]
        kinds = _event_kinds(names)
        days = ibis.memtable(calendar)
        snaps = ibis.memtable(pd.DataFrame({"k": np.arange(n_snap, dtype=np.int64), "s": snap_days}))
        tx = _table(con, tables["transactions"], ["customer_id", "date", "amount", "category"])
        tx = _with_days(_in_part(_keyed(tx, hashed), part))
        tx = tx.join(days, tx.d == days.d).select(
            tx.customer_id, tx.cid, tx.d, tx.amount, tx.category, *[days[c] for c in _CAL]
        )
        tx = tx.filter(tx.k < n_snap)
        cu = _customers(con, tables, hashed, part) if tables.get("customers") is not None else None
        firsts = _firsts(tx, cu, days, n_snap)
        events = _purchase_events(tx, cu, float(return_gap) * float(horizon_days), framed, kinds)
        has_it = tables.get("interactions") is not None
        if has_it and "interactions" in kinds:
            it = _table(con, tables["interactions"], ["customer_id", "date", "type", "score", "resolved"])
            it = _in_part(_keyed(it, hashed), part)
            events += _interaction_events(it, firsts, days, first_day, n_snap, kinds)
        if at is None:
            f = _running(events, firsts, snaps, n_snap, framed)
        else:
            f = _at_snapshot(events, firsts, snaps, int(at), framed)
        return feature_table(f, cu, has_it, horizon_days, loyalty_from, names), con

    build.grid_rows = n_customers * n_snap  # at most: each customer from its first snapshot
    return build
