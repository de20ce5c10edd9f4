"""Language helpers: French (default) and English number formatting and short texts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from custrel_lib.exceptions import ConfigError

LANGUAGES = ("fr", "en")
"""Languages of the reports and of every user-facing text."""

DEFAULT_LANGUAGE = "fr"
NBSP = "\u202f"  # narrow no-break space, the French thousands separator


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported language, else raise a :class:`ConfigError` listing them."""
    if lang not in LANGUAGES:
        raise ConfigError(f"Unknown language {lang!r}: use one of {', '.join(LANGUAGES)}.")
    return lang


def format_number(value: float | int | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """Format a number the way a reader of ``lang`` expects (``12 345,6`` in French, ``12,345.6`` in English)."""
    check_lang(lang)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "fr":
        text = text.replace(",", NBSP).replace(".", ",")
    return text


def format_percent(share: float | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 1) -> str:
    """Format a share (0.253) as a percentage (``25,3 %`` in French, ``25.3%`` in English)."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "–"
    number = format_number(share * 100, lang, decimals)
    return f"{number}{NBSP}%" if lang == "fr" else f"{number}%"


#: The currency of ``transactions.amount`` as the reports write it: ``currency:`` in custrel.yml, set for the
#: process by :func:`set_currency` (``custrel_lib.workbench.prepare`` does, in every notebook of a report).
CURRENCY = {"symbol": "€"}
#: Codes written as their symbol; any other code or sign is written as given.
CURRENCY_SIGNS = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥"}


def set_currency(currency: str) -> str:
    """Set the currency the reports write amounts in (``€``, ``£``, ``$``, ``CHF``, ...); returns its sign."""
    CURRENCY["symbol"] = CURRENCY_SIGNS.get(currency.strip().upper(), currency.strip())
    return CURRENCY["symbol"]


def format_currency(
    value: float | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 0, symbol: str | None = None
) -> str:
    """``12 345 €`` in French, ``€12,345`` in English (``CHF 12,345``: a sign of letters takes a space)."""
    number = format_number(value, lang, decimals)
    symbol = symbol or CURRENCY["symbol"]
    if lang == "fr":
        return f"{number}{NBSP}{symbol}"
    return f"{symbol}{NBSP}{number}" if symbol[-1:].isalpha() else f"{symbol}{number}"


def plotly_separators(lang: str = DEFAULT_LANGUAGE) -> str:
    """Value for ``fig.update_layout(separators=...)``: decimal mark then thousands separator."""
    return ", " if check_lang(lang) == "fr" else ".,"


def tr(texts: dict[str, dict[str, str]], key: str, lang: str = DEFAULT_LANGUAGE, **fmt) -> str:
    """Look up ``texts[key][lang]`` and format it; modules keep their own ``texts`` dictionaries."""
    return texts[key][check_lang(lang)].format(**fmt)


# ------------------------------------------------------------------------------------------------ dates

DATE_FORMATS = {"fr": "%d/%m/%Y", "en": "%Y-%m-%d"}
"""``strftime`` format of a date for each language (``31/12/2025``, ``2025-12-31``)."""
PLOTLY_DATE_FORMATS = {"fr": "%d/%m/%Y", "en": "%Y-%m-%d"}
"""d3 time format of date axes and hover labels for each language (plotly's ``tickformat``)."""


def format_date(value: Any, lang: str = DEFAULT_LANGUAGE) -> str:
    """Format a date the way a reader of ``lang`` expects: ``31/12/2025`` in French, ``2025-12-31`` in English.

    Parameters
    ----------
    value : date, datetime, Timestamp or str
        A date; a string is read as an ISO date (``2025-12-31``, with or without a time).
    lang : {"fr", "en"}

    Returns
    -------
    str
        The formatted date; ``–`` for ``None``; a string that is not an ISO date is returned unchanged.
    """
    check_lang(lang)
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if hasattr(value, "strftime"):
        try:
            return value.strftime(DATE_FORMATS[lang])
        except ValueError:  # NaT
            return "–"
    return str(value)


# ------------------------------------------------------------------------------------------- catalogues

#: Catalogues whose entries are ``(fr, en)`` tuples rather than ``{"fr": ..., "en": ...}`` mappings.
