"""``exclude:`` in custrel.yml: rows left out on purpose (cancelled orders, test accounts), in both loaders.

Real exports carry orders that never happened (Olist's ``order_status = canceled``, a shop's test account): counted
as purchases, they make customers look more frequent and richer than they are. The truth check: the sample's
transactions with cancelled orders mixed in, loaded with ``exclude:``, give exactly the sample's stage history.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from custrel_lib.config import load_config
from custrel_lib.exceptions import ConfigError, DataContractError
from custrel_lib.io.load import load_tables
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.reports.data_note import data_figures, data_sentence
from custrel_lib.workbench import prepare

ROWS = """customer_id,date,amount,order_id,Statut,canal
a,2024-01-01,10,o1,livrée,web
a,2024-02-01,20,o2, ANNULÉE ,web
b,2024-01-05,30,o3,livrée,TEST
b,2024-03-05,xx,o4,livrée,web
c,2024-03-05,5,o5,annulée,web
c,2024-03-06,7,o6,,web
d,2024-03-06,5,o7,annulée,test
"""


def _write(tmp_path, exclude, body=ROWS, fmt="csv"):
    path = tmp_path / f"tx.{fmt}"
    if fmt == "csv":
        path.write_text(body, encoding="utf-8")
    else:
        pd.read_csv(pd.io.common.StringIO(body), dtype=str).to_parquet(path)
    doc = {
        "tables": {"transactions": {"path": path.name, "columns": {"channel": "canal"}, "exclude": exclude}}
    }
    (tmp_path / "custrel.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp_path / "custrel.yml"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_both_loaders_leave_out_the_same_rows_and_list_them(tmp_path, fmt):
    # "Statut" is a column of the file only; "channel" a contract column, followed to the file's "canal".
    config = _write(tmp_path, {"Statut": ["Annulée", "remboursée"], "channel": "test"}, fmt=fmt)
    results = [load_tables(config, engine=engine) for engine in (False, True)]
    for result in results:
        counts = result.problems.counts["transactions"]
        # data rows 2, 5, 7 (annulée in any case, blanks around), 3 and 7 (test): 4 rows, the 7th twice
        assert counts == {"read": 7, "kept": 2, "rejected": 1, "excluded": 4}
        assert counts["read"] == counts["kept"] + counts["rejected"] + counts["excluded"]
        kept = result.to_pandas()["transactions"]
        assert kept["order_id"].tolist() == ["o1", "o6"]  # o4: amount not a number, rejected
        rows = result.problems.rows
        left = rows[rows["action"] == "excluded"]
        first = 2 if fmt == "csv" else 1  # the line a spreadsheet shows (header = 1); Parquet's 1-based row
        expected = [(2, "Statut"), (3, "channel"), (5, "Statut"), (7, "Statut"), (7, "channel")]
        assert left[["row", "column"]].values.tolist() == [[first + i - 1, c] for i, c in expected]
        assert left["value"].tolist() == ["ANNULÉE", "TEST", "annulée", "annulée", "test"]
        assert "Statut = annulée: left out by custrel.yml" in left["message"].iloc[0]
    pandas_rows, engine_rows = (r.problems.rows.reset_index(drop=True) for r in results)
    pd.testing.assert_frame_equal(pandas_rows, engine_rows, check_dtype=False)


def test_a_numeric_status_code_in_parquet_matches_in_both_loaders(tmp_path):
    """A status code column that pandas wrote as float (a missing value makes 3 a 3.0): ``exclude: {code: [3]}``
    leaves out the same rows in both loaders (DuckDB alone would read 3.0 as the text "3.0")."""
    pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "d"],
            "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05", "2024-03-05", "2024-03-06"]),
            "amount": [10.0, 20.0, 30.0, 5.0, 7.0],
            "code": [1.0, 3.0, None, 3.0, 2.5],
        }
    ).to_parquet(tmp_path / "tx.parquet")
    doc = {"tables": {"transactions": {"path": "tx.parquet", "exclude": {"code": [3, "2.5"]}}}}
    (tmp_path / "custrel.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    results = [load_tables(tmp_path / "custrel.yml", engine=engine) for engine in (False, True)]
    for result in results:
        assert result.problems.counts["transactions"]["excluded"] == 3
        assert result.to_pandas()["transactions"]["amount"].tolist() == [10.0, 30.0]
    rows = [r.problems.rows.reset_index(drop=True) for r in results]
    assert rows[0]["value"].tolist() == ["3", "3", "2.5"]
    pd.testing.assert_frame_equal(rows[0], rows[1], check_dtype=False)


def test_without_exclude_nothing_changes(tmp_path):
    config = _write(tmp_path, None)
    result = load_tables(config)
    assert result.problems.counts["transactions"] == {"read": 7, "kept": 6, "rejected": 1}
    assert "excluded" not in set(result.problems.rows["action"])


def test_a_rule_matching_nothing_is_counted_as_zero(tmp_path):
    """A misspelt value (``canceled`` for ``annulée``) leaves nothing out: the count says 0, visibly."""
    result = load_tables(_write(tmp_path, {"Statut": ["canceled"]}), engine=True)
    assert result.problems.counts["transactions"]["excluded"] == 0
    assert "excluded" in result.problems.to_text()


def test_rows_left_out_do_not_count_as_rejected_for_the_unusable_share(tmp_path):
    """Half the rows cancelled and one in four of the others unreadable: usable (max_rejected_share 0.5)."""
    lines = ["customer_id,date,amount,Statut"]
    for i in range(40):
        status = "annulée" if i % 2 else "livrée"
        amount = "xx" if i % 8 == 0 else "10"
        lines.append(f"c{i},2024-01-{1 + i % 28:02d},{amount},{status}")
    path = tmp_path / "tx.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = {"tables": {"transactions": {"path": "tx.csv", "exclude": {"Statut": ["annulée"]}}}}
    (tmp_path / "custrel.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    problems = load_tables(tmp_path / "custrel.yml").problems
    assert problems.counts["transactions"] == {"read": 40, "kept": 15, "rejected": 5, "excluded": 20}
    assert not problems.is_fatal


def test_an_unknown_column_is_named_with_the_files_columns(tmp_path):
    config = _write(tmp_path, {"status": ["annulée"]})
    for engine in (False, True):
        with pytest.raises(DataContractError, match=r"tx\.csv.*'status'.*Statut"):
            load_tables(config, engine=engine)


def test_a_column_name_is_found_as_columns_are_found(tmp_path):
    """Case, accents and blanks aside, as ``columns:`` names are matched (``STATUT`` finds ``Statut``)."""
    config = _write(tmp_path, {"STATUT": ["annulée"], " Canal ": ["test"]})
    for engine in (False, True):
        assert load_tables(config, engine=engine).problems.counts["transactions"]["excluded"] == 4


@pytest.mark.parametrize(
    ("exclude", "message"),
    [
        ({"Statut": []}, r"exclude\.Statut must list at least one value"),
        ("Statut", r"exclude must be a mapping"),
        ({"Statut": [None]}, r"exclude\.Statut must be a value"),
    ],
)
def test_bad_exclude_blocks_are_refused_naming_the_key(tmp_path, exclude, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, exclude))


def test_the_report_says_how_many_rows_were_left_out_and_by_which_column(tmp_path):
    # Test accounts by their customer ids: the report counts them per column and never prints the ids.
    config = _write(tmp_path, {"Statut": ["annulée"], "customer_id": ["c", "d"]})
    result = load_tables(config)
    figures = data_figures(result.problems, {"transactions": "tx.csv"})["transactions"]
    assert figures["excluded"] == 4 and figures["excluded_by_column"] == {"Statut": 3, "customer_id": 3}
    fr = data_sentence(result.problems, {"transactions": "tx.csv"}, "fr")
    en = data_sentence(result.problems, {"transactions": "tx.csv"}, "en")
    assert "4 lignes écartées à dessein par custrel.yml (Statut : 3, customer_id : 3)" in fr
    assert "4 rows left out on purpose by custrel.yml (Statut: 3, customer_id: 3)" in en
    for said in (fr, en, str(figures)):
        assert "annulée" not in said and "= c" not in said and "'c'" not in said


@pytest.mark.slow
def test_cancelled_orders_left_out_give_the_samples_own_stages(tmp_path):
    """Truth: the sample with 3,000 cancelled orders mixed in, read with ``exclude:``, is the sample."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str, keep_default_na=False)
    fake = tx.sample(3_000, random_state=7).assign(order_id=lambda d: "X" + d["order_id"], status="Canceled")
    mixed = pd.concat([tx.assign(status="delivered"), fake]).sample(frac=1.0, random_state=8)
    mixed.to_csv(tmp_path / "transactions.csv", index=False)
    doc = yaml.safe_load((SAMPLE_DIR / "custrel.yml").read_text(encoding="utf-8"))
    doc["data_dir"] = str(SAMPLE_DIR)
    doc["tables"]["transactions"] = {
        "path": str(tmp_path / "transactions.csv"),
        "exclude": {"status": "canceled"},
    }
    (tmp_path / "custrel.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    sample = prepare(SAMPLE_DIR / "custrel.yml", verbose=False)
    cleaned = prepare(tmp_path / "custrel.yml", verbose=False)
    assert cleaned.problems.counts["transactions"]["excluded"] == 3_000
    assert cleaned.problems.counts["transactions"]["kept"] == sample.problems.counts["transactions"]["kept"]
    order = ["customer_id", "snapshot"]
    pd.testing.assert_frame_equal(
        cleaned.history.sort_values(order).reset_index(drop=True),
        sample.history.sort_values(order).reset_index(drop=True),
    )
    assert "3 000 lignes écartées à dessein" in cleaned.data_sentence("fr").replace("\u202f", " ")
