"""P(alive) as a signal of the typology (custrel_lib/flame/signal.py, the p_alive clause of stages.yml) and of the
at-risk flag (flag_fading), measured against the generator's truth of the committed sample."""

from __future__ import annotations

import warnings

import ibis
import pandas as pd
import pytest

from custrel_lib.flame.analysis import flag_fading, p_alive_at, run_flame
from custrel_lib.flame.signal import agreement, stages_with_p_alive
from custrel_lib.io.sample import true_stages_at
from custrel_lib.stages.rules import RuleSet, default_rules

# Two active repeat customers without commitment (A, B), one committed (C), one with a single purchase (D).
FEATURES = pd.DataFrame(
    {
        "n_purchases": [5, 5, 5, 1],
        "active": [True, True, True, True],
        "contract_active": [False, False, True, False],
        "contract_ended": [False, False, False, False],
        "bought_after_contract_end": [False, False, False, False],
        "committed": [False, False, True, False],
        "committed_days": [None, None, 400.0, None],
        "days_since_return": [None, None, None, None],
        "commitment_signals": [0, 0, 0, 0],
        "tenure_days": [200.0, 200.0, 500.0, 30.0],
        "purchases_12m": [5, 5, 5, 1],
    },
    index=list("ABCD"),
)


def test_an_absent_signal_changes_no_stage():
    rules = default_rules()
    without = rules.assign_pandas(FEATURES, 150)
    assert without.tolist() == ["petit_ami", "petit_ami", "marie", "flirt"]
    unknown = rules.assign_pandas(FEATURES.assign(p_alive=float("nan")), 150)
    assert unknown.tolist() == without.tolist()
    # The engine's CASE treats a missing signal column the same way.
    t = ibis.memtable(FEATURES.astype({"committed_days": "float64", "days_since_return": "float64"}))
    engine = ibis.duckdb.connect().execute(t.select(stage=rules.compile(t, 150)))["stage"]
    assert engine.tolist() == without.tolist()


def test_p_alive_below_one_half_separates_repeat_customers_without_commitment():
    rules = default_rules()
    p = pd.Series([0.3, 0.7, 0.1, 0.05], index=FEATURES.index)
    stage = rules.assign_pandas(FEATURES.assign(p_alive=p), 150)
    # A is more likely gone than alive; B is not; C is committed; D has one purchase (coup d'un soir's business).
    assert stage.tolist() == ["separe", "petit_ami", "marie", "flirt"]
    t = ibis.memtable(
        FEATURES.assign(p_alive=p).astype({"committed_days": "float64", "days_since_return": "float64"})
    )
    assert (
        ibis.duckdb.connect().execute(t.select(stage=rules.compile(t, 150)))["stage"].tolist()
        == stage.tolist()
    )
    assert "p_alive < 0,5" in rules.describe(rules.rules[1].when, "fr")


def test_signal_must_be_numeric():
    from custrel_lib.exceptions import RuleError

    with pytest.raises(RuleError, match="p_alive"):
        RuleSet.from_obj(
            [
                {"stage": "separe", "when": {"feature": "p_alive", "op": "<", "value": True}},
                {"stage": "flirt"},
            ]
        )


@pytest.fixture(scope="module")
def staged(sample_tables, sample_as_of):
    from custrel_lib.stages.model import StageModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = StageModel().fit(sample_tables, sample_as_of)
        flame = run_flame(sample_tables, sample_as_of, 90)
    return model, flame


def test_separation_signal_against_the_truth(staged, sample_truth, sample_as_of):
    """Stages at the last snapshot without and with P(alive): the agreement with the true stage must not fall,
    and the customers the signal separates must mostly be truly separated."""
    model, flame = staged
    truth = true_stages_at(sample_truth["stages"], sample_as_of)[["customer_id", "true_stage"]]
    with_signal = stages_with_p_alive(model, flame.customers)
    before, after = agreement(model.history_, truth), agreement(with_signal, truth)
    changed = with_signal.attrs["changed"].merge(truth.astype({"customer_id": "string"}), on="customer_id")
    right = float((changed["true_stage"] == "separe").mean()) if len(changed) else float("nan")
    print(
        f"\nstages at {sample_as_of.date()}: agreement {before:.4f} without P(alive), {after:.4f} with; "
        f"{len(changed)} moved to separe, {right:.0%} truly separated"
    )
    assert set(changed["stage"]) == {"separe"} and (changed["p_alive"] < 0.5).all()
    assert len(changed) >= 1 and right >= 0.75
    assert after >= before
    # Earlier snapshots are untouched: the model is fitted with data up to the extraction date.
    earlier = with_signal["snapshot"] < with_signal["snapshot"].max()
    assert with_signal.loc[earlier, "stage"].equals(model.history_.loc[earlier, "stage"])


def test_at_risk_precision_with_and_without_p_alive(sample_tables, sample_truth, sample_as_of, staged):
    """Among active customers without contract (risk kind "lapse"), precision = share of the flagged who have
    truly left (the generator's separation before as_of). P(alive) adds flags only above 0.6 on the sample: the
    lapse score already flags the customers it finds; the flags it adds at 0.7 must be far better than chance."""
    from custrel_lib.survival.durations import build_durations
    from custrel_lib.survival.risk import score_active
    from tests.test_survival_truth import _true_separated

    model, flame = staged
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = build_durations(sample_tables, sample_as_of, model.horizon_days_)
        scores = score_active(sample_tables, d, sample_as_of, model.horizon_days_, 90, 0.5)
    per = flame.customers[["customer_id", "p_alive", "frequency"]].astype({"customer_id": str})
    scores = scores.merge(per, on="customer_id", how="left")
    gone = scores["customer_id"].map(_true_separated(sample_truth["customers"], sample_as_of))
    lapse = scores["risk_kind"] == "lapse"
    base = float(gone[lapse].mean())
    lines, added_precision = [], {}
    for t in (None, 0.5, 0.6, 0.7):
        f = flag_fading(scores, t)
        flagged = f["at_risk"] & lapse
        added = f["at_risk_reason"] == "p_alive"
        added_precision[t] = float(gone[added].mean()) if added.any() else float("nan")
        lines.append(
            f"threshold {t}: {int(flagged.sum())} flagged, precision {gone[flagged].mean():.3f}, "
            f"recall {gone[flagged].sum() / gone[lapse].sum():.3f}; added by P(alive) {int(added.sum())}"
        )
    print(
        f"\nat risk ({int(lapse.sum())} active without contract, {base:.1%} truly gone):\n  "
        + "\n  ".join(lines)
    )
    assert int((flag_fading(scores, None)["at_risk_reason"] == "p_alive").sum()) == 0
    assert added_precision[0.7] > 3 * base


def test_p_alive_at_is_the_flame_fit_alone(sample_tables, sample_as_of):
    """The explorer's P(alive) at a date (BG/NBD only) equals the report's flame at that date, customer by
    customer, at the extraction date and a year before it."""
    for as_of in (sample_as_of, sample_as_of - pd.DateOffset(years=1)):
        alone = p_alive_at(sample_tables, as_of).set_index("customer_id")["p_alive"]
        full = run_flame(sample_tables, as_of).customers.set_index("customer_id")["p_alive"]
        assert len(alone) == len(full) > 1000
        pd.testing.assert_series_equal(alone.sort_index(), full.sort_index(), check_names=False)
        assert 0.0 < alone.min() < 0.5 < alone.max() <= 1.0  # a real spread, not a constant
