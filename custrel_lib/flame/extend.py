"""The flame fitted on a sample of customers, applied to every customer.

At a million customers the models of :func:`~custrel_lib.flame.analysis.run_flame` are fitted on a seeded
sample (:func:`custrel_lib.io.subsample.sample_customers`); the parameters of BG/NBD and Gamma-Gamma are
population parameters, so the fitted models give every customer's P(alive), expected purchases and expected
value from that customer's own recency-frequency summary. :func:`extend_to` computes that summary for every
customer in the engine (:func:`~custrel_lib.flame.rfm.rfm_summary` on Ibis tables: only one row per customer
comes back to pandas) and predicts with the sample's models. The stage signal (P(alive) at the last snapshot)
and the flame's headline (expected value of the whole base) are then every customer's, not the sample's.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from custrel_lib.exceptions import CustrelError
from custrel_lib.flame import btyd
from custrel_lib.flame.analysis import FlameResult, run_flame
from custrel_lib.flame.rfm import non_contract
from custrel_lib.i18n import LANGUAGES
from custrel_lib.sections import reason_of
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.signals import signals_used

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _predict(result: FlameResult, summary: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
    """Every row of ``summary`` predicted by ``result``'s models over ``horizon_days``, the summary kept so that
    :func:`at_horizon` can predict again."""
    out = result.bg.predict(summary, float(horizon_days))
    for column in SUMMARY_COLUMNS:
        out[column] = summary[column].to_numpy()
    if result.gg is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = result.gg.customer_value(result.bg, summary, float(horizon_days))
        out["expected_value"] = value.to_numpy()
    return out.reset_index(drop=True)


def extend_to(result: FlameResult, tables: dict, as_of) -> FlameResult:
    """``result`` (fitted on a sample) with ``customers`` predicted for every customer of ``tables``.

    ``tables`` are the full canonical tables, Ibis (engine) or pandas. The models, the holdout check and
    ``fitted_on`` (the customers the models saw) stay the sample's.
    """
    tx = non_contract(tables["transactions"], tables.get("customers"))
    summary = btyd.rfm_summary(tx, pd.Timestamp(as_of))
    fitted = result.customers
    return dataclasses.replace(
        result,
        customers=_predict(result, summary, result.horizon_days),
        fitted_on=result.fitted_on or (len(fitted), int((fitted["frequency"] > 0).sum())),
    )


def at_horizon(result: FlameResult, horizon_days: float) -> FlameResult:
    """An extended flame (:func:`extend_to`) predicting over another horizon, for the same customers."""
    out = _predict(result, result.customers, horizon_days)
    return dataclasses.replace(result, customers=out, horizon_days=float(horizon_days))


def stage_signal(
    tables: dict, as_of, model: StageModel, every: dict | None = None
) -> tuple[FlameResult | None, dict | None]:
    """Fit the flame and apply its P(alive) to the last snapshot when the rules read it (``custrel_lib.workbench``).

    ``every``: when ``tables`` are a sample, all the tables (engine): the flame fitted on the sample is
    applied to every customer (:func:`custrel_lib.flame.extend.extend_to`).

    Returns the flame (``None`` when the rules do not read P(alive) or it cannot be fitted) and, when it
    cannot, why (``{"fr": ..., "en": ...}``).
    """
    if "p_alive" not in signals_used(model.rules_):
        return None, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flame = run_flame(tables, as_of, spend=model.amounts)
            if every is not None:
                flame = extend_to(flame, every, as_of)
    # Too few repeat buyers, or a numerical failure: the stages stay without the signal, as the report's sections.
    except (CustrelError, np.linalg.LinAlgError) as exc:
        return None, {lang: reason_of(exc, lang)[1] for lang in LANGUAGES}
    model.apply_signals(flame.customers[["customer_id", "p_alive"]])
    return flame, None
