"""Reading the input files as they are, and turning text into typed columns (the pandas loader's parts).

CSV is read by DuckDB (every column as text; lines it cannot split into the expected fields go to its reject
table with their line number); Parquet and XLSX by pandas. The ``to_*`` functions coerce one column with
vectorized checks and return the mask of values that could not be read.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.config import TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import (
    DATE_FORMATS,
    DECIMAL_COMMA,
    FALSE_VALUES,
    NUMBER_NOISE,
    SEPARATORS,
    TRUE_VALUES,
)

_NUMBER_CLEAN = re.compile(NUMBER_NOISE)
ENCODING_ALIASES = {"utf8": "utf-8", "utf-8-sig": "utf-8", "iso-8859-1": "latin-1", "cp1252": "latin-1"}


# --- reading raw text ----------------------------------------------------------------------------------


def detect_encoding(path: Path, size: int = 1 << 22) -> str:
    """``utf-8`` (with or without BOM) when the start of the file decodes as UTF-8, else ``latin-1``."""
    with open(path, "rb") as fh:
        head = fh.read(size)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < size)
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def _first_line(path: Path, encoding: str) -> str:
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace") as fh:
        return fh.readline()


def detect_separator(header: str) -> str:
    """The candidate separator that splits the header line into the most fields."""
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def csv_dialect(spec: TableSpec) -> tuple[str, str]:
    """The encoding (``utf-8`` or ``latin-1`` unless configured) and separator of a CSV file."""
    encoding = spec.encoding or detect_encoding(spec.path)
    encoding = ENCODING_ALIASES.get(encoding.lower(), encoding.lower())
    return encoding, spec.sep or detect_separator(_first_line(spec.path, encoding))


def _read_csv(spec: TableSpec, fmt: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    import duckdb

    encoding, sep = csv_dialect(spec)
    fmt.update(encoding=encoding, sep=sep)
    con = duckdb.connect()
    try:
        rel = con.sql(
            "SELECT * FROM read_csv(?, all_varchar = true, header = true, delim = ?, quote = '\"', "
            "encoding = ?, store_rejects = true, ignore_errors = true, auto_detect = true)",
            params=[str(spec.path), sep, encoding],
        )
        df = rel.df()
        rejects = con.sql(
            "SELECT line, column_name, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
        ).df()
    except duckdb.Error as exc:
        raise DataContractError(f"Cannot read {spec.path} as CSV (sep {sep!r}, {encoding}): {exc}") from exc
    finally:
        con.close()
    bad_lines = (
        np.unique(rejects["line"].to_numpy(dtype=np.int64)) if len(rejects) else np.array([], np.int64)
    )
    n_total = len(df) + len(bad_lines)
    all_lines = np.arange(2, n_total + 2, dtype=np.int64)
    kept_lines = np.setdiff1d(all_lines, bad_lines, assume_unique=True)
    return df, kept_lines, rejects


def read_raw(spec: TableSpec, fmt: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The file as read (values as text or native types), the row number of each row, DuckDB's rejects."""
    if not spec.path.is_file():
        raise DataContractError(f"Table '{spec.name}': file not found: {spec.path}")
    fmt["format"] = spec.format
    empty = pd.DataFrame(columns=["line", "column_name", "error_type", "csv_line", "error_message"])
    try:
        if spec.format == "csv":
            return _read_csv(spec, fmt)
        if spec.format == "parquet":
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


def clean_text(s: pd.Series) -> pd.Series:
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
    return pd.Series(arr.to_pandas(), index=s.index).astype("string")


def choose_date_format(values: pd.Series) -> str | None:
    sample = values.dropna().head(2000)
    if sample.empty:
        return DATE_FORMATS[0]
    scores = {f: pd.to_datetime(sample, format=f, errors="coerce").notna().mean() for f in DATE_FORMATS}
    best = max(scores, key=lambda f: scores[f])
    return best if scores[best] > 0 else None


def to_date(s: pd.Series, date_format: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parsed dates (day precision) and the mask of non-empty values that could not be parsed."""
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return out.dt.normalize().astype("datetime64[ns]"), pd.Series(False, index=s.index), "native"
    native = (
        s.map(lambda v: isinstance(v, _dt.date)) if s.dtype == object else pd.Series(False, index=s.index)
    )
    text = clean_text(s.where(~native))
    fmt = date_format or choose_date_format(text)
    parsed = pd.to_datetime(text, format=fmt, errors="coerce") if fmt else pd.Series(pd.NaT, index=s.index)
    if native.any():
        parsed = parsed.where(~native, pd.to_datetime(s.where(native), errors="coerce"))
    bad = text.notna() & parsed.isna()
    return pd.Series(parsed, index=s.index).dt.normalize().astype("datetime64[ns]"), bad, fmt


def to_number(s: pd.Series, decimal: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64"), pd.Series(False, index=s.index), "native"
    native = (
        s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)) if s.dtype == object else None
    )
    text = clean_text(s)
    cleaned = text.str.replace(_NUMBER_CLEAN, "", regex=True)
    if decimal is None:
        sample = cleaned.dropna().head(2000)
        comma = sample.str.fullmatch(DECIMAL_COMMA).mean() if len(sample) else 0.0
        decimal = "," if comma and comma >= 0.5 else "."
    if decimal == ",":
        cleaned = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    out = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    if native is not None and native.any():
        out = out.where(~native, pd.to_numeric(s.where(native), errors="coerce"))
    bad = text.notna() & out.isna()
    return out, bad, decimal


def to_bool(s: pd.Series, spec: TableSpec) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    trues = {v.lower() for v in (spec.true_values or TRUE_VALUES)}
    falses = {v.lower() for v in (spec.false_values or FALSE_VALUES)}
    text = clean_text(
        s.map(lambda v: str(int(v)) if isinstance(v, bool | np.bool_) else v) if s.dtype == object else s
    )
    low = text.str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[low.isin(trues).fillna(False).astype(bool)] = True
    out[low.isin(falses).fillna(False).astype(bool)] = False
    bad = text.notna() & out.isna()
    return out, bad


def ascii_lower(s: pd.Series) -> pd.Series:
    def fold(v: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", v) if not unicodedata.combining(c)).lower()

    uniques = s.dropna().unique()
    return s.map({u: fold(u) for u in uniques}).astype("string")
