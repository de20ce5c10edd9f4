"""A seeded sample of customers drawn in the engine: exact size, reproducible, whole histories."""

from __future__ import annotations

import pandas as pd
import pytest

from custrel_lib.exceptions import DataContractError
from custrel_lib.io.load import load_tables
from custrel_lib.io.subsample import sample_customers


@pytest.fixture(scope="module")
def engine_load():
    return load_tables(None, engine=True)


def _ids(sample) -> set[str]:
    t = sample.tables
    ids = set(t["transactions"]["customer_id"])
    if "customers" in t:
        ids |= set(t["customers"]["customer_id"])
    return ids


def test_sample_has_n_customers_with_all_their_rows(engine_load, sample_tables):
    sample = sample_customers(engine_load.tables, 200, seed=7)
    ids = _ids(sample)
    everyone = set(sample_tables["transactions"]["customer_id"]) | set(
        sample_tables["customers"]["customer_id"]
    )
    assert len(ids) == sample.n_sampled == 200
    assert sample.n_customers == len(everyone)
    assert sample.share == pytest.approx(200 / len(everyone))
    for name, df in sample.tables.items():
        full = sample_tables[name]
        expected = full[full["customer_id"].isin(ids)]
        assert len(df) == len(expected), name  # every row of a kept customer, no other
        assert set(df["customer_id"]) <= ids
    tx = sample.tables["transactions"]
    assert str(tx["date"].dtype) == "datetime64[ns]" and str(tx["customer_id"].dtype) == "string"


def test_sample_is_reproducible_and_depends_on_the_seed(engine_load, sample_tables):
    a = _ids(sample_customers(engine_load.tables, 150, seed=1))
    b = _ids(sample_customers(engine_load.tables, 150, seed=1))
    c = _ids(sample_customers(engine_load.tables, 150, seed=2))
    assert a == b
    assert a != c
    # The same customers from pandas tables (order shuffled) as from the engine's: the draw reads ids only.
    shuffled = {n: df.sample(frac=1.0, random_state=3) for n, df in sample_tables.items()}
    assert _ids(sample_customers(shuffled, 150, seed=1)) == a


def test_sample_larger_than_the_data_keeps_everyone(sample_tables):
    tx = sample_tables["transactions"].head(500)
    sample = sample_customers({"transactions": tx}, 10**9)
    assert sample.n_sampled == sample.n_customers == tx["customer_id"].nunique()
    pd.testing.assert_frame_equal(
        sample.tables["transactions"].sort_values(["customer_id", "date", "amount"]).reset_index(drop=True),
        tx.sort_values(["customer_id", "date", "amount"]).reset_index(drop=True),
        check_dtype=False,
    )


@pytest.mark.parametrize(("tables", "n", "match"), [({}, 5, "transactions"), (None, 0, "at least 1")])
def test_sample_refuses_bad_requests(sample_tables, tables, n, match):
    with pytest.raises(DataContractError, match=match):
        sample_customers(tables if tables is not None else sample_tables, n)
