"""prepare() on large data: engine loading and staging, analyses on a seeded sample of customers.

The sample (4,993 customers) stands for large data: the engine path is forced (``ENGINE_BYTES = 0``) and
``analysis.fit_sample`` is set below its size. Truths: the pandas path on the same files (stages, features),
the unsampled fit (P(alive), the flame's headline, the at-risk count within its sampling error).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import custrel_lib.io.load as load_module
from custrel_lib.exceptions import ConfigError, CustrelError
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.reports import summary
from custrel_lib.reports.parameters import CACHE_ENV
from custrel_lib.sections import Sections
from custrel_lib.survival.analysis import method_notes
from custrel_lib.workbench import prepare, survival_analysis


def _config(tmp_path: Path, **analysis) -> Path:
    doc = {
        "data_dir": str(SAMPLE_DIR),
        "language": "en",
        "tables": {n: {"path": f"{n}.csv"} for n in ("transactions", "customers", "interactions")},
        "analysis": {"as_of": "2025-12-31", **analysis},
    }
    path = tmp_path / f"custrel-{len(list(tmp_path.glob('*.yml')))}.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The same data three ways: pandas path, engine path on every customer, engine path on a sample."""
    tmp = tmp_path_factory.mktemp("scale")
    plain = prepare(_config(tmp, fit_sample=0), verbose=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(load_module, "ENGINE_BYTES", 0)
        engine = prepare(_config(tmp, fit_sample=0), verbose=False)
        sampled = prepare(_config(tmp, fit_sample=1000, fit_seed=3), verbose=False)
    return plain, engine, sampled


def _by_customer(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype({"customer_id": str}).sort_values(["customer_id"]).reset_index(drop=True)


def test_the_engine_path_gives_the_pandas_paths_stages(prepared):
    plain, engine, _ = prepared
    assert plain.sample is None and engine.sample is None
    assert all(isinstance(t, pd.DataFrame) for t in engine.tables.values())
    a, b = plain.history, engine.history
    assert len(a) == len(b) == 112_574
    assert a["customer_id"].astype(str).tolist() == b["customer_id"].astype(str).tolist()
    assert a["stage"].astype(str).tolist() == b["stage"].astype(str).tolist()
    assert (a["snapshot"] == b["snapshot"]).all()
    # The signal moved the same customers; features and profiles at the last snapshot agree.
    pd.testing.assert_frame_equal(
        _by_customer(plain.stages.signal_changes_), _by_customer(engine.stages.signal_changes_)
    )
    fa, fb = _by_customer(plain.stages.features()), _by_customer(engine.stages.features())
    assert fa["stage"].astype(str).tolist() == fb["stage"].astype(str).tolist()
    for column in ("monetary", "spend_6m", "recency_days", "purchases_12m"):
        np.testing.assert_allclose(fa[column].astype(float), fb[column].astype(float), rtol=1e-9)
    pa, pb = plain.stages.profiles(lang="en").table, engine.stages.profiles(lang="en").table
    assert pa["customers"].tolist() == pb["customers"].tolist()


def test_the_sample_has_whole_customers_and_the_stages_stay_everyones(prepared):
    plain, _, sampled = prepared
    assert sampled.sample == {"customers": 4993, "sampled": 1000, "seed": 3}
    tx = sampled.tables["transactions"]
    assert tx["customer_id"].nunique() <= 1000
    full = plain.tables["transactions"]
    kept = full[full["customer_id"].isin(tx["customer_id"].unique())]
    assert len(kept) == len(tx)  # every purchase of a sampled customer
    assert sampled.history["customer_id"].nunique() == 4993
    assert len(sampled.analysis_history) < len(sampled.history)
    assert set(sampled.analysis_history["customer_id"].astype(str)) <= set(
        pd.concat([tx["customer_id"], sampled.tables["customers"]["customer_id"]]).astype(str)
    )
    # Stages before the last snapshot do not read P(alive): identical to the unsampled run.
    last = plain.as_of
    a = plain.history[plain.history["snapshot"] < last]
    b = sampled.history[sampled.history["snapshot"] < last]
    assert a["stage"].astype(str).tolist() == b["stage"].astype(str).tolist()


def test_p_alive_fitted_on_the_sample_matches_the_full_fit(prepared):
    plain, _, sampled = prepared
    assert sampled.flame.fitted_on[0] < len(sampled.flame.customers)
    both = plain.flame.customers.merge(sampled.flame.customers, on="customer_id", suffixes=("", "_s"))
    assert len(both) == len(plain.flame.customers)  # every customer has a P(alive)
    gap = (both["p_alive"] - both["p_alive_s"]).abs()
    print(f"\nP(alive) sample vs full fit: max gap {gap.max():.3f}, mean {gap.mean():.4f}")
    assert gap.mean() < 0.02 and gap.max() < 0.15
    full = plain.flame.customers["expected_value"].sum()
    assert abs(sampled.flame.customers["expected_value"].sum() / full - 1) < 0.05
    # The stage signal: mostly the same customers moved.
    a = set(plain.stages.signal_changes_["customer_id"].astype(str))
    b = set(sampled.stages.signal_changes_["customer_id"].astype(str))
    assert len(a & b) >= 0.5 * max(len(a), len(b))


def test_at_risk_figures_are_scaled_up_and_said_to_be_estimates(prepared):
    plain, _, sampled = prepared
    figures = {}
    for name, wb in (("plain", plain), ("sampled", sampled)):
        sections = Sections("en", notebook="test", display=False)
        res = survival_analysis(wb, sections)
        figures[name] = {
            h["key"]: h for h in summary.key_figures(wb.history, res, "en", None, []).get("headline")
        }
        if name == "sampled":
            notes = " ".join(method_notes(wb, res, "en"))
            assert "random sample of 1,000 of the 4,993 customers" in notes and "seed 3" in notes
            assert res.to_dict()["sample"] == sampled.sample
    truth, estimate = figures["plain"]["at_risk"]["value"], figures["sampled"]["at_risk"]["value"]
    # Binomial sampling error of the count of flagged customers among the sampled ones, scaled up.
    p = truth / 4993
    se = math.sqrt(1000 * p * (1 - p)) * 4993 / 1000
    print(f"\nat risk: {truth} on every customer, {estimate} estimated from the sample (se {se:.0f})")
    assert abs(estimate - truth) <= 3 * se
    assert (
        "Estimate: counted on a random sample of 1,000 customers"
        in figures["sampled"]["at_risk"]["definition"]
    )
    assert "Estimate" not in figures["plain"]["at_risk"]["definition"]
    flame_a, flame_b = figures["plain"]["flame_value"]["value"], figures["sampled"]["flame_value"]["value"]
    assert abs(flame_b / flame_a - 1) < 0.05  # every customer's expected value, not the sample's


def test_the_engine_workbench_travels_through_the_run_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(load_module, "ENGINE_BYTES", 0)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    first = prepare(_config(tmp_path, fit_sample=1000), verbose=False)
    again = prepare(_config(tmp_path, fit_sample=1000), verbose=False)
    assert again.sample == first.sample
    assert again.history["stage"].astype(str).tolist() == first.history["stage"].astype(str).tolist()
    assert again.stages.features()["stage"].tolist() == first.stages.features()["stage"].tolist()
    customer = again.stages.current_["customer_id"].iloc[0]
    assert again.stages.explain(customer, lang="en").stage == first.stages.explain(customer, lang="en").stage
    with pytest.raises(CustrelError, match="opened by hand"):
        again.stages.features(again.stages.snapshots_[0])


@pytest.mark.parametrize("value", [-1, 2.5, "many"])
def test_fit_sample_must_be_a_whole_number(tmp_path, value):
    with pytest.raises(ConfigError, match=r"analysis\.fit_sample"):
        prepare(_config(tmp_path, fit_sample=value), verbose=False)


def test_the_extended_flame_predicts_again_over_another_horizon(prepared):
    from custrel_lib.flame.extend import at_horizon

    _, _, sampled = prepared
    flame = sampled.flame
    same = at_horizon(flame, flame.horizon_days)
    pd.testing.assert_frame_equal(same.customers, flame.customers)
    longer = at_horizon(flame, 2 * flame.horizon_days)
    assert longer.horizon_days == 2 * flame.horizon_days and longer.fitted_on == flame.fitted_on
    more = longer.customers["expected_purchases"] - flame.customers["expected_purchases"]
    assert (more >= 0).all() and more.sum() > 0
    np.testing.assert_allclose(longer.customers["p_alive"], flame.customers["p_alive"])
