"""A large stage history is computed in parts of customers, each part's window within DuckDB's memory limit:
the parts together are the whole history, equal to the pandas reference."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from custrel_lib.io.sample import generate_sample
from custrel_lib.stages import history as hist
from custrel_lib.stages.model import StageModel

AS_OF = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def small():
    d = generate_sample(300, 5)
    return {"transactions": d.transactions, "customers": d.customers, "interactions": d.interactions}


def test_parts_follow_duckdb_memory_limit():
    """One query while the grid's bound times ONE_QUERY_BYTES fits in DuckDB's limit; beyond, the grid's rows
    times BYTES_PER_ROW over the limit, rounded up."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET memory_limit = '1GiB'")
    one = 2**30 // hist.ONE_QUERY_BYTES
    assert hist.n_parts(con, 1000) == 1
    assert hist.n_parts(con, one) == 1
    assert hist.n_parts(con, one + 1) == -(-(one + 1) * hist.BYTES_PER_ROW // 2**30) > 1
    assert hist.n_parts(con, 5 * 2**30 // hist.BYTES_PER_ROW) == 5
    con.raw_sql("SET memory_limit = '500MB'")  # shown as 476.8 MiB
    assert abs(hist.memory_limit_bytes(con) - 500e6) < 1e5
    assert hist.n_parts(con, 5 * 2**30 // hist.BYTES_PER_ROW) == 11


def _in_parts(monkeypatch, model: StageModel, n: int) -> StageModel:
    """Bytes per row such that ``model``'s history is computed in ``n`` parts within DuckDB's default limit."""
    per_row = hist.memory_limit_bytes(model._con) * (n - 0.5) / model._at_snapshot.grid_rows
    monkeypatch.setattr(hist, "BYTES_PER_ROW", per_row)
    monkeypatch.setattr(hist, "ONE_QUERY_BYTES", per_row)
    assert hist.n_parts(model._con, model._at_snapshot.grid_rows) == n
    return model


@pytest.mark.parametrize("tables", ["all", "transactions only"])
@pytest.mark.parametrize("where", ["parquet", "temp table"])
def test_materialized_parts_equal_the_reference(small, monkeypatch, tmp_path, tables, where):
    data = small if tables == "all" else {"transactions": small["transactions"]}
    engine = _in_parts(monkeypatch, StageModel(cadence="quarter").fit(data, AS_OF), 3)
    assert len(engine._staged_parts()) == 3
    engine.materialize(tmp_path if where == "parquet" else None)
    if where == "parquet":
        files = sorted(tmp_path.glob("staged-*.parquet"))
        sizes = [len(pd.read_parquet(f)) for f in files]
        assert len(files) == 3 and min(sizes) > 0
        ids = [set(pd.read_parquet(f)["customer_id"]) for f in files]
        assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert len(engine._staged_parts()) == 1  # kept: read back, not computed again
    reference = StageModel(cadence="quarter", backend="pandas").fit(data, AS_OF)
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    pd.testing.assert_frame_equal(engine.current_, reference.current_)


@pytest.mark.parametrize("sort", [False, True])
def test_written_parts_equal_one_query(small, monkeypatch, tmp_path, sort):
    """``write_history`` in three parts writes one file: the rows of the one-query history, and no parts left."""
    three_parts = _in_parts(monkeypatch, StageModel(cadence="quarter").fit(small, AS_OF), 3)
    parts = three_parts.write_history(tmp_path / "out" / "parts.parquet", sort=sort)
    monkeypatch.setattr(hist, "BYTES_PER_ROW", 1)
    monkeypatch.setattr(hist, "ONE_QUERY_BYTES", 1)
    assert len(three_parts._staged_parts()) == 1
    whole = three_parts.write_history(tmp_path / "whole.parquet", sort=sort)
    a, b = pd.read_parquet(parts), pd.read_parquet(whole)
    assert list(a.columns) == hist.EXPORT_COLUMNS and len(a) == len(b) > 0
    key = ["customer_id", "snapshot"]
    if sort:
        assert a[key].equals(a[key].sort_values(key))
    a, b = (x.sort_values(key).reset_index(drop=True) for x in (a, b))
    pd.testing.assert_frame_equal(a, b)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["parts.parquet"]
