"""Workbooks other than .xlsx: a legacy Excel ``.xls`` (Tableau's "Sample - Superstore" is distributed so) and a
LibreOffice ``.ods``, each with real date cells, read by ``custrel init`` and the loader as the same rows written
as a CSV (``tests/data/superstore_shape.*``, written by ``tests/data/make_workbooks.py``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import load_config
from custrel_lib.io.load import load_tables

DATA = Path(__file__).parent / "data"


def _init(tmp_path: Path, name: str) -> Path:
    shutil.copy(DATA / name, tmp_path / name)
    out = tmp_path / f"{name}.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / name), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("suffix", ["xls", "ods"])
def test_a_legacy_excel_or_libreoffice_workbook_reads_as_its_csv(tmp_path, suffix):
    book = _init(tmp_path, f"superstore_shape.{suffix}")
    csv = _init(tmp_path, "superstore_shape.csv")
    spec, truth_spec = load_config(book).tables["transactions"], load_config(csv).tables["transactions"]
    assert spec.format == "xlsx" and spec.columns == truth_spec.columns and spec.order_lines
    got, truth = load_tables(book), load_tables(csv)
    pd.testing.assert_frame_equal(got.tables["transactions"], truth.tables["transactions"])
    assert got.problems.counts["transactions"]["read"] == 297
    raw = pd.read_csv(DATA / "superstore_shape.csv")
    assert got.tables["transactions"]["amount"].sum() == pytest.approx(raw["Sales"].sum())
    assert len(got.tables["transactions"]) == raw["Order ID"].nunique()  # an order's lines, one purchase


def test_an_unknown_format_says_what_custrel_reads(tmp_path):
    (tmp_path / "ventes.numbers").write_bytes(b"PK")
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "ventes.numbers"), "--out", str(tmp_path / "c.yml")]
    )
    assert result.exit_code == 1
    assert "custrel reads csv, txt, tsv, parquet and workbooks (xlsx, xlsm, xls, xlsb, ods)" in result.output
