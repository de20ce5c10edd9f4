"""custrel.yml: the sample's config, the docs' complete example, and errors that point at the key at fault."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import CONTRACT_COLUMNS, CustrelConfig, load_config, parse_config
from custrel_lib.exceptions import ConfigError, RuleError
from custrel_lib.io.load import SCHEMA
from custrel_lib.paths import PROJECT_ROOT, SAMPLE_CONFIG, SAMPLE_DIR
from custrel_lib.stages.features import FEATURE_COLUMNS
from custrel_lib.stages.rules import SIGNAL_FEATURES, rules_from_config


def _minimal(**extra) -> dict:
    return {"tables": {"transactions": {"path": "tx.csv"}}, **extra}


def _tx(**settings) -> dict:
    return {"tables": {"transactions": {"path": "tx.csv", **settings}}}


def test_contract_columns_agree_with_the_loader():
    assert {name: tuple(cols) for name, cols in SCHEMA.items()} == CONTRACT_COLUMNS


def test_sample_config_is_valid_and_default():
    config = load_config(None)
    assert config.path == SAMPLE_CONFIG.resolve() and config.data_dir == SAMPLE_DIR.resolve()
    for name, spec in config.tables.items():
        assert spec.format == "csv" and spec.path == SAMPLE_DIR.resolve() / f"{name}.csv"
    assert config.analysis == {"as_of": dt.date(2025, 12, 31), "cadence": "month"}
    assert CustrelConfig.default() == config


def test_complete_example_of_the_docs_parses(tmp_path):
    doc = (PROJECT_ROOT / "docs" / "data_contract.md").read_text(encoding="utf-8")
    block = re.search(r"## A complete `custrel.yml`\s+```yaml\n(.*?)```", doc, re.S).group(1)
    config = parse_config(yaml.safe_load(block), path=tmp_path / "custrel.yml")
    data_dir = (tmp_path / "exports" / "2025-12").resolve()
    tx, cu = config.tables["transactions"], config.tables["customers"]
    assert (tx.path, tx.sep, tx.decimal, tx.encoding, tx.date_format) == (
        data_dir / "ventes.csv",
        ";",
        ",",
        "latin-1",
        "%d/%m/%Y",
    )
    assert (cu.format, cu.sheet, cu.true_values, cu.false_values) == (
        "xlsx",
        "Clients",
        ["oui", "O"],
        ["non", "N"],
    )
    assert set(cu.columns) == set(CONTRACT_COLUMNS["customers"])
    assert config.analysis["as_of"] == dt.date(2025, 12, 31) and config.survival["horizon_days"] == 150
    assert config.stages == {"rules_file": "my_rules.yml"}


def test_short_forms_and_separator_names(tmp_path):
    config = parse_config(
        {
            "data_dir": "data",
            "tables": {"transactions": "v.PARQUET", "customers": {"path": "c.txt", "sep": "tab"}},
        },
        path=tmp_path / "custrel.yml",
    )
    assert config.tables["transactions"].path == (tmp_path / "data" / "v.PARQUET").resolve()
    assert config.tables["transactions"].format == "parquet"
    assert (config.tables["customers"].format, config.tables["customers"].sep) == ("csv", "\t")


def test_yaml_booleans_in_true_false_values_keep_their_spellings():
    # YAML 1.1 reads yes/no as booleans: both spellings must still be recognised.
    config = parse_config(yaml.safe_load("tables:\n  transactions: {path: t.csv, true_values: [yes, O]}\n"))
    assert config.tables["transactions"].true_values == ["true", "yes", "on", "y", "O"]


# (document, dotted key the error must name, text that must follow: the valid values or the expected kind)
BAD = [
    (
        _minimal(colour="red"),
        "colour",
        "valid keys at the top level: data_dir, language, currency, engine, tables",
    ),
    (_minimal(langage="en"), "langage", "did you mean 'language'?"),
    ({"tables": {}}, "tables.transactions", "is required"),
    ({"tables": {"transactions": "t.csv", "orders": "o.csv"}}, "tables.orders", "transactions, customers"),
    (_tx(delimiter=";"), "tables.transactions.delimiter", "valid keys under tables.transactions: path"),
    ({"tables": {"transactions": {"sep": ";"}}}, "tables.transactions.path", "is missing"),
    ({"tables": {"transactions": "t.json"}}, "tables.transactions.format", "csv, parquet, xlsx"),
    (_tx(format="json"), "tables.transactions.format", "must be one of csv, parquet, xlsx"),
    (_tx(columns={"amout": "Montant"}), "tables.transactions.columns.amout", "did you mean 'amount'?"),
    (_tx(columns={"custmer": "C"}), "tables.transactions.columns.custmer", "customer_id, date, amount"),
    (_tx(columns={"amount": ["M"]}), "tables.transactions.columns.amount", "must be your column name"),
    (_tx(columns={"amount": None}), "tables.transactions.columns.amount", "must be your column name"),
    (
        _tx(columns={"date": "D", "amount": "D"}),
        "tables.transactions.columns.amount",
        "already mapped to date",
    ),
    (_tx(columns=["customer_id"]), "tables.transactions.columns", "must be a mapping"),
    (_tx(sep=";;"), "tables.transactions.sep", "must be one character"),
    (_tx(decimal=";"), "tables.transactions.decimal", "must be one of ., ,"),
    (_tx(encoding="klingon"), "tables.transactions.encoding", "not a known encoding"),
    (_tx(date_format="dd/mm/yyyy"), "tables.transactions.date_format", "strftime pattern"),
    (_tx(date_format=20240101), "tables.transactions.date_format", "strftime pattern"),
    (_tx(true_values="oui"), "tables.transactions.true_values", "must be a non-empty list"),
    (_tx(sheet=[1, [2]]), "tables.transactions.sheet", "sheet name or a 0-based sheet number"),
    (_tx(sheet=[]), "tables.transactions.sheet", "or '*' for every sheet"),
    (_tx(path=5.5), "tables.transactions.format", "cannot tell the format"),
    (_tx(path=[{"a": "b.csv"}]), "tables.transactions.path", "must be a file path"),
    ({"tables": ["transactions"]}, "tables", "must be a mapping"),
    (_minimal(data_dir=["x"]), "data_dir", "must be a folder path"),
    (_minimal(language="de"), "language", "must be one of fr, en"),
    (_minimal(language=1), "language", "must be one of fr, en"),
    (_minimal(analysis=[1]), "analysis", "must be a mapping"),
    (_minimal(analysis={"as_of": "31/12/2025"}), "analysis.as_of", "YYYY-MM-DD"),
    (_minimal(analysis={"cadence": "week"}), "analysis.cadence", "must be one of month, quarter"),
    (_minimal(analysis={"horizon_days": -3}), "analysis.horizon_days", "a number of days >= 0"),
    (_minimal(analysis={"horizon_days": "90"}), "analysis.horizon_days", "a number of days >= 0"),
    (_minimal(analysis={"max_rejected_share": 2}), "analysis.max_rejected_share", "between 0 and 1"),
    (_minimal(analysis={"speed": 1}), "analysis.speed", "as_of, cadence, horizon_days, max_rejected_share"),
    (_minimal(analysis={"snapshots": ["2025-12-31"]}), "analysis.snapshots", "is not read by custrel"),
    (_minimal(survival={"origin": "cohort"}), "survival.origin", "auto, first_purchase, signup"),
    (_minimal(survival={"orign": "auto"}), "survival.orign", "did you mean 'origin'?"),
    (_minimal(survival={"unknown_origin": "keep"}), "survival.unknown_origin", "exclude, window_start"),
    (_minimal(survival={"min_events": 2.5}), "survival.min_events", "a whole number"),
    (_minimal(survival={"horizon_quantile": True}), "survival.horizon_quantile", "in [0.5, 1)"),
    (_minimal(stages={"rule": []}), "stages.rule", "did you mean 'rules'?"),
    (_minimal(stages={"rules": "x"}), "stages.rules", "non-empty list"),
    (_minimal(stages={"rules": [], "rules_file": "r.yml"}), "stages", "exactly one of rules"),
    (_minimal(stages=["prospect"]), "stages", "must be a mapping"),
    (_minimal(report=["x"]), "report", "must be a mapping"),
    (_minimal(report={"notebooks": "0.0"}), "report.notebooks", "list of notebook names"),
    (_minimal(report={"notebook": []}), "report.notebook", "did you mean 'notebooks'?"),
    (["tables"], "(top level)", "must be a mapping"),
]


@pytest.mark.parametrize(("doc", "key", "text"), BAD, ids=[f"{i:02d}-{b[1]}" for i, b in enumerate(BAD)])
def test_bad_config_names_the_key_and_the_valid_values(doc, key, text, record_property):
    record_property("hostile_case", "bad custrel.yml")
    with pytest.raises(ConfigError) as err:
        parse_config(doc, path=Path("/somewhere/custrel.yml"))
    assert err.value.key == key
    message = str(err.value)
    assert message.startswith(f"/somewhere/custrel.yml: {key} ") and text in message, message


def test_bad_yaml_names_file_and_line(tmp_path, record_property):
    record_property("hostile_case", "bad custrel.yml")
    path = tmp_path / "custrel.yml"
    path.write_text("tables:\n  transactions: {path: t.csv\nlanguage: fr\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and re.search(r"line \d+, column \d+", str(err.value))


def _rules_config(tmp_path: Path, rules: list) -> Path:
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\nC1,2024-01-01,5\n", encoding="utf-8")
    path = tmp_path / "custrel.yml"
    doc = {"tables": {"transactions": {"path": "tx.csv"}}, "stages": {"rules": rules}}
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_unknown_stage_feature_points_at_the_rule_and_lists_the_features(tmp_path, record_property):
    record_property("hostile_case", "bad stage rules in custrel.yml")
    rules = [
        {"stage": "prospect", "when": {"feature": "n_purchases", "op": "==", "value": 0}},
        {"stage": "separe", "when": {"all": [{"feature": "loyalty_score", "op": ">", "value": 3}]}},
        {"stage": "flirt"},
    ]
    path = _rules_config(tmp_path, rules)
    with pytest.raises(RuleError) as err:
        rules_from_config(load_config(path))
    message = str(err.value)
    assert message.startswith(
        f"{path.resolve()}: stages.rules[1].when.all[0]: unknown feature 'loyalty_score'"
    )
    assert ", ".join(sorted({*FEATURE_COLUMNS, *SIGNAL_FEATURES})) in message
    # custrel validate refuses it before reading the data: one line, exit status 1.
    result = CliRunner().invoke(main, ["validate", "--config", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "stages.rules[1].when.all[0]: unknown feature 'loyalty_score'" in result.stderr
    assert "Rows per table" not in result.output


def test_unknown_stage_and_rules_file_relative_to_the_config(tmp_path, record_property):
    record_property("hostile_case", "bad stage rules in custrel.yml")
    path = _rules_config(tmp_path, [{"stage": "divorce"}])
    with pytest.raises(
        RuleError, match=r"stages\.rules\[0\]: unknown stage 'divorce'\. Stages: prospect, flirt"
    ):
        rules_from_config(load_config(path))
    (tmp_path / "mine.yml").write_text("rules:\n  - {stage: flirt}\n", encoding="utf-8")
    path.write_text("tables: {transactions: tx.csv}\nstages: {rules_file: mine.yml}\n", encoding="utf-8")
    assert rules_from_config(load_config(path)).stages == ["flirt"]
