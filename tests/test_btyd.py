"""BG/NBD and Gamma-Gamma (custrel_lib.flame.btyd): published values on CDNOW, the summary in the engine, the
analytic gradients, and the ranking of the sample's customers against the generator's truth.

Sources of the published values:

* Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005), "Counting your customers the easy way: an alternative
  to the Pareto/NBD model", Marketing Science 24(2), 275-284: on the CDNOW sample (2,357 customers, 39-week
  calibration), r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4.
* Hardie's spreadsheet note accompanying the paper ("Implementing the BG/NBD model for customer base analysis
  in Excel"): a customer with x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next
  39 weeks.
* Fader, P. S. & Hardie, B. G. S. (2013), "The Gamma-Gamma model of monetary value": on CDNOW's 946 repeat
  buyers, p = 6.25, q = 3.74, gamma (v) = 15.44.

The CDNOW files under tests/data come from the archived lifetimes 0.11.3 wheel (tests/data/README.md);
lifetimes itself is not used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.flame import bgnbd, btyd, gamma_gamma
from custrel_lib.flame.btyd import (
    BetaGeoModel,
    GammaGammaModel,
    rfm_summary,
)
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.plots.common import caption

DATA = SAMPLE_DIR.parents[1] / "tests" / "data"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_spend() -> pd.DataFrame:
    df = pd.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    return df.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_transactions() -> pd.DataFrame:
    tx = pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
        dtype={"customer_id": str, "date": str},
    )
    return pd.DataFrame(
        {
            "customer_id": tx["customer_id"].str.lstrip("0").astype("string"),
            "date": pd.to_datetime(tx["date"], format="%Y%m%d"),
            "amount": tx["amount"].astype("float64"),
        }
    )


@pytest.fixture(scope="module")
def bg(cdnow) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


# --- published values ------------------------------------------------------------------------------------------


def test_bgnbd_cdnow_parameters_match_fader_hardie_lee_2005(bg, cdnow):
    assert len(cdnow) == 2357
    p = bg.params_
    assert (round(p["r"], 3), round(p["alpha"], 3), round(p["a"], 3), round(p["b"], 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    assert bg.log_likelihood_ == pytest.approx(-9582.4, abs=0.05)
    assert bg.converged_
    s = bg.summary
    assert list(s.index) == ["r", "alpha", "a", "b"]
    assert (
        (s["se(coef)"] > 0).all()
        and (s["lower 95%"] < s["coef"]).all()
        and (s["coef"] < s["upper 95%"]).all()
    )
    assert "BG/NBD" in bg._repr_html_() and "se(coef)" in bg._repr_html_()


def test_expected_purchases_matches_hardies_spreadsheet(bg):
    assert round(bg.expected_purchases(39, 2, 30.43, 38.86), 3) == 1.226
    # P(alive) of the same customer and of one without repeat purchase (BG/NBD: alive for sure).
    assert 0.5 < bg.p_alive(2, 30.43, 38.86) < 1
    assert bg.p_alive(0, 0.0, 38.86) == 1.0


def test_gamma_gamma_cdnow_parameters_match_fader_hardie_2013(cdnow_spend):
    gg = GammaGammaModel().fit(cdnow_spend)
    assert gg.n_ == 946
    p = gg.params_
    assert (round(p["p"], 2), round(p["q"], 2)) == (6.25, 3.74)
    # The maximum of the likelihood is at v = 15.448 (lifetimes finds the same); the note prints 15.44, a
    # spreadsheet solver stopped a little short (the log-likelihood differs by 0.0015). Within 0.01.
    assert p["v"] == pytest.approx(15.44, abs=0.01)
    spend = gg.conditional_expected_spend(cdnow_spend["frequency"], cdnow_spend["monetary_value"])
    pop_mean = p["p"] * p["v"] / (p["q"] - 1)
    assert np.allclose(spend[cdnow_spend["frequency"].to_numpy() == 0], pop_mean)
    # Shrinkage: the expected spend lies between the customer's mean and the population mean.
    rep = cdnow_spend["frequency"].to_numpy() > 0
    lo = np.minimum(cdnow_spend["monetary_value"].to_numpy(), pop_mean)[rep]
    hi = np.maximum(cdnow_spend["monetary_value"].to_numpy(), pop_mean)[rep]
    assert np.all((spend[rep] >= lo - 1e-9) & (spend[rep] <= hi + 1e-9))


def test_customer_value_is_discounted_expected_spend(bg, cdnow_spend):
    gg = GammaGammaModel().fit(cdnow_spend)
    s = cdnow_spend.head(50)
    plain = gg.customer_value(bg, s, horizon=52, discount_rate=0.0, unit="weeks")
    expected = bg.expected_purchases(
        52, s["frequency"], s["recency"], s["T"]
    ) * gg.conditional_expected_spend(s["frequency"], s["monetary_value"])
    assert np.allclose(plain, expected)
    discounted = gg.customer_value(bg, s, horizon=52, discount_rate=0.10, unit="weeks")
    assert (discounted < plain).all() and (discounted > plain / 1.10).all()


# --- numerics ----------------------------------------------------------------------------------------------------


def _finite_difference(f, theta, eps=1e-6):
    return np.array(
        [
            (f(theta + eps * np.eye(len(theta))[i]) - f(theta - eps * np.eye(len(theta))[i])) / (2 * eps)
            for i in range(len(theta))
        ]
    )


def test_bgnbd_gradient_matches_finite_differences(cdnow):
    m = BetaGeoModel()
    x, tx, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    w = np.ones(len(x))
    for theta in (np.log([0.243, 4.414, 0.793, 2.426]), np.array([0.3, -0.5, 1.2, -0.7])):
        analytic = m._neg_ll_grad(theta, x, tx, T, w)[1]
        numeric = _finite_difference(lambda th: m._neg_ll_grad(th, x, tx, T, w)[0], theta)
        assert np.allclose(analytic, numeric, rtol=1e-5, atol=1e-8), (analytic, numeric)


def test_gamma_gamma_gradient_matches_finite_differences(cdnow_spend):
    rep = cdnow_spend[cdnow_spend["frequency"] > 0]
    x, m = rep["frequency"].to_numpy(float), rep["monetary_value"].to_numpy(float)
    for params in ((6.25, 3.74, 15.44), (1.3, 0.8, 40.0)):
        _, grads = gamma_gamma._gg_terms(*params, x, m)
        analytic = np.array([g.sum() for g in grads])
        numeric = _finite_difference(lambda th: gamma_gamma._gg_terms(*th, x, m)[0].sum(), np.array(params))
        assert np.allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_standard_errors_match_a_hessian_of_the_likelihood_values(bg, cdnow):
    """The summary's errors (finite differences of the analytic gradient) against a Hessian built from the
    log-likelihood values alone, in the natural parameters."""
    x, tx, T = (cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    p0 = bg.params_.to_numpy()

    def ll(p):
        return bgnbd._bgnbd_terms(*p, x, tx, T)[0].sum()

    k, h = len(p0), np.zeros((4, 4))
    steps = 1e-4 * p0
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * steps[i], np.eye(k)[j] * steps[j]
            h[i, j] = (ll(p0 + ei + ej) - ll(p0 + ei - ej) - ll(p0 - ei + ej) + ll(p0 - ei - ej)) / (
                4 * steps[i] * steps[j]
            )
    se = np.sqrt(np.diag(np.linalg.inv(-h)))
    assert np.allclose(bg.summary["se(coef)"].to_numpy(), se, rtol=0.02)


def test_expected_purchases_stable_for_large_arguments(bg):
    """Pfaff's transformation keeps eq. 10 finite where the direct form multiplies a vanishing power by a
    huge hypergeometric series (heavy buyers, long horizons)."""
    t = np.array([1, 39, 520, 5200, 52000.0])
    for x in (0, 1, 10, 100, 1000):
        tx, T = (0.0, 38.86) if x == 0 else (38.0, 38.86)
        e = bg.expected_purchases(t, x, tx, T)
        assert np.all(np.isfinite(e)) and np.all(np.diff(e) > 0), (x, e)
    # Pfaff's form and the direct form agree where the direct one is well behaved.
    r, alpha, a, b = bg.params_
    from scipy import special

    for x, t, T in ((2, 39, 38.86), (5, 10, 20.0), (0, 52, 30.0)):
        z = t / (alpha + T + t)
        direct = ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        assert bgnbd._hyp2f1_tail(r + x, a, b + x, t, alpha + T) == pytest.approx(direct, rel=1e-10)
    # A customer seen at their first purchase (x = t_x = T = 0) is a new customer: eq. 10 becomes eq. 9.
    assert bg.expected_purchases(39, 0, 0.0, 0.0) == pytest.approx(bg.expected_purchases_new(39), rel=1e-12)
    # and the cumulative expectation of a new customer grows like the mean rate at the start.
    assert bg.expected_purchases_new(1e-4) / 1e-4 == pytest.approx(r / alpha, rel=1e-3)


def test_expected_purchases_finite_at_the_no_heterogeneity_no_dropout_limit():
    """A fit on a short history (four months of 148 customers, tests/test_shapes.py) lands near the limit
    r, alpha -> infinity (every customer buys at the same rate r/alpha) and a -> 0 (nobody drops out), where
    scipy's hyp2f1 returns NaN for both forms of eq. 10. Gauss's series takes over there; at that limit the
    expected purchases tend to the posterior mean rate times t, (r + x) / (alpha + T) * t (closed form)."""
    bg = BetaGeoModel()
    bg.params_ = pd.Series(
        {"r": 5.435171e04, "alpha": 3.269017e06, "a": 8.191676e-04, "b": 7.541529e02}, name="coef"
    )
    r, alpha = bg.params_["r"], bg.params_["alpha"]
    x, tx, T = (
        np.array([0, 1, 2, 5]),
        np.array([0.0, 30.0, 60.0, 100.0]),
        np.array([50.0, 80.0, 100.0, 120.0]),
    )
    e = bg.expected_purchases(90.0, x, tx, T)
    assert np.all(np.isfinite(e)), e
    np.testing.assert_allclose(e, (r + x) / (alpha + T) * 90.0, rtol=1e-4)
    # The series itself equals scipy's hyp2f1 where scipy is right (moderate negative first parameters).
    from scipy import special

    rng = np.random.default_rng(0)
    A, B = -rng.uniform(1, 50, 500), -rng.uniform(0, 1, 500)
    C, z = rng.uniform(1, 800, 500), rng.uniform(0, 0.3, 500)
    np.testing.assert_allclose(bgnbd._hyp2f1_series(A, B, C, z), special.hyp2f1(A, B, C, z), rtol=1e-12)


def test_expected_purchases_at_the_point_mass_limit_of_the_dropout():
    """A fit where every customer has the same dropout probability (a, b -> infinity, p = a / (a + b)): on a
    log where 97 % of customers buy once, BG/NBD landed at a = 8.1e5, b = 5.7e5, every exact form of eq. 10
    failed for customers with a short history, and the flame was skipped ("no finite forecast"). The limit
    of the hypergeometric function takes over there; checked against the exact form where it still works, and
    against customers drawn from the model (a new customer's expected purchases over T = the mean frequency)."""
    from scipy import special

    truth = {"r": 0.3, "alpha": 20.0, "a": 8e5, "b": 5.6e5}
    bg = BetaGeoModel()
    bg.params_ = pd.Series(truth, name="coef")
    r, alpha, a, b = truth.values()
    # A new customer over 90 days: scipy's Euler and Pfaff forms both fail (inf, NaN), the limit takes over.
    assert not np.isfinite(special.hyp2f1(a + b - 1 - r, a - 1, a + b - 1, 90 / (alpha + 90)))
    assert not np.isfinite(special.hyp2f1(r, a - 1, a + b - 1, -90 / alpha))
    for T in (30.0, 90.0, 365.0):
        sim = btyd.simulate_summary(400_000, **truth, T=T, seed=int(T))
        expected = bg.expected_purchases_new(T)
        se = sim["frequency"].std() / np.sqrt(len(sim))
        assert np.isfinite(expected) and abs(sim["frequency"].mean() - expected) < 4 * se, (T, expected)
    e = bg.expected_purchases(
        90.0, np.array([0, 1, 3]), np.array([0.0, 5.0, 20.0]), np.array([1.0, 10.0, 30.0])
    )
    assert np.all(np.isfinite(e)) and np.all(
        np.isfinite(bg.p_alive([0, 1, 3], [0.0, 5.0, 20.0], [1, 10, 30]))
    )
    # The limit against the exact form, where scipy still computes it: within about 1/c.
    for scale in (1e4, 1e5):
        a, b = 0.59 * scale, 0.41 * scale
        for x, T, t in ((0, 700.0, 90.0), (1, 700.0, 90.0), (3, 500.0, 365.0)):
            z = t / (alpha + T + t)
            exact = (1 - z) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            limit = ((1 - z) / (1 - (b + x) / (a + b + x - 1) * z)) ** (r + x)
            assert np.isfinite(exact) and limit == pytest.approx(exact, rel=10 / scale)


def test_fit_recovers_simulated_parameters():
    truth = {"r": 0.5, "alpha": 10.0, "a": 0.6, "b": 3.0}
    sim = btyd.simulate_summary(40_000, **truth, T=np.linspace(20, 60, 40_000), seed=3)
    fit = BetaGeoModel().fit(sim)
    for k, v in truth.items():
        est, se = fit.summary.loc[k, "coef"], fit.summary.loc[k, "se(coef)"]
        assert abs(est - v) < 4 * se, (k, est, se, v)


def test_models_used_before_fit_raise_not_fitted(bg, cdnow_spend):
    from custrel_lib.exceptions import NotFittedError

    for call in (
        lambda: BetaGeoModel().p_alive(2, 30.43, 38.86),
        lambda: BetaGeoModel().expected_purchases(39, 2, 30.43, 38.86),
        lambda: BetaGeoModel().summary,
        lambda: GammaGammaModel().conditional_expected_spend(2, 30.0),
        # a fitted spend model with an unfitted BG/NBD model
        lambda: GammaGammaModel().fit(cdnow_spend).customer_value(BetaGeoModel(), cdnow_spend, 39),
    ):
        with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
            call()
    assert "not fitted" in repr(BetaGeoModel()) and "r=0.2426" in repr(bg)


def test_unit_changes_only_alpha(cdnow_transactions):
    days = rfm_summary(cdnow_transactions, "1997-09-30", unit="days", include_zero=True)
    weeks = rfm_summary(cdnow_transactions, "1997-09-30", unit="weeks", include_zero=True)
    fd, fw = BetaGeoModel().fit(days).params_, BetaGeoModel().fit(weeks).params_
    assert fd["alpha"] / 7 == pytest.approx(fw["alpha"], rel=1e-4)
    for k in ("r", "a", "b"):
        assert fd[k] == pytest.approx(fw[k], rel=1e-4)


# --- the summary --------------------------------------------------------------------------------------------------


def test_rfm_summary_rebuilds_the_cdnow_summaries(cdnow_transactions, cdnow, cdnow_spend):
    s = rfm_summary(
        cdnow_transactions, "1998-06-30", calibration_end="1997-09-30", unit="weeks", include_zero=True
    )
    assert len(s) == 2357 and s.attrs["unit"] == "weeks"
    ref = cdnow.assign(customer_id=cdnow["ID"].astype(str)).set_index("customer_id")
    mine = s.set_index(s["customer_id"].astype(str)).loc[ref.index]
    assert (mine["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    # The published files round weeks to 2 decimals.
    assert np.abs(mine["recency"].to_numpy() - ref["recency"].to_numpy()).max() <= 0.005
    assert np.abs(mine["T"].to_numpy() - ref["T"].to_numpy()).max() <= 0.005
    assert (
        np.abs(mine["monetary_value"].to_numpy() - cdnow_spend["monetary_value"].to_numpy()).max() <= 0.0051
    )
    assert (s["duration_holdout"] == 39).all() and s["frequency_holdout"].sum() > 0
    # Refunds and zero amounts do not count by default: the 8 customers whose only first-day order was free
    # drop out.
    assert (
        len(rfm_summary(cdnow_transactions, "1998-06-30", calibration_end="1997-09-30", unit="weeks")) == 2349
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"as_of": "1998-06-30", "calibration_end": "1997-09-30", "unit": "weeks", "include_zero": True},
        {"as_of": "1998-06-30", "calibration_end": "1997-09-30", "unit": "days"},
        {"as_of": "1997-12-31", "unit": "days"},
    ],
)
def test_engine_and_pandas_agree(cdnow_transactions, kwargs):
    tx = cdnow_transactions.copy()
    tx.loc[tx.index[::50], "amount"] *= -1  # a few refunds
    engine = rfm_summary(tx, **kwargs)
    reference = rfm_summary(tx, backend="pandas", **kwargs)
    pd.testing.assert_frame_equal(engine, reference, check_exact=False, rtol=1e-12)
    for c in ("customer_id", "frequency", "recency", "T"):
        assert engine[c].equals(reference[c])


def test_rfm_summary_conventions_on_a_small_example():
    d = pd.Timestamp
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "A", "A", "B", "C", "C", "D"],
            "date": [
                d("2024-01-01 09:00"),
                d("2024-01-01 17:30"),  # same day: one purchase occasion, spend 30
                d("2024-01-11"),
                d("2024-01-15"),  # a refund: does not count
                d("2024-02-05"),  # holdout
                d("2024-01-20"),
                d("2024-02-10"),  # first purchase in the holdout: not in the summary
                d("2024-02-11"),
                d("2024-03-01"),  # after as_of: ignored
            ],
            "amount": [10.0, 20.0, 50.0, -50.0, 7.0, 5.0, 1.0, 2.0, 9.0],
        }
    )
    for backend in (None, "pandas"):
        s = rfm_summary(tx, as_of="2024-02-29", calibration_end="2024-01-31", backend=backend)
        assert list(s["customer_id"]) == ["A", "B"]
        a, b = s.iloc[0], s.iloc[1]
        assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (1, 10.0, 30.0, 50.0)
        assert (a["frequency_holdout"], a["monetary_value_holdout"], a["duration_holdout"]) == (1, 7.0, 29.0)
        assert (b["frequency"], b["recency"], b["T"], b["monetary_value"], b["frequency_holdout"]) == (
            0,
            0,
            11,
            0,
            0,
        )
    s = rfm_summary(tx, as_of="2024-02-29")
    assert list(s.columns) == btyd.SUMMARY_COLUMNS and list(s["customer_id"]) == ["A", "B", "C"]


