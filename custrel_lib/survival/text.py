"""Plain-word sentences about survival results, in French and English (reused by the executive summary)."""

from __future__ import annotations

import math

from custrel_lib import typology
from custrel_lib.i18n import format_number


def median_sentence(group: str, median: float, lang: str = "fr", unit: str = "days") -> str:
    """ "Half of the one-night stands are gone within N days" (or: more than half are still there)."""
    fr = typology._check_lang(lang) == "fr"
    name = typology.stage_label(group, lang) if group in typology.stage_order() else str(group)
    who = name.lower() if fr else name.lower() + ("s" if not name.endswith("s") else "")
    if fr:
        unit_word = {"days": "jours", "weeks": "semaines", "months": "mois"}[unit]
        if median is None or math.isinf(median) or math.isnan(median):
            return f"Plus de la moitié des « {who} » sont toujours là à la fin de la période observée."
        return f"La moitié des « {who} » sont partis en {format_number(median, 'fr')} {unit_word}."
    if median is None or math.isinf(median) or math.isnan(median):
        return f"More than half of the {who} are still there at the end of the observed period."
    return f"Half of the {who} are gone within {format_number(median, 'en')} {unit}."
