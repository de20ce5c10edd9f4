"""What ``custrel init`` says of a file beyond its mapping, each a note (or a rule) on its guess
(``starter.FileGuess``): amounts in several currencies (:func:`currency_note`, the currency written:
:func:`currency_of`), customer ids that are people's names (:func:`names_as_ids`), a file of one row per customer
with totals, not purchases (:func:`customer_summary`), a log read without an amount by its name
(:func:`visits_note`)."""

from __future__ import annotations

import re

import pandas as pd

from custrel_lib.io.contract import CURRENCY_CODES, fold
from custrel_lib.io.guess import NAMES, _numbers, _reads_as, _split, guess_columns

CURRENCY_SIGNS = ("€", "£", "$", "¥")
CURRENCY_NAMES = ("currency", "devise", "monnaie")


def currencies(head: pd.DataFrame, mapping: dict[str, str]) -> tuple[str | None, list[str]]:
    """The currencies of a transactions file's amounts, the most frequent first, and where they were read: the
    codes of a currency column (its name), else the signs or codes written beside the amounts or unit prices
    (None); ``(None, [])`` when nothing says."""
    for column in head.columns:
        if fold(str(column)) in CURRENCY_NAMES:
            codes = head[column].astype(str).str.strip().str.upper()
            counts = codes[codes.isin(CURRENCY_CODES)].value_counts()
            if len(counts):
                return str(column), [str(c) for c in counts.index]
    for canonical in ("amount", "unit_price"):
        column = mapping.get(canonical)
        if column is None or column not in head:
            continue
        text = head[column].astype(str).head(200)
        signs = {s: int(text.str.contains(s, regex=False).sum()) for s in CURRENCY_SIGNS}
        found = sorted((s for s, n in signs.items() if n), key=lambda s: -signs[s])
        codes = pd.Series(re.findall(r"\b(" + "|".join(CURRENCY_CODES) + r")\b", " ".join(text)))
        found = found or [str(c) for c in codes.value_counts().index]
        if found:
            return None, found
    return None, []


def currency_of(guesses: list) -> str | None:
    """The currency sign or code written beside the amounts of the transactions, if any (the most frequent)."""
    for g in guesses:
        if g.table == "transactions" and g.head is not None:
            found = currencies(g.head, g.columns)[1]
            if found:
                return found[0]
    return None


#: A person's or a company's name, not an id: words of letters (``J. DUPONT``, ``Marie-Claire Martin``).
_NAME = re.compile(r"^[^\W\d_][^\W\d_.'’-]*\.?(?:[ '’-]+[^\W\d_][^\W\d_.'’-]*\.?)+$")


def names_as_ids(guess, head: pd.DataFrame) -> None:
    """A warning when the customer ids read are people's names (PrestaShop's ``Client``, ``J. DUPONT``):
    namesakes would be one customer."""
    column = guess.columns.get("customer_id")
    if (
        column is None
        or column not in head
        or re.search(r"compan|societe|entreprise|raison|account", fold(column))
    ):
        return  # a company's name is how a B2B export names its customer
    values = head[column].dropna().astype(str).str.strip()
    values = values[values != ""]
    if len(values) and values.str.match(_NAME).mean() >= 0.8:
        shown = ", ".join(repr(v) for v in values.drop_duplicates().head(3))
        guess.notes.append(
            f"warning: {column!r} holds names ({shown}), not ids: customers of the same name would be one "
            "customer; map a customer number or an e-mail instead if the export has one"
        )


def currency_note(guess, head: pd.DataFrame) -> None:
    """Say when the amounts are in several currencies, which custrel would add up as they are; propose keeping the
    most frequent one (commented out)."""
    column, found = currencies(head, guess.columns)
    if len(found) < 2:
        return
    guess.notes.append(
        f"warning: the amounts are in several currencies ({', '.join(found)}"
        + (f", in {column!r}" if column else ", by the signs beside them")
        + "): custrel adds them up as they are; convert them before, or keep one currency"
        + (" (a keep: rule, commented out in custrel.yml)" if column else " per file")
    )
    if column:
        guess.currency_rule = {column: [found[0].lower()]}


