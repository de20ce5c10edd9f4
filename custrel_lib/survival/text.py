"""Plain-word sentences about survival results, in French and English (reused by the executive summary)."""

from __future__ import annotations

import html
import math

import pandas as pd

from custrel_lib.i18n import check_lang, format_number, format_percent, tr
from custrel_lib.stages import typology

TEXT = {
    "median_stage": {
        "fr": "La moitié des « {who} » sont partis en {n} {unit}.",
        "en": "Half of the {who} are gone within {n} {unit}.",
    },
    "median_stage_inf": {
        "fr": "Plus de la moitié des « {who} » sont toujours là à la fin de la période observée.",
        "en": "More than half of the {who} are still there at the end of the observed period.",
    },
    "days": {"fr": "jours", "en": "days"},
    "weeks": {"fr": "semaines", "en": "weeks"},
    "months": {"fr": "mois", "en": "months"},
    "kind_purchase": {"fr": "Relation sans contrat (1re)", "en": "Relationship without contract (1st)"},
    "kind_winback": {"fr": "Relation après reconquête", "en": "Relationship after a win-back"},
    "kind_contract": {"fr": "Contrat", "en": "Contract"},
    "kind_def_purchase": {
        "fr": "du premier achat au dernier achat avant {h} jours sans achat ; un client venu une seule fois compte 0 jour",
        "en": "from the first purchase to the last one before {h} days without purchase; a one-time buyer counts 0 days",
    },
    "kind_def_winback": {
        "fr": "du retour après une séparation au dernier achat avant {h} jours sans achat",
        "en": "from the return after a separation to the last purchase before {h} days without purchase",
    },
    "kind_def_contract": {
        "fr": "de la signature à la fin du contrat",
        "en": "from signature to the end of the contract",
    },
    "excluded": {
        "fr": "{n} relations sur {total} sont laissées de côté dans l'analyse de survie : {parts}.",
        "en": "{n} of {total} relationships are left out of the survival analysis: {parts}.",
    },
    "excluded_none": {
        "fr": "Toutes les {total} relations entrent dans l'analyse de survie.",
        "en": "All {total} relationships enter the survival analysis.",
    },
    "ex_unknown_origin": {
        "fr": "{n} dont le début est inconnu (premier achat dans les {h} premiers jours des données, sans date d'inscription : la relation a pu commencer avant)",
        "en": "{n} whose start is unknown (first purchase within the first {h} days of the data, no sign-up date: the relationship may have begun earlier)",
    },
    "ex_too_recent": {
        "fr": "{n} trop récentes (commencées dans les {h} derniers jours : aucune séparation n'y est encore observable)",
        "en": "{n} too recent (begun within the last {h} days: no separation can be observed in them yet)",
    },
    "ex_contract_before_window": {
        "fr": "{n} contrats terminés avant le début des données",
        "en": "{n} contracts that ended before the data begins",
    },
    "excluded_majority": {
        "fr": "{share} des clients n'ont aucune relation analysable. Si les données contiennent tout l'historique de chaque client (une cohorte), indiquez « survival: {{origin: first_purchase}} » dans custrel.yml ; si vous avez des dates d'inscription, ajoutez la table clients avec signup_date.",
        "en": "{share} of the customers have no relationship that can be analysed. If the data holds every customer's whole history (a cohort), set 'survival: {{origin: first_purchase}}' in custrel.yml; if you have sign-up dates, add the customers table with signup_date.",
    },
    "sample": {
        "fr": "Données volumineuses : les relations, les modèles de survie et la liste des clients à risque portent sur un échantillon aléatoire de {n} clients sur {total} (tirage reproductible, graine {seed}) ; les nombres de clients à risque et les montants en jeu sont extrapolés à l'ensemble des clients. Les étapes et la probabilité d'être encore actif (P(actif)) portent sur tous les clients.",
        "en": "Large data: relationships, survival models and the at-risk list are computed on a random sample of {n} of the {total} customers (reproducible draw, seed {seed}); the counts of customers at risk and the amounts at stake are scaled up to all customers. Stages and the probability of being still active (P(alive)) cover every customer.",
    },
    "censoring": {
        "fr": "Une séparation sans contrat est datée du dernier achat et n'est connue qu'après {h} jours sans achat : les relations en cours sont donc suivies jusqu'au {date} (date d'extraction moins {h} jours).",
        "en": "A separation without contract is dated at the last purchase and is only known after {h} days without purchase: running relationships are therefore followed until {date} (extraction date minus {h} days).",
    },
    "origin_first_purchase": {
        "fr": "Origine des relations : le premier achat présent dans les données (survival.origin = first_purchase).",
        "en": "Origin of relationships: the first purchase in the data (survival.origin = first_purchase).",
    },
    "origin_signup": {
        "fr": "Origine des relations : le premier achat, ou la date d'inscription pour les clients inscrits avant le début des données (entrée différée).",
        "en": "Origin of relationships: the first purchase, or the sign-up date for customers who signed up before the data begins (delayed entry).",
    },
    "origin_auto": {
        "fr": "Origine des relations : le premier achat ; les clients qui ont pu acheter avant le début des données sans date d'inscription connue sont écartés (règle prudente, survival.origin = auto).",
        "en": "Origin of relationships: the first purchase; customers who may have bought before the data begins, with no known sign-up date, are left out (cautious rule, survival.origin = auto).",
    },
    "origin_auto_signup": {
        "fr": "Origine des relations : le premier achat, ou la date d'inscription pour les clients inscrits avant le début des données (entrée différée) ; ceux qui ont pu acheter avant le début des données sans date d'inscription connue sont écartés (survival.origin = auto).",
        "en": "Origin of relationships: the first purchase, or the sign-up date for customers who signed up before the data begins (delayed entry); those who may have bought before the data begins with no known sign-up date are left out (survival.origin = auto).",
    },
    "km_check": {
        "fr": "Le modèle paramétrique et Kaplan-Meier diffèrent au plus de {gap} points de survie sur les mêmes relations.",
        "en": "The parametric model and Kaplan-Meier differ by at most {gap} survival points on the same relationships.",
    },
    "backtest": {
        "fr": "Contrôle sur le passé ({date}, {n} clients actifs, {k} partis depuis) : le score de risque classe les départs avec une AUC de {auc_model}, contre {auc_recency} pour la seule ancienneté du dernier achat ; {verdict}.",
        "en": "Check on the past ({date}, {n} active customers, {k} gone since): the risk score ranks departures with an AUC of {auc_model}, against {auc_recency} for the days since the last purchase alone; {verdict}.",
    },
    "dropped": {
        "fr": "Variables écartées du modèle : {items}.",
        "en": "Variables left out of the model: {items}.",
    },
    "drop_absent": {"fr": "absente des données", "en": "not in the data"},
    "drop_all_missing": {"fr": "entièrement manquante", "en": "entirely missing"},
    "drop_constant": {"fr": "constante", "en": "constant"},
    "drop_too_few_events": {
        "fr": "trop peu de séparations par modalité",
        "en": "too few separations per level",
    },
    "stratified": {
        "fr": "Le test des risques proportionnels rejette {items} : le modèle est stratifié sur ces variables (pas de rapport de risques pour elles).",
        "en": "The proportional-hazards test rejects {items}: the model is stratified on them (no hazard ratio for them).",
    },
    "cv": {
        "fr": "Concordance en validation croisée ({k} blocs) : {c} (0,5 : hasard) ; score de Brier intégré : {b}.",
        "en": "Cross-validated concordance ({k} folds): {c} (0.5: chance); integrated Brier score: {b}.",
    },
    "cv_chance": {
        "fr": "À ce niveau, le modèle ne classe pas les relations mieux que le hasard sur ces données (ses variables n'y distinguent pas les relations, ou les séparations sont trop peu nombreuses) : ses rapports de risques ne sont pas à interpréter.",
        "en": "At this level the model ranks relationships no better than chance on this data (its variables do not tell relationships apart here, or there are too few separations): its hazard ratios are not to be read.",
    },
    "logrank": {
        "fr": "Test du log-rank avec entrée différée entre les {g} groupes : p {p}.",
        "en": "Log-rank test with delayed entry across the {g} groups: p {p}.",
    },
    "aft_kind": {
        "fr": "Loi retenue (AIC) : {kind} ; {share} des relations se terminent le jour même (un seul achat).",
        "en": "Distribution chosen (AIC): {kind}; {share} of relationships end on their first day (a single purchase).",
    },
    "col_kind": {"fr": "Relation", "en": "Relationship"},
    "col_episodes": {"fr": "Relations", "en": "Relationships"},
    "col_events": {"fr": "Séparations", "en": "Separations"},
    "col_median": {"fr": "Médiane (jours)", "en": "Median (days)"},
    "col_ci": {"fr": "IC 95 %", "en": "95% CI"},
    "risk_counts": {
        "fr": "{n} clients actifs notés : {lapse} sans contrat (probabilité que le dernier achat soit le dernier), {contract} avec contrat (probabilité de fin dans les {r} jours) ; {flagged} au-dessus du seuil de {p}. La liste nominative est dans at_risk.csv, pas dans ce rapport.",
        "en": "{n} active customers scored: {lapse} without contract (probability that the last purchase was the last), {contract} with a contract (probability of ending within {r} days); {flagged} above the {p} threshold. The named list is in at_risk.csv, not in this report.",
    },
    "backtest_better": {"fr": "le score fait mieux", "en": "the score does better"},
    "backtest_worse": {
        "fr": "le score fait moins bien : préférez l'ancienneté du dernier achat sur ces données",
        "en": "the score does worse: prefer days since last purchase on this data",
    },
}


