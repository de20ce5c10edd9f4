"""Which column of a file is which column of the contract: a guess from the names that exports use, checked
against the values when there are some.

Used where a user has not mapped a column yet: the error of a missing required column proposes the mapping to
write in ``custrel.yml`` (:func:`suggestion`), and ``custrel init`` writes a first ``custrel.yml`` from the files
(:mod:`custrel_lib.io.starter`). A guess is never applied silently: the user reads it in ``custrel.yml``.

Names are compared folded (:func:`~custrel_lib.io.contract.fold`: no case, no accents, ``_`` and ``-`` as
blanks). The lists hold the names of common exports: French ERPs and Excel files (``N° client``, ``Montant
TTC``), Shopify (``Email``, ``Created at``, ``Total``, ``Lineitem quantity``), Stripe (``Customer ID``,
``Created (UTC)``), WooCommerce, Online Retail (``Invoice``, ``InvoiceDate``, ``Price``, ``Customer ID``) and
Olist (``order_purchase_timestamp``, ``payment_value``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import pandas as pd

from custrel_lib.io.contract import (
    AMOUNT_PARTS,
    MAPPABLE,
    SCHEMA,
    fold,
    is_constant,
)
from custrel_lib.io.numeric_dates import EXCEL_SERIAL

#: canonical column -> folded names of exports, the most telling first (one canonical column per line; a line
#: that begins with blanks goes on with the one above).
_NAMES_TEXT = """
customer_id: customer id | customerid | customer | customer number | customer no | customer code |
    customer unique id | client id | id client | idclient | client | n° client | no client | n client |
    num client | numero client | numero de client | code client | ref client | reference client |
    identifiant client | user id | userid | member id | account id | contact id | cust id | custid |
    household key | email | e mail | customer email | client email | courriel | adresse email | adresse
    e mail | mail | visitorid | visitor id | visitor | user pseudo id | user | buyer id | buyer | shopper
    id | household id | household | account number | account name | account | associated company |
    associated contact | company | company name | societe | raison sociale | entreprise | customer name |
    client name | nom client | nom du client | carte fidelite | n° carte fidelite | numero carte fidelite |
    carte de fidelite | loyalty card | loyalty id | loyalty number | member number | member no | n° adherent |
    numero adherent | numero d'adherent | adherent | n° abonne | abonne | donor id | donor | donateur |
    compte | nom du compte | compte client | buyer user id | reference id
date: date | order date | invoice date | invoicedate | orderdate | transaction date | purchase date |
    sale date | sales date | date de commande | date commande | date d'achat | date achat | date de
    vente | date vente | date facture | date de facture | date piece | date transaction | date de la
    commande | created at | created (utc) | created | paid at | order purchase timestamp | datetime |
    timestamp | jour | day | event time | event date | event timestamp | transaction dt | order dt |
    close date | closed date | visit date | date visite | booking date | date de reservation | horodateur |
    review created | review date | date de l'avis | date avis |
    horodatage | submitted at | submission date | date de soumission | response date | date de reponse
amount: amount | montant | montant ttc | montant total | montant ht | montant net | total | order total
    | total ttc | total ht | total amount | total price | total paid | amount paid | net amount | order
    amount | order value | transaction amount | sale amount | sales amount | payment value | revenue |
    sales | net sales | ca | ca ttc | ca ht | chiffre d'affaires | chiffre d affaires | prix total |
    valeur | value | spend | line total | subtotal | sales value | gross | gross amount | gross sales |
    montant brut
order_id: order id | orderid | order | order number | order no | order ref | invoice | invoiceno |
    invoice no | invoice number | invoice id | id commande | n° commande | no commande | n commande |
    numero commande | numero de commande | ref commande | reference commande | commande | n° facture |
    numero facture | numero de facture | facture | transaction id | receipt | ticket | n° ticket |
    basket id | transactionid
category: category | categorie | product category | categorie produit | product type | type produit |
    rayon | famille | famille produit | univers | department
channel: channel | canal | sales channel | canal de vente | canal vente | order channel | source
quantity: quantity | qty | quantite | qte | lineitem quantity | quantity ordered | quantite commandee |
    units | nb articles
