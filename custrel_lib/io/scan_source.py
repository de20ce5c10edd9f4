"""The engine loader's reading of a file (:mod:`custrel_lib.io.scan`): a relation of its rows with ``__row``, the
row a user sees. Parquet is read in place; CSV once into a DuckDB table of text, DuckDB's reject table listing the
lines it cannot split (``malformed_line``). A header that names a column twice, or a file DuckDB cannot read, is
refused with the file's name, as the pandas loader refuses it (:mod:`custrel_lib.io.readers`)."""

from __future__ import annotations

from typing import Any

from custrel_lib.config import TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.csv_lines import blank_lines, check_csv_header, check_duplicate_columns, with_excel_sep
from custrel_lib.io.dialect import csv_dialect, duck_source
from custrel_lib.io.header import map_columns
from custrel_lib.io.parts import pieces
from custrel_lib.io.problems import FILE_STRIDE
from custrel_lib.io.scan_checks import PROBLEMS
from custrel_lib.io.scan_sql import lit


def read_sources(raw, name: str, spec: TableSpec, fmt: dict[str, Any], first: int = 0) -> tuple[str, int]:
    """:func:`read_source` of a table's file, or of each of its files (:func:`~custrel_lib.io.parts.pieces`, as the
    pandas loader reads them), their rows one after the other (numbered across them,
    :data:`~custrel_lib.io.problems.FILE_STRIDE`); each file must hold the table's columns. ``first``: the
    number of the first file (a later source of a table of several)."""
    parts = pieces(spec)
    if len(parts) == 1 and not first:
        return read_source(raw, name, with_excel_sep(parts[0][0]), fmt)
    relations, malformed = [], 0
    for k, (one, _) in enumerate(parts, start=first):
        one = with_excel_sep(one)
        rel, bad = read_source(raw, name, one, fmt, k)
        described = raw.sql(f"DESCRIBE SELECT * EXCLUDE (__row) FROM ({rel})").fetchall()
        map_columns(
            one, [str(r[0]).strip() for r in described]
        )  # a file without the table's columns is named
        relations.append(f"SELECT * FROM ({rel})")
        malformed += bad
    return " UNION ALL BY NAME ".join(relations), malformed


def raw_tables(name: str, spec: TableSpec, first: int = 0) -> list[str]:
    """The engine tables that hold the text of a table's CSV files (and of its ``join:`` files) while they are
    typed: :func:`read_source` names them (``first`` as for :func:`read_sources`)."""
    several = bool(spec.parts or first)
    files = [
        f"__custrel_raw_{name}" + (f"_{k}" if several else "") for k in range(first, first + len(spec.files))
    ]
    return files + [f"__custrel_raw_{name}_join{k}" for k in range(len(spec.joins))]


def read_source(
    raw, name: str, spec: TableSpec, fmt: dict[str, Any], part: int | None = None
) -> tuple[str, int]:
    """A relation of the file with a ``__row`` column (the row a user sees; of the ``part``-th file of a table of
    several, ``part * FILE_STRIDE`` more), and the count of malformed lines."""
    offset = (part or 0) * FILE_STRIDE
    if not spec.path.is_file():
        raise DataContractError(f"Table '{spec.name}': file not found: {spec.path}")
    fmt["format"] = spec.format
    path = lit(str(spec.path))
    if spec.format == "parquet":
        try:  # a corrupt file is said, with its name, as the pandas loader says it
            raw.execute(f"SELECT * FROM read_parquet({path}) LIMIT 0")
        except Exception as exc:  # duckdb.Error and its subclasses
            raise DataContractError(
                f"Cannot read {spec.path} as parquet: {type(exc).__name__}: {exc}"
            ) from exc
        import pyarrow.parquet as pq

        check_duplicate_columns(spec, pq.read_schema(spec.path).names, "schema")  # DuckDB would rename one
        return (
            f"SELECT * EXCLUDE (file_row_number), file_row_number + {1 + offset} AS __row "
            f"FROM read_parquet({path}, file_row_number = true)",
            0,
        )
    if spec.format != "csv":
        raise DataContractError(f"Table '{name}': the engine reads CSV and Parquet, not {spec.format}.")
    encoding, sep = csv_dialect(spec)
    fmt.update(encoding=encoding, sep=sep)
    check_csv_header(spec, encoding, sep)  # a column used twice: DuckDB would rename one (amount_1)
    tag = "" if part is None else f"_{part}"
    table, rejects = f"__custrel_raw_{name}{tag}", f"__custrel_rejects_{name}{tag}"
    # DuckDB reads UTF-8 and latin-1 only, one character between fields: a cp1252 (French Excel) or UTF-16 file,
    # or columns separated by runs of blanks, are read from a UTF-8 copy, as the pandas loader does.
    try:
        with duck_source(spec, encoding, sep) as source:
            # A table keeps the file's order: its rowid is the index of the line among the lines read.
            raw.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv({lit(str(source.path))}, "
                f"{source.options()}, store_rejects = true, rejects_table = '{rejects}', "
                f"rejects_scan = '{rejects}_scan', ignore_errors = true, auto_detect = true)"
            )
            blank = blank_lines(source.path, source.delim)  # skipped by DuckDB: later rows keep their line
    except Exception as exc:  # duckdb.Error and its subclasses
        if isinstance(exc, DataContractError):
            raise
        raise DataContractError(f"Cannot read {spec.path} as CSV (sep {sep!r}, {encoding}): {exc}") from exc
    bad = raw.sql(f"SELECT count(DISTINCT line) FROM {rejects}").fetchall()[0][0]
    raw.execute(
        f"INSERT INTO {PROBLEMS} SELECT {lit(name)}, {lit(spec.path.name)}, line + {offset}, "
        "coalesce(column_name, ''), "
        f"'malformed_line', 'rejected', csv_line, error_message FROM (SELECT *, row_number() OVER "
        f"(PARTITION BY line ORDER BY column_idx) AS n FROM {rejects}) WHERE n = 1"
    )
    # Line of the i-th line read: i + 1 (1-based), + 1 below a header line, plus the lines above the header, and the
    # malformed and blank lines before it (DuckDB numbers a rejected line in the file, the lines skipped above the header
    # included), as the pandas loader numbers them.
    top = source.first
    taken = f"SELECT DISTINCT line FROM {rejects}"
    blank = blank[blank >= top]  # a blank line above the header (a title's) moves no row
    if len(blank):
        raw.execute(
            f"CREATE OR REPLACE TEMP TABLE {rejects}_blank AS SELECT unnest(?::BIGINT[]) AS line", [blank]
        )
        taken += f" UNION SELECT line FROM {rejects}_blank"
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {rejects}_shift AS SELECT c, max(j) AS j FROM (SELECT line - {top} - "
        f"(row_number() OVER (ORDER BY line) - 1) AS c, row_number() OVER (ORDER BY line) AS j FROM "
        f"({taken})) GROUP BY c"
    )
    rel = (
        f"SELECT r.*, r.rowid + {top + offset} + coalesce(s.j, 0) AS __row FROM {table} r "
        f"ASOF LEFT JOIN {rejects}_shift s ON r.rowid >= s.c"
        if bad or len(blank)
        else f"SELECT *, rowid + {top + offset} AS __row FROM {table}"
    )
    return rel, int(bad)
