"""Lines of a CSV file that DuckDB's reader does not tell: the header line, the blank lines it skips (the rows
after one keep their line number), a header that names a column twice (DuckDB would rename one) and Excel's
first line ``sep=;``. Both loaders use them (:mod:`custrel_lib.io.readers`, :mod:`custrel_lib.io.scan_source`)."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import re
from pathlib import Path

import numpy as np

from custrel_lib.config import TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import SCHEMA, WHITESPACE_SEP


def blank_lines(path: Path, sep: str, chunk: int = 1 << 20) -> np.ndarray:
    """Numbers of the lines (1-based) holding only blanks, which DuckDB skips: read by chunks, never whole.

    A line of separators (``\t\t`` in a tab-separated file) is a row of empty fields, and a blank line inside a
    quoted value is part of that value: neither is a blank line.
    """
    blanks = bytes(c for c in b" \t\r\f\v" if chr(c) != sep)
    if not _may_have_blank(path, blanks, chunk):  # most files: one pass of a compiled search, no Python loop
        return np.array([], dtype=np.int64)
    found: list[int] = []
    line, tail, quoted = 1, b"", False
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            parts = (tail + data).split(b"\n")
            tail = parts.pop()
            for part in parts:
                if not quoted and not part.strip(blanks):
                    found.append(line)
                quoted ^= part.count(b'"') % 2 == 1
                line += 1
    return np.array(found, dtype=np.int64)


def _may_have_blank(path: Path, blanks: bytes, chunk: int) -> bool:
    """Whether some line (the last one aside) holds only ``blanks``: a line between two line ends, the start of
    the file counting as one. Quoted values are not told apart here: :func:`blank_lines` then looks closer."""
    pattern = re.compile(rb"\n[" + re.escape(blanks) + rb"]*\n")
    tail = b"\n"
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            text = tail + data
            if pattern.search(text):
                return True
            tail = text[text.rfind(b"\n") :]  # the line not yet ended, from its line end on
    return False


def header_line(path, encoding: str, skip: int = 0) -> str:
    """Line ``skip + 1`` of a text file (the header when ``skip`` lines stand above it)."""
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace") as fh:
        return next(itertools.islice(fh, skip, None), "")


def check_csv_header(spec: TableSpec, encoding: str, sep: str) -> None:
    """:func:`check_duplicate_columns` on the header line of a CSV file (both loaders); none without one."""
    if not spec.header:
        return
    header = header_line(spec.path, encoding, spec.skip_rows).lstrip("\ufeff")
    names = header.split() if sep == WHITESPACE_SEP else next(csv.reader([header], delimiter=sep), [])
    check_duplicate_columns(spec, names, f"line {spec.skip_rows + 1}")


def check_duplicate_columns(spec: TableSpec, names: list[str], where: str = "line 1") -> None:
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


def with_excel_sep(spec: TableSpec) -> TableSpec:
    """``spec`` reading a CSV file whose first line is ``sep=;`` (Excel's): that separator, the header below."""
    found = excel_sep(spec.path) if spec.format == "csv" and not spec.skip_rows else None
    return dataclasses.replace(spec, sep=spec.sep or found, skip_rows=1) if found else spec


def excel_sep(path: Path) -> str | None:
    """The separator a first line ``sep=;`` names (Excel writes it, and reads the file with it), or None: no such
    line, or no file yet (the loader then says so)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    found = re.match(rb"(?:\xef\xbb\xbf)?sep=([,;\t|])\r?\n", head)
    return found.group(1).decode("ascii") if found else None
