"""Survival: known hazards recovered, R's Rossi coefficients, hand-worked censoring and truncation, Brier score."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_rossi

from custrel_lib.exceptions import NotFittedError
from custrel_lib.plots.risk import calibration_plot
from custrel_lib.plots.survival import (
    cohort_heatmap,
    cumulative_incidence_plot,
    forest_plot,
    km_plot,
)
from custrel_lib.survival import (
    AFTModel,
    CompetingRisks,
    CoxModel,
    GapModel,
    KaplanMeier,
    build_durations,
    cohort_retention,
    flag_at_risk,
    holm,
    integrated_brier_score,
    median_sentence,
    score_active,
)
from custrel_lib.survival.risk import coarsen_time


@pytest.fixture(scope="module")
def simulated():
    """Exponential lifetimes with known medians per type, a binary covariate with hazard ratio 2, random right
    censoring and left truncation (delayed entry)."""
    rng = np.random.default_rng(7)
    medians = {"coup_d_un_soir": 60.0, "petit_ami": 300.0, "marie": 900.0}
    rows = []
    for group, median in medians.items():
        n = 4000
        x = rng.integers(0, 2, n)
        rate = np.log(2) / median * np.where(x == 1, 2.0, 1.0) / np.sqrt(2.0)  # HR 2 around the median
        t = rng.exponential(1 / rate)
        c = rng.uniform(0, 4 * median, n)
        entry = rng.uniform(0, 0.3 * median, n)
        keep = t > entry  # only those still there when observation starts are seen
        obs = np.minimum(t, c)
        rows.append(
            pd.DataFrame(
                {
                    "group": group,
                    "x": x,
                    "duration": np.maximum(obs, entry + 1e-6),
                    "event": (t <= c).astype(int),
                    "entry": entry,
                }
            )[keep]
        )
    return pd.concat(rows, ignore_index=True), medians


def test_medians_recovered_within_ten_percent(simulated):
    df, medians = simulated
    # The true median of a 50/50 mix of rates r/sqrt(2) and 2r/sqrt(2): solve 0.5 e^{-a t} + 0.5 e^{-2 a t} = 0.5.
    km = KaplanMeier(group="group").fit(df)
    for group, median in medians.items():
        a = np.log(2) / median / np.sqrt(2.0)
        u = (-1 + np.sqrt(5)) / 2  # e^{-a t}: u + u^2 = 1
        truth = -np.log(u) / a
        got = km.medians_.set_index("group").loc[group, "median"]
        print(f"{group}: median {got:.1f} vs truth {truth:.1f} ({got / truth - 1:+.1%})")
        assert abs(got / truth - 1) < 0.10
    assert km.logrank_["p_value"].iloc[0] < 1e-6
    assert (km.pairwise_["p_holm"] >= km.pairwise_["p_value"]).all()


def test_cox_hazard_ratio_contains_the_truth(simulated):
    df, _ = simulated
    cox = CoxModel(["x"], strata=["group"]).fit(df, entry_col="entry")
    row = cox.summary_.loc["x"]
    print(f"HR x = {row.hazard_ratio:.3f} [{row.hr_lower:.3f}, {row.hr_upper:.3f}] (truth 2)")
    assert row.hr_lower <= 2.0 <= row.hr_upper


def test_cox_notes_say_when_the_model_ranks_no_better_than_chance(simulated):
    """A covariate of pure noise (truth: no effect) ranks relationships at chance in cross-validation, and the
    notes say its ratios are not to be read (a 200-customer shop showed 0.38 without a word); the true
    covariate (hazard ratio 2) does better, and gets no such note."""
    from custrel_lib.survival.text import cox_notes

    df, _ = simulated
    df = df.assign(noise=np.random.default_rng(5).normal(size=len(df)))
    real = CoxModel(["x"], cv_folds=3, random_state=0).fit(df, entry_col="entry")
    noise = CoxModel(["noise"], cv_folds=3, random_state=0).fit(df, entry_col="entry")
    c_real, c_noise = real.cv_["concordance"].mean(), noise.cv_["concordance"].mean()
    print(f"cross-validated concordance: x {c_real:.3f}, noise {c_noise:.3f}")
    assert c_noise < 0.55 < c_real
    warning = "no better than chance on this data"
    assert warning in " ".join(cox_notes(noise, "en")) and warning not in " ".join(cox_notes(real, "en"))
    assert "pas les relations mieux que le hasard sur ces données" in " ".join(cox_notes(noise, "fr"))


def test_cox_reproduces_rossi():
    # R coxph on the Rossi recidivism data (Fox 2002; lifelines docs, "Survival regression" page).
    published = {
        "fin": -0.3794,
        "age": -0.0574,
        "race": 0.3139,
        "wexp": -0.1498,
        "mar": -0.4337,
        "paro": -0.0849,
        "prio": 0.0915,
    }
    cox = CoxModel().fit(load_rossi(), duration_col="week", event_col="arrest")
    for name, coef in published.items():
        assert cox.summary_.loc[name, "coef"] == pytest.approx(coef, abs=5e-4), name
    ph = cox.ph_test_.set_index("covariate")
    # The rank-transformed test rejects proportional hazards for age and wexp, as in lifelines' documentation.
    assert set(cox.failing_covariates_) == {"age", "wexp"} and ph.loc["fin", "passes"]


def test_km_hand_worked_censoring_and_truncation():
    # Right censoring: times 1,2,3,4 with the 2 censored. S(1)=3/4, S(2)=3/4, S(3)=3/4*1/2=3/8, S(4)=0.
    df = pd.DataFrame({"duration": [1, 2, 3, 4], "event": [1, 0, 1, 1], "entry": 0.0})
    km = KaplanMeier(min_size=1).fit(df)
    assert list(km.fitters_["all"].survival_function_at_times([1, 2, 3, 4])) == pytest.approx(
        [0.75, 0.75, 0.375, 0.0]
    )
    # Left truncation: B enters at 2, so at t=1 only A and C are at risk: S(1)=1/2; at t=3 B and C: S(3)=1/4.
    df = pd.DataFrame({"duration": [1, 3, 3], "event": [1, 1, 0], "entry": [0, 2, 0]})
    km = KaplanMeier(min_size=1).fit(df)
    assert list(km.fitters_["all"].survival_function_at_times([1, 3])) == pytest.approx([0.5, 0.25])
    # Without the entry column B would count at t=1: S(1) = 2/3.
    assert KaplanMeier(min_size=1).fit(df, entry_col=None).survival_at(1).iloc[0] == pytest.approx(2 / 3)


def test_duration_builder_censoring_truncation_and_winback():
    as_of = pd.Timestamp("2024-12-31")
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "A", "A", "B", "B", "C"], dtype="string"),
            # A: buys, lapses > 100 days, comes back (win-back); B: still active at as_of; C: first seen day 1.
            "date": pd.to_datetime(
                ["2024-04-20", "2024-05-20", "2024-10-01", "2024-09-01", "2024-12-01", "2024-01-01"]
            ),
            "amount": [10.0, 10.0, 10.0, 20.0, 20.0, 5.0],
        }
    )
    cu = pd.DataFrame(
        {
            "customer_id": pd.array(["A", "B", "C"], dtype="string"),
            "signup_date": pd.to_datetime([None, None, "2023-07-01"]),
            "contract_start": pd.NaT,
            "contract_end": pd.NaT,
            "end_reason": pd.array([None] * 3, dtype="string"),
            "loyalty_member": pd.array([False] * 3, dtype="boolean"),
            "acquisition_channel": pd.array(["web"] * 3, dtype="string"),
            "region": pd.array(["x"] * 3, dtype="string"),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = build_durations(
            {"transactions": tx, "customers": cu}, as_of, horizon_days=100, window_start="2024-01-01"
        )
    a = d[d["customer_id"] == "A"].sort_values("episode")
    # Episode 1: Apr 20 -> May 20 (separation at the last purchase before the 134-day gap): an event, 30 days.
    assert a.iloc[0][["episode", "duration", "event"]].tolist() == [1, 30.0, 1]
    # Episode 2 (win-back) starts Oct 1, after as_of - H (Sep 22): no separation could be seen in it yet, so
    # it has no time at risk and is left out, counted as too recent.
    assert len(a) == 1 and d.attrs["exclusions"]["too_recent"] == 1
    b = d[d["customer_id"] == "B"].iloc[0]
    # B is still active: censored at as_of - H, the last date a separation could have been recorded.
    assert b["event"] == 0 and b["end"] == as_of - pd.Timedelta(days=100)
    assert b["duration"] == (as_of - pd.Timedelta(days=100) - pd.Timestamp("2024-09-01")).days
    c = d[d["customer_id"] == "C"].iloc[0]
    # C bought on the window's first day and signed up on 2023-07-01: left-truncated, entry = 184 days.
    assert c["entry"] == (pd.Timestamp("2024-01-01") - pd.Timestamp("2023-07-01")).days and c[
        "start"
    ] == pd.Timestamp("2023-07-01")
    # Units are a parameter: the same episodes in weeks are the day counts divided by 7.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = build_durations(
            {"transactions": tx, "customers": cu},
            as_of,
            horizon_days=100,
            window_start="2024-01-01",
            unit="weeks",
        )
    assert w["duration"].tolist() == pytest.approx((d["duration"] / 7).tolist())
    assert w["entry"].tolist() == pytest.approx((d["entry"] / 7).tolist())


def test_brier_score_known_answers():
    t = np.array([2.0, 4.0, 6.0, 8.0])
    e = np.ones(4, dtype=int)
    times = np.array([1.0, 3.0, 5.0, 7.0])
    perfect = (times[None, :] < t[:, None]).astype(float)
    assert integrated_brier_score(t, e, t, e, perfect, times) == pytest.approx(0.0)
    assert integrated_brier_score(t, e, t, e, np.full((4, 4), 0.5), times) == pytest.approx(0.25)


def test_holm():
    assert holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])


def test_every_active_customer_gets_one_score(sample_tables, sample_as_of):
    """Active = a contract begun and not ended by as_of, or a purchase within H days of as_of and after any
    ended contract; counted from the tables. A customer who bought again after their contract ended is scored on
    their purchases (before, they got no score at all); one whose contract ended after their last purchase left
    with it and is not scored."""
    from custrel_lib.stages.model import StageModel

    model = StageModel().fit(sample_tables, sample_as_of)
    h = model.horizon_days_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = build_durations(sample_tables, sample_as_of, h, history=model.history_)
        ar = score_active(sample_tables, d, sample_as_of, h, 90, 0.5)
    cu, tx = sample_tables["customers"], sample_tables["transactions"]
    running = (cu["contract_start"] <= sample_as_of) & ~(cu["contract_end"] <= sample_as_of)
    running_ids = set(cu.loc[running, "customer_id"])
    last = tx.loc[tx["amount"] > 0].groupby("customer_id")["date"].max()
    recent = set(last.index[(sample_as_of - last).dt.days <= h])
    # A contract that ended on or after the last purchase ended the relationship: that customer is not active.
    end = cu.loc[cu["contract_end"] <= sample_as_of].set_index("customer_id")["contract_end"]
    left_with_contract = set(end.index[~(last.reindex(end.index) > end)]) - running_ids
    assert ar["customer_id"].is_unique
    assert set(ar["customer_id"]) == running_ids | (recent - left_with_contract)
    assert set(ar.loc[ar["risk_kind"] == "contract_end", "customer_id"]) == running_ids
    buying_after_contract = (set(end.index) & recent) - running_ids - left_with_contract
    assert buying_after_contract and recent & left_with_contract  # the sample has both kinds
    kinds = ar.set_index("customer_id").loc[sorted(buying_after_contract), "risk_kind"]
    assert set(kinds) == {"lapse"}


def test_sample_pipeline_at_risk_and_competing_risks(sample_tables, sample_as_of):
    from custrel_lib.stages.model import StageModel

    model = StageModel().fit(sample_tables, sample_as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = build_durations(
            sample_tables, sample_as_of, model.horizon_days_, history=model.history_, landmark_days=90
        )
    aft = AFTModel(["contract", "acquisition_channel"]).fit(d)
    assert aft.compare_km(d).attrs["max_abs_difference"] < 0.05
    ar = score_active(sample_tables, d, sample_as_of, model.horizon_days_, 90, 0.5)
    assert ar["p_separation"].between(0, 1).all() and (ar["expected_spend"] >= 0).all()
    assert ar["value_at_risk"].is_monotonic_decreasing
    assert set(ar["risk_kind"]) == {"lapse", "contract_end"}
    history = model.history_
    before = history.copy()
    flagged = flag_at_risk(history, ar.loc[ar["at_risk"], "customer_id"])
    assert flagged["at_risk"].sum() == ar["at_risk"].sum() + before["at_risk"].sum() > 0
    pd.testing.assert_frame_equal(history, before)  # the history itself is left as it was
    last = flagged["snapshot"] == flagged["snapshot"].max()
    assert set(flagged.loc[last & flagged["at_risk"], "customer_id"]) == set(
        ar.loc[ar["at_risk"], "customer_id"]
    )
    pd.testing.assert_frame_equal(flagged.drop(columns="at_risk"), before.drop(columns="at_risk"))
    cr = CompetingRisks().fit(d[d["definition"] == "contractual"])
    one_year = cr.incidence_at(365)
    # Sample truth: voluntary 0.15/year and involuntary 0.05/year (data/sample/README.md): 3 to 1.
    print(f"\n1-year cumulative incidence: {one_year.round(3).to_dict()}")
    assert one_year["voluntary"] > 2 * one_year["involuntary"] > 0
    km = KaplanMeier(group="landmark_stage").fit(d)
    assert "La moitié" in median_sentence("coup_d_un_soir", 42.0, "fr")
    retention = cohort_retention(d, sample_as_of, 12)
    assert ((retention.fillna(0) >= 0) & (retention.fillna(0) <= 1)).all().all()
    assert (retention[0].dropna() == 1).all()
    figs = [
        km_plot(km, "fr"),
        forest_plot(CoxModel(["contract", "nps"]).fit(d).summary_, "en"),
        cumulative_incidence_plot(cr, "fr"),
        cohort_heatmap(retention, "fr"),
    ]
    figs.append(calibration_plot(np.linspace(0, 1, 50), np.r_[np.zeros(25), np.ones(25)], "en"))
    assert all(len(f.data) > 0 for f in figs)
    assert figs[0].layout.separators == ", "


def test_sample_truth_medians_match_the_generator_hazards(sample_truth, sample_as_of):
    """The committed sample's true lifetimes (acquisition to separation, left-truncated at the window start)
    give Kaplan-Meier medians near ln(2)/h for the types with a constant yearly hazard h (data/sample/README.md:
    dating 0.35/year, engaged 0.2/year). The generator dates a non-contractual separation at the last purchase,
    slightly before the hazard event, so only a 10 % agreement is asked."""
    t = sample_truth["customers"]
    acquired = pd.to_datetime(t["acquisition_date"])
    separated = pd.to_datetime(t["separation_date"])
    window_start = sample_as_of - pd.DateOffset(years=3) + pd.Timedelta(days=1)  # 2023-01-01
    d = pd.DataFrame(
        {
            "group": t["true_type"],
            "duration": (separated.fillna(sample_as_of) - acquired).dt.days.astype(float),
            "event": separated.notna().astype(int),
            "entry": (window_start - acquired).dt.days.clip(lower=0).astype(float),
        }
    )
    d = d[d["duration"] > d["entry"]]
    medians = KaplanMeier(group="group").fit(d).medians_.set_index("group")["median"]
    for group, hazard in {"dating": 0.35, "engaged": 0.2}.items():
        truth = np.log(2) / hazard * 365.25
        print(
            f"\n{group}: KM median {medians[group]:.0f} d vs ln2/h {truth:.0f} d ({medians[group] / truth - 1:+.1%})"
        )
        assert abs(medians[group] / truth - 1) < 0.10


@pytest.mark.parametrize(
    ("make", "use"),
    [
        (KaplanMeier, lambda m: m.survival_at(10.0)),
        (CompetingRisks, lambda m: m.incidence_at(10.0)),
        (CoxModel, lambda m: m.risk_score(pd.DataFrame({"x": [0, 1]}))),
        (AFTModel, lambda m: m.survival_function(pd.DataFrame({"x": [0, 1]}), [10.0])),
        (lambda: GapModel(90.0), lambda m: m.p_lapse(pd.DataFrame())),
    ],
    ids=["KaplanMeier", "CompetingRisks", "CoxModel", "AFTModel", "GapModel"],
)
def test_unfitted_models_raise_not_fitted_error(make, use):
    model = make()
    name = type(model).__name__
    with pytest.raises(NotFittedError, match=rf"This {name} is not fitted yet: call fit\(") as raised:
        use(model)
    assert raised.value.what == name
    if "summary" in dir(type(model)):  # the summary says the same; the notebook view says it without raising
        with pytest.raises(NotFittedError):
            model.summary  # noqa: B018
        assert model._repr_html_() == f"<p>{name}: not fitted.</p>"


def test_fitted_models_no_longer_raise(simulated):
    df, _ = simulated
    df = df.assign(end_reason=np.where(df["x"] == 1, "voluntary", "involuntary"))
    km = KaplanMeier().fit(df)
    curve = km.survival_.set_index("time")["survival"]
    assert km.survival_at(100.0).iloc[0] == pytest.approx(curve[curve.index <= 100.0].iloc[-1])
    cr = CompetingRisks().fit(df)
    table = cr.incidence_[(cr.incidence_["reason"] == "voluntary") & (cr.incidence_["time"] <= 100.0)]
    assert cr.incidence_at(100.0)["voluntary"] == pytest.approx(table["incidence"].iloc[-1])
    cox = CoxModel(["x"]).fit(df)
    # The covariate doubles the hazard (HR 2 in the simulation): the risk score of x = 1 is the larger one.
    low, high = cox.risk_score(pd.DataFrame({"x": [0, 1]}))
    assert high / low == pytest.approx(2.0, rel=0.15)
    assert "hazard_ratio" in cox._repr_html_()


def test_competing_risks_with_episodes_that_end_when_they_enter():
    """Left-truncated episodes that end on the day they enter the window, many tied: lifelines jitters tied
    event times by up to 1e-4, which once made such an episode end before it began ("birth time must be less
    than time of death", found on a 100,000-customer sample)."""
    rng = np.random.default_rng(0)
    n = 400
    entry = rng.integers(0, 30, n).astype(float)
    duration = entry + rng.integers(0, 3, n)  # a third end on their entry day
    df = pd.DataFrame(
        {
            "entry": entry,
            "duration": duration,
            "event": rng.integers(0, 2, n),
            "end_reason": rng.choice(["voluntary", "involuntary"], n),
        }
    )
    cr = CompetingRisks().fit(df)
    inc = cr.incidence_at(100.0)
    assert set(inc.index) == {"involuntary", "voluntary"}
    # Every episode ends with an event here: the incidences of the two reasons add up to at most 1.
    assert 0 < inc.sum() <= 1 + 1e-9


def test_cox_without_the_proportional_hazards_check_fits_the_same_model():
    """``ph_test=False`` (a model used only to score, as the gap model) skips the check, not the fit."""
    rossi = load_rossi()
    covariates = ["fin", "age", "prio"]
    checked = CoxModel(covariates).fit(rossi, "week", "arrest", None)
    plain = CoxModel(covariates, ph_test=False).fit(rossi, "week", "arrest", None)
    pd.testing.assert_frame_equal(checked.summary_, plain.summary_)
    assert len(checked.ph_test_) == 3 and plain.ph_test_.empty and plain.ph_test_note_ == "not_run"
    assert plain.clone().ph_test is False
    assert plain.concordance_ == pytest.approx(checked.concordance_) and 0.5 < plain.concordance_ < 1


def test_coarsened_gap_time_moves_a_gap_by_half_a_percent_at_most():
    u = np.array([0.0, 0.0123456, 0.98765, 1.23456, 12.3456, 123.456, 158.0, 7.0])
    out = coarsen_time(u)
    np.testing.assert_allclose(out, [0.0, 0.0123, 0.988, 1.23, 12.3, 123.0, 158.0, 7.0])
    rng = np.random.default_rng(3)
    u = rng.lognormal(0, 2, 10_000)
    assert np.all(np.abs(coarsen_time(u) - u) <= 0.005 * u + 1e-12)
    days = np.arange(1, 1000, dtype=float)  # gaps after a first purchase: whole days, unchanged
    np.testing.assert_array_equal(coarsen_time(days), days)


def test_gap_model_on_coarsened_time_scores_as_on_exact_time(sample_tables, sample_as_of, monkeypatch):
    """The rounding only creates ties (coarsen_time): the fit and the scores stay those of the exact times."""
    from custrel_lib.survival import risk

    tx = sample_tables["transactions"]
    keep = tx["customer_id"].drop_duplicates().iloc[:3000]
    gaps = risk.gap_table(tx.loc[tx["customer_id"].isin(keep)], sample_as_of, 159.0)
    open_gaps = gaps.loc[gaps["open"] & (gaps["gap"] <= 159.0)]
    assert len(np.unique(coarsen_time(gaps["u"]))) < gaps["u"].nunique() / 2  # what makes the fit faster
    coarse = GapModel(159.0).fit(gaps)
    monkeypatch.setattr(risk, "coarsen_time", lambda u: np.asarray(u, dtype=float))
    exact = GapModel(159.0).fit(gaps)
    np.testing.assert_allclose(coarse.cox_.summary_["coef"], exact.cox_.summary_["coef"], atol=0.01)
    diff = np.abs(coarse.p_lapse(open_gaps) - exact.p_lapse(open_gaps))
    assert len(diff) > 300 and diff.mean() < 0.003 and diff.max() < 0.03


@pytest.mark.parametrize("entry", [False, True])
def test_stratified_fit_by_position_is_lifelines_own_fit(entry):
    """custrel's Cox fitter takes each stratum's rows by position and defers the typical covariate values
    (faster); the fit, the baselines, those values, the residuals' proportional-hazards test and the predictions
    are lifelines' own, to the last bit without entry; with entry, the vectorised gradient
    (custrel_lib/survival/efron.py) adds its sums in another order: equal to 1e-10, relative."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    from custrel_lib.survival.cox import _CoxPHFitter

    rossi = load_rossi()
    kwargs = {"duration_col": "week", "event_col": "arrest", "strata": ["race", "wexp"]}
    if entry:
        rossi["entry"] = np.random.default_rng(0).uniform(0, 0.8, len(rossi)) * rossi["week"]
        kwargs["entry_col"] = "entry"
    ours, theirs = (cls(penalizer=0.01).fit(rossi, **kwargs) for cls in (_CoxPHFitter, CoxPHFitter))
    assert type(ours._model).__name__ == "_StrataByPosition"
    same = {"check_exact": True} if not entry else {"check_exact": False, "rtol": 1e-10, "atol": 1e-12}
    pd.testing.assert_frame_equal(ours.summary, theirs.summary, **same)
    pd.testing.assert_frame_equal(
        ours.baseline_cumulative_hazard_, theirs.baseline_cumulative_hazard_, **same
    )
    # The typical covariate values of lifelines' partial-effect plots: deferred, then the same.
    assert "_central_inputs" in ours._model.__dict__
    pd.testing.assert_frame_equal(ours._central_values, theirs._central_values, check_exact=True)
    plain = rossi.drop(columns=["entry"], errors="ignore")
    fits = [
        cls(penalizer=0.01).fit(plain, "week", "arrest", strata=["race", "wexp"])
        for cls in (_CoxPHFitter, CoxPHFitter)
    ]
    tests = [proportional_hazard_test(f, plain, time_transform="rank").summary for f in fits]
    pd.testing.assert_frame_equal(tests[0], tests[1], check_exact=True)
    pd.testing.assert_frame_equal(
        ours.predict_survival_function(rossi.iloc[:20], times=[10, 30, 50]),
        theirs.predict_survival_function(rossi.iloc[:20], times=[10, 30, 50]),
        **same,
    )


def test_a_group_too_small_for_a_curve_is_named_under_the_figure():
    """A group with fewer episodes than ``min_size`` gets no curve, and the figure says which and how many
    (it used to vanish without a word: two won-back relationships left the kind plot with two curves)."""
    from custrel_lib.plots.common import caption

    rng = np.random.default_rng(3)
    groups = ["purchase"] * 40 + ["contract"] * 30 + ["winback"] * 2 + ["<b>x</b>"] * 3
    d = pd.DataFrame(
        {
            "kind": groups,
            "duration": rng.uniform(1, 300, len(groups)),
            "event": rng.integers(0, 2, len(groups)),
        }
    )
    km = KaplanMeier(group="kind").fit(d, entry_col=None)
    assert set(km.fitters_) == {"purchase", "contract"} and km.dropped_groups_ == {
        "winback": 2,
        "<b>x</b>": 3,
    }
    labels = {"winback": "Relationship after a win-back"}
    en = caption(km_plot(km, "en", labels=labels, title="T", subtitle="75 relationships"))
    assert en.endswith(
        "75 relationships. Not drawn, fewer than 10 relationships: <b>x</b> (3), Relationship after a win-back (2)"
    )
    fig = km_plot(km, "fr")
    assert "Non tracé, moins de 10 relations : <b>x</b> (3), winback (2)" in caption(fig)
    assert "<b>" not in fig.layout.title.subtitle.text  # the group's name stays text
    whole = KaplanMeier(group="kind", min_size=2).fit(d, entry_col=None)
    assert not whole.dropped_groups_ and "Not drawn" not in caption(km_plot(whole, "en", title="T"))
