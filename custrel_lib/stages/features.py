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

from collections.abc import Iterable, Sequence

import ibis
import numpy as np
import pandas as pd

from custrel_lib.engine import connect
from custrel_lib.exceptions import AnalysisError, ConfigError, DataContractError, MissingColumnError
from custrel_lib.i18n import format_number, tr

COMPLAINT_WINDOW = "90d"  # a window in days; the others are in months
WINDOWS = (COMPLAINT_WINDOW, 6, 12)
# What each window counts: purchases and their amounts (np, sp), complaints and open complaints (co, op).
_WINDOWED = {COMPLAINT_WINDOW: ("co", "op"), 6: ("np", "sp"), 12: ("np", "sp")}
_CAL = ("k", *(f"x{m}" for m in WINDOWS))
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
REQUIRED = {
    "transactions": ("customer_id", "date", "amount"),
    "customers": ("customer_id",),
    "interactions": ("customer_id", "date", "type"),
}
OPTIONAL = {
    "transactions": {"category": "string"},
    "customers": {
        "signup_date": "datetime64[ns]",
        "contract_start": "datetime64[ns]",
        "contract_end": "datetime64[ns]",
        "loyalty_member": "boolean",
    },
    "interactions": {"score": "float64", "resolved": "boolean"},
}
_IBIS_TYPES = {"string": "string", "datetime64[ns]": "timestamp", "boolean": "boolean", "float64": "float64"}
DATE_COLUMNS = ("date", "signup_date", "contract_start", "contract_end")


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


def window_start(s: pd.Timestamp, months: int | str) -> pd.Timestamp:
    """Start (excluded) of the ``months``-month window ending at ``s``; month ends map to month ends.

    ``months`` can also be a number of days written ``"90d"``.
    """
    if isinstance(months, str):
        return s - pd.Timedelta(days=int(months.removesuffix("d")))
    start = s - pd.DateOffset(months=months)
    return start + pd.offsets.MonthEnd(0) if s.is_month_end else start


def _days(ts) -> np.ndarray | int:
    if isinstance(ts, pd.Timestamp):
        return int((ts - EPOCH).days)
    return ((pd.DatetimeIndex(ts) - EPOCH).days).to_numpy(dtype=np.int64)


