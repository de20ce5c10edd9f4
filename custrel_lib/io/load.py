"""Load the three tables of the data contract from CSV, Parquet or XLSX, with a problems report.

Two paths give the same tables and the same report. :func:`load_tables` reads into pandas (small files, XLSX,
every quirk of a hand-made export); ``engine=True`` (or a file above :data:`ENGINE_BYTES`) scans the files
where they lie in DuckDB and runs every check there (:mod:`custrel_lib.io.scan`): the tables stay engine
tables and only the problem rows come back. Every row that fails a check is reported with its file, row
number (the line a spreadsheet user sees: header = 1, first data row = 2; for Parquet the 1-based row),
column, reason and raw value. Rows read = rows kept + rows rejected, per table, always (asserted).

See ``docs/data_contract.md`` for the contract, the configuration and the list of reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.config import FORMATS, CustrelConfig, TableSpec, load_config
from custrel_lib.io.contract import (
    AMOUNT_PARTS,
    DECIMAL_ID_STRIP,
    EARLIEST_DATE,
    NOTE,
    ORDER_LEVEL,
    SCHEMA,
    TABLES,
    empty_message,
    is_constant,
    out_of_range_message,
    unreadable_date,
)
from custrel_lib.io.csv_lines import with_excel_sep
from custrel_lib.io.exclude import leave_out
from custrel_lib.io.header import map_columns
from custrel_lib.io.joins import join_frame
from custrel_lib.io.keys import (
    NOT_IN_CUSTOMERS,
    merge_order_lines,
    zeros_hint,
)
from custrel_lib.io.parts import first_formats, numbered_sources, pieces, read_parts
from custrel_lib.io.problems import ProblemsReport, split_files
from custrel_lib.io.readers import clean_text, is_date, to_bool, to_date, to_number
from custrel_lib.io.table_checks import check_customers, check_interactions, check_transactions
from custrel_lib.io.writing import id_writing

#: Above this total input size (bytes), ``load_tables(engine=None)`` takes the engine path.
ENGINE_BYTES = 200 * 1024 * 1024
PARQUET_WEIGHT = 5  # measured: the benchmark transactions as CSV are 5.5 times their Parquet file


@dataclass
class LoadResult:
    """The canonical tables, the problems report, the extraction date and what was detected.

    ``tables`` are pandas DataFrames, or Ibis tables on ``con`` (a DuckDB connection) on the engine path.
    """

    tables: dict[str, Any]
    problems: ProblemsReport
    as_of: pd.Timestamp
    sources: dict[str, Path] = field(default_factory=dict)
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)
    con: Any = None
    views: dict[str, str] = field(default_factory=dict)

    @property
    def purchases(self) -> int:
        """The purchases of the kept transactions: each kept row, or with ``order_lines: true`` an order per
        order id of the kept lines and each kept row without one."""
        kept = self.problems.counts["transactions"]["kept"]
        note = self.formats.get("transactions", {}).get("order_lines")
        return kept - note["lines"] + note["orders"] if note else kept

    def to_pandas(self) -> dict[str, pd.DataFrame]:
        """The tables as pandas DataFrames (materialised from the engine when they live there)."""
        from custrel_lib.io.scan import table_to_pandas

        return {
            k: v if isinstance(v, pd.DataFrame) else table_to_pandas(self, k) for k, v in self.tables.items()
        }


# --- one table ----------------------------------------------------------------------------------------------


class _Table:
    """Collects the problems of one table while its columns are coerced."""

    def __init__(self, name: str, spec: TableSpec, rows: np.ndarray):
        self.name, self.spec = name, spec
        self.file = spec.path.name
        self.rows = pd.Series(rows, dtype="int64")
        self.reject = pd.Series(False, index=self.rows.index)
        self.frames: list[pd.DataFrame] = []
        self.excluded = 0  # rows left out by exclude: in custrel.yml, before any check
        self.constants: set[str] = (
            set()
        )  # columns mapped to a constant (=nps, amounts: false): no format to report

    def report(
        self, mask: pd.Series, column: str, reason: str, action: str, values: pd.Series, message: str
    ) -> None:
        mask = mask.fillna(False).astype(bool)
        if action == "rejected":
            # A row already rejected for another reason is reported once per reason, counted once.
            self.reject |= mask
        if not mask.any():
            return
        self.frames.append(
            pd.DataFrame(
                {
                    "table": self.name,
                    "file": self.file,
                    "row": self.rows[mask].to_numpy(),
                    "column": column,
                    "reason": reason,
                    "action": action,
                    "value": values[mask].astype("string").to_numpy(),
                    "message": message,
                }
            )
        )


def _map_columns(name: str, spec: TableSpec, df: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """The contract's columns of ``df``, and those of them mapped to a constant."""
    df = df.rename(columns=lambda c: str(c).strip())
    mapping = map_columns(spec, list(df.columns))
    columns = {k: v for k, v in mapping.items() if not is_constant(v)}
    out = df[list(columns.values())].rename(columns={v: k for k, v in columns.items()})
    out = out.assign(**{c: v[1:] for c, v in mapping.items() if is_constant(v)})  # type: "=nps": every row
    for canonical in SCHEMA[name]:
        if canonical not in out.columns:
            out[canonical] = pd.Series(pd.NA, index=out.index, dtype=object)
    constants = {c for c, v in mapping.items() if is_constant(v)}
    return out[list(SCHEMA[name]) + [p for p in AMOUNT_PARTS if p in mapping]], constants


