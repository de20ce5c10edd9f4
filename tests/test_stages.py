"""Stages: engine = pandas reference, rules as data (validation, edits), history invariants, agreement with truth."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from custrel_lib.exceptions import RuleError
from custrel_lib.features import (
    FEATURE_COLUMNS,
    features_engine,
    features_pandas,
    snapshot_dates,
    to_pandas_features,
)
from custrel_lib.paths import DEFAULT_STAGES_FILE
from custrel_lib.rules import RuleSet, default_rules
from custrel_lib.sample import generate_sample, true_stages_at
from custrel_lib.stages import StageModel

AS_OF = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def small():
    d = generate_sample(400, 11)
    return {"transactions": d.transactions, "customers": d.customers, "interactions": d.interactions}


@pytest.fixture(scope="module")
def default_rule_list():
    return yaml.safe_load(DEFAULT_STAGES_FILE.read_text(encoding="utf-8"))["rules"]


def _assert_same_features(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b)
    assert (a["customer_id"].to_numpy() == b["customer_id"].to_numpy()).all()
    assert (a["snapshot"].to_numpy() == b["snapshot"].to_numpy()).all()
    for col in FEATURE_COLUMNS:
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        assert np.allclose(x, y, equal_nan=True, rtol=1e-9, atol=1e-9), col


@pytest.mark.parametrize(
    "cadence", ["month", "quarter", ["2023-06-15", "2024-02-29", "2025-03-31", "2025-12-20"]], ids=str
)
def test_engine_features_equal_pandas_reference(small, cadence):
    first = min(small["transactions"]["date"].min(), small["customers"]["signup_date"].min())
    snaps = snapshot_dates(first, AS_OF, cadence)
    expr, con = features_engine(small, snaps, horizon_days=140.0)
    engine = to_pandas_features(con.execute(expr))
    reference = features_pandas(small, snaps, horizon_days=140.0)
    _assert_same_features(engine, reference)
    assert reference["n_purchases"].sum() > 0 and reference["nps_last"].notna().any()


def test_engine_stages_equal_pandas_reference(small):
    engine = StageModel(cadence="quarter").fit(small, AS_OF)
    reference = StageModel(cadence="quarter", backend="pandas").fit(small, AS_OF)
    assert engine.horizon_days_ == reference.horizon_days_
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    assert engine.history_["stage"].nunique() >= 6


def test_features_without_optional_tables(small):
    tables = {"transactions": small["transactions"]}
    engine = StageModel(cadence="quarter").fit(tables, AS_OF)
    reference = StageModel(cadence="quarter", backend="pandas").fit(tables, AS_OF)
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    assert "prospect" not in set(engine.history_["stage"])  # nobody is known without buying


def test_hand_made_features():
    # One customer: purchases on known days; the worked-out values are written next to each assertion.
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["A"] * 5, dtype="string"),
            "date": pd.to_datetime(["2024-01-10", "2024-03-10", "2024-09-10", "2024-11-10", "2024-12-10"]),
            "amount": [10.0, 20.0, 30.0, -5.0, 90.0],
            "category": pd.array(["x", "y", "y", "y", "z"], dtype="string"),
        }
    )
    snaps = [pd.Timestamp("2024-12-31")]
    f = features_pandas({"transactions": tx}, snaps, horizon_days=100.0).iloc[0]
    expr, con = features_engine({"transactions": tx}, snaps, horizon_days=100.0)
    e = to_pandas_features(con.execute(expr)).iloc[0]
    for row in (f, e):
        assert row["n_purchases"] == 4  # the refund is not a purchase
        assert row["monetary"] == 145.0  # 10 + 20 + 30 - 5 + 90
        assert row["avg_basket"] == 37.5  # 150 / 4
        assert row["recency_days"] == 21  # Dec 10 -> Dec 31
        assert row["tenure_days"] == 356  # Jan 10 -> Dec 31 2024 (leap year)
        assert row["n_categories"] == 3
        # Windows end on month ends: last 6 months (Jun 30, Dec 31] hold Sep 10 and Dec 10 (30 + 90);
        # the 6 before (Dec 31 2023, Jun 30] hold Jan 10 and Mar 10 (10 + 20).
        assert row["spend_6m"] == 120.0 and row["spend_prev_6m"] == 30.0
        assert row["spend_trend"] == pytest.approx(3.0)
        assert row["basket_trend"] == pytest.approx(60 / 15 - 1)
        # Gaps 60, 184, 91 days (Mar 10 -> Sep 10 is 184; the refund day is not a purchase): mean 111.67.
        assert row["gap_mean_days"] == pytest.approx((60 + 184 + 91) / 3)
        # The Sep 10 purchase came after 184 > 1.5 x 100 days: a return, 112 days before Dec 31.
        assert row["days_since_return"] == 112
        assert bool(row["active"]) and row["commitment_signals"] == 2  # basket growth + 3 categories


def test_rule_change_moves_customers_as_expected(small, default_rule_list):
    base = StageModel(cadence="quarter").fit(small, AS_OF)
    rules = copy.deepcopy(default_rule_list)
    conc = next(r for r in rules if r["stage"] == "concubinage")
    conc["when"]["all"][1]["value"] = (
        10_000  # nobody buys that often: concubinage becomes unreachable in practice
    )
    edited = StageModel(rules=rules, cadence="quarter").fit(small, AS_OF)
    before, after = base.history_, edited.history_
    moved = before["stage"] != after["stage"]
    assert (before.loc[moved, "stage"] == "concubinage").all()
    assert (after["stage"] != "concubinage").all() and (before["stage"] == "concubinage").any()
    # They fall through to the next rules that match: dating (3+ purchases).
    assert set(after.loc[moved, "stage"]) == {"petit_ami"}


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r[0]["when"].update(feature="loyalty_score"), "unknown feature 'loyalty_score'"),
        (lambda r: r[0]["when"].update(op="~="), "unknown operator '~='"),
        (lambda r: r[2].pop("when"), "would be unreachable"),
        (lambda r: r.insert(3, {"stage": "prospect", "when": r[0]["when"]}), "has two rules"),
        (lambda r: r[1].update(stage="divorce"), "unknown stage 'divorce'"),
        (lambda r: r[-1].update(when={"feature": "active", "op": "==", "value": True}), "catch-all"),
        (lambda r: r[0]["when"].update(value={"horizont": 2}), "horizon"),
    ],
)
def test_invalid_rules_fail_clearly(default_rule_list, edit, message):
    rules = copy.deepcopy(default_rule_list)
    edit(rules)
    with pytest.raises(RuleError, match=message):
        RuleSet.from_obj(rules)


def test_rules_from_config_mapping_and_display(default_rule_list):
    rules = RuleSet.from_obj({"rules": default_rule_list})
    assert rules.stages == default_rules().stages
    table = rules.to_frame("en", horizon=150)
    assert table["code"].iloc[-1] == "flirt" and table["conditions"].iloc[-1] == "everyone else"
    assert "1.5" not in " ".join(table["conditions"])  # defaults use plain day counts


def test_history_invariants_and_explain(small):
    m = StageModel(cadence="month").fit(small, AS_OF)
    h = m.history_
    assert list(h.columns) == ["customer_id", "snapshot", "stage", "at_risk", "ambassador"]
    assert not h.duplicated(["customer_id", "snapshot"]).any()  # exactly one stage per customer and snapshot
    first_tx = small["transactions"].groupby("customer_id")["date"].min()
    signup = small["customers"].set_index("customer_id")["signup_date"]
    known = pd.concat([first_tx, signup.dropna()]).groupby(level=0).min()
    first_snapshot = h.groupby("customer_id")["snapshot"].min()
    # Present from the first snapshot on or after it is known, and at every snapshot after that.
    assert (first_snapshot >= known.reindex(first_snapshot.index)).all()
    counts = h.groupby("customer_id").size()
    expected = first_snapshot.map(lambda s: sum(1 for x in m.snapshots_ if x >= s))
    assert (counts == expected).all()
    cid = m.current_["customer_id"].iloc[0]
    ex = m.explain(cid, lang="en")
    assert ex.stage == m.current_["stage"].iloc[0]
    assert (ex.rules["chosen"] == "◀").sum() == 1
    assert ex.rules.loc[ex.rules["chosen"] == "◀", "code"].item() == ex.stage
    prof = m.profiles(lang="fr")
    assert prof.table["customers"].sum() == len(m.current_)
    assert prof.table["share"].sum() == pytest.approx(1.0)
    assert "Part des clients" in prof._repr_html_()


def test_stages_agree_with_the_truth_on_the_sample(sample_tables, sample_truth, sample_as_of):
    m = StageModel().fit(sample_tables, sample_as_of)
    truth = true_stages_at(
        sample_truth["stages"].assign(start=pd.to_datetime(sample_truth["stages"]["start"])), [sample_as_of]
    )
    both = m.current_.merge(truth, on="customer_id")
    assert len(both) == len(m.current_) == m.history_["customer_id"].nunique()
    accuracy = (both["stage"] == both["true_stage"]).mean()
    print(
        f"\nH = {m.horizon_days_:.0f} days; agreement with the true stage at {sample_as_of.date()}: {accuracy:.1%}"
    )
    print(pd.crosstab(both["true_stage"], both["stage"]).to_string())
    assert 140 <= m.horizon_days_ <= 160
    assert accuracy >= 0.85
