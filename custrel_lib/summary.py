"""The executive summary: headline KPIs, generated sentences (fr/en) and the run's CSV exports.

``key_figures(...)`` returns the JSON-ready dict that :func:`custrel_lib.report_html.render_index` shows on a
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

from custrel_lib import typology
from custrel_lib.i18n import format_currency, format_number, format_percent

IN_RELATIONSHIP = ("flirt", "petit_ami", "fiance", "concubinage", "marie", "reconquis")

TEXT = {
    "active": {"fr": "Clients en relation", "en": "Customers in a relationship"},
    "median": {"fr": "Durée médiane d'une relation (jours)", "en": "Median relationship length (days)"},
    "at_risk": {"fr": "Clients à risque (90 jours)", "en": "Customers at risk (90 days)"},
    "revenue_at_risk": {"fr": "Chiffre d'affaires à risque", "en": "Revenue at risk"},
    "s_active": {
        "fr": "Au {date}, {n} clients sont en relation avec la marque ({change} depuis le {prev}).",
        "en": "On {date}, {n} customers are in a relationship with the brand ({change} since {prev}).",
    },
    "s_median": {
        "fr": "La moitié des relations se terminent en {days} jours.",
        "en": "Half of the relationships end within {days} days.",
    },
    "s_median_inf": {
        "fr": "Plus de la moitié des relations durent encore à la fin de la période observée.",
        "en": "More than half of the relationships last beyond the observed period.",
    },
    "s_risk": {
        "fr": "{n} clients ont au moins {p} de risque de partir dans les {h} jours ; le chiffre d'affaires à risque (probabilité × dépenses récentes) atteint {money}.",
        "en": "{n} customers have a {p} or higher risk of leaving within {h} days; revenue at risk (probability × recent spend) is {money}.",
    },
    "s_growth": {
        "fr": "L'étape qui progresse le plus est « {stage} » ({change} clients) ; celle qui recule le plus, « {down} » ({change_down}).",
        "en": "The stage growing most is '{stage}' ({change} customers); the one shrinking most, '{down}' ({change_down}).",
    },
}


def _t(key: str, lang: str, **fmt) -> str:
    return TEXT[key][typology._check_lang(lang)].format(**fmt)


def _date(ts: pd.Timestamp, lang: str) -> str:
    return ts.strftime("%d/%m/%Y") if lang == "fr" else ts.strftime("%Y-%m-%d")


def _signed(v: float, lang: str) -> str:
    text = format_number(v, lang)
    return f"+{text}" if v > 0 else text


def stage_changes(history: pd.DataFrame) -> pd.DataFrame:
    """Customers per stage at the last snapshot and the one before, with the change."""
    snaps = sorted(history["snapshot"].unique())
    last, prev = snaps[-1], snaps[-2] if len(snaps) > 1 else None
    now = history[history["snapshot"] == last]["stage"].value_counts()
    before = (
        history[history["snapshot"] == prev]["stage"].value_counts()
        if prev is not None
        else pd.Series(dtype=int)
    )
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


def key_figures(
    history: pd.DataFrame,
    median_days: float,
    at_risk: pd.DataFrame,
    lang: str = "fr",
    horizon: int = 90,
    threshold: float = 0.25,
) -> dict[str, Any]:
    """Headline figures, stage table and sentences of a run (JSON-ready; texts already formatted)."""
    lang = typology._check_lang(lang)
    ch = stage_changes(history)
    last, prev = ch.attrs["last"], ch.attrs["previous"]
    active = ch[ch["stage"].isin(IN_RELATIONSHIP)]
    n_active = int(active["count"].sum())
    n_prev = int(active["previous"].sum()) if prev is not None else None
    risky = at_risk[at_risk["at_risk"]] if len(at_risk) else at_risk
    value_at_risk = float(at_risk["value_at_risk"].sum()) if len(at_risk) else 0.0
    finite = median_days is not None and not math.isinf(median_days) and not math.isnan(median_days)
    headline = [
        {"label": _t("active", lang), "value": n_active, "text": format_number(n_active, lang)},
        {
            "label": _t("median", lang),
            "value": round(median_days, 1) if finite else None,
            "text": format_number(median_days, lang)
            if finite
            else "> " + format_number(history["snapshot"].nunique() * 30, lang),
        },
        {"label": _t("at_risk", lang), "value": len(risky), "text": format_number(len(risky), lang)},
        {
            "label": _t("revenue_at_risk", lang),
            "value": round(value_at_risk, 2),
            "text": format_currency(value_at_risk, lang),
        },
    ]
    sentences = []
    if prev is not None:
        sentences.append(
            _t(
                "s_active",
                lang,
                date=_date(last, lang),
                n=format_number(n_active, lang),
                change=_signed(n_active - n_prev, lang),
                prev=_date(prev, lang),
            )
        )
    sentences.append(
        _t("s_median", lang, days=format_number(median_days, lang)) if finite else _t("s_median_inf", lang)
    )
    sentences.append(
        _t(
            "s_risk",
            lang,
            n=format_number(len(risky), lang),
            h=horizon,
            p=format_percent(threshold, lang, 0),
            money=format_currency(value_at_risk, lang),
        )
    )
    if prev is not None and len(ch) > 1:
        up, down = ch.loc[ch["change"].idxmax()], ch.loc[ch["change"].idxmin()]
        sentences.append(
            _t(
                "s_growth",
                lang,
                stage=typology.stage_label(up["stage"], lang),
                change=_signed(int(up["change"]), lang),
                down=typology.stage_label(down["stage"], lang),
                change_down=_signed(int(down["change"]), lang),
            )
        )
    stages = [
        {
            "code": r.stage,
            "label": typology.stage_label(r.stage, lang),
            "count": int(r.count),
            "previous": None if prev is None else int(r.previous),
            "change": None if prev is None else int(r.change),
        }
        for r in ch.itertuples()
    ]
    return {
        "as_of": str(last.date()),
        "lang": lang,
        "headline": headline,
        "stages": stages,
        "sentences": sentences,
        "shares": {r.stage: r.count / max(ch["count"].sum(), 1) for r in ch.itertuples()},
        "share_in_relationship": format_percent(n_active / max(ch["count"].sum(), 1), lang),
    }


def write_outputs(
    output_dir: str | Path,
    figures: dict[str, Any],
    history: pd.DataFrame,
    profiles: pd.DataFrame,
    at_risk: pd.DataFrame,
) -> list[Path]:
    """Write ``key_figures.json`` and the CSV exports; return the paths written. Sorted, so reruns are identical."""
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
        "at_risk.csv": at_risk.sort_values(["value_at_risk", "customer_id"], ascending=[False, True]),
    }
    for name, df in exports.items():
        p = out / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df.to_csv(p, index=False, float_format="%.6g", date_format="%Y-%m-%d", lineterminator="\n")
        written.append(p)
    return written