def _amount_of_parts(t: _Table, raw: pd.DataFrame, fmt: dict[str, Any]) -> pd.Series:
    """amount = quantity x unit price (rounded to 6 decimals), each part checked as an amount is."""
    values = []
    for part in AMOUNT_PARTS:
        s = raw[part].reset_index(drop=True)
        value, bad, used = to_number(s, t.spec.decimal)
        fmt.setdefault("decimal", {})[part] = used
        t.report(bad, part, "non_numeric_amount", "rejected", s, f"the {part} is not a number")
        t.report(s.isna() | clean_text(s).isna(), part, "missing_value", "rejected", s, f"{part} is empty")
        values.append(value)
    return (values[0] * values[1]).round(6)


def _coerce(name: str, t: _Table, raw: pd.DataFrame, fmt: dict[str, Any]) -> pd.DataFrame:
    out = {}
    for column, (kind, required) in SCHEMA[name].items():
        s = raw[column].reset_index(drop=True)
        if kind in ("id", "str"):
            out[column] = clean_text(s)
            writing = id_writing(out[column]) if kind == "id" else None
            if writing == "decimal":  # 17850.0: 17850
                out[column] = out[column].str.replace(*DECIMAL_ID_STRIP, regex=True)
            elif writing == "email":  # Marie@X.fr: marie@x.fr
                out[column] = out[column].str.lower()
            if writing:
                fmt.setdefault(f"{writing}_ids", []).append(column)
            if column in t.spec.values:  # the file's own words for the contract's (values: in custrel.yml)
                mapped = out[column].str.lower().map(t.spec.values[column])
                out[column] = mapped.fillna(out[column]).astype("string")
        elif kind == "date":
            out[column], bad, used = to_date(s, t.spec.date_format)
            if s.notna().any():  # not for a column the file lacks (added empty): it has no format
                fmt.setdefault("date_format", {})[column] = used
            # A valid date pandas cannot hold (before 1677 or after 2262) is out of range, not unreadable.
            outside = pd.Series(False, index=s.index)
            if bad.any():
                outside[bad] = [is_date(str(v), used) for v in clean_text(s[bad].reset_index(drop=True))]
            bad &= ~outside
            action, emptied = ("rejected", "") if required else ("repaired", ": emptied")
            t.report(bad, column, "unparseable_date", action, s, unreadable_date(used) + emptied)
            # Before 1900 is no customer event (1899-12-30 is the date Excel gives an empty cell).
            early = (out[column] < pd.Timestamp(EARLIEST_DATE)) | outside
            message = out_of_range_message(bool(emptied))
            t.report(early, column, "date_out_of_range", action, s, message)
            out[column] = out[column].mask(early)
        elif kind == "amount" and "quantity" in raw.columns:
            out[column] = _amount_of_parts(t, raw, fmt)
            continue
        elif kind in ("amount", "float"):
            if kind == "float" and (s.dtype == object or pd.api.types.is_string_dtype(s)):
                text = s.map(lambda v: isinstance(v, str)).astype(bool)  # numbers of an XLSX stay numbers
                s = s.where(~text, s.astype("string").str.replace(NOTE, r"\1", regex=True))  # "9/10": 9
            out[column], bad, used = to_number(s, t.spec.decimal)
            if s.notna().any() and column not in t.constants:
                fmt.setdefault("decimal", {})[column] = used
            if kind == "amount":
                t.report(bad, column, "non_numeric_amount", "rejected", s, "the amount is not a number")
            else:
                t.report(bad, column, "non_numeric_value", "repaired", s, "not a number: emptied")
        elif kind == "bool":
            out[column], bad = to_bool(s, t.spec)
            t.report(bad, column, "invalid_value", "repaired", s, "not a yes/no value: emptied")
        if required:
            # Empty = missing, or only blanks in a text column (computed only where it matters: big tables).
            empty = s.isna()
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                empty |= out[column].isna() if kind in ("id", "str") else clean_text(s).isna()
            _report_empty(t, name, column, empty, s, raw)
    return pd.DataFrame(out)


