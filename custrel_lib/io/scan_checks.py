"""The checks of the engine loader across rows and tables (:mod:`custrel_lib.io.scan`), as SQL on the typed tables.

Each check is ``(condition, column, reason, action, value, message)``; :func:`_insert` writes the matching rows'
problems to the problems table, and a row counts as kept while no check has rejected it (:func:`kept`).
"""

from __future__ import annotations

import pandas as pd

from custrel_lib.io.contract import (
    CONTRACT_ORDER_MESSAGE,
    END_REASON_MESSAGE,
    END_REASON_SYNONYMS,
    END_REASONS,
    INTERACTION_TYPES,
    ORDER_LEVEL,
    TYPE_SYNONYMS,
    empty_message,
)
from custrel_lib.io.scan_sql import TypedTable, lit

PROBLEMS = "__custrel_problems"


def _synonyms(expr: str, words: dict[str, str]) -> str:
    cases = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in words.items())
    return f"CASE {expr} {cases} ELSE {expr} END"


#: The interaction type as the analyses read it: case and accents folded, French words mapped.
FOLD = _synonyms("lower(strip_accents(type))", TYPE_SYNONYMS)
#: The end reason, lower case, French words mapped (before the check against END_REASONS).
END_REASON = _synonyms("lower(end_reason)", END_REASON_SYNONYMS)


def problem_list(checks: list[tuple[str, str, str, str, str, str]]) -> tuple[str, str]:
    """SQL of the list of a row's problems (one struct per failed check), and of "the row has a problem"."""
    items = ", ".join(
        f"CASE WHEN {cond} THEN {{'c': {lit(column)}, 'r': {lit(reason)}, 'a': {lit(action)}, "
        f"'v': CAST({value} AS VARCHAR), 'm': {message}}} END"
        for cond, column, reason, action, value, message in checks
    )
    where = " OR ".join(f"coalesce({c[0]}, false)" for c in checks)
    return f"list_filter([{items}], lambda x: x IS NOT NULL)", where


#: A contract ending before it starts (both dates emptied in the kept table: scan._repaired), and how it is shown.
CONTRACT_ORDER = "contract_end < contract_start"
CONTRACT_ORDER_SHOWN = "strftime(contract_end, '%Y-%m-%d') || ' < ' || strftime(contract_start, '%Y-%m-%d')"


def _insert(raw, table: str, file: str, checks: list[tuple[str, str, str, str, str, str]]) -> None:
    """Each check: (condition, column, reason, action, value expression, message) on the typed view.

    All the checks given are evaluated in one scan of the table: each row yields the list of its problems.
    """
    if not checks:
        return
    items, where = problem_list(checks)
    raw.execute(
        f"INSERT INTO {PROBLEMS} SELECT {lit(table)}, {lit(file)}, __row, p.c, p.r, p.a, p.v, p.m FROM "
        f"(SELECT __row, unnest({items}) AS p FROM __custrel_typed_{table} WHERE {where}) ORDER BY __row"
    )


def rejected(name: str) -> str:
    return f"(SELECT row FROM {PROBLEMS} WHERE \"table\" = {lit(name)} AND action = 'rejected')"


def kept(name: str) -> str:
    return f"__row NOT IN {rejected(name)}"


def _rows_in(raw, table: str, label: str, rows: str) -> str:
    """The rows a check with a subquery finds (``rows``: a query of ``__row``), found once into a temporary
    table; returns the condition "is one of them".

    :func:`_insert` reads a check's condition twice (to filter the rows, and to list their problems), and DuckDB
    plans a subquery in each: a check across rows or tables would scan and group the table twice.
    """
    name = f"__custrel_{label}_{table}"
    raw.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {rows}")
    return f"__row IN (SELECT __row FROM {name})"


def _rows_where(raw, table: str, label: str, condition: str) -> str:
    """:func:`_rows_in` for the rows of ``table`` meeting ``condition``."""
    return _rows_in(raw, table, label, f"SELECT __row FROM __custrel_typed_{table} WHERE {condition}")


