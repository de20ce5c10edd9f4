"""Exports with a title above the header: the error says on which line the columns are and what to set;
``skip_rows`` reads them, and every rejected row keeps the line number a spreadsheet shows."""

from __future__ import annotations

import pandas as pd
import pytest

from custrel_lib.config import parse_config
from custrel_lib.exceptions import ConfigError, MissingColumnError
from custrel_lib.io.load import load_tables
from custrel_lib.io.scan import table_to_pandas

MAPPING = "    columns: {customer_id: N° client, date: Date, amount: Montant TTC}\n"
LINES = [
    "Export ventes du 01/12/2025",  # line 1: a title
    "",  # line 2: blank
    "N° client;Date;Montant TTC",  # line 3: the header
    "C1;05/01/2024;12,50",  # 4
    "C2;06/01/2024",  # 5: a field missing (malformed)
    "C3;31/02/2024;7",  # 6: no such date
    "C1;07/03/2024;3,25",  # 7
]


def _config(folder, path: str, skip: int | None) -> str:
    extra = f"    skip_rows: {skip}\n" if skip is not None else ""
    text = f"tables:\n  transactions:\n    path: {path}\n{extra}{MAPPING}analysis:\n  as_of: 2024-12-31\n"
    (folder / "custrel.yml").write_text(text, encoding="utf-8")
    return folder / "custrel.yml"


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_a_title_above_the_header_of_a_csv(tmp_path, engine):
    (tmp_path / "ventes.csv").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    with pytest.raises(MissingColumnError) as err:
        load_tables(_config(tmp_path, "ventes.csv", None), engine=engine)
    message = str(err.value)
    assert (
        "line 1 is not the header (it reads Export ventes du 01/12/2025); line 3 holds the columns" in message
    )
    assert message.endswith("set tables.transactions.skip_rows: 2 in custrel.yml."), message
    result = load_tables(_config(tmp_path, "ventes.csv", 2), engine=engine)
    tx = table_to_pandas(result, "transactions") if engine else result.tables["transactions"]
    assert tx["customer_id"].tolist() == ["C1", "C1"] and tx["amount"].tolist() == [12.5, 3.25]
    rows = result.problems.rows.sort_values("row")
    assert rows[["row", "reason"]].values.tolist() == [[5, "malformed_line"], [6, "unparseable_date"]]
    assert result.problems.counts["transactions"] == {"read": 4, "kept": 2, "rejected": 2}


def test_a_title_above_the_header_of_an_xlsx(tmp_path):
    rows = [line.split(";") if line else [] for line in LINES if line != LINES[4]]  # no malformed row in XLSX
    pd.DataFrame(rows).to_excel(tmp_path / "ventes.xlsx", header=False, index=False)
    with pytest.raises(MissingColumnError, match=r"line 3 holds the columns.*skip_rows: 2 in custrel\.yml"):
        load_tables(_config(tmp_path, "ventes.xlsx", None))
    result = load_tables(_config(tmp_path, "ventes.xlsx", 2))
    assert result.tables["transactions"]["amount"].tolist() == [12.5, 3.25]
    # The bad date is on the sheet's row 5 (row 5 of the CSV above was left out).
    assert result.problems.rows[["row", "reason"]].values.tolist() == [[5, "unparseable_date"]]


def test_skip_rows_is_checked(tmp_path):
    for value, says in ((-1, "from 0 to 1000"), ("2", "from 0 to 1000"), (True, "from 0 to 1000")):
        with pytest.raises(ConfigError, match=says):
            parse_config(
                {"tables": {"transactions": {"path": "t.csv", "skip_rows": value}}}, base_dir=tmp_path
            )
    with pytest.raises(ConfigError, match="not Parquet"):
        parse_config({"tables": {"transactions": {"path": "t.parquet", "skip_rows": 1}}}, base_dir=tmp_path)


