"""A table read from several files (``path: ventes_*.csv``) or sheets (``sheet: '*'``), one after the other, by
the pandas loader (the engine's: :func:`custrel_lib.io.scan_source.read_sources`). Their rows are numbered across
them (:data:`~custrel_lib.io.problems.FILE_STRIDE`) while the table loads; each must hold the table's columns (of its
source, for a table of several sources: ``TableSpec.sources``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.config import TableSpec
from custrel_lib.io.csv_lines import with_excel_sep
from custrel_lib.io.header import map_columns
from custrel_lib.io.problems import FILE_STRIDE, file_names
from custrel_lib.io.readers import excel_engine, read_raw


def pieces(spec: TableSpec) -> list[tuple[TableSpec, str]]:
    """What a table is read from, in order: each file (and each sheet of a workbook when ``sheet`` lists
    several, or is ``*``: every sheet) as the spec of that one file and sheet, with the name the problems
    report gives it (``ventes.xlsx [2010]``)."""
    out = []
    sources = [s for s in spec.sources or (spec,) for _ in s.files]  # a table of several sources: each one's
    for path, name, source in zip(spec.files, file_names(spec.files), sources, strict=True):
        one = dataclasses.replace(source, path=path, parts=(), sources=())
        if one.format != "xlsx" or not (one.sheet == "*" or isinstance(one.sheet, list)):
            out.append((one, name))
            continue
        sheets = one.sheet
        if sheets == "*":
            sheets = pd.ExcelFile(path, engine=excel_engine()).sheet_names if path.is_file() else [0]
        out += [(dataclasses.replace(one, sheet=sheet), f"{name} [{sheet}]") for sheet in sheets]
    return out


def numbered_sources(spec: TableSpec, fmt: dict[str, Any]) -> list[tuple[TableSpec, int, dict[str, Any]]]:
    """Each source of a table of several (``spec.sources``) with the number of its first piece (its rows are
    numbered after the previous sources') and its own formats, listed in ``fmt["sources"]``; ``fmt`` itself
    gets the first source's formats once they are read (:func:`first_formats`)."""
    out, first = [], 0
    for source in spec.sources:
        fmt.setdefault("sources", []).append(one := {})
        out.append((source, first, one))
        first += len(pieces(source))
    return out


def first_formats(fmt: dict[str, Any]) -> None:
    """The formats of a table of several sources: the first source's, beside the list of each one's."""
    fmt.update({k: v for k, v in fmt["sources"][0].items() if k != "sources"})


def read_parts(
    spec: TableSpec, fmt: dict[str, Any], first: int = 0
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """:func:`read_raw` of a table's file, or of each of its files or sheets (:func:`pieces`) one after the
    other, their rows numbered across them (:data:`~custrel_lib.io.problems.FILE_STRIDE`); each must hold the
    table's columns. ``first``: the number of the first piece (a later source of a table of several)."""
    parts = pieces(spec)
    if len(parts) == 1 and not first:
        return read_raw(with_excel_sep(parts[0][0]), fmt)
    frames, rows, rejects = [], [], []
    for k, (one, _) in enumerate(parts, start=first):
        one = with_excel_sep(one)
        df, lines, bad = read_raw(one, fmt)
        df = df.rename(columns=lambda c: str(c).strip())
        map_columns(one, list(df.columns))  # a file without the table's columns is said with its name
        frames.append(df)
        rows.append(lines + k * FILE_STRIDE)
        rejects.append(bad.assign(line=bad["line"].astype("int64") + k * FILE_STRIDE))
    return pd.concat(frames, ignore_index=True), np.concatenate(rows), pd.concat(rejects, ignore_index=True)
