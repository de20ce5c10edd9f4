"""The data contract in one place: the canonical tables and columns, the allowed values, and the column checks.

Both loaders (:mod:`custrel_lib.io.load` in pandas, :mod:`custrel_lib.io.scan` in the engine) and every
analysis that checks its input columns read their definitions from here. ``docs/data_contract.md`` explains
the contract to users.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from typing import Any

from custrel_lib.exceptions import MissingColumnError

# canonical column -> (kind, required)
SCHEMA: dict[str, dict[str, tuple[str, bool]]] = {
    "transactions": {
        "customer_id": ("id", True),
        "date": ("date", True),
        "amount": ("amount", True),
        "order_id": ("str", False),
        "category": ("str", False),
        "channel": ("str", False),
    },
    "customers": {
        "customer_id": ("id", True),
        "signup_date": ("date", False),
        "contract_start": ("date", False),
        "contract_end": ("date", False),
        "end_reason": ("str", False),
        "loyalty_member": ("bool", False),
        "acquisition_channel": ("str", False),
        "region": ("str", False),
    },
    "interactions": {
        "customer_id": ("id", True),
        "date": ("date", True),
        "type": ("str", True),
        "score": ("float", False),
        "resolved": ("bool", False),
    },
}
TABLES = tuple(SCHEMA)
#: Line-item exports (Online Retail, most e-commerce back offices) give a quantity and a unit price, not the
#: amount: when the transactions have no amount column, both are read and amount = quantity x unit price
#: (rounded to 6 decimals). They are not kept in the loaded table.
AMOUNT_PARTS = ("quantity", "unit_price")
#: The amount of every row of transactions without amounts (``amounts: false``: a log of visits or of orders
#: without their value): each row is one purchase, counted as purchases are; the reports show no figure of money.
NO_AMOUNT = "=1"
#: Order-level values on one line of an order: exports with one row per order line (Shopify's orders export)
#: write the order's total, and sometimes its date, on its first line only. With ``order_lines: true`` an empty
#: amount or date on a line whose order has a kept line with one is not missing: the order's lines add up to
#: it. Without the setting, or when no line of the order has one, the line is rejected with these messages.
ORDER_LEVEL = ("date", "amount")


def empty_message(column: str, order_lines: bool, has_order: bool) -> str:
    """The message of an empty ``date`` or ``amount`` of a transaction (both loaders)."""
    if order_lines and has_order:
        return f"{column} is empty on every line of this order"
    if has_order:
        return f"{column} is empty (if another line of this order holds it, set order_lines: true)"
    return f"{column} is empty"


#: The columns ``custrel.yml`` may map, per table: the contract's, and the parts of a computed amount.
MAPPABLE = {
    name: (*columns, *(AMOUNT_PARTS if name == "transactions" else ())) for name, columns in SCHEMA.items()
}
#: The journey steps, in the order of a customer's journey (interaction types).
JOURNEY_STEPS = (
    "besoin",
    "recherche",
    "choix",
    "achat",
    "decouverte",
    "usage",
    "recommandation",
    "parrainage",
)
#: Every interaction type the analyses read; other types are kept, flagged and ignored.
INTERACTION_TYPES = ["nps", "complaint", "support", "referral", "review", *JOURNEY_STEPS]
#: French (and other) words for the contract's interaction types, after case and accents are folded.
TYPE_SYNONYMS = {
    "reclamation": "complaint",
    "plainte": "complaint",
    "avis": "review",
    "assistance": "support",
    "sav": "support",
}
#: Every interaction type custrel reads (the contract's and their synonyms, written folded): what ``custrel init``
#: compares a file's folded types with (io/event_log.py, io/surveys.py).
READ_TYPES = frozenset((*INTERACTION_TYPES, *TYPE_SYNONYMS))
END_REASONS = ("voluntary", "involuntary")
#: A contract that ends before it starts: which date is wrong cannot be told, so the customer is read without one.
CONTRACT_ORDER_MESSAGE = (
    "the contract ends before it starts: both contract dates emptied (the customer is read without a contract, "
    "from its purchases)"
)
END_REASON_MESSAGE = (
    "end_reason must be voluntary or involuntary (volontaire, involontaire; the file's own words are read with "
    "tables.customers.values.end_reason in custrel.yml): emptied"
)
#: French words for the end reasons (lower case).
END_REASON_SYNONYMS = {"volontaire": "voluntary", "involontaire": "involuntary"}
TRUE_VALUES = ("true", "vrai", "oui", "yes", "y", "o", "1", "x")
FALSE_VALUES = ("false", "faux", "non", "no", "n", "0")
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%y",  # French Excel's short date
    "%d/%m/%y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d-%m-%Y",
    "%d-%m-%Y %H:%M",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    # Month names (English, or French read as English: FRENCH_MONTHS): 05-Mar-2024 (Oracle), 5 mars 2024.
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",  # Jan 5 2024: the same without the comma
    "%b %d %Y %I:%M%p",  # Jan  5 2024 10:00AM: SQL Server's datetime as text (blanks pad the day and hour)
    "%B %d %Y",
    # Month first (US exports) after day first: a sample that reads both ways (every day <= 12) is day first.
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%y",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",  # 3/5/2024 2:22:31 PM (Excel, Salesforce, SQL Server in English)
    "%m/%d/%Y %I:%M %p",
)
#: French month names and their usual abbreviations, read as the English abbreviations ``%b`` reads
#: (``5 mars 2024``, ``05-janv.-2024``, ``1er mars 2024``): (words, English) pairs, case ignored.
FRENCH_MONTHS = (
    ("janvier|janv\\.?", "Jan"),
    ("février|fevrier|févr\\.?|fevr\\.?|fév\\.?", "Feb"),
    ("mars", "Mar"),
    ("avril|avr\\.?", "Apr"),
    ("mai", "May"),
    ("juin", "Jun"),
    ("juillet|juil\\.?", "Jul"),
    ("août|aout", "Aug"),
    ("septembre|sept\\.?", "Sep"),
    ("octobre|oct\\.", "Oct"),
    ("novembre|nov\\.", "Nov"),
    ("décembre|decembre|déc\\.?", "Dec"),
)
_LETTERS = "a-zA-ZÀ-ÿ"
#: FRENCH_MONTHS as (pattern, replacement) for a regular expression, the same in DuckDB (RE2) and pandas: the
#: word between two non-letters.
MONTH_WORDS = (
    *(
        (f"(^|[^{_LETTERS}])(?:{words})([^{_LETTERS}]|$)", f"\\1{english}\\2")
        for words, english in FRENCH_MONTHS
    ),
    (r"\b1er\b", "1"),  # 1er mars 2024: the first of March
)


def has_month_name(date_format: str | None) -> bool:
    """Whether values in ``date_format`` name the month (FRENCH_MONTHS are then read as English)."""
    return bool(date_format) and ("%b" in date_format or "%B" in date_format)


#: A time's fractional seconds and time zone (``10:00:00.123+01:00``, ``10:00Z``, ``10:00 UTC``): removed before
#: a date is read, so that the date is the one written, in the time zone it was written in (group 1 is kept).
#: The same pattern runs in DuckDB (RE2) and in pandas.
ZONE = r"^(.*[T ]\d{1,2}:\d\d(?::\d\d)?)(\.\d+)?\s*(Z|UTC|GMT|[+-]\d\d(?::?\d\d)?)?$"


def split_zone(date_format: str) -> tuple[str, bool]:
    """A date format without its fractional seconds and time zone (``%f``, ``%z``, ``%Z``), and whether the
    values must lose theirs (:data:`ZONE`) before they are read with it."""
    base = date_format
    for directive in (".%f", "%f", "%z", "%Z"):
        base = base.replace(directive, "")
    return base.rstrip(), base != date_format


#: A survey note written with its scale or its label (``9/10``, ``7 - Plutôt probable``, ``8 : satisfait``): the
#: number is group 1. Scores (``float`` columns) only; the same pattern runs in DuckDB (RE2) and in pandas.
NOTE = r"^\s*(\d{1,2}(?:[.,]\d+)?)\s*(?:/\s*10\b.*|[-–:]\s*\D.*)$"


#: The dates a customer event may have: before 1900 none (1899-12-30 is the date Excel gives an empty cell), after
#: 2262-04-11 none that pandas can hold. Outside, a date is rejected (required) or emptied (optional).
EARLIEST_DATE, LATEST_DATE = "1900-01-01", "2262-04-11"


def out_of_range_message(emptied: bool) -> str:
    """The message of a date outside EARLIEST_DATE .. LATEST_DATE (both loaders)."""
    return f"before {EARLIEST_DATE} or after 2262: not a plausible date" + (": emptied" if emptied else "")


def unreadable_date(used: str | None) -> str:
    """The message of a date that cannot be read with the column's format, or with none (nothing matched)."""
    if used is None:
        return (
            "cannot read this date: no known format reads this column (ISO, day/month/year, month/day/year, "
            "two-digit years, month names in English or French, with or without a time and a time zone, Excel's "
            "serial numbers); set date_format for this table in custrel.yml (a month without its day, 2024-01, is read "
            "as its first day with date_format: '%Y-%m'; day numbers, 1 for the first day, with date_format: "
            "'days since 2019-12-31', the day before day 1)"
        )
    return f"cannot read this date (format {used})"


