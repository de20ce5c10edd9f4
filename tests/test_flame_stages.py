"""P(alive) applied once to the stage model of a report (issue 15, item 3): every accessor reads the same stages.

:meth:`StageModel.apply_signals` must move exactly the customers that :func:`stages_with_p_alive` says; the
workbench applies it in :func:`prepare` (so every notebook of a run reads one history, cached or not), on the
sample, on its transactions alone, with rules that do not read P(alive) (nothing changes) and on data too small
for the flame (nothing changes, the reason is said).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _shapes import Shape, write_shape

from custrel_lib.flame.analysis import run_flame
from custrel_lib.flame.signal import stages_with_p_alive
from custrel_lib.io.sample import true_stages_at
from custrel_lib.paths import DEFAULT_STAGES_FILE, SAMPLE_DIR
from custrel_lib.reports.parameters import CACHE_ENV
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.rules import default_rules
from custrel_lib.stages.signals import signals_used
from custrel_lib.workbench import prepare

CHANGE = ["customer_id", "stage_before", "stage"]


def _last(history: pd.DataFrame) -> pd.DataFrame:
    return history[history["snapshot"] == history["snapshot"].max()]


def _counts(history: pd.DataFrame) -> dict[str, int]:
    return {k: int(v) for k, v in _last(history)["stage"].value_counts().items()}


def _expected(tables: dict, as_of) -> pd.DataFrame:
    """The history with P(alive), computed apart: a fresh stage model and a fresh flame."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = StageModel().fit(tables, as_of)
        flame = run_flame(tables, as_of)
    return stages_with_p_alive(model, flame.customers)


def _rules_without_p_alive() -> list[dict]:
    rules = yaml.safe_load(Path(DEFAULT_STAGES_FILE).read_text(encoding="utf-8"))["rules"]
    separe = next(r for r in rules if r["stage"] == "separe")
    clauses = separe["when"]["any"]
    separe["when"]["any"] = [c for c in clauses if "p_alive" not in yaml.safe_dump(c)]
    assert len(separe["when"]["any"]) == len(clauses) - 1
    return rules


def test_signals_used():
    assert signals_used(default_rules()) == {"p_alive"}
    assert signals_used(StageModel(rules=_rules_without_p_alive()).rules_) == set()


@pytest.mark.parametrize("backend", [None, "pandas"])
def test_apply_signals_moves_exactly_what_stages_with_p_alive_says(sample_tables, sample_as_of, backend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = StageModel(backend=backend).fit(sample_tables, sample_as_of)
        flame = run_flame(sample_tables, sample_as_of)
    original = model.history_.copy()
    expected = stages_with_p_alive(model, flame.customers)
    changed = model.apply_signals(flame.customers[["customer_id", "p_alive"]])
    assert model.signal_changes_ is changed
    pd.testing.assert_frame_equal(changed[CHANGE], expected.attrs["changed"][CHANGE])
    assert len(changed) >= 1 and set(changed["stage"]) == {"separe"} and (changed["p_alive"] < 0.5).all()
    pd.testing.assert_series_equal(model.history_["stage"], expected["stage"])
    # Only the last snapshot moves, and only the changed customers.
    diff = model.history_["stage"] != original["stage"]
    assert (model.history_.loc[diff, "snapshot"] == sample_as_of).all()
    assert sorted(model.history_.loc[diff, "customer_id"]) == sorted(changed["customer_id"])
    # Every accessor reads the same last snapshot.
    counts = _counts(model.history_)
    assert model.current_["stage"].value_counts().to_dict() == counts
    assert dict(zip(model.summary["stage"], model.summary["customers"], strict=True)) == counts
    profiles = model.profiles(lang="en").table
    assert dict(zip(profiles["stage"], profiles["customers"], strict=True)) == counts
    feats = model.features().set_index("customer_id")
    cur = model.current_.set_index("customer_id")["stage"]
    assert feats["stage"].reindex(cur.index).astype(str).equals(cur.astype(str))
    with_contract = set(sample_tables["customers"].dropna(subset=["contract_start"])["customer_id"])
    assert feats.loc[sorted(with_contract & set(feats.index)), "p_alive"].isna().all()
    assert feats.loc[changed["customer_id"], "p_alive"].lt(0.5).all()
    why = model.explain(changed["customer_id"].iloc[0], lang="en")
    assert why.stage == "separe" and why.rules.iloc[1, -1] == "◀"  # the separe rule (second) chose it
    # Applying again changes nothing more; None takes the signal out.
    again = model.apply_signals(flame.customers[["customer_id", "p_alive"]])
    pd.testing.assert_frame_equal(again, changed)
    pd.testing.assert_series_equal(model.history_["stage"], expected["stage"])
    assert model.apply_signals(None).empty and model.signal_changes_ is None
    pd.testing.assert_frame_equal(model.history_, original)
    assert "p_alive" not in model.features()


def test_prepare_applies_the_signal_once_for_the_whole_run(
    sample_tables, sample_as_of, sample_truth, tmp_path
):
    expected = _expected(sample_tables, sample_as_of)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path / "cache"))
        wb = prepare("", verbose=False)
        again = prepare("", verbose=False)  # the next notebook of the run: loaded from the cache
    for w in (wb, again):
        pd.testing.assert_frame_equal(w.stages.signal_changes_[CHANGE], expected.attrs["changed"][CHANGE])
        assert w.history["stage"].astype(str).tolist() == expected["stage"].astype(str).tolist()
        assert w.stages.current_["stage"].value_counts().to_dict() == _counts(expected)
    figures = again.signal_figures()
    assert figures["applied"] and figures["moved"] == len(expected.attrs["changed"])
    assert sum(figures["moves"].values()) == figures["moved"]
    fr, en = wb.signal_sentences("fr"), again.signal_sentences("en")
    n = str(figures["moved"])
    assert f"{n} clients sans contrat" in fr[0] and "coup d'un soir" in fr[1]
    assert f"{n} customers without contract" in en[0] and "one-night-stand" in en[1]
    # The cached model, its last snapshot's features dropped, finds them again in the engine, signal included.
    again.stages._snapshot_cache.clear()
    feats = again.stages.features().set_index("customer_id")
    assert (feats.loc[expected.attrs["changed"]["customer_id"], "stage"] == "separe").all()
    # The generator's truth: the customers the report moves have truly left.
    truth = true_stages_at(sample_truth["stages"], sample_as_of).astype({"customer_id": "string"})
    moved = wb.stages.signal_changes_.merge(truth, on="customer_id")
    print(
        f"\nreport: {len(moved)} moved by P(alive), true stages {moved['true_stage'].value_counts().to_dict()}"
    )
    assert len(moved) == figures["moved"] and (moved["true_stage"] == "separe").mean() >= 0.75


