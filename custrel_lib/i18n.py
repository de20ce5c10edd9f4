"""Language helpers: French (default) and English number formatting and short texts."""

from __future__ import annotations

import math

from custrel_lib.typology import _check_lang

DEFAULT_LANGUAGE = "fr"
NBSP = "\u202f"  # narrow no-break space, the French thousands separator


def format_number(value: float | int | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 0) -> str:
    """Format a number the way a reader of ``lang`` expects (``12 345,6`` in French, ``12,345.6`` in English)."""
    _check_lang(lang)
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


def format_currency(
    value: float | None, lang: str = DEFAULT_LANGUAGE, decimals: int = 0, symbol: str = "€"
) -> str:
    number = format_number(value, lang, decimals)
    return f"{number}{NBSP}{symbol}" if lang == "fr" else f"{symbol}{number}"


def plotly_separators(lang: str = DEFAULT_LANGUAGE) -> str:
    """Value for ``fig.update_layout(separators=...)``: decimal mark then thousands separator."""
    return ", " if _check_lang(lang) == "fr" else ".,"


def tr(texts: dict[str, dict[str, str]], key: str, lang: str = DEFAULT_LANGUAGE, **fmt) -> str:
    """Look up ``texts[key][lang]`` and format it; modules keep their own ``texts`` dictionaries."""
    return texts[key][_check_lang(lang)].format(**fmt)