SEPARATORS = (",", ";", "\t", "|")
#: ``sep`` of a file whose fields are separated by runs of spaces and tabs (CDNOW's text files), written ``sep: " "``.
WHITESPACE_SEP = " "
#: Characters removed from numbers before parsing (spaces, no-break spaces, currency signs).
NUMBER_NOISE = r"[\s\u00a0\u202f€$£]"
#: A number written with a decimal comma (French Excel): ``1.234,56``.
DECIMAL_COMMA = r"[-+]?\d+(?:\.\d{3})*,\d+"
#: A number written with a decimal point: ``1,234.56``, ``12.5``.
DECIMAL_POINT = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+"
#: Customer ids written as decimals (``17850.0``: a column of numbers with a gap, saved by pandas or a BI tool):
#: when every one of the first values of the column looks so, each such id is read without its ``.0``, so that
#: it meets the same customer written ``17850`` in another file. The same patterns run in DuckDB and pandas.
DECIMAL_ID, DECIMAL_ID_STRIP = r"\d+\.0+", (r"^(\d+)\.0+$", r"\1")
#: Customer ids that are e-mail addresses (Shopify's, Stripe's and most e-commerce exports): when at least
#: :data:`EMAIL_ID_SHARE` of the first values of the column are, every id of the column is read in lower case,
#: so that ``Marie@X.fr`` and ``marie@x.fr`` are one customer, as mail servers treat them.
EMAIL_ID, EMAIL_ID_SHARE = r"[^@\s]+@[^@\s]+\.[^@\s]+", 0.95
#: Currency codes written before or after an amount (``12,50 EUR``, ``EUR 12.50``), set aside as the signs are.
CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "JPY", "CNY", "SEK", "NOK", "DKK", "PLN", "CZK",
                  "HUF", "RON", "MAD", "TND", "DZD", "XOF", "XAF", "BRL", "MXN", "INR")  # fmt: skip
