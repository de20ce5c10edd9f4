"""Buy 'til you die: is the flame still burning? BG/NBD and Gamma-Gamma for non-contractual customers.

* :func:`rfm_summary` (:mod:`~custrel_lib.flame.rfm`) turns transactions into one row per customer (``frequency``, ``recency``, ``T``,
  ``monetary_value``, and the holdout purchases when a calibration end is given), in the query engine
  (DuckDB through Ibis); :func:`rfm_summary_pandas` is the plain reference that the tests hold it to.
* :class:`BetaGeoModel` (:mod:`~custrel_lib.flame.bgnbd`) is the BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy
  way", Marketing Science 24(2)), fitted by maximum likelihood with scipy (log-parameters, analytic gradient,
  L-BFGS-B): probability alive, expected purchases of a customer over a horizon, and of a new customer.
* :class:`GammaGammaModel` (:mod:`~custrel_lib.flame.gamma_gamma`) is the spend model of Fader & Hardie (2013), "The Gamma-Gamma model of monetary
  value", with the conditional expected spend and a customer value (discounted expected spend).

Conventions (the literature's): a *purchase* is a transaction with a positive amount (refunds and zero
amounts do not count); purchases on the same day make one purchase occasion. ``frequency`` is the number of
days with a purchase after the first one (repeat purchases), ``recency`` the time from the first to the last
purchase day, ``T`` the time from the first purchase day to the end of the calibration period, in days or
weeks. ``monetary_value`` is the mean spend of the repeat purchase days (0 without repeat purchase).

Known limit: BG/NBD lets a customer drop out only right after a purchase, so a customer without repeat
purchase (``frequency == 0``) is alive with probability 1, however long ago the first purchase was. The
typology's ``coup_d_un_soir`` rule covers those customers. See ``docs/btyd.md``.

This module gathers them, with what the figures and the report need: the P(alive) matrix, the calibration /
holdout table and one customer's P(alive) history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custrel_lib.exceptions import AnalysisError
from custrel_lib.flame.bgnbd import BetaGeoModel, simulate_summary
from custrel_lib.flame.gamma_gamma import GammaGammaModel
from custrel_lib.flame.rfm import (
    DAYS_PER_YEAR,
    HOLDOUT_COLUMNS,
    SUMMARY_COLUMNS,
    UNITS,
    _columns,
    _day,
    _unit_days,
    rfm_summary,
    rfm_summary_pandas,
)

__all__ = [
    "DAYS_PER_YEAR",
    "HOLDOUT_COLUMNS",
    "SUMMARY_COLUMNS",
    "UNITS",
    "BetaGeoModel",
    "GammaGammaModel",
    "calibration_holdout",
    "p_alive_history",
    "p_alive_matrix",
    "rfm_summary",
    "rfm_summary_pandas",
    "simulate_summary",
]


def p_alive_matrix(
    bg: BetaGeoModel,
    T: float,
    max_frequency: int | None = None,
    max_recency: float | None = None,
    n_recency: int = 40,
) -> pd.DataFrame:
    """P(alive) of a customer observed for ``T`` units, by frequency (rows, 0 to ``max_frequency``) and
    recency (columns, ``n_recency`` values from 0 to ``max_recency`` <= ``T``)."""
    max_frequency = 20 if max_frequency is None else int(max_frequency)
    max_recency = T if max_recency is None else min(float(max_recency), T)
    rec = np.linspace(0, max_recency, n_recency)
    freq = np.arange(0, max_frequency + 1)
    f, r = np.meshgrid(freq, rec, indexing="ij")
    p = bg.p_alive(f, np.where(f > 0, np.maximum(r, 1e-9), 0.0), np.full_like(r, T, dtype=float))
    # A customer without repeat purchase has recency 0 by definition: other cells of that row do not exist.
    p = np.where((f == 0) & (r > 0), np.nan, p)
    p = np.where((f > 0) & (r == 0), np.nan, p)
    return pd.DataFrame(p, index=pd.Index(freq, name="frequency"), columns=pd.Index(rec, name="recency"))


def calibration_holdout(bg: BetaGeoModel, summary: pd.DataFrame, max_frequency: int = 7) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency (``max_frequency`` and above pooled): actual and
    predicted by the model (conditional expectation over each customer's ``duration_holdout``)."""
    x, tx, T, dur, y = _columns(
        summary, ["frequency", "recency", "T", "duration_holdout", "frequency_holdout"]
    )
    pred = bg.expected_purchases(dur, x, tx, T)
    df = pd.DataFrame({"frequency": np.minimum(x, max_frequency).astype(int), "actual": y, "model": pred})
    out = df.groupby("frequency").agg(
        customers=("actual", "size"), actual=("actual", "mean"), model=("model", "mean")
    )
    return out.reset_index()


def p_alive_history(
    bg: BetaGeoModel, transactions: pd.DataFrame, customer_id, as_of, unit: str | None = None, freq: str = "D"
) -> pd.DataFrame:
    """P(alive) of one customer at every date (``freq``) from the first purchase to ``as_of``, with the
    purchase days: ``date``, ``p_alive``, ``purchase`` (a purchase that day), ``frequency`` so far."""
    unit = unit or bg.unit or "days"
    k = _unit_days(unit)
    tx = transactions.loc[
        (transactions["customer_id"].astype(str) == str(customer_id)) & (transactions["amount"] > 0), "date"
    ]
    days = np.unique((pd.to_datetime(tx).dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.to_numpy())
    end = _day(as_of)
    days = days[days <= end]
    if len(days) == 0:
        raise AnalysisError(f"Customer {customer_id!r} has no purchase up to {pd.Timestamp(as_of).date()}.")
    dates = pd.date_range(
        pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(days[0])),
        pd.Timestamp(as_of).normalize(),
        freq=freq,
    )
    grid = (dates - pd.Timestamp("1970-01-01")).days.to_numpy()
    grid = np.union1d(grid, days)
    n_before = np.searchsorted(days, grid, side="right")  # purchase days up to each date
    x = n_before - 1
    last = days[n_before - 1]
    p = bg.p_alive(x, (last - days[0]) / k, (grid - days[0]) / k)
    return pd.DataFrame(
        {
            "date": pd.Timestamp("1970-01-01") + pd.to_timedelta(grid, unit="D"),
            "p_alive": p,
            "purchase": np.isin(grid, days),
            "frequency": x,
        }
    )
