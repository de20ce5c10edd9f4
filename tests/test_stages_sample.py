"""On the committed sample: the stage at the last snapshot agrees with the generator's true stage."""

from __future__ import annotations

import pandas as pd
import pytest

from custrel_lib.sample import true_stages_at
from custrel_lib.stages import StageModel


@pytest.fixture(scope="module")
def fitted(sample_tables, sample_as_of):
    return StageModel().fit(sample_tables, sample_as_of)


def test_stages_agree_with_the_truth(fitted, sample_truth, sample_as_of):
    truth = true_stages_at(sample_truth["stages"], [sample_as_of])
    truth = truth.assign(customer_id=truth["customer_id"].astype("string"))
    both = fitted.current_.merge(truth, on="customer_id", how="inner")
    assert len(both) >= 0.99 * len(fitted.current_)
    accuracy = (both["stage"] == both["true_stage"]).mean()
    print(
        f"\nH = {fitted.horizon_days_:.0f} days ({fitted.horizon_source_}); "
        f"{len(both):,} customers; agreement with the true stage at {sample_as_of.date()}: {accuracy:.1%}"
    )
    print(pd.crosstab(both["true_stage"], both["stage"], margins=True).to_string())
    # The lead's calibration: the 0.95 quantile of repeat gaps, customers weighted equally, is about 146-152 days.
    assert 140 <= fitted.horizon_days_ <= 160
    assert accuracy >= 0.85


def test_one_stage_per_customer_and_snapshot(fitted, sample_tables):
    h = fitted.history_
    assert len(fitted.snapshots_) >= 36 and h["snapshot"].nunique() == len(fitted.snapshots_)
    assert not h.duplicated(["customer_id", "snapshot"]).any()
    first_tx = sample_tables["transactions"].groupby("customer_id")["date"].min()
    signup = sample_tables["customers"].set_index("customer_id")["signup_date"]
    known = pd.concat([first_tx, signup.dropna()]).groupby(level=0).min()
    first_snapshot = h.groupby("customer_id")["snapshot"].min()
    assert (first_snapshot >= known.reindex(first_snapshot.index)).all()  # nobody before it exists
    counts = h.groupby("customer_id").size()
    assert (counts == first_snapshot.map(lambda s: sum(1 for x in fitted.snapshots_ if x >= s))).all()
    assert set(h["customer_id"]) == set(known.index)