unit_price: unit price | unitprice | price | prix | prix unitaire | prix unitaire ttc | pu | lineitem
    price | price each | item price | prix ttc
signup_date: signup date | sign up date | registration date | date inscription | date d'inscription |
    inscription | date de creation | date creation | creation date | created at | customer since |
    client depuis | join date | date adhesion | date d'adhesion | optin time | opt in time | optin date |
    subscribed at | date d'abonnement newsletter
contract_start: contract start | date debut contrat | debut contrat | date de debut | date debut | start
    date | subscription start | subscription date | date de souscription | date souscription | souscription |
    date d'abonnement | date abonnement | debut abonnement | date de debut d'abonnement
contract_end: contract end | date fin contrat | fin contrat | date de fin | date fin | end date |
    subscription end | date resiliation | date de resiliation | cancellation date | churn date |
    canceled at | cancelled at | ended at
end_reason: end reason | motif resiliation | motif de resiliation | motif | churn reason | cancellation
    reason | reason | raison
loyalty_member: loyalty member | loyalty | fidelite | carte fidelite | programme fidelite | membre
    fidelite | adherent
acquisition_channel: acquisition channel | canal acquisition | canal d'acquisition | source
    d'acquisition | acquisition source | origine | utm source
region: region | country | pays | state | departement | province | zone | ville | city
type: type | interaction type | type interaction | type de contact | type contact | event type
score: score | nps | nps score | note | note nps | note recommandation | recommendation | likelihood to
    recommend | ltr | rating | csat | csat score | satisfaction | note satisfaction | note de satisfaction |
    stars | etoiles | note avis
