"""Covariates a survival model can use: screened, with missing values made explicit.

Real exports miss columns or fill them sparsely (NPS is answered by a quarter of the customers). A model
must never receive a covariate that is constant or entirely missing: :func:`screen_covariates` drops those
and says why, so the report can list the drops under the model. A numeric covariate with some missing
values gets a missing indicator (``<name>_missing``) and its missing values are set to the observed mean:
the indicator carries the difference between answered and unanswered, and filling with the median instead
would pretend that every silent customer gave the median answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

# Reasons a covariate is dropped (keys of the catalogue in :mod:`custrel_lib.survival.text`).
DROP_REASONS = ("absent", "all_missing", "constant", "too_few_events")


@dataclass
class CovariateScreen:
    """The outcome of :func:`screen_covariates`.

    Attributes
    ----------
    data : DataFrame
        The input rows with the kept covariates (missing values filled, indicators added).
    kept : list of str
        Columns to hand to the model (including ``*_missing`` indicators).
    dropped : DataFrame
        ``covariate`` and ``reason`` (one of ``DROP_REASONS``) of each covariate left out.
    """

    data: pd.DataFrame
    kept: list[str]
    dropped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["covariate", "reason"]))


def screen_covariates(
    df: pd.DataFrame,
    covariates: Sequence[str],
    event_col: str | None = "event",
    min_events_per_level: int = 2,
) -> CovariateScreen:
    """Keep the covariates a model can estimate; fill numeric gaps with a missing indicator.

    Parameters
    ----------
    df : DataFrame
        Model rows.
    covariates : sequence of str
        Candidate columns.
    event_col : str, optional
        When given, a binary or categorical covariate whose levels other than the most common one hold
        fewer than ``min_events_per_level`` events in total is dropped (``too_few_events``): its effect
        cannot be estimated and it makes fitters diverge.
    min_events_per_level : int
        See ``event_col``.

    Returns
    -------
    CovariateScreen
    """
    out = df.copy()
    kept: list[str] = []
    dropped: list[dict[str, str]] = []
    for col in covariates:
        if col not in out:
            dropped.append({"covariate": col, "reason": "absent"})
            continue
        values = out[col]
        observed = values.dropna()
        if observed.empty:
            dropped.append({"covariate": col, "reason": "all_missing"})
            continue
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        missing = values.isna()
        if observed.nunique() < 2 and not (numeric and missing.any()):
            dropped.append({"covariate": col, "reason": "constant"})
            continue
        if numeric:
            if missing.any():
                out[col] = values.astype(float).fillna(float(observed.astype(float).mean()))
                indicator = f"{col}_missing"
                out[indicator] = missing.astype(float)
                if observed.nunique() >= 2:
                    kept.append(col)
                kept.append(indicator)
            else:
                kept.append(col)
            continue
        # Binary and categorical: missing is a level of its own.
        as_text = values.astype("string").fillna("(missing)") if missing.any() else values
        if event_col and event_col in out:
            events = out.loc[out[event_col] == 1]
            counts = as_text.loc[events.index].value_counts() if len(events) else pd.Series(dtype=float)
            top = as_text.value_counts().index[0]
            if counts.drop(top, errors="ignore").sum() < min_events_per_level:
                dropped.append({"covariate": col, "reason": "too_few_events"})
                continue
        out[col] = as_text
        kept.append(col)
    return CovariateScreen(out, kept, pd.DataFrame(dropped, columns=["covariate", "reason"]))


def design_matrix(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Numeric design: booleans as 0/1, categoricals one-hot (first level dropped), constant columns out."""
    x = df[list(columns)].copy()
    cat = []
    for c in x.columns:
        if pd.api.types.is_bool_dtype(x[c]):
            x[c] = x[c].astype(float)
        elif not pd.api.types.is_numeric_dtype(x[c]):
            cat.append(c)
    x = pd.get_dummies(x, columns=cat, drop_first=True, dtype=float)
    keep = [c for c in x.columns if x[c].nunique(dropna=True) > 1]
    return x[keep].astype(float)
