"""Segmentation recovers known clusters; stage figures follow the typology's order, colours and languages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.plots.stages import (
    cluster_stage_heatmap,
    feature_by_stage,
    stage_area,
    stage_bar,
    stage_profiles_chart,
)
from custrel_lib.stages import typology
from custrel_lib.stages.segments import Segmentation

FEATS = ["n_purchases", "monetary", "recency_days"]


@pytest.fixture(scope="module")
def blobs():
    # Three well-separated behaviours with a known truth: rare small buyers, regular mid, frequent big spenders.
    rng = np.random.default_rng(5)
    parts = []
    for stage, (n, m, r) in {
        "flirt": (1, 30, 20),
        "petit_ami": (6, 300, 60),
        "concubinage": (40, 4000, 10),
    }.items():
        k = 200
        parts.append(
            pd.DataFrame(
                {
                    "n_purchases": rng.normal(n, n * 0.1, k).clip(1).round(),
                    "monetary": rng.normal(m, m * 0.1, k),
                    "recency_days": rng.normal(r, 2, k).clip(0),
                    "stage": stage,
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    df.insert(0, "customer_id", [f"C{i:04d}" for i in range(len(df))])
    return df


def test_segmentation_finds_the_known_clusters(blobs):
    stages = blobs.set_index("customer_id")["stage"]
    seg = Segmentation(features=FEATS, random_state=1).fit(blobs, stages)
    assert seg.n_segments_ == 3
    ari, table = seg.agreement(stages)
    print(seg.scores_.to_string(), f"\nARI = {ari:.3f}")
    assert ari > 0.99
    assert sorted(seg.names_.values()) == ["concubinage", "flirt", "petit_ami"]
    assert seg.tree_accuracy_ > 0.99 and len(seg.rules_text("fr")) >= 3
    assert table.to_numpy().sum() == len(blobs)
    again = Segmentation(features=FEATS, random_state=1).fit(blobs, stages)
    assert (again.labels_ == seg.labels_).all()  # reproducible with the seed
    # BIC keeps splitting the flirt blob (n_purchases is constant there: a degenerate covariance), so the
    # mixture is checked at k = 3 and its BIC scores are checked to be reported for each k tried.
    gmm = Segmentation(n_segments=3, method="gmm", features=FEATS, random_state=1).fit(blobs, stages)
    assert gmm.agreement(stages)[0] > 0.99
    assert list(Segmentation(features=FEATS, method="gmm", k_range=(2, 4)).fit(blobs).scores_["k"]) == [
        2,
        3,
        4,
    ]


def test_segmentation_on_the_sample_stages(sample_tables, sample_as_of):
    from custrel_lib.stages.model import StageModel

    model = StageModel(cadence="quarter").fit(sample_tables, sample_as_of)
    feats = model.features()
    seg = Segmentation(random_state=0, k_range=(3, 7)).fit(feats, feats.set_index("customer_id")["stage"])
    ari, table = seg.agreement(feats.set_index("customer_id")["stage"])
    print(f"\nsample: k = {seg.n_segments_}, ARI with the typology = {ari:.2f}\n{table.to_string()}")
    assert seg.excluded_ == int((feats["n_purchases"] == 0).sum())
    assert 0 < ari <= 1 and table.to_numpy().sum() == len(seg.labels_)


def test_stage_figures(blobs):
    history = pd.concat(
        [blobs.assign(snapshot=pd.Timestamp("2025-01-31")), blobs.assign(snapshot=pd.Timestamp("2025-02-28"))]
    )
    fig = stage_area(history, lang="en")
    assert [t.name for t in fig.data] == ["Flirt", "Dating", "Cohabiting"]  # typology order
    assert [t.line.color for t in fig.data] == [
        typology.stage_color(c) for c in ("flirt", "petit_ami", "concubinage")
    ]
    assert fig.layout.separators == ".,"
    fr = stage_area(history, lang="fr", normalize=True)
    assert fr.data[1].name == "Petit(e) ami(e)" and fr.layout.separators == ", "
    assert sum(t.y[0] for t in fr.data) == pytest.approx(1.0)
    bar = stage_bar(blobs.assign(snapshot=pd.Timestamp("2025-02-28")), lang="fr")
    assert list(bar.data[0].x) == [200, 200, 200]
    prof = pd.DataFrame({"stage": ["petit_ami", "flirt"], "share": [0.5, 0.5], "revenue_share": [0.8, 0.2]})
    assert list(stage_profiles_chart(prof, "en").data[1].y) == [0.2, 0.8]
    heat = cluster_stage_heatmap(pd.DataFrame({"flirt": [3, 0]}, index=["<script>x</script>", "b"]), "fr")
    assert "<script>" not in str(heat.data[0].y[0])
    box = feature_by_stage(blobs, "monetary", "en")
    assert len(box.data) == 3