def kind_label(kind: str, lang: str) -> str:
    """Label of an episode kind (``purchase``, ``winback``, ``contract``)."""
    return tr(TEXT, f"kind_{kind}", lang)


def median_sentence(group: str, median: float, lang: str = "fr", unit: str = "days") -> str:
    """ "Half of the one-night stands are gone within N days" (or: more than half are still there)."""
    fr = check_lang(lang) == "fr"
    name = typology.stage_label(group, lang) if group in typology.stage_order() else str(group)
    who = name.lower() if fr else name.lower() + ("s" if not name.endswith("s") else "")
    if median is None or math.isinf(median) or math.isnan(median):
        return tr(TEXT, "median_stage_inf", lang, who=who)
    return tr(TEXT, "median_stage", lang, who=who, n=format_number(median, lang), unit=tr(TEXT, unit, lang))


def exclusion_sentences(counts: dict, horizon_days: float, lang: str) -> list[str]:
    """What the duration table left out and why; a hint when most customers are left out."""
    h = format_number(horizon_days, lang)
    ep = counts["episodes"]
    parts = [
        tr(TEXT, f"ex_{reason}", lang, n=format_number(n, lang), h=h) for reason, n in ep.items() if n > 0
    ]
    total = counts["episodes_total"]
    lost = sum(ep.values())
    out = [
        tr(
            TEXT,
            "excluded",
            lang,
            n=format_number(lost, lang),
            total=format_number(total, lang),
            parts=(" ; " if lang == "fr" else "; ").join(parts),
        )
        if lost
        else tr(TEXT, "excluded_none", lang, total=format_number(total, lang))
    ]
    if counts["share_customers_excluded"] > 0.5:
        out.append(
            tr(
                TEXT,
                "excluded_majority",
                lang,
                share=format_percent(counts["share_customers_excluded"], lang, 0),
            )
        )
    return out


