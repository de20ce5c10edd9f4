"""Shared pieces of the journeys package: pseudo-stages, cadences, input checks and the engine connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import pandas as pd

from custrel_lib.exceptions import AnalysisError, ConfigError, DataContractError
from custrel_lib.i18n import check_lang, tr
from custrel_lib.io.contract import require_columns
from custrel_lib.stages import typology

ENTRY = "entree"
"""Pseudo-stage of customers absent at ``t`` and present at ``t + 1`` (source of entry flows)."""
EXIT = "sortie"
"""Pseudo-stage of customers present at ``t`` and absent at ``t + 1`` (target of exit flows)."""
OTHER = "autres"
"""Pseudo-stage grouping small nodes in a Sankey diagram."""

PSEUDO_LABELS = {
    ENTRY: {"fr": "Entrée", "en": "Entry"},
    EXIT: {"fr": "Sortie", "en": "Exit"},
    OTHER: {"fr": "Autres", "en": "Other"},
}
PSEUDO_COLORS = {ENTRY: "#BDBDBD", EXIT: "#757575", OTHER: "#E0E0E0"}

CADENCES = ("month", "quarter", "year")
_TRUNCATE_UNIT = {"month": "M", "quarter": "Q", "year": "Y"}
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_OFFSETS = {"month": pd.offsets.MonthEnd, "quarter": pd.offsets.QuarterEnd, "year": pd.offsets.YearEnd}

HISTORY_COLUMNS = ("customer_id", "snapshot", "stage")

TEXTS = {
    "quarter": {"fr": "T{q} {y}", "en": "Q{q} {y}"},
}
_MONTH_ABBR = {
    "fr": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}


def check_cadence(cadence: str) -> str:
    """Return ``cadence`` if it is one of :data:`CADENCES`, else raise :class:`ConfigError`."""
    if cadence not in CADENCES:
        raise ConfigError(f"Unknown cadence {cadence!r}: use one of {', '.join(CADENCES)}.")
    return cadence


def period_end(dates: pd.Series | pd.DatetimeIndex, cadence: str) -> pd.Series:
    """End date (midnight of the last day) of the ``cadence`` period containing each date."""
    check_cadence(cadence)
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[cadence]
    s = pd.Series(pd.to_datetime(dates))
    return s.dt.to_period(freq).dt.end_time.dt.normalize().astype("datetime64[ns]")


def next_period_ends(last: pd.Timestamp, cadence: str, periods: int) -> list[pd.Timestamp]:
    """The ``periods`` period ends following ``last`` (itself a period end)."""
    offset = _OFFSETS[check_cadence(cadence)]()
    out, current = [], pd.Timestamp(last)
    for _ in range(periods):
        current = current + offset
        out.append(current)
    return out


def period_label(ts: pd.Timestamp, cadence: str, lang: str = "fr") -> str:
    """Short label of the period ending at ``ts``: ``janv. 2024`` / ``T1 2024`` / ``2024`` (fr)."""
    check_cadence(cadence)
    check_lang(lang)
    ts = pd.Timestamp(ts)
    if cadence == "year":
        return str(ts.year)
    if cadence == "quarter":
        return tr(TEXTS, "quarter", lang, q=(ts.month - 1) // 3 + 1, y=ts.year)
    return f"{_MONTH_ABBR[lang][ts.month - 1]} {ts.year}"


def code_label(code: str, lang: str = "fr") -> str:
    """Label of a stage code, a pseudo-stage (entry, exit, other) or a cycle code."""
    if code in PSEUDO_LABELS:
        return PSEUDO_LABELS[code][check_lang(lang)]
    if code in typology.stage_order():
        return typology.stage_label(code, lang)
    return typology.cycle_label(code, lang)


def check_history(history: pd.DataFrame | ibis.Table) -> pd.DataFrame | ibis.Table:
    """Check a stage history (see docs/architecture.md) and return it ready for the engine.

    A pandas history is copied with ``customer_id`` as string and ``snapshot`` as ``datetime64[ns]``;
    an Ibis table is checked for its columns and stage codes only.

    Raises
    ------
    MissingColumnError
        A required column is missing.
    DataContractError
        Unknown stage codes, unparseable snapshots or duplicated ``(customer_id, snapshot)`` rows.
    AnalysisError
        The history is empty.
    """
    require_columns(history, "stage history", HISTORY_COLUMNS)
    known = set(typology.stage_order())
    if isinstance(history, ibis.Table):
        stages = set(history.select("stage").distinct().to_pandas()["stage"].dropna())
        _check_stages(stages, known)
        return history.select(*HISTORY_COLUMNS)
    if not isinstance(history, pd.DataFrame):
        raise DataContractError(
            f"The stage history must be a pandas DataFrame or an Ibis table, not {type(history)}."
        )
    if history.empty:
        raise AnalysisError("The stage history is empty: nothing to analyse.")
    df = history.loc[:, list(HISTORY_COLUMNS)].copy()
    if df["customer_id"].isna().any() or df["snapshot"].isna().any() or df["stage"].isna().any():
        raise DataContractError("The stage history has null customer_id, snapshot or stage values.")
    try:
        df["snapshot"] = pd.to_datetime(df["snapshot"]).astype("datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise DataContractError(f"Stage history: column 'snapshot' is not a date ({exc}).") from exc
    for column in ("customer_id", "stage"):  # a string column keeps its storage (Arrow for large histories)
        if not isinstance(df[column].dtype, pd.StringDtype):
            df[column] = df[column].astype(str).astype("string")
    _check_stages(set(df["stage"].unique()), known)
    dup = df.duplicated(["customer_id", "snapshot"])
    if dup.any():
        first = df.loc[dup].iloc[0]
        raise DataContractError(
            f"Stage history: {int(dup.sum())} duplicated (customer_id, snapshot) rows, "
            f"e.g. customer {first['customer_id']!r} at {first['snapshot']:%Y-%m-%d}."
        )
    return df.reset_index(drop=True)


def _check_stages(found: set[str], known: set[str]) -> None:
    unknown = sorted(found - known)
    if unknown:
        raise DataContractError(
            f"Stage history: unknown stage codes {', '.join(map(repr, unknown))}; "
            f"known stages are {', '.join(typology.stage_order())}."
        )


def normalise_filters(filters: Mapping[str, Any] | None) -> dict[str, list[Any]]:
    """``{column: value or values}`` to ``{column: [values]}``; ``cohort`` values become ``pandas.Period``."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ConfigError(f"filters must be a mapping {{column: value(s)}}, not {type(filters).__name__}.")
    out: dict[str, list[Any]] = {}
    for key, value in filters.items():
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        if not values:
            raise ConfigError(f"Filter {key!r} has no values.")
        if key == "cohort":
            try:
                values = [v if isinstance(v, pd.Period) else pd.Period(str(v)) for v in values]
            except (ValueError, TypeError) as exc:
                raise ConfigError(
                    f"Cohort filter {value!r}: use periods like '2024', '2024Q1' or '2024-03' ({exc})."
                ) from exc
        out[str(key)] = values
    return out


def describe_filters(filters: Mapping[str, list[Any]], lang: str = "fr") -> str:
    """Plain-text description of filters, for titles (escape it before it goes into markup)."""
    if not filters:
        return ""
    name = {"cohort": {"fr": "cohorte", "en": "cohort"}}
    parts = [
        f"{name.get(k, {}).get(lang, k)} = {', '.join(str(v) for v in values)}"
        for k, values in filters.items()
    ]
    return "; ".join(parts)
