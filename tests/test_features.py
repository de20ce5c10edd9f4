"""Features: the Ibis/DuckDB engine equals the plain pandas reference; hand-worked values; the horizon."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from custrel_lib.exceptions import AnalysisError, ConfigError
from custrel_lib.io.sample import generate_sample
from custrel_lib.stages.features import (
    FEATURE_COLUMNS,
    features_engine,
    features_pandas,
    horizon_from_gaps,
    horizon_pandas,
    snapshot_dates,
    to_pandas_features,
)

AS_OF = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def small():
    d = generate_sample(300, 7)
    return {"transactions": d.transactions, "customers": d.customers, "interactions": d.interactions}


def _engine(tables, snaps, horizon):
    expr, con = features_engine(tables, snaps, horizon_days=horizon)
    return to_pandas_features(con.execute(expr))


def _assert_same_features(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b)
    assert (a["customer_id"].to_numpy() == b["customer_id"].to_numpy()).all()
    assert (a["snapshot"].to_numpy() == b["snapshot"].to_numpy()).all()
    for col in FEATURE_COLUMNS:
        x, y = a[col].to_numpy(dtype=float), b[col].to_numpy(dtype=float)
        assert np.allclose(x, y, equal_nan=True, rtol=1e-9, atol=1e-9), col


@pytest.mark.parametrize(
    "cadence", ["month", "quarter", ["2023-06-15", "2024-02-29", "2025-03-31", "2025-12-20"]], ids=str
)
def test_engine_features_equal_pandas_reference(small, cadence):
    first = min(small["transactions"]["date"].min(), small["customers"]["signup_date"].min())
    snaps = snapshot_dates(first, AS_OF, cadence)
    engine = _engine(small, snaps, 140.0)
    reference = features_pandas(small, snaps, horizon_days=140.0)
    _assert_same_features(engine, reference)
    # The comparison is not vacuous: the sample exercises every family of features.
    last = reference[reference["snapshot"] == snaps[-1]]
    assert last["n_purchases"].gt(0).mean() > 0.5 and last["nps_last"].notna().any()
    assert last["committed"].any() and last["days_since_return"].notna().any()
    assert reference["complaints_90d"].gt(0).any() and reference["referrals"].gt(0).any()
    # Contractual returns, and loyalty members outside their contract dates (not committed), occur too.
    assert reference["bought_after_contract_end"].any()
    assert (reference["loyalty_member"] & ~reference["committed"]).any()


def test_engine_equals_reference_without_optional_tables(small):
    tables = {"transactions": small["transactions"]}
    snaps = snapshot_dates(small["transactions"]["date"].min(), AS_OF, "quarter")
    engine = _engine(tables, snaps, 120.0)
    _assert_same_features(engine, features_pandas(tables, snaps, horizon_days=120.0))
    assert not engine["committed"].any() and engine["nps_last"].isna().all()


@pytest.mark.parametrize(
    "cadence", ["month", ["2023-06-15", "2024-02-29", "2025-03-31", "2025-12-20"]], ids=str
)
def test_each_feature_alone_equals_the_full_table(small, cadence):
    """``features_engine(columns=...)`` leaves out the events the columns do not read (the stage history of the
    default rules needs neither refunds nor complaints leaving their window): each feature computed alone,
    from only its events, equals that feature in the full table, and so does the default rules' set."""
    from custrel_lib.stages.history import history_features
    from custrel_lib.stages.rules import default_rules

    first = min(small["transactions"]["date"].min(), small["customers"]["signup_date"].min())
    snaps = snapshot_dates(first, AS_OF, cadence)
    full = _engine(small, snaps, 140.0)
    for columns in [[c] for c in FEATURE_COLUMNS] + [history_features(default_rules())]:
        expr, con = features_engine(small, snaps, horizon_days=140.0, columns=columns)
        assert expr.columns == ("customer_id", "snapshot_day", *[c for c in FEATURE_COLUMNS if c in columns])
        alone = con.execute(expr).sort_values(["customer_id", "snapshot_day"]).reset_index(drop=True)
        assert (
            len(alone) == len(full)
            and (alone["customer_id"].to_numpy() == full["customer_id"].to_numpy()).all()
        )
        for col in columns:
            x, y = alone[col].to_numpy(dtype=float), full[col].to_numpy(dtype=float)
            assert np.allclose(x, y, equal_nan=True, rtol=1e-9, atol=1e-9), (columns, col)
    # Not vacuous: the left-out events count in the full table (refunds, complaints leaving their window).
    assert (full["monetary"] < full["avg_basket"] * full["n_purchases"] - 0.01).any()
    assert (full["complaints_90d"] < full.groupby("customer_id")["complaints_90d"].cummax()).any()