def _dup(raw, table: str, column: str, among: str | None = None, label: str | None = None) -> str:
    """Rows whose ``column`` (one column, or several separated by commas) repeats an earlier kept row's, in
    file order, among the rows kept so far (and meeting ``among``: by default, ``column`` is not null).

    The candidates are the rows whose value's hash repeats (integers group much faster than text); the exact
    test, by value and in file order, runs among them only, so that two values with the same hash stay apart.
    """
    typed, is_kept = f"__custrel_typed_{table}", kept(table)
    among = among or f"{column} IS NOT NULL"
    repeated = (
        f"SELECT hash({column}) FROM {typed} WHERE {among} AND {is_kept} GROUP BY 1 HAVING count(*) > 1"
    )
    later = (
        f"SELECT __row FROM (SELECT __row, row_number() OVER (PARTITION BY {column} ORDER BY __row) AS n "
        f"FROM {typed} WHERE {among} AND {is_kept} AND hash({column}) IN ({repeated})) WHERE n > 1"
    )
    return _rows_in(raw, table, label or f"dup_{column}", later)


def _case_twins(raw, table: str) -> str:
    """Kept rows whose customer id differs only by letter case from its first spelling in file order (as
    ``keys.case_twins``). The candidates are the ids whose lower case (hashed) has several spellings."""
    typed, is_kept = f"__custrel_typed_{table}", kept(table)
    where = f"customer_id IS NOT NULL AND {is_kept}"
    twins = (
        f"SELECT hash(lower(customer_id)) FROM {typed} WHERE {where} GROUP BY 1 "
        "HAVING count(DISTINCT hash(customer_id)) > 1"
    )
    later = (
        f"SELECT __row FROM (SELECT __row, customer_id, first_value(customer_id) OVER (PARTITION BY "
        f"lower(customer_id) ORDER BY __row) AS c0 FROM {typed} WHERE {where} "
        f"AND hash(lower(customer_id)) IN ({twins})) WHERE customer_id <> c0"
    )
    return _rows_in(raw, table, "id_case", later)


def _future(column: str, day: str, message: str) -> tuple:
    return (
        f"{column} > DATE {day}",
        column,
        "future_date",
        "rejected",
        f"strftime({column}, '%Y-%m-%d')",
        lit(message),
    )


def _interaction_checks(raw, staged: dict, day: str, as_of: pd.Timestamp) -> list[tuple]:
    checks = [
        _future("date", day, f"after the extraction date {as_of.date()}"),
        (f"{FOLD} IS NOT NULL AND {FOLD} NOT IN ({in_list(INTERACTION_TYPES)})", "type", "invalid_value", "flagged",
         "type", lit("unknown interaction type: kept, ignored by the analyses")),
        (f"{FOLD} = 'nps' AND score IS NOT NULL AND NOT (score BETWEEN 0 AND 10)", "score", "invalid_value",
         "repaired", "score", lit("an NPS score must be between 0 and 10: emptied")),
    ]  # fmt: skip
    # A known customer is in the transactions or, when there is one, the customers table (as the pandas loader).
    known = f"SELECT customer_id FROM __custrel_typed_transactions WHERE {kept('transactions')}"
    if "customers" in staged:
        known += f" UNION SELECT customer_id FROM __custrel_typed_customers WHERE {kept('customers')}"
    unknown = _rows_where(
        raw, "interactions", "unknown", f"customer_id IS NOT NULL AND customer_id NOT IN ({known})"
    )
    checks.append((unknown, "customer_id", "unknown_customer", "rejected", "customer_id",
                   lit("this customer is in neither customers nor transactions")))  # fmt: skip
    return checks


