"""Report tables (headers in French or English) of the journey analyses: what :class:`Transitions` counted,
the most frequent paths, and :class:`MarkovProjection`'s projection and back-test."""

from __future__ import annotations

import pandas as pd

from custrel_lib.i18n import format_number, format_percent, tr
from custrel_lib.journeys._base import code_label, period_label
from custrel_lib.journeys.markov import TIE_POINTS, MarkovProjection
from custrel_lib.journeys.narrative import transitions_sentence
from custrel_lib.journeys.text import TEXT, period_text, points, unit, units
from custrel_lib.journeys.transitions import Transitions, path_label
from custrel_lib.tables import HtmlTable


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
            tr(TEXT, "col_period", lang): [period_text(s, mp, lang) for s in bt["snapshot"]],
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
    now = period_text(mp.forecast_.index[0], mp, lang)
    then = period_text(mp.forecast_.index[-1], mp, lang)
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
    customers, headers in ``lang``. ``frame`` keeps the numbers. A history shorter than ``k`` periods (a
    short data window) gives the paths over the whole history, and the caption says over how many periods."""
    k = min(k, len(transitions.snapshots_))
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
