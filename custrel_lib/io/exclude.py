"""Rows that ``custrel.yml`` leaves out on purpose: cancelled orders, test accounts, staff purchases.

``tables.<name>.exclude`` maps a column of the file (or a contract column named in ``columns:``, followed to the
file's column) to values: a row whose value, trimmed and in any letter case, is one of them is left out before the
data contract is checked, the same way in both loaders (:mod:`custrel_lib.io.load`, :mod:`custrel_lib.io.scan`).
Nothing is dropped silently: each row left out is listed in the problems report (reason and action
``excluded``, the rule in its message) and counted apart, so that rows read = kept + rejected + excluded.
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


def source_columns(spec: TableSpec, found: list) -> dict[str, Any]:
    """The columns of ``exclude:`` as the file names them (exactly, else once folded as ``columns:`` are:
    :func:`~custrel_lib.io.contract.fold`), or an error naming the file and its columns."""
    names = {str(c).strip(): c for c in found}
    folded: dict[str, list] = {}
    for name, c in names.items():
        folded.setdefault(fold(name), []).append(c)
    out = {}
    for column in spec.exclude:
        name = str(spec.columns.get(column, column))
        same = folded.get(fold(name), [])
        if name not in names and len(same) != 1:
            raise DataContractError(
                f"Table '{spec.name}' in {spec.path}: tables.{spec.name}.exclude names the column {column!r}, "
                f"which the file does not have (its columns: {', '.join(list(names)[:30])})."
            )
        out[column] = names[name] if name in names else same[0]
    return out


def _order_source(spec: TableSpec, found: list):
    """The file's column of the order id when ``order_lines: true`` asks that an order be left out whole, else
    None (no setting, or no order id column)."""
    if not (spec.order_lines and spec.name == "transactions"):
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


def _matches(values: pd.Series, rules: list[str]) -> tuple[pd.Series, np.ndarray]:
    """``values`` as the loaders read text (trimmed, empty as missing), and which of them a rule names."""
    text = clean_text(values)
    return text, text.str.lower().isin(rules).fillna(False).to_numpy(dtype=bool)


def _case(text: str, pairs: list[tuple[str, str]], said: list[str] | None = None) -> str:
    """SQL of what the problems report says of each matched value (``pairs``: its text in SQL, as read):
    the value as read, or ``said``."""
    out = said or [v for _, v in pairs]
    return (
        "CASE "
        + " ".join(f"WHEN {text} = {lit(t)} THEN {lit(o)}" for (t, _), o in zip(pairs, out, strict=True))
        + " END"
    )


def leave_out(
    spec: TableSpec, raw: pd.DataFrame, rows: np.ndarray, problems
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """``raw`` and its row numbers without the rows ``spec.exclude`` names (pandas loader); how many left."""
    if not spec.exclude:
        return raw, rows, 0
    out = np.zeros(len(raw), dtype=bool)
    for column, source in source_columns(spec, list(raw.columns)).items():
        text, hit = _matches(raw[source].reset_index(drop=True), spec.exclude[column])
        if hit.any():
            values = text[hit]
            said = [MESSAGE.format(column=column, value=v, table=spec.name) for v in values.str.lower()]
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
    if not spec.exclude:
        return rel, 0
    hits = []
    for column, source in source_columns(spec, found).items():
        quoted = ident(source)
        text = f"CAST({quoted} AS VARCHAR)"
        distinct = raw.sql(f"SELECT DISTINCT {quoted} AS v, {text} AS t FROM ({rel})").df()
        shown, match = _matches(distinct["v"], spec.exclude[column])
        if not match.any():
            continue
        pairs = list(zip(distinct["t"][match], shown[match], strict=True))
        hit = f"coalesce({text} IN ({', '.join(lit(t) for t, _ in pairs)}), false)"

        said = [MESSAGE.format(column=column, value=v.lower(), table=spec.name) for _, v in pairs]
        raw.execute(
            f"INSERT INTO {problems_table} SELECT {lit(spec.name)}, {lit(spec.path.name)}, __row, "
            f"{lit(column)}, 'excluded', 'excluded', {_case(text, pairs)}, {_case(text, pairs, said)} FROM ({rel}) WHERE {hit}"
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
