"""Load the three tables of the data contract from CSV, Parquet or XLSX, with a problems report.

Reading is done by DuckDB for CSV (every column as text; lines it cannot split into the expected fields go
to its reject table with their line number) and by pandas for Parquet and XLSX. Values are then coerced
column by column with vectorized checks; every row that fails a check is reported with its file, row
number (the line a spreadsheet user sees: header = 1, first data row = 2; for Parquet the 1-based row), column,
reason and raw value. Rows read = rows kept + rows rejected, per table, always (asserted).

See ``docs/data_contract.md`` for the contract, the configuration and the list of reasons.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.config import CustrelConfig, TableSpec, load_config
from custrel_lib.exceptions import DataContractError, MissingColumnError
from custrel_lib.io.problems import ProblemsReport

# canonical column -> (kind, required)
SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "transactions": {
        "customer_id": ("id", True),
        "date": ("date", True),
        "amount": ("amount", True),
        "order_id": ("str", False),
        "category": ("str", False),
        "channel": ("str", False),
    },
    "customers": {
        "customer_id": ("id", True),
        "signup_date": ("date", False),
        "contract_start": ("date", False),
        "contract_end": ("date", False),
        "end_reason": ("str", False),
        "loyalty_member": ("bool", False),
        "acquisition_channel": ("str", False),
        "region": ("str", False),
    },
    "interactions": {
        "customer_id": ("id", True),
        "date": ("date", True),
        "type": ("str", True),
        "score": ("float", False),
        "resolved": ("bool", False),
    },
}
INTERACTION_TYPES = [
    "nps",
    "complaint",
    "support",
    "referral",
    "review",
    "besoin",
    "recherche",
    "choix",
    "achat",
    "decouverte",
    "usage",
    "recommandation",
    "parrainage",
]
END_REASONS = ("voluntary", "involuntary")
TRUE_VALUES = ("true", "vrai", "oui", "yes", "y", "o", "1", "x")
FALSE_VALUES = ("false", "faux", "non", "no", "n", "0")
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%Y/%m/%d",
)
SEPARATORS = (",", ";", "\t", "|")
EARLIEST_DATE = pd.Timestamp("1900-01-01")
_NUMBER_CLEAN = re.compile(r"[\s\u00a0\u202f€$£]")


@dataclass
class LoadResult:
    """The canonical tables, the problems report, the extraction date and what was detected."""

    tables: dict[str, pd.DataFrame]
    problems: ProblemsReport
    as_of: pd.Timestamp
    sources: dict[str, Path] = field(default_factory=dict)
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)


# --- reading raw text ----------------------------------------------------------------------------------


def detect_encoding(path: Path, size: int = 1 << 22) -> str:
    """``utf-8`` (with or without BOM) when the start of the file decodes as UTF-8, ``utf-16`` after a UTF-16
    byte-order mark, ``cp1252`` (Windows "ANSI", French Excel) when bytes 0x80-0x9F occur and decode as such,
    else ``latin-1``."""
    with open(path, "rb") as fh:
        head = fh.read(size)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < size)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\x80-\x9f]", head):
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return "latin-1"


def _transcode(spec: TableSpec, encoding: str, target: Path, chunk: int = 1 << 20) -> None:
    """Copy ``spec.path`` to ``target`` as UTF-8, chunk by chunk; a byte the encoding cannot read names its line."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with open(spec.path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while True:
            data = src.read(chunk)
            try:
                dst.write(decoder.decode(data, final=not data))
            except UnicodeDecodeError as exc:
                bad = line + data[: exc.start].count(b"\n")
                raise DataContractError(
                    f"Table '{spec.name}': {spec.path}, line {bad}: byte {data[exc.start]:#04x} cannot be read "
                    f"as {encoding}; set tables.{spec.name}.encoding to the file's encoding."
                ) from exc
            if not data:
                return
            line += data.count(b"\n")


def _first_line(path: Path, encoding: str) -> str:
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace") as fh:
        return fh.readline()


