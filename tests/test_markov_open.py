"""Open-population Markov projection against a known truth: a population simulated from a known chain with a
known entry process (fixed seeds), the closed forms, the burn-in and the back-test's no-change baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.journeys import Transitions, narrative
from custrel_lib.journeys import tables as journey_tables
from custrel_lib.journeys.chain import (
    cesaro_limit,
    default_burn_in,
    long_run_mix,
    open_steady_state,
    project_counts,
)
from custrel_lib.journeys.markov import MarkovProjection
from custrel_lib.plots.common import caption
from custrel_lib.plots.journeys import backtest_chart, mix_forecast_chart

STAGES = ["prospect", "flirt", "petit_ami", "separe"]
# Rows: from; columns: to; the rest of each row (1 - row sum) is the exit probability.
P_TRUE = np.array(
    [
        [0.60, 0.30, 0.00, 0.00],  # exit 0.10
        [0.00, 0.50, 0.30, 0.15],  # exit 0.05
        [0.00, 0.00, 0.85, 0.10],  # exit 0.05
        [0.00, 0.05, 0.00, 0.75],  # exit 0.20
    ]
)
E_TRUE = np.array([60.0, 40.0, 0.0, 0.0])  # Poisson means of the new customers per period, by stage
N_STAR = E_TRUE @ np.linalg.inv(np.eye(4) - P_TRUE)


def _simulate(
    seed: int,
    periods: int = 30,
    start: np.ndarray | None = None,
    pre_periods: int = 0,
    discovery: int = 0,
    frozen_last: int = 0,
) -> pd.DataFrame:
    """Stage history of a simulated open population, monthly snapshots from 2022-01-31.

    ``start``: customers per stage at the first snapshot. ``pre_periods``: the chain runs that long before
    the window (from an empty population); customers alive at the window's start are then only seen from a
    period drawn uniformly in ``0 .. discovery - 1`` (left truncation: their earlier purchases are missing).
    ``frozen_last``: in the last periods nobody moves, enters or leaves.
    """
    rng = np.random.default_rng(seed)
    cum = np.cumsum(np.hstack([P_TRUE, 1 - P_TRUE.sum(axis=1, keepdims=True)]), axis=1)
    state = np.repeat(np.arange(4), (start if start is not None else np.zeros(4)).astype(int))
    seen_from = np.zeros(len(state), dtype=int)

    def step(state: np.ndarray) -> np.ndarray:
        alive = state >= 0
        u = rng.random(len(state))
        nxt = state.copy()
        nxt[alive] = (u[alive, None] > cum[state[alive]]).sum(axis=1)
        nxt[nxt == 4] = -1
        new = np.repeat(np.arange(4), rng.poisson(E_TRUE))
        return np.concatenate([nxt, new])

    for _ in range(pre_periods):
        state = step(state)
    state = state[state >= 0]
    seen_from = rng.integers(0, discovery, len(state)) if discovery else np.zeros(len(state), dtype=int)
    snaps = pd.date_range("2022-01-31", periods=periods, freq="ME")
    rows = []
    for t, snap in enumerate(snaps):
        if t > 0 and t < periods - frozen_last:
            state = step(state)
            seen_from = np.concatenate([seen_from, np.full(len(state) - len(seen_from), t)])
        ok = (state >= 0) & (seen_from <= t)
        ids = np.flatnonzero(ok)
        rows.append(pd.DataFrame({"customer_id": ids.astype(str), "snapshot": snap, "stage": state[ok]}))
    h = pd.concat(rows, ignore_index=True)
    h["stage"] = np.array(STAGES)[h["stage"].to_numpy()]
    return h


@pytest.fixture(scope="module")
def stationary():
    """About 3,900 customers over 30 months, started at the steady counts n* (no left truncation)."""
    h = _simulate(seed=7, start=np.round(N_STAR))
    return Transitions(cadence="month", backend="pandas").fit(h)


def test_estimates_recover_the_true_chain_and_entries(stationary):
    # 1,020 customers at the start (n*) and 29 periods of 100 expected new ones: 3,920 (sd about 55).
    assert stationary.n_customers_ == pytest.approx(3_920, abs=150)
    mp = MarkovProjection(periods=6, backtest_periods=0, burn_in=0).fit(stationary)
    p = mp.chain_.matrix.loc[STAGES, STAGES].to_numpy()
    # Each row has 2,500 to 16,000 customer-periods: standard errors <= 0.01, tolerance 0.03.
    assert np.abs(p - P_TRUE).max() < 0.03
    x = mp.chain_.exit_rate[STAGES].to_numpy()
    assert np.abs(x - (1 - P_TRUE.sum(axis=1))).max() < 0.02
    # Mean of 29 Poisson draws: standard error 1.4 (prospect), 1.2 (flirt); tolerance 5 new customers.
    e = mp.chain_.entries[STAGES].to_numpy()
    assert np.abs(e - E_TRUE).max() < 5
    assert mp.chain_.entries.drop(STAGES).sum() == 0
    # The estimated steady state is close to the true one, n* = e (I - P)^-1 (within 10 %).
    assert mp.steady_state_ is not None and mp.trapped_ == []
    assert mp.steady_state_[STAGES].to_numpy() == pytest.approx(N_STAR, rel=0.10)


def test_projection_equals_the_closed_form_and_steady_state():
    n0 = np.array([500.0, 100.0, 20.0, 0.0])
    proj = project_counts(n0, P_TRUE, E_TRUE, 12)
    inv = np.linalg.inv(np.eye(4) - P_TRUE)
    for h in range(13):
        ph = np.linalg.matrix_power(P_TRUE, h)
        closed = n0 @ ph + E_TRUE @ (np.eye(4) - ph) @ inv
        assert proj[h] == pytest.approx(closed, rel=1e-12, abs=1e-9)
    n_star, trapped = open_steady_state(P_TRUE, E_TRUE)
    assert trapped == [] and n_star == pytest.approx(E_TRUE @ inv, rel=1e-12)
    assert project_counts(n0, P_TRUE, E_TRUE, 400)[-1] == pytest.approx(n_star, rel=1e-9)
    assert long_run_mix(P_TRUE, E_TRUE) == pytest.approx(n_star / n_star.sum(), rel=1e-12)


def test_expected_counts_of_simulated_populations_match_the_closed_form():
    # 4,000 replicates of 5 periods from n0, drawn with multinomial moves and Poisson entries.
    rng = np.random.default_rng(11)
    n0 = np.array([400, 100, 50, 0])
    probs = np.hstack([P_TRUE, 1 - P_TRUE.sum(axis=1, keepdims=True)])
    reps = np.tile(n0, (4_000, 1))
    for _ in range(5):
        nxt = rng.poisson(E_TRUE, size=reps.shape).astype(np.int64)
        for i in range(4):
            nxt += rng.multinomial(reps[:, i], probs[i])[:, :4]
        reps = nxt
    expected = project_counts(n0, P_TRUE, E_TRUE, 5)[-1]
    se = reps.std(axis=0) / np.sqrt(len(reps))
    assert np.all(np.abs(reps.mean(axis=0) - expected) < 4 * se + 1e-9)


def test_no_steady_state_without_exits_and_the_long_run_shares():
    two = np.array([[0.7, 0.3], [0.1, 0.9]])  # no exit at all
    n_star, trapped = open_steady_state(two, [10.0, 0.0])
    assert n_star is None and trapped == [0, 1]
    assert long_run_mix(two, [10.0, 0.0]) == pytest.approx([0.25, 0.75], abs=1e-12)
    assert cesaro_limit(two) == pytest.approx(np.array([[0.25, 0.75], [0.25, 0.75]]), abs=1e-12)
    # Exits only from stage 0; stage 1 leads only to the absorbing stage 2: both are trapped.
    p = np.array([[0.5, 0.3, 0.1], [0.0, 0.6, 0.4], [0.0, 0.0, 1.0]])
    n_star, trapped = open_steady_state(p, [5.0, 0.0, 0.0])
    assert n_star is None and trapped == [1, 2]
    assert long_run_mix(p, [5.0, 0.0, 0.0]) == pytest.approx([0.0, 0.0, 1.0], abs=1e-12)


def test_burn_in_removes_the_customers_from_before_the_window():
    # The chain ran 40 months before the window; those customers are seen within 3 months (H = 91 days).
    h = _simulate(seed=3, pre_periods=40, discovery=3)
    tr = Transitions(cadence="month", backend="pandas").fit(h)
    assert default_burn_in("month", 91) == 3
    assert default_burn_in("quarter", 152) == 2 and default_burn_in("quarter", 152, lookback_days=365) == 4
    assert default_burn_in("month", 0) == 0
    raw = MarkovProjection(backtest_periods=0, burn_in=0).fit(tr)
    clean = MarkovProjection(backtest_periods=0, horizon_days=91).fit(tr)
    assert clean.burn_in_ == 3 and clean.fit_pairs_[0][0] == tr.snapshots_[3]
    by_period = raw.chain_.entries_by_period.sum(axis=1)
    # The first two pairs see about two thirds of the ~800 customers from before the window as new.
    assert by_period.iloc[0] > 3 * E_TRUE.sum() and by_period.iloc[1] > 3 * E_TRUE.sum()
    assert raw.chain_.entries.sum() - E_TRUE.sum() > 15  # biased by about 17 per period
    # After the burn-in, the entries are the true ones (standard error 1.9 on the total; tolerance 6).
    assert abs(clean.chain_.entries.sum() - E_TRUE.sum()) < 6
    assert np.abs(clean.chain_.entries[STAGES].to_numpy() - E_TRUE).max() < 5
    fr = narrative.burn_in_sentence(clean, "fr")
    en = narrative.burn_in_sentence(clean, "en")
    assert "3 mois au début de la fenêtre (janv. 2022–mars 2022)" in fr and "de avr. 2022 à juin 2024" in fr
    assert "3 months at the start of the window (Jan 2022–Mar 2022)" in en and "26 month-to-month moves" in en


def test_backtest_no_change_is_good_on_a_stationary_population(stationary):
    mp = MarkovProjection(periods=3, backtest_periods=3, burn_in=0).fit(stationary)
    bt = mp.backtest_
    assert list(bt["step"]) == [1, 2, 3] and bt["snapshot"].iloc[-1] == stationary.snapshots_[-1]
    # Both forecasts are within a point of the observed mix (sampling noise only).
    assert bt["no_change_mae"].max() < 0.01 and bt["model_mae"].max() < 0.01
    cut = mp.backtest_cut_
    assert mp.backtest_no_change_.iloc[-1].to_numpy() == pytest.approx(mp.observed_.loc[cut].to_numpy())


def test_backtest_model_beats_no_change_on_a_trending_population():
    # 3,000 prospects at the start: the mix moves fast towards the steady state.
    h = _simulate(seed=5, periods=8, start=np.array([3_000, 0, 0, 0]))
    tr = Transitions(cadence="month", backend="pandas").fit(h)
    mp = MarkovProjection(periods=3, backtest_periods=3, burn_in=0).fit(tr)
    bt = mp.backtest_
    assert bt["no_change_mae"].min() > 0.02  # the mix moves by two points or more per step
    assert bt["model_mae"].max() < 0.01
    assert (bt["model_mae"] < 0.5 * bt["no_change_mae"]).all()
    assert mp.backtest_verdict == "better"
    assert "le modèle fait mieux que l'absence de changement" in narrative.backtest_sentence(mp, "fr")
    assert "the model does better than no change" in narrative.backtest_sentence(mp, "en")
    fig = backtest_chart(mp, "en")
    assert [t.name for t in fig.data] == ["Markov model", "No change"]
    assert list(fig.data[1].y) == pytest.approx(list(bt["no_change_mae"] * 100))


def test_backtest_says_when_the_model_does_worse_than_no_change():
    # The population freezes over the 3 held-out months: no change is exact, the model is not.
    h = _simulate(seed=5, periods=8, start=np.array([3_000, 0, 0, 0]), frozen_last=3)
    tr = Transitions(cadence="month", backend="pandas").fit(h)
    mp = MarkovProjection(periods=3, backtest_periods=3, burn_in=0).fit(tr)
    assert mp.backtest_["no_change_mae"].max() == 0.0
    assert mp.backtest_["model_mae"].min() > 0.01
    assert mp.backtest_verdict == "worse"
    assert "le modèle fait moins bien que l'absence de changement" in narrative.backtest_sentence(mp, "fr")
    assert "the model does worse than no change" in narrative.backtest_sentence(mp, "en")
    table = journey_tables.backtest_table(mp, "fr")
    assert list(table["Le plus juste"]) == ["rien ne change"] * 3


def test_short_history_gives_sentences_not_errors(stationary):
    h = _simulate(seed=2, periods=5, start=np.round(N_STAR))
    tr = Transitions(cadence="month", backend="pandas").fit(h)
    mp = MarkovProjection(periods=3, backtest_periods=2, burn_in=2).fit(tr)
    assert mp.status_ == "ok" and mp.backtest_ is None
    note = narrative.backtest_sentence(mp, "en")
    assert note == " ".join(narrative.notes(mp, "en")) and note.startswith("No back-test:")
    assert "needs at least 7 months of history" in note and "It will be possible with 2 months more" in note
    none = MarkovProjection(periods=3, backtest_periods=2, burn_in=4).fit(tr)
    assert none.status_ == "too_short" and none.backtest_ is None
    [fr] = narrative.projection_sentences(none, "fr")
    assert narrative.backtest_sentence(none, "fr") == ""  # the projection note already says it all
    assert fr.startswith("Projection impossible : l'historique couvre 5 mois et le rodage en écarte 4 mois")
    # Figures state what they show, in both languages, and draw counts as well as shares.
    fig = mix_forecast_chart(mp, "fr", unit="count")
    assert "nombre de clients de chaque étape en fin de mois" in caption(fig)
    assert "rodage" in caption(fig)
    assert mix_forecast_chart(mp, "en", unit="count").layout.yaxis.title.text == "Number of customers"
