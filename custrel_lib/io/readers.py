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
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.config import TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import (
    DATE_FORMATS,
    FALSE_VALUES,
    MONTH_WORDS,
    NUMBER_CODE,
    NUMBER_NEGATIVE,
    NUMBER_NOISE,
    SCHEMA,
    TRUE_VALUES,
    ZONE,
    has_month_name,
    number_shape,
    split_zone,
)
from custrel_lib.io.csv_lines import blank_lines, check_csv_header, check_duplicate_columns
from custrel_lib.io.dialect import csv_dialect, duck_source, positional_names
from custrel_lib.io.numeric_dates import NUMERIC_DATES, SERIAL_SHARE, numeric_date
from custrel_lib.io.scan_sql import lit
from custrel_lib.io.writing import SAMPLE_SIZE, decimal_mark

_NUMBER_CLEAN = re.compile(NUMBER_NOISE)


# --- reading raw text ----------------------------------------------------------------------------------


def excel_engine() -> str:
    """pandas' XLSX reader: calamine where installed (a 488,400-row sheet: 10.9 s, against 72.3 s with openpyxl,
    benchmarks/README.md; the same tables, tests/test_io.py), else openpyxl."""
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return "openpyxl"
    return "calamine"


def _read_csv(spec: TableSpec, fmt: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    import duckdb

    encoding, sep = csv_dialect(spec)
    fmt.update(encoding=encoding, sep=sep)
    check_csv_header(spec, encoding, sep)
    con = duckdb.connect()
    try:
        with duck_source(spec, encoding, sep) as source:
            rel = con.sql(
                f"SELECT * FROM read_csv({lit(str(source.path))}, {source.options()}, store_rejects = true, "
                "ignore_errors = true, auto_detect = true)"
            )
            df = rel.df()
            rejects = con.sql(
                "SELECT line, column_name, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
            ).df()
            blank = blank_lines(source.path, source.delim)
    except duckdb.Error as exc:
        raise DataContractError(f"Cannot read {spec.path} as CSV (sep {sep!r}, {encoding}): {exc}") from exc
    finally:
        con.close()
    bad_lines = (
        np.unique(rejects["line"].to_numpy(dtype=np.int64)) if len(rejects) else np.array([], np.int64)
    )
    # The kept rows take the line numbers left free by the rejected ones and by the blank lines DuckDB skips, in
    # order. A rejected line may lie past len(df) + len(bad_lines), so the candidates reach past the last one.
    first = source.first  # the line after the header (the first line without one)
    upper = first + len(df) + len(bad_lines) + len(blank) + (int(bad_lines.max()) if len(bad_lines) else 0)
    taken = np.union1d(bad_lines, blank)
    kept_lines = np.setdiff1d(np.arange(first, upper, dtype=np.int64), taken, assume_unique=True)[: len(df)]
    return df, kept_lines, rejects


def read_raw(spec: TableSpec, fmt: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
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

            check_duplicate_columns(spec, pq.read_schema(spec.path).names, "schema")
            df = pd.read_parquet(spec.path)
            return df, np.arange(1, len(df) + 1, dtype=np.int64), empty
        book = pd.ExcelFile(spec.path, engine=excel_engine())
        if spec.sheet is None and len(book.sheet_names) > 1:  # said by custrel validate: read them with sheet
            fmt["other_sheets"] = book.sheet_names[1:]
        df = book.parse(
            spec.sheet or 0, header=0 if spec.header else None, dtype=object, skiprows=spec.skip_rows
        )
        if not spec.header:  # columns named by their position, 1 for the first
            df.columns = positional_names(df.shape[1])
        first = (2 if spec.header else 1) + spec.skip_rows
        return df, np.arange(first, len(df) + first, dtype=np.int64), empty
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
    return pd.Series(arr.to_pandas().to_numpy(), index=s.index).astype("string")  # by position, not label


def spread(values: pd.Series) -> pd.Series:
    """:data:`SAMPLE_SIZE` non-empty values spread evenly over the column (positions ``i (n - 1) // (S - 1)``).
    The engine's loader takes the same rows (``scan._spread``)."""
    values = values.dropna()
    n = len(values)
    if n <= SAMPLE_SIZE:
        return values
    return values.iloc[np.arange(SAMPLE_SIZE, dtype="int64") * (n - 1) // (SAMPLE_SIZE - 1)]


def choose_date_format(first: pd.Series, wider: Callable[[], pd.Series] | None = None) -> str | None:
    """The format of :data:`DATE_FORMATS` that reads the most of ``first`` (the first :data:`SAMPLE_SIZE`
    non-empty values). When formats tie (day/month and month/day both read every date, as when a file sorted
    by date begins with days 1 to 12), the values of ``wider()`` (:func:`spread` over the whole column) decide;
    a tie that remains keeps the first of the list (day first)."""
    sample = first.dropna().head(SAMPLE_SIZE)
    if sample.empty:
        return DATE_FORMATS[0]
    scores = _scores(sample)
    best = max(scores, key=lambda f: scores[f])
    numbers = {f: numeric_days(sample, f).notna().mean() for f in NUMERIC_DATES}
    numeric = max(numbers, key=lambda f: numbers[f])  # Excel's serial days, Unix time
    if numbers[numeric] >= SERIAL_SHARE and numbers[numeric] > scores[best]:
        return numeric
    if wider is not None and scores[best] > 0 and sum(v == scores[best] for v in scores.values()) > 1:
        scores = _scores(wider())
        best = max(scores, key=lambda f: scores[f])
    return best if scores[best] > 0 else None


def numeric_days(text: pd.Series, fmt: str) -> pd.Series:
    """Dates written as numbers (:data:`~custrel_lib.io.numeric_dates.NUMERIC_DATES`: Excel's serial days, Unix
    time) as whole days since the format's day 0, in range; else missing (``scan_sql._date`` in the engine)."""
    pattern, (low, high), per_day, _ = numeric_date(fmt)
    text = text.astype("string")
    number = pd.to_numeric(text.where(text.str.fullmatch(pattern)).str.replace(",", "."), errors="coerce")
    return np.floor(number.where(number.between(low, high)) / per_day)


def _scores(sample: pd.Series) -> dict[str, float]:
    """The share of ``sample`` each format reads; a value's fractional seconds and time zone (:data:`ZONE`) are
    set aside, and a format that needs them set aside says so (``.%f``, ``%z``)."""
    parts = sample.astype("string").str.extract(ZONE)
    kept = english_months(
        parts[0].fillna(sample)
    )  # 5 mars 2024: 5 Mar 2024 (a format without %b reads neither)
    suffix = (".%f" if parts[1].notna().any() else "") + ("%z" if parts[2].notna().any() else "")
    return {f + suffix: pd.to_datetime(kept, format=f, errors="coerce").notna().mean() for f in DATE_FORMATS}


def to_date(s: pd.Series, date_format: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    """Parsed dates (day precision) and the mask of non-empty values that could not be parsed."""
    if pd.api.types.is_datetime64_any_dtype(s):
        # An instant stored with a time zone (Parquet TIMESTAMPTZ) is read at its UTC day, in both loaders.
        out = s.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
        return out.dt.normalize().astype("datetime64[ns]"), pd.Series(False, index=s.index), "native"
    native = (
        s.map(lambda v: isinstance(v, _dt.date)) if s.dtype == object else pd.Series(False, index=s.index)
    )
    text = clean_text(s.where(~native))
    fmt = date_format or choose_date_format(text, lambda: spread(text))
    if numeric_date(fmt):
        days = numeric_days(text, fmt)
        parsed = pd.Timestamp(numeric_date(fmt)[3]) + pd.to_timedelta(days, unit="D")
        return parsed.astype("datetime64[ns]"), text.notna() & days.isna(), fmt
    base, zoned = split_zone(fmt) if fmt else (None, False)
    readable = text.str.replace(ZONE, r"\1", regex=True) if zoned else text
    readable = english_months(readable) if has_month_name(base) else readable
    parsed = (
        pd.to_datetime(readable, format=base, errors="coerce") if fmt else pd.Series(pd.NaT, index=s.index)
    )
    if native.any():
        parsed = parsed.where(~native, pd.to_datetime(s.where(native), errors="coerce"))
    bad = text.notna() & parsed.isna()
    return pd.Series(parsed, index=s.index).dt.normalize().astype("datetime64[ns]"), bad, fmt


def to_number(s: pd.Series, decimal: str | None) -> tuple[pd.Series, pd.Series, str | None]:
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        out = s.astype("float64")
        infinite = pd.Series(np.isinf(out.to_numpy()), index=s.index)
        return out.mask(infinite), infinite, "native"
    native = (
        s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)) if s.dtype == object else None
    )
    text = clean_text(s)
    cleaned = text.str.replace(_NUMBER_CLEAN, "", regex=True).str.replace(NUMBER_CODE, "", regex=True)
    cleaned = cleaned.str.replace(NUMBER_NEGATIVE, r"-\1\2", regex=True)  # (12,50) and 12,50-: -12,50
    if decimal is None:
        decimal = decimal_mark(cleaned.dropna().head(SAMPLE_SIZE))
    shape = number_shape(decimal)  # "12,5" in a column of decimal points is not 125
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


def english_months(text: pd.Series) -> pd.Series:
    """French month names as the English abbreviations ``%b`` reads (:data:`MONTH_WORDS`; SQL:
    ``scan_sql._english_months``). Values without a letter (most dates) are returned as they are."""
    if not text.str.contains(r"[^\W\d_]", regex=True, na=False).any():
        return text
    for pattern, english in MONTH_WORDS:
        text = text.str.replace(pattern, english, regex=True, case=False)
    return text


def is_date(value: str, fmt: str | None) -> bool:
    """Whether ``value`` is a calendar date in ``fmt`` (any year), for the few values pandas could not hold."""
    if has_month_name(fmt):
        value = english_months(pd.Series([value], dtype="string")).iloc[0]
    try:
        return fmt not in (None, "native") and bool(_dt.datetime.strptime(value, fmt))
    except ValueError:
        return False
