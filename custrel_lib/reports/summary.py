"""The executive summary: headline KPIs, generated sentences (fr/en) and the run's CSV exports.

``key_figures(...)`` returns the JSON-ready dict that :func:`custrel_lib.reports.html.render_index` shows on a
run's index page; ``write_outputs(...)`` writes it as ``key_figures.json`` with the CSV exports (stage history,
stage profiles, at-risk list) into a report run's folder.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from custrel_lib.i18n import check_lang, format_currency, format_date, format_number, format_percent, tr
from custrel_lib.privacy import pseudonymize
from custrel_lib.reports.render import render
from custrel_lib.stages import typology

IN_RELATIONSHIP = ("flirt", "petit_ami", "fiance", "concubinage", "marie", "reconquis")

TEXT = {
    "active": {"fr": "Clients en relation", "en": "Customers in a relationship"},
    "active_def": {
        "fr": "Clients dont l'étape au {date} est une étape de relation (flirt à reconquis), selon les règles d'étapes ; tous les clients connus.",
        "en": "Customers whose stage on {date} is a relationship stage (flirt to won back), by the stage rules; all known customers.",
    },
    "median": {
        "fr": "Durée médiane en jours — {kind}",
        "en": "Median length in days — {kind}",
    },
    "median_def": {
        "fr": "Kaplan-Meier avec entrée différée, {definition} ; {n} relations dont {k} séparations, suivies jusqu'au {censor}.",
        "en": "Kaplan-Meier with delayed entry, {definition}; {n} relationships of which {k} separations, followed until {censor}.",
    },
    "median_none": {
        "fr": "plus de la moitié encore en cours après {days} jours observés",
        "en": "more than half still running after {days} days observed",
    },
    "at_risk": {"fr": "Clients à risque", "en": "Customers at risk"},
    "at_risk_def": {
        "fr": "Clients actifs au {date} dont la probabilité de séparation atteint {p} : sans contrat, probabilité que le dernier achat soit le dernier (aucun achat dans les {h} jours qui le suivent), d'après le rythme d'achat de chacun ; avec contrat, probabilité que le contrat prenne fin dans les {r} jours.",
        "en": "Active customers on {date} whose probability of separation is {p} or more: without contract, the probability that the last purchase was the last (no purchase within the {h} days after it), from each customer's buying rhythm; with a contract, the probability that it ends within {r} days.",
    },
    "at_risk_def_flame": {
        "fr": " Sont aussi signalés les clients sans contrat ayant racheté dont la probabilité d'être encore actifs (BG/NBD) est inférieure à {t}.",
        "en": " Also flagged: customers without contract who bought again and whose probability of still being active (BG/NBD) is below {t}.",
    },
    "revenue_at_risk": {
        "fr": "Chiffre d'affaires exposé sur {r} jours",
        "en": "Revenue exposed over {r} days",
    },
    "revenue_at_risk_def": {
        "fr": "Somme, sur les {n} clients actifs, de la probabilité de séparation × la dépense attendue sur les {r} prochains jours (au rythme des 365 derniers jours) ; dont {flagged} pour les clients à risque.",
        "en": "Sum over the {n} active customers of probability of separation × spend expected over the next {r} days (at the pace of the last 365 days); of which {flagged} from the customers at risk.",
    },
    "nps": {"fr": "NPS (12 derniers mois)", "en": "NPS (last 12 months)"},
    "nps_def": {
        "fr": "% de promoteurs (9-10) − % de détracteurs (0-6), dernière réponse de chaque client du {start} au {date} ; {n} réponses ; intervalle de confiance à 95 % : {lo} à {hi}{small}.",
        "en": "% promoters (9-10) − % detractors (0-6), each customer's latest answer from {start} to {date}; {n} answers; 95% confidence interval: {lo} to {hi}{small}.",
    },
    "nps_small": {"fr": " (moins de 30 réponses : indicatif)", "en": " (fewer than 30 answers: indicative)"},
    "s_active": {
        "fr": "Au {date}, {n} clients sont en relation avec la marque ({change} depuis le {prev}).",
        "en": "On {date}, {n} customers are in a relationship with the brand ({change} since {prev}).",
    },
    "s_median": {
        "fr": "{kind} : la moitié des relations se terminent en {days} jours.",
        "en": "{kind}: half of the relationships end within {days} days.",
    },
    "s_median_inf": {
        "fr": "{kind} : plus de la moitié des relations durent encore après {days} jours observés.",
        "en": "{kind}: more than half of the relationships last beyond the {days} days observed.",
    },
    "s_risk": {
        "fr": "{n} clients actifs sur {active} ont au moins {p} de risque de séparation ; le chiffre d'affaires exposé sur {r} jours atteint {money}, dont {flagged} chez ces clients.",
        "en": "{n} of {active} active customers have a {p} or higher risk of separation; revenue exposed over {r} days is {money}, of which {flagged} from these customers.",
    },
    "s_growth": {
        "fr": "Depuis le {prev}, la plus forte hausse concerne l'étape « {stage} » ({change}) et la plus forte baisse l'étape « {down} » ({change_down}).",
        "en": "Since {prev}, the largest increase is in the stage '{stage}' ({change}) and the largest decrease in '{down}' ({change_down}).",
    },
    "s_growth_up": {
        "fr": "Depuis le {prev}, la plus forte hausse concerne l'étape « {stage} » ({change}) ; aucune étape ne recule.",
        "en": "Since {prev}, the largest increase is in the stage '{stage}' ({change}); no stage shrank.",
    },
    "s_growth_down": {
        "fr": "Depuis le {prev}, aucune étape ne progresse ; la plus forte baisse concerne l'étape « {down} » ({change_down}).",
        "en": "Since {prev}, no stage grew; the largest decrease is in the stage '{down}' ({change_down}).",
    },
    "stable": {"fr": "stable", "en": "unchanged"},
}


def _signed(v: float, lang: str) -> str:
    text = format_number(v, lang)
    return f"+{text}" if v > 0 else text


def stage_changes(history: pd.DataFrame) -> pd.DataFrame:
    """Customers per stage at the last snapshot and the one before, with the change."""
    snaps = sorted(history["snapshot"].unique())
    last, prev = snaps[-1], snaps[-2] if len(snaps) > 1 else None
    now = history[history["snapshot"] == last]["stage"].value_counts()
    before = history[history["snapshot"] == prev]["stage"].value_counts() if prev is not None else pd.Series()
    codes = [c for c in typology.stage_order() if c in now.index or c in before.index]
    out = pd.DataFrame({"stage": codes})
    out["count"] = [int(now.get(c, 0)) for c in codes]
    out["previous"] = [int(before.get(c, 0)) for c in codes] if prev is not None else None
    out["change"] = out["count"] - out["previous"] if prev is not None else None
    out.attrs["last"], out.attrs["previous"] = (
        pd.Timestamp(last),
        (pd.Timestamp(prev) if prev is not None else None),
    )
    return out


def _headline_medians(survival, lang: str) -> list[dict[str, Any]]:
    from custrel_lib.survival.text import TEXT as SURV_TEXT
    from custrel_lib.survival.text import kind_label

    out = []
    if survival is None or survival.durations is None:
        return out
    attrs = survival.durations.attrs
    h = format_number(survival.horizon_days, lang)
    for r in survival.medians().itertuples():
        finite = math.isfinite(r.median)
        definition = tr(SURV_TEXT, f"kind_def_{r.kind}", lang, h=h)
        out.append(
            {
                "key": f"median_{r.kind}",
                "label": tr(TEXT, "median", lang, kind=kind_label(r.kind, lang).lower()),
                "value": round(float(r.median), 1) if finite else None,
                "text": format_number(r.median, lang)
                if finite
                else "> " + format_number(r.observed_up_to, lang),
                "definition": tr(
                    TEXT,
                    "median_def",
                    lang,
                    definition=definition,
                    n=format_number(r.episodes, lang),
                    k=format_number(r.events, lang),
                    # Contracts are known up to the extraction date; purchase-based separations up to as_of - H.
                    censor=format_date(
                        pd.Timestamp(attrs["as_of" if r.kind == "contract" else "censor_date"]), lang
                    ),
                )
                + (
                    ""
                    if finite
                    else " " + tr(TEXT, "median_none", lang, days=format_number(r.observed_up_to, lang)) + "."
                ),
                "sentence": tr(
                    TEXT,
                    "s_median" if finite else "s_median_inf",
                    lang,
                    kind=kind_label(r.kind, lang),
                    days=format_number(r.median if finite else r.observed_up_to, lang),
                ),
            }
        )
    return out


def key_figures(
    history: pd.DataFrame,
    survival=None,
    lang: str = "fr",
    nps=None,
    skipped: list[dict[str, str]] | None = None,
    signal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Headline figures (each with its definition), stage table, sentences and machine-readable counts.

    Parameters
    ----------
    history : DataFrame
        Stage history.
    survival : SurvivalResult, optional
        :func:`custrel_lib.survival.analysis.run_survival`'s result; missing parts are skipped.
    lang : {"fr", "en"}
    nps : NPS, optional
        :func:`custrel_lib.voice.nps` of the last 12 months (``None`` or ``n == 0``: no NPS figure).
    skipped : list of dict, optional
        Sections not computed (``section``, ``reason``, ``message``), from :class:`~custrel_lib.sections.Sections`.
    signal : dict, optional
        What P(alive) did to the stages (:meth:`custrel_lib.workbench.Workbench.signal_figures`).

    Returns
    -------
    dict
        JSON-ready: ``headline`` (``key``, ``label``, ``value``, ``text``, ``definition``), ``stages``,
        ``sentences``, ``survival`` (counts), ``nps``, ``skipped``, ``stage_signal``.
    """
    lang = check_lang(lang)
    ch = stage_changes(history)
    last, prev = ch.attrs["last"], ch.attrs["previous"]
    n_active = int(ch.loc[ch["stage"].isin(IN_RELATIONSHIP), "count"].sum())
    date = format_date(last, lang)
    headline = [
        {
            "key": "active",
            "label": tr(TEXT, "active", lang),
            "value": n_active,
            "text": format_number(n_active, lang),
            "definition": tr(TEXT, "active_def", lang, date=date),
        }
    ]
    sentences = [_active_sentence(ch, n_active, lang)] if prev is not None else []
    medians = _headline_medians(survival, lang)
    sentences.extend(m.pop("sentence") for m in medians)
    headline.extend(medians)
    if survival is not None and survival.scores is not None:
        risk, sentence = _risk_figures(survival, date, lang)
        headline.extend(risk)
        sentences.append(sentence)
    flame = survival.flame.headline(lang) if survival is not None and survival.flame is not None else None
    if flame is not None:
        headline.append(flame)
    if nps is not None and nps.n > 0:
        headline.append(_nps_figure(nps, last, lang))
    if prev is not None and len(ch) > 1 and (sentence := _growth_sentence(ch, lang)) is not None:
        sentences.append(sentence)
    total = max(ch["count"].sum(), 1)
    return {
        "as_of": str(last.date()),
        "lang": lang,
        "headline": headline,
        "stages": _stage_rows(ch, lang),
        "sentences": sentences,
        "shares": {r.stage: r.count / total for r in ch.itertuples()},
        "share_in_relationship": format_percent(n_active / total, lang),
        "survival": survival.to_dict() if survival is not None else None,
        "nps": nps.to_dict() if nps is not None and nps.n > 0 else None,
        "skipped": list(skipped or []),
        "stage_signal": signal,
    }


