"""Files without a header line, and columns separated by runs of blanks: CDNOW's transaction log as it is
distributed (``tests/data/CDNOW_sample.txt``: `` 00004 0001 19970101  2   29.33``, no header, CRLF).

``header: false`` names the columns by their position (1 for the first); ``sep`` is detected as runs of
blanks when the first lines hold no other separator. Both loaders read such files line for line (problem rows
keep the file's line numbers); ``custrel init`` proposes the positions from the values; a file read with a
header it does not have gets a message that says so.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import load_config, parse_config
from custrel_lib.exceptions import ConfigError, MissingColumnError
from custrel_lib.flame.rfm import rfm_summary
from custrel_lib.io.load import load_tables

DATA = Path(__file__).parent / "data"
CDNOW = DATA / "CDNOW_sample.txt"
LOADERS = pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])


def _config(folder: Path, path: Path | str, **table) -> Path:
    table = {"path": str(path), **table}
    lines = ["tables:", "  transactions:"] + [f"    {k}: {v}" for k, v in table.items()]
    (folder / "custrel.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder / "custrel.yml"


def _tx(result) -> pd.DataFrame:
    tx = result.tables["transactions"]
    tx = tx if isinstance(tx, pd.DataFrame) else tx.execute()
    return tx.sort_values(["customer_id", "date", "amount"], kind="stable").reset_index(drop=True)


def _reference() -> pd.DataFrame:
    """CDNOW read by pandas' own whitespace reader, independently of custrel's loaders."""
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, dtype=str)
    return pd.DataFrame(
        {
            "customer_id": raw[1],
            "date": pd.to_datetime(raw[2], format="%Y%m%d"),
            "amount": raw[4].astype(float),
        }
    )


@LOADERS
def test_cdnow_log_reads_as_distributed(tmp_path, engine):
    config = _config(tmp_path, CDNOW, header="false", columns="{customer_id: 2, date: 3, amount: 5}")
    result = load_tables(config, engine=engine)
    tx = _tx(result)
    ref = _reference().sort_values(["customer_id", "date", "amount"], kind="stable").reset_index(drop=True)
    assert result.problems.counts["transactions"] == {"read": 6919, "kept": 6919, "rejected": 0}
    pd.testing.assert_frame_equal(
        tx[["customer_id", "date", "amount"]].astype({"customer_id": str}),
        ref,
        check_dtype=False,
    )
    assert tx["customer_id"].nunique() == 2357  # the summaries' 2,357 customers (tests/data/README.md)
    # Rows repeating an earlier one are flagged at their line in the file: the line above holds the same row.
    lines = CDNOW.read_text(encoding="ascii").splitlines()
    flagged = result.problems.rows.query("reason == 'duplicate_row'")
    assert len(flagged) > 0
    for row in flagged["row"].astype(int):
        assert lines[row - 1].split() in [ln.split() for ln in lines[: row - 1]], row


def test_cdnow_loaded_rebuilds_the_published_summaries(tmp_path):
    """Truth: the 39-week calibration summaries of Fader, Hardie & Lee (2005), as lifetimes ships them, rebuilt
    from the transactions custrel loaded (frequency exactly; recency and T to the published 2 decimals)."""
    config = _config(tmp_path, CDNOW, header="false", columns="{customer_id: 2, date: 3, amount: 5}")
    tx = _tx(load_tables(config, engine=True))
    tx["customer_id"] = tx["customer_id"].astype(str).str.lstrip("0")
    summary = rfm_summary(
        tx, "1998-06-30", calibration_end="1997-09-30", unit="weeks", include_zero=True
    ).set_index("customer_id")
    published = pd.read_csv(DATA / "cdnow_customers_summary.csv").assign(ID=lambda d: d["ID"].astype(str))
    published = published.set_index("ID").loc[summary.index.astype(str)]
    assert len(summary) == 2357
    for column, tolerance in (("frequency", 0), ("recency", 0.006), ("T", 0.006)):
        gap = abs(summary[column].to_numpy(float) - published[column].to_numpy(float)).max()
        assert gap <= tolerance, (column, gap)


@LOADERS
def test_blank_separated_file_with_a_bad_line_and_a_blank_line(tmp_path, engine):
    """``sep: whitespace``: a tab between fields is a blank too (detection would take the tab for the
    separator); a line with a missing field is rejected at its line; a blank line is skipped; the rows after
    them keep their own line numbers."""
    text = (
        " 001  2024-01-05   12.50\r\n"
        "002\t2024-01-06 7\r\n"
        "003 2024-02-01\r\n"  # line 3: two fields
        "\r\n"  # line 4: blank
        "  001   2024-03-01   8.25  \r\n"
        "004 2024-02-15 notanumber\r\n"  # line 6
    )
    (tmp_path / "log.txt").write_text(text, encoding="utf-8-sig", newline="")  # with a BOM, as Windows writes
    config = _config(
        tmp_path, "log.txt", header="false", sep="whitespace", columns="{customer_id: 1, date: 2, amount: 3}"
    )
    result = load_tables(config, engine=engine)
    tx = _tx(result)
    assert tx[["customer_id", "amount"]].values.tolist() == [["001", 12.5], ["001", 8.25], ["002", 7.0]]
    rows = result.problems.rows.sort_values("row")
    assert rows[["row", "reason"]].values.tolist() == [[3, "malformed_line"], [6, "non_numeric_amount"]]
    assert result.problems.counts["transactions"] == {"read": 5, "kept": 3, "rejected": 2}


@LOADERS
def test_comma_file_without_header_below_a_title(tmp_path, engine):
    (tmp_path / "export.csv").write_text(
        "Export 2024\nC1,05/01/2024,12.5\nC2,06/01/2024,xx\nC1,07/02/2024,3\n", encoding="utf-8"
    )
    config = _config(
        tmp_path, "export.csv", header="false", skip_rows=1, columns='{customer_id: "1", date: 2, amount: 3}'
    )
    result = load_tables(config, engine=engine)
    assert _tx(result)["amount"].tolist() == [12.5, 3.0]
    assert result.problems.rows[["row", "reason"]].values.tolist() == [[3, "non_numeric_amount"]]


def test_xlsx_without_header(tmp_path):
    frame = pd.DataFrame({"a": ["C1", "C2"], "b": ["2024-01-05", "2024-01-06"], "c": [12.5, 7.0]})
    frame.to_excel(tmp_path / "sheet.xlsx", header=False, index=False)
    config = _config(tmp_path, "sheet.xlsx", header="false", columns="{customer_id: 1, date: 2, amount: 3}")
    result = load_tables(config)
    assert _tx(result)["amount"].tolist() == [12.5, 7.0]
    assert result.problems.counts["transactions"] == {"read": 2, "kept": 2, "rejected": 0}


def test_header_and_positions_are_checked():
    def parse(**table):
        return parse_config({"tables": {"transactions": {"path": "t.csv", **table}}}, base_dir=Path("."))

    spec = parse(header=False, columns={"customer_id": 2, "date": "3", "amount": 5}, sep="whitespace")
    tx = spec.tables["transactions"]
    assert (tx.header, tx.columns, tx.sep) == (False, {"customer_id": "2", "date": "3", "amount": "5"}, " ")
    with pytest.raises(ConfigError, match=r"columns\.date.*column position"):
        parse(header=False, columns={"date": "Date"})
    with pytest.raises(ConfigError, match=r"header.*true or false"):
        parse(header="no")
    with pytest.raises(ConfigError, match="header"):
        parse_config({"tables": {"transactions": {"path": "t.parquet", "header": False}}}, base_dir=Path("."))


def test_a_file_without_header_read_with_one_says_so(tmp_path):
    config = _config(tmp_path, CDNOW)
    with pytest.raises(MissingColumnError, match=r"line 1 holds values, not column names.*header: false"):
        load_tables(config)


def test_init_proposes_positions_that_load_cdnow(tmp_path):
    (tmp_path / CDNOW.name).write_bytes(CDNOW.read_bytes())
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / CDNOW.name), "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "header: false" in text and "columns: {customer_id: 1, date: 3, amount: 5}" in text, text
    assert "# currency:" in text  # no sign in the amounts: said, not guessed
    loaded = load_tables(load_config(out))
    assert loaded.problems.counts["transactions"]["kept"] == 6919
    assert _tx(loaded)["customer_id"].nunique() == 2357  # the master-file id: one per customer too
