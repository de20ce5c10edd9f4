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

from custrel_lib.i18n import (
    CURRENCY,
    check_lang,
    format_currency,
    format_date,
    format_number,
    format_percent,
    tr,
)
from custrel_lib.privacy import pseudonymize
from custrel_lib.reports.csv_export import ARROW_CSV_ROWS, by_value, ordered, write_csv_arrow
from custrel_lib.reports.render import render
from custrel_lib.reports.summary_text import TEXT
from custrel_lib.stages import typology

IN_RELATIONSHIP = ("flirt", "petit_ami", "fiance", "concubinage", "marie", "reconquis")


def _signed(v: float, lang: str) -> str:
    text = format_number(v, lang)
    return f"+{text}" if v > 0 else text


def signal_net(signal: dict[str, Any] | None) -> dict[str, int]:
    """Per stage, customers the P(alive) signal brought in minus those it took out, at the last snapshot
    (from :meth:`~custrel_lib.workbench.Workbench.signal_figures`' ``moves``); empty when it moved nobody."""
    net: dict[str, int] = {}
    if not signal or not signal.get("applied"):
        return net
    for pair, n in (signal.get("moves") or {}).items():
        before, after = pair.split("->")
        net[before] = net.get(before, 0) - int(n)
        net[after] = net.get(after, 0) + int(n)
    return {k: v for k, v in net.items() if v}


def stage_changes(history: pd.DataFrame, signal: dict[str, Any] | None = None) -> pd.DataFrame:
    """Customers per stage at the last snapshot and the one before, with the change.

    The P(alive) signal places customers at the last snapshot only, so part of the change is the signal,
    not the customers: ``signal`` is that part (net, per stage) and ``same_rules`` the change under the
    rules of both snapshots (``change - signal``), which the sentences compare.
    """
    snaps = sorted(history["snapshot"].unique())
    last, prev = snaps[-1], snaps[-2] if len(snaps) > 1 else None
    now = history[history["snapshot"] == last]["stage"].value_counts()
    before = history[history["snapshot"] == prev]["stage"].value_counts() if prev is not None else pd.Series()
    codes = [c for c in typology.stage_order() if c in now.index or c in before.index]
    out = pd.DataFrame({"stage": codes})
    out["count"] = [int(now.get(c, 0)) for c in codes]
    out["previous"] = [int(before.get(c, 0)) for c in codes] if prev is not None else None
    out["change"] = out["count"] - out["previous"] if prev is not None else None
    net = signal_net(signal)
    out["signal"] = [net.get(c, 0) for c in codes]
    out["same_rules"] = out["change"] - out["signal"] if prev is not None else None
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
                "sentence": _median_sentence(survival, r, lang),
            }
        )
    return out


def _median_sentence(survival, r, lang: str) -> str:
    """Half of the relationships end within N days; when N is 0, that more than half end at the first
    purchase, with the share (Kaplan-Meier at day 0): "end within 0 days" reads as an error."""
    from custrel_lib.survival.text import kind_label

    kind = kind_label(r.kind, lang)
    if not math.isfinite(r.median):
        return tr(TEXT, "s_median_inf", lang, kind=kind, days=format_number(r.observed_up_to, lang))
    if r.median == 0 and r.kind != "contract":
        share = 1.0 - float(survival.km_kind.survival_at(0.0)[r.kind])
        h = format_number(survival.horizon_days, lang)
        return tr(TEXT, "s_median_zero", lang, kind=kind, share=format_percent(share, lang, 0), h=h)
    return tr(TEXT, "s_median", lang, kind=kind, days=format_number(r.median, lang))


