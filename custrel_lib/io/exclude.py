"""Rows that ``custrel.yml`` leaves out on purpose: cancelled orders, test accounts, staff purchases, the events of
a log that are not purchases.

``tables.<name>.exclude`` maps a column of the file (or a contract column named in ``columns:``, followed to the
file's column) to values: a row whose value, trimmed and in any letter case, is one of them is left out before the
data contract is checked, the same way in both loaders (:mod:`custrel_lib.io.load`, :mod:`custrel_lib.io.scan`).
``tables.<name>.keep`` is the other way round: a row whose value is none of them is left out (an event log's
``event_type: [purchase]``), an empty value too, except on the lines of an order (``order_lines: true``), which
follow their order as with ``exclude``.
Nothing is dropped silently: each row left out is in the problems report (reason and action ``excluded``, the
rule in its message; the engine lists the first :data:`~custrel_lib.io.problems.LISTED` and counts the others)
and counted apart, so that rows read = kept + rejected + excluded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from custrel_lib.config import TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import fold, is_constant
from custrel_lib.io.header import map_columns
from custrel_lib.io.readers import clean_text
from custrel_lib.io.scan_sql import ident, lit, trimmed

#: The message of a row left out (problems report; ``custrel validate``).
MESSAGE = "{column} = {value}: left out by custrel.yml (tables.{table}.exclude)"
#: With ``order_lines: true``, the other lines of an order a rule leaves out (Shopify's status is on the first
#: line only): left out with it, under the order id.
ORDER_MESSAGE = "a line of an order left out by custrel.yml (tables.{table}.exclude)"
#: The message of a row that ``keep:`` leaves out (its value is not one of those kept), and of an empty one.
KEEP_MESSAGE = "{column} = {value}: not a value custrel.yml keeps (tables.{table}.keep)"
KEEP_EMPTY = "{column} is empty: not a value custrel.yml keeps (tables.{table}.keep)"


def _said(spec: TableSpec, column: str, value, kept: bool) -> str:
    """The problems report's message of a row left out by a rule on ``column``: ``kept`` when by ``keep:``."""
    if not kept:
        return MESSAGE.format(column=column, value=value, table=spec.name)
    if value is None or pd.isna(value):
        return KEEP_EMPTY.format(column=column, table=spec.name)
    return KEEP_MESSAGE.format(column=column, value=value, table=spec.name)


def _left_out(spec: TableSpec, column: str, text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which values of ``text`` (trimmed, empty as missing: :func:`clean_text`) the rules on ``column`` leave
    out, and which of those by ``keep:`` (its value is not kept; empty, unless the table's rows are order lines)."""
    lower = text.str.lower()
    hit = lower.isin(spec.exclude.get(column, [])).fillna(False).to_numpy(dtype=bool)
    by_keep = np.zeros(len(text), dtype=bool)
    if column in spec.keep:
        by_keep = ~lower.isin(spec.keep[column]).fillna(False).to_numpy(dtype=bool) & ~hit
        if _order_lines(spec):
            by_keep &= text.notna().to_numpy(dtype=bool)
    return hit | by_keep, by_keep


def source_columns(spec: TableSpec, found: list) -> dict[str, Any]:
    """The columns of ``exclude:`` as the file names them (exactly, else once folded as ``columns:`` are:
    :func:`~custrel_lib.io.contract.fold`), or an error naming the file and its columns."""
    names = {str(c).strip(): c for c in found}
    folded: dict[str, list] = {}
    for name, c in names.items():
        folded.setdefault(fold(name), []).append(c)
    out = {}
    for column in [*spec.exclude, *(c for c in spec.keep if c not in spec.exclude)]:
        name = str(spec.columns.get(column, column))
        same = folded.get(fold(name), [])
        if name not in names and len(same) != 1:
            raise DataContractError(
                f"Table '{spec.name}' in {spec.path}: tables.{spec.name}."
                f"{'exclude' if column in spec.exclude else 'keep'} names the column {column!r}, "
                f"which the file does not have (its columns: {', '.join(list(names)[:30])})."
            )
        out[column] = names[name] if name in names else same[0]
    return out


def _order_lines(spec: TableSpec) -> bool:
    return bool(spec.order_lines and spec.name == "transactions")


def _order_source(spec: TableSpec, found: list):
    """The file's column of the order id when ``order_lines: true`` asks that an order be left out whole, else
    None (no setting, or no order id column)."""
    if not _order_lines(spec):
        return None
    names = {str(c).strip(): c for c in found}
    source = map_columns(spec, list(names)).get("order_id")
    return None if source is None or is_constant(source) else names[source]


def _problem_rows(spec: TableSpec, file: str, column: str, rows, values, messages) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "table": spec.name,
            "file": file,
            "row": rows,
            "column": column,
            "reason": "excluded",
            "action": "excluded",
            "value": values,
            "message": messages,
        }
    )


