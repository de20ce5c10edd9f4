"""Features per customer and snapshot, computed in the query engine through Ibis (DuckDB by default).

How it scales: dates become day numbers; every event (purchase, transaction, first purchase in a category,
interaction) is mapped to the first snapshot where it counts and, for windowed features (last 90 days, 6 and 12
months), also to the snapshot where it leaves the window, with the opposite sign. Events are aggregated once
per customer and snapshot, joined to the customer x snapshot grid (from the customer's first snapshot), and one
pass of running sums / maxima gives every feature at every snapshot: one scan of each table, no scan per
snapshot, no self-join. The features of a single snapshot skip the grid: the events up to it are summed per
customer (``features_builder(...)(at=k)``). :func:`features_pandas` computes the same definitions plainly,
snapshot by snapshot: the tests require all of them to agree.

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
#: The features read from the amounts: without amounts (``amounts: false``: every purchase counted as 1), they
#: say nothing and are not shown (explanations, segmentation).
MONEY_FEATURES = ("monetary", "avg_basket", "spend_6m", "spend_prev_6m", "spend_trend", "basket_trend")
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


def features_engine(
    tables: dict,
    snapshots: list[pd.Timestamp],
    horizon_days: float,
    backend=None,
    return_gap: float = RETURN_GAP,
    loyalty_from=None,
    columns=None,
) -> tuple[ibis.Table, object]:
    """The feature table as an Ibis expression, and the backend (:mod:`custrel_lib.stages.features_engine`);
    ``columns``: only those feature columns."""
    from custrel_lib.stages import features_engine as engine

    return engine.features_engine(tables, snapshots, horizon_days, backend, return_gap, loyalty_from, columns)


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
