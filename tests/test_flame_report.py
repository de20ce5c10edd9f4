"""What the flame section of the report shows: the headline value of the base (checked on purchases the model did
not see), the most valuable fading customers (counted in the report, listed only in the export), P(alive) by
stage and one customer's history."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from custrel_lib.flame import analysis, btyd
from custrel_lib.flame.rfm import non_contract
from custrel_lib.flame.signal import signal_sentence
from custrel_lib.i18n import format_percent
from custrel_lib.privacy import MASK, pseudonymize
from custrel_lib.stages import typology

# Ten customers: value if alive = expected_value / p_alive = 100, 90, ..., 10.
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": [f"K{i}" for i in range(10)],
        "p_alive": [0.2, 0.9, 0.3, 0.5, 1.0, 0.1, 0.8, 0.4, 0.6, 0.7],
        "frequency": [3, 2, 0, 4, 0, 1, 5, 2, 1, 1],
        "expected_purchases": np.linspace(1, 2, 10),
    }
)
CUSTOMERS["expected_value"] = CUSTOMERS["p_alive"] * np.arange(100, 0, -10)


def test_fading_top_ranks_by_value_if_alive():
    top = analysis.fading_top(CUSTOMERS, threshold=0.5, top_share=0.5)
    # The top half by value if alive: K0..K4 (100..60); fading among them: K0 (0.2) and K2 (0.3, but no repeat
    # purchase: BG/NBD cannot say it faded, so it is left out); K3 (0.5) is not below 0.5.
    assert top["customer_id"].tolist() == ["K0"]
    assert top.attrs["top"] == 5 and top["value_if_alive"].tolist() == pytest.approx([100.0])
    everyone = analysis.fading_top(CUSTOMERS, threshold=1.01, top_share=1.0)
    assert everyone["customer_id"].tolist() == ["K0", "K1", "K3", "K5", "K6", "K7", "K8", "K9"]
    assert everyone["value_if_alive"].is_monotonic_decreasing


def test_value_if_alive_does_not_depend_on_recency():
    """E[purchases | history] = P(alive) x E[purchases | alive], and if alive, BG/NBD's posterior of the rate and
    of the drop-out probability depend on x and T only (FHL 2005, section 4): the ratio is the same for every
    recency, while P(alive) itself changes."""
    bg = btyd.BetaGeoModel()
    bg.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    rec = np.linspace(1, 38, 8)
    p = bg.p_alive(3, rec, 38.86)
    ratio = bg.expected_purchases(39, 3, rec, 38.86) / p
    assert np.ptp(p) > 0.3 and np.ptp(ratio) < 1e-9 * ratio.mean()


def test_fading_export_is_pseudonymised(tmp_path):
    top = analysis.fading_top(CUSTOMERS, threshold=1.01, top_share=1.0)
    key = b"0123456789abcdef-test"
    path = analysis.write_fading(tmp_path, top, key)
    assert path.name == analysis.FADING_FILE
    out = pd.read_csv(path)
    assert out["customer_id"].tolist() == pseudonymize(top["customer_id"], key).tolist()
    assert not set(out["customer_id"]) & set(CUSTOMERS["customer_id"])
    raw = pd.read_csv(analysis.write_fading(tmp_path, top))
    assert raw["customer_id"].tolist() == top["customer_id"].tolist()


def test_sentences_give_counts_and_values_never_ids():
    top = analysis.fading_top(CUSTOMERS, threshold=1.01, top_share=1.0)

    class Res:
        horizon_days = 90.0

    for lang, word in (("fr", "clients"), ("en", "customers")):
        text = analysis.fading_sentence(top, Res(), lang)
        assert word in text and analysis.FADING_FILE in text and "8" in text
        assert not any(c in text for c in CUSTOMERS["customer_id"])
        changed = pd.DataFrame(
            {
                "customer_id": ["a", "b", "c"],
                "stage_before": ["flirt", "flirt", "petit_ami"],
                "stage": "separe",
            }
        )
        moved, limit = signal_sentence(changed, lang, pd.Timestamp("2025-12-31"))
        assert "3" in moved and not any(c in moved for c in ("a,", "b,", " c "))
        assert (
            "2 de « Flirt » à « Séparé(e) », 1 de « Petit(e) ami(e) »"
            if lang == "fr"
            else "2 from Flirt to Separated, 1 from Dating"
        ) in moved
        assert limit == analysis.tr(analysis.TEXT, "limit", lang)
        none = signal_sentence(changed.iloc[:0], lang, pd.Timestamp("2025-12-31"))[0]
        assert ("ne change l'étape d'aucun client" if lang == "fr" else "changes no customer's stage") in none
        assert len(signal_sentence(None, lang)) == 1


@pytest.fixture(scope="module")
def flame(sample_tables, sample_as_of):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return analysis.run_flame(sample_tables, sample_as_of, 90)


def test_headline_definition(flame, sample_as_of):
    d = flame.to_dict()
    assert d["definition"]["period"] == {"days": 90.0, "start": "2026-01-01", "end": "2026-03-31"}
    assert (
        "without contract" in d["definition"]["population"]
        and "undiscounted" in d["definition"]["expected_value"]
    )
    assert d["expected_purchases"] == pytest.approx(flame.customers["expected_purchases"].sum(), abs=0.1)
    assert d["expected_value"] == pytest.approx(flame.customers["expected_value"].sum(), abs=0.01)
    assert d["customers"] == len(flame.customers)


def test_headline_figure_in_both_languages(flame):
    for lang, start in (("fr", "du 01/01/2026 au 31/03/2026"), ("en", "from 2026-01-01 to 2026-03-31")):
        h = flame.headline(lang)
        assert h["key"] == "flame_value" and h["value"] == flame.to_dict()["expected_value"]
        assert start in h["definition"], h["definition"]
        assert ("sans contrat" in h["label"]) == (lang == "fr")
    flame_without_spend = analysis.FlameResult(
        flame.customers.drop(columns="expected_value"), flame.bg, None, 90.0
    )
    assert flame_without_spend.headline("fr") is None


def test_a_fit_at_the_models_limit_says_so(flame, sample_tables, sample_as_of):
    """Four months of the sample: the fit lands at r, alpha -> infinity and a -> 0 (no spread of purchase rates,
    no dropout; tests/test_btyd.py), where P(alive) is 1 for everyone. The report says so beside the parameters;
    on the sample's whole history (the generator makes customers leave) it says nothing of the kind."""
    assert flame.boundary() == [] and flame.to_dict()["boundary"] == []
    tx = sample_tables["transactions"]
    short = {"transactions": tx[tx["date"] > sample_as_of - pd.DateOffset(months=4)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analysis.run_flame(short, sample_as_of, 90)
    assert res.boundary() == ["no_dropout", "same_rate"] and res.to_dict()["boundary"] == res.boundary()
    repeat = res.customers.loc[res.customers["frequency"] > 0, "p_alive"]
    assert repeat.min() >= analysis.NO_DROPOUT_P and res.bg.params_["r"] >= analysis.SAME_RATE_R
    for lang, words in (
        ("fr", ("presque aucun client partir", "1/√r")),
        ("en", ("almost no customer", "1/√r")),
    ):
        text = " ".join(analysis.flame_sentences(res, lang))
        assert all(w in text for w in words), text
        assert f"{len(repeat):,}".replace(",", "\u202f" if lang == "fr" else ",") in text
        assert words[0] not in " ".join(analysis.flame_sentences(flame, lang))


def test_a_log_of_one_time_buyers_gets_its_flame_and_says_the_dropout_is_the_same_for_all():
    """97 % of 20,000 customers buy once (an Olist-like marketplace): BG/NBD lands at a, b -> infinity (one
    dropout probability for everyone), where eq. 10 needs its limit (tests/test_btyd.py). The flame used to be
    skipped ("no finite forecast"); it is computed, finite, and the sentence beside the parameters says so."""
    rng = np.random.default_rng(9)
    n, as_of = 20_000, pd.Timestamp("2018-08-31")
    first = pd.Timestamp("2016-10-01") + pd.to_timedelta(rng.uniform(0, 700, n).round(), "D")
    k = np.where(rng.random(n) < 0.97, 1, rng.integers(2, 4, n))
    cid = np.repeat(np.arange(n), k)
    j = np.concatenate([np.arange(m) for m in k])
    gaps = pd.Series(pd.to_timedelta(np.where(j > 0, rng.exponential(90, len(j)).round() + 1, 0), "D"))
    day = first[cid] + gaps.groupby(cid).cumsum().to_numpy()
    ids = pd.array([f"c{i}" for i in cid], dtype="string")
    tx = pd.DataFrame({"customer_id": ids, "date": day, "amount": rng.gamma(2, 70, len(cid)).round(2)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = analysis.run_flame({"transactions": tx[tx["date"] <= as_of]}, as_of, 90)
    p = res.bg.params_
    assert p["a"] + p["b"] >= analysis.SAME_DROPOUT_AB and res.boundary() == ["same_dropout"]
    assert np.isfinite(res.customers[["p_alive", "expected_purchases"]].to_numpy(dtype="float64")).all()
    drop = float(p["a"] / (p["a"] + p["b"]))
    for lang, words in (
        ("fr", "la même probabilité d'abandon"),
        ("en", "the same probability of dropping out"),
    ):
        text = " ".join(analysis.flame_sentences(res, lang))
        assert words in text and format_percent(drop, lang, 1) in text, text


# Relative errors allowed. Measured when the test was written: purchase days +6.3 %, spend -11.8 % (the spend per
# purchase is underestimated: among repeat buyers it correlates with frequency (0.18), which Gamma-Gamma assumes not).
PURCHASES_BAR, SPEND_BAR = 0.10, 0.15


def test_base_forecast_against_purchases_not_seen(sample_tables, sample_as_of):
    """The headline's method on the sample, 90 days before the extraction: fitted up to as_of - 90 days, the
    expected purchase days and spend of the base over the next 90 days against what happened."""
    cut = sample_as_of - pd.Timedelta(days=90)
    tx = non_contract(sample_tables["transactions"], sample_tables["customers"])
    cal = btyd.rfm_summary(tx, sample_as_of, calibration_end=cut)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = btyd.BetaGeoModel().fit(cal)
        gg = btyd.GammaGammaModel().fit(cal)
    purchases = float(bg.expected_purchases(90, cal["frequency"], cal["recency"], cal["T"]).sum())
    value = float(gg.customer_value(bg, cal, 90, steps=1).sum())
    seen = float(cal["frequency_holdout"].sum())
    spent = float((cal["frequency_holdout"] * cal["monetary_value_holdout"]).sum())
    print(
        f"\nbase over the 90 days after {cut.date()}: purchase days {purchases:.0f} expected, {seen:.0f} seen; "
        f"spend {value:,.0f} expected, {spent:,.0f} seen"
    )
    assert abs(purchases / seen - 1) < PURCHASES_BAR
    assert abs(value / spent - 1) < SPEND_BAR


def test_p_alive_by_stage_and_history(flame, sample_tables, sample_as_of):
    import plotly.graph_objects as go

    from custrel_lib.plots import btyd as plots
    from custrel_lib.plots.common import caption
    from custrel_lib.stages.model import StageModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = StageModel().fit(sample_tables, sample_as_of).history_
    staged = analysis.with_stage(flame.customers, history)
    assert len(staged) == len(flame.customers)
    # BG/NBD's known limit, visible by stage: one-night stands (no repeat purchase) are all "alive".
    assert (staged.loc[staged["stage"] == "coup_d_un_soir", "p_alive"] == 1.0).all()
    med = staged.groupby("stage")["p_alive"].median()
    assert med["separe"] < med["petit_ami"]
    cid = staged.loc[staged["frequency"] > 3, "customer_id"].iloc[0]
    for lang in ("fr", "en"):
        fig = plots.p_alive_by_stage(staged, sample_as_of, lang)
        assert isinstance(fig, go.Figure) and len(fig.data) == staged["stage"].nunique()
        assert typology.stage_label("separe", lang) in " ".join(t.name for t in fig.data)
        h = plots.p_alive_history(flame.bg, sample_tables["transactions"], cid, sample_as_of, lang)
        assert MASK in caption(h) and cid not in caption(h)
