"""A purchase process with a closed-form separation-time distribution, for truth tests of the survival code.

Each customer makes a first purchase at arrival, then buys at the times of a Poisson process of rate
``lam`` (per day) while alive; death comes after an exponential time of rate ``mu`` from the first purchase.
With the data rule "a separation is the last purchase before a gap of more than ``H`` days", the first
relationship lasts ``T`` = (last purchase before death) - (first purchase) as long as ``exp(-lam H)`` is
negligible (no alive customer waits ``H`` days). Then (a geometric sum of exponentials)::

    P(T = 0) = mu / (lam + mu),    P(T > t) = lam / (lam + mu) * exp(-mu t),   t >= 0.

The simulation also keeps each customer's full future, so the exact ``T`` under the data rule (including the
rare alive gap longer than ``H``) is known: ``truth["T"]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BASE = pd.Timestamp("2020-01-01")


def closed_form_survival(t, lam: float, mu: float) -> np.ndarray:
    """``P(T > t)`` for ``t >= 0`` (see the module docstring)."""
    return lam / (lam + mu) * np.exp(-mu * np.asarray(t, dtype=float))


def simulate(
    n: int = 6000,
    lam: float = 1 / 20,
    mu: float = np.log(2) / 200,
    window_days: int = 1095,
    horizon_days: int = 120,
    pre_window_days: int = 0,
    seed: int = 1,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, pd.Timestamp]:
    """Simulate customers arriving uniformly over ``[-pre_window_days, window_days)`` (days from ``BASE``).

    Returns ``(tables, truth, as_of)``: ``tables`` has ``transactions`` (purchases dated within the window
    only) and ``customers`` (``signup_date`` = arrival, the true origin); ``truth`` has ``customer_id``,
    ``arrival`` (date) and ``T`` (days, exact under the data rule with horizon ``H``).
    """
    rng = np.random.default_rng(seed)
    arrival = rng.integers(-pre_window_days, window_days, n)
    life = rng.exponential(1 / mu, n)
    rows_c, rows_t, truth = [], [], []
    for i in range(n):
        times = np.concatenate([[0.0], np.cumsum(rng.exponential(1 / lam, int(lam * life[i] * 2 + 30)))])
        while times[-1] <= life[i]:  # rare: draw more purchases until death is passed
            times = np.concatenate([times, times[-1] + np.cumsum(rng.exponential(1 / lam, 50))])
        times = times[times <= life[i]]
        days = np.unique(np.floor(arrival[i] + times).astype(int))
        gaps = np.diff(days)
        stop = np.flatnonzero(gaps > horizon_days)
        last = days[stop[0]] if len(stop) else days[-1]
        cid = f"S{i:05d}"
        truth.append((cid, arrival[i], float(last - days[0])))
        seen = days[(days >= 0) & (days <= window_days)]
        if len(seen):
            rows_c.append((cid, arrival[i]))
            rows_t.extend((cid, d) for d in seen)
    tx = pd.DataFrame(rows_t, columns=["customer_id", "day"])
    tables = {
        "transactions": pd.DataFrame(
            {
                "customer_id": tx["customer_id"].astype("string"),
                "date": BASE + pd.to_timedelta(tx["day"], unit="D"),
                "amount": 10.0,
            }
        ),
        "customers": pd.DataFrame(
            {
                "customer_id": pd.array([c for c, _ in rows_c], dtype="string"),
                "signup_date": BASE + pd.to_timedelta([a for _, a in rows_c], unit="D"),
            }
        ),
    }
    t = pd.DataFrame(truth, columns=["customer_id", "arrival", "T"])
    t["arrival"] = BASE + pd.to_timedelta(t["arrival"], unit="D")
    return tables, t, BASE + pd.Timedelta(days=window_days)


def empirical_survival(values, t) -> np.ndarray:
    """``P(T > t)`` of a sample of uncensored ``T``."""
    v = np.sort(np.asarray(values, dtype=float))
    return 1 - np.searchsorted(v, np.asarray(t, dtype=float), side="right") / len(v)