def key_figures(
    history: pd.DataFrame,
    survival=None,
    lang: str = "fr",
    nps=None,
    skipped: list[dict[str, str]] | None = None,
    signal: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
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
    data : dict, optional
        Rows read, kept and rejected per table (:meth:`custrel_lib.workbench.Workbench.data_figures`).

    Returns
    -------
    dict
        JSON-ready: ``headline`` (``key``, ``label``, ``value``, ``text``, ``definition``), ``stages``,
        ``sentences``, ``survival`` (counts), ``nps``, ``skipped``, ``stage_signal``, ``data``.
    """
    lang = check_lang(lang)
    ch = stage_changes(history, signal)
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
        "data": data,
        "currency": CURRENCY["symbol"] if getattr(survival, "amounts", True) else None,  # None: no money
    }


def _active_sentence(ch: pd.DataFrame, n_active: int, lang: str) -> str:
    last, prev = ch.attrs["last"], ch.attrs["previous"]
    active = ch["stage"].isin(IN_RELATIONSHIP)
    n_prev = int(ch.loc[active, "previous"].sum())
    signal = int(ch.loc[active, "signal"].sum())

    def change(v: int) -> str:
        return _signed(v, lang) if v else tr(TEXT, "stable", lang)

    return tr(
        TEXT,
        "s_active_signal" if signal else "s_active",
        lang,
        date=format_date(last, lang),
        n=format_number(n_active, lang),
        change=change(n_active - n_prev),
        signal=_signed(signal, lang),
        same=change(n_active - n_prev - signal),
        prev=format_date(prev, lang),
    )


def _risk_figures(survival, date: str, lang: str) -> tuple[list[dict[str, Any]], str]:
    """Headline figures ``at_risk`` and ``revenue_at_risk`` (the count alone without amounts), and their sentence."""
    scores = survival.scores
    risky = scores[scores["at_risk"]]
    r = format_number(survival.risk_horizon_days, lang)
    # On a seeded sample of customers (large data), counts and sums are scaled up to every customer.
    sample = getattr(survival, "sample", None)
    scale = sample["customers"] / sample["sampled"] if sample else 1.0
    n_risky, n_scored = round(len(risky) * scale), round(len(scores) * scale)
    value = float(scores["value_at_risk"].sum()) * scale
    flagged = float(risky["value_at_risk"].sum()) * scale
    estimated = (
        tr(TEXT, "sample_estimate", lang, n=format_number(sample["sampled"], lang), seed=sample["seed"])
        if sample
        else ""
    )
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
        "value": n_risky,
        "text": format_number(n_risky, lang),
        "definition": tr(TEXT, "at_risk_def", lang, date=date, p=p, h=h, r=r) + flame + estimated,
    }
    n = format_number(n_scored, lang)
    revenue = {
        "key": "revenue_at_risk",
        "label": tr(TEXT, "revenue_at_risk", lang, r=r),
        "value": round(value, 2),
        "text": format_currency(value, lang),
        "definition": tr(TEXT, "revenue_at_risk_def", lang, n=n, r=r, flagged=format_currency(flagged, lang))
        + estimated,
    }
    amounts = getattr(survival, "amounts", True)  # without amounts: no revenue figure, the count alone
    sentence = tr(
        TEXT,
        "s_risk" if amounts else "s_risk_count",
        lang,
        h=h,
        n=format_number(n_risky, lang),
        active=n,
        p=p,
        r=r,
        money=format_currency(value, lang),
        flagged=format_currency(flagged, lang),
    )
    return ([at_risk, revenue] if amounts else [at_risk]), sentence


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
    """The stages that grew and shrank most since the previous snapshot, under the same rules (without the
    P(alive) signal of the last snapshot); None when no stage changed."""
    up, down = ch.loc[ch["same_rules"].idxmax()], ch.loc[ch["same_rules"].idxmin()]
    key = {(True, True): "s_growth", (True, False): "s_growth_up", (False, True): "s_growth_down"}.get(
        (int(up["same_rules"]) > 0, int(down["same_rules"]) < 0)
    )
    if key is None:
        return None
    return tr(
        TEXT,
        key,
        lang,
        prev=format_date(ch.attrs["previous"], lang),
        same=tr(TEXT, "same_rules", lang) if ch["signal"].any() else ",",
        stage=typology.stage_label(up["stage"], lang),
        change=_signed(int(up["same_rules"]), lang),
        down=typology.stage_label(down["stage"], lang),
        change_down=_signed(int(down["same_rules"]), lang),
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
            "signal": int(r.signal),
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
        "stage_history.csv": history
        if ordered(history)
        else history.sort_values(["customer_id", "snapshot"]),
        "stage_profiles.csv": profiles,
        "at_risk.csv": by_value(at_risk),
    }
    for name, df in exports.items():
        if pseudonym_key is not None and "customer_id" in df:
            df = df.assign(customer_id=pseudonymize(df["customer_id"], pseudonym_key))
        p = out / name
        if len(df) > ARROW_CSV_ROWS:
            write_csv_arrow(df, p)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df.to_csv(p, index=False, float_format="%.6g", date_format="%Y-%m-%d", lineterminator="\n")
        written.append(p)
    return written