NUMBER_CODE = "^(?:{codes})|(?:{codes})$".format(codes="|".join(CURRENCY_CODES))
#: A negative amount as accounting and SAP exports write it, ``(12,50)`` and ``12,50-``: read as ``-12,50``
#: (replaced by ``-\1\2``, after the noise and the code are removed). Both patterns run in DuckDB (RE2) and pandas.
NUMBER_NEGATIVE = r"^\((.+)\)$|^([^-+()]+)-$"


def number_shape(decimal: str) -> str:
    """The shape of a number once cleaned, with its decimal mark: the other mark may only group thousands
    (``1.234,56`` / ``1,234.56``), so that ``12,5`` in a column of decimal points is not read as 125. An
    exponent has three digits at most: a hexadecimal id such as ``3197e02593189701`` (a session or a hash) is not
    a number, and pandas' parser crashes the process on such an exponent (pandas-dev/pandas#63089)."""
    group, point = (r"\.", ",") if decimal == "," else (",", r"\.")
    return rf"[-+]?(?:\d+|\d{{1,3}}(?:{group}\d{{3}})+)?(?:{point}\d*)?(?:[eE][-+]?\d{{1,3}})?"


# The columns the stage features read: required ones, and optional ones filled with nulls when absent.
FEATURE_REQUIRED = {
    "transactions": ("customer_id", "date", "amount"),
    "customers": ("customer_id",),
    "interactions": ("customer_id", "date", "type"),
}
FEATURE_OPTIONAL = {
    "transactions": {"category": "string"},
    "customers": {
        "signup_date": "datetime64[ns]",
        "contract_start": "datetime64[ns]",
        "contract_end": "datetime64[ns]",
        "loyalty_member": "boolean",
    },
    "interactions": {"score": "float64", "resolved": "boolean"},
}
DATE_COLUMNS = ("date", "signup_date", "contract_start", "contract_end")


