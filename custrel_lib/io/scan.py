"""The engine path of the loader: files scanned by DuckDB where they lie, typed and checked in SQL.

:func:`scan_tables` gives the same tables and the same problems report as the pandas loader
(:func:`custrel_lib.io.load.load_tables`), without loading a table into pandas: Parquet files are read in place
(``read_parquet`` with the file's row number), CSV files are read once into a DuckDB table of text (DuckDB's
reject table lists the lines it cannot split). Every column is typed by a SQL expression, every check of the
data contract is a SQL query whose matching rows go to a problems table; the canonical tables are views that
leave out the rejected rows. Only the problem rows and the counts come back to Python.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import Any

import pandas as pd

from custrel_lib.config import CustrelConfig, TableSpec, load_config
from custrel_lib.engine import connect, memory_limit_bytes, spill_folder
from custrel_lib.io.contract import (
    END_REASONS,
    FALSE_VALUES,
    ORDER_LEVEL,
    PANDAS_DTYPES,
    SCHEMA,
    TABLES,
    TRUE_VALUES,
    is_constant,
)
from custrel_lib.io.csv_lines import with_excel_sep
from custrel_lib.io.exclude import leave_out_sql
from custrel_lib.io.header import map_columns
from custrel_lib.io.joins import join_sql
from custrel_lib.io.keys import order_lines_note
from custrel_lib.io.parts import first_formats, numbered_sources, pieces
from custrel_lib.io.problems import COLUMNS, FILE_STRIDE, LEVELS, LISTED, ProblemsReport, split_files
from custrel_lib.io.readers import choose_date_format
from custrel_lib.io.scan_checks import (
    CONTRACT_ORDER,
    END_REASON,
    FOLD,
    PROBLEMS,
    cross_checks,
    in_list,
    kept,
    problem_list,
    rejected,
)
from custrel_lib.io.scan_source import raw_tables, read_sources
from custrel_lib.io.scan_sql import CONSTANT, TypedTable, lit, typed_table
from custrel_lib.io.writing import SAMPLE_SIZE, decimal_mark, id_writing
from custrel_lib.progress import Steps


def _sample(raw, rel: str, expr: str) -> pd.Series:
    """The first :data:`SAMPLE_SIZE` non-empty values of ``expr`` (as the pandas loader samples them to detect
    a format)."""
    rows = raw.sql(
        f"SELECT v FROM (SELECT {expr} AS v FROM ({rel})) WHERE v IS NOT NULL LIMIT {SAMPLE_SIZE}"
    ).fetchall()
    return pd.Series([r[0] for r in rows], dtype="string")


def _spread(raw, rel: str, expr: str) -> pd.Series:
    """The values :func:`custrel_lib.io.readers.spread` takes from the same column, spread over the file (a
    sort of the column: asked only when the first values leave two date formats tied)."""
    rows = raw.sql(
        f"SELECT v FROM (SELECT v, n, count(*) OVER () AS total FROM (SELECT {expr} AS v, "
        f"row_number() OVER (ORDER BY __row) AS n FROM ({rel}) WHERE {expr} IS NOT NULL)) "
        # position p = n - 1 is some i (total - 1) // (S - 1) when the smallest such i maps back onto p
        f"WHERE total <= {SAMPLE_SIZE} OR ((((n - 1) * {SAMPLE_SIZE - 1} + total - 2) // (total - 1)) "
        f"* (total - 1)) // {SAMPLE_SIZE - 1} = n - 1 ORDER BY n"
    ).fetchall()
    return pd.Series([r[0] for r in rows], dtype="string")


def _detect(raw, rel: str, kind: str, expr: str, spec: TableSpec) -> str | None:
    """The date format or the decimal separator of a text column, from a sample, as the pandas loader does."""
    if kind == "id":  # ids written as decimals, 17850.0, or e-mail addresses (writing.id_writing)
        return id_writing(_sample(raw, rel, expr))
    if kind == "date":
        return spec.date_format or choose_date_format(
            _sample(raw, rel, expr), lambda: _spread(raw, rel, expr)
        )
    if spec.decimal is not None:
        return spec.decimal
    return decimal_mark(_sample(raw, rel, expr))


def _stage(raw, name: str, spec: TableSpec, fmt: dict[str, Any]) -> TypedTable:
    """Type and check a table into ``__custrel_typed_<name>``; a table of several sources (``spec.sources``),
    each with its own columns and formats, one after the other, its rows numbered after the previous files."""
    if not spec.sources:
        return _stage_source(raw, name, spec, fmt)
    staged = [_stage_source(raw, name, s, one, first) for s, first, one in numbered_sources(spec, fmt)]
    first_formats(fmt)
    # Each source is typed and checked already; what the rest of the load reads is its counts.
    return dataclasses.replace(
        staged[0], malformed=sum(t.malformed for t in staged), excluded=sum(t.excluded for t in staged)
    )


def _stage_source(raw, name: str, spec: TableSpec, fmt: dict[str, Any], first: int = 0) -> TypedTable:
    spec = spec if spec.parts else with_excel_sep(spec)  # a first line sep=; (each file's, of several)
    rel, malformed = read_sources(raw, name, spec, fmt, first)
    rel = (
        join_sql(raw, name, spec, rel, fmt) if spec.joins else rel
    )  # columns of other files, by a shared key
    described = raw.sql(f"DESCRIBE SELECT * EXCLUDE (__row) FROM ({rel})").fetchall()
    types = {str(r[0]).strip(): (str(r[0]), str(r[1])) for r in described}
    rel, excluded = leave_out_sql(raw, spec, rel, [str(r[0]) for r in described], PROBLEMS)  # exclude:
    mapping = map_columns(spec, list(types))
    sources = {c: (user, CONSTANT) if is_constant(user) else types[user] for c, user in mapping.items()}
    typed = typed_table(
        name,
        spec,
        rel,
        sources,
        lambda kind, expr: _detect(raw, rel, kind, expr, spec),
        fmt,
        TRUE_VALUES,
        FALSE_VALUES,
    )
    typed.malformed, typed.excluded = malformed, excluded
    _materialize(raw, name, spec.path.name, typed, first)
    for table in raw_tables(name, spec, first):  # the files' text, typed now
        raw.execute(f"DROP TABLE IF EXISTS {table}")
    return typed


def _materialize(raw, name: str, file: str, typed: TypedTable, first: int = 0) -> None:
    """The typed table, computed once: one scan of the file types every column and runs every row-level check.

    Text trimming and parsing are the costly part of reading a file; the checks across rows and the analyses
    then read this engine table (in memory, spilled to the temporary directory beyond the memory limit)
    instead of parsing the file again. The row's problems travel in ``__p`` (NULL for a clean row).
    """
    columns = ", ".join(["__row", *SCHEMA[name]])
    problems = "CAST(NULL AS VARCHAR[])"
    if typed.checks:
        items, where = problem_list(typed.checks)
        problems = f"CASE WHEN {where} THEN {items} END"
    # A later source of a table of several (``first``, its first file's number) adds its rows to the table.
    into = "INSERT INTO" if first else "CREATE OR REPLACE TEMP TABLE"
    raw.execute(
        f"{into} __custrel_typed_{name} {'' if first else 'AS '}SELECT {columns}, {problems} AS __p FROM ({typed.select})"
    )
    if typed.checks:
        since = f"AND __row >= {first * FILE_STRIDE}" if first else ""  # this source's rows only
        raw.execute(
            f"INSERT INTO {PROBLEMS} SELECT {lit(name)}, {lit(file)}, __row, p.c, p.r, p.a, p.v, p.m FROM "
            f"(SELECT __row, unnest(__p) AS p FROM __custrel_typed_{name} WHERE __p IS NOT NULL {since}) "
            "ORDER BY __row"
        )


def _repaired(name: str) -> dict[str, str]:
    """The values the checks repair: emptied or normalised in the kept table."""
    if name == "customers":
        return {
            "end_reason": f"CASE WHEN {END_REASON} IN ({in_list(END_REASONS)}) THEN {END_REASON} END",
            **{
                c: f"CASE WHEN {CONTRACT_ORDER} THEN NULL ELSE {c} END"
                for c in ("contract_start", "contract_end")
            },
        }
    if name == "interactions":
        return {
            "type": FOLD,
            "score": f"CASE WHEN {FOLD} = 'nps' AND NOT (score BETWEEN 0 AND 10) THEN NULL ELSE score END",
        }
    return {}


def _views(raw, name: str, order_lines: bool = False) -> str:
    """The kept rows of ``name`` as a view (``__row`` kept for ordering); returns the view's name.

    ``order_lines``: one row per order, as :func:`custrel_lib.io.keys.merge_order_lines` builds it."""
    columns = ", ".join(f"{_repaired(name).get(c, c)} AS {c}" for c in SCHEMA[name])
    view = f"__custrel_rows_{name}"
    rows = f"SELECT __row, {columns} FROM __custrel_typed_{name} WHERE {kept(name)}"
    if order_lines:
        merged = {
            "date": "min(date)",
            "amount": "round(sum(amount), 6)",
            "category": "arg_min(category, (-amount, __row))",
        }
        picks = ", ".join(
            f"{merged.get(c, f'arg_min({c}, __row)')} AS {c}" for c in SCHEMA[name] if c != "order_id"
        )
        names = ", ".join(c for c in SCHEMA[name] if c != "order_id")
        rows = (
            f"SELECT min(__row) AS __row, {picks}, order_id FROM ({rows}) WHERE order_id IS NOT NULL "
            f"GROUP BY order_id UNION ALL SELECT __row, {names}, order_id FROM ({rows}) WHERE order_id IS NULL"
        )
        rows = f"SELECT __row, {', '.join(SCHEMA[name])} FROM ({rows})"
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {rows}")
    raw.execute(f"CREATE OR REPLACE TEMP VIEW custrel_{name} AS SELECT * EXCLUDE (__row) FROM {view}")
    return view


#: Above this share of DuckDB's memory limit, the loaded tables are written to Parquet (:func:`_persist`).
#: Measured with ``custrel stages`` within 2GB (benchmarks/README.md): at 3M customers the typed tables held
#: 2.5 GB (1.8 in memory, the rest spilled), and persisting them took 259 and 276 s against 284-290 s; at 1M
#: they held 0.94 GB, and it made no difference (75.4 and 78.9 s against 75.5-84.1 s): the threshold lies between.
HEAVY_SHARE = 0.5


def _heavy(con) -> bool:
    """Whether the typed tables hold more than :data:`HEAVY_SHARE` of DuckDB's memory limit (in memory or
    spilled to disk)."""
    limit = memory_limit_bytes(con)
    held = con.con.sql(
        "SELECT coalesce(sum(memory_usage_bytes + temporary_storage_bytes), 0) FROM duckdb_memory() "
        "WHERE tag = 'IN_MEMORY_TABLE'"
    ).fetchall()[0][0]
    return bool(limit) and held > HEAVY_SHARE * limit


def _persist(con, views: dict[str, str]) -> None:
    """Write the kept rows of each table to Parquet in a temporary folder (the connection's spill folder, else a
    new folder in DuckDB's ``temp_directory``, removed with the connection), point the views at the files and
    drop the typed tables: their memory goes to the analyses, which then read compressed columns from disk."""
    raw = con.con
    folder = spill_folder(con)
    if folder is None:  # where DuckDB spills, unless that is its default (".tmp" in the working folder)
        spill = raw.sql("SELECT current_setting('temp_directory')").fetchall()[0][0]
        base = Path(spill) if spill and spill != ".tmp" else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="custrel-tables-", dir=base))
        weakref.finalize(con, shutil.rmtree, folder, ignore_errors=True)
    stem = uuid.uuid4().hex  # a second load on the same connection writes new files
    for name, view in views.items():
        path = lit(str(Path(folder) / f"custrel_{name}-{stem}.parquet"))
        raw.execute(f"COPY (SELECT * FROM {view}) TO {path} (FORMAT parquet)")
        raw.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM read_parquet({path})")
        raw.execute(f"DROP TABLE IF EXISTS __custrel_typed_{name}")


def _as_of(raw, config: CustrelConfig, as_of) -> pd.Timestamp:
    as_of = as_of or config.analysis.get("as_of")
    if as_of:
        return pd.Timestamp(as_of).normalize()
    last = raw.sql(
        f"SELECT max(date) FROM __custrel_typed_transactions WHERE {kept('transactions')}"
    ).fetchall()[0][0]
    today = pd.Timestamp.today().normalize()  # never after today: a transaction dated later is an error
    return min(pd.Timestamp(last).normalize(), today) if last is not None else today


_KIND = '"table", action, reason, "column"'


def _totals(raw) -> tuple[pd.DataFrame | None, int | None]:
    """Distinct problem rows per level of :data:`~custrel_lib.io.problems.LEVELS`, counted in the engine, and
    the problem rows in all, when a kind of problem has more than :data:`~custrel_lib.io.problems.LISTED` rows
    (only the first of each kind are then listed); ``(None, None)`` otherwise: every problem row comes back."""
    most, n = raw.sql(
        f"SELECT coalesce(max(n), 0), coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {PROBLEMS} "
        f"GROUP BY {_KIND})"
    ).fetchall()[0]
    if most <= LISTED:
        return None, None
    frames = []
    for level, keys in LEVELS.items():
        by = ", ".join(f'"{k}"' for k in keys)
        frames.append(
            raw.sql(
                f"SELECT {by}, count(DISTINCT (file, row)) AS rows FROM {PROBLEMS} GROUP BY {by} ORDER BY {by}"
            )
            .df()
            .assign(level=level)
        )
    totals = pd.concat(frames, ignore_index=True)
    return totals.astype({"rows": "int64"}), int(n)


def _problems(raw, config: CustrelConfig, staged: dict[str, TypedTable]) -> ProblemsReport:
    problems = ProblemsReport(max_rejected_share=float(config.analysis.get("max_rejected_share", 0.5)))
    problems.totals, problems.n_rows = _totals(raw)
    listed = f"QUALIFY row_number() OVER (PARTITION BY {_KIND} ORDER BY row) <= {LISTED}"
    rows = raw.sql(
        f'SELECT * FROM {PROBLEMS} {listed if problems.totals is not None else ""} ORDER BY "table", row, "column"'
    ).df()
    if len(rows):
        rows["row"] = rows["row"].astype("int64")
        rows["value"] = rows["value"].astype("string")
        problems.add(rows)
    for name, typed in staged.items():
        read = raw.sql(f"SELECT count(*) FROM __custrel_typed_{name}").fetchall()[0][0] + typed.malformed
        n_rejected = raw.sql(f"SELECT count(DISTINCT row) FROM {rejected(name)}").fetchall()[0][0]
        excluded = typed.excluded if config.tables[name].leaves_out else None
        problems.set_counts(name, int(read + typed.excluded), int(read - n_rejected), excluded)
    problems.rows = problems.rows.reset_index(drop=True)
    return problems


def scan_tables(
    config: CustrelConfig | str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    con=None,
    progress: bool = False,
):
    """Load, type and check the tables of ``config`` in DuckDB; the tables stay there as Ibis tables.

    Parameters
    ----------
    config : CustrelConfig or path
        As for :func:`custrel_lib.io.load.load_tables`; tables in CSV or Parquet (XLSX: use the pandas loader).
    as_of : date-like, optional
        The extraction date (default: the config's, else the last valid transaction date).
    con : Ibis DuckDB backend, optional
        The connection to work in (default: a new in-process one). The views ``custrel_transactions``,
        ``custrel_customers`` and ``custrel_interactions`` are created in it.
    progress : bool
        Show a progress bar over the steps.

    Returns
    -------
    LoadResult
        ``tables`` are Ibis tables on ``con`` (``result.con``); ``to_pandas()`` materialises them.
    """

    from custrel_lib.io.load import LoadResult

    if not isinstance(config, CustrelConfig):
        config = load_config(config)
    con = connect("duckdb") if con is None else con
    raw = con.con
    names = [n for n in TABLES if config.tables.get(n) is not None]
    steps = Steps(["read " + n for n in names] + ["checks", "report"], "load", progress)
    raw.execute(f"CREATE OR REPLACE TEMP TABLE {PROBLEMS} ({', '.join(_PROBLEM_TYPES)})")
    formats: dict[str, dict[str, Any]] = {}
    staged: dict[str, TypedTable] = {}
    for name in names:
        formats[name] = {}
        staged[name] = _stage(raw, name, config.tables[name], formats[name])
        staged[name].file = config.tables[name].path.name
        steps.done()
    as_of_ts = _as_of(raw, config, as_of)
    lines = config.tables["transactions"].order_lines
    cross_checks(raw, staged, as_of_ts, order_lines=lines)
    steps.done()
    problems = _problems(raw, config, staged)
    for name in staged:  # a table of several files: each problem row's file, and its row there
        split_files(problems, name, [label for _, label in pieces(config.tables[name])])
    views = {name: _views(raw, name, lines and name == "transactions") for name in staged}
    if lines:
        blank = ", ".join(f"count(order_id) FILTER (WHERE {c} IS NULL)" for c in ORDER_LEVEL)
        counts = raw.sql(
            f"SELECT count(order_id), count(DISTINCT order_id), {blank} FROM __custrel_typed_transactions "
            f"WHERE {kept('transactions')}"
        ).fetchall()[0]
        formats["transactions"]["order_lines"] = order_lines_note(*counts)
    if _heavy(con):
        _persist(con, views)
    steps.done()
    steps.close()
    tables = {name: con.table(f"custrel_{name}") for name in staged}
    return LoadResult(
        tables=tables,
        problems=problems,
        as_of=as_of_ts,
        sources={n: config.tables[n].path for n in staged},
        formats=formats,
        con=con,
        views=views,
    )


_PROBLEM_TYPES = [f'"{c}" {"BIGINT" if c == "row" else "VARCHAR"}' for c in COLUMNS]


def table_to_pandas(result, name: str) -> pd.DataFrame:
    """A kept table of an engine load as the pandas loader returns it (file order, canonical dtypes)."""
    raw = result.con.con
    df = raw.sql(f"SELECT * EXCLUDE (__row) FROM {result.views[name]} ORDER BY __row").df()
    for column, (kind, _) in SCHEMA[name].items():
        df[column] = df[column].astype(PANDAS_DTYPES[kind])
    return df
