"""A table from several sources, each with its own columns and formats (a YAML list of table blocks).

CX teams get NPS answers from a survey tool and complaints from the help desk, or online orders from the shop and
till receipts from the stores: files of one table, written differently. Each source is read with its own mapping
(columns, separator, date format, decimal mark); its rows follow the previous source's, and the problems report
names each row's own file and row. The sample split so must load as the sample itself, in both loaders.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from _shapes import check_run
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import load_config, parse_config
from custrel_lib.exceptions import ConfigError
from custrel_lib.io.load import load_tables, uses_engine
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.reports.manifest import fingerprint_inputs
from custrel_lib.reports.run import run_report

CONFIG = """\
data_dir: .
tables:
  transactions:
    - path: boutique.csv
      sep: ";"
      decimal: ","
      columns: {customer_id: "N° client", date: "Date commande", amount: "Montant TTC", order_id: "N° commande",
                category: Rayon, channel: Canal}
    - path: magasins.parquet
      columns: {customer_id: carte, date: jour, amount: total, order_id: ticket, category: famille,
                channel: "=magasin"}
  customers: {path: customers.csv}
  interactions:
    - path: nps.csv
      columns: {customer_id: "N° client", date: "Date réponse", score: Note, type: "=nps"}
    - path: [contacts_2023.csv, contacts_2024.csv]
      columns: {customer_id: Client, date: Date, type: "Type de contact", resolved: Résolu}
analysis:
  as_of: 2025-12-31
