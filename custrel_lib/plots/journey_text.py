"""The words of the journey figures (French and English): titles, subtitles, units, and the phrases they
are built from (:mod:`.sankey` and :mod:`.journeys` draw the figures)."""

from __future__ import annotations

import pandas as pd

from custrel_lib.i18n import check_lang, format_date, format_number, tr
from custrel_lib.journeys._base import describe_filters, period_label

TEXT = {
    "sankey_title": {"fr": "Parcours entre étapes de la relation", "en": "Moves between relationship stages"},
    "cycle_title": {"fr": "Parcours entre cycles de la relation", "en": "Moves between relationship cycles"},
    "sankey_sub": {
        "fr": (
            "{population}, étape en fin de {unit}, {span} ; épaisseur d'un flux : nombre de clients ; "
            "« Entrée » : vus pour la première fois, « Sortie » : plus vus"
        ),
        "en": (
            "{population}, stage at the end of each {unit}, {span}; link width: number of customers; "
            '"Entry": seen for the first time, "Exit": no longer seen'
        ),
    },
    "population": {"fr": "{n} clients suivis", "en": "{n} tracked customers"},
    "population_filtered": {
        "fr": "{n} clients suivis ({filters})",
        "en": "{n} tracked customers ({filters})",
    },
    "span": {"fr": "{a}–{b}", "en": "{a}–{b}"},
    "heatmap_title": {
        "fr": "Taux de passage d'une étape à l'autre (par {unit})",
        "en": "Transition rates per {unit}",
    },
    "heatmap_sub": {
        "fr": (
            "{population} ; part des clients d'une étape (ligne) en fin de {unit} qui sont dans chaque étape "
            "(colonne) un {unit} plus tard ; {n_moves} passages cumulés, {span}{burn_in} ; ligne « Entrée » : "
            "étape des nouveaux clients"
        ),
        "en": (
            "{population}; share of the customers of a stage (row) at the end of a {unit} found in each stage "
            '(column) one {unit} later; {n_moves} moves pooled, {span}{burn_in}; row "Entry": stage of the new '
            "customers"
        ),
    },
    "heatmap_burn_in": {"fr": " (rodage de {n} exclu)", "en": " ({n} burn-in left out)"},
    "from": {"fr": "Étape de départ", "en": "From"},
    "to": {"fr": "Étape d'arrivée", "en": "To"},
    "forecast_title": {
        "fr": "Répartition des clients par étape, observée puis projetée (Markov, population ouverte)",
        "en": "Customers by stage, observed then projected (Markov, open population)",
    },
    "forecast_title_closed": {
        "fr": "Répartition des clients par étape, observée puis projetée (Markov, population fermée)",
        "en": "Customers by stage, observed then projected (Markov, closed population)",
    },
    "forecast_sub_share": {
        "fr": (
            "{population} ; part de chaque étape en fin de {unit}, observée {span} (trait plein), projetée "
            "sur {k} (pointillés) avec {e} nouveaux clients par {unit}{burn_in}"
        ),
        "en": (
            "{population}; share of each stage at the end of each {unit}, observed {span} (solid), projected "
            "over {k} (dotted) with {e} new customers per {unit}{burn_in}"
        ),
    },
    "forecast_sub_count": {
        "fr": (
            "{population} ; nombre de clients de chaque étape en fin de {unit}, observé {span} (trait plein), "
            "projeté sur {k} (pointillés) avec {e} nouveaux clients par {unit}{burn_in}"
        ),
        "en": (
            "{population}; customers in each stage at the end of each {unit}, observed {span} (solid), "
            "projected over {k} (dotted) with {e} new customers per {unit}{burn_in}"
        ),
    },
    "forecast_sub_closed": {
        "fr": (
            "{population} ; part de chaque étape en fin de {unit}, observée {span} (trait plein), projetée "
            "sur {k} (pointillés) sans nouveaux clients{burn_in}"
        ),
        "en": (
            "{population}; share of each stage at the end of each {unit}, observed {span} (solid), projected "
            "over {k} (dotted) without new customers{burn_in}"
        ),
    },
    "forecast_burn_in": {
        "fr": " ; zone grisée : rodage, hors estimation",
        "en": "; shaded: burn-in, left out of the estimation",
    },
    "burn_in": {"fr": "rodage", "en": "burn-in"},
    "share": {"fr": "Part des clients", "en": "Share of customers"},
    "customers_axis": {"fr": "Nombre de clients", "en": "Number of customers"},
    "observed": {"fr": "observé", "en": "observed"},
    "projected": {"fr": "projeté", "en": "projected"},
    "backtest_title": {
        "fr": "Back-test : erreur du modèle face à la prévision « rien ne change »",
        "en": 'Back-test: model error against the "no change" forecast',
    },
    "backtest_sub": {
        "fr": (
            "{population} ; écart absolu moyen entre parts projetées et observées, moyenne sur les {n} étapes, "
            "en points ; ajusté jusqu'à {cut}, comparé à {span} ; « rien ne change » : répartition de {cut} "
            "reconduite"
        ),
        "en": (
            "{population}; mean absolute error between projected and observed shares over the {n} stages, in "
            'points; fitted up to {cut}, compared with {span}; "no change": the mix of {cut} carried forward'
        ),
    },
    "backtest_axis": {"fr": "Écart moyen par étape (points)", "en": "Mean error per stage (points)"},
    "backtest_x": {"fr": "Période prévue (horizon)", "en": "Forecast period (horizon)"},
    "model": {"fr": "Modèle de Markov", "en": "Markov model"},
    "no_change": {"fr": "Rien ne change", "en": "No change"},
    "previous": {"fr": "de l'étape précédente", "en": "of the previous step"},
    "start": {"fr": "de la population de départ", "en": "of the starting population"},
    "touch_title": {"fr": "Premières étapes du parcours client", "en": "First steps of the customer journey"},
    "touch_sub": {
        "fr": (
            "{n} clients ayant des interactions de parcours{period} ; {k} premières étapes dans l'ordre des "
            "dates, répétitions fusionnées ; épaisseur : nombre de clients"
        ),
        "en": (
            "{n} customers with journey interactions{period}; first {k} steps in date order, repeats merged; "
            "link width: number of customers"
        ),
    },
    "dropoff_title": {
        "fr": "Clients restant à chaque étape du parcours",
        "en": "Customers left at each journey step",
    },
    "dropoff_sub": {
        "fr": (
            "{n} clients ayant des interactions de parcours{period} ; nombre de clients ayant atteint chaque "
            "étape (survol : part des clients de l'étape 1)"
        ),
        "en": (
            "{n} customers with journey interactions{period}; customers who reached each step (hover: share "
            "of those at step 1)"
        ),
    },
    "period": {"fr": ", {span}", "en": ", {span}"},
    "position": {"fr": "Étape n°", "en": "Step #"},
    "customers": {"fr": "Clients", "en": "Customers"},
}
UNITS = {
    "month": {"fr": ("mois", "mois"), "en": ("month", "months")},
    "quarter": {"fr": ("trimestre", "trimestres"), "en": ("quarter", "quarters")},
    "year": {"fr": ("an", "ans"), "en": ("year", "years")},
}


