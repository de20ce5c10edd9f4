"""The engine path end to end: files checked in DuckDB, stages computed and written there, equal to pandas."""

from __future__ import annotations

import hashlib

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.io.load import load_tables
from custrel_lib.stages.model import StageModel


def _digest(history: pd.DataFrame) -> str:
    """A hash of ``customer_id, snapshot, stage`` in a canonical order and text form."""
    h = history[["customer_id", "snapshot", "stage"]].astype(
        {"customer_id": str, "snapshot": "datetime64[ns]", "stage": str}
    )
    h = h.sort_values(["customer_id", "snapshot"]).reset_index(drop=True)
    text = h["customer_id"] + "|" + h["snapshot"].dt.strftime("%Y-%m-%d") + "|" + h["stage"]
    return hashlib.sha256("\n".join(text).encode()).hexdigest()


@pytest.fixture(scope="module")
def pandas_model():
    loaded = load_tables(None)
    return StageModel(backend="pandas").fit(loaded.tables, loaded.as_of)


@pytest.fixture(scope="module")
def engine_model():
    loaded = load_tables(None, engine=True)
    assert all(not isinstance(t, pd.DataFrame) for t in loaded.tables.values())
    return StageModel().fit(loaded.tables, loaded.as_of)


def test_engine_history_equals_the_pandas_reference(pandas_model, engine_model):
    assert engine_model.horizon_days_ == pandas_model.horizon_days_ == 159
    history = engine_model._con.execute(engine_model.history_table())
    assert len(history) == len(pandas_model.history_) == 112_574
    assert _digest(history) == _digest(pandas_model.history_)
    # The per-customer results computed in the engine equal the reference too.
    pd.testing.assert_frame_equal(engine_model.current_, pandas_model.current_)
    pd.testing.assert_frame_equal(engine_model.summary, pandas_model.summary)


def test_rule_numbers_name_the_rule_that_placed_each_customer(pandas_model, engine_model):
    history = engine_model._con.execute(engine_model.history_table())
    rules = engine_model.rules_.rules
    assert (history["stage"] == history["rule"].map(lambda r: rules[r - 1].stage)).all()
    # The default rules have one rule per stage, so the rule follows from the stage; the pandas path agrees.
    reference = pandas_model._con is None and pandas_model._rules_pandas
    assert sorted(history["rule"].value_counts().tolist()) == sorted(reference.value_counts().tolist())


def test_stages_command_streams_the_history_to_parquet(tmp_path, pandas_model):
    out = tmp_path / "stages.parquet"
    result = CliRunner().invoke(main, ["stages", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "112,574 stage rows (36 snapshots to 2025-12-31, H = 159 days)" in result.output
    written = pq.read_table(out)
    assert written.column_names == ["customer_id", "snapshot", "stage", "rule", "ambassador"]
    assert str(written.schema.field("snapshot").type) == "date32[day]"
    df = written.to_pandas()
    assert _digest(df) == _digest(pandas_model.history_)
    ambassadors = pandas_model.history_.set_index(["customer_id", "snapshot"])["ambassador"]
    got = df.assign(snapshot=pd.to_datetime(df["snapshot"])).set_index(["customer_id", "snapshot"])[
        "ambassador"
    ]
    assert got.reindex(ambassadors.index).equals(ambassadors)


def test_stages_command_refuses_unusable_data(tmp_path):
    (tmp_path / "tx.csv").write_text(
        "customer_id,date,amount\nC1,pas de date,5\n,2024-01-01,x\n", encoding="utf-8"
    )
    (tmp_path / "custrel.yml").write_text("tables:\n  transactions: {path: tx.csv}\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["stages", "--config", str(tmp_path / "custrel.yml"), "--out", str(tmp_path / "s.parquet")]
    )
    assert result.exit_code == 1 and "unusable" in result.output
    assert not (tmp_path / "s.parquet").exists()


def test_progress_bars_show_on_stderr_and_stay_off_when_asked(capsys):
    from custrel_lib.progress import Steps

    steps = Steps(["read", "check"], "load", enabled=True)
    steps.done()
    steps.done()
    steps.close()
    shown = capsys.readouterr().err
    assert "load" in shown and "0/2" in shown
    quiet = Steps(["read", "check"], "load", enabled=False)
    quiet.done()
    quiet.close()
    assert capsys.readouterr().err == ""
    load_tables(None, engine=True, progress=False)
    assert "load" not in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_engine_reads_a_french_excel_csv_with_euro_signs(tmp_path, encoding):
    """A cp1252 export (French Excel's "CSV") with €, Œ and curly quotes, and a UTF-16 one: DuckDB reads neither
    (it refused the € when the file was read as latin-1), so the engine reads a UTF-8 copy, like the pandas
    loader; both loaders return the same table, and `custrel stages` runs on it."""
    text = (
        "N° client;Date;Montant TTC;Rayon\nC1;02/01/2024;1\u00a0234,50 €;Électro €\n"
        "C2;03/01/2024;6,00 €;Œuvres “spéciales”\nC1;04/02/2024;12,5 €;Électro €\n"
    )
    (tmp_path / "ventes.csv").write_bytes(text.encode(encoding))
    config = tmp_path / "custrel.yml"
    config.write_text(
        "tables:\n  transactions:\n    path: ventes.csv\n"
        "    columns: {customer_id: N° client, date: Date, amount: Montant TTC, category: Rayon}\n"
        "analysis:\n  as_of: 2024-03-31\n",
        encoding="utf-8",
    )
    pandas_tx = load_tables(config).tables["transactions"]
    engine = load_tables(config, engine=True)
    assert engine.formats["transactions"]["encoding"] == encoding
    engine_tx = engine.tables["transactions"].to_pandas()
    assert (
        engine_tx["category"].tolist()
        == pandas_tx["category"].tolist()
        == [
            "Électro €",
            "Œuvres “spéciales”",
            "Électro €",
        ]
    )
    assert engine_tx["amount"].tolist() == pandas_tx["amount"].tolist() == [1234.5, 6.0, 12.5]
    assert engine.problems.rows.empty
    out = CliRunner().invoke(main, ["stages", "--config", str(config), "--out", str(tmp_path / "h.parquet")])
    assert out.exit_code == 0, out.output
