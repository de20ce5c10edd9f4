"""The header of a CSV or XLSX file: the line it is on (``skip_rows`` lines below the top), and, when the
columns are not found there, the later line that holds them (exports often put a title or an export date above
the header).
"""

from __future__ import annotations

import csv
import itertools
import re
from typing import Any

import pandas as pd

from custrel_lib.exceptions import MissingColumnError
from custrel_lib.io.contract import (
    NO_AMOUNT,
    SCHEMA,
    SEPARATORS,
    WHITESPACE_SEP,
    column_mapping,
    fold,
    is_constant,
)
from custrel_lib.io.guess import suggestion

#: How many lines from the top are searched for the header.
SCAN_LINES = 30


def top_rows(spec) -> list[list[Any]]:
    """The first :data:`SCAN_LINES` lines of a CSV or XLSX file, split into their non-empty fields."""
    if spec.format == "xlsx":
        from custrel_lib.io.readers import excel_engine

        sheet = spec.sheet or 0
        top = pd.read_excel(
            spec.path, sheet_name=sheet, header=None, nrows=SCAN_LINES, dtype=object, engine=excel_engine()
        )
        return [[v for v in row if not pd.isna(v)] for row in top.itertuples(index=False)]
    from custrel_lib.io.dialect import csv_dialect

    encoding, sep = csv_dialect(spec)
    with open(spec.path, encoding=encoding, errors="replace") as fh:
        lines = [line.lstrip("\ufeff") for line in itertools.islice(fh, SCAN_LINES)]
    if sep == WHITESPACE_SEP:
        return [line.split() for line in lines]
    seps = [spec.sep] if spec.sep else list(SEPARATORS)
    return [[f for sep in seps for f in next(csv.reader([line], delimiter=sep), [])] for line in lines]


def header_below(spec) -> int | None:
    """The number of lines above the line that holds the required columns, when that line comes after the
    header line read (a title above the header), among the first :data:`SCAN_LINES`; else ``None``."""
    if spec.format not in ("csv", "xlsx"):
        return None
    wanted = {
        fold(spec.columns.get(c, c))
        for c, (_, required) in SCHEMA[spec.name].items()
        if required
        and c != "amount"  # line items give a quantity and a unit price instead
        and not is_constant(spec.columns.get(c, c))
    }
    try:
        rows = top_rows(spec)
    except Exception:  # a courtesy: the error it would replace says what is wrong
        return None
    return next(
        (
            k
            for k, fields in enumerate(rows)
            if k > spec.skip_rows and wanted <= {fold(str(f)) for f in fields}
        ),
        None,
    )


def map_columns(spec, found: list[str]) -> dict[str, str]:
    """:func:`~custrel_lib.io.contract.column_mapping` of a file; when its columns are on a later line (a title
    above the header), the error says which line, and the ``skip_rows`` that reads it; else it proposes the
    mapping that the names suggest (:func:`~custrel_lib.io.guess.suggestion`)."""
    columns = spec.columns if spec.amounts else {**spec.columns, "amount": NO_AMOUNT}
    try:
        return column_mapping(spec.name, columns, found, str(spec.path))
    except MissingColumnError as exc:
        k = header_below(spec)
        if k is not None:
            exc.args = (
                f"Table '{spec.name}' in {spec.path}: line {spec.skip_rows + 1} is not the header (it reads "
                f"{', '.join(map(str, found))[:120]}); line {k + 1} holds the columns. If the lines above it are a "
                f"title, set tables.{spec.name}.skip_rows: {k} in custrel.yml.",
            )
        elif spec.header and values_not_names(found):
            exc.args = (
                f"Table '{spec.name}' in {spec.path}: line {spec.skip_rows + 1} holds values, not column names "
                f"(it reads {', '.join(map(str, found))[:120]}). If the file has no header line, set "
                f"tables.{spec.name}.header: false and map the columns by their position (1 for the first), e.g. "
                f"columns: {{customer_id: 1, date: 2, amount: 3}}; custrel init {spec.path.name} proposes them.",
            )
        else:
            hint = suggestion(spec.name, found, exc.mapped)
            if hint:
                exc.args = (f"{exc.args[0]} {hint}",)
        raise


_VALUE = re.compile(r"[\d\s.,:/+\-]+")


def values_not_names(found: list[Any]) -> bool:
    """Whether a header line is a row of values (a file without header): most of its fields are numbers or
    dates written with digits, which column names never are."""
    names = [str(f).strip() for f in found if str(f).strip()]
    return bool(names) and sum(bool(_VALUE.fullmatch(n)) for n in names) * 2 > len(names)
