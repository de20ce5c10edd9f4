"""``custrel init`` on a relational export: the orders in one file, their amounts in another, the customers in a
third (Olist: ``orders.csv``, ``order_items.csv``, ``customers.csv``, ``order_reviews.csv``).

No file alone is a transactions table: the orders have the customer and the date but no amount, the lines the
amount but no customer. :func:`relational_guesses` proposes the transactions as the file of amounts with
``join:`` to the orders (by their shared order id) and, when a customers file holds the orders' customer id
beside another customer id (Olist's ``customer_unique_id``: a person, where ``customer_id`` is one per order),
to that file; a file of scores and dates with the order id (reviews) becomes the interactions the same way.
Every guess is written in ``custrel.yml`` for the user to check (docs/data_contract.md, "Columns from other
files").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from custrel_lib.io.contract import fold
from custrel_lib.io.guess import NAMES, WORDS, _reads_as, _word_match, guess_columns


@dataclass
class Head:
    """A file given to ``custrel init``: its path, columns and first rows."""

    path: Path
    columns: list[str]
    head: pd.DataFrame


def _ids(columns: list[str]) -> list[str]:
    """The columns named as customer ids (``customer_id``, ``customer_unique_id``, ``Client``...)."""
    names, words = NAMES["customer_id"], WORDS["customer_id"]
    return [c for c in columns if fold(c) in names or _word_match(fold(c), words)]


def _orders(files: list[Head], key: str, exclude: Path) -> tuple[Head, dict] | None:
    """The file that holds ``key`` with a customer id and a date: the orders."""
    for f in files:
        if f.path == exclude or key not in f.columns:
            continue
        g = guess_columns("transactions", f.columns, f.head)
        if "customer_id" in g and "date" in g:
            return f, g
    return None


def _person(files: list[Head], customer: str, exclude: set[Path]) -> tuple[Head, str] | None:
    """A file that holds the orders' ``customer`` column beside another customer id (one per person)."""
    for f in files:
        if f.path in exclude or customer not in f.columns:
            continue
        other = sorted(
            (c for c in _ids(f.columns) if c != customer), key=lambda c: fold(c) not in NAMES["customer_id"]
        )
        if other:
            return f, other[0]
    return None


def _amounts(f: Head) -> tuple[str, dict[str, str]] | None:
    """(order id column, the amount's columns) of a file of amounts without a customer: an amount by its name,
    else a quantity and a unit price (Northwind's ``Order Details``), else a price (one item per line, Olist's
    ``price``)."""
    g = guess_columns("transactions", f.columns, f.head)
    if "customer_id" in g or "order_id" not in g:
        return None
    if "amount" in g:
        return g["order_id"], {"amount": g["amount"]}
    if "quantity" in g and "unit_price" in g:
        return g["order_id"], {"quantity": g["quantity"], "unit_price": g["unit_price"]}
    if "quantity" not in g:  # a price per line, one item each
        prices = [c for c in f.columns if fold(c) in NAMES["unit_price"] and _reads_as(f.head[c], "amount")]
        return (g["order_id"], {"amount": prices[0]}) if prices else None
    return None


def relational_guesses(files: list[Head]) -> list[dict] | None:
    """The tables of a relational export, each as ``table, path, columns, joins, used`` (``used``: the files
    the table reads through its joins), or ``None`` when the files do not make one."""
    for f in sorted(files, key=lambda f: "amount" not in guess_columns("transactions", f.columns, f.head)):
        found = _amounts(f)
        if found is None:
            continue
        key, amount = found
        orders = _orders(files, key, f.path)
        if orders is None:
            continue
        o, og = orders
        joins = [(o.path, key)]
        customer = og["customer_id"]
        person = _person(files, customer, {f.path, o.path})
        if person is not None:
            joins.append((person[0].path, customer))
            customer = person[1]
        used = {p for p, _ in joins}
        columns = {"customer_id": customer, "date": og["date"], **amount, "order_id": key}
        out = [{"table": "transactions", "path": f.path, "columns": columns, "joins": joins, "used": used}]
        for r in files:  # reviews: a score and a date for an order
            g = guess_columns("interactions", r.columns, r.head)
            if r.path not in used | {f.path} and key in r.columns and {"score", "date"} <= set(g):
                cols = {"customer_id": customer, "date": g["date"], "score": g["score"], "type": "=review"}
                out.append(
                    {"table": "interactions", "path": r.path, "columns": cols, "joins": joins, "used": used}
                )
                break
        return out
    return None


def relational_init(guesses: list, heads: list[Head], passed: list[str]) -> tuple[list, str | None]:
    """``custrel init``'s guesses with the tables of a relational export (:func:`relational_guesses`) in place of
    the files they join, and what to say of it; the guesses unchanged when there is no such export (or when a
    file already reads as transactions with amounts)."""
    from custrel_lib.io.event_log import order_lines as _order_lines
    from custrel_lib.io.event_log import status_rule
    from custrel_lib.io.starter import FileGuess

    if not passed or any(g.table == "transactions" and g.amounts for g in guesses):
        return guesses, None
    tables = relational_guesses(heads)
    if tables is None:
        return guesses, None
    by_path = {h.path: h for h in heads}
    taken = set().union(*(t["used"] | {t["path"]} for t in tables))
    made = {t["table"] for t in tables}  # they replace any guess of their table (a log without amounts)
    out = [g for g in guesses if g.path not in taken and g.table not in made]
    for t in tables:
        head = by_path[t["path"]].head
        guess = FileGuess(t["path"], t["table"], t["columns"], head=head, joins=t["joins"])
        guess.unused = [c for c in head.columns if c not in t["columns"].values()]
        if t["table"] == "transactions":
            guess.notes.append("a relational export: check the joins and the columns they bring")
            _order_lines(guess, head)  # says when the first rows repeat an order id
            guess.order_lines = True  # rows of one order (its lines, its payments) make one purchase
            orders = by_path[t["joins"][0][0]]
            guess.exclude = status_rule(orders.head, orders.columns)
        out.append(guess)
    joined = ", ".join(f"{p.name} (on {k})" for p, k in tables[0]["joins"])
    said = f"a relational export: the transactions are {tables[0]['path'].name} joined to {joined}"
    return out, said
