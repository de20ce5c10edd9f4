"""The words of the journey analyses (French and English): catalogue, units, and the small phrases that
sentences (:mod:`.narrative`) and report tables (:mod:`.tables`) are built from.

Every text lives in :data:`TEXT` and goes through :func:`custrel_lib.i18n.tr`; numbers are formatted for
the reader's language by :mod:`custrel_lib.i18n`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from custrel_lib.i18n import format_number, format_percent, tr
from custrel_lib.journeys._base import code_label, period_label

if TYPE_CHECKING:
    from custrel_lib.journeys.markov import MarkovProjection

UNITS = {
    "month": {"fr": ("mois", "mois"), "en": ("month", "months")},
    "quarter": {"fr": ("trimestre", "trimestres"), "en": ("quarter", "quarters")},
    "year": {"fr": ("an", "ans"), "en": ("year", "years")},
}
MOVES = {"fr": ("passage", "passages"), "en": ("move", "moves")}

TEXT = {
    "span": {"fr": "{a}–{b}", "en": "{a}–{b}"},
    "points": {"fr": "{x} pt", "en": "{x} pt"},
    "moves": {"fr": "{n} {moves} d'un {unit} au suivant", "en": "{n} {unit}-to-{unit} {moves}"},
    "burn_in": {
        "fr": (
            "Rodage : {n} au début de la fenêtre ({span}) sont écartés de l'estimation, car des clients "
            "antérieurs à la fenêtre y apparaissent comme nouveaux (leurs achats passés ne sont pas dans "
            "les données). Taux de passage, sorties et entrées sont estimés sur {moves}, de {start} à {end}."
        ),
        "en": (
            "Burn-in: {n} at the start of the window ({span}) are left out of the estimation, because "
            "customers from before the window look new there (their earlier purchases are not in the data). "
            "Transition rates, exits and entries are estimated on {moves}, from {start} to {end}."
        ),
    },
    "no_burn_in": {
        "fr": (
            "Pas de rodage : tous les passages, de {start} à {end} ({moves}), servent à l'estimation ; les "
            "premières périodes peuvent compter comme nouveaux des clients antérieurs à la fenêtre."
        ),
        "en": (
            "No burn-in: every move, from {start} to {end} ({moves}), is used for the estimation; the first "
            "periods may count customers from before the window as new."
        ),
    },
    "entries": {
        "fr": "Entrées : {n} nouveaux clients par {unit} en moyenne sur {span} ({mix}).",
        "en": "Entries: {n} new customers per {unit} on average over {span} ({mix}).",
    },
    "exits": {
        "fr": "Sorties : {rate} des clients quittent la population par {unit} en moyenne.",
        "en": "Exits: {rate} of the customers leave the population per {unit} on average.",
    },
    "no_exits": {
        "fr": (
            "Aucune sortie observée : un client vu une fois reste dans la population (un client parti y "
            "reste comme « {separe} »)."
        ),
        "en": (
            "No exit observed: a customer seen once stays in the population (one who left stays there as "
            '"{separe}").'
        ),
    },
    "steady": {
        "fr": (
            "État d'équilibre : si taux de passage et entrées se maintiennent, la population se stabilise "
            "autour de {total} clients ({mix})."
        ),
        "en": (
            "Steady state: if transition rates and entries stay the same, the population settles at about "
            "{total} customers ({mix})."
        ),
    },
    "no_steady_no_exit": {
        "fr": (
            "Pas d'état d'équilibre en nombre de clients : personne ne quitte la population, qui gagne "
            "{n} clients par {unit} sans limite. Seules les parts ont une limite, atteinte très lentement "
            "({mix})."
        ),
        "en": (
            "No steady state in numbers of customers: nobody leaves the population, which gains {n} "
            "customers per {unit} without limit. Only the shares have a limit, reached very slowly ({mix})."
        ),
    },
    "no_steady_unknown": {
        "fr": (
            "Pas d'état d'équilibre calculable : {stages} n'apparaissent jamais en début de période après le "
            "rodage, leur devenir est inconnu (un historique plus long le dirait)."
        ),
        "en": (
            "No steady state can be computed: {stages} never appear at the start of a period after the burn-in, "
            "so what becomes of their customers is unknown (a longer history would tell)."
        ),
    },
    "no_steady_trapped": {
        "fr": (
            "Pas d'état d'équilibre en nombre de clients : on ne sort jamais de {stages} (ni de là où ces "
            "étapes mènent), leur effectif croît sans limite. Parts limites : {mix}."
        ),
        "en": (
            "No steady state in numbers of customers: nobody ever leaves {stages} (or where they lead) for "
            "an exit, so their counts grow without limit. Limit shares: {mix}."
        ),
    },
    "backtest": {
        "fr": (
            "Back-test : ajusté jusqu'à {cut}, le modèle projette {k} ({span}) avec un écart moyen de {model} "
            "par étape, contre {same} pour la prévision « rien ne change » (la répartition de {cut} "
            "reconduite) : {verdict}"
        ),
        "en": (
            "Back-test: fitted up to {cut}, the model projects {k} ({span}) with a mean error of {model} per "
            'stage, against {same} for the "no change" forecast (the mix of {cut} carried forward): {verdict}'
        ),
    },
    "better": {
        "fr": "le modèle fait mieux que l'absence de changement.",
        "en": "the model does better than no change.",
    },
    "worse": {
        "fr": (
            "le modèle fait moins bien que l'absence de changement ; sa projection ne vaut pas mieux que la "
            "situation actuelle reconduite."
        ),
        "en": (
            "the model does worse than no change; its projection is no better than carrying today's mix "
            "forward."
        ),
    },
    "tie": {
        "fr": "le modèle ne fait ni mieux ni moins bien que l'absence de changement (écart sous {tie}).",
        "en": "the model does neither better nor worse than no change (difference under {tie}).",
    },
    "too_short": {
        "fr": (
            "Projection impossible : l'historique couvre {have} et le rodage en écarte {burn} ; il en faut au "
            "moins {need} pour estimer les taux de passage ({min_moves} après le rodage). Un historique plus long, "
            "ou un rodage plus court (paramètre burn_in_periods), le permettrait."
        ),
        "en": (
            "No projection: the history covers {have} and the burn-in leaves out {burn}; at least {need} are "
            "needed to estimate the transition rates ({min_moves} after the burn-in). A longer history, or a "
            "shorter burn-in (parameter burn_in_periods), would allow it."
        ),
    },
    "backtest_too_short": {
        "fr": (
            "Back-test impossible : il demande au moins {need} d'historique ({burn} de rodage, {min_moves} "
            "pour ajuster, {k} mis de côté) ; l'historique en couvre {have}. Il le sera avec {more} de plus, "
            "ou avec moins de périodes mises de côté (paramètre backtest_periods)."
        ),
        "en": (
            "No back-test: it needs at least {need} of history ({burn} of burn-in, {min_moves} to fit, {k} "
            "held out); the history covers {have}. It will be possible with {more} more, or with fewer "
            "periods held out (parameter backtest_periods)."
        ),
    },
    "backtest_off": {
        "fr": "Pas de back-test : aucune période mise de côté (paramètre backtest_periods à 0).",
        "en": "No back-test: no period held out (parameter backtest_periods at 0).",
    },
    "no_interactions": {
        "fr": (
            "Parcours par points de contact non calculés : les données n'ont pas de table d'interactions "
            "(type besoin, recherche, choix, achat, ...). Ajoutez-la au fichier custrel.yml pour obtenir ce "
            "diagramme."
        ),
        "en": (
            "Touchpoint journeys not computed: the data has no interactions table (type besoin, recherche, "
            "choix, achat, ...). Add it to custrel.yml to get this diagram."
        ),
    },
    "no_steps": {
        "fr": (
            "Parcours par points de contact non calculés : la table d'interactions ne contient aucune étape "
            "de parcours (besoin, recherche, choix, achat, découverte, usage, recommandation, parrainage)."
        ),
        "en": (
            "Touchpoint journeys not computed: the interactions table has no journey step (besoin, "
            "recherche, choix, achat, decouverte, usage, recommandation, parrainage)."
        ),
    },
    # backtest table headers
    "col_step": {"fr": "Horizon", "en": "Horizon"},
    "col_period": {"fr": "Période", "en": "Period"},
    "col_model": {"fr": "Écart moyen du modèle", "en": "Model mean error"},
    "col_same": {"fr": "Écart moyen « rien ne change »", "en": '"No change" mean error'},
    "col_model_max": {"fr": "Écart max. du modèle", "en": "Model max. error"},
    "col_same_max": {"fr": "Écart max. « rien ne change »", "en": '"No change" max. error'},
    "col_best": {"fr": "Le plus juste", "en": "Closest"},
    "model": {"fr": "modèle", "en": "model"},
    "no_change": {"fr": "rien ne change", "en": "no change"},
    "even": {"fr": "égalité", "en": "tie"},
    # projection table headers
    "col_stage": {"fr": "Étape", "en": "Stage"},
    "col_share_now": {"fr": "Part ({when})", "en": "Share ({when})"},
    "col_share_then": {"fr": "Part projetée ({when})", "en": "Projected share ({when})"},
    "col_n_now": {"fr": "Clients ({when})", "en": "Customers ({when})"},
    "col_n_then": {"fr": "Clients projetés ({when})", "en": "Projected customers ({when})"},
    "col_entries": {"fr": "Entrées par {unit}", "en": "Entries per {unit}"},
    "col_steady": {"fr": "Clients à l'équilibre", "en": "Steady-state customers"},
    "col_limit": {"fr": "Part limite", "en": "Limit share"},
    # what Transitions counted, and its tables
    "transitions": {
        "fr": (
            "Passages entre étapes d'un {unit} au suivant : {n} clients suivis sur {k}, de {start} à {end}."
        ),
        "en": "Moves between stages from one {unit} to the next: {n} tracked customers over {k}, from {start} to {end}.",
    },
    "transitions_filtered": {
        "fr": (
            "Passages entre étapes d'un {unit} au suivant : {n} clients suivis sur {k}, de {start} à {end} "
            "(filtre : {filters})."
        ),
        "en": (
            "Moves between stages from one {unit} to the next: {n} tracked customers over {k}, from {start} "
            "to {end} (filter: {filters})."
        ),
    },
    "col_customers_last": {"fr": "Clients ({when})", "en": "Customers ({when})"},
    "col_share_last": {"fr": "Part ({when})", "en": "Share ({when})"},
    "col_observed_moves": {"fr": "Passages observés", "en": "Observed moves"},
    "col_stay_rate": {"fr": "Restent dans l'étape", "en": "Stay in the stage"},
    "col_exit_rate": {"fr": "Quittent la population", "en": "Leave the population"},
    "col_main_destination": {"fr": "Principale autre destination", "en": "Main other destination"},
    "col_main_destination_rate": {"fr": "Part vers cette destination", "en": "Share to that destination"},
    "paths_caption": {
        "fr": "Les {top} suites d'étapes les plus fréquentes sur {k} consécutifs{collapsed}",
        "en": "The {top} most frequent stage sequences over {k} in a row{collapsed}",
    },
    "paths_collapsed": {"fr": " (répétitions fusionnées)", "en": " (repeats merged)"},
    "col_path": {"fr": "Parcours", "en": "Path"},
    "col_windows": {"fr": "Occurrences", "en": "Occurrences"},
    "col_share_windows": {"fr": "Part des occurrences", "en": "Share of occurrences"},
    "col_customers": {"fr": "Clients", "en": "Customers"},
}


def units(n: int, cadence: str, lang: str = "fr") -> str:
    """``"2 trimestres"`` / ``"1 quarter"``."""
    one, many = UNITS[cadence][lang]
    return f"{n} {one if abs(n) == 1 else many}"


def unit(cadence: str, lang: str = "fr") -> str:
    """Singular name of the period: ``"trimestre"`` / ``"quarter"``."""
    return UNITS[cadence][lang][0]


def points(share: float, lang: str = "fr", decimals: int = 2) -> str:
    """A difference of shares in percentage points: ``0.0054`` gives ``"0,54 pt"`` / ``"0.54 pt"``."""
    return tr(TEXT, "points", lang, x=format_number(share * 100, lang, decimals))


def period_text(ts: pd.Timestamp, mp: MarkovProjection, lang: str) -> str:
    """A snapshot as the reader names its period (``"mars 2025"``, ``"T1 2025"``)."""
    return period_label(ts, mp.cadence_, lang)


def span_text(a: pd.Timestamp, b: pd.Timestamp, mp: MarkovProjection, lang: str) -> str:
    """Two periods as a span (one period when they are the same)."""
    la, lb = period_text(a, mp, lang), period_text(b, mp, lang)
    return la if la == lb else tr(TEXT, "span", lang, a=la, b=lb)


def moves_text(n: int, mp: MarkovProjection, lang: str) -> str:
    """``n`` period-to-period moves, in words."""
    one, many = MOVES[lang]
    return tr(TEXT, "moves", lang, n=n, moves=one if n == 1 else many, unit=unit(mp.cadence_, lang))


def mix_text(values: pd.Series, lang: str, top: int = 3) -> str:
    """The ``top`` largest shares of a stage mix: ``"Flirt 40 %, Prospect 30 %"``."""
    s = values[values > 0].sort_values(ascending=False).head(top)
    return ", ".join(f"{code_label(code, lang)} {format_percent(v, lang, 0)}" for code, v in s.items())