def _case(text: str, pairs: list[tuple[str, str]], said: list[str] | None = None, empty=None) -> str:
    """SQL of what the problems report says of each matched value (``pairs``: its text in SQL, as read):
    the value as read, or ``said``; ``empty`` of a missing value."""
    out = said or [v if isinstance(v, str) else None for _, v in pairs]
    return (
        "CASE "
        + " ".join(
            f"WHEN {text} = {lit(t)} THEN {lit(o) if o is not None else 'NULL'}"
            for (t, _), o in zip(pairs, out, strict=True)
        )
        + (f" ELSE {lit(empty)}" if empty is not None else "")
        + " END"
    )


def leave_out(
    spec: TableSpec, raw: pd.DataFrame, rows: np.ndarray, problems
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """``raw`` and its row numbers without the rows ``spec.exclude`` names, or ``spec.keep`` does not (pandas
    loader); how many left."""
    if not (spec.exclude or spec.keep):
        return raw, rows, 0
    out = np.zeros(len(raw), dtype=bool)
    for column, source in source_columns(spec, list(raw.columns)).items():
        text = clean_text(raw[source].reset_index(drop=True))
        hit, by_keep = _left_out(spec, column, text)
        if hit.any():
            values = text[hit]
            lower = values.str.lower()
            said = [_said(spec, column, v, k) for v, k in zip(lower, by_keep[hit], strict=True)]
            problems.add(_problem_rows(spec, spec.path.name, column, rows[hit], values.to_numpy(), said))
        out |= hit
    order = _order_source(spec, list(raw.columns))
    if order is not None and out.any():
        ids = clean_text(raw[order].reset_index(drop=True))
        more = (~out & ids.isin(ids[out].dropna().unique())).to_numpy(dtype=bool)
        if more.any():
            said = ORDER_MESSAGE.format(table=spec.name)
            problems.add(
                _problem_rows(spec, spec.path.name, "order_lines", rows[more], ids[more].to_numpy(), said)
            )
        out |= more
    return raw[~out].reset_index(drop=True), rows[~out], int(out.sum())


def leave_out_sql(raw, spec: TableSpec, rel: str, found: list[str], problems_table: str) -> tuple[str, int]:
    """The relation ``rel`` without the rows ``spec.exclude`` names (engine loader), their problems written to
    ``problems_table``; how many rows were left out.

    The rules are matched on the column's distinct values (a status column has a handful), read as the pandas
    loader reads values (:func:`~custrel_lib.io.readers.clean_text`: a Parquet 3.0 is "3" in both), and rows are
    then picked by exact value: trimming and folding every row of a large table cost more than the load's scan.
    """
    if not (spec.exclude or spec.keep):
        return rel, 0
    hits = []
    for column, source in source_columns(spec, found).items():
        quoted = ident(source)
        text = f"CAST({quoted} AS VARCHAR)"
        distinct = raw.sql(f"SELECT DISTINCT {quoted} AS v, {text} AS t FROM ({rel})").df()
        shown = clean_text(distinct["v"])
        match, by_keep = _left_out(spec, column, shown)
        null = match & distinct["t"].isna().to_numpy()  # a missing value that keep: leaves out
        match &= ~null
        if not (match.any() or null.any()):
            continue
        pairs = list(zip(distinct["t"][match], shown[match], strict=True))
        hit = f"coalesce({text} IN ({', '.join(lit(t) for t, _ in pairs) or 'NULL'}), false)"
        hit = f"({hit} OR {text} IS NULL)" if null.any() else hit
        said = [
            _said(spec, column, v.lower() if isinstance(v, str) else v, k)
            for (_, v), k in zip(pairs, by_keep[match], strict=True)
        ]
        empty = _said(spec, column, None, True) if null.any() else None
        raw.execute(
            f"INSERT INTO {problems_table} SELECT {lit(spec.name)}, {lit(spec.path.name)}, __row, "
            f"{lit(column)}, 'excluded', 'excluded', {_case(text, pairs)}, {_case(text, pairs, said, empty)} "
            f"FROM ({rel}) WHERE {hit}"
        )
        hits.append(hit)
    if not hits:
        return rel, 0
    order = _order_source(spec, found)
    if order is not None:  # the other lines of an order left out (order_lines: true)
        ids = trimmed(ident(order))
        left = f"({' OR '.join(hits)})"
        more = f"NOT {left} AND {ids} IN (SELECT {ids} FROM ({rel}) WHERE {left} AND {ids} IS NOT NULL)"
        said = lit(ORDER_MESSAGE.format(table=spec.name))
        raw.execute(
            f"INSERT INTO {problems_table} SELECT {lit(spec.name)}, {lit(spec.path.name)}, __row, 'order_lines', "
            f"'excluded', 'excluded', {ids}, {said} FROM ({rel}) WHERE {more}"
        )
        hits.append(f"coalesce({more}, false)")
    n = raw.sql(
        f"SELECT count(DISTINCT row) FROM {problems_table} WHERE \"table\" = {lit(spec.name)} AND action = 'excluded'"
    ).fetchall()[0][0]
    return f"SELECT * FROM ({rel}) WHERE NOT ({' OR '.join(hits)})", int(n)
