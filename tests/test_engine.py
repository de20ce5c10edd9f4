"""One engine setting, read in one place: custrel.yml's ``engine:`` key and the estimators' ``backend``."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
import yaml

from custrel_lib.config import load_config, parse_config
from custrel_lib.engine import EngineSpec, check_engine, connect, is_reference
from custrel_lib.exceptions import ConfigError, EngineError
from custrel_lib.journeys.transitions import Transitions
from custrel_lib.stages.model import StageModel

TABLES = {"tables": {"transactions": "tx.csv"}}


def test_default_is_in_process_duckdb():
    assert check_engine(None) == EngineSpec("duckdb") == check_engine("duckdb")
    assert parse_config(TABLES).engine == EngineSpec("duckdb")
    con = connect()
    assert con.name == "duckdb" and int(con.execute(ibis.literal(41) + 1)) == 42


def test_config_forms(tmp_path):
    spark = parse_config({**TABLES, "engine": {"name": "pyspark", "settings": {"master": "local[2]"}}})
    assert spark.engine == EngineSpec("pyspark", {"master": "local[2]"})
    assert parse_config({**TABLES, "engine": "pyspark"}).engine == EngineSpec("pyspark")
    url = parse_config({**TABLES, "engine": "postgres://me:secret@db.example/crm"}).engine
    assert url.name == "url" and url.url == "postgres://me:secret@db.example/crm"
    assert url.describe() == "postgres://me:***@db.example/crm"  # no password in logs or manifests
    path = tmp_path / "custrel.yml"
    path.write_text(yaml.safe_dump({**TABLES, "engine": {"name": "duckdb", "settings": {"threads": 1}}}))
    assert load_config(path).engine == EngineSpec("duckdb", {"threads": 1})


@pytest.mark.parametrize(
    ("engine", "message"),
    [
        ("spark", "unknown engine 'spark'"),
        ({"name": "oracle"}, "engine.name must be one of duckdb, pyspark, not 'oracle'"),
        ({"name": "pyspark", "settings": "local"}, "engine.settings must be a mapping"),
        ({"name": "pyspark", "master": "local"}, "unknown key(s) master"),
        (42, "unknown engine 42"),
    ],
)
def test_bad_settings_name_the_file(tmp_path, engine, message):
    path = tmp_path / "custrel.yml"
    path.write_text(yaml.safe_dump({**TABLES, "engine": engine}))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_settings_and_urls_reach_the_backend(tmp_path, monkeypatch):
    con = connect({"name": "duckdb", "settings": {"threads": 1}})
    assert con.raw_sql("SELECT current_setting('threads')").fetchall() == [(1,)]
    monkeypatch.setenv("CUSTREL_TEST_DB", str(tmp_path / "crm.ddb"))
    con = connect("duckdb://${CUSTREL_TEST_DB}")  # the path (or a password) comes from the environment
    con.create_table("t", pd.DataFrame({"a": [1, 2]}))
    assert (tmp_path / "crm.ddb").exists()
    assert connect(con) is con  # a live connection is used as is
    with pytest.raises(EngineError, match="Cannot connect to nosuchbackend://x"):
        connect("nosuchbackend://x")


def test_estimators_share_the_rules():
    assert is_reference("pandas") and not is_reference(None) and not is_reference("duckdb")
    for make in (lambda b: StageModel(backend=b), lambda b: Transitions(backend=b)):
        make("pandas")
        make("pyspark")  # checked, not started: no Spark session for a setting
        with pytest.raises(ConfigError, match="backend: unknown engine 'sqlite3'"):
            make("sqlite3")


def test_the_report_engine_is_capped_spills_and_lets_go_once_the_stages_are_written():
    """``spilling_duckdb``: 3GB and a private spill folder; ``settle`` lowers the cap to 1GB after the staged table
    is written. A limit set in the engine's settings is the user's: neither touches it."""
    from custrel_lib.engine import settle, spill_folder, spilling_duckdb

    def limit(con) -> str:
        return con.raw_sql("SELECT current_setting('memory_limit')").fetchall()[0][0]

    con = spilling_duckdb(None)
    capped = limit(con)
    assert spill_folder(con).is_dir()
    settle(con)
    assert limit(con) != capped and limit(con).startswith(("953", "1.0", "1000"))  # 1GB, as DuckDB prints it
    user = spilling_duckdb(EngineSpec("duckdb", {"memory_limit": "500MB"}))
    before = limit(user)
    settle(user)
    assert limit(user) == before and before.startswith(("476", "500"))
