"""SQL for the engine loader: one typed column per canonical column, and the row-level checks.

Each function mirrors a coercion of the pandas loader (:mod:`custrel_lib.io.readers`): trimmed text with
empty as missing, dates in the detected format, numbers with the detected decimal separator, yes/no words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from custrel_lib.config import TableSpec
from custrel_lib.io.contract import (
    AMOUNT_PARTS,
    DECIMAL_ID_STRIP,
    EARLIEST_DATE,
    LATEST_DATE,
    MONTH_WORDS,
    NOTE,
    NUMBER_CODE,
    NUMBER_NEGATIVE,
    ORDER_LEVEL,
    SCHEMA,
    ZONE,
    empty_message,
    has_month_name,
    number_shape,
    out_of_range_message,
    split_zone,
    unreadable_date,
)
from custrel_lib.io.numeric_dates import numeric_date

#: Blanks trimmed from text (Arrow's ``utf8_trim_whitespace`` set, as the pandas loader trims).
WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_CLASS = "[" + "".join(f"\\x{{{ord(c):04x}}}" for c in WHITESPACE) + "]"
#: Trimming with a character set is slow in DuckDB: only values that start or end with a blank are trimmed.
_EDGE = f"^{_CLASS}|{_CLASS}$"
NOISE = "[\\s\xa0\u202f€$£]"
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL")
NULL_TYPES = {
    "id": "VARCHAR",
    "str": "VARCHAR",
    "date": "DATE",
    "amount": "DOUBLE",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
}
#: The "type" of a source that is a constant of custrel.yml (``type: "=nps"``), not a column of the file.
CONSTANT = "CONSTANT"
#: A check: (SQL condition, column, reason, action, SQL of the reported value, SQL of the message).
Check = tuple[str, str, str, str, str, str]


def lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier: a column name of the user's file, quoted."""
    return '"' + str(name).replace('"', '""') + '"'


def _in(values: Iterable[str]) -> str:
    return ", ".join(lit(v) for v in values)


def trimmed(q: str) -> str:
    """SQL of a column as trimmed text, empty as NULL."""
    v = f"CAST({q} AS VARCHAR)"
    return f"NULLIF(CASE WHEN regexp_matches({v}, {lit(_EDGE)}) THEN trim({v}, {lit(WHITESPACE)}) ELSE {v} END, '')"


@dataclass
class TypedTable:
    """The SQL of a table's typed view and its row-level checks."""

    name: str
    select: str
    checks: list[Check] = field(default_factory=list)
    malformed: int = 0
    excluded: int = 0  # rows left out by exclude: in custrel.yml (custrel_lib.io.exclude)
    file: str = ""


def _is(duck_type: str, prefixes: tuple[str, ...]) -> bool:
    t = duck_type.upper()
    return t.startswith(prefixes) or t.startswith(tuple("U" + p for p in prefixes))


def _number(t: str, duck_type: str, decimal: Callable[[str], str]) -> tuple[str, str]:
    if _is(duck_type, NUMERIC_TYPES):
        v = "CAST(__q AS DOUBLE)"  # NaN is empty, as pandas reads it; an infinity is not a number (_column)
        return f"CASE WHEN isnan({v}) OR isinf({v}) THEN NULL ELSE {v} END", "native"
    plain = f"regexp_replace({t}, {lit(NOISE)}, '', 'g')"
    cleaned = f"regexp_replace(regexp_replace({plain}, {lit(NUMBER_CODE)}, '', 'g'), {lit(NUMBER_NEGATIVE)}, '-\\1\\2')"
    # The decimal mark, detected as the pandas loader does: codes set aside, (12,50) and 12,50- as -12,50.
    used = decimal(cleaned)
    # Most values hold only digits, a sign and the decimal mark: cast at once. The others are cleaned and checked
    # against the shape of a number ("12,5" with decimal points is not 125; 1_000 is not a number).
    mark = "," if used == "," else "."
    fast = f"replace({plain}, ',', '.')" if used == "," else plain
    marks = (
        f"replace(replace({cleaned}, '.', ''), ',', '.')" if used == "," else f"replace({cleaned}, ',', '')"
    )
    v = (
        f"TRY_CAST(CASE WHEN NOT regexp_matches({plain}, {lit(f'[^0-9{mark}+-]|.-$')}) THEN {fast} "
        f"WHEN regexp_full_match({cleaned}, {lit(number_shape(used))}) THEN {marks} END AS DOUBLE)"
    )
    return f"CASE WHEN isnan({v}) OR isinf({v}) THEN NULL ELSE {v} END", used


