"""P(alive) as a signal of the typology: separation of customers without contract, and the measure of its effect.

The stage rules (``custrel_lib/stages/stages.yml``) read a signal feature ``p_alive`` that the feature table does
not hold (:data:`custrel_lib.stages.rules.SIGNAL_FEATURES`). :func:`stages_with_p_alive` supplies it at the last
snapshot only: the BG/NBD model is fitted on the data up to the extraction date, so using it at an earlier
snapshot would place a customer with information from later. Customers outside the flame's population (with a
contract) have no P(alive): the rules place them as without the signal.

Known limit: BG/NBD treats a customer with no repeat purchase as alive (P(alive) = 1); the typology's
``coup_d_un_soir`` rule covers those customers, this signal does not. The ``at_risk`` flag reads P(alive) through
``survival.p_alive_threshold`` (:func:`custrel_lib.flame.analysis.flag_fading`).
"""

from __future__ import annotations

import pandas as pd

from custrel_lib.exceptions import DataContractError
from custrel_lib.stages import signals


def stages_with_p_alive(model, p_alive: pd.DataFrame) -> pd.DataFrame:
    """The stage history of a fitted :class:`~custrel_lib.stages.model.StageModel` with its last snapshot placed
    again by the same rules, this time with ``p_alive`` known.

    Parameters
    ----------
    model : StageModel
        Fitted; its rules (``model.rules_``) decide what the signal changes.
    p_alive : DataFrame
        ``customer_id``, ``p_alive`` (e.g. :func:`custrel_lib.flame.analysis.run_flame`'s ``customers``).

    Returns
    -------
    DataFrame
        A copy of ``model.history_`` (same columns); ``attrs["changed"]`` holds the customers whose last stage
        changed: ``customer_id``, ``stage_before``, ``stage``, ``p_alive``. The model is not changed; a report's
        workbench applies the signal to its model once (:meth:`StageModel.apply_signals
        <custrel_lib.stages.results.StageResults.apply_signals>`, :func:`custrel_lib.workbench.prepare`).
    """
    for col in ("customer_id", "p_alive"):
        if col not in p_alive.columns:
            raise DataContractError(
                f"stages_with_p_alive: column '{col}' is missing from the P(alive) table."
            )
    signal = signals.check_signals(p_alive[["customer_id", "p_alive"]])
    history = model.history_.copy()
    # The model's own signals, if any, are taken out first.
    signals.undo(history, model.snapshots_[-1], getattr(model, "signal_changes_", None))
    # The placement without signals reads the feature table without them (signals.place drops them).
    new = signals.place(model, signal)
    history.attrs["changed"] = signals.changes(history, model.snapshots_[-1], new, signal)
    return history


def agreement(history: pd.DataFrame, truth: pd.DataFrame) -> float:
    """Share of the customers at the last snapshot whose stage is the true one (``truth``: ``customer_id``,
    ``true_stage``, as :func:`custrel_lib.io.sample.true_stages_at` gives)."""
    last = history[history["snapshot"] == history["snapshot"].max()]
    both = last.merge(truth.astype({"customer_id": "string"}), on="customer_id", how="inner")
    return float((both["stage"] == both["true_stage"]).mean())
