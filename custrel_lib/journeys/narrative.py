"""Sentences and tables (French and English) that say what a :class:`MarkovProjection` did and found.

Every text lives in :data:`TEXT` and goes through :func:`custrel_lib.i18n.tr`; numbers are formatted for
the reader's language by :mod:`custrel_lib.i18n`.
"""

from __future__ import annotations

import pandas as pd

from custrel_lib.i18n import format_number, format_percent, tr
from custrel_lib.journeys._base import code_label, describe_filters, period_label
from custrel_lib.journeys.markov import MIN_BACKTEST_FIT_PAIRS, MIN_FIT_PAIRS, TIE_POINTS, MarkovProjection
from custrel_lib.journeys.transitions import Transitions, path_label
from custrel_lib.tables import HtmlTable

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


def _label(ts: pd.Timestamp, mp: MarkovProjection, lang: str) -> str:
    return period_label(ts, mp.cadence_, lang)


def _span(a: pd.Timestamp, b: pd.Timestamp, mp: MarkovProjection, lang: str) -> str:
    la, lb = _label(a, mp, lang), _label(b, mp, lang)
    return la if la == lb else tr(TEXT, "span", lang, a=la, b=lb)


def _moves(n: int, mp: MarkovProjection, lang: str) -> str:
    one, many = MOVES[lang]
    return tr(TEXT, "moves", lang, n=n, moves=one if n == 1 else many, unit=unit(mp.cadence_, lang))


def _mix(values: pd.Series, lang: str, top: int = 3) -> str:
    s = values[values > 0].sort_values(ascending=False).head(top)
    return ", ".join(f"{code_label(code, lang)} {format_percent(v, lang, 0)}" for code, v in s.items())


def burn_in_sentence(mp: MarkovProjection, lang: str = "fr") -> str:
    """Which periods were left out as burn-in and which moves were used for the estimation."""
    if mp.status_ != "ok":
        return ""
    start, end = mp.fit_pairs_[0][0], mp.fit_pairs_[-1][1]
    values = {
        "start": _label(start, mp, lang),
        "end": _label(end, mp, lang),
        "moves": _moves(len(mp.fit_pairs_), mp, lang),
    }
    if mp.burn_in_ == 0:
        return tr(TEXT, "no_burn_in", lang, **values)
    first, last = mp.burn_in_snapshots_[0], mp.burn_in_snapshots_[-1]
    return tr(
        TEXT,
        "burn_in",
        lang,
        n=units(mp.burn_in_, mp.cadence_, lang),
        span=_span(first, last, mp, lang),
        **values,
    )


def entries_sentence(mp: MarkovProjection, lang: str = "fr") -> str:
    """New customers per period and their stages on entry, then the exits."""
    if mp.status_ != "ok":
        return ""
    e = mp.chain_.entries
    pairs = mp.chain_.entry_pairs
    text = tr(
        TEXT,
        "entries",
        lang,
        n=format_number(e.sum(), lang, 0),
        unit=unit(mp.cadence_, lang),
        span=_span(pairs[0][1], pairs[-1][1], mp, lang),
        mix=_mix(e / e.sum(), lang) if e.sum() > 0 else "–",
    )
    at_risk = mp.chain_.at_risk
    exits = (mp.chain_.exit_rate * at_risk).sum()
    if exits > 0:
        rate = exits / at_risk.sum()
        return (
            text
            + " "
            + tr(TEXT, "exits", lang, rate=format_percent(rate, lang), unit=unit(mp.cadence_, lang))
        )
    return text + " " + tr(TEXT, "no_exits", lang, separe=code_label("separe", lang))


def steady_state_sentence(mp: MarkovProjection, lang: str = "fr") -> str:
    """The open population's steady state, or why there is none and what the shares tend to."""
    if mp.status_ != "ok":
        return ""
    if mp.unknown_:
        stages = ", ".join(code_label(s, lang) for s in mp.unknown_)
        return tr(TEXT, "no_steady_unknown", lang, stages=stages)
    mix = _mix(mp.long_run_mix_, lang)
    if mp.steady_state_ is not None:
        return tr(TEXT, "steady", lang, total=format_number(mp.steady_state_.sum(), lang, 0), mix=mix)
    exits = (mp.chain_.exit_rate * mp.chain_.at_risk).sum()
    if exits == 0:
        return tr(
            TEXT,
            "no_steady_no_exit",
            lang,
            n=format_number(mp.chain_.entries.sum(), lang, 0),
            unit=unit(mp.cadence_, lang),
            mix=mix,
        )
    stages = ", ".join(code_label(s, lang) for s in mp.trapped_)
    return tr(TEXT, "no_steady_trapped", lang, stages=stages, mix=mix)


