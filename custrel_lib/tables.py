"""Small HTML tables for reports: headers in the report's language, numbers and dates written the reader's way.

:func:`html_table` writes a DataFrame whose column names are already the reader's labels (take them from a
catalogue, see docs/reports.md); :class:`HtmlTable` keeps the values next to the HTML so that a notebook
cell can show the table and code can still read the numbers.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custrel_lib.i18n import format_date, format_number, format_percent, tr

TEXT = {
    "yes": {"fr": "oui", "en": "yes"},
    "no": {"fr": "non", "en": "no"},
}


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def format_cell(value: object, lang: str, percent: bool = False, decimals: int | None = None) -> str:
    """One table cell as text for a reader of ``lang``.

    Parameters
    ----------
    value : object
        The value: missing values give an empty cell, booleans ``oui``/``non`` (``yes``/``no``), dates
        :func:`~custrel_lib.i18n.format_date`, numbers :func:`~custrel_lib.i18n.format_number` (or
        :func:`~custrel_lib.i18n.format_percent` when ``percent``); anything else is written as is.
    lang : {"fr", "en"}
    percent : bool
        The value is a share (0.25) shown as a percentage.
    decimals : int, optional
        Decimals of a number (of a percentage when ``percent``); by default 0 for a whole number, else 1.

    Examples
    --------
    >>> format_cell(1234.5, "fr"), format_cell(0.25, "en", percent=True), format_cell(True, "fr")
    ('1\u202f234,5', '25.0%', 'oui')
    """
    if _is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return tr(TEXT, "yes" if value else "no", lang)
    if isinstance(value, pd.Timestamp | dt.date | np.datetime64):
        return format_date(pd.Timestamp(value), lang)
    if isinstance(value, int | float | np.integer | np.floating):
        if percent:
            return format_percent(float(value), lang, 1 if decimals is None else decimals)
        if decimals is None:
            decimals = 0 if float(value).is_integer() else 1
        return format_number(float(value), lang, decimals)
    return str(value)


def html_table(
    df: pd.DataFrame,
    lang: str,
    percent: Sequence[str] = (),
    decimals: Mapping[str, int] | None = None,
    title: str = "",
    index: bool = False,
) -> str:
    """A small styled table; every header and cell is escaped (labels can come from data).

    Parameters
    ----------
    df : pandas.DataFrame
        Column names are the headers shown (the reader's labels).
    lang : {"fr", "en"}
        Language of the numbers, dates and yes/no cells.
    percent : sequence of str
        Columns holding shares (0.25) shown as percentages.
    decimals : mapping, optional
        ``{column: decimals}``; other number columns get 0 decimals for whole numbers, else 1.
    title : str
        Caption above the table.
    index : bool
        Show the index as the first column (its header is the index name).

    Returns
    -------
    str
        ``<table class='custrel-table'>`` with a ``<thead>``.
    """
    decimals = dict(decimals or {})
    if index:
        df = df.reset_index()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = [
            format_cell(v, lang, percent=col in percent, decimals=decimals.get(col))
            for col, v in zip(df.columns, row, strict=True)
        ]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    caption = f"<caption>{html.escape(title)}</caption>" if title else ""
    return (
        f"<table class='custrel-table'>{caption}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


@dataclass
class HtmlTable:
    """A table for a report: ``frame`` holds the values (columns named in the reader's language), the
    notebook shows the formatted HTML. ``before`` is escaped text shown above the table (a sentence)."""

    frame: pd.DataFrame
    lang: str = "fr"
    percent: Sequence[str] = ()
    decimals: Mapping[str, int] = field(default_factory=dict)
    title: str = ""
    before: str = ""
    index: bool = False

    def _repr_html_(self) -> str:
        head = f"<p>{html.escape(self.before)}</p>" if self.before else ""
        return head + html_table(
            self.frame, self.lang, self.percent, self.decimals, self.title, index=self.index
        )
