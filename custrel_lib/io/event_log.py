"""``custrel init``: which rows of a file are purchases, when not all of them are.

A status column may say an order was cancelled or refunded: :func:`status_rule` writes an ``exclude:`` rule for
it, commented out (whether a refunded order counts is the user's choice).

A file may also be a log of events where purchases are one kind of row among others. Web and app exports write
every event of a visitor (REES46's ``event_type``: ``view``, ``cart``, ``purchase``; Retail Rocket's ``event``:
``view``, ``addtocart``, ``transaction``), and CRM exports every deal whatever its stage (HubSpot's ``Deal Stage``:
``Closed Won``, ``Closed Lost``, ...). Read whole, each view or lost deal would count as a purchase. Such a file
is read as transactions with ``keep:`` (:mod:`custrel_lib.io.exclude`) on the column of event types, keeping the
values that say a purchase, said in the comment beside the rule.

Order ids that repeat make ``order_lines: true`` (:func:`order_lines`): an order's lines are one purchase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from json import dumps

import pandas as pd

from custrel_lib.io.contract import READ_TYPES, fold
from custrel_lib.io.guess import guess_columns, missing_required, visit_log

#: Names of the column that says an order was cancelled or refunded, and the words of the values that say so
#: (matched folded: ``Échoué``, ``Erreur de paiement``, ``payment_declined``).
STATUS_NAMES = ("status", "statut", "financial status", "order status", "etat", "state", "payment status")
STATUS_WORDS = re.compile(
    r"cancel|annul|refund|rembours|void|rejet|fail|echou|echec|error|erreur|declin|refus|unpaid|impaye"
)
#: Names of a column of document types (an ERP's ``Type de pièce``: Facture, Avoir), and the words of a credit
#: note or a return among them (folded).
DOCUMENT_NAMES = ("type", "type de piece", "type piece", "type document", "type de document", "document type")
DOCUMENT_NAMES += (
    "doc type",
    "transaction type",
    "type de transaction",
    "type operation",
    "type d'operation",
)
CREDIT_WORDS = re.compile(r"avoir|credit|retour|return|rembours|refund")
PARTIAL = re.compile(r"partial|partiel", re.IGNORECASE)  # a partly refunded order is still a purchase
#: Values of an event type that say a purchase (folded: lower case, no accents, ``_`` as a blank).
PURCHASE_EVENTS = re.compile(
    r"^(purchase|purchased|transaction|order|order completed|order placed|checkout completed|completed order|"
    r"achat|commande|commande validee|vente|sale|buy|closed won|won|gagne|gagnee|affaire gagnee|signe|signee|"
    r"conclu|conclue|vente conclue|conversion)$"
)
#: The interactions table's types (the contract's and their synonyms: ``nps``, ``reclamation``, the journey's
#: steps): a column that holds one of them besides its purchases is the interactions' ``type``, where a purchase
#: is a touchpoint of a journey (the sample's ``achat``), not a log of events.
VOICE_TYPES = READ_TYPES | {"survey", "enquete", "csat"}
#: A column of event types holds a handful of values (in the first rows read).
MAX_TYPES = 30


def purchase_events(
    columns: Sequence[str], head: pd.DataFrame, taken: Sequence[str] = ()
) -> tuple[str, list[str]] | None:
    """The first column of ``columns`` (not in ``taken``) whose values are a handful of event types, some of them
    purchases and some not: ``(column, the purchase values in lower case)``, else None."""
    for column in columns:
        if column in taken or column not in head:
            continue
        values = head[column].dropna().astype(str).str.strip().str.lower()
        distinct = set(values[values != ""])
        if not 2 <= len(distinct) <= MAX_TYPES:
            continue
        purchases = sorted(v for v in distinct if PURCHASE_EVENTS.match(fold(v)))
        others = {fold(v) for v in distinct} - {fold(v) for v in purchases}
        if purchases and others and not others & VOICE_TYPES:
            return column, purchases
    return None


def as_event_log(table: str | None, columns: list[str], head: pd.DataFrame | None):
    """When the file is a log of events with purchases among them: ``(("transactions", columns), keep, visits)``:
    the columns read as transactions, the ``keep:`` rule, and ``visits``, the columns again when they were read
    as a log without amounts by name (:func:`~custrel_lib.io.guess.visit_log`), else None. None when the file
    is no such log; a table named other than transactions is left as it is."""
    if table not in (None, "transactions") or head is None:
        return None
    mapping = guess_columns("transactions", columns, head)
    found = purchase_events(columns, head, taken=list(mapping.values()))
    if found is None:
        return None
    visits = None
    if missing_required("transactions", mapping):
        rest = [c for c in columns if c != found[0]]
        visits = visit_log(rest, head[rest])
        mapping = visits or mapping
    if "customer_id" not in mapping or "date" not in mapping:
        return None
    return ("transactions", mapping), {found[0]: found[1]}, visits


def status_rule(
    head: pd.DataFrame, columns: Sequence[str], mapped: Sequence[str] = ()
) -> dict[str, list[str]]:
    """An ``exclude:`` rule (``custrel init`` writes it commented out) for the first status column, not one of
    ``mapped``, whose values say cancelled or refunded (not partly: still a purchase), else for the first column
    of document types with credit notes or returns among them (``Avoir``, ``Credit Memo``); else ``{}``."""
    kinds = [(c, STATUS_WORDS) for c in columns if fold(c) in STATUS_NAMES]
    kinds += [(c, CREDIT_WORDS) for c in columns if fold(c) in DOCUMENT_NAMES]
    for column, words in kinds:
        if column in mapped:
            continue
        values = {str(v).strip().lower() for v in head[column].dropna() if words.search(fold(v))}
        values = sorted(v for v in values if not PARTIAL.search(fold(v)))
        if values:
            return {column: values[:6]}
    return {}


def rule_line(block: dict[str, list[str]]) -> str:
    """``{"column": ["value", ...]}`` as one line of YAML (``keep:``, ``exclude:``)."""
    return (
        "{"
        + ", ".join(
            f"{dumps(c, ensure_ascii=False)}: {dumps(v, ensure_ascii=False)}" for c, v in block.items()
        )
        + "}"
    )


def order_lines(guess, head: pd.DataFrame) -> None:
    """``order_lines: true`` on ``guess`` (a ``starter.FileGuess``) when order ids repeat, with a warning when
    the amount repeats with them."""
    order = guess.columns.get("order_id")
    if order is None or order not in head:
        return
    ids = head[order].astype(str).str.strip()
    ids = ids[ids != ""]
    repeated = ids.duplicated(keep=False)
    if not repeated.any():
        return
    guess.order_lines = True
    n_orders = ids[repeated].nunique()
    guess.notes.append(
        f"order ids repeat: {n_orders:,} order{'s' if n_orders > 1 else ''} on several rows in the first "
        f"{len(head):,} rows; one row per order line, an order's lines make one purchase (order_lines: true)"
    )
    amount = guess.columns.get("amount")
    if amount is None or amount not in head:
        return
    lines = pd.DataFrame(
        {"order": ids[repeated], "amount": head.loc[ids[repeated].index, amount].astype(str)}
    )
    lines = lines[lines["amount"].str.strip() != ""]
    per_order = lines.groupby("order")["amount"].agg(["size", "nunique"])
    same = per_order[(per_order["size"] > 1) & (per_order["nunique"] == 1)]
    if len(same) and len(same) >= 0.8 * len(per_order[per_order["size"] > 1]):
        guess.notes.append(
            f"warning: {amount!r} is the same on every line of {len(same):,} orders: if it is the order's total "
            "repeated on each line, the lines would add it up several times; map a line amount, or quantity "
            "and unit_price, instead"
        )
