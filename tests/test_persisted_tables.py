"""Loaded tables that hold much of DuckDB's memory limit are written to Parquet once checked: the same tables,
the same problems report, the same stage history, the memory freed and the files removed with the connection."""

from __future__ import annotations

import gc
from pathlib import Path

import ibis
import pandas as pd
import pytest

from custrel_lib.io import scan
from custrel_lib.io.load import load_tables
from custrel_lib.stages.model import StageModel
from tests.test_engine_path import _digest
from tests.test_io import BAD_CUSTOMERS, BAD_INTERACTIONS, BAD_TX, _write_config

TYPED = "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '__custrel_typed_%'"


def _load(config, heavy: bool, monkeypatch):
    """The engine load of ``config`` on a new connection, its tables persisted or not."""
    monkeypatch.setattr(scan, "HEAVY_SHARE", 0.0 if heavy else 1e9)
    con = ibis.duckdb.connect()
    return load_tables(config, engine=True, con=con)


def _files(result) -> list[str]:
    rows = result.con.con.sql(
        "SELECT sql FROM duckdb_views() WHERE view_name LIKE '__custrel_rows_%'"
    ).fetchall()
    return [r[0] for r in rows if "read_parquet" in r[0]]


def test_sample_tables_persisted_equal_the_tables_in_memory(monkeypatch):
    kept = _load(None, heavy=False, monkeypatch=monkeypatch)
    moved = _load(None, heavy=True, monkeypatch=monkeypatch)
    assert kept.con.con.sql(TYPED).fetchall()[0][0] == 3 and not _files(kept)
    assert moved.con.con.sql(TYPED).fetchall()[0][0] == 0 and len(_files(moved)) == 3
    for name, frame in kept.to_pandas().items():
        pd.testing.assert_frame_equal(moved.to_pandas()[name], frame)
    assert moved.problems.counts == kept.problems.counts
    a = StageModel().fit(kept.tables, kept.as_of)
    b = StageModel().fit(moved.tables, moved.as_of)
    assert b.horizon_days_ == a.horizon_days_
    assert _digest(b._con.execute(b.history_table())) == _digest(a._con.execute(a.history_table()))


@pytest.fixture
def bad_files(tmp_path):
    (tmp_path / "tx.csv").write_text(BAD_TX, encoding="utf-8")
    (tmp_path / "cu.csv").write_text(BAD_CUSTOMERS, encoding="utf-8")
    (tmp_path / "it.csv").write_text(BAD_INTERACTIONS, encoding="utf-8")
    return _write_config(
        tmp_path,
        "tables:\n  transactions: {path: tx.csv}\n  customers: {path: cu.csv}\n  interactions: {path: it.csv}\n"
        "analysis: {as_of: 2024-12-31}\n",
    )


def test_persisted_tables_leave_out_the_rejected_rows_and_keep_the_repairs(bad_files, monkeypatch):
    kept = _load(bad_files, heavy=False, monkeypatch=monkeypatch)
    moved = _load(bad_files, heavy=True, monkeypatch=monkeypatch)
    assert moved.problems.counts["transactions"] == {"read": 9, "kept": 3, "rejected": 6}
    pd.testing.assert_frame_equal(moved.problems.rows, kept.problems.rows)
    for name, frame in kept.to_pandas().items():
        pd.testing.assert_frame_equal(moved.to_pandas()[name], frame)
    # The score 14 (out of 0-10) was emptied by the checks: still empty once read back from Parquet.
    it = moved.to_pandas()["interactions"]
    assert it["score"].isna().sum() == kept.to_pandas()["interactions"]["score"].isna().sum() >= 1


def test_the_files_go_where_duckdb_spills_and_go_with_the_connection(monkeypatch, tmp_path):
    monkeypatch.setattr(scan, "HEAVY_SHARE", 0.0)
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET temp_directory = '{tmp_path / 'spill'}'")
    moved = load_tables(None, engine=True, con=con)
    files = [Path(f.split("read_parquet('")[1].split("'")[0]) for f in _files(moved)]
    assert len(files) == 3 and all(f.is_file() for f in files)
    folder = files[0].parent
    assert folder.parent == tmp_path / "spill"
    del moved, con
    gc.collect()
    assert not folder.exists()


def test_tables_are_persisted_above_their_share_of_the_memory_limit(monkeypatch):
    """The rule reads what DuckDB holds for the tables: just above the share it persists, just below not."""
    monkeypatch.setattr(scan, "HEAVY_SHARE", 1e9)
    con = ibis.duckdb.connect()
    con.raw_sql("SET memory_limit = '1GB'")
    load_tables(None, engine=True, con=con)
    held = con.con.sql("SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'")
    share = held.fetchall()[0][0] / scan.memory_limit_bytes(con)
    assert 0 < share < 0.1  # the sample's tables: a few MB
    monkeypatch.setattr(scan, "HEAVY_SHARE", share * 0.9)
    assert scan._heavy(con)
    monkeypatch.setattr(scan, "HEAVY_SHARE", share * 1.1)
    assert not scan._heavy(con)
    # The default share keeps the sample's tables in memory.
    monkeypatch.setattr(scan, "HEAVY_SHARE", 0.5)
    assert not scan._heavy(con)
