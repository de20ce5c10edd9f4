"""The few features that depend on H or on the date the loyalty flag was observed, recomputed on a feature table.

Of the features (:mod:`custrel_lib.stages.features`), only ``active`` and ``days_since_return`` depend on the
separation horizon H, and only ``committed``, ``committed_days`` and ``loyalty_member`` on ``loyalty_from``. A tool
that moves H or the extraction date (the stage explorer) computes every feature once with
:func:`~custrel_lib.stages.features.features_engine` (any H, ``loyalty_from=None``) and derives these columns for
each setting with the functions below: a small query over the chosen snapshots instead of the whole feature pass.
They give exactly the values ``features_engine`` gives with that H and ``loyalty_from``
(``tests/test_explore_engine.py``).
"""

from __future__ import annotations

import ibis
import pandas as pd

from custrel_lib.engine import connect
from custrel_lib.stages.calendar import days as _days
from custrel_lib.stages.features import RETURN_GAP, check_tables
from custrel_lib.stages.features_engine import _customers, _table, _with_days, after_contract_end
from custrel_lib.stages.features_table import dedup as _dedup
from custrel_lib.stages.horizon import _purchases


def purchase_gaps(tables: dict, backend=None) -> ibis.Table:
    """One row per purchase: ``customer_id``, ``d`` (its day number), ``gap`` (days since the customer's previous
    purchase, null for the first) and ``after_end`` (the first purchase after the customer's contract ended).

    Whether a purchase is a return (win-back) under a horizon H follows: ``gap > return_gap * H`` or ``after_end``.
    """
    tables = check_tables(tables)
    con = connect(backend)
    tx = _with_days(_table(con, tables["transactions"], ["customer_id", "date", "amount"]))
    p = _purchases(tx)
    if tables.get("customers") is None:
        return p.select("customer_id", "d", "gap", after_end=ibis.literal(False))
    cu = _customers(con, tables, hashed=False)
    p = _dedup(p.left_join(cu.select("customer_id", "cend"), "customer_id"))
    return p.select("customer_id", "d", "gap", after_end=after_contract_end(p))


def with_horizon(
    features: ibis.Table, gaps: ibis.Table, horizon_days: float, return_gap: float = RETURN_GAP
) -> ibis.Table:
    """``features`` (a :func:`features_engine` table) with ``active`` and ``days_since_return`` for horizon H.

    Parameters
    ----------
    features : ibis.Table
        ``customer_id``, ``snapshot_day`` and the feature columns, computed under any H.
    gaps : ibis.Table
        :func:`purchase_gaps` of the same tables.
    horizon_days, return_gap : float
        H, and the multiple of H after which a purchase is a return (as in ``features_engine``).
    """
    long_gap = float(return_gap) * float(horizon_days)
    returns = gaps.filter((gaps.gap > long_gap).fill_null(False) | gaps.after_end)
    snaps = features.select(s=features.snapshot_day).distinct()
    seen = returns.join(snaps, returns.d <= snaps.s)
    last = seen.group_by(["customer_id", "s"]).aggregate(last_ret=seen.d.max())
    f = features.left_join(last, [features.customer_id == last.customer_id, features.snapshot_day == last.s])
    f = _dedup(f)
    columns = {c: f[c] for c in features.columns}
    columns["active"] = (f.recency_days <= float(horizon_days)).fill_null(False)
    columns["days_since_return"] = (f.snapshot_day - f.last_ret).cast("float64")
    return f.select(**columns)


def with_loyalty_from(features: ibis.Table, loyalty_from) -> ibis.Table:
    """``features`` computed with ``loyalty_from=None`` (the loyalty flag counted at every snapshot), as with
    ``loyalty_from``: before that date a loyalty member without a running contract is not committed.

    A running contract counts from its start either way, so before ``loyalty_from`` ``committed`` is
    ``contract_active``, ``committed_days`` is kept only where a contract runs, and ``loyalty_member`` is false.
    """
    before = features.snapshot_day < _days(pd.Timestamp(loyalty_from).normalize())
    running = features.contract_active
    columns = {c: features[c] for c in features.columns}
    columns["committed"] = before.ifelse(running, features.committed)
    columns["committed_days"] = (before & ~running).ifelse(ibis.null("float64"), features.committed_days)
    columns["loyalty_member"] = before.ifelse(ibis.literal(False), features.loyalty_member)
    return features.select(**columns)