def _other_customer(raw, table: str) -> str:
    """Rows (order lines) whose order id's first kept line, in file order, belongs to another customer."""
    typed, is_kept = f"__custrel_typed_{table}", kept(table)
    repeated = (
        f"SELECT hash(order_id) FROM {typed} WHERE order_id IS NOT NULL AND {is_kept} "
        "GROUP BY 1 HAVING count(DISTINCT customer_id) > 1"
    )
    other = (
        f"SELECT __row FROM (SELECT __row, customer_id, first_value(customer_id) OVER (PARTITION BY order_id "
        f"ORDER BY __row) AS c0 FROM {typed} WHERE order_id IS NOT NULL AND {is_kept} "
        f"AND hash(order_id) IN ({repeated})) WHERE customer_id <> c0"
    )
    return _rows_in(raw, table, "other_customer", other)


def _order_blank(raw, column: str) -> tuple[str, str, str, str, str, str]:
    """Kept lines with an empty ``column`` (date or amount, left to this check by ``scan_sql._order_level``)
    whose order has no kept line with one: rejected as ``keys.order_blank`` finds them in the pandas loader."""
    typed, is_kept = "__custrel_typed_transactions", kept("transactions")
    valued = f"SELECT order_id FROM {typed} WHERE {is_kept} AND {column} IS NOT NULL AND order_id IS NOT NULL"
    rows = (
        f"SELECT __row FROM {typed} WHERE {is_kept} AND {column} IS NULL AND order_id IS NOT NULL "
        f"AND order_id NOT IN ({valued})"
    )
    condition = _rows_in(raw, "transactions", f"order_blank_{column}", rows)
    message = lit(empty_message(column, True, True))
    return condition, column, "missing_value", "rejected", "NULL", message


def _repeated_total(raw) -> tuple[str, str, str, str, str, str] | None:
    """Later lines of orders whose kept valued lines all carry one non-zero amount, when the export seems to
    repeat its orders' totals (``keys.repeated_total`` in the pandas loader); None when it does not."""
    from custrel_lib.io.keys import repeated_message

    typed, is_kept = "__custrel_typed_transactions", kept("transactions")
    raw.execute(
        "CREATE OR REPLACE TEMP TABLE __custrel_order_amounts AS SELECT order_id, count(*) AS n, "
        f"count(DISTINCT amount) AS k, min(amount) AS a FROM {typed} WHERE {is_kept} AND order_id IS NOT NULL "
        "AND amount IS NOT NULL GROUP BY order_id HAVING count(*) > 1"
    )
    multi, same = raw.sql(
        "SELECT count(*), count(*) FILTER (WHERE k = 1 AND a <> 0) FROM __custrel_order_amounts"
    ).fetchall()[0]
    message = repeated_message(multi, same)
    if not message:
        return None
    later = (
        f"SELECT __row FROM (SELECT __row, row_number() OVER (PARTITION BY order_id ORDER BY __row) AS r "
        f"FROM {typed} WHERE {is_kept} AND amount IS NOT NULL AND order_id IN (SELECT order_id FROM "
        "__custrel_order_amounts WHERE k = 1 AND a <> 0)) WHERE r > 1"
    )
    condition = _rows_in(raw, "transactions", "repeated_total", later)
    return condition, "amount", "order_total_repeated", "flagged", "amount", lit(message)