"""


def split_sample(folder: Path) -> Path:
    """The sample written as four sources: the shop's orders (French CSV) and the stores' receipts (Parquet, other
    names), NPS answers (French dates, decimal comma) and contacts (two yearly files, other names)."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str, keep_default_na=False)
    it = pd.read_csv(SAMPLE_DIR / "interactions.csv", dtype=str, keep_default_na=False)
    shop, stores = tx[tx["channel"] != "magasin"], tx[tx["channel"] == "magasin"]
    pd.DataFrame(
        {
            "N° client": shop["customer_id"],
            "Date commande": pd.to_datetime(shop["date"]).dt.strftime("%d/%m/%Y"),
            "Montant TTC": shop["amount"].str.replace(".", ",", regex=False),
            "N° commande": shop["order_id"],
            "Rayon": shop["category"],
            "Canal": shop["channel"],
        }
    ).to_csv(folder / "boutique.csv", sep=";", index=False)
    pd.DataFrame(
        {
            "carte": stores["customer_id"],
            "jour": pd.to_datetime(stores["date"]),
            "total": stores["amount"].astype(float),
            "ticket": stores["order_id"],
            "famille": stores["category"],
        }
    ).to_parquet(folder / "magasins.parquet", index=False)
    nps, other = it[it["type"] == "nps"], it[it["type"] != "nps"]
    pd.DataFrame(
        {
            "N° client": nps["customer_id"],
            "Date réponse": pd.to_datetime(nps["date"]).dt.strftime("%d/%m/%Y"),
            "Note": nps["score"].str.replace(".", ",", regex=False),
        }
    ).to_csv(folder / "nps.csv", sep=";", index=False)
    contacts = other.rename(
        columns={"customer_id": "Client", "date": "Date", "type": "Type de contact", "resolved": "Résolu"}
    )[["Client", "Date", "Type de contact", "Résolu"]]
    early = contacts["Date"] < "2024"
    contacts[early].to_csv(folder / "contacts_2023.csv", index=False)
    contacts[~early].to_csv(folder / "contacts_2024.csv", index=False)
    pd.read_csv(SAMPLE_DIR / "customers.csv", dtype=str).to_csv(folder / "customers.csv", index=False)
    (folder / "custrel.yml").write_text(CONFIG, encoding="utf-8")
    return folder / "custrel.yml"


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(list(df.columns), kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("engine", [False, True])
def test_the_sample_split_into_sources_loads_as_the_sample(tmp_path, engine):
    config = split_sample(tmp_path)
    sample = load_tables(SAMPLE_DIR / "custrel.yml").tables
    loaded = load_tables(config, engine=engine)
    tables = loaded.to_pandas()
    for name in ("transactions", "interactions"):
        pd.testing.assert_frame_equal(_sorted(tables[name]), _sorted(sample[name]))
    # the sources' rows one after the other: the shop's orders first, then the stores' receipts
    channels = tables["transactions"]["channel"]
    first_store = int((channels == "magasin").to_numpy().argmax())
    assert (channels[:first_store] != "magasin").all() and (channels[first_store:] == "magasin").all()
    assert loaded.problems.rows.empty
    assert loaded.problems.counts["interactions"] == {"read": 22279, "kept": 22279, "rejected": 0}
    sources = loaded.formats["interactions"]["sources"]
    assert [s["date_format"]["date"] for s in sources] == ["%d/%m/%Y", "%Y-%m-%d"]
    assert loaded.formats["transactions"]["sources"][0]["sep"] == ";"


def test_both_loaders_give_the_same_rows_and_problems_with_each_row_in_its_own_file(tmp_path):
    config = split_sample(tmp_path)
    nps = (tmp_path / "nps.csv").read_text(encoding="utf-8").splitlines()
    nps[4] = nps[4].split(";")[0] + ";31/02/2024;9"  # row 5: no such day
    nps[12] = nps[12].split(";")[0] + ";01/03/2024;15"  # row 13: not an NPS score
    (tmp_path / "nps.csv").write_text("\n".join(nps) + "\n", encoding="utf-8")
    later = (tmp_path / "contacts_2024.csv").read_text(encoding="utf-8").splitlines()
    later[2] = "ZZZ999," + later[2].split(",", 1)[1]  # row 3 of the second file of the second source
    (tmp_path / "contacts_2024.csv").write_text("\n".join(later) + "\n", encoding="utf-8")
    shop = (tmp_path / "boutique.csv").read_text(encoding="utf-8").splitlines()
    cells = shop[6].split(";")
    shop[6] = ";".join([*cells[:2], "douze", *cells[3:]])  # row 7: no amount
    (tmp_path / "boutique.csv").write_text("\n".join(shop) + "\n", encoding="utf-8")
    pandas_load, engine_load = load_tables(config), load_tables(config, engine=True)
    engine_tables = engine_load.to_pandas()
    for name, df in pandas_load.tables.items():
        pd.testing.assert_frame_equal(df, engine_tables[name])
    assert pandas_load.problems.counts == engine_load.problems.counts
    columns = ["table", "file", "row", "column", "reason", "action"]
    rows = pandas_load.problems.rows[columns]
    pd.testing.assert_frame_equal(rows, engine_load.problems.rows[columns])
    found = {tuple(r) for r in rows[["file", "row", "reason"]].itertuples(index=False)}
    assert found == {
        ("boutique.csv", 7, "non_numeric_amount"),
        ("nps.csv", 5, "unparseable_date"),
        ("nps.csv", 13, "invalid_value"),
        ("contacts_2024.csv", 3, "unknown_customer"),
    }
    assert pandas_load.problems.counts["interactions"]["rejected"] == 2
    assert pandas_load.problems.counts["transactions"]["rejected"] == 1


def test_the_sources_are_checked_each_with_its_place_in_the_file(tmp_path):
    split_sample(tmp_path)

    def parse(tables: str) -> None:
        parse_config({"tables": yaml.safe_load(tables)}, base_dir=tmp_path)

    with pytest.raises(
        ConfigError, match=r"tables\.interactions\[1\]\.columns\.note is an unknown key.*type, score"
    ):
        parse(
            "transactions: {path: boutique.csv}\n"
            "interactions: [{path: nps.csv}, {path: contacts_2023.csv, columns: {note: Note}}]"
        )
    with pytest.raises(ConfigError, match=r"tables\.interactions\[0\]\.path is missing"):
        parse("transactions: {path: boutique.csv}\ninteractions: [{columns: {score: Note}}]")
    with pytest.raises(ConfigError, match=r"tables\.transactions is an empty list"):
        parse("transactions: []")
    with pytest.raises(ConfigError, match=r"tables\.transactions lists sources whose order_lines differ"):
        parse("transactions: [{path: boutique.csv, order_lines: true}, {path: magasins.parquet}]")
    spec = load_config(tmp_path / "custrel.yml").tables["interactions"]
    assert [f.name for f in spec.files] == ["nps.csv", "contacts_2023.csv", "contacts_2024.csv"]
    fingerprinted = [e["path"] for e in fingerprint_inputs(load_config(tmp_path / "custrel.yml"))["data"]]
    assert sum(p.endswith(("magasins.parquet", "boutique.csv")) for p in fingerprinted) == 2


def test_custrel_init_writes_interactions_read_differently_as_sources(tmp_path):
    """NPS answers in one file, complaints in another: init wrote a refusal; now a list of two sources, which
    both loaders read."""
    split_sample(tmp_path)
    out = tmp_path / "init.yml"
    files = ["boutique.csv", "customers.csv", "nps.csv", "contacts_2023.csv"]
    result = CliRunner().invoke(main, ["init", *(str(tmp_path / f) for f in files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "  interactions:  # 2 sources" in text and '    - path: "nps.csv"' in text
    spec = load_config(out).tables["interactions"]
    assert [s.columns.get("type") for s in spec.sources] == ["=nps", "Type de contact"]
    counts = [load_tables(out, engine=e).problems.counts["interactions"] for e in (False, True)]
    early = pd.read_csv(tmp_path / "contacts_2023.csv")
    assert counts[0] == counts[1] and counts[0]["kept"] == 10011 + len(early)


@pytest.mark.slow
def test_a_report_on_tables_of_several_sources_runs_clean(tmp_path):
    config = split_sample(tmp_path)
    run = run_report(config, reports_dir=tmp_path / "reports", run_id="sources", progress=False)
    assert run.status == "ok", [(r.name, r.status) for r in run.notebooks]
    assert not check_run(run.path)
    page = (run.path / "0.0-executive-summary.html").read_text(encoding="utf-8")
    assert "boutique.csv … magasins.parquet (2)" in page and "nps.csv … contacts_2024.csv (3)" in page


def test_a_workbook_among_the_sources_is_read_by_the_pandas_loader(tmp_path, monkeypatch):
    """Survey tools export workbooks: NPS answers in an XLSX sheet beside contacts in CSV. A workbook is read by
    the pandas loader only, so a table with one among its sources is never sent to the engine."""
    config = split_sample(tmp_path)
    answers = pd.read_csv(tmp_path / "nps.csv", sep=";", dtype=str)
    with pd.ExcelWriter(tmp_path / "nps.xlsx") as book:
        pd.DataFrame({"Lisez-moi": ["export du 31/12/2025"]}).to_excel(book, sheet_name="Info", index=False)
        answers.to_excel(book, sheet_name="Réponses", index=False)
    text = config.read_text(encoding="utf-8")
    nps = '    - path: nps.csv\n      columns: {customer_id: "N° client", date: "Date réponse", score: Note, type: "=nps"}\n'
    assert nps in text
    workbook = nps.replace("path: nps.csv\n", "path: nps.xlsx\n      sheet: Réponses\n")
    text = text.replace(nps, "").replace("analysis:", workbook + "analysis:")
    config.write_text(text, encoding="utf-8")  # the workbook second, after the contacts
    spec = load_config(config).tables["interactions"]
    assert [s.format for s in spec.sources] == ["csv", "xlsx"]
    monkeypatch.setattr("custrel_lib.io.load.ENGINE_BYTES", 0)  # any size goes to the engine, but a workbook
    assert uses_engine(load_config(SAMPLE_DIR / "custrel.yml")) and not uses_engine(load_config(config))
    loaded = load_tables(config, engine=None)
    sample = load_tables(SAMPLE_DIR / "custrel.yml").tables["interactions"]
    pd.testing.assert_frame_equal(_sorted(loaded.tables["interactions"]), _sorted(sample))
    assert loaded.formats["interactions"]["sources"][1]["format"] == "xlsx"


def test_custrel_init_writes_sales_files_of_different_columns_as_sources(tmp_path):
    """The shop's orders (French CSV) and the stores' receipts (Parquet, other names): init refused them as "two
    files of the transactions table with different columns"; it now writes two sources, with a comment on what
    to check, and every sale of the sample is read."""
    split_sample(tmp_path)
    out = tmp_path / "init.yml"
    files = ["boutique.csv", "magasins.parquet", "customers.csv"]
    result = CliRunner().invoke(main, ["init", *(str(tmp_path / f) for f in files), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "  transactions:  # 2 sources" in text and "their order ids do not collide" in text
    spec = load_config(out).tables["transactions"]
    assert [s.path.name for s in spec.sources] == ["boutique.csv", "magasins.parquet"]
    assert [s.columns["amount"] for s in spec.sources] == ["Montant TTC", "total"]
    sample = load_tables(SAMPLE_DIR / "custrel.yml").tables["transactions"]
    for engine in (False, True):
        tx = load_tables(out, engine=engine).to_pandas()["transactions"]
        assert len(tx) == len(sample) and tx["amount"].sum() == pytest.approx(sample["amount"].sum())
        assert set(tx["customer_id"]) == set(sample["customer_id"])


def test_custrel_init_warns_of_a_file_of_returns_read_as_sales(tmp_path):
    """Returns exported beside the sales, in other columns, with positive amounts: read as a second source of
    transactions each return would be a purchase. init says so, in its output and in custrel.yml."""
    split_sample(tmp_path)
    shop = pd.read_csv(tmp_path / "boutique.csv", sep=";", dtype=str).head(60)
    returns = pd.DataFrame(
        {"N° client": shop["N° client"], "Date retour": shop["Date commande"], "Montant": shop["Montant TTC"]}
    )
    returns.to_csv(tmp_path / "retours_2025.csv", sep=";", index=False)
    negative = returns.assign(Montant="-" + returns["Montant"])
    negative.to_csv(tmp_path / "avoirs.csv", sep=";", index=False)
    for name, warned in (("retours_2025.csv", True), ("avoirs.csv", False)):
        out = tmp_path / f"{name}.yml"
        files = [str(tmp_path / f) for f in ("boutique.csv", name)]
        result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
        assert result.exit_code == 0, result.output
        said = "the file is named as returns, and its amounts are positive"
        assert (said in result.output) is warned and (said in out.read_text(encoding="utf-8")) is warned
        assert [s.path.name for s in load_config(out).tables["transactions"].sources] == [
            "boutique.csv",
            name,
        ]