def test_rfm_summary_reads_a_table_in_a_backend(cdnow_transactions):
    import ibis

    con = ibis.duckdb.connect()
    table = con.create_table("tx", cdnow_transactions)
    s = rfm_summary(table, "1997-09-30", unit="weeks", include_zero=True)
    pd.testing.assert_frame_equal(
        s,
        rfm_summary(cdnow_transactions, "1997-09-30", unit="weeks", include_zero=True),
        check_exact=False,
        rtol=1e-12,
    )


# --- the sample against the generator's truth ------------------------------------------------------------------------

AUC_BAR = 0.90  # measured 0.929 (recency alone 0.950) when the test was written


def test_p_alive_ranks_the_sample_against_the_truth(sample_tables, sample_truth, sample_as_of):
    """Population: non-contractual customers (no contract dates) with at least one repeat purchase day and a
    purchase in the 365 days before as_of. Truly left: the generator's separation before as_of, not undone by
    a win-back (tests/test_survival_truth.py). Score: 1 - P(alive), BG/NBD fitted on every customer's summary
    in days; compared with the days since the last purchase."""
    from sklearn.metrics import roc_auc_score

    from tests.test_survival_truth import _true_separated

    summary = rfm_summary(sample_tables["transactions"], sample_as_of, unit="days")
    model = BetaGeoModel().fit(summary)
    cu = sample_tables["customers"]
    contract = set(
        cu.loc[cu["contract_start"].notna() | cu["contract_end"].notna(), "customer_id"].astype(str)
    )
    since_last = summary["T"] - summary["recency"]
    pop = summary[(summary["frequency"] >= 1) & ~summary["customer_id"].isin(contract) & (since_last <= 365)]
    y = pop["customer_id"].astype(str).map(_true_separated(sample_truth["customers"], sample_as_of))
    assert y.notna().all() and 100 < y.sum() < len(y)
    p = model.p_alive(pop["frequency"], pop["recency"], pop["T"])
    auc_model = roc_auc_score(y, 1 - p)
    auc_recency = roc_auc_score(y, (pop["T"] - pop["recency"]))
    print(
        f"\nBG/NBD on the sample ({len(pop)} repeat non-contract customers active in the last year, "
        f"{int(y.sum())} truly gone): AUC 1 - P(alive) {auc_model:.3f}, recency alone {auc_recency:.3f}"
    )
    assert auc_model > AUC_BAR


