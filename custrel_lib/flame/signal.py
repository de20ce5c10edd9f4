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
from custrel_lib.flame.text import TEXT
from custrel_lib.i18n import format_date, format_number, tr
from custrel_lib.stages import signals, typology


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


def signal_sentence(
    changed: pd.DataFrame | None, lang: str, snapshot=None, reason: str | None = None
) -> list[str]:
    """What P(alive) did to the stages (:meth:`StageModel.apply_signals
    <custrel_lib.stages.results.StageResults.apply_signals>`'s ``changed``): how many customers it moved and
    where, with the known limit; or why it did not (``changed`` ``None``: the rules do not read it, or
    ``reason`` why it could not be computed). Counts only, never an identifier."""
    if changed is None:
        key = "stages_signal_off" if reason is None else "stages_signal_failed"
        return [tr(TEXT, key, lang, reason=reason or "")]
    date = format_date(pd.Timestamp(snapshot), lang) if snapshot is not None else ""
    if not len(changed):
        return [tr(TEXT, "stages_signal_none", lang, date=date), tr(TEXT, "limit", lang)]
    pairs = changed.groupby(["stage_before", "stage"], observed=True).size().sort_values(ascending=False)
    moves = ", ".join(
        tr(
            TEXT,
            "stages_signal_move",
            lang,
            n=format_number(int(k), lang),
            before=typology.stage_label(str(b), lang),
            after=typology.stage_label(str(a), lang),
        )
        for (b, a), k in pairs.items()
    )
    n = format_number(len(changed), lang)
    return [tr(TEXT, "stages_signal", lang, date=date, n=n, moves=moves), tr(TEXT, "limit", lang)]
