"""Duration tables: one row per relationship episode, ready for survival analysis.

Definitions (see ``DESIGN.md``, "Churn (séparation) definitions"):

* **Non-contractual** relationships are read from purchases (transactions with a positive amount; refunds
  are not purchases). With ``H`` the separation horizon in days, a gap of *more than* ``H`` days between two
  purchases is a separation: the separation date is the last purchase before the gap, and the next purchase
  starts a new episode (a win-back, ``episode`` 2, 3, ...). The last episode of a customer is a separation
  when its last purchase is more than ``H`` days before ``as_of``; otherwise it is right-censored at
  ``as_of - H``. A separation dated at ``L`` is only recorded once ``H`` days without purchase have passed,
  so a separation after ``as_of - H`` can never be seen: counting the last ``H`` days as time at risk would
  bias survival upwards (a simulated median of 184 days came out at 217 with ``H = 120``). Open episodes
  that started after ``as_of - H`` have no observable time at risk yet and are left out (counted as
  ``too_recent``); they are scored by :mod:`custrel_lib.survival.risk` instead.
* **Contractual** relationships run from ``contract_start`` to ``contract_end`` (an event, with its
  ``end_reason``) or are right-censored at ``as_of`` when the contract is still running.
* ``mode="auto"`` uses the contractual definition for customers with a ``contract_start`` on or before
  ``as_of`` and the non-contractual one for everybody else; the ``definition`` column says which.

Left truncation (delayed entry). The data window starts at ``window_start`` (default: the first
transaction date). A relationship may have begun before the window; such customers were observed only
because they were still there when the window opened, so treating them as new would over-represent long
relationships (length bias). The rule used here:

* contractual: a contract that started before ``window_start`` enters at
  ``entry = window_start - contract_start``; a contract that ended before ``window_start`` is outside the
  window and is dropped (with a warning);
* non-contractual, first episode of a customer whose first purchase in the data falls within the first
  ``H`` days of the window (it may have been buying before the window). Whether the data holds each
  customer's whole history is the user's knowledge, stated by ``origin``:

  - ``origin="first_purchase"``: the data is a cohort (every customer's first purchase is in it); the first
    purchase in the data starts the first episode, nobody is excluded;
  - ``origin="signup"`` (or ``"auto"`` when the ``customers`` table has ``signup_date``): a sign-up on or
    after ``window_start`` proves the customer is new, so the first purchase starts the episode; a sign-up
    (or contract start) before ``window_start`` is the earliest possible origin: ``start`` is that date and
    ``entry = window_start - start``; customers without a sign-up date follow the cautious rule below;
  - otherwise (``"auto"`` with no sign-up dates) the origin is unknown: with ``unknown_origin="exclude"``
    (default) the episode is left out (counted as ``unknown_origin``; later episodes of the customer are
    kept, their start is observed); with ``unknown_origin="window_start"`` it is kept with
    ``start = window_start`` and ``entry = 0``, so its duration is a lower bound (flagged
    ``origin_known = False``).

Every episode left out is counted by reason in ``durations.attrs["exclusions"]`` (see
:func:`exclusion_counts`), with the number of customers concerned, so a report can say what each choice
excludes.

Durations are measured from ``start``, so ``entry < duration`` always holds for kept rows (lifelines'
convention: a row is in the risk set from ``entry`` to ``duration``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from custrel_lib.exceptions import AnalysisError, ConfigError, MissingColumnError
from custrel_lib.survival.episodes import (
    EpisodesExcludedError,
    add_customer_covariates,
    add_purchase_counts,
    add_voice,
    contract_episodes,
    landmark_stage,
    purchase_episodes,
    window_sum,
)

UNIT_DAYS = {"days": 1.0, "weeks": 7.0, "months": 365.25 / 12}
MODES = ("auto", "contractual", "non_contractual")
UNKNOWN_ORIGIN = ("exclude", "window_start")
ORIGINS = ("auto", "first_purchase", "signup")
# Why an episode is left out of the duration table (keys of ``attrs["exclusions"]``).
EXCLUSION_REASONS = ("unknown_origin", "too_recent", "contract_before_window")

DURATION_COLUMNS = [
    "customer_id",
    "episode",
    "definition",
    "start",
    "end",
    "duration",
    "event",
    "end_reason",
    "entry",
    "origin_known",
    "cohort",
    "n_purchases",
    "last_purchase",
    "acquisition_channel",
    "region",
    "contract",
    "loyalty",
    "landmark_stage",
    "nps",
    "complaints",
    "spend_first",
    "recent_spend",
]


def unit_days(unit: str) -> float:
    """Number of days in one ``unit`` (``days``, ``weeks`` or ``months`` of 365.25/12 days)."""
    if unit not in UNIT_DAYS:
        raise ConfigError(f"Unknown time unit {unit!r}: use one of {', '.join(UNIT_DAYS)}.")
    return UNIT_DAYS[unit]


def require_columns(df: pd.DataFrame, table: str, columns: list[str]) -> None:
    """Raise :class:`MissingColumnError` naming the first required column missing from ``df``."""
    for col in columns:
        if col not in df.columns:
            raise MissingColumnError(table, col, list(df.columns))


def _get_table(tables: Mapping | object, name: str) -> pd.DataFrame | None:
    if isinstance(tables, Mapping):
        table = tables.get(name)
    else:
        table = getattr(tables, name, None)
    if table is not None and not isinstance(table, pd.DataFrame):
        raise AnalysisError(f"Table {name!r} must be a pandas DataFrame, got {type(table).__name__}.")
    return table


def build_durations(
    tables: Mapping[str, pd.DataFrame],
    as_of: str | pd.Timestamp,
    horizon_days: float,
    mode: str = "auto",
    window_start: str | pd.Timestamp | None = None,
    unit: str = "days",
    landmark_days: float | None = None,
    history: pd.DataFrame | None = None,
    unknown_origin: str = "exclude",
    origin: str = "auto",
) -> pd.DataFrame:
    """Build the duration table: one row per relationship episode.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Canonical tables (``transactions`` required; ``customers`` and ``interactions`` optional), as
        returned by ``custrel_lib.io.load.load_tables``. An object with these attributes is accepted too.
    as_of : str or Timestamp
        End of the observation window; open relationships are censored there.
    horizon_days : float
        Separation horizon ``H``: no purchase for more than ``H`` days is a separation.
    mode : {"auto", "contractual", "non_contractual"}
        Which separation definition to use (see the module docstring).
    window_start : str or Timestamp, optional
        First date of the data window; default the first transaction date.
    unit : {"days", "weeks", "months"}
        Unit of ``duration`` and ``entry``.
    landmark_days : float, optional
        Length of the "first period" used for the early covariates (NPS, complaints, spend) and the
        landmark date ``start + landmark_days`` at which ``landmark_stage`` is read from ``history``.
        Default ``horizon_days``.
    history : DataFrame, optional
        Stage history (``customer_id``, ``snapshot``, ``stage``, ...). ``landmark_stage`` is the stage at
        the last snapshot in ``[start, start + landmark_days]``, and is missing when the episode ended
        (or was censored) before the landmark.
    unknown_origin : {"exclude", "window_start"}
        What to do with first episodes that probably began before the window but whose origin is unknown.
    origin : {"auto", "first_purchase", "signup"}
        What starts a customer's first episode (see the module docstring): ``first_purchase`` declares that
        the data holds each customer's whole history.

    Returns
    -------
    DataFrame
        Columns ``DURATION_COLUMNS``: ``customer_id``, ``episode``, ``definition``, ``start``, ``end``
        (separation or censoring date), ``duration`` and ``entry`` (in ``unit``), ``event`` (1 separated,
        0 censored), ``end_reason`` (``lapsed`` for a non-contractual separation, the contract's reason
        otherwise), ``origin_known``, ``cohort`` (start month, ``YYYY-MM``), ``n_purchases``,
        ``last_purchase``, and covariates ``acquisition_channel``, ``region``, ``contract``, ``loyalty``,
        ``landmark_stage``, ``nps`` (mean score in the first period), ``complaints`` (count in the first
        period), ``spend_first`` (spend in the first period) and ``recent_spend`` (spend in the last ``H``
        days before ``as_of``, for value at risk). ``attrs`` holds ``exclusions`` (episodes left out by
        reason), ``customers_excluded`` (customers with no episode left, by reason), ``customers`` (customers
        with a purchase or a contract), ``censor_date`` (``as_of - H``, where open non-contractual episodes
        are censored), ``origin`` and ``horizon_days``.

    Raises
    ------
    MissingColumnError
        A required column is missing.
    AnalysisError
        No usable episode, or inconsistent inputs.
    """
    _check_settings(mode, origin, unknown_origin, horizon_days)
    days_per_unit = unit_days(unit)
    as_of = pd.Timestamp(as_of)
    horizon = pd.Timedelta(days=float(horizon_days))
    landmark = pd.Timedelta(days=float(landmark_days if landmark_days is not None else horizon_days))
    tx, customers, window_start = _inputs(tables, as_of, mode, window_start)
    ep, dropped = _episodes(tx, customers, mode, as_of, window_start, horizon, unknown_origin, origin)
    ep["duration"] = (ep["end"] - ep["start"]).dt.total_seconds() / 86400.0 / days_per_unit
    ep["entry"] = (ep["entry_date"] - ep["start"]).dt.total_seconds() / 86400.0 / days_per_unit
    ep["cohort"] = ep["start"].dt.strftime("%Y-%m")
    ep = _covariates(ep, tables, tx, customers, history, as_of, horizon, landmark)
    ep = ep.sort_values(["customer_id", "episode"], kind="stable").reset_index(drop=True)
    ep = ep[DURATION_COLUMNS]
    ep.attrs = _attrs(ep, dropped, as_of, horizon, origin, horizon_days, window_start)
    return ep


def _check_settings(mode: str, origin: str, unknown_origin: str, horizon_days) -> None:
    if mode not in MODES:
        raise ConfigError(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}.")
    if origin not in ORIGINS:
        raise ConfigError(f"Unknown origin {origin!r}: use one of {', '.join(ORIGINS)}.")
    if unknown_origin not in UNKNOWN_ORIGIN:
        raise ConfigError(
            f"Unknown unknown_origin {unknown_origin!r}: use one of {', '.join(UNKNOWN_ORIGIN)}."
        )
    if horizon_days is None or not np.isfinite(horizon_days) or horizon_days <= 0:
        raise ConfigError(f"horizon_days must be a positive number of days, got {horizon_days!r}.")


def _inputs(tables, as_of: pd.Timestamp, mode: str, window_start) -> tuple:
    """Transactions up to ``as_of`` and customers, both checked and typed, and the window start."""
    tx = _get_table(tables, "transactions")
    if tx is None:
        raise AnalysisError("The 'transactions' table is required to build durations.")
    require_columns(tx, "transactions", ["customer_id", "date", "amount"])
    tx = tx.loc[tx["date"] <= as_of, ["customer_id", "date", "amount"]].copy()
    tx["customer_id"] = tx["customer_id"].astype("string")
    tx["date"] = pd.to_datetime(tx["date"]).dt.normalize()

    customers = _get_table(tables, "customers")
    if customers is not None:
        require_columns(customers, "customers", ["customer_id"])
        customers = customers.copy()
        customers["customer_id"] = customers["customer_id"].astype("string")
        if customers["customer_id"].duplicated().any():
            raise AnalysisError("Table 'customers': customer_id must be unique.")
        for col in ("signup_date", "contract_start", "contract_end"):
            if col in customers:
                customers[col] = pd.to_datetime(customers[col])
    if mode == "contractual" and (customers is None or "contract_start" not in customers):
        raise MissingColumnError("customers", "contract_start", [] if customers is None else list(customers))

    if window_start is None:
        if tx.empty:
            raise AnalysisError("No transaction on or before as_of: cannot derive the window start.")
        window_start = tx["date"].min()
    window_start = pd.Timestamp(window_start)
    if window_start >= as_of:
        raise AnalysisError(f"window_start ({window_start.date()}) must be before as_of ({as_of.date()}).")
    return tx, customers, window_start


def _episodes(tx, customers, mode, as_of, window_start, horizon, unknown_origin, origin) -> tuple:
    """Every episode kept (contract ones, then purchase ones) and the ``customer_id, reason`` left out."""
    contract_ids: set[str] = set()
    if customers is not None and "contract_start" in customers and mode != "non_contractual":
        has_contract = customers["contract_start"].notna() & (customers["contract_start"] <= as_of)
        contract_ids = set(customers.loc[has_contract, "customer_id"])

    parts, dropped = [], []
    if mode != "non_contractual" and contract_ids:
        kept, out = contract_episodes(customers, contract_ids, as_of, window_start)
        parts.append(kept)
        dropped.append(out)
    if mode != "contractual":
        purchases = tx.loc[(tx["amount"] > 0) & ~tx["customer_id"].isin(contract_ids)]
        kept, out = purchase_episodes(
            purchases, customers, as_of, window_start, horizon, unknown_origin, origin
        )
        parts.append(kept)
        dropped.append(out)
    dropped = pd.concat(
        [d for d in dropped if not d.empty] or [pd.DataFrame(columns=["customer_id", "reason"])]
    )
    parts = [p for p in parts if not p.empty]
    if not parts and not dropped.empty:
        raise EpisodesExcludedError(dropped, float(horizon.days))
    if not parts:
        raise AnalysisError(
            "No relationship episode could be built: no purchase (positive amount) and no contract "
            f"on or before as_of ({as_of.date()})."
        )
    return pd.concat(parts, ignore_index=True), dropped


def _covariates(ep, tables, tx, customers, history, as_of, horizon, landmark) -> pd.DataFrame:
    """Purchase counts, customer attributes, first-period voice and spend, and the landmark stage."""
    ep = add_purchase_counts(ep, tx, as_of, horizon)
    ep = add_customer_covariates(ep, customers, as_of)
    interactions = _get_table(tables, "interactions")
    if interactions is not None and not interactions.empty:
        require_columns(interactions, "interactions", ["customer_id", "date", "type"])
    ep = add_voice(ep, interactions, landmark)
    ep["spend_first"] = window_sum(ep, tx, ep["start"], ep["start"] + landmark)
    if history is not None:
        require_columns(history, "stage history", ["customer_id", "snapshot", "stage"])
    ep["landmark_stage"] = landmark_stage(ep, history, landmark)
    return ep


def _attrs(ep, dropped, as_of, horizon, origin, horizon_days, window_start) -> dict:
    """What :func:`build_durations` records in ``attrs``: exclusions by reason, counts and settings."""
    seen = set(ep["customer_id"])
    lost = dropped.loc[~dropped["customer_id"].isin(seen)].drop_duplicates("customer_id")
    return {
        "exclusions": {r: int((dropped["reason"] == r).sum()) for r in EXCLUSION_REASONS},
        # Customers left with no episode at all, by the reason of (the first of) their exclusions.
        "customers_excluded": {r: int((lost["reason"] == r).sum()) for r in EXCLUSION_REASONS},
        "customers": len(seen | set(dropped["customer_id"])),
        "episodes": len(ep),
        "censor_date": as_of - horizon,
        "origin": origin,
        "horizon_days": float(horizon_days),
        "window_start": window_start,
        "as_of": as_of,
    }


def exclusion_counts(durations: pd.DataFrame) -> dict:
    """What :func:`build_durations` left out: ``{"episodes": {reason: n}, "customers": {reason: n}, ...}``.

    ``customers`` counts the customers left with no episode at all because of each reason; ``share`` is
    the share of all customers (with a purchase or a contract) left with no episode.
    """
    a = durations.attrs
    if "exclusions" not in a:
        raise AnalysisError("This duration table carries no exclusion counts (built by build_durations?).")
    total = max(int(a["customers"]), 1)
    lost = sum(a["customers_excluded"].values())
    return {
        "episodes_total": int(a["episodes"]) + sum(a["exclusions"].values()),
        "episodes_kept": int(a["episodes"]),
        "episodes": dict(a["exclusions"]),
        "customers": dict(a["customers_excluded"]),
        "customers_total": int(a["customers"]),
        "share_customers_excluded": lost / total,
    }


def landmark_table(
    durations: pd.DataFrame,
    landmark: float,
    duration_col: str = "duration",
    entry_col: str | None = "entry",
    restart: bool = True,
) -> pd.DataFrame:
    """Keep the episodes still running at ``landmark`` and restart their clock there.

    Landmark analysis avoids the immortal-time bias of grouping by something only known later (the
    stage reached after ``landmark_days``): only episodes with ``duration >= landmark`` are kept, and
    ``duration`` (and ``entry``) become the time since the landmark.

    Parameters
    ----------
    durations : DataFrame
        A duration table (``build_durations``).
    landmark : float
        Landmark time, in the unit of ``duration_col``.
    duration_col, entry_col : str
        Column names; ``entry_col`` may be None or absent.
    restart : bool
        ``True``: the clock restarts at the landmark (for regression on covariates measured before it).
        ``False``: time still runs from the start of the relationship, and every kept episode enters the
        risk set at the landmark (``entry = max(entry, landmark)``): curves by landmark stage then read as
        "survival since the start, given the relationship reached the landmark".

    Returns
    -------
    DataFrame
        The kept rows, with shifted ``duration`` (and ``entry``, floored at 0), or with delayed entry.
    """
    if landmark < 0:
        raise AnalysisError(f"landmark must be >= 0, got {landmark}.")
    require_columns(durations, "durations", [duration_col])
    out = durations.loc[durations[duration_col] >= landmark].copy()
    if not restart:
        entry = entry_col or "entry"
        out[entry] = np.maximum(out.get(entry, 0.0), float(landmark))
        return out
    out[duration_col] = out[duration_col] - landmark
    if entry_col and entry_col in out:
        out[entry_col] = (out[entry_col] - landmark).clip(lower=0)
    return out