def _active_sentence(ch: pd.DataFrame, n_active: int, lang: str) -> str:
    last, prev = ch.attrs["last"], ch.attrs["previous"]
    n_prev = int(ch.loc[ch["stage"].isin(IN_RELATIONSHIP), "previous"].sum())
    return tr(
        TEXT,
        "s_active",
        lang,
        date=format_date(last, lang),
        n=format_number(n_active, lang),
        change=_signed(n_active - n_prev, lang) if n_active != n_prev else tr(TEXT, "stable", lang),
        prev=format_date(prev, lang),
    )


def _risk_figures(survival, date: str, lang: str) -> tuple[list[dict[str, Any]], str]:
    """Headline figures ``at_risk`` and ``revenue_at_risk``, and their sentence."""
    scores = survival.scores
    risky = scores[scores["at_risk"]]
    r = format_number(survival.risk_horizon_days, lang)
    value = float(scores["value_at_risk"].sum())
    flagged = float(risky["value_at_risk"].sum())
    flame = (
        tr(TEXT, "at_risk_def_flame", lang, t=format_percent(survival.p_alive_threshold, lang, 0))
        if survival.p_alive_threshold
        else ""
    )
    p = format_percent(survival.threshold, lang, 0)
    h = format_number(survival.horizon_days, lang)
    at_risk = {
        "key": "at_risk",
        "label": tr(TEXT, "at_risk", lang),
        "value": len(risky),
        "text": format_number(len(risky), lang),
        "definition": tr(TEXT, "at_risk_def", lang, date=date, p=p, h=h, r=r) + flame,
    }
    n = format_number(len(scores), lang)
    revenue = {
        "key": "revenue_at_risk",
        "label": tr(TEXT, "revenue_at_risk", lang, r=r),
        "value": round(value, 2),
        "text": format_currency(value, lang),
        "definition": tr(TEXT, "revenue_at_risk_def", lang, n=n, r=r, flagged=format_currency(flagged, lang)),
    }
    sentence = tr(
        TEXT,
        "s_risk",
        lang,
        n=format_number(len(risky), lang),
        active=n,
        p=p,
        r=r,
        money=format_currency(value, lang),
        flagged=format_currency(flagged, lang),
    )
    return [at_risk, revenue], sentence