def test_the_report_leads_with_the_data_error(tmp_path):
    """`custrel report` on such a file: the terminal says what is wrong with the data first, not the first
    line of the notebook cell that read it (it said "failed in cell 3: `import math`")."""
    from custrel_lib.exceptions import ReportError
    from custrel_lib.reports.run import run_report

    (tmp_path / "ventes.csv").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    config = _config(tmp_path, "ventes.csv", None)
    with pytest.raises(ReportError) as err:
        run_report(config, notebooks=["0.0-executive-summary"], reports_dir=tmp_path / "r", progress=False)
    message = str(err.value)
    assert message.startswith(
        f"Table 'transactions' in {tmp_path / 'ventes.csv'}: line 1 is not the header"
    ), message
    assert "(MissingColumnError in notebook 0.0-executive-summary.ipynb, cell" in message
    assert "Nothing was published" in message and "import math" not in message.splitlines()[0]


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_a_survey_export_without_a_type_column(tmp_path, engine):
    """An NPS survey tool exports e-mail, date and note only: the error says how to give the type, and
    `type: "=nps"` (a constant) reads every row as an NPS answer."""
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na@x.fr,2025-01-02,5\nb@x.fr,2025-01-03,6\n")
    (tmp_path / "enquete.csv").write_text(
        "Email client;Date réponse;Note\na@x.fr;05/01/2025 10:30;9\nb@x.fr;06/01/2025 11:00;10\n",
        encoding="utf-8",
    )
    columns = "{customer_id: Email client, date: Date réponse, score: Note}"
    body = (
        "tables:\n  transactions: {path: tx.csv}\n  interactions:\n    path: enquete.csv\n"
        f"    columns: {columns}\nanalysis: {{as_of: 2025-12-31}}\n"
    )
    (tmp_path / "custrel.yml").write_text(body, encoding="utf-8")
    with pytest.raises(MissingColumnError, match='map it to a constant: type: "=nps"'):
        load_tables(tmp_path / "custrel.yml", engine=engine)
    constant = columns.replace("score: Note}", 'score: Note, type: "=nps"}')
    (tmp_path / "custrel.yml").write_text(body.replace(columns, constant), encoding="utf-8")
    result = load_tables(tmp_path / "custrel.yml", engine=engine)
    it = table_to_pandas(result, "interactions") if engine else result.tables["interactions"]
    assert it[["customer_id", "type", "score"]].values.tolist() == [
        ["a@x.fr", "nps", 9.0],
        ["b@x.fr", "nps", 10.0],
    ]
    assert result.problems.rows.empty
    with pytest.raises(ConfigError, match=r"customer_id must name a column: a constant \(=A\) fills text"):
        parse_config(
            {"tables": {"transactions": {"path": "t.csv", "columns": {"customer_id": "=A"}}}},
            base_dir=tmp_path,
        )


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_survey_notes_written_with_their_scale_or_label(tmp_path, engine):
    # 60 % of a real survey's notes were "9/10" or "7 - Plutôt probable", and all were emptied.
    notes = ["9/10", "7 - Plutôt probable", "8 : satisfait", "10", "6.5", "", "excellent", "3 / 10"]
    lines = [f"a@x.fr;0{i + 1}/02/2025;{n}" for i, n in enumerate(notes)]
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na@x.fr,2025-01-02,5\n")
    (tmp_path / "nps.csv").write_text("client;date;note\n" + "\n".join(lines) + "\n", encoding="utf-8")
    body = (
        "tables:\n  transactions: {path: tx.csv}\n  interactions:\n    path: nps.csv\n"
        '    columns: {customer_id: client, score: note, type: "=nps"}\nanalysis: {as_of: 2025-12-31}\n'
    )
    (tmp_path / "custrel.yml").write_text(body, encoding="utf-8")
    result = load_tables(tmp_path / "custrel.yml", engine=engine)
    it = table_to_pandas(result, "interactions") if engine else result.tables["interactions"]
    assert it["score"].tolist()[:5] == [9.0, 7.0, 8.0, 10.0, 6.5] and it["score"].iloc[7] == 3.0
    assert it["score"].iloc[5:7].isna().all()
    rows = result.problems.rows
    assert rows[["row", "reason", "value"]].values.tolist() == [[8, "non_numeric_value", "excellent"]]