# --- what the plots use ------------------------------------------------------------------------------------------------


def test_helpers_for_the_figures(bg, cdnow_transactions):
    m = btyd.p_alive_matrix(bg, T=38.86, max_frequency=10)
    assert m.shape == (11, 40) and np.isnan(m.iloc[0, 1:]).all() and m.iloc[0, 0] == 1.0
    # More purchases, long ago: less likely alive; same frequency, more recent: more likely alive.
    assert m.iloc[10, 5] < m.iloc[1, 5] and m.iloc[5, -1] > m.iloc[5, 5]
    s = rfm_summary(
        cdnow_transactions, "1998-06-30", calibration_end="1997-09-30", unit="weeks", include_zero=True
    )
    ch = btyd.calibration_holdout(bg, s, max_frequency=7)
    assert list(ch["frequency"]) == list(range(8)) and ch["customers"].sum() == len(s)
    # FHL 2005 figure 4: the model follows the holdout means closely.
    assert np.abs(ch["model"] - ch["actual"]).max() < 0.6
    hist = btyd.p_alive_history(bg, cdnow_transactions, "1", "1998-06-30", unit="weeks")
    one = s.set_index("customer_id").loc["1"]
    assert hist["purchase"].sum() == one["frequency"] + 1 + one["frequency_holdout"]
    assert hist["p_alive"].between(0, 1).all() and hist["p_alive"].iloc[0] == 1.0
    # P(alive) decays between purchases and jumps back up at each repeat purchase after the first one (the
    # first repeat purchase lowers it: before it, BG/NBD holds the customer alive for sure).
    step = hist["p_alive"].diff()
    assert (
        step[hist["purchase"]].iloc[1] < 0
        and (step[hist["purchase"]].iloc[2:] > 0).all()
        and (step[~hist["purchase"]] <= 1e-12).all()
    )


def test_plots_in_both_languages(bg, cdnow_transactions):
    import plotly.graph_objects as go

    from custrel_lib.plots import btyd as plots

    s = rfm_summary(
        cdnow_transactions, "1998-06-30", calibration_end="1997-09-30", unit="weeks", include_zero=True
    )
    for lang in ("fr", "en"):
        figs = [
            plots.p_alive_matrix(bg, T=38.86, lang=lang, population="CDNOW"),
            plots.calibration_holdout(bg, s, lang=lang, population="CDNOW"),
            plots.p_alive_history(bg, cdnow_transactions, "1", "1998-06-30", lang=lang),
        ]
        for fig in figs:
            assert isinstance(fig, go.Figure) and caption(fig)
        assert ("Probabilité" in caption(figs[0])) == (lang == "fr")
    for key, labels in plots.TEXT.items():
        assert set(labels) == {"fr", "en"}, key
