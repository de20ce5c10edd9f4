"""Shared fixtures: the committed sample (tables + ground truth) and small generated samples."""

from __future__ import annotations

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
def report_run(tmp_path_factory):
    """The full report on the sample, run once per test session (report and browser tests share it)."""
    from custrel_lib.reports.run import run_report

    reports = tmp_path_factory.mktemp("reports")
    run = run_report(reports_dir=reports, run_id="first", progress=False)
    return run, reports
