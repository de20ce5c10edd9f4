"""Sentences (French and English) that say what a :class:`MarkovProjection` or a :class:`Transitions` did
and found; the words come from :mod:`custrel_lib.journeys.text`, the report tables are in
:mod:`custrel_lib.journeys.tables`.
"""

from __future__ import annotations

from custrel_lib.i18n import format_number, format_percent, tr
from custrel_lib.journeys._base import code_label, describe_filters, period_label
from custrel_lib.journeys.markov import MIN_BACKTEST_FIT_PAIRS, MIN_FIT_PAIRS, TIE_POINTS, MarkovProjection
from custrel_lib.journeys.text import (
    TEXT,
    mix_text,
    moves_text,
    period_text,
    points,
    span_text,
    unit,
    units,
)
from custrel_lib.journeys.transitions import Transitions


def burn_in_sentence(mp: MarkovProjection, lang: str = "fr") -> str:
    """Which periods were left out as burn-in and which moves were used for the estimation."""
    if mp.status_ != "ok":
        return ""
    start, end = mp.fit_pairs_[0][0], mp.fit_pairs_[-1][1]
    values = {
        "start": period_text(start, mp, lang),
        "end": period_text(end, mp, lang),
        "moves": moves_text(len(mp.fit_pairs_), mp, lang),
    }
    if mp.burn_in_ == 0:
        return tr(TEXT, "no_burn_in", lang, **values)
    first, last = mp.burn_in_snapshots_[0], mp.burn_in_snapshots_[-1]
    return tr(
        TEXT,
        "burn_in",
        lang,
        n=units(mp.burn_in_, mp.cadence_, lang),
        span=span_text(first, last, mp, lang),
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
        span=span_text(pairs[0][1], pairs[-1][1], mp, lang),
        mix=mix_text(e / e.sum(), lang) if e.sum() > 0 else "–",
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
    mix = mix_text(mp.long_run_mix_, lang)
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
        cut=period_text(mp.backtest_cut_, mp, lang),
        k=units(len(bt), mp.cadence_, lang),
        span=span_text(bt["snapshot"].iloc[0], bt["snapshot"].iloc[-1], mp, lang),
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
                    min_moves=moves_text(MIN_FIT_PAIRS, mp, lang),
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
                    min_moves=moves_text(MIN_BACKTEST_FIT_PAIRS, mp, lang),
                )
            )
    return out


def projection_sentences(mp: MarkovProjection, lang: str = "fr") -> list[str]:
    """What the report says about the projection, in order: burn-in, entries and exits, steady state, and
    why it could not be computed if so (back-test notes are in :func:`backtest_sentence`)."""
    parts = [burn_in_sentence(mp, lang), entries_sentence(mp, lang), steady_state_sentence(mp, lang)]
    return [p for p in parts if p] + notes(mp, lang, keys={"too_short"})


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