#: Names of the columns of a file of one row per customer with totals (a shop's or a CRM's customer export, an
#: RFM summary), not one row per purchase (folded).
SUMMARY_NAMES = re.compile(
    r"\b(total spent|total orders|orders count|order count|number of orders|nb commandes|nombre de commandes|"
    r"nb achats|nombre d achats|ca total|ca cumule|lifetime value|ltv|clv|panier moyen|average order value|aov|"
    r"last order|last purchase|dernier achat|derniere commande|first order|premier achat|premiere commande|"
    r"frequency|recency|monetary|num \w+ purchases|number of purchases|mnt \w+)\b"
)


def customer_summary(columns: list[str], head: pd.DataFrame, mapping: dict[str, str]) -> list[str]:
    """The columns that make a file one row per customer with totals, not one row per purchase: its customer ids
    never repeat in the rows read, and columns are named as totals or as a last or first order (Shopify's
    customers export: ``Total Spent``, ``Total Orders``; a CRM's ``Date dernier achat``, ``CA total``); else
    ``[]``; two such columns or more say it whatever the ids (Kaggle's "Customer Personality Analysis":
    ``Recency``, ``MntWines``, ``NumWebPurchases``). Read as transactions, each customer would be one purchase of
    their total."""

    totals = [c for c in columns if SUMMARY_NAMES.search(_split(c))]
    if len(totals) >= 2:
        return totals
    column = mapping.get("customer_id")
    if not totals or column is None or column not in head:
        return []
    ids = head[column].dropna().astype(str).str.strip()
    ids = ids[ids != ""]
    return totals if len(ids) >= 20 and not ids.duplicated().any() else []


def summary_id(columns: list[str], head: pd.DataFrame, mapping: dict[str, str]) -> dict[str, str]:
    """``mapping`` of a customer summary with its customer id: by its name, else a column named ``ID``, else
    the first column whose values are all there and all different, and not dates."""

    if "customer_id" in mapping:
        return mapping
    for c in [*(c for c in columns if fold(c) == "id"), *columns]:
        text = head[c].astype(str).str.strip()
        if (text != "").all() and not text.duplicated().any() and not _reads_as(head[c], "date"):
            return {"customer_id": c, **mapping}
    return mapping


def summary_note(totals: list[str]) -> str:
    return (
        f"one row per customer with totals ({', '.join(map(repr, totals[:4]))}), not one row per purchase: read "
        "as the customers table; the stages and survival need the purchases themselves (an export of orders)"
    )


#: A score's name that says NPS (0 to 10), whatever its first values.
_NPS_NAME = re.compile(r"nps|recommand|recommend|likely|probab|10")


def scale_note(guess, head: pd.DataFrame) -> str:
    """What ``custrel.yml`` says of scores read without a type column: NPS answers (0 to 10); or, when every
    score read lies between 1 and 5 and the name does not say NPS (stars, a satisfaction scale: ``Note``,
    ``CSAT``), reviews (``type: "=review"``), which no analysis scores: read as NPS, a 5 out of 5 would be a
    detractor."""
    from custrel_lib.io.readers import to_number

    column = guess.columns.get("score")
    if column is not None and column in head and not _NPS_NAME.search(fold(column)):
        text = head[column].dropna().astype(str).str.strip()
        values = to_number(text[text != ""], None)[0].dropna()
        if len(values) >= 10 and values.min() >= 1 and values.max() <= 5:
            guess.columns["type"] = "=review"
            return (
                f"{column!r} holds scores from 1 to 5 (stars, a satisfaction scale), not NPS answers from 0 to 10: "
                'read as reviews (type: "=review"), which the analyses keep but do not score; read as NPS, every '
                "answer would have been a detractor"
            )
    return 'no type column: every row is read as an NPS answer (type: "=nps")'


def credit_rows(guess, head: pd.DataFrame) -> None:
    """For an ``exclude:`` rule on a column of document types (credit notes, returns): a note when the amounts of
    those rows are positive (they would count as purchases); no rule when they are negative already (refunds,
    which custrel reads as such)."""
    from custrel_lib.io.event_log import DOCUMENT_NAMES
    from custrel_lib.io.readers import to_number

    column = next(iter(guess.exclude), None)
    amount = guess.columns.get("amount")
    if column is None or fold(column) not in DOCUMENT_NAMES or amount is None or amount not in head:
        return
    rows = head[column].astype(str).str.strip().str.lower().isin(guess.exclude[column])
    values = to_number(head.loc[rows, amount].astype(str), None)[0].dropna()
    if len(values) and (values < 0).all():
        guess.exclude = {}  # refunds written as negative amounts: read as refunds
    elif len(values):
        guess.notes.append(
            f"warning: {int(rows.sum()):,} of the first rows are {', '.join(map(repr, guess.exclude[column]))} "
            f"({column!r}) with positive amounts: credit notes or returns read as purchases; leave them out (the "
            "exclude: rule, commented out), or export them with negative amounts, which custrel reads as refunds"
        )


