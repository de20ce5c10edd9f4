"""The explorer's shortcut: every feature computed once, then only the H- and date-dependent ones per setting.

Truth: the whole feature pass (:func:`features_engine`, itself checked against the pandas reference in
tests/test_features.py) run with that H and ``loyalty_from``, compared column by column on the committed sample.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from custrel_lib.stages.calendar import days, snapshot_dates
from custrel_lib.stages.features import FEATURE_COLUMNS, features_engine, to_pandas_features
from custrel_lib.stages.features_update import purchase_gaps, with_horizon, with_loyalty_from

H0 = 159.0  # the sample's derived H: the H the shared table is computed under
AS_OF = pd.Timestamp("2025-12-31")


def _grid(tables) -> list[pd.Timestamp]:
    first = tables["transactions"]["date"].min()
    if "customers" in tables:
        first = min(first, tables["customers"]["signup_date"].min())
    return snapshot_dates(first, AS_OF, "month")


def _shared(tables):
    """One connection with the tables, the features under H0 counting the loyalty flag everywhere, the gaps."""
    con = ibis.duckdb.connect()
    t = {name: con.create_table(f"t_{name}", df) for name, df in tables.items()}
    expr, _ = features_engine(t, _grid(tables), H0, backend=con, loyalty_from=None)
    return (
        con,
        t,
        con.create_table("base", expr),
        con.create_table("gaps", purchase_gaps(t, con)),
        _grid(tables),
    )


@pytest.fixture(scope="module")
def shared(sample_tables):
    return _shared(sample_tables)


@pytest.mark.parametrize(("horizon", "date"), [(40, "2025-12-31"), (300, "2025-03-31"), (159, "2024-10-31")])
def test_h_and_date_columns_equal_the_whole_feature_pass(shared, horizon, date):
    con, tables, base, gaps, grid = shared
    date = pd.Timestamp(date)
    snaps = [s for s in grid if s <= date]
    want, _ = features_engine(tables, snaps, float(horizon), backend=con, loyalty_from=date)
    want = to_pandas_features(con.execute(want))
    got = with_loyalty_from(base.filter(base.snapshot_day <= days(date)), date)
    got = to_pandas_features(con.execute(with_horizon(got, gaps, horizon)))
    pd.testing.assert_frame_equal(got, want)
    assert list(got.columns[2:]) == FEATURE_COLUMNS
    # Not vacuous: the columns the shortcut recomputes differ from those of the shared table.
    before = to_pandas_features(con.execute(base.filter(base.snapshot_day <= days(date))))
    assert (before["loyalty_member"] & ~want["loyalty_member"]).any()  # the flag counts from the date only
    if horizon != H0:
        assert (before["active"] != want["active"]).any()
        assert not before["days_since_return"].equals(want["days_since_return"])
    assert want["days_since_return"].notna().any() and want["active"].any() and not want["active"].all()


def test_without_a_customers_table(sample_tables):
    tables = {"transactions": sample_tables["transactions"]}
    con, t, base, gaps, grid = _shared(tables)
    want, _ = features_engine(t, grid, 60.0, backend=con, loyalty_from=None)
    got = with_horizon(with_loyalty_from(base, AS_OF), gaps, 60.0)
    pd.testing.assert_frame_equal(to_pandas_features(con.execute(got)), to_pandas_features(con.execute(want)))
    assert not con.execute(gaps.after_end.any())  # no contract, so no contractual return
