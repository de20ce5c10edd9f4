"""What the simulated customers leave in the data: transactions, customers, interactions and the truth.

:func:`simulate_chunk` draws a :class:`~custrel_lib.io.population.Population` and turns it into the tables of
the data contract (in days from the window start; :mod:`custrel_lib.io.sample` turns days into dates). The
random draws happen in a fixed order, so a seed gives the same tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from custrel_lib.io.population import (
    CATEGORIES,
    CHANNELS,
    REGIONS,
    TYPE_CODES,
    TYPES,
    Population,
    draw_population,
    truth_spells,
)


def simulate_chunk(
    first: int, n: int, horizon: float, rng, width: int, steps: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Customers ``first`` to ``first + n - 1`` (ids ``C`` + ``width`` digits); ``steps`` are the journey steps.

    Returns the tables by name (``tx``, ``refunds``, ``customers``, ``truth``, ``spells``, ``interactions``),
    with a ``row`` (customer index in the chunk) and a ``customer_id`` column; times are in days.
    """
    pop, rows, times = draw_population(n, horizon, rng)
    # who is in the data: prospects signed up in the window, buyers with a purchase in the window
    in_window = (times >= 0) & (times <= horizon)
    has_purchase = np.bincount(rows[in_window], minlength=n) > 0
    pop.keep = (pop.is_prospect & (pop.signup <= horizon)) | has_purchase
    sel = in_window & pop.keep[rows]
    tx, rf, pref_channel = _transactions(pop, rows[sel], times[sel], horizon, rng)
    inter = _interactions(pop, rows, times, horizon, rng, steps)
    cust, truth = _customer_tables(pop, rows, times, pref_channel, horizon, rng)
    spells = truth_spells(pop, horizon)
    ids = np.array([f"C{i:0{width}d}" for i in range(first, first + n)], dtype=object)
    for df in (tx, rf, cust, truth, spells, inter):
        df["customer_id"] = ids[df["row"].to_numpy()]
    return {
        "tx": tx,
        "refunds": rf,
        "customers": cust,
        "truth": truth,
        "spells": spells,
        "interactions": inter,
    }


def _transactions(pop: Population, tr_rows, tr_time, horizon: float, rng) -> tuple:
    """Purchases in the window (basket, categories, channel) and the refunds of 2 % of them; the preferred
    channel of every customer comes back too (acquisition channels follow it)."""
    n, param = pop.n, pop.param
    years_in = (tr_time - pop.acq[tr_rows]) / 365.0
    basket = (
        param["basket"][tr_rows]
        * np.exp(rng.normal(0, 0.15, n))[tr_rows]
        * np.exp(param["basket_growth"][tr_rows] * years_in)
        * np.exp(rng.normal(0, 0.35, len(tr_rows)))
    )
    lo = np.array([TYPES[c].breadth[0] for c in TYPE_CODES])[pop.ttype]
    hi = np.array([TYPES[c].breadth[1] for c in TYPE_CODES])[pop.ttype]
    breadth = rng.integers(lo, hi + 1)
    cat_offset = rng.integers(0, len(CATEGORIES), n)
    cat = (cat_offset[tr_rows] + rng.integers(0, 1 << 30, len(tr_rows)) % breadth[tr_rows]) % len(CATEGORIES)
    pref_channel = rng.choice(len(CHANNELS), size=n, p=[0.5, 0.3, 0.2])
    channel = np.where(
        rng.uniform(size=len(tr_rows)) < 0.85, pref_channel[tr_rows], rng.integers(0, 3, len(tr_rows))
    )
    tx = pd.DataFrame(
        {
            "row": tr_rows,
            "day": np.floor(tr_time).astype(int),
            "amount": np.round(basket, 2),
            "category": np.array(CATEGORIES, dtype=object)[cat],
            "channel": np.array(CHANNELS, dtype=object)[channel],
        }
    )
    # refunds: 2 % of purchases are partly refunded a few days later
    refund = (rng.uniform(size=len(tx)) < 0.02) & (tx["day"].to_numpy() + 20 <= horizon)
    rf = tx[refund].copy()
    rf["day"] = rf["day"] + rng.integers(1, 20, len(rf))
    rf["amount"] = -np.round(rf["amount"] * rng.uniform(0.3, 1.0, len(rf)), 2)
    rf["refund_of"] = np.nonzero(refund)[0]
    tx["refund_of"] = -1
    return tx, rf, pref_channel


def _customer_tables(pop: Population, rows, times, pref_channel, horizon: float, rng) -> tuple:
    """The ``customers`` table and the truth about each kept customer (type, separations, win-back)."""
    n, keep, married, reason = pop.n, pop.keep, pop.married, pop.reason
    contract_end, sep1, sep2 = pop.contract_end, pop.sep1, pop.sep2
    kept = np.nonzero(keep)[0]
    region = rng.integers(0, len(REGIONS), n)
    acq_channel = np.where(rng.uniform(size=n) < 0.6, pref_channel, rng.integers(0, 3, n))
    cust = pd.DataFrame(
        {
            "row": kept,
            "signup_day": pop.signup[kept],
            "contract_start_day": pop.contract_start[kept],
            "contract_end_day": np.where(contract_end[kept] <= horizon, contract_end[kept], np.nan),
            "end_reason": np.where(married[kept] & (contract_end[kept] <= horizon), reason[kept], None),
            "loyalty_member": married[kept],
            "acquisition_channel": np.array(CHANNELS, dtype=object)[acq_channel[kept]],
            "region": np.array(REGIONS, dtype=object)[region[kept]],
        }
    )
    truth = pd.DataFrame(
        {
            "row": kept,
            "true_type": pop.code[kept],
            "acquisition_day": pop.acq[kept],
            "separation_day": np.where(sep1[kept] <= horizon, sep1[kept], np.nan),
            "separation_reason": np.where(
                sep1[kept] <= horizon, np.where(married[kept], reason[kept], "inactivity"), None
            ),
            "winback_day": pop.ret[kept],
            "separation_2_day": np.where(sep2[kept] <= horizon, sep2[kept], np.nan),
            "purchases_before_window": np.bincount(rows[(times < 0)], minlength=n)[kept],
        }
    )
    return cust, truth