resolved: resolved | resolu | is resolved | clos | closed
"""


def _names(text: str) -> dict[str, tuple[str, ...]]:
    joined = re.sub(r"\n\s+", " ", text.strip())
    out = {}
    for line in joined.splitlines():
        canonical, _, names = line.partition(":")
        out[canonical.strip()] = tuple(n.strip() for n in names.split("|"))
    return out


NAMES: dict[str, tuple[str, ...]] = _names(_NAMES_TEXT)
#: Words that make a name a candidate when no listed name matches (``Date de la facture``, ``Montant payé``);
#: ``a+b``: both words (``Customer Note`` is not an id, ``Customer User ID`` is).
_ID = ("id", "no", "n°", "number", "code", "num", "numero", "ref", "key")
WORDS: dict[str, tuple[str, ...]] = {
    "customer_id": ("email", "mail", *(f"{who}+{i}" for who in ("client", "customer") for i in _ID)),
    "date": ("date", "datum", "fecha", "dt", "time", "timestamp"),
    "amount": ("montant", "amount", "amt", "total", "revenue", "gross"),
    "order_id": tuple(f"{what}+{i}" for what in ("order", "commande", "invoice", "facture") for i in _ID),
    "quantity": ("quantity", "quantite", "qty"),
    "unit_price": ("price", "prix"),
    # and the question itself, as a form names its column (``How likely are you to recommend us...?``)
    "score": (
        *("note", "nps", "score", "rating", "recommend", "recommander", "recommandiez", "recommanderiez"),
        *("csat", "satisfaction", "satisfied", "satisfait", "satisfaite", "stars", "etoiles"),
    ),
}
#: Exports whose names are too common to list: when a file holds all the names of a signature, these columns
#: are taken first (Shopify's orders export numbers its orders in ``Name``: #1001).
SIGNATURES: tuple[tuple[frozenset[str], dict[str, str]], ...] = (
    (frozenset({"name", "email", "financial status"}), {"order_id": "name"}),
)
#: Kinds of value a column must hold, checked on the values when there are some.
_NUMBER = ("amount", "float")
_SHARE = 0.8  # of the non-empty values of the sample that must read as the kind


def _kind(table: str, canonical: str) -> str:
    return "amount" if canonical in AMOUNT_PARTS else SCHEMA[table][canonical][0]


def _reads_as(values: pd.Series, kind: str) -> bool:
    """Whether the non-empty values read as ``kind`` (dates, numbers); any text is an id or a label."""
    from custrel_lib.io.readers import to_date, to_number

    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if text.empty:
        return kind not in ("date", *_NUMBER)  # an empty column cannot be told a date or a number
    if kind == "date":
        parsed, bad, _ = to_date(text, None)
        return parsed.notna().mean() >= _SHARE
    if kind in _NUMBER:
        _, bad, _ = to_number(text, None)
        return 1 - bad.mean() >= _SHARE
    return True


def _split(name: str) -> str:
    """A name written as one word, split at its capitals and after ``°`` (``DateCommande``, ``MontantTTC``,
    ``N°Client``, ``CustomerKey``), folded: the second chance of a name that matched nothing as it is."""
    return fold(re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=°)(?=\w)", " ", str(name)))


#: Ratings that are no customer's answer: Mailchimp's ``MEMBER_RATING`` is its own engagement score (1 to 5).
NOT_SCORES = ("member rating",)
#: A birth date is no date of the contract (``Date de naissance``, ``DOB``, ``Birthdate``, ``DateNaissance``).
_BIRTH = re.compile(r"\b(birth|birthday|birthdate|dob|naissance|anniversaire|ddn)\b")


def is_birth(column: str) -> bool:
    return bool(_BIRTH.search(fold(column)) or _BIRTH.search(_split(column)))


def _word_match(name: str, words: Iterable[str]) -> bool:
    # punctuation around words too: a form names a column by its question (``What's your email?``)
    tokens = set(re.sub(r"['.()?!:;,¿¡/]", " ", name).split())
    return any(set(w.split("+")) <= tokens for w in words)


def guess_columns(table: str, columns: Sequence[str], sample: pd.DataFrame | None = None) -> dict[str, str]:
    """Canonical column -> the file's column that most likely holds it, for the columns of ``table`` (and a
    transaction's quantity and unit price when there is no amount). A name is first compared with the contract's
    name, then with :data:`NAMES` in their order, then by its words (:data:`WORDS`); with ``sample`` (the first
    rows, as read), a date must hold dates and a number numbers. Each column is used once."""
    folded = {c: fold(c) for c in columns}
    split = {c: _split(c) for c in columns}
    bare = {c: fold(re.sub(r"\s*[(\[][^)\]]*[)\]]\s*$", "", str(c))) for c in columns}  # Canceled At (UTC)
    taken: set[str] = set()
    out: dict[str, str] = {}
    for names, known in SIGNATURES:
        if names <= set(folded.values()):
            for canonical, name in known.items():
                if canonical in MAPPABLE[table]:
                    out[canonical] = next(c for c in columns if folded[c] == name)
                    taken.add(out[canonical])

    def fits(column: str, canonical: str) -> bool:
        if _kind(table, canonical) == "date" and is_birth(column):
            return False
        if canonical == "score" and folded[column] in NOT_SCORES:
            return False
        return sample is None or column not in sample or _reads_as(sample[column], _kind(table, canonical))

    def pick(canonical: str) -> str | None:
        free = [c for c in columns if c not in taken]
        exact = [c for c in free if folded[c] == fold(canonical)]
        listed = [c for name in NAMES.get(canonical, ()) for c in free if folded[c] == name]
        listed += [c for name in NAMES.get(canonical, ()) for c in free if split[c] == name != folded[c]]
        listed += [c for name in NAMES.get(canonical, ()) for c in free if bare[c] == name != folded[c]]
        words = WORDS.get(canonical, ())
        worded = [c for c in free if _word_match(folded[c], words) or _word_match(split[c], words)]
        return next((c for c in (*exact, *listed, *worded) if fits(c, canonical)), None)

    # The required columns first (a date before a signup date, an id before anything that mentions a client),
    # then the optional ones; a transaction's amount before its parts, which are read only without one.
    wanted = [c for c, (_, required) in SCHEMA[table].items() if required]
    wanted += [c for c in MAPPABLE[table] if c not in wanted]
    for canonical in wanted:
        if canonical in out or (canonical in AMOUNT_PARTS and "amount" in out):
            continue
        found = pick(canonical)
        if found is not None:
            out[canonical] = found
            taken.add(found)
    if table == "transactions" and "amount" not in out and not all(p in out for p in AMOUNT_PARTS):
        for part in AMOUNT_PARTS:
            out.pop(part, None)
    return {k: out[k] for k in MAPPABLE[table] if k in out}


def missing_required(table: str, mapping: dict[str, str]) -> list[str]:
    """The required columns of ``table`` that ``mapping`` leaves out (an amount may be its two parts)."""
    out = [c for c, (_, required) in SCHEMA[table].items() if required and c not in mapping]
    if "amount" in out and all(p in mapping for p in AMOUNT_PARTS):
        out.remove("amount")
    return out


def yaml_columns(mapping: dict[str, str], positions: bool = False) -> str:
    """A ``columns:`` mapping as ``custrel.yml`` writes it on one line (names quoted; ``positions``: numbers)."""
    from json import dumps

    def value(v: str) -> str:
        return v if positions and v.isdigit() else dumps(v, ensure_ascii=False)

    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in mapping.items()) + "}"


#: Words of a name that say a column of decimals is not money: ``custrel init`` never takes it for the amount.
NOT_MONEY = re.compile(
    r"\b(duration|duree|time|temps|seconds?|secondes?|minutes?|hours?|heures?|lat|lon|lng|latitude|longitude|"
    r"score|rating|note|weight|poids|distance|km|percent|pct|rate|taux|ratio|discount|remise|tax|tva|freight|"
    r"shipping|port|frais|fees?|income|revenu|salary|salaire|balance|solde)\b"
)


def _numbers(columns: Sequence[str], head: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The columns that read as numbers, and those of them written with decimals (amounts, where whole numbers
    may be counts or ids), but for a name that says otherwise (:data:`NOT_MONEY`)."""
    numbers = [c for c in columns if _reads_as(head[c], "amount")]
    decimals = [c for c in numbers if head[c].astype(str).str.contains(r"\d[.,]\d", regex=True).any()]
    # Not money by its name (a session's duration, a position, a rate, a score): never taken for the amount.
    return numbers, [c for c in decimals if not NOT_MONEY.search(fold(c))]