#: Below this cross-validated concordance a model is said to rank no better than chance (0.5 is chance).
CHANCE_CONCORDANCE = 0.55


def cox_notes(cox, lang: str) -> list[str]:
    """What the report says under a Cox model: the covariates left out, those stratified, the cross-validated
    concordance and Brier score, and, when the concordance is near or below chance, not to read the ratios."""
    notes = [dropped_sentence(cox.dropped_, lang)]
    if cox.stratified_:
        notes.append(tr(TEXT, "stratified", lang, items=", ".join(cox.stratified_)))
    if cox.cv_ is not None and len(cox.cv_):
        c = float(cox.cv_["concordance"].mean())
        b = format_number(cox.cv_["integrated_brier"].mean(), lang, 3)
        notes.append(tr(TEXT, "cv", lang, k=len(cox.cv_), c=format_number(c, lang, 2), b=b))
        if c < CHANCE_CONCORDANCE:
            notes.append(tr(TEXT, "cv_chance", lang))
    return [n for n in notes if n]


def dropped_sentence(dropped: pd.DataFrame, lang: str) -> str | None:
    """``Variables left out of the model: nps (entirely missing), ...`` or ``None``."""
    if dropped is None or dropped.empty:
        return None
    items = ", ".join(f"{r.covariate} ({tr(TEXT, f'drop_{r.reason}', lang)})" for r in dropped.itertuples())
    return tr(TEXT, "dropped", lang, items=items)


def medians_table_html(medians: pd.DataFrame, lang: str) -> str:
    """Medians by kind of relationship as an HTML table with headers in the report's language."""
    from custrel_lib.tables import html_table

    rows = []
    for r in medians.itertuples():
        label = kind_label(r.kind, lang) if r.kind in ("purchase", "winback", "contract") else str(r.kind)
        median = (
            format_number(r.median, lang)
            if math.isfinite(r.median)
            else "> " + format_number(r.observed_up_to, lang)
        )
        bounded = math.isfinite(r.median_lower) and math.isfinite(r.median_upper)
        ci = (
            f"{format_number(r.median_lower, lang)} – {format_number(r.median_upper, lang)}"
            if bounded
            else "–"
        )
        rows.append([label, int(r.episodes), int(r.events), median, ci])
    cols = [tr(TEXT, c, lang) for c in ("col_kind", "col_episodes", "col_events", "col_median", "col_ci")]
    return html_table(pd.DataFrame(rows, columns=cols), lang)


def bullets_html(lines: list[str]) -> str:
    """A list of sentences as escaped HTML."""
    return "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines if x) + "</ul>"


def format_p(p: float, lang: str) -> str:
    """``= 0.0123`` (4 decimals) or ``< 0.0001``, to follow a "p"."""
    return "= " + format_number(p, lang, 4) if p >= 1e-4 else "< " + format_number(0.0001, lang, 4)


def logrank_sentence(km, lang: str) -> str | None:
    """The log-rank test of a grouped :class:`~custrel_lib.survival.km.KaplanMeier`, as a sentence."""
    if km.logrank_ is None:
        return None
    return tr(
        TEXT, "logrank", lang, g=len(km.fitters_), p=format_p(float(km.logrank_["p_value"].iloc[0]), lang)
    )