#: A file named as returns or credit notes (``retours_2024.csv``, ``avoirs.xlsx``, ``refunds.csv``), folded.
RETURNS_FILE = re.compile(r"retour|return|avoir|rembours|refund|credit memo|credit note")


def returns_file(guess, head: pd.DataFrame, stem: str) -> None:
    """A warning when a file read as transactions is named as returns and its amounts are positive: every return
    would count as a purchase (a shop's returns exported beside its sales)."""
    from custrel_lib.io.readers import to_number

    amount = guess.columns.get("amount")
    if not RETURNS_FILE.search(fold(stem).replace("_", " ")) or amount is None or amount not in head:
        return
    values = to_number(head[amount].astype(str), None)[0].dropna()
    if len(values) and (values > 0).mean() > 0.5:
        guess.notes.append(
            "warning: the file is named as returns, and its amounts are positive: each row would count as a "
            "purchase. Export them with negative amounts (custrel reads them as refunds), or leave the file out"
        )


def quantity_as_amount(guess, head: pd.DataFrame) -> None:
    """A warning when the amount read holds only small whole numbers (Ta Feng's ``AMOUNT`` is the number of items)
    while another column named as a price or sales holds larger ones (its ``SALES_PRICE``): a quantity taken for
    the amount by its name."""
    from custrel_lib.io.readers import to_number

    amount = guess.columns.get("amount")
    if amount is None or amount not in head:
        return
    values = to_number(head[amount].astype(str), None)[0].dropna()
    if len(values) < 20 or (values % 1 != 0).any() or values.max() > 20 or values.min() < 0:
        return
    names = {*NAMES["amount"], *NAMES["unit_price"], "sales price", "sale price", "price"}
    for column in head.columns:
        if column == amount or (_split(column) not in names and fold(column) not in names):
            continue
        other = to_number(head[column].astype(str), None)[0].dropna()
        if len(other) and other.median() > values.median():
            guess.notes.append(
                f"warning: {amount!r} holds small whole numbers only ({values.min():g} to {values.max():g}): a "
                f"number of items? {column!r} holds prices or sales: map amount to it if so"
            )
            return


#: A column named as an id or a code (``itemid``, ``PRODUCT_ID``, ``household_key``): not an amount.
ID_NAME = re.compile(r"(id|key|code|no|number|num|numero)$")


def visits_note(guess, visits: dict[str, str], head: pd.DataFrame) -> str:
    """What ``custrel.yml`` says of a log read without an amount by its name: the amount found by its values, or
    none, with the columns of whole numbers that may hold amounts (not those named as ids: ``itemid``); the id
    found by its values, when it was."""
    named = guess_columns("transactions", [str(c) for c in head.columns], head)
    by_values = (
        f"the customer id is {visits['customer_id']!r} by its values (repeated, and many of them): check it"
        if visits.get("customer_id") != named.get("customer_id")
        else ""
    )
    if guess.amounts and visits.get("amount") == named.get("amount"):
        return by_values  # the amount by its name and values
    by_values += "; " if by_values else ""
    if guess.amounts and not _reads_as(head[visits["amount"]], "amount"):
        return by_values + (
            f"the amount is {visits['amount']!r} by its name, but some of its first values do not read as numbers "
            f"({', '.join(head[visits['amount']].astype(str).head(3))}, ...): custrel validate lists them"
        )
    if guess.amounts:
        return (
            by_values + f"the amount is {visits['amount']!r} by its values (numbers with decimals): check it"
        )
    numbers = [c for c in _numbers(guess.unused, head)[0] if not ID_NAME.search(fold(c).replace(" ", ""))]
    return (
        by_values
        + "no column of amounts: every row is one purchase of unknown value (amounts: false)"
        + (f"; if {', '.join(map(repr, numbers))} holds them, map amount to it instead" if numbers else "")
    )