def guess_by_values(columns: Sequence[str], head: pd.DataFrame) -> dict[str, str]:
    """The transactions columns of a file without header, from the values of its first rows: the date is the
    first column that reads as dates (as Excel serial numbers only when no other does), the amount the first
    column of numbers written with decimals (else the last column of numbers), the customer id the column of
    repeated values with the most distinct ones (the first of equals)."""
    from custrel_lib.io.readers import to_date

    def text(c: str) -> pd.Series:
        values = head[c].dropna().astype(str).str.strip()
        return values[values != ""]

    dates = [c for c in columns if _reads_as(head[c], "date") and not is_birth(c)]
    serial = {c for c in dates if to_date(text(c), None)[2] == EXCEL_SERIAL}
    date = next((c for c in dates if c not in serial), dates[0] if dates else None)
    numbers, decimals = _numbers([c for c in columns if c != date], head)
    amount = decimals[0] if decimals else (numbers[-1] if numbers else None)
    customer = id_by_values([c for c in columns if c not in (date, amount)], head)
    found = {"customer_id": customer, "date": date, "amount": amount}
    return {k: v for k, v in found.items() if v is not None}


def _id_like(column: pd.Series) -> bool:
    """Whether a column's values can be customer ids: on nearly every row, repeated (a customer comes back), yet
    many (a score or a type is a handful of codes), neither dates nor amounts (a timestamp, a price)."""
    text = column.astype("string").str.strip()
    kept = text[text.notna() & (text != "")]
    if (
        len(kept) < 0.95 * len(text)
        or not kept.duplicated().any()
        or kept.nunique() < max(10, 0.05 * len(kept))
    ):
        return False
    decimals = kept.str.contains(r"\d[.,]\d", regex=True).any()
    return not _reads_as(column, "date") and not (decimals and _reads_as(column, "amount"))


def id_by_values(columns: Sequence[str], head: pd.DataFrame) -> str | None:
    """The column of ``columns`` that most likely holds customer ids by its values (:func:`_id_like`): text ids
    before numbers (an amount of whole numbers repeats too), then the one with the most distinct values (the
    first of equals)."""

    def rank(c: str) -> tuple[bool, int]:
        return not _reads_as(head[c], "amount"), head[c].astype(str).str.strip().nunique()

    return max((c for c in columns if _id_like(head[c])), key=rank, default=None)