def _interactions(pop: Population, rows, times, horizon: float, rng, steps: Sequence[str]) -> pd.DataFrame:
    """NPS, complaints, support contacts, referrals and journey steps, in the window, of kept customers."""
    out = _voice(pop, rows, times, horizon, rng)
    out += _journey_steps(pop, rng, steps)
    inter = pd.concat(out, ignore_index=True)
    inter = inter[(inter["day"] >= 0) & (inter["day"] <= horizon) & pop.keep[inter["row"].to_numpy()]]
    inter = inter.assign(day=np.floor(inter["day"]).astype(int))
    return inter.reset_index(drop=True)


def _voice(pop: Population, rows, times, horizon: float, rng) -> list[pd.DataFrame]:
    """NPS scores, complaints and support contacts after purchases; referrals while active."""
    param, sep1, acq = pop.param, pop.sep1, pop.acq
    out = []
    # NPS after a quarter of purchases; scores drop in the last 120 days before a separation
    m = rng.uniform(size=len(rows)) < 0.25
    r, t = rows[m], times[m] + rng.uniform(1, 14, m.sum())
    near_end = (sep1[r] - t < 120) & (sep1[r] >= t)
    score = np.clip(np.round(rng.normal(param["nps_mean"][r] - 2.5 * near_end, 1.0)), 0, 10)
    out.append(pd.DataFrame({"row": r, "day": t, "type": "nps", "score": score, "resolved": None}))
    # complaints: 3 % of purchases, 15 % near a separation; 80 % resolved
    near = (sep1[rows] - times < 120) & (sep1[rows] >= times)
    m = rng.uniform(size=len(rows)) < np.where(near, 0.15, 0.03)
    r, t = rows[m], times[m] + rng.uniform(0, 10, m.sum())
    resolved = rng.uniform(size=len(r)) < 0.8
    out.append(pd.DataFrame({"row": r, "day": t, "type": "complaint", "score": np.nan, "resolved": resolved}))
    # support contacts
    m = rng.uniform(size=len(rows)) < 0.05
    out.append(
        pd.DataFrame(
            {"row": rows[m], "day": times[m] + 2, "type": "support", "score": np.nan, "resolved": None}
        )
    )
    # referrals while active (engaged, married)
    active_end = np.minimum(np.where(np.isnan(sep1), np.inf, sep1), horizon)
    span = np.clip(active_end - np.nan_to_num(acq, nan=horizon), 0, None)
    k = rng.poisson(param["referral_rate"] * span / 365.0)
    r = np.repeat(np.arange(pop.n), k)
    t = np.nan_to_num(acq, nan=0.0)[r] + rng.uniform(0, 1, len(r)) * span[r]
    out.append(pd.DataFrame({"row": r, "day": t, "type": "referral", "score": np.nan, "resolved": None}))
    return out


def _journey_steps(pop: Population, rng, steps: Sequence[str]) -> list[pd.DataFrame]:
    """Journey steps of web visitors acquired in the window: the funnel before and after the first purchase."""
    n, code, param, acq, signup = pop.n, pop.code, pop.param, pop.acq, pop.signup
    web = rng.uniform(size=n) < 0.4
    start = np.where(code == "prospect", signup, acq - rng.uniform(5, 40, n))
    reach = np.ones(n, bool) & web & (start >= 0)
    buyer = code != "prospect"
    repeat = np.isin(code, ["dating", "cohabiting", "engaged", "married"])
    probs = {
        "besoin": np.ones(n),
        "recherche": np.full(n, 0.85),
        "choix": np.where(buyer, 1.0, 0.5),
        "achat": np.where(buyer, 1.0, 0.0),
        "decouverte": np.full(n, 0.9),
        "usage": np.where(repeat, 0.95, 0.4),
        "recommandation": np.where(param["nps_mean"] >= 8.5, 0.7, 0.1),
        "parrainage": np.where(param["referral_rate"] > 0, 0.6, 0.02),
    }
    # pre-purchase steps spread between the first visit and the purchase (10 days for prospects)
    ref = np.where(buyer, acq, start + 10)
    before = {"besoin": 0.0, "recherche": 0.4, "choix": 0.8}
    after = {"achat": 0, "decouverte": 5, "usage": 20, "recommandation": 50, "parrainage": 70}
    out = []
    for step in steps:
        reach &= rng.uniform(size=n) < probs[step]
        if step in before:
            day = start + before[step] * (ref - start)
        else:
            day = acq + after[step]
        m = reach & ~np.isnan(day)
        out.append(
            pd.DataFrame(
                {"row": np.nonzero(m)[0], "day": day[m], "type": step, "score": np.nan, "resolved": None}
            )
        )
    return out
