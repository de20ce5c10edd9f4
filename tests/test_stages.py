"""StageModel: engine = pandas reference, history invariants, profiles, explanations, settings checks."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from custrel_lib.exceptions import ConfigError, DataContractError, MissingColumnError
from custrel_lib.io.sample import generate_sample
from custrel_lib.stages import typology
from custrel_lib.stages.features import FEATURE_COLUMNS, FEATURE_LABELS
from custrel_lib.stages.model import StageModel

AS_OF = pd.Timestamp("2025-12-31")


@pytest.fixture(scope="module")
def small():
    d = generate_sample(300, 11)
    return {"transactions": d.transactions, "customers": d.customers, "interactions": d.interactions}


@pytest.fixture(scope="module")
def monthly(small):
    return StageModel(cadence="month").fit(small, AS_OF)


@pytest.mark.parametrize("seed", [11, 23])
def test_engine_stages_equal_pandas_reference(seed):
    d = generate_sample(300, seed)
    tables = {"transactions": d.transactions, "customers": d.customers, "interactions": d.interactions}
    engine = StageModel(cadence="quarter").fit(tables, AS_OF)
    reference = StageModel(cadence="quarter", backend="pandas").fit(tables, AS_OF)
    assert engine.horizon_days_ == pytest.approx(reference.horizon_days_)
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    assert engine.history_["stage"].nunique() >= 7 and engine.history_["snapshot"].nunique() >= 8
    a, b = engine.features(), reference.features()
    for col in [*FEATURE_COLUMNS, "stage"]:
        if col == "stage":
            assert (a[col].to_numpy() == b[col].to_numpy()).all()
        else:
            assert np.allclose(a[col].to_numpy(float), b[col].to_numpy(float), equal_nan=True), col


def test_the_history_reads_only_the_events_its_rules_need(small):
    """The history is built from the feature columns its rules read (features_engine(columns=...)): the default
    rules need neither refunds nor complaints leaving their window; rules that read the spend net of refunds
    and the complaints of the last 90 days bring those events back, and still equal the pandas reference."""
    default = StageModel(cadence="quarter").fit(small, AS_OF)
    con = default._con
    full, lean = con.compile(default._at_snapshot.at(0)), con.compile(default.history_table())
    assert lean.count("UNION ALL") < full.count("UNION ALL")
    rules = [
        {"stage": "separe", "when": {"feature": "complaints_90d", "op": ">=", "value": 1}},
        {"stage": "fiance", "when": {"feature": "monetary", "op": ">", "value": 400}},
        {"stage": "flirt"},
    ]
    engine = StageModel(cadence="quarter", rules=rules).fit(small, AS_OF)
    reference = StageModel(cadence="quarter", rules=rules, backend="pandas").fit(small, AS_OF)
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    assert {"separe", "fiance", "flirt"} <= set(engine.history_["stage"])
    assert con.compile(engine.history_table()).count("UNION ALL") > lean.count("UNION ALL")


@pytest.mark.parametrize("where", ["parquet", "temp table"])
def test_materialize_keeps_the_history_and_features_still_equal_the_reference(small, tmp_path, where):
    """``materialize`` keeps the stage history's five columns (in a Parquet file, or a temporary table); the
    history read from it, the features of a snapshot (computed for that snapshot alone) and an explanation are
    those of the pandas reference."""
    from custrel_lib.stages.history import STAGED_COLUMNS

    engine = StageModel(cadence="quarter").fit(small, AS_OF)
    reference = StageModel(cadence="quarter", backend="pandas").fit(small, AS_OF)
    engine.materialize(tmp_path if where == "parquet" else None)
    if where == "parquet":
        files = list(tmp_path.glob("staged-*.parquet"))
        assert len(files) == 1 and list(pd.read_parquet(files[0]).columns) == STAGED_COLUMNS
    assert list(engine._history_expr.columns) == STAGED_COLUMNS
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    pd.testing.assert_frame_equal(engine.current_, reference.current_)
    s = engine.snapshots_[len(engine.snapshots_) // 2]
    a, b = engine.features(s), reference.features(s)
    assert len(a) == len(b) > 0 and (a["stage"].to_numpy() == b["stage"].to_numpy()).all()
    for col in FEATURE_COLUMNS:
        assert np.allclose(a[col].to_numpy(float), b[col].to_numpy(float), equal_nan=True), col
    who = str(a["customer_id"].iloc[0])
    assert engine.explain(who, s).stage == reference.explain(who, s).stage == a["stage"].iloc[0]
    # At a snapshot whose features were not asked for, explain() computes that one customer's alone.
    s = engine.snapshots_[-2]
    assert s not in engine._snapshot_cache
    explained = engine.explain(who, s)
    assert explained.stage == reference.explain(who, s).stage
    assert np.allclose(
        explained.features.to_numpy(float), reference.explain(who, s).features.to_numpy(float), equal_nan=True
    )
    assert s not in engine._snapshot_cache


def test_transactions_only(small):
    tables = {"transactions": small["transactions"]}
    engine = StageModel(cadence="quarter").fit(tables, AS_OF)
    reference = StageModel(cadence="quarter", backend="pandas").fit(tables, AS_OF)
    pd.testing.assert_frame_equal(engine.history_, reference.history_)
    stages = set(engine.history_["stage"])
    assert "prospect" not in stages and "marie" not in stages  # nobody known without buying, no contracts
    assert {"flirt", "petit_ami", "separe", "coup_d_un_soir"} <= stages


def test_history_invariants(small, monthly):
    h = monthly.history_
    assert list(h.columns) == ["customer_id", "snapshot", "stage", "at_risk", "ambassador"]
    assert h.dtypes.astype(str).tolist() == ["string", "datetime64[ns]", "string", "bool", "bool"]
    assert not h.duplicated(["customer_id", "snapshot"]).any()  # one stage per customer and snapshot
    assert not h["at_risk"].any() and h["ambassador"].any()
    first_tx = small["transactions"].groupby("customer_id")["date"].min()
    signup = small["customers"].set_index("customer_id")["signup_date"]
    known = pd.concat([first_tx, signup.dropna()]).groupby(level=0).min()
    first_snapshot = h.groupby("customer_id")["snapshot"].min()
    # Present from the first snapshot on or after it is known, and at every snapshot after that.
    assert (first_snapshot >= known.reindex(first_snapshot.index)).all()
    expected_first = known.map(lambda d: next(s for s in monthly.snapshots_ if s >= d))
    assert (first_snapshot == expected_first.reindex(first_snapshot.index)).all()
    counts = h.groupby("customer_id").size()
    assert (counts == first_snapshot.map(lambda s: sum(1 for x in monthly.snapshots_ if x >= s))).all()
    assert set(h["customer_id"]) == set(known.index)
    # Snapshots: month ends, and as_of closes the last period.
    assert monthly.snapshots_[-1] == AS_OF and all(s.is_month_end for s in monthly.snapshots_)
    assert len(monthly.current_) == (h["snapshot"] == AS_OF).sum()


def test_winback_follows_separation(monthly):
    h = monthly.history_
    prev = h.groupby("customer_id")["stage"].shift()
    entered = h[(h["stage"] == "reconquis") & (prev != "reconquis")]
    assert len(entered) >= 3
    # A customer enters "won back" from a lapsed stage (the return is always after a long gap).
    assert set(prev[entered.index]) <= {"separe", "coup_d_un_soir"}
    f = monthly.features()
    rec = f[f["stage"] == "reconquis"]
    assert (rec["days_since_return"] <= 365).all() and rec["active"].all()


def test_explain_and_profiles(monthly):
    cur = monthly.current_
    for stage in ("marie", "separe", "flirt"):
        cid = cur.loc[cur["stage"] == stage, "customer_id"].iloc[0]
        ex = monthly.explain(cid, lang="en")
        assert ex.stage == stage
        assert (ex.rules["chosen"] == "◀").sum() == 1
        chosen = ex.rules.index[ex.rules["chosen"] == "◀"][0]
        assert ex.rules.loc[chosen, "code"] == stage
        assert (ex.rules.loc[: chosen - 1, "true"] == "no").all()  # first match wins
        assert set(ex.features.index) == set(FEATURE_COLUMNS)
    html_text = monthly.explain(cid, lang="fr")._repr_html_()
    assert "Flirt" in html_text and "retenue" in html_text
    # Every feature has a label in both languages; yes/no features read as words.
    assert set(FEATURE_LABELS) == set(FEATURE_COLUMNS)
    table = monthly.explain(cid, lang="fr").feature_frame().set_index("code")
    assert table.loc["n_purchases", "description"] == "Achats" and table.loc["active", "valeur"] == "oui"
    assert "Dernière note de recommandation (0-10)" in html_text  # a 0-10 answer, not an NPS
    assert monthly.explain(cid, lang="en").feature_frame().set_index("code").loc["active", "value"] == "yes"
    with pytest.raises(ConfigError, match="does not exist"):
        monthly.explain("nobody")
    prof = monthly.profiles(lang="fr")
    t = prof.table.set_index("stage")
    assert t["customers"].sum() == len(cur)
    assert t["share"].sum() == pytest.approx(1.0) and t["revenue_share"].sum() == pytest.approx(1.0)
    assert t.loc["prospect", "revenue_share"] == 0 and t.loc["prospect", "median_tenure_days"] >= 0
    assert t.loc["marie", "median_tenure_days"] > t.loc["flirt", "median_tenure_days"]
    assert "Part des clients" in prof._repr_html_()
    assert "Share of customers" in monthly.profiles(lang="en")._repr_html_()
    # The caption's date and the explanation's are written the reader's way.
    assert "Profil des étapes au 31/12/2025" in prof._repr_html_() and "au 31/12/2025 : " in html_text
    assert "Stage profiles at 2025-12-31" in monthly.profiles(lang="en")._repr_html_()
    s = monthly.summary
    assert list(s["stage"]) == [c for c in typology.stage_order() if c in set(s["stage"])]
    assert s["customers"].sum() == len(cur)
    assert s.set_index("stage").loc["marie", "label_en"] == "Married"
    assert s.attrs["horizon_days"] == monthly.horizon_days_ and s.attrs["snapshot"] == AS_OF
    assert "H = " in monthly._repr_html_()


def test_profiles_score_and_nps(monthly):
    # The mean of 0-10 answers is not an NPS: it is labelled as a mean score, and each stage gets its real
    # NPS (% promoters 9-10 - % detractors 0-6 of its customers' latest answers) with the number of answers.
    prof = monthly.profiles(lang="fr")
    t = prof.table.set_index("stage")
    f = monthly.features()
    for stage, row in t.iterrows():
        answers = f.loc[f["stage"] == stage, "nps_last"].dropna()
        assert row["nps_answers"] == len(answers)
        if len(answers):
            assert row["mean_score"] == pytest.approx(answers.mean())
            assert row["nps"] == pytest.approx(100 * ((answers >= 9).mean() - (answers <= 6).mean()))
            assert -100 <= row["nps"] <= 100
        else:
            assert np.isnan(row["nps"]) and np.isnan(row["mean_score"])
    assert t["nps_answers"].sum() > 0 and t["nps"].notna().any()
    assert "mean_nps" not in t.columns
    page = prof._repr_html_()
    assert "Score moyen de recommandation (0-10)" in page and "NPS moyen" not in page
    assert "Réponses NPS" in page
    english = monthly.profiles(lang="en")._repr_html_()
    assert "Mean recommendation score (0-10)" in english and "Mean NPS" not in english


def test_untrusted_ids_are_escaped():
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["<script>x</script>"] * 2, dtype="string"),
            "date": pd.to_datetime(["2025-01-10", "2025-03-10"]),
            "amount": [10.0, 20.0],
            "category": pd.array(["<b>c</b>", None], dtype="string"),
        }
    )
    m = StageModel(cadence=["2025-03-31"], horizon_days=60).fit({"transactions": tx}, "2025-03-31")
    text = m.explain("<script>x</script>")._repr_html_()
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_settings_are_checked(small):
    with pytest.raises(ConfigError, match="Unknown cadence 'weekly'"):
        StageModel(cadence="weekly")
    with pytest.raises(ConfigError, match="horizon_quantile"):
        StageModel(horizon_quantile=1.5)
    with pytest.raises(ConfigError, match="not fitted"):
        _ = StageModel().current_
    with pytest.raises(DataContractError, match="transactions"):
        StageModel().fit({"customers": small["customers"]}, AS_OF)
    m = StageModel(cadence=["2025-06-30", "2025-12-31"], horizon_days=120).fit(small, AS_OF)
    assert m.horizon_days_ == 120 and m.snapshots_ == [pd.Timestamp("2025-06-30"), AS_OF]
    with pytest.raises(ConfigError, match="is not a snapshot"):
        m.features("2025-07-31")
    with pytest.raises(ConfigError, match="Unknown horizon_method 'censored'"):
        StageModel(horizon_method="censored")
    with pytest.raises(ConfigError, match="Unknown loyalty_flag 'always'"):
        StageModel(loyalty_flag="always")


def test_short_window_warns(small):
    # Three months of purchases (Oct 1 .. Dec 31, 91 days): H derived from them (62 days) leaves 29 days, less
    # than a third of the window, to see a separation.
    tx = small["transactions"]
    recent = {"transactions": tx[tx["date"] > pd.Timestamp("2025-09-30")]}
    for backend in (None, "pandas"):
        m = StageModel(cadence="quarter", backend=backend).fit(recent, AS_OF)
        assert m.window_start_ == pd.Timestamp("2025-10-01") and m.horizon_days_ == 62
        assert m.horizon_warning_ and m.horizon_warning("en") == m.horizon_warning_["en"]
        assert m.horizon_warning("en").startswith("The data window is too short for the separation horizon")
        assert m.horizon_warning("fr").startswith("Fenêtre de données trop courte")
        assert m.summary.attrs["horizon_warning"] == m.horizon_warning_
    # Six months (Jul 2 .. Dec 31, 182 days): the derived H (107 days) leaves 75 days, enough; H = 130 set in the
    # configuration leaves 52 < 182 / 3 days: the check applies to a configured H too.
    recent = {"transactions": tx[tx["date"] > pd.Timestamp("2025-06-30")]}
    m = StageModel(cadence="quarter").fit(recent, AS_OF)
    assert m.horizon_days_ == 107 and m.horizon_warning_ is None
    m = StageModel(cadence="quarter", horizon_days=130).fit(recent, AS_OF)
    assert "(52 days)" in m.horizon_warning("en")
    # Three years of data: no warning, and the window-corrected H is above the uncorrected one.
    m = StageModel(cadence="quarter").fit(small, AS_OF)
    assert m.horizon_warning_ is None and m.horizon_warning("fr") is None
    assert m.horizon_source_ == "q0.95 of repeat gaps, window-corrected"
    plain = StageModel(cadence="quarter", horizon_method="observed").fit(small, AS_OF)
    assert plain.horizon_source_ == "q0.95 of repeat gaps" and plain.horizon_days_ <= m.horizon_days_


def test_verbose_prints_steps(small, capsys):
    StageModel(cadence="quarter", verbose=True).fit(small, AS_OF)
    out = capsys.readouterr().out
    assert "horizon H =" in out and "fitted in" in out
    StageModel(cadence="quarter").fit(small, AS_OF)
    assert capsys.readouterr().out == ""


def test_bad_tables_fail_with_the_table_and_column(small):
    tx = small["transactions"]
    with pytest.raises(MissingColumnError, match=r"Table 'transactions'.*'amount'"):
        StageModel().fit({"transactions": tx.drop(columns="amount")}, AS_OF)
    with pytest.raises(MissingColumnError, match=r"Table 'interactions'.*'type'"):
        StageModel().fit(
            {"transactions": tx, "interactions": small["interactions"].drop(columns="type")}, AS_OF
        )
    with pytest.raises(DataContractError, match="'customers': column 'contract_end' must hold dates"):
        cu = small["customers"].assign(contract_end=small["customers"]["contract_end"].astype(str))
        StageModel().fit({"transactions": tx, "customers": cu}, AS_OF)
    # Optional columns may be absent: no category (no cross-sell signal), no loyalty programme.
    cu = small["customers"].drop(columns=["loyalty_member", "contract_start", "contract_end"])
    m = StageModel(cadence=["2025-12-31"]).fit(
        {"transactions": tx.drop(columns="category"), "customers": cu}, AS_OF
    )
    f = m.features()
    assert (f["n_categories"] == 0).all() and not f["committed"].any()
    assert "prospect" in set(m.current_["stage"])


def test_tables_living_in_an_ibis_backend(small, tmp_path):
    # Large data stays in the engine: the same model on DuckDB tables read from Parquet files.
    con = ibis.duckdb.connect()
    tables = {}
    for name, df in small.items():
        df.to_parquet(tmp_path / f"{name}.parquet")
        tables[name] = con.read_parquet(tmp_path / f"{name}.parquet")
    tables["transactions"] = tables["transactions"].drop("category")  # optional columns may be absent
    m = StageModel(cadence="quarter").fit(tables, AS_OF)
    ref = StageModel(cadence="quarter").fit(
        {**small, "transactions": small["transactions"].drop(columns="category")}, AS_OF
    )
    assert m.horizon_days_ == ref.horizon_days_
    pd.testing.assert_frame_equal(m.history_, ref.history_)
    with pytest.raises(ConfigError, match="needs pandas DataFrames"):
        StageModel(backend="pandas").fit(tables, AS_OF)


def test_contract_violations_are_named(small):
    tx, cu = small["transactions"], small["customers"]
    with pytest.raises(DataContractError, match="'customers': column 'customer_id' must be unique"):
        StageModel().fit({"transactions": tx, "customers": pd.concat([cu, cu.head(1)])}, AS_OF)
    bad = tx.assign(date=tx["date"].where(tx.index != tx.index[0]))
    with pytest.raises(DataContractError, match="'transactions': column 'date' has 1 missing value"):
        StageModel().fit({"transactions": bad}, AS_OF)


def test_contract_end_then_return_is_a_winback():
    # X: monthly buyer from 2023-06, loyalty member, contract 2024-01-01 .. 2024-12-31, silent in 2025 until a
    # purchase on 2025-06-15. Y: loyalty member without contract dates: the flag is observed at extraction, so it
    # commits Y at the last snapshot only (from its sign-up), or at every snapshot with loyalty_flag="since_signup".
    days = [*pd.date_range("2023-06-15", "2024-12-15", freq="MS") + pd.Timedelta(days=14), "2025-06-15"]
    tx = pd.DataFrame(
        {
            "customer_id": pd.array(["X"] * len(days) + ["Y", "Y"], dtype="string"),
            "date": pd.to_datetime([*days, "2024-01-10", "2025-05-10"]),
            "amount": 30.0,
            "category": pd.array([None] * (len(days) + 2), dtype="string"),
        }
    )
    cu = pd.DataFrame(
        {
            "customer_id": pd.array(["X", "Y"], dtype="string"),
            "signup_date": pd.to_datetime(["2023-06-01", "2023-12-01"]),
            "contract_start": pd.to_datetime(["2024-01-01", None]),
            "contract_end": pd.to_datetime(["2024-12-31", None]),
            "loyalty_member": pd.array([True, True], dtype="boolean"),
        }
    )
    snaps = ["2023-09-30", "2024-06-30", "2025-03-31", "2025-06-30", "2026-07-31"]
    tables = {"transactions": tx, "customers": cu}
    for backend in (None, "pandas"):
        m = StageModel(cadence=snaps, horizon_days=150, backend=backend).fit(tables, "2026-07-31")
        h = m.history_.set_index(["customer_id", m.history_["snapshot"].dt.strftime("%Y-%m-%d")])["stage"]
        x = {s: h[("X", s)] for s in snaps}
        # Before the contract, the undated loyalty flag does not commit X: 4 purchases, active -> dating.
        assert x["2023-09-30"] == "petit_ami"
        assert x["2024-06-30"] == "fiance"  # contract running for 182 days (< 1 year)
        assert x["2025-03-31"] == "separe"  # the contract ended, no purchase since (yet active: 106 days)
        # The first purchase after the contract end is a return, although its gap (182 days) is shorter than
        # 1.5 x H = 225 days: a contractual separation followed by a purchase is a win-back, for a year.
        assert x["2025-06-30"] == "reconquis"
        assert x["2026-07-31"] == "separe"  # 411 days without a purchase (> H): lapsed again
        f = m.features("2025-06-30").set_index("customer_id")
        assert f.loc["X", "bought_after_contract_end"] and not f.loc["X", "committed"]
        assert f.loc["X", "days_since_return"] == 15
        assert not f.loc["Y", "committed"] and not f.loc["Y", "loyalty_member"]
        last = m.features().set_index("customer_id")
        assert last.loc["Y", "committed"] and last.loc["Y", "loyalty_member"]
        assert (
            last.loc["Y", "committed_days"] == (pd.Timestamp("2026-07-31") - pd.Timestamp("2023-12-01")).days
        )
        before = StageModel(cadence=snaps, horizon_days=150, backend=backend, loyalty_flag="since_signup")
        f = before.fit(tables, "2026-07-31").features("2025-06-30").set_index("customer_id")
        assert (
            f.loc["Y", "committed"]
            and f.loc["Y", "committed_days"] == (pd.Timestamp("2025-06-30") - pd.Timestamp("2023-12-01")).days
        )
