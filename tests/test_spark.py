"""The sample pipeline on a local Spark session (PySpark through Ibis) gives exactly DuckDB's results.

The same stage and transition code runs on both engines; only the ``engine:`` key of ``custrel.yml`` differs.
Spark needs Java (`scripts/install_java.sh`, run by `make test`) and PySpark (in the ``dev`` extra). Without
them the test skips with the reason, except under CI (`CI=true`): a failure. One local core and one shuffle
partition: the sample is small, and Spark's start-up dominates anyway.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from custrel_lib.journeys.transitions import Transitions
from custrel_lib.paths import SAMPLE_CONFIG
from custrel_lib.workbench import prepare

pytestmark = pytest.mark.slow

SPARK_ENGINE = {"name": "pyspark", "settings": {"master": "local[1]", "sql.shuffle.partitions": 1}}


def _java_major() -> int | None:
    """Major version of the Java that PySpark will start (``JAVA_HOME``, else the PATH), ``None`` if none."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home, "bin", "java")) if home else shutil.which("java")
    if not java or not Path(java).exists():
        return None
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=120).stderr
    match = re.search(r'version "(?:1\.)?(\d+)', out)
    return int(match.group(1)) if match else None


def _missing() -> str | None:
    """Why Spark cannot run here, or ``None``."""
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install -e '.[dev]' or '.[spark]')"
    needed = 17 if int(importlib.metadata.version("pyspark").split(".")[0]) >= 4 else 8
    java = _java_major()
    if java is None or java < needed:
        found = "no Java runtime found" if java is None else f"Java {java} found"
        return f"{found}, PySpark needs Java {needed}+ (install it: `make java`, needs root and apt-get)"
    return None


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """The sample prepared twice from its config: as shipped (DuckDB) and with ``engine: pyspark``."""
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    doc = yaml.safe_load(SAMPLE_CONFIG.read_text(encoding="utf-8"))
    doc["data_dir"] = str(SAMPLE_CONFIG.parent)
    doc["engine"] = SPARK_ENGINE
    config = tmp_path_factory.mktemp("spark") / "custrel.yml"
    config.write_text(yaml.safe_dump(doc), encoding="utf-8")

    duck = prepare(SAMPLE_CONFIG, verbose=False)
    spark = prepare(config, verbose=False)
    con = spark.engine  # the session the stages ran in, found again
    yield duck, spark, con
    con.disconnect()


def test_config_selects_spark(engines):
    duck, spark, con = engines
    assert duck.config.engine.name == "duckdb"
    assert spark.config.engine.name == "pyspark" and con.name == "pyspark"
    assert con._session.conf.get("spark.master") == "local[1]"


def test_stage_history_equals_duckdb(engines):
    duck, spark, _ = engines
    assert spark.horizon_days == duck.horizon_days == 159
    h = duck.history
    # Not a vacuous comparison: the whole sample at 36 monthly snapshots, in many stages.
    assert len(h) == 112_574 and h["customer_id"].nunique() == 4_993 and h["stage"].nunique() >= 8
    pd.testing.assert_frame_equal(spark.history, h)


def test_transition_counts_equal_duckdb(engines):
    duck, spark, con = engines
    reference = Transitions(cadence="month").fit(duck.history)
    on_spark = Transitions(cadence="month", backend=con).fit(spark.history)
    assert on_spark._engine.con is con  # the counts really ran in Spark
    assert reference.counts_["count"].sum() > 100_000 and len(reference.counts_) > 100
    pd.testing.assert_frame_equal(on_spark.counts_, reference.counts_)
    pd.testing.assert_frame_equal(on_spark.stage_counts_, reference.stage_counts_)
    assert on_spark.n_customers_ == reference.n_customers_ == 4_993
    assert on_spark.conservation_["balanced"].all()
    pd.testing.assert_frame_equal(on_spark.paths(k=3, top=20), reference.paths(k=3, top=20))


def test_filtered_quarterly_transitions_equal_duckdb(engines):
    duck, spark, con = engines
    customers = duck.tables["customers"]
    region = customers["region"].dropna().value_counts().index[0]
    filters = {"region": region, "cohort": "2023"}
    reference = Transitions(cadence="quarter").fit(duck.history, customers, filters)
    on_spark = Transitions(cadence="quarter", backend=con).fit(
        spark.history, spark.tables["customers"], filters
    )
    assert 0 < reference.n_customers_ < 4_993
    assert on_spark.n_customers_ == reference.n_customers_
    pd.testing.assert_frame_equal(on_spark.counts_, reference.counts_)
    pd.testing.assert_frame_equal(on_spark.stage_counts_, reference.stage_counts_)
