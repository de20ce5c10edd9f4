"""The feature columns from the running sums and maxima of :mod:`custrel_lib.stages.features_engine`.

The engine's grid holds, per customer and snapshot, running sums (``c_n_p``, ``c_w6_sp``, ...) and maxima
(``c_last_p``, ``c_nps_key``, ...); this module turns them into the columns of :data:`FEATURE_COLUMNS`, with the
customers table's contract and loyalty dates.
"""

from __future__ import annotations

import ibis
import pandas as pd

from custrel_lib.stages.calendar import COMPLAINT_WINDOW
from custrel_lib.stages.calendar import days as _days
from custrel_lib.stages.features import BASKET_SIGNAL, CATEGORY_SIGNAL


def dedup(t: ibis.Table) -> ibis.Table:
    """Drop the ``*_right`` copies of join keys (Ibis keeps them on left joins)."""
    extra = [c for c in t.columns if c.endswith("_right")]
    return t.drop(*extra) if extra else t


def _rnd(x):
    # Running sums of amounts carry float noise: rounded to 6 decimals (cents are exact).
    return x.round(6)


def _commitment(f: ibis.Table, first_known, loyalty_from) -> tuple[ibis.Table, dict]:
    """Contract and loyalty features (``f`` joined to the customers table)."""
    if loyalty_from is not None:
        f = f.mutate(loyal=f.loyal & (f.s >= _days(pd.Timestamp(loyalty_from).normalize())))
    running = f.cstart.notnull() & (f.cstart <= f.s) & (f.cend.isnull() | (f.cend > f.s))
    loyal_only = f.loyal & f.cstart.isnull()
    since = running.ifelse(
        f.cstart, loyal_only.ifelse(ibis.coalesce(f.signup, first_known), ibis.null("int64"))
    )
    ended = f.cend.notnull() & (f.cend <= f.s)
    return f, {
        "committed": running | loyal_only,
        "contract_active": running,
        "committed_days": (f.s - since).cast("float64"),
        "contract_ended": ended,
        "bought_after_contract_end": ended & (f.c_last_p > f.cend),
        "loyalty_member": f.loyal,
    }


def _voice(f: ibis.Table, has_it: bool) -> tuple:
    if not has_it:
        zero = ibis.literal(0, "int64")
        return ibis.null("float64"), zero, zero, zero
    nps = (f.c_nps_key % 1000).cast("float64") / 10.0
    w = f"c_w{COMPLAINT_WINDOW}"
    return nps, f[f"{w}_co"].round(), f[f"{w}_op"].round(), f.c_n_ref.round()


def feature_table(
    f: ibis.Table, cu: ibis.Table | None, has_it: bool, horizon_days: float, loyalty_from, names: list[str]
):
    first_known = f.first_tx
    if cu is not None:
        f = dedup(f.left_join(cu.select("customer_id", "signup", "cstart", "cend", "loyal"), "customer_id"))
        first_known = ibis.coalesce(ibis.least(f.first_tx, f.signup), f.first_tx, f.signup)
        f, commitment = _commitment(f, first_known, loyalty_from)
    else:
        no = ibis.literal(False)
        commitment = {k: no for k in ("committed", "contract_active", "contract_ended")}
        commitment |= {"committed_days": ibis.null("float64"), "bought_after_contract_end": no}
        commitment["loyalty_member"] = no
    n = f.c_n_p.round().cast("int64")
    n12, n6 = f["c_w12_np"].round(), f["c_w6_np"].round()
    s6 = _rnd(f["c_w6_sp"])
    n_prev, s_prev = n12 - n6, _rnd(f["c_w12_sp"] - f["c_w6_sp"])
    basket6 = (n6 > 0).ifelse(s6 / n6, ibis.null("float64"))
    basket_prev = (n_prev > 0).ifelse(s_prev / n_prev, ibis.null("float64"))
    n_gaps = n - 1
    gap_mean = (n_gaps > 0).ifelse(f.c_g_sum / n_gaps.cast("float64"), ibis.null("float64"))
    gap_var = (n_gaps > 0).ifelse(
        f.c_g_sq / n_gaps.cast("float64") - gap_mean * gap_mean, ibis.null("float64")
    )
    recency = (f.s - f.c_last_p).cast("float64")
    n_cat = f.c_n_cat.round().cast("int64")
    nps, compl, open_c, refs = _voice(f, has_it)
    basket_trend = (basket_prev > 0).ifelse(basket6 / basket_prev - 1.0, ibis.null("float64"))
    promoter = (nps >= 9).fill_null(False)
    bools = {k: v.fill_null(False) for k, v in commitment.items() if k != "committed_days"}
    columns = dict(
        recency_days=recency,
        n_purchases=n,
        monetary=_rnd(f.c_s_all),
        avg_basket=(n > 0).ifelse(_rnd(f.c_s_p) / n.cast("float64"), ibis.null("float64")),
        tenure_days=(f.s - first_known).cast("float64"),
        purchases_12m=n12.cast("int64"),
        spend_6m=s6,
        spend_prev_6m=s_prev,
        spend_trend=(s_prev > 0).ifelse(s6 / s_prev - 1.0, ibis.null("float64")),
        basket_trend=basket_trend,
        n_categories=n_cat,
        gap_mean_days=gap_mean,
        gap_cv=(gap_mean > 0).ifelse(ibis.greatest(gap_var, 0.0).sqrt() / gap_mean, ibis.null("float64")),
        active=(recency <= float(horizon_days)).fill_null(False),
        days_since_return=(f.s - f.c_last_ret).cast("float64"),
        committed_days=commitment["committed_days"],
        nps_last=nps,
        promoter=promoter,
        detractor=(nps <= 6).fill_null(False),
        complaints_90d=compl.cast("int64"),
        open_complaints=open_c.cast("int64"),
        referrals=refs.cast("int64"),
        commitment_signals=(
            promoter.cast("int64")
            + (refs > 0).cast("int64")
            + (basket_trend >= BASKET_SIGNAL).fill_null(False).cast("int64")
            + (n_cat >= CATEGORY_SIGNAL).cast("int64")
        ),
        **bools,
    )
    return f.select(customer_id=f.cid, snapshot_day=f.s, **{c: columns[c] for c in names})
