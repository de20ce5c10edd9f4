"""The engine loader never loads a whole table into memory: a Parquet file larger than the memory budget is
loaded, checked and counted by a child process whose peak memory (max RSS) stays under the budget."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import duckdb
import pytest

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


def test_loader_stays_under_a_memory_budget_smaller_than_the_file(tmp_path):
    size_mb = _write_parquet(tmp_path) / 2**20
    assert size_mb > BUDGET_MB  # loading the file whole could not fit the budget
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), ENGINE_MEMORY],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
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
