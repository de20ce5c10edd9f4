"""Transactions without amounts (``amounts: false``): a log of visits, or of orders without their value.

The file is lifetimes' own example log (``tests/data/example_transactions.csv``: ``date, id``, 15,273 rows,
5,000 customers, 2014; source in ``tests/data/README.md``), as a user brings it: before, ``custrel init`` did not
recognise it and ``custrel validate`` stopped on the missing amount. Each row is one purchase; the reports give
no figure of money (no revenue at risk, no expected value, no share of revenue) and say why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _shapes import check_run, page_text

from custrel_lib.config import load_config
from custrel_lib.exceptions import ConfigError, DataContractError
from custrel_lib.flame.rfm import rfm_summary
from custrel_lib.i18n import format_date
from custrel_lib.io.load import load_tables
from custrel_lib.io.starter import guess_file, write_config
from custrel_lib.reports.run import run_report
from custrel_lib.stages.explain import stage_profiles
from custrel_lib.stages.features import MONEY_FEATURES
from custrel_lib.stages.segments import DEFAULT_FEATURES, default_features
from custrel_lib.survival.analysis import cox_covariates

LOG = Path(__file__).parent / "data" / "example_transactions.csv"
AS_OF = "2014-12-31"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(LOG, tmp_path / LOG.name)
    return tmp_path


def _config(folder: Path, extra: str = "", lang: str = "fr") -> Path:
    path = folder / "custrel.yml"
    path.write_text(
        f"language: {lang}\ntables:\n  transactions:\n    path: {LOG.name}\n"
        f"    columns: {{customer_id: id, date: date}}\n    amounts: false\n{extra}",
        encoding="utf-8",
    )
    return path


def test_init_recognises_a_log_of_dates_and_ids_and_writes_amounts_false(folder):
    guess = guess_file(folder / LOG.name)
    assert (guess.table, guess.columns, guess.amounts) == (
        "transactions",
        {"date": "date", "customer_id": "id"},
        False,
    )
    out = folder / "custrel.yml"
    out.write_text(write_config([guess], out, "fr"), encoding="utf-8")
    text = out.read_text(encoding="utf-8")
    assert "    amounts: false" in text and "currency" not in text  # no amounts, no currency to set
    assert load_config(out).tables["transactions"].amounts is False


def test_init_keeps_amounts_when_the_file_has_them(folder):
    frame = pd.read_csv(folder / LOG.name).assign(amount=12.5)
    frame.to_csv(folder / "with_amounts.csv", index=False)
    guess = guess_file(folder / "with_amounts.csv", "transactions")
    assert guess.amounts and guess.columns["amount"] == "amount"


@pytest.mark.parametrize("engine", [False, True])
def test_every_row_is_one_purchase_in_both_loaders(folder, engine):
    loaded = load_tables(_config(folder), engine=engine)
    tx = loaded.tables["transactions"]
    tx = tx.to_pandas() if engine else tx
    raw = pd.read_csv(folder / LOG.name, dtype={"id": str})
    assert loaded.problems.counts["transactions"] == {"read": 15_273, "kept": 15_273, "rejected": 0}
    assert (tx["amount"] == 1.0).all()
    assert "decimal" not in loaded.formats["transactions"]  # the amount was not read from the file
    counts = tx.groupby(tx["customer_id"].astype(str)).size().sort_index()
    assert counts.equals(raw.groupby("id").size().sort_index()), "purchases per customer = the file's rows"


def test_the_btyd_summary_equals_the_definitions_computed_from_the_file(folder):
    """frequency = purchase days after the first, recency = last - first purchase day, T = as_of - first day
    (Fader, Hardie & Lee 2005), computed here from the raw file with pandas alone."""
    loaded = load_tables(_config(folder))
    got = rfm_summary(loaded.tables["transactions"], AS_OF).set_index("customer_id").sort_index()
    raw = pd.read_csv(LOG, dtype={"id": str}, parse_dates=["date"])
    days = raw.assign(day=raw["date"].dt.normalize()).groupby("id")["day"]
    first, last = days.min(), days.max()
    want = pd.DataFrame(
        {
            "frequency": days.nunique() - 1,
            "recency": (last - first).dt.days.astype(float),
            "T": (pd.Timestamp(AS_OF) - first).dt.days.astype(float),
        }
    ).sort_index()
    assert len(got) == 5_000
    np.testing.assert_array_equal(got[["frequency", "recency", "T"]].to_numpy(), want.to_numpy())


def test_config_refuses_amounts_false_beside_an_amount_and_on_other_tables(folder):
    assert load_config(_config(folder)).tables["transactions"].amounts is False
    bad = _config(folder)
    bad.write_text(bad.read_text().replace("date: date}", "date: date, quantity: n}"), encoding="utf-8")
    with pytest.raises(
        ConfigError, match=r"amounts is false \(no amounts in the file\), but columns maps quantity"
    ):
        load_config(bad)
    path = _config(folder, f"  customers:\n    path: {LOG.name}\n    amounts: false\n")
    with pytest.raises(ConfigError, match=r"customers\.amounts applies to the transactions table only"):
        load_config(path)
    path = _config(folder)
    path.write_text(path.read_text().replace("amounts: false", "amounts: no amounts"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"amounts must be true or false"):
        load_config(path)


def test_the_missing_amount_error_names_the_setting(folder):
    path = _config(folder)
    path.write_text(path.read_text().replace("    amounts: false\n", ""), encoding="utf-8")
    with pytest.raises(DataContractError, match=r"amounts: false"):
        load_tables(path)


def test_no_money_in_profiles_features_and_models():
    f = pd.DataFrame(
        {
            "stage": ["flirt", "flirt", "petit_ami"],
            "spend_6m": [1.0, 2.0, 3.0],
            "spend_prev_6m": [0.0, 1.0, 1.0],
            "tenure_days": [10, 20, 30],
            "nps_last": np.nan,
            "complaints_90d": 0,
        }
    )
    s = pd.Timestamp(AS_OF)
    with_money = stage_profiles(f, s, "en")
    without = stage_profiles(f, s, "en", interactions=False, amounts=False)
    assert with_money.table["revenue_share"].sum() == pytest.approx(1.0)
    assert without.table["revenue"].isna().all() and without.table["revenue_share"].isna().all()
    assert {"revenue", "revenue_share"} <= set(without.unknown_columns())
    assert not {"Share of revenue (12 months)"} & set(without.display_frame().columns)
    assert "spend_first" in cox_covariates() and "spend_first" not in cox_covariates(False)
    assert set(default_features(False)) == set(DEFAULT_FEATURES) - set(MONEY_FEATURES)


def test_the_report_without_amounts_shows_no_money_and_says_why(folder, tmp_path):
    run = run_report(
        _config(folder, lang="en"), reports_dir=tmp_path / "reports", run_id="visits", progress=False
    )
    assert run.status == "ok", run
    assert not check_run(run.path), check_run(run.path)
    kf = json.loads((run.path / "key_figures.json").read_text(encoding="utf-8"))
    keys = {h["key"] for h in kf["headline"]}
    assert "at_risk" in keys and not {"revenue_at_risk", "flame_value"} & keys
    assert "value_at_risk_all_active" not in kf["survival"]["at_risk"] and kf["currency"] is None
    skipped = {(s["notebook"], s["section"]): s["reason"] for s in kf["skipped"]}
    assert skipped[("2.0-separation-survival", "flame_fading")] == "no_amounts"
    for page in run.path.glob("*.html"):
        text = page_text(page.read_text(encoding="utf-8"))
        assert "€" not in text and "revenue exposed" not in text.lower(), page.name
    summary = page_text((run.path / "0.0-executive-summary.html").read_text(encoding="utf-8"))
    assert "The transactions hold no amounts (amounts: false)" in summary
    at_risk = pd.read_csv(run.path / "at_risk.csv")
    assert len(at_risk) and at_risk["value_at_risk"].isna().all()
    assert at_risk["p_separation"].is_monotonic_decreasing  # ranked by risk, no value to rank by
    profiles = pd.read_csv(run.path / "stage_profiles.csv")
    assert profiles["revenue_share"].isna().all()


def test_a_customers_story_shows_purchases_without_amounts(folder):
    from custrel_lib.explore import StageExplorer, customer_events, story_figure
    from custrel_lib.workbench import prepare

    explorer = StageExplorer(prepare(_config(folder), verbose=False), lang="en")
    events = customer_events(explorer.engine, "2", explorer.settings())  # 7 purchases on 7 days
    assert not events.amounts and len(events.transactions) == 7
    fig = story_figure(events, "en", 85)
    purchases = next(t for t in fig.data if t.name == "Purchase")
    assert len(purchases.x) == 7 and set(np.atleast_1d(purchases.marker.size)) == {14}
    dates = [format_date(d, "en") for d in events.transactions["date"]]
    assert list(purchases.text) == dates  # the date alone: no amount, no currency
    assert "no amounts in the data" in fig.layout.title.subtitle.text
    profiles = explorer.result.profiles("en")  # the explorer's profiles tab: customers, no revenue
    assert {"revenue", "revenue_share"} <= set(profiles.unknown_columns())
    assert len(explorer.figures["profiles"].data) == 1  # the share of customers alone


def test_init_on_orders_without_amounts_joins_their_lines_or_says_where_amounts_may_be(tmp_path):
    """The orders file holds the customer and the date, the amounts are in the order lines' file, which no
    table fits: init joins the lines to the orders (io/relational.py). Beside a file it cannot relate, the
    orders are read without amounts, and custrel.yml says where the amounts may be."""
    from click.testing import CliRunner

    from custrel_lib.cli import main

    pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(12)],
            "customer_id": [f"c{i % 5}" for i in range(12)],
            "order_purchase_timestamp": [f"2018-0{1 + i % 9}-1{i % 10} 10:56:33" for i in range(12)],
        }
    ).to_csv(tmp_path / "orders.csv", index=False)
    pd.DataFrame({"order_id": [f"o{i}" for i in range(12)], "order_item_id": 1, "price": 29.99}).to_csv(
        tmp_path / "order_items.csv", index=False
    )
    pd.DataFrame({"product_id": ["p1", "p2"], "weight_g": [100, 200]}).to_csv(
        tmp_path / "products.csv", index=False
    )
    runner, out = CliRunner(), tmp_path / "a.yml"
    files = [str(tmp_path / n) for n in ("orders.csv", "order_items.csv")]
    result = runner.invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    tx = load_config(out).tables["transactions"]
    assert tx.path.name == "order_items.csv" and tx.amounts and tx.columns["amount"] == "price"
    assert [(p.name, key) for p, key in tx.joins] == [("orders.csv", "order_id")]
    out = tmp_path / "b.yml"
    files = [str(tmp_path / n) for n in ("orders.csv", "products.csv")]
    result = runner.invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "amounts: false" in text and "if the amounts are in products.csv: join:" in text
    assert load_config(out).tables["transactions"].columns["date"] == "order_purchase_timestamp"


def test_init_names_whole_numbers_that_may_be_the_amounts(tmp_path):
    """A German export (Kunde, Datum, Betrag): no name is known for the id or the amount, and whole-number
    amounts look like ids by their values. The text column is the id; the file is read without amounts, and the
    note names the column of numbers that may hold them."""
    rows = [f"K{1 + (i * 7) % 40},2024-0{1 + i % 9}-1{i % 10},{5 + (i * 13) % 86}" for i in range(300)]
    (tmp_path / "tx.csv").write_text("Kunde,Datum,Betrag\n" + "\n".join(rows) + "\n", encoding="utf-8")
    guess = guess_file(tmp_path / "tx.csv")
    assert (guess.table, guess.columns, guess.amounts) == (
        "transactions",
        {"date": "Datum", "customer_id": "Kunde"},
        False,
    )
    assert any("if 'Betrag' holds them, map amount to it instead" in note for note in guess.notes)


def test_validate_says_the_file_has_no_amounts(folder):
    from click.testing import CliRunner

    from custrel_lib.cli import main

    result = CliRunner().invoke(main, ["validate", "--config", str(_config(folder))])
    assert result.exit_code == 0, result.output
    assert "amounts: false: every row is one purchase; the reports show no money" in result.output
    assert "decimal=" not in result.output  # the constant amount has no separator to report