def _nps_figure(nps, last: pd.Timestamp, lang: str) -> dict[str, Any]:
    """The NPS of the last 12 months, with its confidence interval in the definition."""
    return {
        "key": "nps",
        "label": tr(TEXT, "nps", lang),
        "value": round(nps.value, 1),
        "text": _signed(round(nps.value), lang),
        "definition": tr(
            TEXT,
            "nps_def",
            lang,
            start=format_date(last - pd.Timedelta(days=364), lang),
            date=format_date(last, lang),
            n=format_number(nps.n, lang),
            lo=_signed(round(nps.lower), lang),
            hi=_signed(round(nps.upper), lang),
            small=tr(TEXT, "nps_small", lang) if nps.small_sample else "",
        ),
    }


def _growth_sentence(ch: pd.DataFrame, lang: str) -> str | None:
    """The stages that grew and shrank most since the previous snapshot; None when no stage changed."""
    up, down = ch.loc[ch["change"].idxmax()], ch.loc[ch["change"].idxmin()]
    key = {(True, True): "s_growth", (True, False): "s_growth_up", (False, True): "s_growth_down"}.get(
        (int(up["change"]) > 0, int(down["change"]) < 0)
    )
    if key is None:
        return None
    return tr(
        TEXT,
        key,
        lang,
        prev=format_date(ch.attrs["previous"], lang),
        stage=typology.stage_label(up["stage"], lang),
        change=_signed(int(up["change"]), lang),
        down=typology.stage_label(down["stage"], lang),
        change_down=_signed(int(down["change"]), lang),
    )


