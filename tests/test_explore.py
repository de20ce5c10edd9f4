"""The stage explorer and the customer story, headless, on the committed sample.

Every count is checked against a truth computed another way: the plain pandas stage model
(``StageModel(backend="pandas")``, its own feature code) on the same snapshots, H and rules; the report's own
stage computation (:func:`custrel_lib.workbench.prepare`) fed the exported ``custrel.yml`` block; the raw
sample tables for the customer story.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from custrel_lib.exceptions import ConfigError, RuleError
from custrel_lib.explore import StageExplorer, customer_events, story_figure
from custrel_lib.explore.rules import rules_document, thresholds, with_values
from custrel_lib.flame.analysis import run_flame
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.stages import typology
from custrel_lib.stages.model import StageModel
from custrel_lib.stages.rules import default_rules
from custrel_lib.workbench import prepare

CONCUBINAGE_12M = "concubinage.all.1"  # purchases_12m >= 6 in the packaged rules
MARIE_DAYS = "marie.all.1"  # committed_days >= 365


@pytest.fixture(scope="module")
def wb():
    return prepare(verbose=False)


@pytest.fixture(scope="module")
def explorer(wb):
    return StageExplorer(wb, lang="en")


@pytest.fixture
def fresh(explorer):
    """The module's explorer, back to the workbench's settings before and after each test."""
    explorer.reset()
    yield explorer
    explorer.reset()


def _stages(frame: pd.DataFrame, snapshot) -> pd.Series:
    f = frame[frame["snapshot"] == pd.Timestamp(snapshot)]
    return f.set_index("customer_id")["stage"].astype(str).sort_index()


def _reference(sample_tables, explorer) -> pd.DataFrame:
    """The plain pandas stage model on the explorer's snapshots, with its H and rules, and BG/NBD's P(alive)
    fitted up to the snapshot date at the last one (as a report with that ``as_of`` places customers)."""
    s = explorer.settings()
    model = StageModel(
        cadence=explorer.result.snapshots,
        horizon_days=s.horizon_days,
        rules=with_values(default_rules(), s.values),
        backend="pandas",
        verbose=False,
    )
    model.fit(sample_tables, as_of=s.snapshot)
    model.apply_signals(run_flame(sample_tables, s.snapshot).customers)
    return model.history_


def test_thresholds_of_the_packaged_rules():
    found = {t.key: (t.feature, t.op, t.value) for t in thresholds(default_rules())}
    assert found[CONCUBINAGE_12M] == ("purchases_12m", ">=", 6)
    assert found[MARIE_DAYS] == ("committed_days", ">=", 365)
    assert found["reconquis"] == ("days_since_return", "<=", 365)
    # equalities (n_purchases == 0) and yes/no features are not thresholds
    assert all(op in ("<", "<=", ">", ">=") for _, op, _ in found.values())
    assert len(found) == 9  # P(alive) (a signal, not in the feature table) is not tunable here
    assert "p_alive" not in {feature for feature, _, _ in found.values()}
    doc = rules_document(default_rules(), {CONCUBINAGE_12M: 4})
    assert doc[6]["when"]["all"][1] == {"feature": "purchases_12m", "op": ">=", "value": 4}
    assert rules_document(default_rules())[6]["when"]["all"][1]["value"] == 6  # the original is untouched
    with pytest.raises(RuleError, match="Unknown threshold"):
        rules_document(default_rules(), {"nope": 1})


def test_default_settings_reproduce_the_workbench(fresh, wb):
    ex = fresh.result
    assert ex.settings.horizon_days == round(wb.horizon_days)
    assert _stages(ex.frame, ex.settings.snapshot).equals(_stages(wb.history, wb.as_of))
    assert int(ex.counts.sum()) == wb.history[wb.history["snapshot"] == wb.as_of].shape[0]
    assert list(ex.counts.index) == [c for c in typology.stage_order() if c in ex.counts.index]
    assert "data-stage='separe'" in fresh.status.value


def test_a_threshold_moves_customers_as_the_pandas_reference_says(fresh, sample_tables):
    before = fresh.result.counts.copy()
    fresh.thresholds[CONCUBINAGE_12M].value = 4
    after = fresh.result.counts
    # Fewer purchases needed for cohabiting: customers move there from the later rules only.
    assert after["concubinage"] > before["concubinage"]
    assert after["petit_ami"] < before["petit_ami"]
    for stage in ("prospect", "separe", "coup_d_un_soir", "reconquis", "marie", "fiance"):
        assert after[stage] == before[stage], stage
    assert int(after.sum()) == int(before.sum())
    ref = _reference(sample_tables, fresh)
    for s in fresh.result.snapshots:
        assert _stages(fresh.result.frame, s).equals(_stages(ref, s)), s
    assert (
        fresh.figures["distribution"].data[0].x[list(after.index).index("concubinage")]
        == after["concubinage"]
    )


def test_the_horizon_changes_the_counts_as_the_pandas_reference_says(fresh, sample_tables):
    before = fresh.result.counts.copy()
    fresh.horizon.value = 60
    after = fresh.result.counts
    # A shorter H: fewer active customers, so more separated and one-night stands.
    assert after["separe"] > before["separe"] and after["coup_d_un_soir"] > before["coup_d_un_soir"]
    ref = _reference(sample_tables, fresh)
    for s in fresh.result.snapshots:
        assert _stages(fresh.result.frame, s).equals(_stages(ref, s)), s
    assert "H = 60 days" in fresh.status.value
    shown = {
        code: int(n) for code, n in zip(after.index, fresh.figures["distribution"].data[0].x, strict=True)
    }
    assert shown == after.to_dict()


def test_an_earlier_snapshot_date(fresh, sample_tables):
    fresh.snapshot.value = pd.Timestamp("2025-06-30")
    ex = fresh.result
    assert ex.snapshots == [
        pd.Timestamp("2024-06-30"),
        pd.Timestamp("2024-12-31"),
        pd.Timestamp("2025-06-30"),
    ]
    ref = _reference(sample_tables, fresh)
    assert _stages(ex.frame, "2025-06-30").equals(_stages(ref, "2025-06-30"))


def test_filters_keep_only_the_chosen_customers(fresh, sample_tables):
    all_counts = fresh.result.counts.copy()
    fresh.filters["region"].value = "Bretagne"
    fresh.filters["channel"].value = "web"
    cu = sample_tables["customers"]
    chosen = set(cu.loc[(cu["region"] == "Bretagne") & (cu["acquisition_channel"] == "web"), "customer_id"])
    current = fresh.result.current
    assert set(current["customer_id"]) == chosen & set(
        _stages(fresh.result.frame, fresh.result.settings.snapshot).index
    )
    assert 0 < len(current) < all_counts.sum()
    # the same customers keep the same stages (rules are per customer)
    full = fresh.engine.compute(fresh.defaults)
    assert _stages(fresh.result.frame, full.settings.snapshot).equals(
        _stages(full.frame, full.settings.snapshot).loc[sorted(current["customer_id"])]
    )
    assert fresh.figures["sankey"].data[0].type == "sankey"
    assert sum(fresh.figures["profiles"].data[0].y) == pytest.approx(1.0)


def test_cohort_filter(fresh, sample_tables):
    fresh.filters["cohort"].value = "2024"
    tx, cu = sample_tables["transactions"], sample_tables["customers"]
    first = pd.concat(
        [tx.groupby("customer_id")["date"].min(), cu.set_index("customer_id")["signup_date"]], axis=1
    )
    cohort = set(first.index[first.min(axis=1).dt.year == 2024])
    assert set(fresh.result.current["customer_id"]) <= cohort
    assert len(fresh.result.current) > 0


def test_choosing_a_stage_lists_its_customers_with_the_rule(fresh):
    fresh.stage.value = "marie"
    table = fresh.customers_shown
    current = fresh.result.current.set_index("customer_id")
    assert len(table) == min(int(fresh.result.counts["marie"]), 200)
    assert (current.loc[table["customer_id"], "stage"] == "marie").all()
    assert (current.loc[table["customer_id"], "committed_days"] >= 365).all()
    assert "committed_days ≥ 365" in fresh.rule.value
    assert list(fresh.customer_list.options) == table["customer_id"].tolist()
    fresh.thresholds[MARIE_DAYS].value = 730
    assert "committed_days ≥ 730" in fresh.rule.value
    assert (
        fresh.result.current.set_index("customer_id").loc[
            fresh.customers_shown["customer_id"], "committed_days"
        ]
        >= 730
    ).all()


def test_exported_block_reproduces_the_stages_in_the_report(fresh, tmp_path):
    fresh.horizon.value = 120
    fresh.thresholds[CONCUBINAGE_12M].value = 4
    fresh.thresholds[MARIE_DAYS].value = 500
    fresh.snapshot.value = pd.Timestamp("2025-09-30")
    fresh.filters["region"].value = "Bretagne"  # only narrows what is shown: the report covers everyone
    block = fresh.export(tmp_path / "rules.yml")
    assert (tmp_path / "rules.yml").read_text(encoding="utf-8") == block == fresh.export_text.value
    assert "region = Bretagne" in block
    doc = yaml.safe_load(block)
    assert doc["analysis"]["horizon_days"] == 120
    config = {
        "data_dir": str(SAMPLE_DIR),
        "language": "en",
        "tables": {n: {"path": f"{n}.csv"} for n in ("transactions", "customers", "interactions")},
        **doc,
    }
    path = tmp_path / "custrel.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    report_wb = prepare(path, verbose=False)  # what every report notebook starts with
    assert report_wb.horizon_days == 120
    assert report_wb.as_of == pd.Timestamp("2025-09-30")
    fresh.filters["region"].value = ""
    shown = _stages(fresh.result.frame, "2025-09-30")
    assert _stages(report_wb.history, "2025-09-30").equals(shown)
    # and the settings did matter: the default rules give other stages
    assert not _stages(fresh.engine.compute(fresh.defaults).frame, "2025-12-31").equals(
        _stages(report_wb.history, "2025-09-30")
    )


@pytest.mark.parametrize(
    ("horizon", "date"), [(100, None), (None, "2025-03-31"), (220, "2024-12-31")], ids=["H", "date", "both"]
)
def test_h_and_date_changes_give_the_stages_of_a_fresh_prepare(fresh, wb, horizon, date):
    """After H or the date moves in the explorer, every shown snapshot has the stages a report prepared with
    that H and that extraction date gives (its whole feature pass; the explorer recomputes a few features)."""
    if horizon is not None:
        fresh.horizon.value = horizon
    if date is not None:
        fresh.snapshot.value = pd.Timestamp(date)
    s = fresh.settings()
    report_wb = prepare(as_of=s.snapshot, horizon_days=s.horizon_days, verbose=False)
    assert report_wb.horizon_days == s.horizon_days and report_wb.as_of == s.snapshot
    assert len(fresh.result.snapshots) == 3
    for snapshot in fresh.result.snapshots:
        assert _stages(fresh.result.frame, snapshot).equals(_stages(report_wb.history, snapshot)), snapshot
    shown = fresh.result.counts
    report = (
        report_wb.history[report_wb.history["snapshot"] == s.snapshot]["stage"].astype(str).value_counts()
    )
    assert shown.to_dict() == report.to_dict()
    # and the change mattered: the workbench's own settings give other counts
    assert shown.to_dict() != _stages(wb.history, wb.as_of).value_counts().to_dict()
    # back and forth (the second time from the explorer's cache of shown tables): the same stages
    first = fresh.result.frame
    fresh.reset()
    if horizon is not None:
        fresh.horizon.value = horizon
    if date is not None:
        fresh.snapshot.value = pd.Timestamp(date)
    assert fresh.result.frame.equals(first)


def test_bad_settings_give_a_clear_message(fresh):
    s = fresh.settings()
    s.filters = {"country": "FR"}
    with pytest.raises(ConfigError, match="Unknown filter"):
        fresh.engine.compute(s)
    with pytest.raises(ConfigError, match="not a snapshot"):
        fresh.engine.snapshots_for(pd.Timestamp("2025-12-15"))


def test_customer_story(fresh, wb, sample_tables):
    changes = wb.history.groupby("customer_id")["stage"].nunique()
    cid = changes.idxmax()
    fig = fresh.story.show(cid)
    ev = fresh.story.events
    # Stages at the workbench's settings: the same as the report's history of that customer.
    ref = wb.history[wb.history["customer_id"] == cid][["snapshot", "stage"]].reset_index(drop=True)
    assert ev.history.astype(str).equals(ref.astype(str))
    stage = ref["stage"].astype(str)
    runs = ref[stage != stage.shift()]
    # one band per run of the same stage, up to the next change (the last up to the last snapshot)
    assert len(fig.layout.shapes) == len(runs) - (runs["snapshot"].iloc[-1] == ref["snapshot"].max())
    assert [pd.Timestamp(s.x0) for s in fig.layout.shapes] == list(runs["snapshot"])[: len(fig.layout.shapes)]
    band_colors = [s.fillcolor for s in fig.layout.shapes]
    assert band_colors == [typology.stage_color(c) for c in runs["stage"]][: len(band_colors)]
    tx = sample_tables["transactions"]
    bought = tx[(tx["customer_id"] == cid) & (tx["amount"] > 0)].sort_values("date")
    purchases = next(t for t in fig.data if t.name == "Purchase")
    assert len(purchases.x) == len(bought)
    order = bought["amount"].rank(method="first").to_numpy()
    sizes = pd.Series(purchases.marker.size).rank(method="first").to_numpy()
    assert (order == sizes).all()  # bigger purchase, bigger marker
    it = sample_tables["interactions"]
    scores = it[(it["customer_id"] == cid) & (it["type"] == "nps")].sort_values("date")["score"]
    nps_trace = [t for t in fig.data if t.name == "NPS"]
    if len(scores):
        assert [float(x) for x in nps_trace[0].text] == scores.tolist()
    assert cid in fig.layout.title.text and fresh.story.search.value == cid
    other = sorted(fresh.story.ids)[0]
    fresh.story.search.value = other  # searching by id draws that customer's story
    assert other in fresh.story.figure.layout.title.text and fresh.story.events.customer_id == other
    assert fresh.story.show("NOPE-1") is None and "Unknown customer" in fresh.story.message.value


def test_story_follows_the_explorer_settings(fresh, wb):
    cid = wb.history.groupby("customer_id")["stage"].nunique().idxmax()
    default = customer_events(fresh.engine, cid, fresh.settings()).history
    fresh.horizon.value = 40
    shorter = customer_events(fresh.engine, cid, fresh.settings()).history
    assert (shorter["stage"] == "separe").sum() > (default["stage"] == "separe").sum()
    fig = story_figure(customer_events(fresh.engine, cid, fresh.settings()), "fr", 40)
    assert "H = 40 jours" in fig.layout.title.subtitle.text


def test_feature_cache_drops_the_oldest_table(fresh, wb, monkeypatch):
    from custrel_lib.explore import engine as engine_module

    monkeypatch.setattr(engine_module, "CACHE_SIZE", 1)
    engine = engine_module.ExplorerEngine(wb)  # an empty cache, whatever the other tests left in theirs
    s = fresh.settings()
    counts = {}

    def shown_tables():  # the DuckDB tables of shown features (Ibis's list_tables fails on this DuckDB)
        names = engine.con.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        return [n for (n,) in names if n.startswith("explore_shown_")]

    for h in (100, 101, 100):
        s.horizon_days = h
        counts.setdefault(h, []).append(engine.compute(s).counts.to_dict())
        assert len(engine._features) == 1
        assert shown_tables() == [engine._features[(h, s.snapshot)][0]]  # the older one was dropped
    assert counts[100][0] == counts[100][1]  # recomputed after being dropped: the same stages


def test_the_status_says_when_the_customers_are_a_sample(fresh):
    """On large data the workbench's tables are a seeded sample (analysis.fit_sample): the explorer says so."""
    import dataclasses

    from custrel_lib.explore.widgets import counts_html

    assert "sample" not in counts_html(fresh.result, "en") and fresh.result.sample is None
    sampled = dataclasses.replace(fresh.result, sample={"customers": 4993, "sampled": 1000, "seed": 3})
    assert "random sample of 1,000 of 4,993 customers (seed 3" in counts_html(sampled, "en")
    assert "échantillon aléatoire de 1" in counts_html(sampled, "fr")


def test_a_short_history_opens_on_a_stage_with_customers(tmp_path):
    """Six weeks of 150 customers: nobody can be "separe" yet (the explorer's usual first stage), so it opens
    on the last stage of the typology that has customers, and the notebook's first story can be drawn."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    tx = tx[tx["date"] >= "2025-11-10"]
    tx[tx["customer_id"].isin(sorted(tx["customer_id"].unique())[:150])].to_csv(
        tmp_path / "tx.csv", index=False
    )
    config = tmp_path / "custrel.yml"
    config.write_text(
        "tables:\n  transactions: {path: tx.csv}\nanalysis:\n  as_of: 2025-12-20\n", encoding="utf-8"
    )
    short = StageExplorer(prepare(config, verbose=False), lang="en")
    counts = short.result.counts
    assert "separe" not in counts.index
    assert short.stage.value == [c for c in typology.stage_order() if c in counts.index][-1]
    assert len(short.customers_shown) == counts[short.stage.value]
    assert short.story.show(short.customers_shown["customer_id"].iloc[0]) is not None