def visit_log(columns: Sequence[str], head: pd.DataFrame | None) -> dict[str, str] | None:
    """The columns of transactions without amounts (``amounts: false``: a log of visits, or of orders without
    their value), when a file has a date and a customer id but no amount, nor both its parts: the id by its name,
    else by the values (the column of repeated values with the most distinct ones: ``id`` in lifetimes' example
    log). An amount whose name says nothing (CDNOW's ``dollar_value``) is taken from the values, the first other
    column of numbers written with decimals: the file then has its amounts; a column named as the amount whose
    values do not read as numbers (signs of two currencies, ``12,50 €`` and ``£9.99``) is the amount still. A
    file with a date and an amount by their names but no id by its name (``N° carte fidélité``, ``Donor ID``) gets
    its id from the values. ``None`` when the file has an id and an amount by their names, or lacks a date or
    an id."""
    mapping = guess_columns("transactions", columns, head)
    if "date" in mapping and "amount" in mapping and "customer_id" not in mapping and head is not None:
        customer = id_by_values([c for c in columns if c not in mapping.values()], head)
        return {**mapping, "customer_id": customer} if customer else None
    if "date" not in mapping or "amount" in mapping or set(AMOUNT_PARTS) <= set(mapping):
        return None
    mapping = {k: v for k, v in mapping.items() if k not in AMOUNT_PARTS}
    if "customer_id" not in mapping and head is not None:
        customer = id_by_values([c for c in columns if c not in mapping.values()], head)
        mapping.update({"customer_id": customer} if customer else {})
    named = guess_columns("transactions", columns).get("amount")  # by its name, whatever its values
    if named is not None and named not in mapping.values():
        mapping["amount"] = named  # values that do not read as numbers: validate lists them
    elif head is not None:
        decimals = _numbers([c for c in columns if c not in mapping.values()], head)[1]
        mapping.update({"amount": decimals[0]} if decimals else {})
    return mapping if "customer_id" in mapping else None


def visit_log_instead(chosen, table: str | None, columns: Sequence[str], head: pd.DataFrame) -> dict | None:
    """:func:`visit_log`'s columns when ``custrel init`` should read the file as transactions without amounts:
    no table fits it (or transactions lack their amount), or it fits only as a customer list of bare ids while
    its ids repeat beside a date (a list of customers has each id once)."""
    if table not in (None, "transactions"):
        return None
    bare = (
        chosen is not None
        and table is None
        and chosen[0] == "customers"
        and set(chosen[1]) == {"customer_id"}
    )
    if chosen is not None and not bare and not missing_required(*chosen):
        return None
    visits = visit_log(columns, head)
    if visits and bare and not head[visits["customer_id"]].duplicated().any():
        return None
    return visits


def suggestion(table: str, found: Sequence[str], mapped: dict[str, str]) -> str | None:
    """What the error of a missing required column proposes: the whole ``columns:`` line, the columns found
    (``mapped``) and those still missing that the names suggest, or None when the names tell nothing."""
    rest = [c for c in found if c not in mapped.values()]
    guess = {k: v for k, v in guess_columns(table, rest).items() if k not in mapped}
    needed = missing_required(table, mapped)
    useful = {k: v for k, v in guess.items() if k in needed or (k in AMOUNT_PARTS and "amount" in needed)}
    if not useful:
        return None
    line = {**mapped, **useful}
    line = {k: line[k] for k in MAPPABLE[table] if k in line}
    return (
        f"From the names, custrel.yml could read tables.{table}.columns: {yaml_columns(line)} "
        "(a guess: check it against the file; custrel init <file> writes a whole custrel.yml)."
    )


def why(canonical: str, column: str) -> str:
    """How a column was recognised, for the comment beside it."""
    if fold(column) == fold(canonical):
        return ""
    if is_constant(column):
        return "  (not a column: the same value for every row)"
    if any(known.get(canonical) == fold(column) for _, known in SIGNATURES):
        return "  (the name this export gives it)"
    if fold(column) in NAMES.get(canonical, ()) or _split(column) in NAMES.get(canonical, ()):
        return "  (a usual name)"
    if canonical in AMOUNT_PARTS:
        return "  (amount = quantity x unit_price)"
    return "  (a word of its name, or its values; check it)"
