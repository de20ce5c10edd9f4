"""``custrel init`` on a column of day numbers named as a date (dunnhumby's ``DAY``, 1 to 711), when no column holds
dates: the guesses see them as the dates ``date_format: "days since DAY_ZERO"`` reads (custrel_lib.io.numeric_dates),
and the file written says that this day is custrel's choice, to correct.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from custrel_lib.io.contract import fold
from custrel_lib.io.guess import _SHARE, _reads_as

#: A column of day numbers named as a date (dunnhumby's ``DAY``, 1 to 711), when no column holds dates: read with
#: ``date_format: "days since <day>"``; ``custrel init`` writes :data:`DAY_ZERO`, a day of its own choosing that the
#: written file says to correct (the export does not say which day is day 1).
DAY_ZERO = "1999-12-31"
DAY_NAMES = ("day", "jour", "day number", "day no", "day index", "numero jour", "numero de jour")


def day_numbers(columns: Sequence[str], head: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """``head`` with its column of day numbers written as the dates ``days since DAY_ZERO`` reads, so that the
    guesses see a date, and that column; ``(head, None)`` when there is none, or a column holds dates."""
    named = [c for c in columns if fold(c) in DAY_NAMES]  # first: reading every column as dates costs
    if not named or any(_reads_as(head[c], "date") for c in columns):
        return head, None
    for column in named:
        text = head[column].astype(str).str.strip()
        whole = text.str.fullmatch(r"\d{1,5}")
        if whole[text != ""].mean() < _SHARE:
            continue
        days = pd.to_numeric(text.where(whole), errors="coerce")  # digits only: no exponent to parse
        dates = (pd.Timestamp(DAY_ZERO) + pd.to_timedelta(days, unit="D")).dt.strftime("%Y-%m-%d")
        return head.assign(**{column: dates}), column
    return head, None


def days_note(column: str, head: pd.DataFrame) -> str:
    """What ``custrel init`` says of a column of day numbers (:func:`day_numbers`): the day it chose."""
    days = pd.to_datetime(head[column], errors="coerce") - pd.Timestamp(DAY_ZERO)
    return (
        f"{column!r} holds day numbers ({days.min().days} to {days.max().days} in the first rows), not dates: "
        f"day 1 is read as the day after {DAY_ZERO}, a day custrel chose; the export does not say it: write in "
        "date_format the day before the first day of the data, or the reports' dates are not the real ones"
    )
