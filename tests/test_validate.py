"""``custrel validate``: the problems report, then the separation horizon and the too-short-window warning."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
from click.testing import CliRunner

from custrel_lib.cli import validate_command
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.stages.features import horizon_lines


def test_validate_prints_the_horizon_on_the_sample():
    result = CliRunner().invoke(validate_command, [])
    assert result.exit_code == 0, result.output
    assert "Extraction date (as_of): 2025-12-31" in result.output
    assert (
        "Separation horizon H: 159 days (q0.95 of repeat gaps, window-corrected); "
        "data window 2023-01-01 .. 2025-12-31 (1095 days)." in result.output
    )
    assert "trop courte" not in result.output and "too short" not in result.output


def test_validate_warns_when_the_window_is_too_short(tmp_path):
    # The sample's last three months only: H derived from them leaves too little window to see a separation.
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    tx[tx["date"] >= "2025-10-01"].to_csv(tmp_path / "transactions.csv", index=False)
    for lang, start in (("fr", "Fenêtre de données trop courte"), ("en", "The data window is too short")):
        config = tmp_path / f"custrel_{lang}.yml"
        config.write_text(
            f"data_dir: .\nlanguage: {lang}\ntables:\n  transactions: {{path: transactions.csv}}\n"
            "analysis:\n  as_of: 2025-12-31\n",
            encoding="utf-8",
        )
        result = CliRunner().invoke(validate_command, ["--config", str(config)])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        assert (
            lines[-2].startswith("Separation horizon H: ")
            and "2025-10-01 .. 2025-12-31 (91 days)" in lines[-2]
        )
        assert lines[-1].startswith(start)


def test_horizon_lines_with_a_configured_horizon():
    tx = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B"],
            "date": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-06-01"]),
            "amount": [1.0, 2.0, 3.0],
        }
    )
    as_of = pd.Timestamp("2025-12-31")
    # 364 days of data; H = 250 leaves 114 days < 364 / 3: the warning follows the H line.
    lines = horizon_lines({"transactions": tx}, as_of, 250, "en")
    assert lines[0] == (
        "Separation horizon H: 250 days (analysis.horizon_days); data window 2025-01-01 .. 2025-12-31 (364 days)."
    )
    assert len(lines) == 2 and "(114 days)" in lines[1]
    assert horizon_lines({"transactions": tx}, as_of, 200, "en")[1:] == []
    only_once = tx[tx["customer_id"] == "B"]
    assert "not derivable" in horizon_lines({"transactions": only_once}, as_of, None, "fr")[0]


def test_validate_gives_formats_only_for_columns_the_file_has(tmp_path):
    """A customers file without dates or scores: no date format or decimal mark is printed for it (the pandas
    loader used to print the default format of the date columns it adds empty), and both loaders agree."""
    from custrel_lib.io.load import load_tables

    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str).head(200)
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    pd.DataFrame({"customer_id": tx["customer_id"].unique(), "region": "Nord"}).to_csv(
        tmp_path / "customers.csv", index=False
    )
    config = tmp_path / "custrel.yml"
    config.write_text(
        "tables:\n  transactions: {path: transactions.csv}\n  customers: {path: customers.csv}\n",
        encoding="utf-8",
    )
    formats = [load_tables(config, engine=engine).formats for engine in (False, True)]
    assert formats[0] == formats[1]
    assert formats[0]["customers"] == {"format": "csv", "encoding": "utf-8", "sep": ","}
    assert formats[0]["transactions"]["date_format"] == {"date": "%Y-%m-%d"}
    result = CliRunner().invoke(validate_command, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if "customers.csv" in x]
    assert "date_format" not in line and "signup_date" not in line


def _olist_orders(folder) -> None:
    """Olist's orders as a user maps them first: its customer_id is one per order (the customer's own id,
    customer_unique_id, is in another file): the sample's purchases, each under an id of its own."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str).sort_values("date", kind="stable")
    # An id per purchase, but one purchase in a hundred under the id of the fiftieth purchase before (a repeat buyer, weeks later).
    tx["customer_id"] = [f"order-customer-{i - 50 * (i % 100 == 99)}" for i in range(len(tx))]
    tx.to_csv(folder / "transactions.csv", index=False)


def test_an_id_per_purchase_is_pointed_out(tmp_path):
    """Validate and the report's data sentence say when almost every purchase has its own customer id; the
    sample, where customers buy again, says nothing."""
    from custrel_lib.io.keys import one_id_per_purchase
    from custrel_lib.reports.data_note import data_sentence
    from custrel_lib.workbench import prepare

    _olist_orders(tmp_path)
    config = tmp_path / "custrel.yml"
    config.write_text("tables:\n  transactions: transactions.csv\n", encoding="utf-8")
    result = CliRunner().invoke(validate_command, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (
        "40,187 customer ids for 40,592 purchases" in result.output and "customer_unique_id" in result.output
    )
    wb = prepare(str(config), lang="en")
    assert "Warning: 40,187 customer ids for 40,592 purchases" in wb.data_sentence("en")
    assert "presque chaque achat a son propre identifiant" in wb.data_sentence("fr")
    sample = prepare("", lang="en")
    assert "Warning" not in sample.data_sentence("en")
    assert "customer_unique_id" not in CliRunner().invoke(validate_command, []).output

    def load(ids: int, purchases: int):  # a load of ``purchases`` rows over ``ids`` customer ids
        tx = pd.DataFrame({"customer_id": [f"c{i % ids}" for i in range(purchases)]})
        return SimpleNamespace(tables={"transactions": tx}, purchases=purchases)

    assert one_id_per_purchase(load(199, 199)) is None  # fewer than 200 purchases: nothing said
    assert one_id_per_purchase(load(196, 200)) == (196, 200)  # 98 %
    assert one_id_per_purchase(load(195, 200)) is None
    assert data_sentence(wb.problems, wb.files, "en").count("Warning") == 0  # said only when asked


def test_nps_answers_on_a_scale_of_five_are_pointed_out(tmp_path):
    """Answers mapped as NPS that all score 1 to 5 (stars read as NPS: every one a detractor): validate and the
    report's data sentence say so, counted in both loaders; the sample's NPS answers (0 to 10) say nothing."""
    from custrel_lib.io.data_warnings import nps_on_five
    from custrel_lib.io.load import load_tables
    from custrel_lib.workbench import prepare

    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    tx.to_csv(tmp_path / "transactions.csv", index=False)
    ids = tx["customer_id"].drop_duplicates().head(40).tolist()
    pd.DataFrame(
        {"customer_id": ids, "date": "2025-06-01", "score": [1 + i % 5 for i in range(len(ids))]}
    ).to_csv(tmp_path / "avis.csv", index=False)
    config = tmp_path / "custrel.yml"
    config.write_text(
        "tables:\n  transactions: transactions.csv\n  interactions:\n    path: avis.csv\n"
        '    columns: {type: "=nps"}\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(validate_command, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "warning: the 40 NPS answers all score between 1 and 5" in result.output
    assert nps_on_five(load_tables(config, engine=True)) == nps_on_five(load_tables(config)) == (40, 1.0, 5.0)
    wb = prepare(str(config), lang="en")
    assert "Warning: the 40 NPS answers all score between 1 and 5" in wb.data_sentence("en")
    assert "les 40 réponses NPS ont toutes une note entre 1 et 5" in wb.data_sentence("fr")
    assert "NPS answers all score" not in CliRunner().invoke(validate_command, []).output
    assert nps_on_five(load_tables(SAMPLE_DIR / "custrel.yml")) is None