def _date(t: str, duck_type: str, date_format: Callable[[str], str | None]) -> tuple[str, str | None]:
    upper = duck_type.upper()
    if upper == "DATE":
        return "__q", "native"
    if upper.startswith("TIMESTAMPTZ") or "WITH TIME ZONE" in upper:
        # An instant (TIMESTAMPTZ, _NS too): its UTC day whatever the session's zone, as the pandas loader reads it.
        return "CAST(timezone('UTC', CAST(__q AS TIMESTAMPTZ)) AS DATE)", "native"
    if upper.startswith("TIMESTAMP"):
        return "CAST(__q AS DATE)", "native"
    fmt = date_format(t)
    if fmt is None:
        return "CAST(NULL AS DATE)", None
    if numeric_date(fmt):  # readers.numeric_days: Excel's serial days, Unix time, days since a day
        pattern, (low, high), per_day, origin = numeric_date(fmt)
        number = f"CAST(replace({t}, ',', '.') AS DOUBLE)"
        ok = f"regexp_full_match({t}, {lit(pattern)}) AND {number} BETWEEN {low} AND {high}"
        days = f"CAST(floor({number} / {per_day}) AS INTEGER)"
        return f"CASE WHEN {ok} THEN DATE {lit(origin)} + {days} END", fmt
    base, zoned = split_zone(fmt)
    text = f"regexp_replace({t}, {lit(ZONE)}, '\\1')" if zoned else t
    text = _english_months(text) if has_month_name(base) else text
    d = f"CAST(try_strptime({text}, {lit(base)}) AS DATE)"
    # DuckDB reads %Y from fewer than four digits (24-01-05 is the year 24); Python, and so the pandas loader, not.
    return f"CASE WHEN year({d}) < 1000 AND NOT regexp_matches({t}, '[0-9]{{4}}') THEN NULL ELSE {d} END", fmt


def _english_months(text: str) -> str:
    """SQL of ``readers.english_months``: French month names as English abbreviations."""
    for pattern, english in MONTH_WORDS:
        text = f"regexp_replace({text}, {lit(pattern)}, {lit(english)}, 'i')"
    return text


def _bool(t: str, duck_type: str, spec: TableSpec, trues, falses) -> tuple[str, bool]:
    if duck_type.upper() == "BOOLEAN":
        return "__q", True
    yes = {v.lower() for v in (spec.true_values or trues)}
    no = {v.lower() for v in (spec.false_values or falses)}
    return (
        f"CASE WHEN lower({t}) IN ({_in(sorted(yes))}) THEN true WHEN lower({t}) IN ({_in(sorted(no))}) "
        "THEN false END"
    ), False


def _column(column: str, kind: str, source: tuple[str, str] | None, spec, detect, fmt, trues, falses):
    """(inner SQL, outer SQL, bad-value condition or None, emptiness condition) of one canonical column."""
    if source is None:
        empty = f"CAST(NULL AS {NULL_TYPES[kind]}) AS {column}"
        return (
            None,
            (f"CAST(NULL AS DATE) AS __d_{column}, " if kind == "date" else "") + empty,
            None,
            f"{column} IS NULL",
        )
    user, duck_type = source
    q = lit(user[1:]) if duck_type == CONSTANT else ident(user)
    t = f"__t_{column}"
    inner = f"CAST({q} AS VARCHAR) AS __v_{column}, {trimmed(q)} AS {t}, {q} AS __q_{column}"
    bad, empty = None, f"{t} IS NULL"
    if kind in ("id", "str"):
        words = getattr(spec, "values", {}).get(column)
        cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in (words or {}).items())
        expr = f"CASE lower({t}) {cases} ELSE {t} END" if words else t  # values: in custrel.yml
        writing = detect("id", t) if kind == "id" else None  # writing.id_writing
        if writing == "decimal":  # 17850.0: 17850
            expr = f"regexp_replace({t}, {lit(DECIMAL_ID_STRIP[0])}, {lit(DECIMAL_ID_STRIP[1])})"
        elif writing == "email":  # Marie@X.fr: marie@x.fr
            expr = f"lower({t})"
        if writing:
            fmt.setdefault(f"{writing}_ids", []).append(column)
    elif kind == "date":
        expr, used = _date(t, duck_type, lambda e: detect("date", e))
        fmt.setdefault("date_format", {})[column] = used
        # The date as read (__d_), and kept when plausible: the other is out of range (_checks).
        d = f"__d_{column}"
        expr = f"{expr} AS {d}, CASE WHEN {d} BETWEEN DATE {lit(EARLIEST_DATE)} AND DATE {lit(LATEST_DATE)} THEN {d} END"
        bad = f"{t} IS NOT NULL AND {d} IS NULL" if used != "native" else None
        empty = f"{d} IS NULL" if used == "native" else empty
    elif kind in ("amount", "float"):
        note = f"regexp_replace({t}, {lit(NOTE)}, '\\1')" if kind == "float" else t  # "9/10": 9
        expr, used = _number(note, duck_type, lambda e: detect("number", e))
        if duck_type != CONSTANT:  # a constant (amounts: false) was not read from the file
            fmt.setdefault("decimal", {})[column] = used
        bad = f"{t} IS NOT NULL AND {column} IS NULL"
        if used == "native":  # NaN is empty; an infinity is not a number
            bad = f"isinf(CAST(__q_{column} AS DOUBLE))"
            empty = f"{column} IS NULL AND {bad} IS NOT TRUE"
    else:
        expr, native = _bool(t, duck_type, spec, trues, falses)
        bad = None if native else f"{t} IS NOT NULL AND {column} IS NULL"
    return inner, f"{expr.replace('__q', f'__q_{column}')} AS {column}", bad, empty


