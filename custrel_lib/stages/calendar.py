"""The snapshot calendar: snapshot dates, window starts, and day numbers (days since 1970-01-01).

The features (:mod:`custrel_lib.stages.features`) map every day to the snapshot where an event of that day
enters, and where it leaves each window (:func:`calendar_table`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from custrel_lib.exceptions import ConfigError

EPOCH = pd.Timestamp("1970-01-01")
COMPLAINT_WINDOW = "90d"  # a window in days; the others are in months
WINDOWS = (COMPLAINT_WINDOW, 6, 12)


def snapshot_dates(
    first: pd.Timestamp, as_of: pd.Timestamp, cadence: str | Sequence = "month"
) -> list[pd.Timestamp]:
    """Period ends from the period of ``first`` to ``as_of`` (``as_of`` itself closes the last period)."""
    as_of = pd.Timestamp(as_of).normalize()
    if not isinstance(cadence, str):
        dates = sorted({pd.Timestamp(d).normalize() for d in cadence})
        if not dates:
            raise ConfigError("The list of snapshot dates is empty.")
        if dates[-1] > as_of:
            raise ConfigError(f"Snapshot {dates[-1].date()} is after the extraction date {as_of.date()}.")
        return dates
    freq = {"month": "ME", "quarter": "QE"}.get(cadence)
    if freq is None:
        raise ConfigError(f"Unknown cadence {cadence!r}: use 'month', 'quarter' or a list of dates.")
    ends = list(pd.date_range(pd.Timestamp(first).normalize(), as_of, freq=freq))
    if not ends or ends[-1] < as_of:
        ends.append(as_of)
    return ends


def window_start(s: pd.Timestamp, months: int | str) -> pd.Timestamp:
    """Start (excluded) of the ``months``-month window ending at ``s``; month ends map to month ends.

    ``months`` can also be a number of days written ``"90d"``.
    """
    if isinstance(months, str):
        return s - pd.Timedelta(days=int(months.removesuffix("d")))
    start = s - pd.DateOffset(months=months)
    return start + pd.offsets.MonthEnd(0) if s.is_month_end else start


def days(ts) -> np.ndarray | int:
    if isinstance(ts, pd.Timestamp):
        return int((ts - EPOCH).days)
    return ((pd.DatetimeIndex(ts) - EPOCH).days).to_numpy(dtype=np.int64)


def calendar_table(first_day: int, snapshots: list[pd.Timestamp]) -> pd.DataFrame:
    """Map every day to the snapshot where an event of that day enters, and where it leaves each window.

    ``k`` is the index of the first snapshot on or after the day; ``x<m>`` the index of the first snapshot
    whose ``m`` window starts on or after the day (the event is out of the window from there on). Indexes
    equal to ``len(snapshots)`` mean "never".
    """
    snap = pd.DatetimeIndex(snapshots)
    every = np.arange(min(first_day, days(snap[0])), days(snap[-1]) + 1, dtype=np.int64)
    out = pd.DataFrame({"d": every, "k": np.searchsorted(days(snap), every, side="left").astype(np.int64)})
    for m in WINDOWS:
        # window_start is non-decreasing in the snapshot date, so a binary search finds the exit.
        starts = days(pd.DatetimeIndex([window_start(x, m) for x in snap]))
        out[f"x{m}"] = np.searchsorted(starts, every, side="left").astype(np.int64)
    return out
