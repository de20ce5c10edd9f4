"""The running sums and maxima of the features engine (:mod:`custrel_lib.stages.features_engine`).

Every kind of event (a purchase, a transaction, a first purchase in a category, an interaction, an exit from a
window) is a table of ``customer_id``, the snapshot ``k`` where it counts, and every aggregated column.
:func:`_running` sums them over the customer x snapshot grid (a window over every snapshot: the stage history);
:func:`_at_snapshot` at one snapshot only (group-bys: the features of that snapshot).
"""

from __future__ import annotations

import ibis

from custrel_lib.stages.calendar import WINDOWS
from custrel_lib.stages.features import _WINDOWED
from custrel_lib.stages.features_table import dedup

_SUMS = ["n_p", "s_p", "g_sum", "g_sq", "s_all", "n_cat", "n_compl", "n_ref"]
_SUMS += [f"w{m}_{c}" for m in WINDOWS for c in _WINDOWED[m]]
_MAXES = ["last_p", "last_ret", "nps_key"]


def _event(t: ibis.Table, k, **values) -> ibis.Table:
    """One kind of event with every aggregated column (zero / null where it does not apply)."""
    row = {c: values.get(c, ibis.literal(0, "float64")) for c in _SUMS}
    row |= {c: values.get(c, ibis.null("int64")) for c in _MAXES}
    return t.select(
        customer_id=t.customer_id,
        k=k,
        **{c: v.cast("float64") if c in _SUMS else v.cast("int64") for c, v in row.items()},
    )


def _union(events: list[ibis.Table]) -> ibis.Table:
    ev = events[0]
    for e in events[1:]:
        ev = ev.union(e)
    return ev


def _running(
    events: list[ibis.Table], firsts: ibis.Table, snaps: ibis.Table, n_snap: int, framed: dict[int, int]
) -> ibis.Table:
    """Events aggregated per customer and snapshot, on the customer x snapshot grid, as running sums / maxima;
    the windows in ``framed`` as sums over their last snapshots (the grid has a row at every snapshot from the
    customer's first, so a frame of rows is a frame of snapshots)."""
    ev = _union(events)
    ev = ev.filter(ev.k < n_snap)
    agg = ev.group_by(["customer_id", "k"]).aggregate(
        **{c: ev[c].sum() for c in _SUMS}, **{c: ev[c].max() for c in _MAXES}
    )
    grid = firsts.select("customer_id", "fk").cross_join(snaps.select("k")).filter(lambda t: t.k >= t.fk)
    grid = dedup(grid.left_join(agg, ["customer_id", "k"]))
    cw = ibis.cumulative_window(group_by="customer_id", order_by="k")
    sums = {f"c_{c}": grid[c].fill_null(0).sum().over(cw) for c in _SUMS}
    for m, off in framed.items():
        frame = ibis.window(group_by="customer_id", order_by="k", preceding=off - 1, following=0)
        sums[f"c_w{m}_np"] = grid.n_p.fill_null(0).sum().over(frame)
        sums[f"c_w{m}_sp"] = grid.s_p.fill_null(0).sum().over(frame)
    run = grid.select("customer_id", "k", **sums, **{f"c_{c}": grid[c].max().over(cw) for c in _MAXES})
    # The text id, first purchase and snapshot day are joined after the window: carried through its sort they
    # cost more than the two joins (1M customers: about 7 % of the stage query's CPU).
    run = dedup(run.join(firsts.select("customer_id", "first_tx", "cid"), "customer_id"))
    return dedup(run.join(snaps, "k"))


def _at_snapshot(
    events: list[ibis.Table], firsts: ibis.Table, snaps: ibis.Table, at: int, framed: dict[int, int]
):
    """What :func:`_running` gives at the one snapshot ``at``, without the grid and its window: the sums and
    maxima of each customer's events up to ``at`` (a group-by, no sort), the windows in ``framed`` over the
    events of their last snapshots. Every event counts at or after its customer's first snapshot, so these
    are the running values of the grid's row at ``at``."""
    ev = _union(events)
    ev = ev.filter(ev.k <= at)
    sums = {f"c_{c}": ev[c].sum() for c in _SUMS}
    for m, off in framed.items():
        inside = ev.k > at - off
        sums[f"c_w{m}_np"] = inside.ifelse(ev.n_p, 0.0).sum()
        sums[f"c_w{m}_sp"] = inside.ifelse(ev.s_p, 0.0).sum()
    agg = ev.group_by("customer_id").aggregate(**sums, **{f"c_{c}": ev[c].max() for c in _MAXES})
    who = firsts.filter(firsts.fk <= at).select("customer_id", "first_tx", "cid")
    run = dedup(who.left_join(agg, "customer_id"))
    run = run.mutate(k=ibis.literal(at, "int64"), **{c: run[c].fill_null(0.0) for c in sums})
    return dedup(run.join(snaps, "k"))
