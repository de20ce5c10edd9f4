"""A table held by several files (monthly or yearly exports): ``path`` takes a pattern (``ventes_*.csv``, in name
order) or a list. Both loaders read the files one after the other as one table; every problem row names its
own file and its row in that file; each file must hold the table's columns; the report's fingerprints list
every file, so a new month's file makes ``--if-changed`` run again; ``custrel init`` on files read alike
writes them as one table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _shapes import sample_tables
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import load_config, parse_config
from custrel_lib.exceptions import ConfigError, MissingColumnError
from custrel_lib.io.load import load_tables
from custrel_lib.reports.manifest import fingerprint_inputs

LOADERS = pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
KEY = ["customer_id", "date", "amount"]


def _tx(result) -> pd.DataFrame:
    tx = result.tables["transactions"]
    tx = tx if isinstance(tx, pd.DataFrame) else tx.execute()
    tx = tx.assign(customer_id=tx["customer_id"].astype(str), date=pd.to_datetime(tx["date"]))
    return tx[KEY].sort_values(KEY, kind="stable").reset_index(drop=True)


def _yearly(folder: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """The sample's transactions as one file per year, with a line of too many fields in 2024's file (its
    line 6) and an unreadable amount in 2025's (line 4); returns the rows that stay readable, and the lines."""
    folder.mkdir(parents=True, exist_ok=True)
    tx = sample_tables()["transactions"].astype(str)
    tx = tx.sort_values("date", kind="stable")
    kept = []
    for year, part in tx.groupby(tx["date"].str[:4]):
        part = part.reset_index(drop=True)
        lines = part.to_csv(index=False).splitlines()
        if year == "2024":
            lines[5] += ",one,too many"  # line 6: the 5th row
            part = part.drop(index=4)
        if year == "2025":
            lines[3] = lines[3].replace(f",{part.loc[2, 'amount']},", ",douze,", 1)  # line 4: the 3rd row
            part = part.drop(index=2)
        (folder / f"ventes_{year}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        kept.append(part)
    ref = pd.concat(kept).assign(
        date=lambda d: pd.to_datetime(d["date"]), amount=lambda d: d["amount"].astype(float)
    )
    return ref[KEY].sort_values(KEY, kind="stable").reset_index(drop=True), {
        "ventes_2024.csv": 6,
        "ventes_2025.csv": 4,
    }


def _config(folder: Path, path: str) -> Path:
    (folder / "custrel.yml").write_text(f"tables:\n  transactions:\n    path: {path}\n", encoding="utf-8")
    return folder / "custrel.yml"


@LOADERS
def test_yearly_files_read_as_one_table_each_problem_at_its_file_and_line(tmp_path, engine):
    ref, bad = _yearly(tmp_path)
    result = load_tables(_config(tmp_path, '"ventes_*.csv"'), engine=engine)
    pd.testing.assert_frame_equal(_tx(result), ref, check_dtype=False)
    rows = result.problems.rows
    assert rows[["file", "row", "reason"]].values.tolist() == [
        ["ventes_2024.csv", 6, "malformed_line"],
        ["ventes_2025.csv", 4, "non_numeric_amount"],
    ]
    for file, line in bad.items():  # the row named is the file's own line
        text = (tmp_path / file).read_text(encoding="utf-8").splitlines()[line - 1]
        assert "too many" in text or "douze" in text
    assert result.problems.counts["transactions"] == {"read": len(ref) + 2, "kept": len(ref), "rejected": 2}
    summary = result.problems.summary
    assert summary["rows"].sum() == 2


@LOADERS
def test_one_row_number_in_two_files_is_two_rows(tmp_path, engine):
    """Line 2 of two files, both unreadable: two rows rejected, in the counts and in the summary."""
    for month in ("01", "02"):
        (tmp_path / f"m{month}.csv").write_text(
            f"customer_id,date,amount\nC1,2024-{month}-03,abc\nC2,2024-{month}-04,5\n", encoding="utf-8"
        )
    result = load_tables(_config(tmp_path, "[m01.csv, m02.csv]"), engine=engine)
    assert result.problems.counts["transactions"] == {"read": 4, "kept": 2, "rejected": 2}
    assert result.problems.summary.set_index("reason").loc["non_numeric_amount", "rows"] == 2
    assert result.problems.rows[["file", "row"]].values.tolist() == [["m01.csv", 2], ["m02.csv", 2]]


@LOADERS
def test_files_of_one_name_in_monthly_folders_and_an_order_across_files(tmp_path, engine):
    """``*/orders.csv``: the problems name each file by its folder; an order id already used in an earlier
    file is a duplicate at its own file and line."""
    for month, rows in (
        ("2024-01", "O1,C1,2024-01-05,10\nO2,C2,2024-01-09,20\n"),
        ("2024-02", "O3,C1,2024-02-01,5\nO2,C2,2024-02-03,7\n"),
    ):
        (tmp_path / month).mkdir()
        (tmp_path / month / "orders.csv").write_text(
            "order_id,customer_id,date,amount\n" + rows, encoding="utf-8"
        )
    result = load_tables(_config(tmp_path, '"*/orders.csv"'), engine=engine)
    rows = result.problems.rows
    assert rows[["file", "row", "reason"]].values.tolist() == [
        ["2024-02/orders.csv", 3, "duplicate_order_id"]
    ]
    assert sorted(_tx(result)["amount"]) == [5.0, 10.0, 20.0]


@LOADERS
def test_a_file_without_the_table_columns_is_named(tmp_path, engine):
    (tmp_path / "a.csv").write_text("customer_id,date,amount\nC1,2024-01-03,5\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("customer_id,date,total\nC1,2024-02-03,5\n", encoding="utf-8")
    with pytest.raises(MissingColumnError, match=r"b\.csv.*amount"):
        load_tables(_config(tmp_path, '"*.csv"'), engine=engine)


def test_patterns_and_lists_in_the_config(tmp_path):
    for name in ("v_2024-02.csv", "v_2024-01.csv", "v_2024-03.parquet"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")

    def parse(path):
        return parse_config({"tables": {"transactions": {"path": path}}}, base_dir=tmp_path).tables[
            "transactions"
        ]

    spec = parse("v_*.csv")
    assert [p.name for p in spec.files] == [
        "v_2024-01.csv",
        "v_2024-02.csv",
    ] and spec.path.name == "v_2024-01.csv"
    spec = parse(["v_2024-02.csv", "v_*.csv"])  # a list, each file once, in the order given
    assert [p.name for p in spec.files] == ["v_2024-02.csv", "v_2024-01.csv"]
    assert parse("v_2024-01.csv").parts == ()  # one file: as always
    with pytest.raises(ConfigError, match=r"tables\.transactions\.path.*'w_\*\.csv' matches no file"):
        parse("w_*.csv")
    with pytest.raises(ConfigError, match="different formats"):
        parse("v_*")
    with pytest.raises(ConfigError, match="at least one file"):
        parse([])


def test_a_new_file_changes_the_fingerprints(tmp_path):
    _yearly(tmp_path)
    config = _config(tmp_path, '"ventes_*.csv"')
    before = fingerprint_inputs(load_config(config))["data"]
    assert [Path(d["path"]).name for d in before] == ["ventes_2023.csv", "ventes_2024.csv", "ventes_2025.csv"]
    (tmp_path / "ventes_2026.csv").write_text("customer_id,date,amount\nC1,2025-01-03,5\n", encoding="utf-8")
    after = fingerprint_inputs(load_config(config))["data"]
    assert len(after) == 4 and after[:3] == before


def test_init_writes_files_read_alike_as_one_table(tmp_path):
    ref, _ = _yearly(tmp_path)
    files = sorted(str(p) for p in tmp_path.glob("ventes_*.csv"))
    out = tmp_path / "init.yml"
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert '["ventes_2023.csv", "ventes_2024.csv", "ventes_2025.csv"]' in out.read_text(encoding="utf-8")
    pd.testing.assert_frame_equal(_tx(load_tables(out)), ref, check_dtype=False)


def _workbook(path: Path) -> None:
    """Online Retail II's shape: one sheet per year, the same columns; line 3 of the second sheet unreadable."""
    first = pd.DataFrame(
        {"Customer ID": ["C1", "C2"], "InvoiceDate": ["2009-12-01", "2009-12-02"], "Price": [3.5, 4]}
    )
    second = pd.DataFrame(
        {"Customer ID": ["C1", "C3"], "InvoiceDate": ["2010-12-01", "2010-11-05"], "Price": [2, "x"]}
    )
    with pd.ExcelWriter(path) as book:
        first.to_excel(book, sheet_name="Year 2009-2010", index=False)
        second.to_excel(book, sheet_name="Year 2010-2011", index=False)


def test_every_sheet_of_a_workbook(tmp_path):
    _workbook(tmp_path / "retail.xlsx")
    columns = "{customer_id: Customer ID, date: InvoiceDate, amount: Price}"
    config = tmp_path / "custrel.yml"
    config.write_text(
        f"tables:\n  transactions:\n    path: retail.xlsx\n    sheet: '*'\n    columns: {columns}\n",
        encoding="utf-8",
    )
    result = load_tables(config)
    assert _tx(result)["amount"].tolist() == [3.5, 2.0, 4.0]
    assert result.problems.rows[["file", "row", "reason"]].values.tolist() == [
        ["retail.xlsx [Year 2010-2011]", 3, "non_numeric_amount"]
    ]
    config.write_text(config.read_text().replace("sheet: '*'", "sheet: [1]"), encoding="utf-8")
    assert _tx(load_tables(config))["amount"].tolist() == [2.0]
    # Read as before (the first sheet), the other one is said, with what to write.
    config.write_text(config.read_text().replace("    sheet: [1]\n", ""), encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", "--config", str(config)])
    assert result.exit_code == 0 and "also has Year 2010-2011" in result.output, result.output
    assert "sheet: '*'" in result.output
    out = tmp_path / "init.yml"
    result = CliRunner().invoke(main, ["init", f"transactions={tmp_path / 'retail.xlsx'}", "--out", str(out)])
    assert result.exit_code == 0 and "'Year 2010-2011'" in out.read_text(encoding="utf-8"), result.output