@pytest.mark.parametrize(
    "cadence", ["month", "quarter", ["2023-06-15", "2024-02-29", "2025-03-31", "2025-12-20"]], ids=str
)
@pytest.mark.parametrize("shape", ["full", "transactions only"])
def test_features_at_one_snapshot_equal_the_full_table(small, cadence, shape):
    """``build(at=k)`` computes one snapshot's features by a group-by of the events up to it, without the window
    over every snapshot: at the snapshots checked (the first ones, those where the 6- and 12-month windows
    first drop purchases, the middle one and the last) it equals the full table's rows at that snapshot
    (purchase windows as frames with monthly and quarterly snapshots, as exit events with irregular ones)."""
    from custrel_lib.stages.features_engine import features_builder

    tables = small if shape == "full" else {"transactions": small["transactions"]}
    first = small["transactions"]["date"].min()
    if "customers" in tables:
        first = min(first, tables["customers"]["signup_date"].min())
    snaps = snapshot_dates(first, AS_OF, cadence)
    full = _engine(tables, snaps, 140.0)
    build = features_builder(tables, snaps, horizon_days=140.0)
    sizes = []
    at = sorted({0, 1, 2, 6, 7, 12, 13, len(snaps) // 2, len(snaps) - 1} & set(range(len(snaps))))
    for k, s in ((k, snaps[k]) for k in at):
        expr, con = build(at=k)
        one = to_pandas_features(con.execute(expr)).sort_values("customer_id").reset_index(drop=True)
        want = full[full["snapshot"] == s].reset_index(drop=True)
        _assert_same_features(one, want)
        sizes.append(len(one))
    # Not vacuous: customers join over time, and the windows empty (some spend in 12 months, none in 6).
    assert 0 < sizes[0] < sizes[-1]
    assert ((full["purchases_12m"] > 0) & (full["spend_6m"] == 0)).any()


def test_hand_made_purchase_features():
    # One customer: purchases on known days; the worked-out values are written next to each assertion.
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["A"] * 5, dtype="string"),
            "date": pd.to_datetime(["2024-01-10", "2024-03-10", "2024-09-10", "2024-11-10", "2024-12-10"]),
            "amount": [10.0, 20.0, 30.0, -5.0, 90.0],
            "category": pd.array(["x", "y", "y", "y", "z"], dtype="string"),
        }
    )
    snaps = [pd.Timestamp("2024-12-31")]
    f = features_pandas({"transactions": tx}, snaps, horizon_days=100.0).iloc[0]
    e = _engine({"transactions": tx}, snaps, 100.0).iloc[0]
    for row in (f, e):
        assert row["n_purchases"] == 4  # the refund is not a purchase
        assert row["monetary"] == 145.0  # 10 + 20 + 30 - 5 + 90
        assert row["avg_basket"] == 37.5  # 150 / 4
        assert row["recency_days"] == 21  # Dec 10 -> Dec 31
        assert row["tenure_days"] == 356  # Jan 10 -> Dec 31 2024 (leap year)
        assert row["n_categories"] == 3
        assert row["purchases_12m"] == 4
        # Windows end on month ends: last 6 months (Jun 30, Dec 31] hold Sep 10 and Dec 10 (30 + 90);
        # the 6 before (Dec 31 2023, Jun 30] hold Jan 10 and Mar 10 (10 + 20).
        assert row["spend_6m"] == 120.0 and row["spend_prev_6m"] == 30.0
        assert row["spend_trend"] == pytest.approx(3.0)
        assert row["basket_trend"] == pytest.approx(60 / 15 - 1)
        # Gaps 60, 184, 91 days (Mar 10 -> Sep 10 is 184; the refund day is not a purchase).
        assert row["gap_mean_days"] == pytest.approx((60 + 184 + 91) / 3)
        assert row["gap_cv"] == pytest.approx(np.std([60, 184, 91]) / np.mean([60, 184, 91]))
        # The Sep 10 purchase came after 184 > 1.5 x 100 days: a return, 112 days before Dec 31.
        assert row["days_since_return"] == 112
        assert bool(row["active"]) and row["commitment_signals"] == 2  # basket growth + 3 categories