def phrase(key: str, lang: str, **fmt) -> str:
    """Text ``key`` of :data:`TEXT` in ``lang``, filled with ``fmt``."""
    return tr(TEXT, key, check_lang(lang), **fmt)


def unit_text(cadence: str, lang: str, n: int | None = None) -> str:
    """The period's name (``n`` None), or ``n`` periods: ``"mois"``, ``"3 trimestres"``."""
    one, many = UNITS[cadence][lang]
    if n is None:
        return one
    return f"{n} {one if n == 1 else many}"


def span_text(a, b, cadence: str, lang: str) -> str:
    """Two periods as a span (one period when they are the same)."""
    la, lb = period_label(a, cadence, lang), period_label(b, cadence, lang)
    return la if la == lb else phrase("span", lang, a=la, b=lb)


def population_text(n: int, lang: str, filters: dict | None = None) -> str:
    """``"1 234 clients suivis"``, with the filters when there are some."""
    if filters:
        return phrase(
            "population_filtered", lang, n=format_number(n, lang), filters=describe_filters(filters, lang)
        )
    return phrase("population", lang, n=format_number(n, lang))


def period_text(period, lang: str) -> str:
    """``", 01/01/2024–31/12/2025"`` for the first and last dates of ``period`` (empty for None)."""
    if period is None:
        return ""
    a, b = (format_date(pd.Timestamp(p), lang) for p in period)
    return phrase("period", lang, span=phrase("span", lang, a=a, b=b))