def cross_checks(raw, staged: dict[str, TypedTable], as_of: pd.Timestamp, order_lines: bool = False) -> None:
    """The checks across rows and tables, in the pandas loader's order (each sees the rejections before it)."""
    from custrel_lib.io.keys import (
        CASE_MESSAGE,
        DUPLICATE_ORDER,
        NOT_IN_CUSTOMERS,
        OTHER_CUSTOMER,
        SAME_ROW,
        SAME_ROW_MESSAGE,
    )

    day, files = lit(str(as_of.date())), {n: t.file for n, t in staged.items()}
    tx, cu, it = "transactions", "customers", "interactions"
    _insert(raw, tx, files[tx], [_future("date", day, f"after the extraction date {as_of.date()}")])
    if order_lines:
        check = (_other_customer(raw, tx), "order_id", "order_id_other_customer", "rejected", "order_id",
                 lit(OTHER_CUSTOMER))  # fmt: skip
    else:
        check = (_dup(raw, tx, "order_id"), "order_id", "duplicate_order_id", "rejected", "order_id",
                 lit(DUPLICATE_ORDER))  # fmt: skip
    _insert(raw, tx, files[tx], [check])
    if order_lines:
        _insert(raw, tx, files[tx], [_order_blank(raw, c) for c in ORDER_LEVEL])
        repeated = _repeated_total(raw)
        _insert(raw, tx, files[tx], [repeated] if repeated else [])
    same = _dup(raw, tx, ", ".join(SAME_ROW), "order_id IS NULL", "dup_row")
    _insert(
        raw,
        tx,
        files[tx],
        [(same, "customer_id", "duplicate_row", "flagged", "customer_id", lit(SAME_ROW_MESSAGE))],
    )
    case = (_case_twins(raw, tx), "customer_id", "id_case", "flagged", "customer_id", lit(CASE_MESSAGE))
    _insert(raw, tx, files[tx], [case])
    if cu in staged:
        message = lit("an earlier row describes this customer")
        dup = (
            _dup(raw, cu, "customer_id"),
            "customer_id",
            "duplicate_customer_id",
            "rejected",
            "customer_id",
            message,
        )
        _insert(raw, cu, files[cu], [dup])
        reasons = lit(END_REASON_MESSAGE)
        bad_reason = f"end_reason IS NOT NULL AND {END_REASON} NOT IN ({in_list(END_REASONS)})"
        checks = [
            _future("signup_date", day, f"signed up after the extraction date {as_of.date()}"),
            (bad_reason, "end_reason", "invalid_value", "repaired", "end_reason", reasons),
            (
                CONTRACT_ORDER,
                "contract_end",
                "contract_order",
                "repaired",
                CONTRACT_ORDER_SHOWN,
                lit(CONTRACT_ORDER_MESSAGE),
            ),
        ]
        _insert(raw, cu, files[cu], checks)
    if it in staged:
        _insert(raw, it, files[it], _interaction_checks(raw, staged, day, as_of))
    if cu in staged:
        missing = _rows_where(
            raw,
            tx,
            "not_in_customers",
            f"{kept(tx)} AND customer_id IS NOT NULL AND customer_id NOT IN "
            f"(SELECT customer_id FROM __custrel_typed_customers WHERE {kept(cu)})",
        )
        message = lit(NOT_IN_CUSTOMERS + _zeros_hint(raw, missing, cu))
        _insert(
            raw,
            tx,
            files[tx],
            [(missing, "customer_id", "not_in_customers", "flagged", "customer_id", message)],
        )


#: ``custrel_lib.io.keys.bare_id`` in SQL: lower case, no trailing ``.0``, no leading zeros.
BARE_ID = "coalesce(nullif(ltrim(regexp_replace(lower(customer_id), '\\.0$', ''), '0'), ''), '0')"


def _zeros_hint(raw, missing: str, cu: str) -> str:
    """:func:`custrel_lib.io.keys.zeros_hint` computed in the engine (``missing``: the condition that selects
    the rows of buyers missing from the customers table)."""
    from custrel_lib.io.keys import ZEROS_HINT

    typed = "__custrel_typed_transactions"
    if not raw.sql(f"SELECT EXISTS (SELECT 1 FROM {typed} WHERE {missing})").fetchall()[0][0]:
        return ""
    total, n, pair = raw.sql(
        f"WITH m AS (SELECT DISTINCT customer_id, {BARE_ID} AS b FROM {typed} WHERE {missing}), "
        f"k AS (SELECT {BARE_ID} AS b, min(customer_id) AS c FROM __custrel_typed_customers WHERE {kept(cu)} "
        f"GROUP BY 1) SELECT (SELECT count(*) FROM m), count(*), min([m.customer_id, k.c]) FROM m JOIN k USING (b)"
    ).fetchall()[0]
    if not n or 2 * n < total:
        return ""
    return ZEROS_HINT.format(n=n, total=total, here=pair[0], there=pair[1])


def in_list(values) -> str:
    return ", ".join(lit(v) for v in values)
