"""The engine loader never loads a whole table into memory: a Parquet file larger than the memory budget is
loaded, checked and counted by a child process whose peak memory (max RSS) stays under the budget."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pytest

from custrel_lib.io.problems import LISTED

pytestmark = pytest.mark.slow

ROWS = 5_500_000
BUDGET_MB = 400  # the child's peak RSS; the file below is larger (about 480 MB)
# DuckDB's own limit: it spills to disk beyond it. The loader keeps each typed table in the engine (spilled beyond
# the limit), so DuckDB fills its allowance: the child's peak is about 130 MB of Python, the limit, and about
# 100 MB of DuckDB's own bookkeeping (measured: 304 MB at 100MB, 372 MB at 150MB, 501 MB at 250MB).
ENGINE_MEMORY = "100MB"

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    import ibis
    from custrel_lib.io.load import load_tables

    def peak_mb():
        # VmHWM: the high-water mark of this process's own memory since exec. ru_maxrss is not used: Linux
        # carries it over from the parent across fork + exec, so a large test worker would be counted.
        try:
            with open("/proc/self/status") as fh:
                return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    folder, memory = sys.argv[1], sys.argv[2]
    con = ibis.duckdb.connect()
    con.con.execute(f"SET memory_limit = '{memory}'; SET threads = 1; SET temp_directory = '{folder}/spill'")
    result = load_tables(folder + "/custrel.yml", engine=True, con=con)
    tx = result.tables["transactions"]
    # One full pass over every column of the kept table, in the engine.
    totals = con.con.sql(
        "SELECT count(*), sum(amount), max(date), sum(length(channel)) FROM custrel_transactions"
    ).fetchall()[0]
    print(json.dumps({
        "counts": result.problems.counts["transactions"],
        "reasons": result.problems.rows.groupby("reason").size().to_dict(),
        "rows": totals[0], "amount": totals[1], "max_date": str(totals[2]), "channel_chars": totals[3],
        "is_ibis": not hasattr(tx, "iloc"),
        "peak_mb": peak_mb(),
    }))
    """
)


def _write_parquet(folder) -> int:
    """Transactions with an incompressible 64-character text column; three planted bad rows."""
    con = duckdb.connect()
    con.execute(
        f"""COPY (
            SELECT 'C' || (i % 200000) AS customer_id,
                   CASE WHEN i = 7 THEN DATE '2031-01-01' ELSE DATE '2023-01-01' + CAST(i % 1000 AS INTEGER) END
                       AS date,
                   CASE WHEN i = 11 THEN NULL ELSE CAST(i % 997 AS DOUBLE) + 0.5 END AS amount,
                   'O' || CASE WHEN i = 13 THEN 12 ELSE i END AS order_id,
                   md5(CAST(i AS VARCHAR)) || md5(CAST(-i AS VARCHAR)) AS channel
            FROM range({ROWS}) t(i)
        ) TO '{folder}/transactions.parquet' (FORMAT parquet, COMPRESSION 'uncompressed', ROW_GROUP_SIZE 100000)"""
    )
    con.close()
    (folder / "custrel.yml").write_text(
        "tables:\n  transactions: {path: transactions.parquet}\nanalysis: {as_of: 2025-12-31}\n",
        encoding="utf-8",
    )
    return (folder / "transactions.parquet").stat().st_size


def _child(script: str, folder) -> dict:
    """What ``script`` prints last (JSON), run in a fresh process on ``folder`` within :data:`ENGINE_MEMORY`."""
    out = subprocess.run(
        [sys.executable, "-c", script, str(folder), ENGINE_MEMORY],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_loader_stays_under_a_memory_budget_smaller_than_the_file(tmp_path):
    size_mb = _write_parquet(tmp_path) / 2**20
    assert size_mb > BUDGET_MB  # loading the file whole could not fit the budget
    got = _child(CHILD, tmp_path)
    print(f"\nfile {size_mb:,.0f} MB, child peak RSS {got['peak_mb']:,.0f} MB (budget {BUDGET_MB} MB)")
    assert got["is_ibis"]
    # Three rows rejected (a future date, an empty amount, a repeated order id), nothing lost.
    assert got["counts"] == {"read": ROWS, "kept": ROWS - 3, "rejected": 3}
    assert got["reasons"] == {"future_date": 1, "missing_value": 1, "duplicate_order_id": 1}
    assert got["rows"] == ROWS - 3 and got["channel_chars"] == 64 * (ROWS - 3)
    kept = [7, 11, 13]
    expected = sum(i % 997 + 0.5 for i in range(ROWS)) - sum(i % 997 + 0.5 for i in kept)
    assert got["amount"] == pytest.approx(expected, rel=1e-12)
    assert got["max_date"] == "2025-09-26"  # 2023-01-01 + 999 days
    assert got["peak_mb"] < BUDGET_MB


KEEP_ROWS = 2_000_000
KEEP_CHILD = textwrap.dedent(
    """
    import json, sys
    import ibis
    from custrel_lib.io.load import load_tables

    folder, memory = sys.argv[1], sys.argv[2]
    con = ibis.duckdb.connect()
    con.con.execute(f"SET memory_limit = '{memory}'; SET threads = 1; SET temp_directory = '{folder}/spill'")
    result = load_tables(folder + "/custrel.yml", engine=True, con=con)
    with open("/proc/self/status") as fh:
        peak = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
    print(json.dumps({
        "counts": result.problems.counts["transactions"],
        "listed": len(result.problems.rows),
        "by_column": result.problems.rows_by_column("transactions", "excluded"),
        "peak_mb": peak,
    }))
    """
)


def test_rows_left_out_by_keep_are_counted_in_the_engine_not_listed_in_memory(tmp_path):
    """A web log of 2,000,000 events of which ``keep:`` leaves out the 1,800,000 views: listing each in pandas
    took about 2 GB; the first ten thousand are listed, every one counted, within the budget."""
    con = duckdb.connect()
    con.execute(
        f"""COPY (
            SELECT 'C' || (i % 100000) AS customer_id, DATE '2023-01-01' + CAST(i % 1000 AS INTEGER) AS date,
                   CAST(i % 997 AS DOUBLE) + 0.5 AS amount,
                   CASE WHEN i % 10 = 0 THEN 'purchase' ELSE 'view' END AS event_type
            FROM range({KEEP_ROWS}) t(i)
        ) TO '{tmp_path}/events.parquet' (FORMAT parquet)"""
    )
    con.close()
    (tmp_path / "custrel.yml").write_text(
        "tables:\n  transactions:\n    path: events.parquet\n    keep: {event_type: [purchase]}\n"
        "analysis: {as_of: 2025-12-31}\n",
        encoding="utf-8",
    )
    got = _child(KEEP_CHILD, tmp_path)
    print(f"\n{KEEP_ROWS:,} events, child peak RSS {got['peak_mb']:,.0f} MB (budget {BUDGET_MB} MB)")
    left_out = KEEP_ROWS * 9 // 10
    assert got["counts"] == {
        "read": KEEP_ROWS,
        "kept": KEEP_ROWS - left_out,
        "rejected": 0,
        "excluded": left_out,
    }
    assert got["by_column"] == {"event_type": left_out}
    assert got["listed"] == LISTED
    assert got["peak_mb"] < BUDGET_MB
