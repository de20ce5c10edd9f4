"""The pieces of a duration table: relationship episodes, and what is known of each one.

:func:`contract_episodes` and :func:`purchase_episodes` cut a customer's history into episodes (with the
rules of :mod:`custrel_lib.survival.durations`, which assembles the table) and list the episodes they leave
out, with the reason. The ``add_*`` functions and :func:`landmark_stage` add the covariates of each episode:
purchases, customer attributes, the voice of the customer in the first period, the stage at the landmark.
Input columns are checked by the caller.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from custrel_lib.exceptions import AnalysisError, CustrelWarning
from custrel_lib.survival.text import exclusion_sentences


class EpisodesExcludedError(AnalysisError):
    """Every relationship episode was left out (a cohort read without ``origin: first_purchase``, say).

    ``exclusions`` counts the episodes left out by reason; :meth:`reason` says it in the report's language
    with what to change, so a report shows why its survival sections are missing, not a bare "cannot".
    """

    def __init__(self, dropped: pd.DataFrame, horizon_days: float):
        self.exclusions = {str(k): int(v) for k, v in dropped["reason"].value_counts().items()}
        self.customers = int(dropped["customer_id"].nunique())
        self.horizon_days = horizon_days
        total = sum(self.exclusions.values())
        detail = ", ".join(f"{n} {reason}" for reason, n in self.exclusions.items())
        super().__init__(
            f"No relationship episode is left for the survival analysis: all {total} were left out ({detail})."
            " If the data holds every customer's whole history (a cohort), set survival.origin to "
            "first_purchase in custrel.yml; if you have sign-up dates, add the customers table with signup_date."
        )

    def reason(self, lang: str) -> tuple[str, str]:
        """``(code, sentence)`` for :func:`custrel_lib.sections.reason_of`."""
        total = sum(self.exclusions.values())
        counts = {
            "episodes": self.exclusions,
            "episodes_total": total,
            "share_customers_excluded": 1.0,
        }
        sentences = exclusion_sentences(counts, self.horizon_days, lang)
        return "all_excluded", " ".join(sentences).rstrip(".")


def contract_episodes(
    customers: pd.DataFrame, ids: set[str], as_of, window_start
) -> tuple[pd.DataFrame, pd.DataFrame]:
    c = customers.loc[customers["customer_id"].isin(ids)].copy()
    end = c["contract_end"] if "contract_end" in c else pd.Series(pd.NaT, index=c.index)
    ended = end.notna() & (end <= as_of)
    bad = ended & (end < c["contract_start"])
    if bad.any():
        raise AnalysisError(
            f"Table 'customers': {int(bad.sum())} contract(s) end before they start "
            f"(e.g. customer {c.loc[bad, 'customer_id'].iloc[0]!s})."
        )
    reason = c["end_reason"].astype("string") if "end_reason" in c else pd.Series(pd.NA, index=c.index)
    out = pd.DataFrame(
        {
            "customer_id": c["customer_id"].to_numpy(),
            "episode": 1,
            "definition": "contractual",
            "start": c["contract_start"].to_numpy(),
            "end": np.where(ended, end, as_of).astype("datetime64[ns]"),
            "event": ended.astype(int).to_numpy(),
            "end_reason": reason.where(ended).to_numpy(),
            "origin_known": True,
        }
    )
    out["end_reason"] = out["end_reason"].astype("string")
    out.loc[(out["event"] == 1) & out["end_reason"].isna(), "end_reason"] = "unknown"
    before = out["end"] < window_start
    dropped = pd.DataFrame(
        {"customer_id": out.loc[before, "customer_id"], "reason": "contract_before_window"}
    )
    if before.any():
        warnings.warn(
            f"{int(before.sum())} contract(s) ended before the window start ({window_start.date()}): "
            "outside the observation window, left out.",
            CustrelWarning,
            stacklevel=4,
        )
        out = out.loc[~before]
    out["entry_date"] = out["start"].where(out["start"] >= window_start, window_start)
    out["data_end"] = out["end"]
    return out, dropped


def purchase_episodes(
    purchases: pd.DataFrame, customers, as_of, window_start, horizon, unknown_origin, origin
) -> tuple[pd.DataFrame, pd.DataFrame]:
    no_rows = pd.DataFrame(columns=["customer_id", "reason"])
    if purchases.empty:
        return pd.DataFrame(), no_rows
    days = purchases[["customer_id", "date"]].drop_duplicates().sort_values(["customer_id", "date"])
    gap = days.groupby("customer_id")["date"].diff()
    new_episode = gap.isna() | (gap > horizon)
    days["episode"] = new_episode.astype(int).groupby(days["customer_id"]).cumsum()
    g = days.groupby(["customer_id", "episode"], sort=False)["date"]
    ep = g.agg(start="min", last="max").reset_index()
    ep["is_last"] = ep["episode"] == ep.groupby("customer_id")["episode"].transform("max")
    # Not the last episode: a later purchase came after a gap > H, so it ended at its last purchase. The last
    # episode ended at its last purchase when H days have passed since; otherwise it is censored at as_of - H,
    # the last date at which a separation can have been recorded.
    censor = as_of - horizon
    lapsed = ~ep["is_last"] | (as_of - ep["last"] > horizon)
    ep["event"] = lapsed.astype(int)
    ep["end"] = ep["last"].where(lapsed, censor)
    ep["data_end"] = ep["last"].where(lapsed, as_of)
    ep["end_reason"] = pd.Series(np.where(lapsed, "lapsed", None), dtype="string")
    ep["definition"] = "non_contractual"
    ep["origin_known"] = True
    ep["entry_date"] = ep["start"]

    maybe_older = (ep["episode"] == 1) & (ep["start"] - window_start <= horizon)
    if origin == "first_purchase":
        maybe_older[:] = False
    earliest = pd.Series(pd.NaT, index=ep.index, dtype="datetime64[ns]")
    signup = pd.Series(pd.NaT, index=ep.index, dtype="datetime64[ns]")
    if customers is not None:
        by_id = customers.set_index("customer_id")
        cols = [c for c in ("signup_date", "contract_start") if c in by_id]
        if cols:
            earliest = ep["customer_id"].map(by_id[cols].min(axis=1)).astype("datetime64[ns]")
        if "signup_date" in by_id:
            signup = ep["customer_id"].map(by_id["signup_date"]).astype("datetime64[ns]")
    if origin in ("auto", "signup"):
        # A sign-up inside the window proves the customer is new: the first purchase starts the relationship.
        maybe_older &= ~(signup >= window_start)
    known = maybe_older & earliest.notna() & (earliest < window_start)
    ep.loc[known, "start"] = earliest[known]
    ep.loc[known, "entry_date"] = window_start
    unknown = maybe_older & ~known
    dropped = [no_rows]
    if unknown.any():
        if unknown_origin == "exclude":
            warnings.warn(
                f"{int(unknown.sum())} customer(s) bought within the first {horizon.days} days of the "
                f"window ({window_start.date()}) with no known earlier origin (signup_date or "
                "contract_start): their relationship may have begun before the window, so their first "
                "episode is left out (left truncation with an unknown origin). Give sign-up dates, or set "
                "survival.origin to first_purchase in custrel.yml if the data holds every customer's "
                "whole history.",
                CustrelWarning,
                stacklevel=4,
            )
            dropped.append(
                pd.DataFrame({"customer_id": ep.loc[unknown, "customer_id"], "reason": "unknown_origin"})
            )
            ep = ep.loc[~unknown]
        else:
            ep.loc[unknown, "start"] = window_start
            ep.loc[unknown, "entry_date"] = window_start
            ep.loc[unknown, "origin_known"] = False
    # Open episodes that began after as_of - H have no time at risk in which a separation could be seen yet.
    recent = (ep["event"] == 0) & (ep["start"] >= censor)
    dropped.append(pd.DataFrame({"customer_id": ep.loc[recent, "customer_id"], "reason": "too_recent"}))
    ep = ep.loc[~recent]
    dropped = [x for x in dropped if not x.empty] or [no_rows]
    return ep.drop(columns=["is_last", "last"]), pd.concat(dropped, ignore_index=True)


def window_sum(ep: pd.DataFrame, tx: pd.DataFrame, lo: pd.Series, hi: pd.Series) -> np.ndarray:
    """Sum of ``amount`` per episode over ``lo <= date <= hi`` (refunds included)."""
    keys = pd.DataFrame({"customer_id": ep["customer_id"], "lo": lo, "hi": hi, "row": np.arange(len(ep))})
    m = keys.merge(tx, on="customer_id", how="inner")
    m = m.loc[(m["date"] >= m["lo"]) & (m["date"] <= m["hi"])]
    sums = m.groupby("row")["amount"].sum()
    return sums.reindex(np.arange(len(ep)), fill_value=0.0).to_numpy(dtype=float)


def add_purchase_counts(ep: pd.DataFrame, tx: pd.DataFrame, as_of, horizon) -> pd.DataFrame:
    # Purchases up to the end of the data for the episode (as_of for open ones), not to the censoring date.
    keys = pd.DataFrame(
        {"customer_id": ep["customer_id"], "lo": ep["start"], "hi": ep["data_end"], "row": np.arange(len(ep))}
    )
    pur = tx.loc[tx["amount"] > 0, ["customer_id", "date"]].drop_duplicates()
    m = keys.merge(pur, on="customer_id", how="inner")
    m = m.loc[(m["date"] >= m["lo"]) & (m["date"] <= m["hi"])]
    agg = m.groupby("row")["date"].agg(["count", "max"])
    ep["n_purchases"] = agg["count"].reindex(np.arange(len(ep)), fill_value=0).to_numpy(dtype=int)
    ep["last_purchase"] = agg["max"].reindex(np.arange(len(ep))).to_numpy()
    ep["recent_spend"] = np.where(
        ep["event"].to_numpy() == 0, window_sum(ep, tx, as_of - horizon + pd.Timedelta(0), as_of), 0.0
    )
    return ep


def add_customer_covariates(ep: pd.DataFrame, customers, as_of) -> pd.DataFrame:
    if customers is None:
        ep["acquisition_channel"] = pd.Series(pd.NA, index=ep.index, dtype="string")
        ep["region"] = pd.Series(pd.NA, index=ep.index, dtype="string")
        ep["contract"] = False
        ep["loyalty"] = pd.Series(pd.NA, index=ep.index, dtype="boolean")
        return ep
    c = customers.set_index("customer_id")
    for col in ("acquisition_channel", "region"):
        values = c[col] if col in c else pd.Series(pd.NA, index=c.index)
        ep[col] = ep["customer_id"].map(values).astype("string")
    if "contract_start" in c:
        has = c["contract_start"].notna() & (c["contract_start"] <= as_of)
        ep["contract"] = ep["customer_id"].map(has).fillna(False).astype(bool)
    else:
        ep["contract"] = False
    loyalty = c["loyalty_member"] if "loyalty_member" in c else pd.Series(pd.NA, index=c.index)
    ep["loyalty"] = ep["customer_id"].map(loyalty).astype("boolean")
    return ep


def add_voice(ep: pd.DataFrame, interactions, landmark) -> pd.DataFrame:
    ep["nps"] = np.nan
    ep["complaints"] = 0
    if interactions is None or interactions.empty:
        return ep
    it = interactions.copy()
    it["customer_id"] = it["customer_id"].astype("string")
    it["date"] = pd.to_datetime(it["date"])
    keys = pd.DataFrame(
        {
            "customer_id": ep["customer_id"],
            "lo": ep["start"],
            "hi": np.minimum(ep["start"] + landmark, ep["end"]),
            "row": np.arange(len(ep)),
        }
    )
    m = keys.merge(it, on="customer_id", how="inner")
    m = m.loc[(m["date"] >= m["lo"]) & (m["date"] <= m["hi"])]
    if "score" in m:
        nps = m.loc[m["type"] == "nps"].groupby("row")["score"].mean()
        ep["nps"] = nps.reindex(np.arange(len(ep))).to_numpy(dtype=float)
    complaints = m.loc[m["type"] == "complaint"].groupby("row").size()
    ep["complaints"] = complaints.reindex(np.arange(len(ep)), fill_value=0).to_numpy(dtype=int)
    return ep


def landmark_stage(ep: pd.DataFrame, history, landmark) -> pd.Series:
    out = pd.Series(pd.NA, index=ep.index, dtype="string")
    if history is None:
        return out
    h = history[["customer_id", "snapshot", "stage"]].copy()
    h["customer_id"] = h["customer_id"].astype("string")
    keys = pd.DataFrame(
        {
            "customer_id": ep["customer_id"],
            "lo": ep["start"],
            "hi": ep["start"] + landmark,
            "row": np.arange(len(ep)),
            "reached": (ep["end"] - ep["start"]) >= landmark,
        }
    )
    m = keys.loc[keys["reached"]].merge(h, on="customer_id", how="inner")
    m = m.loc[(m["snapshot"] >= m["lo"]) & (m["snapshot"] <= m["hi"])]
    last = m.sort_values("snapshot").groupby("row")["stage"].last()
    out.iloc[last.index.to_numpy()] = last.to_numpy()
    return out