def _checks(column: str, kind: str, required: bool, bad: str | None, empty: str, used: Any) -> list[Check]:
    out: list[Check] = []
    value = f"__v_{column}"
    if kind == "date":
        action = "rejected" if required else "repaired"
        if bad:
            message = unreadable_date(used) + ("" if required else ": emptied")
            out.append((bad, column, "unparseable_date", action, value, lit(message)))
        outside = f"__d_{column} IS NOT NULL AND {column} IS NULL"
        message = lit(out_of_range_message(not required))
        out.append((outside, column, "date_out_of_range", action, value, message))
    elif bad and kind == "amount":
        what = column if column in AMOUNT_PARTS else "amount"
        out.append((bad, column, "non_numeric_amount", "rejected", value, lit(f"the {what} is not a number")))
    elif bad and kind == "float":
        out.append((bad, column, "non_numeric_value", "repaired", value, lit("not a number: emptied")))
    elif bad and kind == "bool":
        out.append((bad, column, "invalid_value", "repaired", value, lit("not a yes/no value: emptied")))
    if required:
        reason = "missing_customer_id" if column == "customer_id" else "missing_value"
        out.append((empty, column, reason, "rejected", value, lit(f"{column} is empty")))
    return out


def _order_level(check: Check, order_lines: bool) -> Check:
    """The missing-value check of a transaction's date or amount on a line with an order id
    (:data:`~custrel_lib.io.contract.ORDER_LEVEL`): with ``order_lines: true`` the line waits for the check across
    the order's lines (:func:`custrel_lib.io.scan_checks.cross_checks`); without, its message says the setting."""
    empty, column, reason, action, value, _ = check
    if order_lines:
        message = lit(empty_message(column, True, False))
        return (f"({empty}) AND order_id IS NULL", column, reason, action, value, message)
    message = (
        f"CASE WHEN order_id IS NULL THEN {lit(empty_message(column, False, False))} "
        f"ELSE {lit(empty_message(column, False, True))} END"
    )
    return empty, column, reason, action, value, message


def typed_table(
    name: str,
    spec: TableSpec,
    rel: str,
    sources: dict[str, tuple[str, str]],
    detect: Callable[[str, str], Any],
    fmt: dict[str, Any],
    trues,
    falses,
) -> TypedTable:
    """The typed view of ``rel`` (the file with ``__row``): raw value ``__v_<c>``, text ``__t_<c>``, typed ``<c>``.

    ``sources`` maps canonical columns to the file's (column, DuckDB type); ``detect(kind, sql)`` returns the
    date format or decimal separator of a text column from a sample.
    """
    inner, outer, checks = ["__row"], ["*"], []
    columns = [(c, kind, required) for c, (kind, required) in SCHEMA[name].items()]
    parts = [p for p in AMOUNT_PARTS if p in sources]  # no amount column: amount = quantity x unit price
    if parts:
        columns = [(p, "amount", True) for p in parts] + [c for c in columns if c[0] != "amount"]
    for column, kind, required in columns:
        source = sources.get(column)

        def detect_one(k, e, _c=column, _src=source):
            q = lit(_src[0][1:]) if _src[1] == CONSTANT else ident(_src[0])
            return detect(k, e.replace(f"__t_{_c}", trimmed(q)))

        i, o, bad, empty = _column(column, kind, source, spec, detect_one, fmt, trues, falses)
        if i:
            inner.append(i)
        outer.append(o)
        used = fmt.get("date_format", {}).get(column) if kind == "date" else None
        if source is None:  # an optional column the file lacks (a required one stopped the load): no check
            continue
        checks += _checks(column, kind, required, bad, empty, used)
        if name == "transactions" and column in ORDER_LEVEL:
            checks[-1] = _order_level(checks[-1], spec.order_lines)
    if parts:
        outer.append("round(quantity * unit_price, 6) AS amount")
    select = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM ({rel}))"
    return TypedTable(name=name, select=select, checks=checks)
