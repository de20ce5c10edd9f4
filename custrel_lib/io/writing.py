"""How the values of a column are written, read from a sample of its first values, the same in both loaders:
ids as decimals or as e-mail addresses, and the decimal mark of numbers (:mod:`custrel_lib.io.readers` for
pandas, :mod:`custrel_lib.io.scan` for the engine)."""

from __future__ import annotations

import pandas as pd

from custrel_lib.io.contract import DECIMAL_COMMA, DECIMAL_ID, DECIMAL_POINT, EMAIL_ID, EMAIL_ID_SHARE

SAMPLE_SIZE = 2000


def id_writing(ids: pd.Series) -> str | None:
    """How the first :data:`SAMPLE_SIZE` ids of a column are written: ``decimal`` when all are decimals
    (``17850.0``: read as ``17850``), ``email`` when nearly all are e-mail addresses (read in lower case), else
    None (read as they are). Both loaders decide on this sample."""
    sample = ids.dropna().head(SAMPLE_SIZE)
    if not len(sample):
        return None
    if sample.str.fullmatch(DECIMAL_ID).all():
        return "decimal"
    return "email" if sample.str.fullmatch(EMAIL_ID).mean() >= EMAIL_ID_SHARE else None


def decimal_mark(sample: pd.Series) -> str:
    """The decimal mark of a sample of numbers as text (cleaned of signs and codes): a comma when more values
    are written with a decimal comma (``12,5``, ``1.234,56``) than with a decimal point (``12.5``,
    ``1,234.56``); whole numbers say nothing (a French column of round amounts with a few ``12,5`` is read with
    a comma); a tie keeps the point. Both loaders decide on this sample."""
    comma = int(sample.str.fullmatch(DECIMAL_COMMA).sum()) if len(sample) else 0
    point = int(sample.str.fullmatch(DECIMAL_POINT).sum()) if len(sample) else 0
    return "," if comma > point else "."