def _report_empty(
    t: _Table, name: str, column: str, empty: pd.Series, s: pd.Series, raw: pd.DataFrame
) -> None:
    """Rows without a required value, rejected; a transaction's date or amount on a line with an order id is
    left to the check across the order's lines with ``order_lines: true`` (``keys.order_blank``)."""
    reason = "missing_customer_id" if column == "customer_id" else "missing_value"
    if name == "transactions" and column in ORDER_LEVEL:
        has_order = clean_text(raw["order_id"].reset_index(drop=True)).notna()
        if not t.spec.order_lines:
            t.report(empty & has_order, column, reason, "rejected", s, empty_message(column, False, True))
        empty &= ~has_order
    t.report(empty, column, reason, "rejected", s, f"{column} is empty")


def _finish(name: str, t: _Table, df: pd.DataFrame, problems: ProblemsReport, n_read: int) -> pd.DataFrame:
    kept = df[~t.reject.to_numpy()].reset_index(drop=True)
    for frame in t.frames:
        problems.add(frame)
    problems.set_counts(name, n_read + t.excluded, len(kept), t.excluded if t.spec.leaves_out else None)
    return kept


def _report_rejects(t: _Table, rejects: pd.DataFrame, problems: ProblemsReport) -> None:
    if len(rejects):
        problems.add(
            pd.DataFrame(
                {
                    "table": t.name,
                    "file": t.file,
                    "row": rejects["line"].astype("int64").to_numpy(),
                    "column": rejects["column_name"].fillna("").astype(str).to_numpy(),
                    "reason": "malformed_line",
                    "action": "rejected",
                    "value": rejects["csv_line"].astype(str).to_numpy(),
                    "message": rejects["error_message"].astype(str).to_numpy(),
                }
            ).drop_duplicates(subset=["row"])
        )


def _stage_table(
    name: str, spec: TableSpec, problems: ProblemsReport, fmt: dict
) -> tuple[_Table, pd.DataFrame, int]:
    """Read, map and coerce one table; row-level problems are reported on the returned :class:`_Table`.

    A table of several sources (``TableSpec.sources``): each is read, mapped and coerced with its own columns
    and formats, its rows numbered after the previous source's files; the rows follow each other."""
    if not spec.sources:
        return _stage_source(name, spec, problems, fmt)
    staged = [_stage_source(name, s, problems, one, first) for s, first, one in numbered_sources(spec, fmt)]
    first_formats(fmt)
    merged = _Table(name, spec, pd.concat([t.rows for t, _, _ in staged], ignore_index=True).to_numpy())
    merged.reject = pd.concat([t.reject for t, _, _ in staged], ignore_index=True)
    merged.frames = [frame for t, _, _ in staged for frame in t.frames]
    merged.excluded = sum(t.excluded for t, _, _ in staged)
    df = pd.concat([df for _, df, _ in staged], ignore_index=True)
    return merged, df, sum(n for _, _, n in staged)


def _stage_source(
    name: str, spec: TableSpec, problems: ProblemsReport, fmt: dict, first: int = 0
) -> tuple[_Table, pd.DataFrame, int]:
    spec = spec if spec.parts else with_excel_sep(spec)  # a first line sep=; (each file's, of several)
    raw, rows, rejects = read_parts(spec, fmt, first)
    raw = join_frame(spec, raw, fmt) if spec.joins else raw  # columns of other files, by a shared key
    raw, rows, excluded = leave_out(spec, raw, rows, problems)  # exclude: in custrel.yml
    mapped, constants = _map_columns(name, spec, raw)
    t = _Table(name, spec, rows)
    t.constants = constants
    t.excluded = excluded
    _report_rejects(t, rejects, problems)
    df = _coerce(name, t, mapped, fmt)
    return t, df, len(df) + len(rejects["line"].unique()) if len(rejects) else len(df)