def backtest_sentence(mp: MarkovProjection, lang: str = "fr") -> str:
    """Model against no change over the held-out periods, saying plainly which one is closer (or why there
    is no back-test)."""
    bt = mp.backtest_
    if bt is None:
        return " ".join(notes(mp, lang, keys=BACKTEST_NOTES))
    verdict = mp.backtest_verdict
    return tr(
        TEXT,
        "backtest",
        lang,
        cut=_label(mp.backtest_cut_, mp, lang),
        k=units(len(bt), mp.cadence_, lang),
        span=_span(bt["snapshot"].iloc[0], bt["snapshot"].iloc[-1], mp, lang),
        model=points(bt["model_mae"].mean(), lang),
        same=points(bt["no_change_mae"].mean(), lang),
        verdict=tr(TEXT, verdict, lang, tie=points(TIE_POINTS, lang, 1)),
    )


BACKTEST_NOTES = frozenset({"backtest_too_short", "backtest_off"})


def notes(mp: MarkovProjection, lang: str = "fr", keys: frozenset[str] | set[str] | None = None) -> list[str]:
    """Why a part of the projection could not be computed, and what data would allow it.

    ``keys``: only these notes (``too_short``, ``backtest_too_short``, ``backtest_off``); ``None``: all.
    """
    out = []
    cad = mp.cadence_
    for key, v in mp.notes_:
        if keys is not None and key not in keys:
            continue
        if key == "backtest_off":
            out.append(tr(TEXT, key, lang))
        elif key == "too_short":
            out.append(
                tr(
                    TEXT,
                    key,
                    lang,
                    have=units(v["have"], cad, lang),
                    burn=units(v["burn_in"], cad, lang),
                    need=units(v["need"], cad, lang),
                    min_moves=_moves(MIN_FIT_PAIRS, mp, lang),
                )
            )
        elif key == "backtest_too_short":
            out.append(
                tr(
                    TEXT,
                    key,
                    lang,
                    have=units(v["have"], cad, lang),
                    need=units(v["need"], cad, lang),
                    burn=units(v["burn_in"], cad, lang),
                    k=units(v["k"], cad, lang),
                    more=units(v["need"] - v["have"], cad, lang),
                    min_moves=_moves(MIN_BACKTEST_FIT_PAIRS, mp, lang),
                )
            )
    return out


def projection_sentences(mp: MarkovProjection, lang: str = "fr") -> list[str]:
    """What the report says about the projection, in order: burn-in, entries and exits, steady state, and
    why it could not be computed if so (back-test notes are in :func:`backtest_sentence`)."""
    parts = [burn_in_sentence(mp, lang), entries_sentence(mp, lang), steady_state_sentence(mp, lang)]
    return [p for p in parts if p] + notes(mp, lang, keys={"too_short"})


def backtest_table(mp: MarkovProjection, lang: str = "fr") -> pd.DataFrame:
    """The back-test per horizon step, model beside no change, formatted for the reader (empty if none)."""
    bt = mp.backtest_
    if bt is None:
        return pd.DataFrame()

    def best(r) -> str:
        d = r["model_mae"] - r["no_change_mae"]
        return tr(TEXT, "even" if abs(d) < TIE_POINTS else "model" if d < 0 else "no_change", lang)

    return pd.DataFrame(
        {
            tr(TEXT, "col_step", lang): [f"+{units(int(s), mp.cadence_, lang)}" for s in bt["step"]],
            tr(TEXT, "col_period", lang): [_label(s, mp, lang) for s in bt["snapshot"]],
            tr(TEXT, "col_model", lang): [points(v, lang) for v in bt["model_mae"]],
            tr(TEXT, "col_same", lang): [points(v, lang) for v in bt["no_change_mae"]],
            tr(TEXT, "col_model_max", lang): [points(v, lang) for v in bt["model_max"]],
            tr(TEXT, "col_same_max", lang): [points(v, lang) for v in bt["no_change_max"]],
            tr(TEXT, "col_best", lang): [best(r) for _, r in bt.iterrows()],
        }
    )