#: The pandas dtype of each kind of column, as the loaders return the tables.
PANDAS_DTYPES = {
    "id": "string",
    "str": "string",
    "date": "datetime64[ns]",
    "amount": "float64",
    "float": "float64",
    "bool": "boolean",
}


def require_columns(df: Any, table: str, columns: Iterable[str]) -> None:
    """Raise :class:`MissingColumnError` for the first of ``columns`` missing from ``df`` (pandas or Ibis)."""
    found = list(df.columns)
    for col in columns:
        if col not in found:
            raise MissingColumnError(table, col, found)


#: Said of a missing interaction type: survey exports hold scores only.
TYPE_HINT = (
    ' (every interaction has one; for an export of NPS answers only, map it to a constant: type: "=nps")'
)


def is_constant(mapped: str) -> bool:
    """A value mapped in ``custrel.yml`` that starts with ``=`` is a constant for every row, not a column
    (``type: "=nps"``: a survey export whose rows are all NPS answers)."""
    return str(mapped).startswith("=")


def fold(name: str) -> str:
    """A column name as a person reads it: no accents, no case, underscores and hyphens as blanks, blanks
    collapsed (``Montant  TTC`` = ``montant ttc``, ``Numéro client`` = ``Numero client``, ``Customer ID`` =
    ``customer_id``)."""
    text = unicodedata.normalize("NFKD", str(name)).replace("_", " ").replace("-", " ")
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


def _find(canonical: str, user_columns: dict[str, str], found: list[str], missing: list[str]) -> str | None:
    """The file's column for ``canonical``: the mapped name, else the canonical name, exactly, then folded
    (:func:`fold`). A mapped name that no column matches is added to ``missing`` (with a close match, if any)."""
    folded: dict[str, list[str]] = {}
    for c in found:
        folded.setdefault(fold(c), []).append(c)
    user = user_columns.get(canonical)
    if user is not None and is_constant(user):
        return user
    wanted = user if user is not None else canonical
    if wanted in found:
        return wanted
    same = folded.get(fold(wanted), [])
    if len(same) == 1:
        return same[0]
    if user is not None:
        if same:  # two columns read the same once folded: which one is meant is a guess
            hint = f", ambiguous: {', '.join(map(repr, same))}"
        else:
            close = difflib.get_close_matches(fold(user), list(folded), n=1, cutoff=0.6)
            hint = f", did you mean {folded[close[0]][0]!r}?" if close else ""
        missing.append(f"'{user}' (mapped to {canonical}{hint})")
    return None


def column_mapping(name: str, user_columns: dict[str, str], found: list[str], source: str) -> dict[str, str]:
    """Canonical column -> the file's column, for the columns of table ``name`` present in ``found``.

    A column mapped in ``custrel.yml`` is matched exactly, then ignoring case, accents and repeated blanks
    (:func:`fold`); so is a canonical name. Every mapped column that cannot be found, and the first required
    column missing, are named in one :class:`MissingColumnError`, with a close match when there is one.
    Transactions without an amount column may give its parts instead (:data:`AMOUNT_PARTS`): then the mapping
    holds ``quantity`` and ``unit_price`` and no ``amount``.
    """
    out, missing = {}, []
    for canonical, (_, required) in SCHEMA[name].items():
        column = _find(canonical, user_columns, found, missing)
        if column is not None:
            out[canonical] = column
        elif canonical == "amount" and name == "transactions" and canonical not in user_columns:
            parts = {p: _find(p, user_columns, found, missing) for p in AMOUNT_PARTS}
            if None in parts.values():
                if not set(AMOUNT_PARTS) & set(user_columns):
                    missing.append(
                        "'amount' (or 'quantity' and 'unit_price'; for a file without amounts, a log of visits "
                        "or of orders without their value: amounts: false)"
                    )
            else:
                out.update(parts)
        elif required and canonical not in user_columns:
            missing.append(
                f"'{canonical}'" + (TYPE_HINT if (name, canonical) == ("interactions", "type") else "")
            )
    if missing:
        error = MissingColumnError(name, missing, found, source)
        error.mapped = out
        raise error
    return out