def detect_separator(header: str) -> str:
    """The candidate separator that splits the header line into the most fields."""
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _read_csv(spec: TableSpec, fmt: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    import duckdb

    encoding = spec.encoding or detect_encoding(spec.path)
    encoding = {"utf8": "utf-8", "utf-8-sig": "utf-8", "iso-8859-1": "latin-1"}.get(
        encoding.lower(), encoding.lower()
    )
    header = _first_line(spec.path, encoding)
    sep = spec.sep or detect_separator(header)
    fmt.update(encoding=encoding, sep=sep)
    _check_duplicate_columns(spec, next(csv.reader([header.lstrip("\ufeff")], delimiter=sep), []))
    source, duck_encoding = spec.path, encoding
    con = duckdb.connect()
    try:
        if codecs.lookup(encoding).name not in ("utf-8", "iso8859-1"):
            # DuckDB reads UTF-8 and latin-1 only: other encodings (cp1252, UTF-16, ...) are transcoded first.
            fd, name = tempfile.mkstemp(prefix="custrel-", suffix=".csv")
            os.close(fd)
            source, duck_encoding = Path(name), "utf-8"
            _transcode(spec, encoding, source)
        rel = con.sql(
            "SELECT * FROM read_csv(?, all_varchar = true, header = true, delim = ?, quote = '\"', "
            "encoding = ?, store_rejects = true, ignore_errors = true, auto_detect = true)",
            params=[str(source), sep, duck_encoding],
        )
        df = rel.df()
        rejects = con.sql(
            "SELECT line, column_name, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
        ).df()
    except duckdb.Error as exc:
        raise DataContractError(f"Cannot read {spec.path} as CSV (sep {sep!r}, {encoding}): {exc}") from exc
    finally:
        con.close()
        if source != spec.path:
            source.unlink(missing_ok=True)
    bad_lines = (
        np.unique(rejects["line"].to_numpy(dtype=np.int64)) if len(rejects) else np.array([], np.int64)
    )
    # The kept rows take the line numbers left free by the rejected ones, in order. A rejected line may lie past
    # len(df) + len(bad_lines) (DuckDB counts skipped blank lines), so the candidates reach past the last one.
    upper = 2 + len(df) + len(bad_lines) + (int(bad_lines.max()) if len(bad_lines) else 0)
    kept_lines = np.setdiff1d(np.arange(2, upper, dtype=np.int64), bad_lines, assume_unique=True)[: len(df)]
    return df, kept_lines, rejects


def _check_duplicate_columns(spec: TableSpec, names: list[str], where: str = "line 1") -> None:
    """Refuse a header that names a column the contract uses twice: which one holds the data is a guess."""
    used = {c.lower() for c in SCHEMA[spec.name]} | {c.lower() for c in spec.columns.values()}
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        positions.setdefault(str(name).strip(), []).append(i)
    for name, at in positions.items():
        if len(at) > 1 and name.lower() in used:
            raise DataContractError(
                f"Table '{spec.name}' in {spec.path}, {where}: column '{name}' appears {len(at)} times in "
                f"the header (columns {', '.join(map(str, at))}); rename or remove the extra ones."
            )


def _read_raw(spec: TableSpec, fmt: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The file as read (values as text or native types), the row number of each row, DuckDB's rejects."""
    if not spec.path.is_file():
        raise DataContractError(f"Table '{spec.name}': file not found: {spec.path}")
    fmt["format"] = spec.format
    empty = pd.DataFrame(columns=["line", "column_name", "error_type", "csv_line", "error_message"])
    if spec.format == "csv":
        with open(spec.path, "rb") as fh:
            head = fh.read(1 << 16)
        if not head.lstrip(codecs.BOM_UTF8).strip():
            raise DataContractError(
                f"Table '{spec.name}': {spec.path} is empty: the first line must name the columns "
                f"({', '.join(SCHEMA[spec.name])})."
            )
    try:
        if spec.format == "csv":
            return _read_csv(spec, fmt)
        if spec.format == "parquet":
            import pyarrow.parquet as pq

            _check_duplicate_columns(spec, pq.read_schema(spec.path).names, "schema")
            df = pd.read_parquet(spec.path)
            return df, np.arange(1, len(df) + 1, dtype=np.int64), empty
        df = pd.read_excel(spec.path, sheet_name=spec.sheet or 0, dtype=object)
        return df, np.arange(2, len(df) + 2, dtype=np.int64), empty
    except DataContractError:
        raise
    except Exception as exc:
        raise DataContractError(
            f"Cannot read {spec.path} as {spec.format}: {type(exc).__name__}: {exc}"
        ) from exc


# --- coercion --------------------------------------------------------------------------------------------


def _text(s: pd.Series) -> pd.Series:
    """Trimmed text, empty strings as missing. Arrow's kernels do the trimming (pandas' ``.str`` is a Python loop)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(s, from_pandas=True)
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = pa.array([None if pd.isna(v) else str(v) for v in s], type=pa.string())
    arr = pc.utf8_trim_whitespace(arr)
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    return pd.Series(arr.to_pandas().to_numpy(), index=s.index).astype("string")  # by position, not label


def _choose_date_format(values: pd.Series) -> str | None:
    sample = values.dropna().head(2000)
    if sample.empty:
        return DATE_FORMATS[0]
    scores = {f: pd.to_datetime(sample, format=f, errors="coerce").notna().mean() for f in DATE_FORMATS}
    best = max(scores, key=lambda f: scores[f])
    return best if scores[best] > 0 else None


def _is_date(value: str, fmt: str | None) -> bool:
    """Whether ``value`` is a calendar date in ``fmt`` (any year), for the few values pandas could not hold."""
    try:
        return fmt not in (None, "native") and bool(_dt.datetime.strptime(value, fmt))
    except ValueError:
        return False


def _to_date(s: pd.Series, date_format: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parsed dates (day precision) and the mask of non-empty values that could not be parsed."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return out.dt.normalize().astype("datetime64[ns]"), pd.Series(False, index=s.index), "native"
    native = (
        s.map(lambda v: isinstance(v, _dt.date)) if s.dtype == object else pd.Series(False, index=s.index)
    )
    text = _text(s.where(~native))
    fmt = date_format or _choose_date_format(text)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce") if fmt else pd.Series(pd.NaT, index=s.index)
    if native.any():
        parsed = parsed.where(~native, pd.to_datetime(s.where(native), errors="coerce"))
    bad = text.notna() & parsed.isna()
    return pd.Series(parsed, index=s.index).dt.normalize().astype("datetime64[ns]"), bad, fmt


def _to_number(s: pd.Series, decimal: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype("float64")
        infinite = pd.Series(np.isinf(out.to_numpy()), index=s.index)
        return out.mask(infinite), infinite, "native"
    native = (
        s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)) if s.dtype == object else None
    )
    text = _text(s)
    cleaned = text.str.replace(_NUMBER_CLEAN, "", regex=True)
    if decimal is None:
        sample = cleaned.dropna().head(2000)
        comma = sample.str.fullmatch(r"[-+]?\d+(?:\.\d{3})*,\d+").mean() if len(sample) else 0.0
        decimal = "," if comma and comma >= 0.5 else "."
    # The other mark may only group thousands (1.234,56 / 1,234.56): "12,5" with a decimal point is not 125.
    group, point = (r"\.", ",") if decimal == "," else (",", r"\.")
    shape = rf"[-+]?(?:\d+|\d{{1,3}}(?:{group}\d{{3}})+)?(?:{point}\d*)?(?:[eE][-+]?\d+)?"
    import pyarrow as pa
    import pyarrow.compute as pc

    shaped = pc.match_substring_regex(pa.array(cleaned, type=pa.string(), from_pandas=True), f"^{shape}$")
    cleaned = cleaned.where(pc.fill_null(shaped, False).to_numpy(zero_copy_only=False))
    if decimal == ",":
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    out = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    if native is not None and native.any():
        out = out.where(~native, pd.to_numeric(s.where(native), errors="coerce"))
    out = out.mask(np.isinf(out.to_numpy()))  # 1e309, inf: no finite amount
    bad = text.notna() & out.isna()
    return out, bad, decimal


def _to_bool(s: pd.Series, spec: TableSpec) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    trues = {v.lower() for v in (spec.true_values or TRUE_VALUES)}
    falses = {v.lower() for v in (spec.false_values or FALSE_VALUES)}
    text = _text(
        s.map(lambda v: str(int(v)) if isinstance(v, bool | np.bool_) else v) if s.dtype == object else s
    )
    low = text.str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(trues).fillna(False).astype(bool)] = True
    out[low.isin(falses).fillna(False).astype(bool)] = False
    bad = text.notna() & out.isna()
    return out, bad


def _ascii_lower(s: pd.Series) -> pd.Series:
    def fold(v: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", v) if not unicodedata.combining(c)).lower()

    uniques = s.dropna().unique()
    return s.map({u: fold(u) for u in uniques}).astype("string")


# --- one table ----------------------------------------------------------------------------------------------


class _Table:
    """Collects the problems of one table while its columns are coerced."""

    def __init__(self, name: str, spec: TableSpec, rows: np.ndarray):
        self.name, self.spec = name, spec
        self.file = spec.path.name
        self.rows = pd.Series(rows, dtype="int64")
        self.reject = pd.Series(False, index=self.rows.index)
        self.frames: list[pd.DataFrame] = []

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


def _map_columns(name: str, spec: TableSpec, df: pd.DataFrame) -> pd.DataFrame:
    df = df.rename(columns=lambda c: str(c).strip())
    found = list(df.columns)
    lower = {c.lower(): c for c in found}
    rename = {}
    for canonical, (_, required) in SCHEMA[name].items():
        user = spec.columns.get(canonical)
        if user is not None:
            if user not in df.columns:
                raise MissingColumnError(name, f"{user} (mapped to {canonical})", found, str(spec.path))
            rename[user] = canonical
        elif canonical in df.columns:
            rename[canonical] = canonical
        elif canonical.lower() in lower:
            rename[lower[canonical.lower()]] = canonical
        elif required:
            raise MissingColumnError(name, canonical, found, str(spec.path))
    out = df[list(rename)].rename(columns=rename)
    for canonical in SCHEMA[name]:
        if canonical not in out.columns:
            out[canonical] = pd.Series(pd.NA, index=out.index, dtype=object)
    return out[list(SCHEMA[name])]


def _coerce(name: str, t: _Table, raw: pd.DataFrame, fmt: dict[str, Any]) -> pd.DataFrame:
    out = {}
    for column, (kind, required) in SCHEMA[name].items():
        s = raw[column].reset_index(drop=True)
        if kind in ("id", "str"):
            out[column] = _text(s)
        elif kind == "date":
            out[column], bad, used = _to_date(s, t.spec.date_format)
            fmt.setdefault("date_format", {})[column] = used
            # A valid date pandas cannot hold (before 1677 or after 2262) is out of range, not unreadable.
            outside = pd.Series(False, index=s.index)
            if bad.any():
                outside[bad] = [_is_date(str(v), used) for v in _text(s[bad].reset_index(drop=True))]
            bad &= ~outside
            if required:
                t.report(
                    bad, column, "unparseable_date", "rejected", s, f"cannot read this date (format {used})"
                )
            else:
                t.report(
                    bad,
                    column,
                    "unparseable_date",
                    "repaired",
                    s,
                    f"cannot read this date (format {used}): emptied",
                )
            # Before 1900 is no customer event (1899-12-30 is the date Excel gives an empty cell).
            early = (out[column] < EARLIEST_DATE) | outside
            t.report(
                early,
                column,
                "date_out_of_range",
                "rejected" if required else "repaired",
                s,
                f"before {EARLIEST_DATE.date()} or after 2262: not a plausible date"
                + ("" if required else ": emptied"),
            )
            out[column] = out[column].mask(early)
        elif kind in ("amount", "float"):
            out[column], bad, used = _to_number(s, t.spec.decimal)
            fmt.setdefault("decimal", {})[column] = used
            if kind == "amount":
                t.report(bad, column, "non_numeric_amount", "rejected", s, "the amount is not a number")
            else:
                t.report(bad, column, "non_numeric_value", "repaired", s, "not a number: emptied")
        elif kind == "bool":
            out[column], bad = _to_bool(s, t.spec)
            t.report(bad, column, "invalid_value", "repaired", s, "not a yes/no value: emptied")
        if required:
            # Empty = missing, or only blanks in a text column (computed only where it matters: big tables).
            empty = s.isna()
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                empty |= out[column].isna() if kind in ("id", "str") else _text(s).isna()
            reason = "missing_customer_id" if column == "customer_id" else "missing_value"
            t.report(empty, column, reason, "rejected", s, f"{column} is empty")
    df = pd.DataFrame(out)
    return df


def _finish(name: str, t: _Table, df: pd.DataFrame, problems: ProblemsReport, n_read: int) -> pd.DataFrame:
    kept = df[~t.reject.to_numpy()].reset_index(drop=True)
    for frame in t.frames:
        problems.add(frame)
    problems.set_counts(name, n_read, len(kept))
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


def load_tables(
    config: CustrelConfig | str | Path | None = None, as_of: str | pd.Timestamp | None = None
) -> LoadResult:
    """Load, coerce and check the tables described by ``config`` (a :class:`CustrelConfig` or a path).

    ``as_of`` (else the config's ``analysis.as_of``, else the last valid transaction date, but never after today) is the extraction
    date: rows dated after it are rejected.
    """
    if not isinstance(config, CustrelConfig):
        config = load_config(config)
    problems = ProblemsReport(max_rejected_share=float(config.analysis.get("max_rejected_share", 0.5)))
    as_of = as_of or config.analysis.get("as_of")
    as_of_ts = pd.Timestamp(as_of).normalize() if as_of else None
    tables: dict[str, pd.DataFrame] = {}
    formats: dict[str, dict[str, Any]] = {}
    sources: dict[str, Path] = {}
    staged: dict[str, tuple[_Table, pd.DataFrame, int]] = {}
    for name in ("transactions", "customers", "interactions"):
        spec = config.tables.get(name)
        if spec is None:
            continue
        fmt: dict[str, Any] = {}
        raw, rows, rejects = _read_raw(spec, fmt)
        mapped = _map_columns(name, spec, raw)
        t = _Table(name, spec, rows)
        _report_rejects(t, rejects, problems)
        df = _coerce(name, t, mapped, fmt)
        staged[name] = (t, df, len(df) + len(rejects["line"].unique()) if len(rejects) else len(df))
        formats[name], sources[name] = fmt, spec.path

    t, tx, _ = staged["transactions"]
    if as_of_ts is None:
        valid = tx["date"][~t.reject]
        # The last valid date, but never after today: a transaction dated in the future is an error.
        today = pd.Timestamp.today().normalize()
        as_of_ts = min(valid.max(), today) if valid.notna().any() else today
    t.report(
        tx["date"] > as_of_ts,
        "date",
        "future_date",
        "rejected",
        tx["date"].dt.strftime("%Y-%m-%d"),
        f"after the extraction date {as_of_ts.date()}",
    )
    dup = tx["order_id"].notna() & ~t.reject & tx["order_id"].where(~t.reject).duplicated(keep="first")
    t.report(
        dup, "order_id", "duplicate_order_id", "rejected", tx["order_id"], "an earlier row has this order id"
    )

    if "customers" in staged:
        c, cu, _ = staged["customers"]
        dup = ~c.reject & cu["customer_id"].where(~c.reject).duplicated(keep="first")
        c.report(
            dup & cu["customer_id"].notna(),
            "customer_id",
            "duplicate_customer_id",
            "rejected",
            cu["customer_id"],
            "an earlier row describes this customer",
        )
        c.report(
            cu["signup_date"] > as_of_ts,
            "signup_date",
            "future_date",
            "rejected",
            cu["signup_date"].dt.strftime("%Y-%m-%d"),
            f"signed up after the extraction date {as_of_ts.date()}",
        )
        reason = cu["end_reason"].str.lower()
        bad = reason.notna() & ~reason.isin(END_REASONS)
        c.report(
            bad,
            "end_reason",
            "invalid_value",
            "repaired",
            cu["end_reason"],
            f"end_reason must be one of {', '.join(END_REASONS)}: emptied",
        )
        cu["end_reason"] = reason.mask(bad)

    if "interactions" in staged:
        i, it, _ = staged["interactions"]
        i.report(
            it["date"] > as_of_ts,
            "date",
            "future_date",
            "rejected",
            it["date"].dt.strftime("%Y-%m-%d"),
            f"after the extraction date {as_of_ts.date()}",
        )
        folded = _ascii_lower(it["type"])
        i.report(
            folded.notna() & ~folded.isin(INTERACTION_TYPES),
            "type",
            "invalid_value",
            "flagged",
            it["type"],
            "unknown interaction type: kept, ignored by the analyses",
        )
        it["type"] = folded
        nps = (folded == "nps") & it["score"].notna() & ~it["score"].between(0, 10)
        i.report(
            nps,
            "score",
            "invalid_value",
            "repaired",
            it["score"],
            "an NPS score must be between 0 and 10: emptied",
        )
        it["score"] = it["score"].mask(nps)
        ids = [tx["customer_id"][~t.reject]] + (
            [cu["customer_id"][~c.reject]] if "customers" in staged else []
        )
        known = pd.concat(ids).dropna().unique()
        unknown = it["customer_id"].notna() & ~it["customer_id"].isin(known)
        i.report(
            unknown,
            "customer_id",
            "unknown_customer",
            "rejected",
            it["customer_id"],
            "this customer is in neither customers nor transactions",
        )

    if "customers" in staged:
        ids = cu["customer_id"][~c.reject]
        missing = ~t.reject & tx["customer_id"].notna() & ~tx["customer_id"].isin(ids)
        t.report(
            missing,
            "customer_id",
            "not_in_customers",
            "flagged",
            tx["customer_id"],
            "kept: this customer buys but is missing from the customers table",
        )

    for name, (tab, df, n_read) in staged.items():
        tables[name] = _finish(name, tab, df, problems, n_read)
    problems.rows = problems.rows.sort_values(["table", "row", "column"], kind="stable").reset_index(
        drop=True
    )
    return LoadResult(tables=tables, problems=problems, as_of=as_of_ts, sources=sources, formats=formats)
