"""The stage features computed plainly with pandas, one snapshot at a time: the reference for the engine.

Same definitions as :mod:`custrel_lib.stages.features` (see its docstring); the tests require both to agree.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from custrel_lib.stages.calendar import COMPLAINT_WINDOW, WINDOWS, window_start
from custrel_lib.stages.calendar import days as _days
from custrel_lib.stages.features import (
    BASKET_SIGNAL,
    CATEGORY_SIGNAL,
    FEATURE_COLUMNS,
    REFERRAL_TYPES,
    RETURN_GAP,
    check_tables,
    to_pandas_features,
)


def _purchases(tx: pd.DataFrame, cu, horizon_days: float, return_gap: float) -> pd.DataFrame:
    """Purchases with the gap since the previous one and whether each is a return (win-back)."""
    p = tx[tx["amount"] > 0].sort_values(["customer_id", "date", "amount"], kind="stable").copy()
    p["gap"] = p.groupby("customer_id")["date"].diff().dt.days
    p["returned"] = p["gap"] > return_gap * horizon_days
    if cu is not None:
        cend = p["customer_id"].map(cu.set_index("customer_id")["contract_end"])
        prev = p.groupby("customer_id")["date"].shift()
        p["returned"] |= (p["date"] > cend) & (prev.isna() | (prev <= cend))
    return p


def _first_known(tx: pd.DataFrame, cu) -> pd.Series:
    first = tx.groupby("customer_id")["date"].min()
    if cu is not None:
        signup = cu.set_index("customer_id")["signup_date"]
        first = pd.concat([first, signup.dropna()]).groupby(level=0).min()
    return first


def _in_window(frame: pd.DataFrame, lo, hi) -> pd.DataFrame:
    return frame[(frame["date"] > lo) & (frame["date"] <= hi)]


def _behaviour(f: pd.DataFrame, tx, p, s, ids, first, horizon_days: float) -> pd.Series:
    """Purchase features of the customers ``ids`` at ``s``; returns the date of each one's last purchase."""
    w = {m: window_start(s, m) for m in WINDOWS}
    ps = p[p["date"] <= s]
    g = ps.groupby("customer_id")
    n = g.size().reindex(ids, fill_value=0)
    sp = g["amount"].sum().reindex(ids, fill_value=0.0)
    last = g["date"].max().reindex(ids)
    gsum = g["gap"].sum().reindex(ids, fill_value=0.0)
    gsq = (ps["gap"] ** 2).groupby(ps["customer_id"]).sum().reindex(ids, fill_value=0.0)
    ret = ps[ps["returned"]].groupby("customer_id")["date"].max().reindex(ids)
    cats = (
        ps.dropna(subset=["category"]).groupby("customer_id")["category"].nunique().reindex(ids, fill_value=0)
    )
    mon = tx[tx["date"] <= s].groupby("customer_id")["amount"].sum().reindex(ids, fill_value=0.0)
    n12 = _in_window(ps, w[12], s).groupby("customer_id").size().reindex(ids, fill_value=0)
    last6 = _in_window(ps, w[6], s).groupby("customer_id")["amount"].agg(["size", "sum"]).reindex(ids)
    prev6 = _in_window(ps, w[12], w[6]).groupby("customer_id")["amount"].agg(["size", "sum"]).reindex(ids)
    n6, s6 = last6["size"].fillna(0), last6["sum"].fillna(0.0).round(6)
    np6, sp6 = prev6["size"].fillna(0), prev6["sum"].fillna(0.0).round(6)
    b6 = (s6 / n6).where(n6 > 0)
    bp = (sp6 / np6).where(np6 > 0)
    ng = n - 1
    gmean = (gsum / ng).where(ng > 0)
    gvar = (gsq / ng - gmean**2).where(ng > 0)
    recency = (s - last).dt.days.astype("float64")
    f["recency_days"] = recency
    f["n_purchases"] = n
    f["monetary"] = mon
    f["avg_basket"] = (sp / n).where(n > 0)
    f["tenure_days"] = (s - first.reindex(ids)).dt.days.astype("float64")
    f["purchases_12m"] = n12
    f["spend_6m"] = s6
    f["spend_prev_6m"] = sp6
    f["spend_trend"] = (s6 / sp6 - 1).where(sp6 > 0)
    f["basket_trend"] = (b6 / bp - 1).where(bp > 0)
    f["n_categories"] = cats
    f["gap_mean_days"] = gmean
    f["gap_cv"] = (np.sqrt(gvar.clip(lower=0)) / gmean).where(gmean > 0)
    f["active"] = (recency <= horizon_days).fillna(False)
    f["days_since_return"] = (s - ret).dt.days.astype("float64")
    return last


