"""Journeys: exact counts on a hand-made history, conservation, Sankey = table, fixed layout, Markov closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.exceptions import NotFittedError
from custrel_lib.journeys import ENTRY, EXIT, Transitions
from custrel_lib.journeys.chain import project, stage_matrix, steady_state
from custrel_lib.journeys.markov import MarkovProjection
from custrel_lib.journeys.touchpoints import dropoff, first_steps, step_links
from custrel_lib.plots.common import caption
from custrel_lib.plots.journeys import mix_forecast_chart, transition_heatmap
from custrel_lib.plots.sankey import sankey, sankey_layout, touchpoint_sankey
from custrel_lib.stages.model import StageModel

M1, M2, M3 = pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-31")


@pytest.fixture
def hand_history():
    # A: flirt -> petit_ami -> petit_ami ; B: flirt -> separe -> reconquis ; C: (absent) -> flirt -> flirt
    # D: prospect -> prospect -> (gone) ; E: petit_ami -> petit_ami -> fiance
    rows = [
        ("A", M1, "flirt"), ("A", M2, "petit_ami"), ("A", M3, "petit_ami"),
        ("B", M1, "flirt"), ("B", M2, "separe"), ("B", M3, "reconquis"),
        ("C", M2, "flirt"), ("C", M3, "flirt"),
        ("D", M1, "prospect"), ("D", M2, "prospect"),
        ("E", M1, "petit_ami"), ("E", M2, "petit_ami"), ("E", M3, "fiance"),
    ]  # fmt: skip
    h = pd.DataFrame(rows, columns=["customer_id", "snapshot", "stage"])
    return h.assign(at_risk=False, ambassador=False)


@pytest.mark.parametrize("backend", [None, "pandas"])
def test_exact_counts_paths_and_matrix(hand_history, backend):
    tr = Transitions(cadence="month", backend=backend).fit(hand_history)
    got = {(r.from_snapshot, r.from_stage, r.to_stage): r.count for r in tr.counts_.itertuples()}
    expected = {
        (M1, "flirt", "petit_ami"): 1, (M1, "flirt", "separe"): 1, (M1, ENTRY, "flirt"): 1,
        (M1, "prospect", "prospect"): 1, (M1, "petit_ami", "petit_ami"): 1,
        (M2, "petit_ami", "petit_ami"): 1, (M2, "separe", "reconquis"): 1, (M2, "flirt", "flirt"): 1,
        (M2, "prospect", EXIT): 1, (M2, "petit_ami", "fiance"): 1,
    }  # fmt: skip
    assert got == expected
    assert tr.conservation_["balanced"].all()
    # Pooled matrix: petit_ami was followed 3 times: stay 2, fiance 1.
    assert tr.matrix_.loc["petit_ami", "petit_ami"] == pytest.approx(2 / 3)
    assert tr.matrix_.loc["petit_ami", "fiance"] == pytest.approx(1 / 3)
    assert tr.count_matrix_.loc["flirt"].sum() == 3
    paths = tr.paths(k=3, top=10).set_index("path")
    assert paths.loc["flirt > petit_ami > petit_ami", "count"] == 1
    assert paths.loc["flirt > separe > reconquis", "count"] == 1
    assert paths["count"].sum() == 3  # A, B, E are present at the three snapshots


def test_conservation_and_sankey_equal_the_table_on_the_sample(sample_tables, sample_as_of):
    history = StageModel(cadence="quarter").fit(sample_tables, sample_as_of).history_
    tr = Transitions(cadence="quarter").fit(history)
    c = tr.conservation_
    assert c["balanced"].all()
    assert (c["customers_from"] + c["entries"] == c["customers_to"] + c["exits"]).all()
    snaps = tr.snapshots_[-4:]
    fig = sankey(tr, snaps, lang="fr")
    flows = tr.flows(snaps)
    assert sum(fig.data[0].link.value) == flows["count"].sum()
    assert sorted(fig.data[0].link.value) == sorted(flows.loc[flows["count"] > 0, "count"].tolist())
    grouped = sankey(tr, snaps, lang="en", min_flow_share=0.02, percent_of="start")
    assert sum(grouped.data[0].link.value) == flows["count"].sum()  # grouping keeps every customer
    assert len(grouped.data[0].link.value) < len(fig.data[0].link.value)
    cyc = sankey(tr, snaps, level="cycle")
    assert sum(cyc.data[0].link.value) == flows["count"].sum()
    heat = transition_heatmap(tr, "fr")
    assert heat.data[0].z.shape[1] == len(tr.matrix_.columns)
    # With a burn-in the pooled rates leave out the first quarters, and the subtitle says so.
    late = transition_heatmap(tr, "en", burn_in=2)
    kept = tr.counts_[
        (tr.counts_["from_snapshot"] >= tr.snapshots_[2]) & (tr.counts_["from_stage"] == "flirt")
    ]
    stay = kept.loc[kept["to_stage"] == "flirt", "count"].sum() / kept["count"].sum()
    row = list(late.data[0].y).index("Flirt")
    assert late.data[0].z[row][list(late.data[0].x).index("Flirt")] == pytest.approx(stay)
    assert "(2 quarters burn-in left out)" in caption(late)
    assert "4,993 tracked customers" in caption(late)


def test_sankey_layout_is_deterministic(hand_history):
    tr = Transitions(cadence="month").fit(hand_history)
    a, b = sankey(tr, lang="fr"), sankey(tr, lang="fr")
    assert a.to_json() == b.to_json()
    _rows, y, x = sankey_layout(3)
    pos = dict(zip(a.data[0].node.label, a.data[0].node.y, strict=True))
    # The same stage sits at the same height in every column and every figure, in typology order.
    assert pos["Flirt · janv. 2024"] == pos["Flirt · févr. 2024"] == y["flirt"]
    assert y["prospect"] < y["flirt"] < y["petit_ami"] < y["marie"] < y["separe"]
    only_a = Transitions(cadence="month").fit(hand_history[hand_history["customer_id"] == "A"])
    pos_a = dict(zip(sankey(only_a).data[0].node.label, sankey(only_a).data[0].node.y, strict=True))
    assert pos_a["Petit(e) ami(e) · févr. 2024"] == y["petit_ami"]  # filters do not move nodes
    assert list(a.data[0].node.x[:1]) == [x[0]]


def test_markov_projection_matches_the_closed_form():
    p = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.0, 0.0, 1.0]])
    mix0 = np.array([0.5, 0.5, 0.0])
    proj = project(mix0, p, 3)
    assert np.allclose(proj[3], mix0 @ np.linalg.matrix_power(p, 3))
    # Two-state chain with rates a = 0.3 (0 -> 1) and b = 0.1 (1 -> 0): steady state (b, a) / (a + b).
    two = np.array([[0.7, 0.3], [0.1, 0.9]])
    assert np.allclose(steady_state(two), [0.25, 0.75])
    counts = pd.DataFrame(
        {
            "from_stage": ["flirt", "flirt", "separe", ENTRY],
            "to_stage": ["flirt", "separe", "separe", "flirt"],
            "count": [3, 1, 5, 9],
        }
    )
    m = stage_matrix(counts, ["flirt", "separe", "marie"])
    assert (
        m.loc["flirt", "flirt"] == 0.75
        and m.loc["separe", "separe"] == 1.0
        and m.loc["marie", "marie"] == 1.0
    )


def test_markov_fit_and_backtest(sample_tables, sample_as_of):
    """Sample, quarterly: the open population with a 2-quarter burn-in beats no change; the closed chain does not."""
    from custrel_lib.journeys import narrative
    from custrel_lib.plots.journeys import backtest_chart

    # H fixed at 152 days: the figures below (docs/journeys.md) test the projection, not the horizon estimator.
    model = StageModel(cadence="quarter", horizon_days=152).fit(sample_tables, sample_as_of)
    tr = Transitions(cadence="quarter").fit(model.history_)
    mp = MarkovProjection(periods=4, backtest_periods=2, horizon_days=model.horizon_days_).fit(tr)
    assert model.horizon_days_ == 152 and mp.burn_in_ == 2  # ceil(152 / 91.3) quarters
    assert mp.fit_pairs_[0][0] == pd.Timestamp("2023-09-30") and len(mp.fit_pairs_) == 9
    assert np.allclose(mp.forecast_.sum(axis=1), 1.0)
    assert mp.forecast_.iloc[0].to_numpy() == pytest.approx(tr.mix_.iloc[-1][mp.stages_].to_numpy())
    # No exits in a stage history: the counts grow by exactly the entries each quarter, no steady state.
    growth = mp.forecast_counts_.sum(axis=1).diff().dropna()
    assert growth.to_numpy() == pytest.approx([mp.chain_.entries.sum()] * 4)
    assert mp.chain_.entries.sum() == pytest.approx(327.7, abs=0.1)
    assert mp.steady_state_ is None and "separe" in mp.trapped_
    # Prospects stay fed (9.1 % now, 7.1 % in a year) instead of draining away as in the closed chain (2.5 %).
    assert mp.forecast_.iloc[-1]["prospect"] == pytest.approx(0.071, abs=0.002)
    assert mp.closed_forecast_.iloc[-1]["prospect"] == pytest.approx(0.0245, abs=0.002)
    print("\nback-test (open):\n", mp.backtest_.to_string())
    bt = mp.backtest_
    assert bt["model_mae"].to_numpy() == pytest.approx([0.0054, 0.0051], abs=0.0002)
    assert bt["no_change_mae"].to_numpy() == pytest.approx([0.0060, 0.0098], abs=0.0002)
    assert mp.backtest_verdict == "better"
    closed = MarkovProjection(
        periods=4, backtest_periods=2, horizon_days=model.horizon_days_, population="closed"
    ).fit(tr)
    assert closed.backtest_["model_mae"].to_numpy() == pytest.approx([0.0135, 0.0192], abs=0.0002)
    assert closed.backtest_verdict == "worse"
    assert "fait moins bien que l'absence de changement" in narrative.backtest_sentence(closed, "fr")
    assert "0,53 pt par étape, contre 0,79 pt" in narrative.backtest_sentence(mp, "fr")
    assert "0.53 pt per stage, against 0.79 pt" in narrative.backtest_sentence(mp, "en")
    fig = mix_forecast_chart(mp, "fr")
    assert len(fig.data) == 2 * len(mp.stages_)
    assert "328 nouveaux clients par trimestre" in caption(fig)
    assert "T1 2023–T4 2025" in caption(fig)
    assert "Q1 2023–Q4 2025" in caption(mix_forecast_chart(mp, "en"))
    assert len(backtest_chart(mp, "fr").data) == 2


def test_touchpoints_paths_and_dropoff():
    it = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "b", "c"],
            "date": pd.to_datetime(
                [
                    "2024-01-01",
                    "2024-01-02",
                    "2024-01-02",
                    "2024-01-05",
                    "2024-01-01",
                    "2024-01-03",
                    "2024-01-01",
                ]
            ),
            "type": ["besoin", "recherche", "recherche", "achat", "besoin", "nps", "<b>besoin</b>"],
        }
    )
    steps = first_steps(it)
    assert steps[steps["customer_id"] == "a"]["step"].tolist() == ["besoin", "recherche", "achat"]
    links = step_links(steps)
    assert links[["position", "source", "target", "count"]].values.tolist() == [
        [1, "besoin", "recherche", 1],
        [2, "recherche", "achat", 1],
    ]
    d = dropoff(steps)
    assert d["customers"].tolist() == [2, 1, 1] and d["dropoff"].iloc[1] == pytest.approx(0.5)
    fig = touchpoint_sankey(links, "en", period=(it["date"].min(), it["date"].max()))
    assert list(fig.data[0].link.value) == [1, 1]
    assert "1 customers with journey interactions, 2024-01-01–2024-01-05" in caption(fig)


def test_transitions_and_paths_tables_speak_the_readers_language(hand_history):
    from custrel_lib.journeys import narrative
    from custrel_lib.journeys import tables as journey_tables
    from custrel_lib.tables import html_table

    tr = Transitions(cadence="month").fit(hand_history, filters=None)
    fr, en = journey_tables.transitions_table(tr, "fr"), journey_tables.transitions_table(tr, "en")
    # Headers from the catalogue, labels instead of codes, the values kept in ``frame``.
    assert list(fr.frame.columns[:3]) == ["Étape", "Clients (mars 2024)", "Part (mars 2024)"]
    assert list(en.frame.columns[:3]) == ["Stage", "Customers (Mar 2024)", "Share (Mar 2024)"]
    row = fr.frame.set_index("Étape").loc["Petit(e) ami(e)"]
    assert row["Restent dans l'étape"] == pytest.approx(2 / 3)
    assert row["Principale autre destination"] == "Fiancé(e)"
    page_fr, page_en = fr._repr_html_(), en._repr_html_()
    assert "66,7\u202f%" in page_fr and "66.7%" in page_en and "stay_rate" not in page_fr
    assert narrative.transitions_sentence(tr, "fr") == (
        "Passages entre étapes d'un mois au suivant : 5 clients suivis sur 3 mois, de janv. 2024 à mars 2024."
    )
    assert narrative.transitions_sentence(tr, "en").startswith(
        "Moves between stages from one month to the next"
    )
    assert "<p>Passages entre étapes" in page_fr and "<p>Moves between stages" in page_en
    paths = journey_tables.paths_table(tr, "fr", k=3)
    assert "Flirt → Séparé(e) → Reconquis(e)" in set(paths.frame["Parcours"])
    assert "sur 3 mois consécutifs" in paths._repr_html_()
    assert "Share of occurrences" in journey_tables.paths_table(tr, "en", k=2)._repr_html_()
    # The table helper: numbers, shares, dates and yes/no the reader's way, every cell escaped.
    df = pd.DataFrame(
        {
            "n": [1234.5],
            "s": [0.25],
            "d": [pd.Timestamp("2025-12-31")],
            "b": [True],
            "x": ["<b>"],
            "m": [np.nan],
        }
    )
    assert (
        "<td>1\u202f234,5</td><td>25,0\u202f%</td><td>31/12/2025</td><td>oui</td><td>&lt;b&gt;</td><td></td>"
        in (html_table(df, "fr", percent=["s"]))
    )
    assert "<td>1,234.5</td><td>25.0%</td><td>2025-12-31</td><td>yes</td>" in html_table(
        df, "en", percent=["s"]
    )


def test_short_histories(hand_history):
    """A history of two months gives the paths over both (not the three asked for), with a caption that says
    so; a history of one month has no move to count, said as a count the report can show."""
    from custrel_lib.exceptions import InsufficientDataError
    from custrel_lib.journeys import tables as journey_tables
    from custrel_lib.sections import reason_of

    two = Transitions(cadence="month").fit(hand_history[hand_history["snapshot"] < M3])
    paths = journey_tables.paths_table(two, "fr", k=3)
    assert "sur 2 mois consécutifs" in paths._repr_html_()
    # Of the 4 customers present at both months: A flirt > petit_ami, B flirt > separe, D and E stay.
    assert paths.frame["Occurrences"].sum() == 4
    with pytest.raises(InsufficientDataError) as caught:
        Transitions(cadence="quarter").fit(hand_history)
    assert reason_of(caught.value, "fr") == (
        "too_few_quarters_covered",
        "Trimestres couverts par l'historique : 1, il en faut au moins 2",
    )


def test_unfitted_transitions_and_projection_raise_not_fitted_error(hand_history):
    tr = Transitions(cadence="month", backend="pandas")
    for use in (lambda: tr.summary, lambda: tr.flows([M1, M2]), lambda: tr.paths(k=2)):
        with pytest.raises(NotFittedError, match=r"This Transitions is not fitted yet: call fit\(history\)"):
            use()
    assert "not fitted" in tr._repr_html_()
    mp = MarkovProjection(periods=1, backtest_periods=0, burn_in=0)
    with pytest.raises(NotFittedError, match="MarkovProjection"):
        mp.summary  # noqa: B018
    with pytest.raises(NotFittedError, match="MarkovProjection"):
        mp.backtest_verdict  # noqa: B018
    assert mp._repr_html_() == "<p>MarkovProjection: not fitted.</p>"
    with pytest.raises(NotFittedError, match="This Transitions is not fitted"):
        mp.fit(tr)
    # Once fitted, the same calls answer. From M1 to M3: A, B and E move, D exits and C enters (five rows'
    # worth of customers); at M3 only A is petit_ami.
    tr.fit(hand_history)
    assert tr.flows([M1, M3])["count"].sum() == 5
    assert mp.fit(tr).summary.loc["petit_ami", "customers_now"] == 1