@pytest.mark.parametrize("path", ["pandas", "engine", "engine, fit sample"])
def test_customers_placed_at_no_snapshot_are_counted(tmp_path, monkeypatch, path):
    """A prospect with no sign-up date has no date from which it is known: it is in no snapshot, and the
    report's data sentence says how many such customers there are (61 vanished without a word). Counted on
    every customer, also on the engine path and when the analyses read a sample of customers (large data)."""
    from custrel_lib.io import load as load_module
    from custrel_lib.workbench import prepare

    if path != "pandas":
        monkeypatch.setattr(load_module, "ENGINE_BYTES", 0)

    tx = ["customer_id,date,amount"] + [f"C{i % 15},2025-0{1 + i % 6}-1{i % 9},{5 + i}" for i in range(30)]
    (tmp_path / "tx.csv").write_text("\n".join(tx) + "\n")
    cu = (
        ["customer_id,signup_date"]
        + [f"C{i},2024-12-01" for i in range(15)]
        + ["P1,2025-02-01", "P2,", "P3,"]
    )
    (tmp_path / "cu.csv").write_text("\n".join(cu) + "\n")
    sample = ", fit_sample: 5" if "sample" in path else ""
    body = f"tables:\n  transactions: {{path: tx.csv}}\n  customers: {{path: cu.csv}}\nanalysis: {{as_of: 2025-06-30{sample}}}\n"
    (tmp_path / "custrel.yml").write_text(body, encoding="utf-8")
    wb = prepare(tmp_path / "custrel.yml", verbose=False, lang="en")
    assert bool(wb.sample) == ("sample" in path)
    assert set(wb.history["customer_id"]) == {f"C{i}" for i in range(15)} | {"P1"}
    assert wb.unplaced() == 2
    assert wb.data_sentence("en").endswith(
        " 2 customers of the customers table, with no purchase and no sign-up date, are counted at no date: "
        "nothing says since when they are known."
    )


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_the_files_own_words_for_end_reasons_and_types(tmp_path, engine):
    # A French CRM writes why a contract ended in its own words, and its contact types too.
    (tmp_path / "tx.csv").write_text(
        "customer_id,date,amount\nA,2024-01-05,10\nB,2024-02-05,5\nC,2024-03-05,7\n"
    )
    (tmp_path / "cu.csv").write_text(
        "customer_id,contract_start,contract_end,end_reason\nA,2023-01-01,2024-06-01,Résiliation client\n"
        "B,2023-01-01,2024-06-01,IMPAYÉ\nC,2023-01-01,2024-06-01,Déménagement\n",
        encoding="utf-8",
    )
    (tmp_path / "it.csv").write_text("customer_id,date,type\nA,2024-02-01,Chat\nB,2024-02-01,appel\n")
    values = (
        "    values:\n      end_reason: {Résiliation client: voluntary, Impayé: involuntary}\n"
        "      type: {chat: support, appel: support}\n"
    )
    body = (
        "tables:\n  transactions: {path: tx.csv}\n  customers:\n    path: cu.csv\n"
        + values.split("      type")[0]
        + "  interactions:\n    path: it.csv\n    values:\n      type"
        + values.split("      type")[1]
        + "analysis: {as_of: 2024-12-31}\n"
    )
    (tmp_path / "custrel.yml").write_text(body, encoding="utf-8")
    result = load_tables(tmp_path / "custrel.yml", engine=engine)
    cu = table_to_pandas(result, "customers") if engine else result.tables["customers"]
    it = table_to_pandas(result, "interactions") if engine else result.tables["interactions"]
    assert cu["end_reason"].tolist()[:2] == ["voluntary", "involuntary"] and pd.isna(cu["end_reason"].iloc[2])
    assert it["type"].tolist() == ["support", "support"]
    rows = result.problems.rows
    assert rows[["table", "row", "reason", "value"]].values.tolist() == [
        ["customers", 4, "invalid_value", "Déménagement"]
    ]
    with pytest.raises(ConfigError, match="must be one of voluntary, involuntary, not 'volontaire'"):
        parse_config(
            {"tables": {"transactions": "t.csv", "customers": {"path": "c.csv",
             "values": {"end_reason": {"X": "volontaire"}}}}}, base_dir=tmp_path
        )  # fmt: skip