def projection_table(mp: MarkovProjection, lang: str = "fr") -> pd.DataFrame:
    """Per stage: now, projected, entries, steady state and limit share, formatted for the reader."""
    if mp.status_ != "ok":
        return pd.DataFrame()
    s = mp.summary
    now = _label(mp.forecast_.index[0], mp, lang)
    then = _label(mp.forecast_.index[-1], mp, lang)
    cols = {
        tr(TEXT, "col_share_now", lang, when=now): [format_percent(v, lang) for v in s["share_now"]],
        tr(TEXT, "col_share_then", lang, when=then): [format_percent(v, lang) for v in s["share_projected"]],
        tr(TEXT, "col_n_now", lang, when=now): [format_number(v, lang) for v in s["customers_now"]],
        tr(TEXT, "col_n_then", lang, when=then): [format_number(v, lang) for v in s["customers_projected"]],
        tr(TEXT, "col_entries", lang, unit=unit(mp.cadence_, lang)): [
            format_number(v, lang, 1) for v in s["entries_per_period"]
        ],
    }
    if mp.steady_state_ is not None:
        cols[tr(TEXT, "col_steady", lang)] = [format_number(v, lang) for v in s["steady_customers"]]
    cols[tr(TEXT, "col_limit", lang)] = [format_percent(v, lang) for v in s["long_run_share"]]
    out = pd.DataFrame(cols, index=[code_label(c, lang) for c in s.index])
    out.index.name = tr(TEXT, "col_stage", lang)
    return out


def touchpoints_unavailable(lang: str = "fr", has_table: bool = False) -> str:
    """Why the touchpoint section is empty: no interactions table, or no journey steps in it."""
    return tr(TEXT, "no_steps" if has_table else "no_interactions", lang)


def transitions_sentence(transitions: Transitions, lang: str = "fr") -> str:
    """What a fitted :class:`Transitions` counted: customers, periods and filters, in the reader's words."""
    cad = transitions.cadence
    snaps = transitions.snapshots_
    values = {
        "unit": unit(cad, lang),
        "n": format_number(transitions.n_customers_, lang),
        "k": units(len(snaps), cad, lang),
        "start": period_label(snaps[0], cad, lang),
        "end": period_label(snaps[-1], cad, lang),
    }
    if transitions.filters_:
        return tr(
            TEXT, "transitions_filtered", lang, filters=describe_filters(transitions.filters_, lang), **values
        )
    return tr(TEXT, "transitions", lang, **values)


def transitions_table(transitions: Transitions, lang: str = "fr") -> HtmlTable:
    """:attr:`Transitions.summary` for a report: the sentence of :func:`transitions_sentence`, then per stage
    customers and share at the last period, moves observed, stay and exit rates (pooled over every pair)
    and the main other destination with its rate, headers in ``lang``."""
    s = transitions.summary
    when = period_label(transitions.snapshots_[-1], transitions.cadence, lang)
    cols = {
        "stage": tr(TEXT, "col_stage", lang),
        "customers_last": tr(TEXT, "col_customers_last", lang, when=when),
        "share_last": tr(TEXT, "col_share_last", lang, when=when),
        "observed_moves": tr(TEXT, "col_observed_moves", lang),
        "stay_rate": tr(TEXT, "col_stay_rate", lang),
        "exit_rate": tr(TEXT, "col_exit_rate", lang),
        "main_destination": tr(TEXT, "col_main_destination", lang),
        "main_destination_rate": tr(TEXT, "col_main_destination_rate", lang),
    }
    frame = s.reset_index()
    frame["stage"] = [code_label(c, lang) for c in frame["stage"]]
    frame["main_destination"] = [
        code_label(c, lang) if isinstance(c, str) else None for c in frame["main_destination"]
    ]
    frame = frame[list(cols)].rename(columns=cols)
    percent = [cols[c] for c in ("share_last", "stay_rate", "exit_rate", "main_destination_rate")]
    return HtmlTable(frame, lang, percent=percent, before=transitions_sentence(transitions, lang))


def paths_table(
    transitions: Transitions, lang: str = "fr", k: int = 3, top: int = 10, collapse: bool = False
) -> HtmlTable:
    """The most frequent paths over ``k`` consecutive periods (:meth:`Transitions.paths`) for a report:
    stage labels joined by arrows, occurrences (windows of ``k`` periods), their share and the distinct
    customers, headers in ``lang``. ``frame`` keeps the numbers."""
    paths = transitions.paths(k=k, top=top, collapse=collapse)
    cols = {
        "path": tr(TEXT, "col_path", lang),
        "count": tr(TEXT, "col_windows", lang),
        "share": tr(TEXT, "col_share_windows", lang),
        "customers": tr(TEXT, "col_customers", lang),
    }
    frame = paths.assign(path=[path_label(p, lang) for p in paths["path"]])[list(cols)].rename(columns=cols)
    caption = tr(
        TEXT,
        "paths_caption",
        lang,
        top=format_number(len(paths), lang),
        k=units(k, transitions.cadence, lang),
        collapsed=tr(TEXT, "paths_collapsed", lang) if collapse else "",
    )
    return HtmlTable(frame, lang, percent=[cols["share"]], title=caption)