def _commitment(f: pd.DataFrame, cu, s, ids, first, last, loyalty_from) -> None:
    if cu is None:
        for column in ("committed", "contract_active", "contract_ended", "bought_after_contract_end"):
            f[column] = False
        f["committed_days"], f["loyalty_member"] = np.nan, False
        return
    c = cu.set_index("customer_id").reindex(ids)
    running = (
        c["contract_start"].notna()
        & (c["contract_start"] <= s)
        & (c["contract_end"].isna() | (c["contract_end"] > s))
    )
    loyal = c["loyalty_member"].fillna(False).astype(bool)
    if loyalty_from is not None and s < pd.Timestamp(loyalty_from).normalize():
        loyal = loyal & False
    loyal_only = loyal & c["contract_start"].isna()
    since = c["contract_start"].where(running, c["signup_date"].fillna(first.reindex(ids)).where(loyal_only))
    ended = c["contract_end"].notna() & (c["contract_end"] <= s)
    f["committed"] = running | loyal_only
    f["contract_active"] = running
    f["committed_days"] = (s - since).dt.days.astype("float64")
    f["contract_ended"] = ended
    f["bought_after_contract_end"] = ended & (last > c["contract_end"]).fillna(False)
    f["loyalty_member"] = loyal


def _voice(f: pd.DataFrame, it, s, ids) -> None:
    if it is None:
        f["nps_last"], f["complaints_90d"], f["open_complaints"], f["referrals"] = np.nan, 0, 0, 0
    else:
        i = it[it["date"] <= s]
        nps_rows = i[(i["type"] == "nps") & i["score"].notna()].sort_values(["customer_id", "date", "score"])
        nps = nps_rows.groupby("customer_id")["score"].last().reindex(ids)
        comp = _in_window(i[i["type"] == "complaint"], window_start(s, COMPLAINT_WINDOW), s)
        f["nps_last"] = nps.round(1)
        f["complaints_90d"] = comp.groupby("customer_id").size().reindex(ids, fill_value=0)
        unresolved = comp[comp["resolved"].eq(False).fillna(False).astype(bool)]
        f["open_complaints"] = unresolved.groupby("customer_id").size().reindex(ids, fill_value=0)
        refs = i[i["type"].isin(REFERRAL_TYPES)]
        f["referrals"] = refs.groupby("customer_id").size().reindex(ids, fill_value=0)
    f["promoter"] = (f["nps_last"] >= 9).fillna(False)
    f["detractor"] = (f["nps_last"] <= 6).fillna(False)
    f["commitment_signals"] = (
        f["promoter"].astype(int)
        + (f["referrals"] > 0).astype(int)
        + (f["basket_trend"] >= BASKET_SIGNAL).fillna(False).astype(int)
        + (f["n_categories"] >= CATEGORY_SIGNAL).astype(int)
    )


def features_pandas(
    tables: dict[str, pd.DataFrame],
    snapshots: Iterable[pd.Timestamp],
    horizon_days: float,
    return_gap: float = RETURN_GAP,
    loyalty_from=None,
) -> pd.DataFrame:
    """The same features, computed plainly one snapshot at a time (small data: tests and reference).

    ``loyalty_from`` as in :func:`custrel_lib.stages.features.features_engine`.
    """
    tables = check_tables(tables)
    tx = tables["transactions"]
    cu, it = tables.get("customers"), tables.get("interactions")
    p = _purchases(tx, cu, horizon_days, return_gap)
    first = _first_known(tx, cu)
    rows = []
    for s in snapshots:
        s = pd.Timestamp(s)
        ids = first[first <= s].index
        f = pd.DataFrame(index=ids)
        f["customer_id"] = ids
        f["snapshot"] = s
        last = _behaviour(f, tx, p, s, ids, first, horizon_days)
        _commitment(f, cu, s, ids, first, last, loyalty_from)
        _voice(f, it, s, ids)
        rows.append(f.reset_index(drop=True))
    out = pd.concat(rows, ignore_index=True)[["customer_id", "snapshot", *FEATURE_COLUMNS]]
    out.insert(1, "snapshot_day", _days(out.pop("snapshot")))
    return to_pandas_features(out)