def _calendar(first_day: int, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """Map every day to the snapshot where an event of that day enters, and where it leaves each window.

    ``k`` is the index of the first snapshot on or after the day; ``x<m>`` the index of the first snapshot
    whose ``m`` window starts on or after the day (the event is out of the window from there on). Indexes
    equal to ``len(snapshots)`` mean "never".
    """
    snap = pd.DatetimeIndex(snapshots)
    days = np.arange(min(first_day, _days(snap[0])), _days(snap[-1]) + 1, dtype=np.int64)
    out = pd.DataFrame({"d": days, "k": np.searchsorted(_days(snap), days, side="left").astype(np.int64)})
    for m in WINDOWS:
        # window_start is non-decreasing in the snapshot date, so a binary search finds the exit.
        starts = _days(pd.DatetimeIndex([window_start(x, m) for x in snap]))
        out[f"x{m}"] = np.searchsorted(starts, days, side="left").astype(np.int64)
    return out


# --- horizon ----------------------------------------------------------------------------------------------

#: How the horizon is estimated from the gaps; see :func:`horizon_pandas` and docs/horizon.md.
HORIZON_METHODS = ("window", "observed", "censored")
#: H leaves too little of the window to observe a separation when ``window - H < window / 3``.
MIN_SEPARATION_SHARE = 1 / 3
HORIZON_TEXTS = {
    "window_too_short": {
        "fr": (
            "Fenêtre de données trop courte pour l'horizon de séparation : H = {h} jours sur {w} jours de "
            "données ({start} au {as_of}) ; il reste moins d'un tiers de la fenêtre ({left} jours) pour "
            "observer une séparation. H est la meilleure estimation possible, mais les séparations récentes "
            "et les écarts longs sont mal connus : fixez analysis.horizon_days si vous connaissez le rythme "
            "d'achat, ou ajoutez de l'historique."
        ),
        "en": (
            "The data window is too short for the separation horizon: H = {h} days over {w} days of data "
            "({start} to {as_of}); less than a third of the window ({left} days) is left to observe a "
            "separation. H is the best estimate available, but recent separations and long gaps are poorly "
            "known: set analysis.horizon_days if you know the buying rhythm, or add history."
        ),
    },
}


def horizon_window_check(window_start, as_of, horizon_days: float, lang: str = "fr") -> str | None:
    """The warning to show when the data window is too short for the horizon ``H``, else ``None``.

    The window is too short when ``window_days - H < window_days / 3`` (with ``window_days`` from
    ``window_start`` to ``as_of``): a separation (no purchase for more than ``H`` days) can then only be
    observed for customers who bought in the first two thirds of the window at most.

    Parameters
    ----------
    window_start, as_of : date-like
        First and last day of the data (e.g. the first transaction date and the extraction date).
    horizon_days : float
        The separation horizon H in days.
    lang : {"fr", "en"}
        Language of the message.

    Returns
    -------
    str or None
        The message (fr or en), or ``None`` when the window is long enough.
    """
    start, end = pd.Timestamp(window_start).normalize(), pd.Timestamp(as_of).normalize()
    w = int((end - start).days)
    left = w - float(horizon_days)
    if left >= w * MIN_SEPARATION_SHARE:
        return None
    return tr(
        HORIZON_TEXTS,
        "window_too_short",
        lang,
        h=format_number(horizon_days, lang),
        w=format_number(w, lang),
        left=format_number(max(left, 0), lang),
        start=start.date(),
        as_of=end.date(),
    )


def _purchases(t: ibis.Table) -> ibis.Table:
    p = t.filter(t.amount > 0)
    w = ibis.window(group_by=p.customer_id, order_by=[p.d, p.amount])
    return p.mutate(gap=p.d - p.d.lag().over(w))


def _no_repeat() -> AnalysisError:
    return AnalysisError(
        "Cannot derive the separation horizon: no customer bought twice. Set analysis.horizon_days in custrel.yml."
    )


def _check_method(method: str, allowed: Sequence[str] = HORIZON_METHODS) -> None:
    if method not in allowed:
        raise ConfigError(f"Unknown horizon method {method!r}: use one of {', '.join(allowed)}.")


def horizon_from_gaps(
    tx: ibis.Table,
    quantile: float = 0.95,
    backend=None,
    method: str = "window",
    window_start=None,
    as_of=None,
) -> float:
    """The ``quantile`` of repeat customers' inter-purchase gaps, each customer weighing the same, in the engine.

    ``tx`` has a day number column ``d``. ``method="window"`` (the default) corrects for the data window: a
    gap of ``g`` days is only seen when it starts at least ``g`` days before ``as_of``, so each completed gap
    weighs ``(T + 1) / (T + 1 - g)`` (``T`` the days from ``window_start`` to ``as_of``), then each customer's
    weights are scaled to sum to one. ``method="observed"`` is the uncorrected quantile (each completed gap of a
    customer weighs ``1 / n``). ``window_start`` and ``as_of`` default to the first and last day in ``tx``.
    :func:`horizon_pandas` is the reference (and also has ``method="censored"``); docs/horizon.md the evidence.
    """
    _check_method(method, ("window", "observed"))

    def run(expr):
        return backend.execute(expr) if backend is not None else expr.execute()

    g = _purchases(tx)
    g = g.filter(g.gap.notnull())
    by_customer = ibis.window(group_by=g.customer_id)
    if method == "observed":
        g = g.mutate(w=1.0 / g.count().over(by_customer))
    else:
        first = _days(pd.Timestamp(window_start)) if window_start is not None else run(tx.d.min())
        last = _days(pd.Timestamp(as_of)) if as_of is not None else run(tx.d.max())
        if first is None or pd.isna(first):
            raise _no_repeat()
        span = float(int(last) - int(first) + 1)
        g = g.mutate(wt=span / (span - g.gap.cast("float64")))
        g = g.mutate(w=g.wt / g.wt.sum().over(by_customer))
    total = g.w.sum().over(ibis.window())
    g = g.mutate(
        cum=g.w.sum().over(ibis.window(order_by=[g.gap, g.customer_id, g.d], rows=(None, 0))) / total
    )
    value = run(g.filter(g.cum >= quantile - 1e-12).gap.min())
    if value is None or pd.isna(value):
        raise _no_repeat()
    return float(value)


def _weighted_km_quantile(
    times: np.ndarray, events: np.ndarray, weights: np.ndarray, quantile: float
) -> float:
    """Weighted Kaplan-Meier: the first time where ``1 - S(t) >= quantile``; NaN when it never gets there."""
    df = pd.DataFrame({"t": times, "e": events * weights, "w": weights}).groupby("t").sum().sort_index()
    at_risk = df["w"].to_numpy()[::-1].cumsum()[::-1]
    surv = np.cumprod(1 - df["e"].to_numpy() / at_risk)
    hit = np.nonzero(1 - surv >= quantile - 1e-12)[0]
    return float(df.index[hit[0]]) if len(hit) else float("nan")


def horizon_pandas(
    transactions: pd.DataFrame,
    quantile: float = 0.95,
    method: str = "window",
    window_start=None,
    as_of=None,
) -> float:
    """The separation horizon H: a quantile of repeat customers' gaps, each customer weighing the same (reference).

    Parameters
    ----------
    transactions : DataFrame
        ``customer_id, date, amount``; purchases are the positive amounts, up to ``as_of``.
    quantile : float
        0.95 by default: 95 % of a customer's gaps between purchases are at most H.
    method : {"window", "observed", "censored"}
        ``"window"`` (default): each completed gap ``g`` weighs ``(T + 1) / (T + 1 - g)``, the inverse of the
        share of the ``T + 1`` days of the window where a gap of that length can start and still end by
        ``as_of``; each customer's weights are then scaled to sum to one. ``"observed"``: the plain quantile of the
        completed gaps (a customer's ``n`` gaps weigh ``1 / n`` each): a short window cannot show long gaps, so
        it is too low. ``"censored"``: weighted Kaplan-Meier with each repeat customer's open last gap as a
        censored observation: customers who left never close their gap, so it is far too high, often undefined.
    window_start, as_of : date-like, optional
        The data window; default the first and last transaction date.

    Returns
    -------
    float
        H in days.

    Notes
    -----
    Simulation (tests/test_horizon.py, docs/horizon.md): gamma or exponential gaps, separation at a known
    hazard, none or 25 % of those who left coming back after 180+ days, windows of 12, 18 and 36 months. Mean
    absolute relative error against the true 0.95 quantile of the gap distribution of customers who stay:
    ``window`` 1.7 %, 3.0 %, 3.6 % (12, 18, 36 months), 2.8 % over all; ``observed`` 7.2 %, 4.3 %, 3.3 %, 4.9 %
    over all; ``censored`` 75 % to 164 % too high, or undefined. ``window`` is kept: closest over all, and by
    far in short windows; with many returns after a lapse and a long window it is slightly high (it restores
    the weight of long return gaps that a window hides).
    """
    _check_method(method)
    tx = transactions
    p = tx[tx["amount"] > 0].sort_values(["customer_id", "date", "amount"], kind="stable")
    d = _days(p["date"])
    gap = pd.Series(d, index=p.index).groupby(p["customer_id"].to_numpy()).diff().dropna()
    ids = p.loc[gap.index, "customer_id"]
    if gap.empty:
        raise _no_repeat()
    n_gaps = ids.map(ids.value_counts()).to_numpy(dtype=float)
    g = gap.to_numpy()
    start = _days(pd.Timestamp(window_start)) if window_start is not None else int(_days(tx["date"]).min())
    end = _days(pd.Timestamp(as_of)) if as_of is not None else int(_days(tx["date"]).max())
    if method == "censored":
        last = pd.Series(d, index=p.index).groupby(p["customer_id"].to_numpy()).max()
        repeat = pd.Series(n_gaps, index=ids.to_numpy()).groupby(level=0).first()
        open_gap = (end - last.reindex(repeat.index)).to_numpy(dtype=float)
        times = np.concatenate([g, open_gap])
        events = np.concatenate([np.ones(len(g)), np.zeros(len(open_gap))])
        weights = np.concatenate([1 / (n_gaps + 1), 1 / (repeat.to_numpy() + 1)])
        return _weighted_km_quantile(times, events, weights, quantile)
    if method == "observed":
        w = 1.0 / n_gaps
    else:
        span = float(end - start + 1)
        wt = span / (span - g)
        w = wt / pd.Series(wt).groupby(ids.to_numpy()).transform("sum").to_numpy()
    order = np.lexsort((d[p.index.get_indexer(gap.index)], ids.to_numpy(), g))
    cum = np.cumsum(w[order]) / w.sum()
    return float(g[order][np.argmax(cum >= quantile - 1e-12)])


# --- engine -----------------------------------------------------------------------------------------------


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
    days = ibis.memtable(_calendar(first_day, snapshots))
    snaps = ibis.memtable(
        pd.DataFrame({"k": np.arange(n_snap, dtype=np.int64), "s": _days(pd.DatetimeIndex(snapshots))})
    )
    has_cu, has_it = tables.get("customers") is not None, tables.get("interactions") is not None

    tx = _with_days(_table(con, tables["transactions"], ["customer_id", "date", "amount", "category"]))
    tx = tx.join(days, tx.d == days.d).select(
        tx.customer_id, tx.d, tx.amount, tx.category, *[days[c] for c in _CAL]
    )
    tx = tx.filter(tx.k < n_snap)
    p = _purchases(tx)
    long_gap = float(return_gap) * float(horizon_days)

    # First snapshot of each customer: the first on or after its sign-up or first transaction.
    firsts = tx.group_by("customer_id").aggregate(fk=tx.k.min(), first_tx=tx.d.min())
    if has_cu:
        cu = _table(
            con,
            tables["customers"],
            ["customer_id", "signup_date", "contract_start", "contract_end", "loyalty_member"],
        )
        cu = cu.mutate(
            signup=cu.signup_date.cast("date").epoch_days().cast("int64"),
            cstart=cu.contract_start.cast("date").epoch_days().cast("int64"),
            cend=cu.contract_end.cast("date").epoch_days().cast("int64"),
            loyal=cu.loyalty_member.cast("boolean").fill_null(False),
        )
        sk = cu.filter(cu.signup.notnull()).join(days, cu.signup == days.d)
        sk = sk.filter(sk.k < n_snap).select("customer_id", fk=sk.k, first_tx=ibis.null("int64"))
        firsts = (
            firsts.union(sk)
            .group_by("customer_id")
            .aggregate(fk=ibis._.fk.min(), first_tx=ibis._.first_tx.min())
        )

    # Events, all with the same columns (zero / null where they do not apply), aggregated once.
    sums = ["n_p", "s_p", "g_sum", "g_sq", "s_all", "n_cat", "n_compl", "n_ref"]
    sums += [f"w{m}_{c}" for m in WINDOWS for c in _WINDOWED[m]]
    maxes = ["last_p", "last_ret", "nps_key"]

    def event(t, k, **values):
        row = {c: values.get(c, ibis.literal(0, "float64")) for c in sums}
        row |= {c: values.get(c, ibis.null("int64")) for c in maxes}
        return t.select(
            customer_id=t.customer_id,
            k=k,
            **{c: v.cast("float64") if c in sums else v.cast("int64") for c, v in row.items()},
        )

    one = ibis.literal(1.0)
    purchase_windows = [m for m in WINDOWS if "np" in _WINDOWED[m]]
    # A return (win-back): a purchase after a long gap, or the first purchase after the contract ended.
    returned = (p.gap > long_gap).fill_null(False)
    pr = p
    if has_cu:
        pr = _dedup(p.left_join(cu.select("customer_id", "cend"), "customer_id"))
        after_end = (pr.d > pr.cend) & (pr.gap.isnull() | (pr.d - pr.gap <= pr.cend))
        returned = (pr.gap > long_gap).fill_null(False) | after_end.fill_null(False)
    events = [
        event(
            pr,
            pr.k,
            n_p=one,
            s_p=pr.amount,
            g_sum=pr.gap.fill_null(0),
            g_sq=(pr.gap * pr.gap).fill_null(0),
            last_p=pr.d,
            last_ret=returned.ifelse(pr.d, ibis.null("int64")),
            **{f"w{m}_np": one for m in purchase_windows},
            **{f"w{m}_sp": p.amount for m in purchase_windows},
        ),
        event(tx, tx.k, s_all=tx.amount),
    ]
    # Leaving each window: the same purchase with the opposite sign, at the snapshot where it drops out.
    events += [event(p, p[f"x{m}"], **{f"w{m}_np": -one, f"w{m}_sp": -p.amount}) for m in purchase_windows]
    cats = p.filter(p.category.notnull()).group_by(["customer_id", "category"]).aggregate(k=p.k.min())
    events.append(event(cats, cats.k, n_cat=one))
    if has_it:
        it = _with_days(
            _table(con, tables["interactions"], ["customer_id", "date", "type", "score", "resolved"])
        )
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
        events.append(
            event(
                it,
                enter,
                n_compl=compl,
                n_ref=it.type.isin(REFERRAL_TYPES).ifelse(1.0, 0.0),
                nps_key=is_nps.ifelse(key, ibis.null("int64")),
                **{f"{w}_co": compl, f"{w}_op": open_c},
            )
        )
        events.append(event(it, leave, **{f"{w}_co": -compl, f"{w}_op": -open_c}))
    ev = events[0]
    for e in events[1:]:
        ev = ev.union(e)
    ev = ev.filter(ev.k < n_snap)
    agg = ev.group_by(["customer_id", "k"]).aggregate(
        **{c: ev[c].sum() for c in sums}, **{c: ev[c].max() for c in maxes}
    )

    grid = firsts.cross_join(snaps).filter(lambda t: t.k >= t.fk)
    grid = _dedup(grid.left_join(agg, ["customer_id", "k"]))
    cw = ibis.cumulative_window(group_by="customer_id", order_by="k")
    f = grid.select(
        "customer_id",
        "k",
        "s",
        "first_tx",
        **{f"c_{c}": grid[c].fill_null(0).sum().over(cw) for c in sums},
        **{f"c_{c}": grid[c].max().over(cw) for c in maxes},
    )
    first_known = f.first_tx
    if has_cu:
        f = _dedup(f.left_join(cu.select("customer_id", "signup", "cstart", "cend", "loyal"), "customer_id"))
        first_known = ibis.coalesce(ibis.least(f.first_tx, f.signup), f.first_tx, f.signup)

    def rnd(x):
        # Running sums of amounts carry float noise: rounded to 6 decimals (cents are exact).
        return x.round(6)

    n = f.c_n_p.round().cast("int64")
    n12, n6 = f["c_w12_np"].round(), f["c_w6_np"].round()
    s6 = rnd(f["c_w6_sp"])
    n_prev, s_prev = n12 - n6, rnd(f["c_w12_sp"] - f["c_w6_sp"])
    basket6 = (n6 > 0).ifelse(s6 / n6, ibis.null("float64"))
    basket_prev = (n_prev > 0).ifelse(s_prev / n_prev, ibis.null("float64"))
    n_gaps = n - 1
    gap_mean = (n_gaps > 0).ifelse(f.c_g_sum / n_gaps.cast("float64"), ibis.null("float64"))
    gap_var = (n_gaps > 0).ifelse(
        f.c_g_sq / n_gaps.cast("float64") - gap_mean * gap_mean, ibis.null("float64")
    )
    recency = (f.s - f.c_last_p).cast("float64")
    n_cat = f.c_n_cat.round().cast("int64")
    if has_it:
        nps = (f.c_nps_key % 1000).cast("float64") / 10.0
        w = f"c_w{COMPLAINT_WINDOW}"
        compl, open_c, refs = f[f"{w}_co"].round(), f[f"{w}_op"].round(), f.c_n_ref.round()
    else:
        nps = ibis.null("float64")
        compl = open_c = refs = ibis.literal(0, "int64")
    if has_cu:
        if loyalty_from is not None:
            f = f.mutate(loyal=f.loyal & (f.s >= _days(pd.Timestamp(loyalty_from).normalize())))
        running = f.cstart.notnull() & (f.cstart <= f.s) & (f.cend.isnull() | (f.cend > f.s))
        contract_active = running
        loyal_only = f.loyal & f.cstart.isnull()
        committed = running | loyal_only
        since = running.ifelse(
            f.cstart, loyal_only.ifelse(ibis.coalesce(f.signup, first_known), ibis.null("int64"))
        )
        committed_days = (f.s - since).cast("float64")
        ended = f.cend.notnull() & (f.cend <= f.s)
        bought_after_end = ended & (f.c_last_p > f.cend)
        loyal = f.loyal
    else:
        committed = ended = loyal = contract_active = bought_after_end = ibis.literal(False)
        committed_days = ibis.null("float64")
    basket_trend = (basket_prev > 0).ifelse(basket6 / basket_prev - 1.0, ibis.null("float64"))
    promoter = (nps >= 9).fill_null(False)
    out = f.select(
        customer_id=f.customer_id,
        snapshot_day=f.s,
        recency_days=recency,
        n_purchases=n,
        monetary=rnd(f.c_s_all),
        avg_basket=(n > 0).ifelse(rnd(f.c_s_p) / n.cast("float64"), ibis.null("float64")),
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
        committed=committed.fill_null(False),
        contract_active=contract_active.fill_null(False),
        committed_days=committed_days,
        contract_ended=ended.fill_null(False),
        bought_after_contract_end=bought_after_end.fill_null(False),
        loyalty_member=loyal.fill_null(False),
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


# --- pandas reference -----------------------------------------------------------------------------------------


def features_pandas(
    tables: dict[str, pd.DataFrame],
    snapshots: Iterable[pd.Timestamp],
    horizon_days: float,
    return_gap: float = RETURN_GAP,
    loyalty_from=None,
) -> pd.DataFrame:
    """The same features, computed plainly one snapshot at a time (small data: tests and reference).

    ``loyalty_from`` as in :func:`features_engine`.
    """
    tables = check_tables(tables)
    tx = tables["transactions"]
    cu, it = tables.get("customers"), tables.get("interactions")
    p = tx[tx["amount"] > 0].sort_values(["customer_id", "date", "amount"], kind="stable").copy()
    p["gap"] = p.groupby("customer_id")["date"].diff().dt.days
    p["returned"] = p["gap"] > return_gap * horizon_days
    if cu is not None:
        cend = p["customer_id"].map(cu.set_index("customer_id")["contract_end"])
        prev = p.groupby("customer_id")["date"].shift()
        p["returned"] |= (p["date"] > cend) & (prev.isna() | (prev <= cend))
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
        gsum = g["gap"].sum().reindex(ids, fill_value=0.0)
        gsq = (ps["gap"] ** 2).groupby(ps["customer_id"]).sum().reindex(ids, fill_value=0.0)
        ret = ps[ps["returned"]].groupby("customer_id")["date"].max().reindex(ids)
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
        if cu is not None:
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
            since = c["contract_start"].where(
                running, c["signup_date"].fillna(first.reindex(ids)).where(loyal_only)
            )
            ended = c["contract_end"].notna() & (c["contract_end"] <= s)
            f["committed"] = running | loyal_only
            f["contract_active"] = running
            f["committed_days"] = (s - since).dt.days.astype("float64")
            f["contract_ended"] = ended
            f["bought_after_contract_end"] = ended & (last > c["contract_end"]).fillna(False)
            f["loyalty_member"] = loyal
        else:
            f["committed"], f["committed_days"], f["contract_ended"], f["loyalty_member"] = (
                False,
                np.nan,
                False,
                False,
            )
            f["contract_active"] = False
            f["bought_after_contract_end"] = False
        if it is not None:
            i = it[it["date"] <= s]
            nps_rows = i[(i["type"] == "nps") & i["score"].notna()].sort_values(
                ["customer_id", "date", "score"]
            )
            nps = nps_rows.groupby("customer_id")["score"].last().reindex(ids)
            comp = in_window(i[i["type"] == "complaint"], w[COMPLAINT_WINDOW])
            f["nps_last"] = nps.round(1)
            f["complaints_90d"] = comp.groupby("customer_id").size().reindex(ids, fill_value=0)
            f["open_complaints"] = (
                comp[comp["resolved"].eq(False).fillna(False).astype(bool)]
                .groupby("customer_id")
                .size()
                .reindex(ids, fill_value=0)
            )
            f["referrals"] = (
                i[i["type"].isin(REFERRAL_TYPES)].groupby("customer_id").size().reindex(ids, fill_value=0)
            )
        else:
            f["nps_last"], f["complaints_90d"], f["open_complaints"], f["referrals"] = np.nan, 0, 0, 0
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


def horizon_lines(tables: dict, as_of: pd.Timestamp, horizon_days: float | None, lang: str) -> list[str]:
    """The separation horizon H the stages will use, the data window, and the too-short-window warning if any.

    H is ``horizon_days`` when set (``analysis.horizon_days``), else derived as :class:`StageModel` does
    (window-corrected 0.95 quantile of repeat gaps).
    """
    tx = tables.get("transactions")
    if tx is None or tx.empty:
        return []
    tx = tx[tx["date"] <= as_of]
    start = tx["date"].min()
    window = f"data window {start.date()} .. {as_of.date()} ({(as_of - start).days} days)"
    if horizon_days:
        h, source = float(horizon_days), "analysis.horizon_days"
    else:
        try:
            h = horizon_pandas(tx, 0.95, "window", window_start=start, as_of=as_of)
        except AnalysisError as exc:
            return [f"Separation horizon H: not derivable ({exc}); {window}."]
        source = "q0.95 of repeat gaps, window-corrected"
    lines = [f"Separation horizon H: {h:.0f} days ({source}); {window}."]
    message = horizon_window_check(start, as_of, h, lang)
    return [*lines, message] if message else lines
