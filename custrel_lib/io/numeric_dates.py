"""Dates written as numbers: Excel's serial days, Unix time, and day numbers from a day the user gives.

Both loaders read them alike (:func:`custrel_lib.io.readers.numeric_days` in pandas, ``scan_sql._date`` in the
engine): a format of :data:`NUMERIC_DATES` is detected from the values; ``days since <day>`` is never detected,
only set in ``custrel.yml`` (:func:`custrel_lib.config_checker.days_since`).
"""

from __future__ import annotations

from custrel_lib.config_checker import days_since

#: Dates written as Excel's serial numbers (days since 1899-12-30: ``45366`` is 2024-03-15, ``45366,5`` its
#: noon), as a CSV saved from a sheet whose date cells lost their format holds them: the column's format when
#: at least half of its first values are such numbers between 1950 and 2099 and no date format reads more.
EXCEL_SERIAL = "excel serial"
EXCEL_ORIGIN = "1899-12-30"
SERIAL = r"\d{5}(?:[.,]\d+)?"
SERIAL_RANGE = (18264, 73050)  # 1950-01-01 .. 2099-12-31
SERIAL_SHARE = 0.5
#: Unix time (app, payment and database exports): seconds, milliseconds or microseconds (Google Analytics 4's
#: ``event_timestamp`` in BigQuery) since 1970-01-01 UTC, read at their UTC day, under the same rule, between 2000
#: and 2099.
UNIX_SECONDS, UNIX_MILLISECONDS, UNIX_MICROSECONDS = "unix seconds", "unix milliseconds", "unix microseconds"
#: Dates written as numbers: format -> (pattern, (low, high) of the number, numbers per day, the day of 0).
NUMERIC_DATES = {
    EXCEL_SERIAL: (SERIAL, SERIAL_RANGE, 1, EXCEL_ORIGIN),
    UNIX_SECONDS: (r"\d{9,10}(?:\.\d+)?", (946684800, 4102444800), 86400, "1970-01-01"),
    UNIX_MILLISECONDS: (r"\d{12,13}(?:\.\d+)?", (946684800000, 4102444800000), 86400000, "1970-01-01"),
    UNIX_MICROSECONDS: (r"\d{15,16}", (946684800 * 10**6, 4102444800 * 10**6), 86400 * 10**6, "1970-01-01"),
}


def numeric_date(fmt: str | None) -> tuple | None:
    """``(pattern, (low, high), numbers per day, day 0)`` of a format of dates written as numbers
    (:data:`NUMERIC_DATES`, or ``days since <day>``: whole days, negative ones before it), else None."""
    if fmt in NUMERIC_DATES:
        return NUMERIC_DATES[fmt]
    day = days_since(fmt)
    return (r"-?\d{1,6}", (-999_999, 999_999), 1, day) if day else None