def _config(tmp_path: Path, **extra) -> Path:
    doc = {
        "data_dir": str(SAMPLE_DIR),
        "language": "en",
        "tables": {n: {"path": f"{n}.csv"} for n in ("transactions", "customers", "interactions")},
        **extra,
    }
    path = tmp_path / "custrel.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_rules_without_p_alive_leave_the_stages_alone(tmp_path):
    rules = _rules_without_p_alive()
    wb = prepare(_config(tmp_path, stages={"rules": rules}), verbose=False)
    plain = StageModel(rules=rules).fit(wb.tables, wb.as_of)
    assert wb.flame is None and wb.flame_error is None and wb.stages.signal_changes_ is None
    assert wb.history["stage"].astype(str).tolist() == plain.history_["stage"].astype(str).tolist()
    assert "p_alive" not in wb.stages.features()
    assert wb.signal_figures() == {"feature": "p_alive", "applied": False}
    assert "do not read P(alive)" in wb.signal_sentences("en")[0]


def test_transactions_only(tmp_path, sample_truth, sample_as_of):
    """Without a customers table nobody has a contract: the flame covers every buyer."""
    wb = prepare(write_shape(Shape(), tmp_path / "data"), verbose=False)
    assert list(wb.tables) == ["transactions"]
    expected = _expected(wb.tables, wb.as_of)
    changed = wb.stages.signal_changes_
    pd.testing.assert_frame_equal(changed[CHANGE], expected.attrs["changed"][CHANGE])
    assert wb.history["stage"].astype(str).tolist() == expected["stage"].astype(str).tolist()
    truth = true_stages_at(sample_truth["stages"], sample_as_of).astype({"customer_id": "string"})
    right = changed.merge(truth, on="customer_id")["true_stage"].eq("separe").mean()
    print(f"\ntransactions only: {len(changed)} moved by P(alive), {right:.0%} truly separated")
    assert len(changed) >= 1 and right >= 0.75


def test_too_few_repeat_buyers_leave_the_stages_alone_and_say_why(tmp_path):
    wb = prepare(write_shape(Shape(n_customers=5, seed=2), tmp_path / "data"), verbose=False)
    plain = StageModel().fit(wb.tables, wb.as_of)
    assert wb.flame is None and wb.stages.signal_changes_ is None
    assert wb.history["stage"].astype(str).tolist() == plain.history_["stage"].astype(str).tolist()
    figures = wb.signal_figures()
    assert not figures["applied"] and "bought again: 4, at least 20 needed" in figures["why"]
    assert wb.signal_sentences("fr")[0].startswith("P(en vie) n'a pas pu être calculé")