def uses_engine(config: CustrelConfig) -> bool:
    """Whether ``load_tables(config, engine=None)`` (what ``prepare()`` does) takes the engine path: large inputs."""
    return _use_engine(config, None)


def _use_engine(config: CustrelConfig, engine: bool | None) -> bool:
    if engine is not None:
        return bool(engine)
    specs = [x for s in config.tables.values() if s is not None for x in s.sources or (s,)]
    if any(
        s.format == "xlsx" or any(FORMATS.get(p.suffix.lower()) == "xlsx" for p, _ in s.joins) for s in specs
    ):
        return False
    # Parquet is compressed: a byte of Parquet holds about as many rows as PARQUET_WEIGHT bytes of CSV.
    weight = {"parquet": PARQUET_WEIGHT}
    size = sum(f.stat().st_size * weight.get(s.format, 1) for s in specs for f in s.files if f.is_file())
    return size > ENGINE_BYTES


def load_tables(
    config: CustrelConfig | str | Path | None = None,
    as_of: str | pd.Timestamp | None = None,
    engine: bool | None = False,
    con=None,
    progress: bool = False,
) -> LoadResult:
    """Load, coerce and check the tables described by ``config`` (a :class:`CustrelConfig` or a path).

    ``as_of`` (else the config's ``analysis.as_of``, else the last valid transaction date, but never after today) is the extraction
    date: rows dated after it are rejected. ``engine=True`` scans the files in DuckDB (``con``, else a new
    connection) and returns Ibis tables (:func:`custrel_lib.io.scan.scan_tables`); ``engine=None`` chooses the
    engine for inputs larger than :data:`ENGINE_BYTES`; ``False`` (default) loads into pandas.
    """
    if not isinstance(config, CustrelConfig):
        config = load_config(config)
    if _use_engine(config, engine):
        from custrel_lib.io.scan import scan_tables

        return scan_tables(config, as_of=as_of, con=con, progress=progress)
    problems = ProblemsReport(max_rejected_share=float(config.analysis.get("max_rejected_share", 0.5)))
    as_of = as_of or config.analysis.get("as_of")
    as_of_ts = pd.Timestamp(as_of).normalize() if as_of else None
    formats: dict[str, dict[str, Any]] = {}
    staged: dict[str, tuple[_Table, pd.DataFrame, int]] = {}
    for name in TABLES:
        spec = config.tables.get(name)
        if spec is not None:
            formats[name] = {}
            staged[name] = _stage_table(name, spec, problems, formats[name])
    t, tx, _ = staged["transactions"]
    if as_of_ts is None:
        valid = tx["date"][~t.reject]
        # The last valid date, but never after today: a transaction dated in the future is an error.
        today = pd.Timestamp.today().normalize()
        as_of_ts = min(valid.max(), today) if valid.notna().any() else today
    check_transactions(t, tx, as_of_ts)
    if "customers" in staged:
        c, cu, _ = staged["customers"]
        check_customers(c, cu, as_of_ts)
    if "interactions" in staged:
        i, it, _ = staged["interactions"]
        ids = [tx["customer_id"][~t.reject]] + (
            [cu["customer_id"][~c.reject]] if "customers" in staged else []
        )
        check_interactions(i, it, as_of_ts, pd.concat(ids).dropna().unique())
    if "customers" in staged:
        ids = cu["customer_id"][~c.reject]
        missing = ~t.reject & tx["customer_id"].notna() & ~tx["customer_id"].isin(ids)
        message = NOT_IN_CUSTOMERS + zeros_hint(tx["customer_id"][missing].unique(), ids.dropna().unique())
        t.report(missing, "customer_id", "not_in_customers", "flagged", tx["customer_id"], message)
    tables = {name: _finish(name, tab, df, problems, n_read) for name, (tab, df, n_read) in staged.items()}
    if config.tables["transactions"].order_lines:
        tables["transactions"], formats["transactions"]["order_lines"] = merge_order_lines(
            tables["transactions"]
        )
    problems.rows = problems.rows.sort_values(["table", "row", "column"], kind="stable").reset_index(
        drop=True
    )
    for name in staged:  # a table of several files: each problem row's file, and its row there
        split_files(problems, name, [label for _, label in pieces(config.tables[name])])
    sources = {name: config.tables[name].path for name in staged}
    return LoadResult(tables=tables, problems=problems, as_of=as_of_ts, sources=sources, formats=formats)
