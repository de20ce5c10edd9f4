"""Columns a table takes from other files by a shared key (``join:`` in ``custrel.yml``), in both loaders.

Relational exports split what custrel reads as one row: Olist's order lines hold the price, its orders the
customer and the date, its customers file the id that stays the same across a customer's orders. Each file of
``join:`` is read as a table's file is (encoding and separator detected, a header line), its columns trimmed;
each row of the table takes the columns of the file's row with the same key (trimmed text), in the order of
``join:`` (a later file may use a column an earlier one brought). A file's column already in the table is not
taken again; a key written twice in a file is refused (which row holds the truth is a guess); a row whose key
is in no row of the file keeps its columns empty (a required one then rejects it, with its reason). The lines
of a file that cannot be split are counted in the table's formats (``join_malformed``), which ``custrel
validate`` says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from custrel_lib.config import FORMATS, TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.csv_lines import with_excel_sep

__all__ = ["join_frame", "join_sql", "lookup_spec"]


def lookup_spec(spec: TableSpec, path: Path) -> TableSpec:
    """How a ``join:`` file is read: as a file of its format, with nothing of the table's mapping."""
    fmt = FORMATS.get(path.suffix.lower(), "csv")
    return TableSpec(name=spec.name, path=path, format=fmt)


def _refuse_twice(path: Path, key: str, value: Any, rows: list[int]) -> DataContractError:
    return DataContractError(
        f"{path}: the join key {key} {value!r} is on several rows (rows {', '.join(map(str, rows[:5]))}): each "
        "key must be on one row of a join: file."
    )


def _missing_key(path: Path, key: str, where: str) -> DataContractError:
    return DataContractError(f"{path}: no column {key!r} to join on (tables.{where}.join); check its name.")


def join_frame(spec: TableSpec, raw: pd.DataFrame, fmt: dict[str, Any]) -> pd.DataFrame:
    """``raw`` (the table's rows as read, pandas loader) with the columns of its ``join:`` files."""
    from custrel_lib.io.readers import clean_text, read_raw

    for path, key in spec.joins:
        lookup, lines, bad = read_raw(with_excel_sep(lookup_spec(spec, path)), {})
        lookup = lookup.rename(columns=lambda c: str(c).strip())
        if key not in lookup.columns:
            raise _missing_key(path, key, spec.name)
        if key not in raw.columns:
            raise _missing_key(spec.path, key, spec.name)
        keys = clean_text(lookup[key])
        twice = keys.notna() & keys.duplicated(keep=False)
        if twice.any():
            value = keys[twice].iloc[0]
            same = (keys == value).fillna(False).to_numpy(dtype=bool)
            raise _refuse_twice(path, key, value, [int(r) for r in lines[same]])
        taken = [c for c in lookup.columns if c not in raw.columns]
        right = lookup[taken].assign(__key=keys.to_numpy())[keys.notna().to_numpy()]  # no key joins no row
        left = raw.assign(__key=clean_text(raw[key]).to_numpy())
        raw = left.merge(right, on="__key", how="left", sort=False).drop(columns="__key")
        if len(bad):
            fmt["join_malformed"] = fmt.get("join_malformed", 0) + int(bad["line"].nunique())
    return raw


def join_sql(raw, name: str, spec: TableSpec, rel: str, fmt: dict[str, Any]) -> str:
    """The relation ``rel`` (engine loader) with the columns of its ``join:`` files, read in the engine."""
    from custrel_lib.io.scan_checks import PROBLEMS
    from custrel_lib.io.scan_source import read_source
    from custrel_lib.io.scan_sql import ident, lit, trimmed

    def columns(relation: str) -> list[str]:
        return [str(r[0]) for r in raw.sql(f"DESCRIBE SELECT * FROM ({relation})").fetchall()]

    for k, (path, key) in enumerate(spec.joins):
        lookup, bad = read_source(raw, f"{name}_join{k}", with_excel_sep(lookup_spec(spec, path)), {})
        raw.execute(f'DELETE FROM {PROBLEMS} WHERE "table" = {lit(f"{name}_join{k}")}')  # counted instead:
        if bad:
            fmt["join_malformed"] = fmt.get("join_malformed", 0) + int(bad)
        have = columns(rel)
        found = {c.strip(): c for c in columns(lookup) if c != "__row"}
        if key not in found:
            raise _missing_key(path, key, spec.name)
        mine = {c.strip(): c for c in have}
        if key not in mine:
            raise _missing_key(spec.path, key, spec.name)
        k_right = trimmed(ident(found[key]))
        twice = raw.sql(
            f"SELECT k, list(__row ORDER BY __row) FROM (SELECT {k_right} AS k, __row FROM ({lookup})) "
            "WHERE k IS NOT NULL GROUP BY k HAVING count(*) > 1 ORDER BY min(__row) LIMIT 1"  # the first
        ).fetchall()
        if twice:
            raise _refuse_twice(path, key, twice[0][0], list(twice[0][1]))
        taken = [c for stripped, c in found.items() if stripped not in mine]
        picked = ", ".join(f"l.{ident(c)} AS {ident(c.strip())}" for c in taken)
        k_left = trimmed(f"m.{ident(mine[key])}")
        rel = (
            f"SELECT m.*{', ' + picked if picked else ''} FROM ({rel}) m LEFT JOIN "
            f"(SELECT *, {k_right} AS __key FROM ({lookup})) l ON {k_left} = l.__key"
        )
    return rel
