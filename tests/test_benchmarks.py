"""The benchmark script's own steps run on a small data set (its imports and its copies of data sets cannot rot
unseen between two ``make bench`` runs). Timings are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from custrel_lib.io.sample import generate_sample

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import run as bench


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "c1500"
    generate_sample(1500, seed=3, progress=False).write(out, "parquet")
    return out


def _count(path: Path, sql: str):
    return duckdb.sql(sql.format(f=f"read_parquet('{path}')")).fetchall()[0]


def test_replicate_copies_every_customer_under_new_ids(small, tmp_path):
    rows = bench.do_replicate(str(small), 3, str(tmp_path / "c4500"))
    for name in ("transactions", "customers", "interactions"):
        n, ids = _count(small / f"{name}.parquet", "SELECT count(*), count(DISTINCT customer_id) FROM {f}")
        m, ids3 = _count(
            tmp_path / "c4500" / f"{name}.parquet", "SELECT count(*), count(DISTINCT customer_id) FROM {f}"
        )
        assert rows[name] == m == 3 * n
        assert ids3 == 3 * ids
    orders, distinct = _count(
        tmp_path / "c4500" / "transactions.parquet",
        "SELECT count(order_id), count(DISTINCT order_id) FROM {f}",
    )
    assert orders == distinct  # order ids stay unique, so the copies load without duplicate rejections


def test_survival_step_runs_on_a_seeded_sample(small):
    out = bench.do_survival(str(small), 150.0, 400)
    assert out["sampled"] == 400 and out["customers"] > 400
    assert out["episodes"] >= 350  # about one episode per sampled customer
    assert out["km_median_days"] > 0


def test_stages_and_handwritten_query_give_the_same_codes(small, tmp_path):
    lib = tmp_path / "lib.parquet"
    res = bench.do_stages(str(small), str(lib), None)
    hw = tmp_path / "hw.parquet"
    bench.do_handwritten(str(small), str(hw), res["H"], res["as_of"], None)
    assert bench.digest(str(lib)) == bench.digest(str(hw))
    assert bench.digest(str(lib))["rows"] == res["rows"] > 0


def test_transitions_step_counts_moves_from_the_written_history(small, tmp_path):
    lib = tmp_path / "lib.parquet"
    bench.do_stages(str(small), str(lib), None)
    out = bench.do_transitions(str(lib))
    assert out["count_rows"] > 0 and out["links"] > 0


def test_report_step_on_a_sample_of_customers(small, tmp_path):
    """The bench's report step, with ``analysis.fit_sample`` below the data's size: every notebook runs on the
    sampled path that a report at a million customers takes, and says so."""
    import yaml

    config = yaml.safe_load((small / "custrel.yml").read_text(encoding="utf-8"))
    config["data_dir"] = str(small)
    config.setdefault("analysis", {})["fit_sample"] = 400
    (tmp_path / "custrel.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    out = bench.do_report(str(tmp_path))
    assert out["sample"]["sampled"] == 400 and out["sample"]["customers"] > 400
    assert set(out["notebooks_s"]) == {"0.0", "1.0", "2.0", "3.0"}
    assert out["tree_peak_mb"] > 100  # the kernels' memory is counted


def test_load_step_keeps_the_same_rows_within_a_memory_limit(small):
    """The loading step with the run's DuckDB limit set (as the stages have it) keeps the rows it keeps without."""
    capped, free = bench.do_load(str(small), "500MB"), bench.do_load(str(small))
    assert capped["rows_kept"] == free["rows_kept"] > 1500


def _script(name: str, *args: str) -> str:
    """A script of benchmarks/ run with ``args`` in a fresh process (the project on its path): its output."""
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, str(root / "benchmarks" / name), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_xlsx_benchmark_runs_and_compares_the_two_readers(tmp_path):
    stdout = _script("xlsx.py", "--rows", "3000", "--repeat", "1")
    assert "the same 3,000 rows read by both" in stdout and "openpyxl / calamine:" in stdout


def test_whitespace_benchmark_runs_and_reads_both_shapes_alike(tmp_path):
    """``benchmarks/whitespace.py`` on 3,000 lines: both loaders keep every row of both files, alike (the script
    stops when the two files read differently)."""
    stdout = _script("whitespace.py", "--rows", "3000", "--repeat", "1")
    lines = [ln for ln in stdout.splitlines() if "ratio blank/comma" in ln]
    assert len(lines) == 2 and all("rows kept 3,000" in ln for ln in lines), stdout


def test_the_exclude_benchmark_runs_and_leaves_a_channel_out(small):
    """``benchmarks/exclude_cost.py`` on the small data set: the rule that matches nothing leaves no row out, the
    channel rule leaves out exactly that channel's transactions (counted in DuckDB on the file)."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "exclude_cost.py"
    out = subprocess.run(
        [sys.executable, str(script), str(small), "--rounds", "1"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    (app,) = _count(small / "transactions.parquet", "SELECT count(*) FROM {f} WHERE channel = 'app'")
    assert app > 0
    lines = out.stdout.splitlines()
    assert any("no match" in x and x.endswith("rows excluded 0") for x in lines)
    assert any("channel app" in x and x.endswith(f"rows excluded {app:,}") for x in lines)
    assert any(x.startswith("channel app") and "ratio to no rule" in x for x in lines)
