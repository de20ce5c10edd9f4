"""Journeys: exact counts on a hand-made history, conservation, Sankey = table, fixed layout, Markov closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.journeys import ENTRY, EXIT, Transitions
from custrel_lib.journeys.markov import MarkovProjection, project, stage_matrix, steady_state
from custrel_lib.journeys.touchpoints import dropoff, first_steps, step_links
from custrel_lib.plots.journeys import (
    mix_forecast_chart,
    sankey,
    sankey_layout,
    touchpoint_sankey,
    transition_heatmap,
)

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
    from custrel_lib.stages import StageModel

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
    from custrel_lib.stages import StageModel

    history = StageModel(cadence="quarter").fit(sample_tables, sample_as_of).history_
    tr = Transitions(cadence="quarter").fit(history)
    mp = MarkovProjection(periods=4, backtest_periods=2).fit(tr)
    assert np.allclose(mp.forecast_.sum(axis=1), 1.0)
    assert mp.forecast_.iloc[0].to_numpy() == pytest.approx(tr.mix_.iloc[-1][mp.stages_].to_numpy())
    print("\nback-test:\n", mp.backtest_.to_string())
    assert mp.backtest_["mean_abs_error"].max() < 0.05  # within five share points on the sample
    fig = mix_forecast_chart(mp, "fr")
    assert len(fig.data) == 2 * len(mp.stages_)


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
    fig = touchpoint_sankey(links, "en")
    assert list(fig.data[0].link.value) == [1, 1]
