"""``custrel init`` reads the first rows of each file (:func:`read_head`) and of each sheet of a workbook
(:func:`init_items`), as the loaders read them, for :mod:`custrel_lib.io.starter` to guess from."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from custrel_lib.config import FORMATS, TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import TABLES, WHITESPACE_SEP

#: How many rows of each file the guesses read.
HEAD_ROWS = 2000


def read_head(path: Path, skip_rows: int = 0, header: bool = True, sheet=None) -> tuple[pd.DataFrame, int]:
    """The first :data:`HEAD_ROWS` rows of a file (of a workbook's ``sheet``, else its first), as text, and the
    lines above its header (``sep=`` included); without ``header``, the columns are named by their position."""
    from custrel_lib.io.csv_lines import with_excel_sep
    from custrel_lib.io.dialect import csv_dialect
    from custrel_lib.io.readers import excel_engine

    fmt = FORMATS.get(path.suffix.lower())
    if not path.is_file():
        raise DataContractError(f"{path}: file not found.")
    if fmt is None:
        raise DataContractError(
            f"{path}: cannot tell the format of {path.name}; custrel reads csv, txt, tsv, parquet and workbooks "
            "(xlsx, xlsm, xls, xlsb, ods)."
        )
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            batch = next(pq.ParquetFile(path).iter_batches(batch_size=HEAD_ROWS), None)
            return (batch.to_pandas() if batch is not None else pd.read_parquet(path)), 0
        if fmt == "xlsx":
            df = pd.read_excel(
                path,
                dtype=object,
                nrows=HEAD_ROWS,
                skiprows=skip_rows,
                header=0 if header else None,
                engine=excel_engine(),
                sheet_name=0 if sheet is None else sheet,
            )
            return _positions(df, header), skip_rows
        spec = with_excel_sep(TableSpec(name="transactions", path=path, format="csv", skip_rows=skip_rows))
        encoding, sep = csv_dialect(spec)
        df = pd.read_csv(
            path,
            sep=r"\s+" if sep == WHITESPACE_SEP else sep,
            header="infer" if header else None,
            encoding="utf-8-sig" if encoding == "utf-8" else encoding,
            dtype=str,
            keep_default_na=False,
            nrows=HEAD_ROWS,
            skiprows=spec.skip_rows,
            on_bad_lines="skip",
        )
        return _positions(df, header), spec.skip_rows
    except (OSError, ValueError, UnicodeError) as exc:
        raise DataContractError(f"Cannot read {path} as {fmt}: {type(exc).__name__}: {exc}") from exc


def _positions(df: pd.DataFrame, header: bool) -> pd.DataFrame:
    if not header:
        df.columns = [str(i) for i in range(1, df.shape[1] + 1)]
    return df


def sheet_names(path: Path) -> list[str]:
    from custrel_lib.io.readers import excel_engine

    return [str(n) for n in pd.ExcelFile(path, engine=excel_engine()).sheet_names]


def init_items(files: Sequence[str]) -> list[tuple[str | None, Path, str | None]]:
    """``custrel init``'s arguments as (table or None, path, sheet or None): ``TABLE=PATH`` names the table; a
    workbook of several sheets, its table not named, is one item per sheet (a sheet of sales, one of customers);
    a folder, its files (:func:`folder_files`)."""
    items = []
    for item in files:
        table, _, given = item.partition("=") if item.partition("=")[0] in TABLES else ("", "", item)
        for path in folder_files(Path(given)):
            items += _sheet_items(table, path)
    seen: set = set()  # a file named twice (custrel init data/ data/ventes.csv) is read once
    return [i for i in items if not ((i[1].resolve(), i[2]) in seen or seen.add((i[1].resolve(), i[2])))]


def folder_files(path: Path) -> list[Path]:
    """A folder's files that custrel reads (by their suffix, in name order; not its sub-folders, nor Excel's
    ``~$`` lock files), as ``custrel init data/`` reads them; any other path as it is."""
    if not path.is_dir():
        return [path]
    files = sorted(
        (f for f in path.iterdir() if f.is_file() and not f.name.startswith(("~$", "."))),
        key=lambda f: f.name.casefold(),
    )
    read = [f for f in files if f.suffix.lower() in FORMATS]
    if not read:
        held = ", ".join(f.name for f in files[:8]) + (", ..." if len(files) > 8 else "") or "nothing"
        raise DataContractError(
            f"{path}: a folder without a file custrel reads ({', '.join(sorted(FORMATS))}); it holds: {held}."
        )
    return read


def _sheet_items(table: str, path: Path) -> list[tuple[str | None, Path, str | None]]:
    """One item per sheet of a workbook of several sheets whose table is not named, else one for the file."""
    book = FORMATS.get(path.suffix.lower()) == "xlsx"
    sheets = sheet_names(path) if book and not table and path.is_file() else []
    return [(None, path, s) for s in sheets] if len(sheets) > 1 else [(table or None, path, None)]