def test_hand_made_customer_and_voice_features():
    s = pd.Timestamp("2025-06-30")
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "B", "C"], dtype="string"),
            "date": pd.to_datetime(["2025-01-05", "2025-02-01", "2025-06-01"]),
            "amount": [50.0, 40.0, 30.0],
            "category": pd.array([None, None, None], dtype="string"),
        }
    )
    cu = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "B", "C", "D", "E"], dtype="string"),
            "signup_date": pd.to_datetime(["2024-12-01", None, "2025-05-01", "2025-03-01", "2025-07-15"]),
            "contract_start": pd.to_datetime(["2025-01-01", "2024-06-01", None, None, None]),
            "contract_end": pd.to_datetime([None, "2025-06-30", None, None, None]),
            "loyalty_member": pd.array([False, False, True, None, False], dtype="boolean"),
        }
    )
    it = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "A", "A", "A", "A", "B", "C"], dtype="string"),
            "date": pd.to_datetime(
                [
                    "2025-02-01",
                    "2025-05-01",
                    "2025-04-01",
                    "2025-04-02",
                    "2025-06-20",
                    "2025-06-01",
                    "2025-06-10",
                ]
            ),
            "type": pd.array(
                ["nps", "nps", "complaint", "complaint", "complaint", "parrainage", "referral"],
                dtype="string",
            ),
            "score": [10.0, 6.0, None, None, None, None, None],
            "resolved": pd.array([None, None, False, True, False, None, None], dtype="boolean"),
        }
    )
    tables = {"transactions": tx, "customers": cu, "interactions": it}
    ref = features_pandas(tables, [s], horizon_days=100.0).set_index("customer_id")
    eng = _engine(tables, [s], 100.0).set_index("customer_id")
    for f in (ref, eng):
        # E signs up after the snapshot: it does not exist yet. D is known, never bought.
        assert sorted(f.index) == ["A", "B", "C", "D"]
        assert f.loc["D", "n_purchases"] == 0 and np.isnan(f.loc["D", "recency_days"])
        assert f.loc["D", "tenure_days"] == 121  # Mar 1 -> Jun 30
        # A: contract running since Jan 1 (180 days); latest NPS 6 (May 1) makes a detractor, not a promoter.
        assert f.loc["A", "committed"] and f.loc["A", "contract_active"]
        assert f.loc["A", "committed_days"] == 180
        assert f.loc["A", "nps_last"] == 6 and f.loc["A", "detractor"] and not f.loc["A", "promoter"]
        # Complaints in (Apr 1, Jun 30]: Apr 2 (resolved) and Jun 20 (open); Apr 1 is exactly 90 days before.
        assert f.loc["A", "complaints_90d"] == 2 and f.loc["A", "open_complaints"] == 1
        # B: contract ended on the snapshot day: ended, no longer committed; a referral (parrainage).
        assert f.loc["B", "contract_ended"] and not f.loc["B", "committed"]
        assert f.loc["B", "tenure_days"] == 149  # known from its first purchase, Feb 1
        assert f.loc["B", "referrals"] == 1
        # C: loyalty member since sign-up (May 1: 60 days); one referral signal, no other.
        assert f.loc["C", "committed"] and not f.loc["C", "contract_active"]
        assert f.loc["C", "committed_days"] == 60 and f.loc["C", "commitment_signals"] == 1


