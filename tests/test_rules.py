"""Rules as data: validation with clear errors, compilation to one CASE (engine = pandas), edits in YAML."""

from __future__ import annotations

import copy

import ibis
import numpy as np
import pandas as pd
import pytest
import yaml

from custrel_lib.exceptions import RuleError
from custrel_lib.io.sample import generate_sample
from custrel_lib.paths import DEFAULT_STAGES_FILE
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.rules import RuleSet, default_rules

AS_OF = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def default_rule_list():
    return yaml.safe_load(DEFAULT_STAGES_FILE.read_text(encoding="utf-8"))["rules"]


@pytest.fixture(scope="module")
def small():
    d = generate_sample(300, 3)
    return {"transactions": d.transactions, "customers": d.customers, "interactions": d.interactions}


def test_default_rules_follow_the_design_order():
    assert default_rules().stages == [
        "prospect",
        "separe",
        "coup_d_un_soir",
        "reconquis",
        "marie",
        "fiance",
        "concubinage",
        "petit_ami",
        "flirt",
    ]


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
        (lambda r: r[0].update(wehn=r[0]["when"]), "unknown key"),
        (lambda r: r[2]["when"].update(all=[]), "non-empty list"),
        (lambda r: r[0]["when"].update(op="in"), "list of values"),
        (lambda r: r[0]["when"].update(value="0"), "'n_purchases' compares with a number"),
        (lambda r: r[2]["when"]["all"][1].update(value="no"), "'active' compares with true or false"),
    ],
)
def test_invalid_rules_fail_clearly(default_rule_list, edit, message):
    rules = copy.deepcopy(default_rule_list)
    edit(rules)
    with pytest.raises(RuleError, match=message):
        RuleSet.from_obj(rules)


def test_rule_errors_name_the_rule(default_rule_list):
    rules = copy.deepcopy(default_rule_list)
    rules[2]["when"]["all"][0]["feature"] = "nb_achats"
    with pytest.raises(RuleError, match=r"rules\[2\]\.when\.all\[0\]: unknown feature 'nb_achats'"):
        RuleSet.from_obj(rules)


def test_rules_from_file_mapping_and_display(tmp_path, default_rule_list):
    path = tmp_path / "my_rules.yml"
    path.write_text(yaml.safe_dump({"rules": default_rule_list}, allow_unicode=True), encoding="utf-8")
    assert RuleSet.from_obj(path).stages == default_rules().stages
    assert RuleSet.from_obj({"rules_file": str(path)}).stages == default_rules().stages
    rules = RuleSet.from_obj({"rules": default_rule_list})
    table = rules.to_frame("en", horizon=150)
    assert list(table.columns) == ["order", "stage", "code", "conditions"]
    assert table["code"].iloc[-1] == "flirt" and table["conditions"].iloc[-1] == "everyone else"
    assert table["conditions"].iloc[0] == "n_purchases = 0"
    assert "n_purchases ≥ 2 and active = no" in table["conditions"].iloc[1]
    fr = rules.to_frame("fr")
    assert fr["étape"].iloc[4] == "Marié(e)" and fr["conditions"].iloc[-1] == "tous les autres"
    (path.parent / "broken.yml").write_text("rules: [", encoding="utf-8")
    with pytest.raises(RuleError, match="Cannot read stage rules"):
        RuleSet.from_obj(path.parent / "broken.yml")


def test_case_expression_equals_pandas_with_nulls_and_horizon():
    rules = RuleSet.from_obj(
        [
            {"stage": "separe", "when": {"feature": "recency_days", "op": ">", "value": {"horizon": 1.5}}},
            {"stage": "marie", "when": {"feature": "nps_last", "op": "in", "value": [9, 10]}},
            {
                "stage": "fiance",
                "when": {
                    "any": [
                        {"feature": "nps_last", "op": "is_null"},
                        {
                            "all": [
                                {"feature": "n_purchases", "op": ">=", "value": 3},
                                {"feature": "promoter", "op": "==", "value": True},
                            ]
                        },
                    ]
                },
            },
            {"stage": "petit_ami", "when": {"feature": "nps_last", "op": "!=", "value": 5}},
            {"stage": "flirt"},
        ]
    )
    df = pd.DataFrame(
        {
            "recency_days": [151.0, 150.0, np.nan, 10.0, 10.0, 10.0],
            "nps_last": [9.0, 10.0, np.nan, 5.0, 7.0, 8.0],
            "n_purchases": [1, 1, 0, 3, 3, 1],
            "promoter": [True, True, False, True, False, False],
        }
    )
    # H = 100: 1.5 H = 150 days. A missing recency is not "> 150" (SQL semantics), nor a missing NPS "!= 5".
    expected = ["separe", "marie", "fiance", "fiance", "petit_ami", "petit_ami"]
    assert list(rules.assign_pandas(df, 100.0)) == expected
    t = ibis.memtable(df.assign(i=range(len(df))))
    out = t.mutate(stage=rules.compile(t, 100.0)).order_by("i").execute()
    assert list(out["stage"]) == expected
    df2 = df.assign(nps_last=[9.0, 10.0, 5.0, 5.0, np.nan, 8.0])
    # Row 2 (NPS 5) and row 4 (NPS unknown, "is_null") go to different rules.
    assert list(rules.assign_pandas(df2, 100.0))[2:5] == ["flirt", "fiance", "fiance"]
    explained = rules.matches(df2.iloc[3], 100.0)
    assert explained == [False, False, True, False, True]


def test_rule_change_moves_customers_as_expected(small, default_rule_list):
    base = StageModel(cadence="quarter").fit(small, AS_OF)
    rules = copy.deepcopy(default_rule_list)
    conc = next(r for r in rules if r["stage"] == "concubinage")
    assert conc["when"]["all"][1]["feature"] == "purchases_12m"
    conc["when"]["all"][1]["value"] = 10_000  # nobody buys that often: concubinage becomes empty
    edited = StageModel(rules=rules, cadence="quarter", horizon_days=base.horizon_days_).fit(small, AS_OF)
    before, after = base.history_, edited.history_
    moved = before["stage"] != after["stage"]
    assert (before["stage"] == "concubinage").sum() >= 10
    assert (before.loc[moved, "stage"] == "concubinage").all()
    assert moved.sum() == (before["stage"] == "concubinage").sum()
    # Active, 3+ purchases, no contract: they fall through to the next matching rule, dating (petit_ami).
    assert set(after.loc[moved, "stage"]) == {"petit_ami"}


def test_rule_change_in_yaml_text_changes_assignments(small, tmp_path, default_rule_list):
    # A stricter dating rule (5+ purchases instead of 3), edited in a YAML file: 3-4 purchases fall to flirt.
    rules = copy.deepcopy(default_rule_list)
    petit = next(r for r in rules if r["stage"] == "petit_ami")
    petit["when"] = {"feature": "n_purchases", "op": ">=", "value": 5}
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    base = StageModel(cadence=["2025-12-31"], horizon_days=150).fit(small, AS_OF).current_
    edited = StageModel(rules=path, cadence=["2025-12-31"], horizon_days=150).fit(small, AS_OF)
    f = edited.features()
    moved = base["stage"] != edited.current_["stage"]
    assert moved.any()
    assert set(base.loc[moved, "stage"]) == {"petit_ami"} and set(edited.current_.loc[moved, "stage"]) == {
        "flirt"
    }
    assert f.loc[moved.to_numpy(), "n_purchases"].between(3, 4).all()
