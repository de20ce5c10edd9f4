"""Features per customer and snapshot, computed in the query engine through Ibis (DuckDB by default).

How it scales: dates become day numbers; every event (purchase, transaction, first purchase in a category,
interaction) is mapped to the first snapshot where it counts and, for windowed features (last 90 days, 6 and 12
months), also to the snapshot where it leaves the window, with the opposite sign. Events are aggregated once
per customer and snapshot, joined to the customer x snapshot grid (from the customer's first snapshot), and one
pass of running sums / maxima gives every feature at every snapshot: one scan of each table, no scan per
snapshot, no self-join. :func:`features_pandas` computes the same definitions plainly, snapshot by snapshot:
the tests require both to agree.

Definitions (``s`` the snapshot date; a *purchase* is a transaction with a positive amount; windows are
``(s - N months, s]``, ending on month ends when ``s`` is a month end):

=========================  ================================================================================
recency_days               days since the last purchase (null before the first)
n_purchases                purchases up to ``s``
monetary                   net spend up to ``s`` (refunds included)
avg_basket                 mean amount of the purchases up to ``s``
tenure_days                days since the customer was first known (sign-up or first transaction)
purchases_12m              purchases in the last 12 months
spend_6m                   purchase amounts in the last 6 months (``spend_prev_6m``: the 6 months before)
spend_trend                ``spend_6m / spend_prev_6m - 1`` (null when nothing was bought in the 6 months before)
basket_trend               mean basket of the last 6 months over that of the 6 before, minus 1 (up-sell)
n_categories               distinct categories bought up to ``s`` (cross-sell)
gap_mean_days              mean days between consecutive purchases; ``gap_cv`` their coefficient of variation
active                     a purchase within the horizon ``H`` (``recency_days <= H``)
days_since_return          days since the last return (win-back): a purchase after a gap longer than ``return_gap`` x
                           ``H``, or the first purchase after the contract ended
committed                  a contract running at ``s``, or a loyalty-programme member without contract dates
contract_active            a contract running at ``s`` (started on or before, not ended)
committed_days             days since the contract started (or since sign-up for a loyalty member)
contract_ended             a contract ended on or before ``s``
bought_after_contract_end  a purchase after the contract ended (a contractual separation followed by a return)
nps_last                   the latest NPS score up to ``s``; ``promoter`` (>= 9), ``detractor`` (<= 6)
complaints_90d             complaints in the last 90 days ``(s - 90 days, s]``; ``open_complaints`` those not resolved
referrals                  referrals (``referral`` or ``parrainage`` interactions) up to ``s``
commitment_signals         how many of: promoter, a referral, ``basket_trend >= 0.25``, ``n_categories >= 3``
=========================  ================================================================================

``loyalty_member`` is a flag with no date, known at extraction. For a customer with contract dates, the dates
say when the formal tie held, so the flag does not make that customer committed before the contract started or
after it ended; for a loyalty member without a contract it counts from sign-up, at the snapshots on or after
``loyalty_from`` (:class:`~custrel_lib.stages.model.StageModel` passes the extraction date: earlier snapshots do not
use a flag observed later). ``resolved`` (complaints) has no date either: ``open_complaints`` at a past snapshot
counts the complaints still unresolved at extraction (a stated exception; the default rules do not use it).
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from custrel_lib.exceptions import DataContractError, MissingColumnError
from custrel_lib.io.contract import DATE_COLUMNS
from custrel_lib.io.contract import FEATURE_OPTIONAL as OPTIONAL
from custrel_lib.io.contract import FEATURE_REQUIRED as REQUIRED
from custrel_lib.stages.calendar import (  # noqa: F401  (re-exported: the public names of the features)
    COMPLAINT_WINDOW,
    EPOCH,
    WINDOWS,
    calendar_table,
    snapshot_dates,
    window_start,
)
from custrel_lib.stages.calendar import days as _days
from custrel_lib.stages.horizon import (  # noqa: F401
    HORIZON_METHODS,
    HORIZON_TEXTS,
    MIN_SEPARATION_SHARE,
    _purchases,
    horizon_from_gaps,
    horizon_lines,
    horizon_pandas,
    horizon_window_check,
)

# What each window counts: purchases and their amounts (np, sp), complaints and open complaints (co, op).
_WINDOWED = {COMPLAINT_WINDOW: ("co", "op"), 6: ("np", "sp"), 12: ("np", "sp")}
_CAL = ("k", *(f"x{m}" for m in WINDOWS))
REFERRAL_TYPES = ("referral", "parrainage")
BASKET_SIGNAL = 0.25
CATEGORY_SIGNAL = 3
RETURN_GAP = 1.5

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
    "bought_after_contract_end",
    "loyalty_member",
    "nps_last",
    "promoter",
    "detractor",
    "complaints_90d",
    "open_complaints",
    "referrals",
    "commitment_signals",
]
#: What each feature means, for people (explanations, tables): French and English.
FEATURE_LABELS = {
    "recency_days": ("Jours depuis le dernier achat", "Days since the last purchase"),
    "n_purchases": ("Achats", "Purchases"),
    "monetary": ("Montant net dépensé", "Net spend"),
    "avg_basket": ("Panier moyen", "Average basket"),
    "tenure_days": ("Ancienneté (jours)", "Tenure (days)"),
    "purchases_12m": ("Achats sur 12 mois", "Purchases in the last 12 months"),
    "spend_6m": ("Dépense sur 6 mois", "Spend in the last 6 months"),
    "spend_prev_6m": ("Dépense des 6 mois précédents", "Spend in the 6 months before"),
    "spend_trend": ("Évolution de la dépense (6 mois)", "Spend trend (6 months)"),
    "basket_trend": ("Évolution du panier moyen (montée en gamme)", "Average basket trend (up-sell)"),
    "n_categories": ("Catégories achetées (ventes croisées)", "Categories bought (cross-sell)"),
    "gap_mean_days": ("Intervalle moyen entre achats (jours)", "Mean days between purchases"),
    "gap_cv": ("Irrégularité des intervalles (CV)", "Irregularity of the gaps (CV)"),
    "active": ("Actif (achat dans l'horizon H)", "Active (a purchase within H)"),
    "days_since_return": ("Jours depuis le retour (reconquête)", "Days since the return (win-back)"),
    "committed": ("Engagé (contrat ou fidélité)", "Committed (contract or loyalty)"),
    "contract_active": ("Contrat en cours", "Contract running"),
    "committed_days": ("Durée de l'engagement (jours)", "Committed for (days)"),
    "contract_ended": ("Contrat terminé", "Contract ended"),
    "bought_after_contract_end": ("Achat après la fin du contrat", "Purchase after the contract ended"),
    "loyalty_member": ("Membre du programme de fidélité", "Loyalty programme member"),
    "nps_last": ("Dernière note de recommandation (0-10)", "Latest recommendation score (0-10)"),
    "promoter": ("Promoteur (NPS ≥ 9)", "Promoter (NPS ≥ 9)"),
    "detractor": ("Détracteur (NPS ≤ 6)", "Detractor (NPS ≤ 6)"),
    "complaints_90d": ("Réclamations sur 90 jours", "Complaints in the last 90 days"),
    "open_complaints": ("Réclamations non résolues (90 jours)", "Unresolved complaints (90 days)"),
    "referrals": ("Recommandations, parrainages", "Referrals"),
    "commitment_signals": ("Signaux d'engagement", "Commitment signals"),
}


def feature_label(feature: str, lang: str = "fr") -> str:
    """The label of a feature in ``lang`` (``fr`` or ``en``); the code itself when it has none."""
    labels = FEATURE_LABELS.get(feature)
    return labels[0 if lang == "fr" else 1] if labels else feature


BOOL_FEATURES = (
    "active",
    "committed",
    "contract_active",
    "contract_ended",
    "bought_after_contract_end",
    "loyalty_member",
    "promoter",
    "detractor",
)


# The columns the features read: required ones, and optional ones filled with nulls when absent.
_IBIS_TYPES = {"string": "string", "datetime64[ns]": "timestamp", "boolean": "boolean", "float64": "float64"}


def check_tables(tables: dict) -> dict:
    """Check the columns the features need and add absent optional ones (as nulls); pandas tables only.

    Raises :class:`MissingColumnError` naming the table and column, or :class:`DataContractError` for a date
    column that is not a datetime or an amount that is not numeric.
    """
    if "transactions" not in tables or tables["transactions"] is None:
        raise DataContractError("The stage features need at least the 'transactions' table.")
    out = {}
    for name, df in tables.items():
        if name not in REQUIRED or df is None:
            continue
        if isinstance(df, ibis.Table):
            missing = [c for c in REQUIRED[name] if c not in df.columns]
            if missing:
                raise MissingColumnError(name, missing[0], list(df.columns))
            extra = {c: ibis.null(_IBIS_TYPES[t]) for c, t in OPTIONAL[name].items() if c not in df.columns}
            out[name] = df.mutate(**extra) if extra else df
            continue
        for col in REQUIRED[name]:
            if col not in df.columns:
                raise MissingColumnError(name, col, list(df.columns))
        extra = {
            c: pd.Series(pd.NA, index=df.index, dtype=t) for c, t in OPTIONAL[name].items() if c not in df
        }
        if extra:
            df = df.assign(**extra)
        for col in DATE_COLUMNS:
            if col in df.columns and not pd.api.types.is_datetime64_any_dtype(df[col]):
                raise DataContractError(
                    f"Table '{name}': column '{col}' must hold dates (datetime64), found {df[col].dtype}. "
                    "Load the tables with custrel_lib.io.load.load_tables, which parses dates."
                )
        for col in ("customer_id", "date"):
            if col in REQUIRED[name] and df[col].isna().any():
                raise DataContractError(
                    f"Table '{name}': column '{col}' has {int(df[col].isna().sum())} missing value(s); "
                    "the data contract requires it."
                )
        if name == "customers" and df["customer_id"].duplicated().any():
            dup = df.loc[df["customer_id"].duplicated(), "customer_id"].iloc[0]
            raise DataContractError(
                f"Table 'customers': column 'customer_id' must be unique; {dup!r} repeats."
            )
        if name == "transactions" and not pd.api.types.is_numeric_dtype(df["amount"]):
            raise DataContractError(
                f"Table 'transactions': column 'amount' must be numeric, found {df['amount'].dtype}."
            )
        out[name] = df
    return out


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


_SUMS = ["n_p", "s_p", "g_sum", "g_sq", "s_all", "n_cat", "n_compl", "n_ref"]
_SUMS += [f"w{m}_{c}" for m in WINDOWS for c in _WINDOWED[m]]
_MAXES = ["last_p", "last_ret", "nps_key"]
_PURCHASE_WINDOWS = [m for m in WINDOWS if "np" in _WINDOWED[m]]


def _event(t: ibis.Table, k, **values) -> ibis.Table:
    """One kind of event with every aggregated column (zero / null where it does not apply)."""
    row = {c: values.get(c, ibis.literal(0, "float64")) for c in _SUMS}
    row |= {c: values.get(c, ibis.null("int64")) for c in _MAXES}
    return t.select(
        customer_id=t.customer_id,
        k=k,
        **{c: v.cast("float64") if c in _SUMS else v.cast("int64") for c, v in row.items()},
    )


def _customers(con, tables: dict) -> ibis.Table:
    cu = _table(
        con,
        tables["customers"],
        ["customer_id", "signup_date", "contract_start", "contract_end", "loyalty_member"],
    )
    return cu.mutate(
        signup=cu.signup_date.cast("date").epoch_days().cast("int64"),
        cstart=cu.contract_start.cast("date").epoch_days().cast("int64"),
        cend=cu.contract_end.cast("date").epoch_days().cast("int64"),
        loyal=cu.loyalty_member.cast("boolean").fill_null(False),
    )


def _firsts(tx: ibis.Table, cu: ibis.Table | None, days: ibis.Table, n_snap: int) -> ibis.Table:
    """First snapshot of each customer: the first on or after its sign-up or first transaction."""
    firsts = tx.group_by("customer_id").aggregate(fk=tx.k.min(), first_tx=tx.d.min())
    if cu is None:
        return firsts
    sk = cu.filter(cu.signup.notnull()).join(days, cu.signup == days.d)
    sk = sk.filter(sk.k < n_snap).select("customer_id", fk=sk.k, first_tx=ibis.null("int64"))
    return (
        firsts.union(sk).group_by("customer_id").aggregate(fk=ibis._.fk.min(), first_tx=ibis._.first_tx.min())
    )


def _purchase_events(tx: ibis.Table, cu: ibis.Table | None, long_gap: float) -> list[ibis.Table]:
    """Purchases (entering and leaving their windows), transactions and first purchases in a category."""
    p = _purchases(tx)
    one = ibis.literal(1.0)
    # A return (win-back): a purchase after a long gap, or the first purchase after the contract ended.
    returned = (p.gap > long_gap).fill_null(False)
    pr = p
    if cu is not None:
        pr = _dedup(p.left_join(cu.select("customer_id", "cend"), "customer_id"))
        after_end = (pr.d > pr.cend) & (pr.gap.isnull() | (pr.d - pr.gap <= pr.cend))
        returned = (pr.gap > long_gap).fill_null(False) | after_end.fill_null(False)
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
            **{f"w{m}_np": one for m in _PURCHASE_WINDOWS},
            **{f"w{m}_sp": p.amount for m in _PURCHASE_WINDOWS},
        ),
        _event(tx, tx.k, s_all=tx.amount),
    ]
    # Leaving each window: the same purchase with the opposite sign, at the snapshot where it drops out.
    events += [_event(p, p[f"x{m}"], **{f"w{m}_np": -one, f"w{m}_sp": -p.amount}) for m in _PURCHASE_WINDOWS]
    cats = p.filter(p.category.notnull()).group_by(["customer_id", "category"]).aggregate(k=p.k.min())
    events.append(_event(cats, cats.k, n_cat=one))
    return events


def _interaction_events(it: ibis.Table, firsts: ibis.Table, days: ibis.Table, first_day: int, n_snap: int):
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
    return [
        _event(
            it,
            enter,
            n_compl=compl,
            n_ref=it.type.isin(REFERRAL_TYPES).ifelse(1.0, 0.0),
            nps_key=is_nps.ifelse(key, ibis.null("int64")),
            **{f"{w}_co": compl, f"{w}_op": open_c},
        ),
        _event(it, leave, **{f"{w}_co": -compl, f"{w}_op": -open_c}),
    ]


def _running(events: list[ibis.Table], firsts: ibis.Table, snaps: ibis.Table, n_snap: int) -> ibis.Table:
    """Events aggregated per customer and snapshot, on the customer x snapshot grid, as running sums / maxima."""
    ev = events[0]
    for e in events[1:]:
        ev = ev.union(e)
    ev = ev.filter(ev.k < n_snap)
    agg = ev.group_by(["customer_id", "k"]).aggregate(
        **{c: ev[c].sum() for c in _SUMS}, **{c: ev[c].max() for c in _MAXES}
    )
    grid = firsts.cross_join(snaps).filter(lambda t: t.k >= t.fk)
    grid = _dedup(grid.left_join(agg, ["customer_id", "k"]))
    cw = ibis.cumulative_window(group_by="customer_id", order_by="k")
    return grid.select(
        "customer_id",
        "k",
        "s",
        "first_tx",
        **{f"c_{c}": grid[c].fill_null(0).sum().over(cw) for c in _SUMS},
        **{f"c_{c}": grid[c].max().over(cw) for c in _MAXES},
    )


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


def _feature_table(f: ibis.Table, cu: ibis.Table | None, has_it: bool, horizon_days: float, loyalty_from):
    first_known = f.first_tx
    if cu is not None:
        f = _dedup(f.left_join(cu.select("customer_id", "signup", "cstart", "cend", "loyal"), "customer_id"))
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
    return f.select(customer_id=f.customer_id, snapshot_day=f.s, **{c: columns[c] for c in FEATURE_COLUMNS})


def features_engine(
    tables: dict,
    snapshots: list[pd.Timestamp],
    horizon_days: float,
    backend=None,
    return_gap: float = RETURN_GAP,
    loyalty_from=None,
) -> tuple[ibis.Table, object]:
    """The feature table as an Ibis expression (one row per customer and snapshot where it exists).

    ``loyalty_from``: the undated ``loyalty_member`` flag counts only at snapshots on or after this date (the
    date it was observed: :class:`~custrel_lib.stages.model.StageModel` passes the extraction date); ``None`` applies
    it at every snapshot.

    Every event (purchase, transaction, new category, interaction) is mapped to the snapshot where it first
    counts (``k``) and, for windowed features, to the snapshot where it leaves the window (``x<m>``, with the
    opposite sign). All events are aggregated once per customer and snapshot, joined to the customer x
    snapshot grid, and running sums / maxima over the snapshots (one window pass) give every feature.
    """
    tables = check_tables(tables)
    con = connect(backend)
    n_snap = len(snapshots)
    first_day = first_seen_days(con, tables)
    days = ibis.memtable(calendar_table(first_day, snapshots))
    snaps = ibis.memtable(
        pd.DataFrame({"k": np.arange(n_snap, dtype=np.int64), "s": _days(pd.DatetimeIndex(snapshots))})
    )
    tx = _with_days(_table(con, tables["transactions"], ["customer_id", "date", "amount", "category"]))
    tx = tx.join(days, tx.d == days.d).select(
        tx.customer_id, tx.d, tx.amount, tx.category, *[days[c] for c in _CAL]
    )
    tx = tx.filter(tx.k < n_snap)
    cu = _customers(con, tables) if tables.get("customers") is not None else None
    firsts = _firsts(tx, cu, days, n_snap)
    events = _purchase_events(tx, cu, float(return_gap) * float(horizon_days))
    has_it = tables.get("interactions") is not None
    if has_it:
        it = _table(con, tables["interactions"], ["customer_id", "date", "type", "score", "resolved"])
        events += _interaction_events(it, firsts, days, first_day, n_snap)
    f = _running(events, firsts, snaps, n_snap)
    return _feature_table(f, cu, has_it, horizon_days, loyalty_from), con


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
        "complaints_90d",
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
            "complaints_90d",
            "open_complaints",
            "referrals",
            "commitment_signals",
        }
    ):
        df[c] = df[c].astype("float64")
    return df.sort_values(["customer_id", "snapshot"], kind="stable").reset_index(drop=True)


def features_pandas(*args, **kwargs):
    """The pandas reference (:func:`custrel_lib.stages.reference.features_pandas`)."""
    from custrel_lib.stages.reference import features_pandas as run

    return run(*args, **kwargs)