def test_snapshot_calendar():
    first, as_of = pd.Timestamp("2024-11-15"), pd.Timestamp("2025-03-10")
    months = snapshot_dates(first, as_of, "month")
    assert months == list(
        pd.to_datetime(["2024-11-30", "2024-12-31", "2025-01-31", "2025-02-28", "2025-03-10"])
    )
    assert snapshot_dates(first, pd.Timestamp("2025-03-31"), "quarter") == list(
        pd.to_datetime(["2024-12-31", "2025-03-31"])
    )
    with pytest.raises(ConfigError, match="after the extraction date"):
        snapshot_dates(first, as_of, ["2025-04-01"])
    with pytest.raises(ConfigError, match="Unknown cadence 'week'"):
        snapshot_dates(first, as_of, "week")


def test_horizon_weights_each_repeat_customer_equally():
    # Gaps: A 10, 10, 10, 10 (weight 1/4 each), B 100 (weight 1), C 30, 50 (1/2 each); total weight 3.
    # Cumulative shares by gap: 10 -> 1/3, 30 -> 1/2, 50 -> 2/3, 100 -> 1. D bought once: no gap.
    days = {"A": [0, 10, 20, 30, 40], "B": [0, 100], "C": [0, 30, 80], "D": [5]}
    rows = [
        (c, pd.Timestamp("2025-01-01") + pd.Timedelta(days=d), 10.0) for c, ds in days.items() for d in ds
    ]
    rows.append(("B", pd.Timestamp("2025-02-01"), -10.0))  # a refund is not a purchase: no extra gap
    tx = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    t = ibis.memtable(tx)
    t = t.mutate(d=t.date.cast("date").epoch_days().cast("int64"))
    for q, expected in [(0.3, 10), (0.5, 30), (0.6, 50), (0.95, 100)]:
        assert horizon_pandas(tx, q, "observed") == expected
        assert horizon_from_gaps(t, q, method="observed") == expected
    # The default corrects for the window (days 0 .. 100): C's gaps weigh 101/71 and 101/51, scaled to sum to
    # 1: 0.418 and 0.582, so 30 -> (1 + 0.418) / 3 = 0.473 and the median moves to 50 (tests/test_horizon.py).
    assert horizon_pandas(tx, 0.5) == horizon_from_gaps(t, 0.5) == 50
    assert horizon_pandas(tx, 0.3) == horizon_from_gaps(t, 0.3) == 10
    # Weighting every gap equally would give 10 at the median (4 of the 7 gaps are 10 days).
    assert np.quantile([10, 10, 10, 10, 30, 50, 100], 0.5) == 10


def test_horizon_needs_a_repeat_customer():
    tx = pd.DataFrame(
        {"customer_id": ["A", "B"], "date": pd.to_datetime(["2025-01-01"] * 2), "amount": [1.0, 2.0]}
    )
    t = ibis.memtable(tx)
    with pytest.raises(AnalysisError, match="horizon_days"):
        horizon_from_gaps(t.mutate(d=t.date.cast("date").epoch_days().cast("int64")))


@pytest.mark.parametrize(
    ("as_of", "cadence", "expected"),
    [
        ("2025-12-31", "month", {6: 6, 12: 12}),
        ("2025-12-31", "quarter", {6: 2, 12: 4}),
        (
            "2025-12-15",
            "month",
            {},
        ),  # a last period cut mid-month: its windows start mid-month, exit events stay
        ("2025-12-31", ["2024-06-15", "2025-03-31", "2025-12-31"], {}),  # irregular dates
    ],
)
def test_purchase_windows_as_frames_only_where_exits_are_a_fixed_shift(as_of, cadence, expected):
    from custrel_lib.stages.calendar import calendar_table, days
    from custrel_lib.stages.features_engine import framed_windows

    snaps = snapshot_dates(pd.Timestamp("2023-01-05"), pd.Timestamp(as_of), cadence)
    calendar = calendar_table(days(pd.Timestamp("2019-01-01")), snaps)  # sign-ups long before the purchases
    assert framed_windows(calendar, days(pd.Timestamp("2023-01-05")), len(snaps)) == expected
