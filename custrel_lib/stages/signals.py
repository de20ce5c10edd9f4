"""Signal features at the last snapshot: the stages placed again with values that a later analysis supplies.

The stage rules can read signal features (:data:`custrel_lib.stages.rules.SIGNAL_FEATURES`: ``p_alive``,
BG/NBD's probability alive) that the feature table does not hold. :meth:`StageModel.apply_signals
<custrel_lib.stages.results.StageResults.apply_signals>` supplies them at the last snapshot only (the model
behind a signal is fitted on the data up to the extraction date: using it at an earlier snapshot would place a
customer with information from later) and changes the stage of the customers whose rules then give another
stage, in the model's history and in everything read from it (``current_``, ``features()``, ``profiles()``,
``summary``, ``explain()``). Customers without a value (e.g. with a contract, outside BG/NBD's population) are
placed as without the signal.
"""

from __future__ import annotations

import pandas as pd

from custrel_lib.exceptions import DataContractError
from custrel_lib.stages.rules import SIGNAL_FEATURES, RuleSet

#: Columns of :attr:`StageModel.signal_changes_` before the signal columns.
CHANGE_COLUMNS = ["customer_id", "stage_before", "stage"]


def features_read(rules: RuleSet) -> set[str]:
    """The features (columns of the feature table, or signal features) that the conditions of ``rules`` read."""

    def walk(cond) -> set[str]:
        if cond is None:
            return set()
        if "all" in cond or "any" in cond:
            return set().union(*(walk(c) for c in cond.get("all", cond.get("any"))))
        return {cond["feature"]}

    return set().union(*(walk(rule.when) for rule in rules.rules))


def signals_used(rules: RuleSet) -> set[str]:
    """The signal features that ``rules`` read (an empty set: no signal can change a stage)."""
    return features_read(rules) & set(SIGNAL_FEATURES)


def check_signals(signals: pd.DataFrame) -> pd.DataFrame:
    """``customer_id`` and the signal columns of ``signals`` (one row per customer), or a clear error."""
    cols = [c for c in SIGNAL_FEATURES if c in signals.columns]
    if "customer_id" not in signals.columns or not cols:
        raise DataContractError(
            "Signals need a 'customer_id' column and at least one of: " + ", ".join(SIGNAL_FEATURES) + "."
        )
    out = signals[["customer_id", *cols]].astype({"customer_id": "string"})
    dup = out["customer_id"].duplicated()
    if dup.any():
        raise DataContractError(
            f"Signals: {int(dup.sum())} customer ids appear twice (first: {out.loc[dup, 'customer_id'].iloc[0]})."
        )
    return out.astype({c: "float64" for c in cols}).reset_index(drop=True)


def place(model, signals: pd.DataFrame) -> pd.Series:
    """The new stage of the customers whose last-snapshot stage the signals change (indexed by customer id).

    Both placements, with and without the signals, read the same feature rows, so a last-bit difference between
    this query and the engine's own (parallel float sums) moves nobody.
    """
    feats = model.features(model.snapshots_[-1])
    feats = feats.drop(columns=[c for c in SIGNAL_FEATURES if c in feats]).astype({"customer_id": "string"})
    both = feats.merge(signals, on="customer_id", how="left")
    with_signal = model.rules_.assign_pandas(both, model.horizon_days_).to_numpy()
    without = model.rules_.assign_pandas(feats, model.horizon_days_).to_numpy()
    moved = with_signal != without
    return pd.Series(with_signal[moved], index=feats["customer_id"].to_numpy()[moved], dtype="string")


def changes(history: pd.DataFrame, snapshot, new: pd.Series, signals: pd.DataFrame) -> pd.DataFrame:
    """Set ``new`` stages at ``snapshot`` in ``history`` (in place); return the changed customers
    (``customer_id, stage_before, stage`` and the signal columns)."""
    last = history["snapshot"] == snapshot
    ids = history.loc[last, "customer_id"]
    before = history.loc[last, "stage"]
    after = ids.map(new).fillna(before).astype("string")
    history.loc[last, "stage"] = after
    moved = (before != after).to_numpy()
    out = pd.DataFrame(
        {"customer_id": ids[moved], "stage_before": before[moved], "stage": after[moved]}
    ).astype("string")
    return out.merge(signals, on="customer_id", how="left").reset_index(drop=True)


def undo(history: pd.DataFrame, snapshot, changed: pd.DataFrame | None) -> None:
    """Put back, in ``history`` (in place), the stages at ``snapshot`` that the signals had ``changed``."""
    if changed is not None and len(changed):
        changes(history, snapshot, changed.set_index("customer_id")["stage_before"], changed[["customer_id"]])


def with_signals(features: pd.DataFrame, signals: pd.DataFrame, changed: pd.DataFrame) -> pd.DataFrame:
    """The last snapshot's feature table with the signal columns and the stages they changed."""
    out = features.drop(columns=[c for c in SIGNAL_FEATURES if c in features])
    out = out.astype({"customer_id": "string"}).merge(signals, on="customer_id", how="left")
    if "stage" in out and len(changed):
        new = changed.set_index("customer_id")["stage"]
        out["stage"] = out["customer_id"].map(new).fillna(out["stage"]).astype("string")
    return out


def moves(changed: pd.DataFrame | None) -> dict[str, int]:
    """``{"stage_before->stage": customers}`` of the changes (JSON-ready, most frequent first)."""
    if changed is None or not len(changed):
        return {}
    pairs = (changed["stage_before"].astype(str) + "->" + changed["stage"].astype(str)).value_counts()
    return {k: int(v) for k, v in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))}
