"""No future information in the past: truncating the data at a snapshot does not change that snapshot's stages.

The data known at a snapshot ``s``: transactions and interactions dated on or before ``s``; customers signed up
by ``s`` (or with a purchase by then), their contract dates only when on or before ``s``; the undated
``loyalty_member`` flag unknown (it is observed at extraction). The stage model fitted on that data with
``as_of = s`` must give, at ``s``, the stages (and features) of the model fitted on all the data.

H is one value for every snapshot, passed explicitly here: derived from the data it would use purchases after
``s`` (the stated exception, :meth:`StageModel.lookahead_note`). Complaint resolutions (``resolved``, undated)
are kept as recorded at extraction: the other stated exception; the default rules do not use them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.io.sample import true_stages_at
from custrel_lib.stages.features import FEATURE_COLUMNS, horizon_pandas
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.rules import default_rules

SNAPSHOT = pd.Timestamp("2024-06-30")


def _with_loyal_only(tables: dict, seed: int = 3) -> dict:
    """The sample, where 15 % of the customers without a contract are loyalty-programme members.

    (In the sample only contract customers are members, so the flag never decides a stage on its own.)
    """
    cu = tables["customers"].copy()
    rng = np.random.default_rng(seed)
    pick = cu["contract_start"].isna().to_numpy() & (rng.uniform(size=len(cu)) < 0.15)
    cu["loyalty_member"] = cu["loyalty_member"].mask(pick, True)
    return {**tables, "customers": cu}


def truncate(tables: dict, s: pd.Timestamp) -> dict:
    """What was known at ``s`` (see the module docstring)."""
    tx = tables["transactions"]
    tx = tx[tx["date"] <= s]
    it = tables["interactions"]
    it = it[it["date"] <= s]
    cu = tables["customers"].copy()
    bought = cu["customer_id"].isin(tx["customer_id"])
    cu = cu[(cu["signup_date"] <= s).fillna(False) | bought]
    cu["signup_date"] = cu["signup_date"].where(cu["signup_date"] <= s)
    for col in ("contract_start", "contract_end"):
        cu[col] = cu[col].where(cu[col] <= s)
    cu["end_reason"] = cu["end_reason"].where(cu["contract_end"].notna())
    cu["loyalty_member"] = pd.array([pd.NA] * len(cu), dtype="boolean")
    return {"transactions": tx, "customers": cu, "interactions": it}


@pytest.fixture(scope="module")
def tables(sample_tables):
    return _with_loyal_only(sample_tables)


@pytest.fixture(scope="module")
def horizon(sample_tables, sample_as_of):
    return StageModel().fit(sample_tables, sample_as_of).horizon_days_


def _at(model: StageModel, s: pd.Timestamp) -> pd.DataFrame:
    h = model.history_
    return h[h["snapshot"] == s].reset_index(drop=True)


@pytest.mark.parametrize("backend", [None, "pandas"], ids=["engine", "pandas"])
def test_truncating_at_a_snapshot_does_not_change_its_stages(tables, horizon, sample_as_of, backend):
    full = StageModel(horizon_days=horizon, backend=backend).fit(tables, sample_as_of)
    cut = StageModel(horizon_days=horizon, backend=backend).fit(truncate(tables, SNAPSHOT), SNAPSHOT)
    assert SNAPSHOT in full.snapshots_ and cut.snapshots_ == [s for s in full.snapshots_ if s <= SNAPSHOT]
    a, b = _at(full, SNAPSHOT), _at(cut, SNAPSHOT)
    assert len(a) > 2000 and a["stage"].nunique() >= 8
    pd.testing.assert_frame_equal(a, b)
    # The features too (resolved flags as recorded at extraction on both sides).
    fa, fb = full.features(SNAPSHOT), cut.features(SNAPSHOT)
    for col in [*FEATURE_COLUMNS, "stage"]:
        x, y = fa[col].to_numpy(), fb[col].to_numpy()
        if col == "stage":
            assert (x == y).all()
        else:
            assert np.allclose(x.astype(float), y.astype(float), equal_nan=True), col
    # The loyalty-only members count at the last snapshot, not before: the test exercises the flag.
    members = tables["customers"].loc[
        tables["customers"]["loyalty_member"].fillna(False) & tables["customers"]["contract_start"].isna(),
        "customer_id",
    ]
    last = full.features()
    assert last.loc[last["customer_id"].isin(members), "committed"].mean() > 0.99
    assert not fa.loc[fa["customer_id"].isin(members), "committed"].any()


def test_the_loyalty_flag_from_sign_up_looks_ahead(tables, horizon, sample_as_of):
    # The former behaviour, still available: past snapshots then use a flag observed at extraction.
    full = StageModel(horizon_days=horizon, loyalty_flag="since_signup").fit(tables, sample_as_of)
    cut = StageModel(horizon_days=horizon, loyalty_flag="since_signup").fit(
        truncate(tables, SNAPSHOT), SNAPSHOT
    )
    a, b = _at(full, SNAPSHOT), _at(cut, SNAPSHOT)
    changed = (a["stage"] != b["stage"]).sum()
    assert changed > 50  # loyalty-only members are fiancé(e) / marié(e) at s only with hindsight
    assert "applied from sign-up" in full.lookahead_note(
        "en"
    ) and "depuis l'inscription" in full.lookahead_note("fr")


def test_the_horizon_is_the_stated_exception(sample_tables, sample_truth, sample_as_of, horizon):
    # Derived from the data known at s, H differs from the H derived at extraction; the note says which is used.
    tx = sample_tables["transactions"]
    start = tx["date"].min()
    at_s = {
        m: horizon_pandas(tx[tx["date"] <= SNAPSHOT], 0.95, m, start, SNAPSHOT)
        for m in ("window", "observed")
    }
    at_end = {m: horizon_pandas(tx, 0.95, m, start, sample_as_of) for m in ("window", "observed")}
    print(f"\nH at {SNAPSHOT.date()}: {at_s}; at {sample_as_of.date()}: {at_end}")
    assert at_end["window"] == horizon == 159
    assert at_s == {"window": 149, "observed": 144}
    # The size of the exception: at s, stages with H derived from the data known at s against the fixed H.
    full = StageModel(horizon_days=horizon).fit(_with_loyal_only(sample_tables), sample_as_of)
    own = StageModel().fit(truncate(_with_loyal_only(sample_tables), SNAPSHOT), SNAPSHOT)
    assert own.horizon_days_ == 149 and own.horizon_warning_ is None
    a, b = _at(full, SNAPSHOT), _at(own, SNAPSHOT)
    changed = (a["stage"] != b["stage"]).mean()
    print(f"stages at {SNAPSHOT.date()} that change with H = 149 instead of {horizon:.0f}: {changed:.2%}")
    assert changed == pytest.approx(0.0118, abs=0.001)
    truth = true_stages_at(sample_truth["stages"], [SNAPSHOT])
    truth = truth.assign(customer_id=truth["customer_id"].astype("string"))
    agree = {
        h: (
            m.merge(truth, on="customer_id")["stage"] == m.merge(truth, on="customer_id")["true_stage"]
        ).mean()
        for h, m in ((horizon, a), (149, b))
    }
    print(f"agreement with the true stage at {SNAPSHOT.date()}: {agree}")
    assert agree[horizon] == pytest.approx(0.846, abs=0.002)
    assert agree[149] == pytest.approx(0.853, abs=0.002)
    m = StageModel(cadence="quarter").fit(sample_tables, sample_as_of)
    en, fr = m.lookahead_note("en"), m.lookahead_note("fr")
    assert en.startswith(
        "The separation horizon H = 159 days is estimated once, from the purchases up to 2025-12-31"
    )
    assert "counts at the last snapshot (2025-12-31) only" in en and "still unresolved at 2025-12-31" in en
    assert fr.startswith("L'horizon de séparation H = 159 jours est estimé une seule fois")
    # Transactions only: no loyalty, contract or complaint to speak of, so the note says nothing of them.
    only = StageModel(cadence="quarter").fit({"transactions": sample_tables["transactions"]}, sample_as_of)
    assert only.lookahead_note("en") == en.split(" Loyalty")[0]
    configured = StageModel(cadence="quarter", horizon_days=120).fit(sample_tables, sample_as_of)
    assert configured.lookahead_note("en").startswith(
        "The separation horizon H = 120 days is set in the configuration"
    )
    # The default rules do not read the undated complaint resolution.
    assert "open_complaints" not in repr([r.when for r in default_rules().rules])
