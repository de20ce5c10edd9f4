"""Shared fixtures: the committed sample (tables + ground truth) and small generated samples."""

from __future__ import annotations

import fcntl
import pickle
from pathlib import Path

import pandas as pd
import pytest

from custrel_lib.paths import SAMPLE_DIR


def _read_sample_tables() -> dict[str, pd.DataFrame]:
    """The committed sample in canonical form, read with plain pandas (independent of custrel_lib.io.load)."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str, keep_default_na=False)
    tx = pd.DataFrame(
        {
            "customer_id": tx["customer_id"].astype("string"),
            "date": pd.to_datetime(tx["date"], format="%Y-%m-%d"),
            "amount": tx["amount"].astype("float64"),
            "order_id": tx["order_id"].replace("", pd.NA).astype("string"),
            "category": tx["category"].replace("", pd.NA).astype("string"),
            "channel": tx["channel"].replace("", pd.NA).astype("string"),
        }
    )
    cu = pd.read_csv(SAMPLE_DIR / "customers.csv", dtype=str, keep_default_na=False)
    cu = pd.DataFrame(
        {
            "customer_id": cu["customer_id"].astype("string"),
            "signup_date": pd.to_datetime(cu["signup_date"].replace("", None), format="%Y-%m-%d"),
            "contract_start": pd.to_datetime(cu["contract_start"].replace("", None), format="%Y-%m-%d"),
            "contract_end": pd.to_datetime(cu["contract_end"].replace("", None), format="%Y-%m-%d"),
            "end_reason": cu["end_reason"].replace("", pd.NA).astype("string"),
            "loyalty_member": cu["loyalty_member"].map({"True": True, "False": False}).astype("boolean"),
            "acquisition_channel": cu["acquisition_channel"].replace("", pd.NA).astype("string"),
            "region": cu["region"].replace("", pd.NA).astype("string"),
        }
    )
    it = pd.read_csv(SAMPLE_DIR / "interactions.csv", dtype=str, keep_default_na=False)
    it = pd.DataFrame(
        {
            "customer_id": it["customer_id"].astype("string"),
            "date": pd.to_datetime(it["date"], format="%Y-%m-%d"),
            "type": it["type"].astype("string"),
            "score": pd.to_numeric(it["score"].replace("", None)).astype("float64"),
            "resolved": it["resolved"].map({"True": True, "False": False}).astype("boolean"),
        }
    )
    return {"transactions": tx, "customers": cu, "interactions": it}


@pytest.fixture(scope="session")
def sample_tables() -> dict[str, pd.DataFrame]:
    """Canonical tables of ``data/sample`` (copies are cheap: do not mutate)."""
    return _read_sample_tables()


@pytest.fixture(scope="session")
def sample_as_of() -> pd.Timestamp:
    return pd.Timestamp("2025-12-31")


@pytest.fixture(scope="session")
def sample_truth() -> dict[str, pd.DataFrame]:
    """Ground truth of the committed sample: ``customers`` (true type, churn dates) and ``stages`` (spells)."""
    return {
        "customers": pd.read_csv(SAMPLE_DIR / "truth" / "customers.csv"),
        "stages": pd.read_csv(SAMPLE_DIR / "truth" / "stages.csv"),
    }


@pytest.fixture(scope="session")
def report_run(request, tmp_path_factory):
    """The full report on the sample, run once per test session (report and browser tests share it).

    Under pytest-xdist every worker is a session of its own: the first worker to ask runs the report in the
    directory the workers share, the others wait for it (a file lock) and read the same run. Tests read it and
    never write into its run folder (``test_failed_run_leaves_the_previous_report_untouched`` checks that a
    failed run leaves it byte for byte).
    """
    from custrel_lib.reports.run import run_report

    def run(reports: Path):
        return run_report(reports_dir=reports, run_id="first", progress=False), reports

    if not hasattr(request.config, "workerinput"):  # one process: nothing to share
        return run(tmp_path_factory.mktemp("reports"))
    shared = tmp_path_factory.getbasetemp().parent  # pytest-N/, the parent of every worker's popen-gwK/
    with open(shared / "report_run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the run fails
        done = shared / "report_run.pickle"
        if not done.exists():
            done.write_bytes(pickle.dumps(run(shared / "reports")))
        return pickle.loads(done.read_bytes())


# The longest test files, longest first (seconds of each in `make test` on a slow hour, from its --durations,
# 2026-12-03 18:00).
# `make test` runs two workers, each taking one file at a time in collection order (--no-loadscope-reorder): a
# long file started last keeps one worker busy after the other has finished. A stale list only costs time.
LONGEST_FIRST = (
    "test_shapes.py",  # ~230: four whole reports on drawn shapes, three more on named ones
    "test_report.py",  # ~200: the sample report (shared by the workers), a second one the other way, runs locked
    "test_spark.py",  # ~180: the sample pipeline on a local Spark session
    "test_notebooks.py",  # ~100: the notebooks under nbval
    "test_hostile_report.py",  # ~90: a report on hostile strings, every page opened
    "test_benchmarks.py",  # ~70: the bench's steps on a small data set, one report on a sample of customers
    "test_wheel.py",  # ~60: a wheel installed in a fresh virtual environment, its dependencies linked
    "test_language.py",  # ~60: the English report (the French one is the shared sample report)
    "test_cohort_report.py",
    "test_memory.py",
    "test_lab_browser.py",
    "test_features.py",
    "test_explore.py",
    "test_report_parallel.py",
)


def pytest_collection_modifyitems(items):
    """Run the longest files first (:data:`LONGEST_FIRST`); the others keep their order after them."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def pytest_terminal_summary(terminalreporter):
    """Print how many hostile inputs were tried (tests record them with ``record_property``), by category.

    ``hostile_case`` names the category of one case; ``generated_files`` counts files generated by hypothesis.
    Works under pytest-xdist too: the user properties travel with each test report.
    """
    from collections import Counter

    cases: Counter = Counter()
    outcomes: Counter = Counter()
    generated = 0
    for reports in terminalreporter.stats.values():
        for rep in reports:
            if getattr(rep, "when", None) != "call":
                continue
            for name, value in getattr(rep, "user_properties", ()):
                if name == "hostile_case":
                    cases[value] += 1
                    outcomes["known gap (xfail)" if hasattr(rep, "wasxfail") else rep.outcome] += 1
                elif name == "generated_files":
                    generated += int(value)
    if not cases and not generated:
        return
    terminalreporter.section("hostile inputs")
    for category, n in sorted(cases.items()):
        terminalreporter.write_line(f"  {n:>4}  {category}")
    done = ", ".join(f"{n} {o}" for o, n in sorted(outcomes.items()))
    terminalreporter.write_line(f"  {sum(cases.values()):>4}  cases in {len(cases)} categories ({done})")
    if generated:
        terminalreporter.write_line(f"  {generated:>4}  CSV files generated by hypothesis (property tests)")