def _stage_rows(ch: pd.DataFrame, lang: str) -> list[dict[str, Any]]:
    prev = ch.attrs["previous"]
    return [
        {
            "code": r.stage,
            "label": typology.stage_label(r.stage, lang),
            "count": int(r.count),
            "previous": None if prev is None else int(r.previous),
            "change": None if prev is None else int(r.change),
        }
        for r in ch.itertuples()
    ]


def headline_html(figures: dict[str, Any]) -> str:
    """The headline figures as a table: each number with its label, and its definition beside it."""
    return render("headline.html.j2", headline=figures["headline"]).strip()


def write_outputs(
    output_dir: str | Path,
    figures: dict[str, Any],
    history: pd.DataFrame,
    profiles: pd.DataFrame,
    at_risk: pd.DataFrame,
    pseudonym_key: bytes | None = None,
) -> list[Path]:
    """Write ``key_figures.json`` and the CSV exports; return the paths written. Sorted, so reruns are identical.

    With ``pseudonym_key`` (:func:`custrel_lib.privacy.key_from_env`), customer identifiers in the
    customer-level exports are replaced by keyed hashes.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "key_figures.json"
    path.write_text(
        json.dumps(figures, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
        encoding="utf-8",
    )
    written.append(path)
    exports = {
        "stage_history.csv": history.sort_values(["customer_id", "snapshot"]),
        "stage_profiles.csv": profiles,
        "at_risk.csv": at_risk.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])
        if len(at_risk)
        else at_risk,
    }
    for name, df in exports.items():
        if pseudonym_key is not None and "customer_id" in df:
            df = df.assign(customer_id=pseudonymize(df["customer_id"], pseudonym_key))
        p = out / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df.to_csv(p, index=False, float_format="%.6g", date_format="%Y-%m-%d", lineterminator="\n")
        written.append(p)
    return written
