"""Synthetic French retailer with a known truth.

Every simulated customer has a latent *true type* that drives its behaviour:

========== ================================================================================
type       behaviour
========== ================================================================================
prospect   signs up, never buys
one_shot   buys once and never comes back (coup d'un soir)
flirt      buys twice, a few weeks apart, then leaves
dating     regular repeat buyer (every ~80 days), one or two categories, no contract
cohabiting frequent buyer (every ~30 days), no contract, long-lived (concubinage)
engaged    repeat buyer whose basket grows (up-sell) over 3-5 categories (cross-sell),
           promoter and referrer, no contract (fiancé(e))
married    signs a subscription / loyalty contract within 6 months of the first purchase;
           the contract ends voluntarily or involuntarily (marié(e))
========== ================================================================================

Separation (churn) happens at a latent time drawn from a type-specific hazard (contract end for
``married``); some separated customers come back later (win-back) and start a second episode.
Customers acquired before the observation window exist (left truncation): their purchases before the
window are not in the data, but their sign-up date is.

The generator writes the three tables of the data contract plus a ``truth/`` folder that the library
never reads and tests do:

- ``truth/customers.csv``: true type, acquisition (first purchase) date, separation dates and reasons,
  win-back date;
- ``truth/stages.csv``: the true relationship stage as spells (``customer_id, start, stage``: the stage
  holds from ``start`` until the next spell's start), from which :func:`true_stages_at` gives the true
  stage at any date.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pandas as pd

WINDOW_START = pd.Timestamp("2023-01-01")
WINDOW_END = pd.Timestamp("2025-12-31")

CATEGORIES = ["Épicerie", "Maison", "Beauté", "Textile", "High-tech", "Jardin", "Sport", "Jouets"]
CHANNELS = ["magasin", "web", "app"]
REGIONS = [
    "Île-de-France",
    "Auvergne-Rhône-Alpes",
    "Nouvelle-Aquitaine",
    "Occitanie",
    "Hauts-de-France",
    "Grand Est",
    "Provence-Alpes-Côte d'Azur",
    "Bretagne",
    "Normandie",
    "Pays de la Loire",
]
JOURNEY_STEPS = [
    "besoin",
    "recherche",
    "choix",
    "achat",
    "decouverte",
    "usage",
    "recommandation",
    "parrainage",
]


@dataclass(frozen=True)
class TypeParams:
    """Behaviour of one latent type (times in days, amounts in euros)."""

    share: float
    gap_mean: float  # mean days between purchases
    gap_shape: float  # gamma shape: higher = more regular
    annual_hazard: float  # separation hazard per year of relationship (0 = fixed rule)
    winback: float  # probability of coming back after a separation
    basket: float  # median basket
    basket_growth: float  # yearly growth of the basket (up-sell)
    breadth: tuple[int, int]  # number of categories bought (low, high)
    nps_mean: float
    referral_rate: float  # referrals per year while active


TYPES: dict[str, TypeParams] = {
    "prospect": TypeParams(0.08, 0, 1, 0.0, 0.0, 0, 0.0, (1, 1), 6.5, 0.0),
    "one_shot": TypeParams(0.22, 0, 1, 0.0, 0.05, 45, 0.0, (1, 1), 5.5, 0.0),
    "flirt": TypeParams(0.14, 45, 1.5, 0.0, 0.10, 40, 0.0, (1, 2), 6.5, 0.0),
    "dating": TypeParams(0.22, 90, 4.0, 0.35, 0.25, 55, 0.0, (1, 2), 7.0, 0.0),
    "cohabiting": TypeParams(0.12, 30, 4.0, 0.15, 0.30, 50, 0.0, (2, 2), 7.3, 0.0),
    "engaged": TypeParams(0.08, 55, 3.0, 0.20, 0.30, 60, 0.45, (3, 5), 9.3, 0.8),
    "married": TypeParams(0.14, 40, 3.0, 0.0, 0.20, 70, 0.05, (2, 3), 8.3, 0.5),
}
#: married: yearly hazards of a voluntary and an involuntary contract end
CONTRACT_HAZARDS = {"voluntary": 0.15, "involuntary": 0.05}

_TYPE_CODES = list(TYPES)
_INF = np.inf


@dataclass
class SampleData:
    """The generated tables (canonical column names) and their truth."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    interactions: pd.DataFrame
    truth_customers: pd.DataFrame
    truth_stages: pd.DataFrame

    def write(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write the tables (``csv`` or ``parquet``) and the truth into ``out_dir``."""
        out = Path(out_dir)
        (out / "truth").mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in ("transactions", "customers", "interactions"):
            df = getattr(self, name)
            path = out / f"{name}.{fmt}"
            _write(df, path, fmt)
            paths[name] = path
        for name, df in (("customers", self.truth_customers), ("stages", self.truth_stages)):
            path = out / "truth" / f"{name}.{fmt}"
            _write(df, path, fmt)
            paths[f"truth_{name}"] = path
        config = out / "custrel.yml"
        if not config.exists():
            config.write_text(_config_text(fmt), encoding="utf-8")
        paths["config"] = config
        return paths


def _write(df: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(path, index=False, date_format="%Y-%m-%d", float_format="%.2f")
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"Unknown format {fmt!r}: use csv or parquet.")


def _config_text(fmt: str) -> str:
    return (
        "# custrel configuration of the synthetic sample (see README: data contract).\n"
        "data_dir: .\n"
        "language: fr\n"
        "tables:\n"
        f"  transactions: {{path: transactions.{fmt}}}\n"
        f"  customers: {{path: customers.{fmt}}}\n"
        f"  interactions: {{path: interactions.{fmt}}}\n"
        "analysis:\n"
        f"  as_of: {WINDOW_END.date()}\n"
        "  cadence: month\n"
    )


def generate_sample(
    n_customers: int = 5000,
    seed: int = 42,
    start: str | pd.Timestamp = WINDOW_START,
    end: str | pd.Timestamp = WINDOW_END,
    progress: bool = False,
    chunk: int = 200_000,
) -> SampleData:
    """Simulate ``n_customers`` customers of a French retailer over the window ``[start, end]``.

    Parameters
    ----------
    n_customers
        Number of customers to simulate (customers with no activity in the window are dropped, so the
        tables hold slightly fewer).
    seed
        Seed of the random generator: the same seed gives the same tables.
    start, end
        The observation window; ``end`` is the extraction date (``as_of``).
    progress
        Print progress lines (for large runs).
    chunk
        Customers simulated at a time (bounds the memory of large runs).

    Returns
    -------
    SampleData
    """
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    horizon = float((end - start).days)  # last day index of the window
    parts = []
    t0 = time.perf_counter()
    for first in range(0, n_customers, chunk):
        n = min(chunk, n_customers - first)
        parts.append(_simulate_chunk(first, n, horizon, rng, width=len(str(n_customers))))
        if progress:
            click.echo(
                f"  simulated {first + n:,} / {n_customers:,} customers ({time.perf_counter() - t0:.0f} s)"
            )
    # A refund points at its purchase by row number within its chunk: shift to the concatenated numbering.
    offset = 0
    for part in parts:
        part["refunds"] = part["refunds"].assign(refund_of=part["refunds"]["refund_of"] + offset)
        offset += len(part["tx"])
    tables = {key: pd.concat([p[key] for p in parts], ignore_index=True) for key in parts[0]}
    return _to_frames(tables, start)


# --------------------------------------------------------------------------------------------------------
# simulation, in days relative to the window start (negative = before the window)


def _renewal(starts: np.ndarray, ends: np.ndarray, mean: float, shape: float, rng) -> tuple[np.ndarray, ...]:
    """Purchase times ``start + cumsum(gamma gaps)`` strictly before ``end``, for each row.

    Returns the row index and time of every purchase (the first purchase is at ``start``).
    """
    n = len(starts)
    if n == 0:
        return np.empty(0, int), np.empty(0)
    span = float(np.max(np.minimum(ends, 1e6) - starts))
    k = int(np.ceil(span / mean * 1.8)) + 12
    gaps = rng.gamma(shape, mean / shape, size=(n, k))
    gaps[:, 0] = 0.0
    times = starts[:, None] + np.cumsum(gaps, axis=1)
    if np.any(times[:, -1] < ends):  # astronomically rare with the margin above; never truncate silently
        raise RuntimeError("renewal simulation buffer too small")
    rows, cols = np.nonzero(times < ends[:, None])
    return rows, times[rows, cols]


def _simulate_chunk(first: int, n: int, horizon: float, rng, width: int) -> dict[str, pd.DataFrame]:
    shares = np.array([p.share for p in TYPES.values()])
    ttype = rng.choice(len(TYPES), size=n, p=shares / shares.sum())
    code = np.array(_TYPE_CODES)[ttype]
    ids = np.array([f"C{i:0{width}d}" for i in range(first, first + n)], dtype=object)
    param = {
        f: np.array([getattr(TYPES[c], f) for c in _TYPE_CODES])[ttype]
        for f in TypeParams.__dataclass_fields__
    }

    is_prospect = code == "prospect"
    # first purchase: from 18 months before the window to the last days of the window
    acq = rng.uniform(-540, horizon - 3, n)
    signup = np.where(is_prospect, rng.uniform(0, horizon, n), acq - rng.uniform(0, 60, n))
    acq = np.where(is_prospect, np.nan, acq)

    # contract (married): starts within 6 months, ends with a voluntary or involuntary reason
    married = code == "married"
    contract_start = np.where(married, acq + rng.uniform(0, 180, n), np.nan)
    total_hazard = sum(CONTRACT_HAZARDS.values())
    contract_len = rng.exponential(365.0 / total_hazard, n)
    contract_end = np.where(married, contract_start + contract_len, np.nan)
    reason = np.where(
        rng.uniform(size=n) < CONTRACT_HAZARDS["voluntary"] / total_hazard, "voluntary", "involuntary"
    )

    # episode 1: separation time
    sep1 = acq + rng.exponential(365.0 / np.where(param["annual_hazard"] > 0, param["annual_hazard"], 1.0))
    sep1 = np.where(married, contract_end, sep1)
    one_shot = code == "one_shot"
    flirt = code == "flirt"
    gap1 = rng.gamma(TYPES["flirt"].gap_shape, TYPES["flirt"].gap_mean / TYPES["flirt"].gap_shape, n)
    leave_after = rng.uniform(10, 60, n)
    sep1 = np.where(one_shot, acq + leave_after, sep1)
    sep1 = np.where(flirt, acq + gap1 + leave_after, sep1)

    # purchases of episode 1
    p_rows, p_time = [np.empty(0, int)], [np.empty(0)]
    p_rows.append(np.nonzero(one_shot)[0])
    p_time.append(acq[one_shot])
    fl = np.nonzero(flirt)[0]
    p_rows += [fl, fl]
    p_time += [acq[fl], acq[fl] + gap1[fl]]
    for t in ("dating", "cohabiting", "engaged", "married"):
        idx = np.nonzero(code == t)[0]
        r, tm = _renewal(acq[idx], sep1[idx], TYPES[t].gap_mean, TYPES[t].gap_shape, rng)
        p_rows.append(idx[r])
        p_time.append(tm)
    rows1, times1 = np.concatenate(p_rows), np.concatenate(p_time)
    n_ep1 = np.bincount(rows1, minlength=n)
    order = np.lexsort((times1, rows1))
    rows1, times1 = rows1[order], times1[order]
    rank = np.arange(len(rows1)) - np.searchsorted(rows1, rows1)  # 0-based purchase rank per customer
    third = np.full(n, _INF)
    third[rows1[rank == 2]] = times1[rank == 2]
    last1 = np.full(n, np.nan)
    last1[rows1] = times1  # rows sorted by time: the last assignment wins

    # win-back: a return well after the separation, then a second episode
    wins = (~is_prospect) & (rng.uniform(size=n) < param["winback"]) & (sep1 < horizon)
    ret = np.where(wins, sep1 + 180 + rng.exponential(180, n), np.nan)
    wins &= ret <= horizon
    ret = np.where(wins, ret, np.nan)
    short = one_shot | flirt
    sep2 = np.where(
        short,
        ret + rng.uniform(10, 60, n),
        ret + rng.exponential(365.0 / np.maximum(param["annual_hazard"], 0.2)),
    )
    sep2 = np.where(wins, sep2, np.nan)
    p_rows, p_time = [np.nonzero(wins & short)[0]], [ret[wins & short]]
    for t in ("dating", "cohabiting", "engaged", "married"):
        idx = np.nonzero(wins & (code == t))[0]
        r, tm = _renewal(ret[idx], sep2[idx], TYPES[t].gap_mean, TYPES[t].gap_shape, rng)
        p_rows.append(idx[r])
        p_time.append(tm)
    rows2, times2 = np.concatenate(p_rows), np.concatenate(p_time)

    rows = np.concatenate([rows1, rows2])
    times = np.concatenate([times1, times2])

    # who is in the data: prospects signed up in the window, buyers with a purchase in the window
    in_window = (times >= 0) & (times <= horizon)
    has_purchase = np.bincount(rows[in_window], minlength=n) > 0
    keep = (is_prospect & (signup <= horizon)) | has_purchase

    # ---- transactions (in the window only)
    sel = in_window & keep[rows]
    tr_rows, tr_time = rows[sel], times[sel]
    years_in = (tr_time - acq[tr_rows]) / 365.0
    basket = (
        param["basket"][tr_rows]
        * np.exp(rng.normal(0, 0.15, n))[tr_rows]
        * np.exp(param["basket_growth"][tr_rows] * years_in)
        * np.exp(rng.normal(0, 0.35, len(tr_rows)))
    )
    lo = np.array([TYPES[c].breadth[0] for c in _TYPE_CODES])[ttype]
    hi = np.array([TYPES[c].breadth[1] for c in _TYPE_CODES])[ttype]
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

    # ---- interactions
    inter = _interactions(code, param, acq, signup, sep1, ret, sep2, rows, times, keep, horizon, rng)

    # ---- customers
    kept = np.nonzero(keep)[0]
    region = rng.integers(0, len(REGIONS), n)
    acq_channel = np.where(rng.uniform(size=n) < 0.6, pref_channel, rng.integers(0, 3, n))
    cust = pd.DataFrame(
        {
            "row": kept,
            "signup_day": signup[kept],
            "contract_start_day": contract_start[kept],
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
            "true_type": code[kept],
            "acquisition_day": acq[kept],
            "separation_day": np.where(sep1[kept] <= horizon, sep1[kept], np.nan),
            "separation_reason": np.where(
                sep1[kept] <= horizon, np.where(married[kept], reason[kept], "inactivity"), None
            ),
            "winback_day": ret[kept],
            "separation_2_day": np.where(sep2[kept] <= horizon, sep2[kept], np.nan),
            "purchases_before_window": np.bincount(rows[(times < 0)], minlength=n)[kept],
        }
    )
    spells = _truth_spells(code, signup, acq, third, contract_start, sep1, n_ep1, ret, sep2, keep, horizon)
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


def _stage_at(t, code, signup, acq, third, contract_start, sep1, n_ep1, ret, sep2) -> np.ndarray:
    """The true stage of each customer at time ``t`` (one time per customer); '' before sign-up."""
    with np.errstate(invalid="ignore"):
        post = ~np.isnan(ret) & (t >= ret + 365)
        cohab_stage = np.where(t < acq + 365, "petit_ami", "concubinage")
        married_pre = np.where(t < third, "flirt", "petit_ami")
        married_stage = np.where(
            t < contract_start, married_pre, np.where(t < contract_start + 365, "fiance", "marie")
        )
        active = np.select(
            [
                (code == "one_shot") | (code == "flirt"),
                (code == "married") & post,
                code == "married",
                t < third,
                code == "dating",
                code == "cohabiting",
                code == "engaged",
            ],
            ["flirt", "petit_ami", married_stage, "flirt", "petit_ami", cohab_stage, "fiance"],
            default="flirt",
        )
        separated = np.where(n_ep1 >= 2, "separe", "coup_d_un_soir")
        return np.select(
            [
                t < signup,
                code == "prospect",
                t < acq,
                t < sep1,
                np.isnan(ret) | (t < ret),
                t < np.minimum(ret + 365, np.where(np.isnan(sep2), _INF, sep2)),
                np.isnan(sep2) | (t < sep2),
            ],
            ["", "prospect", "prospect", active, separated, "reconquis", active],
            default="separe",
        )


def _truth_spells(
    code, signup, acq, third, contract_start, sep1, n_ep1, ret, sep2, keep, horizon
) -> pd.DataFrame:
    """True stage spells ``(row, start_day, stage)`` clipped to the window, one row per change."""
    args = (code, signup, acq, third, contract_start, sep1, n_ep1, ret, sep2)
    bounds = np.column_stack(
        [
            np.maximum(signup, 0.0),
            acq,
            third,
            acq + 365,
            contract_start,
            contract_start + 365,
            sep1,
            ret,
            ret + 365,
            sep2,
        ]
    )
    bounds = np.where(bounds < np.maximum(signup, 0.0)[:, None], np.nan, bounds)
    frames = []
    for j in range(bounds.shape[1]):
        b = bounds[:, j]
        ok = ~np.isnan(b) & np.isfinite(b) & (b <= horizon) & keep
        stage = _stage_at(np.where(ok, b, 0.0), *args)
        frames.append(pd.DataFrame({"row": np.nonzero(ok)[0], "day": b[ok], "stage": stage[ok]}))
    sp = pd.concat(frames, ignore_index=True)
    sp = sp[sp["stage"] != ""].sort_values(["row", "day"], kind="stable")
    sp["day"] = np.ceil(sp["day"]).astype(int)  # a stage reached during day d holds at the end of day d
    sp = sp.drop_duplicates(["row", "day"], keep="last")
    changed = (sp["stage"] != sp.groupby("row")["stage"].shift()).to_numpy()
    return sp[changed].reset_index(drop=True)


def _interactions(code, param, acq, signup, sep1, ret, sep2, rows, times, keep, horizon, rng) -> pd.DataFrame:
    n = len(code)
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
    out.append(
        pd.DataFrame(
            {
                "row": r,
                "day": t,
                "type": "complaint",
                "score": np.nan,
                "resolved": rng.uniform(size=len(r)) < 0.8,
            }
        )
    )
    # support contacts
    m = rng.uniform(size=len(rows)) < 0.05
    out.append(
        pd.DataFrame(
            {"row": rows[m], "day": times[m] + 2, "type": "support", "score": np.nan, "resolved": None}
        )
    )
    # referrals while active (engaged, married)
    active_end = np.minimum(np.where(np.isnan(sep1), _INF, sep1), horizon)
    span = np.clip(active_end - np.nan_to_num(acq, nan=horizon), 0, None)
    k = rng.poisson(param["referral_rate"] * span / 365.0)
    r = np.repeat(np.arange(n), k)
    t = np.nan_to_num(acq, nan=0.0)[r] + rng.uniform(0, 1, len(r)) * span[r]
    out.append(pd.DataFrame({"row": r, "day": t, "type": "referral", "score": np.nan, "resolved": None}))
    # journey steps of web visitors acquired in the window: the funnel before and after the first purchase
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
    for step in JOURNEY_STEPS:
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
    inter = pd.concat(out, ignore_index=True)
    inter = inter[(inter["day"] >= 0) & (inter["day"] <= horizon) & keep[inter["row"].to_numpy()]]
    inter = inter.assign(day=np.floor(inter["day"]).astype(int))
    return inter.reset_index(drop=True)


def _to_frames(parts: dict[str, pd.DataFrame], start: pd.Timestamp) -> SampleData:
    def to_date(days) -> pd.Series:
        days = pd.Series(np.floor(np.asarray(days, dtype="float64")))
        out = pd.Series(pd.NaT, index=days.index, dtype="datetime64[ns]")
        ok = days.notna().to_numpy()
        out[ok] = start + pd.to_timedelta(days[ok].astype("int64"), unit="D")
        return out

    tx, rf = parts["tx"], parts["refunds"]
    tx = tx.assign(_i=np.arange(len(tx)))
    # order ids in date order, so the table reads naturally
    tx = tx.sort_values(["day", "customer_id"], kind="stable").reset_index(drop=True)
    order_ids = pd.Series([f"O{i:08d}" for i in range(len(tx))], index=tx["_i"].to_numpy())
    tx["order_id"] = [f"O{i:08d}" for i in range(len(tx))]
    rf = rf.assign(order_id=order_ids.reindex(rf["refund_of"].to_numpy()).to_numpy() + "-R")
    both = pd.concat([tx, rf], ignore_index=True).sort_values(
        ["day", "customer_id", "order_id"], kind="stable"
    )
    transactions = pd.DataFrame(
        {
            "customer_id": both["customer_id"].to_numpy(),
            "date": to_date(both["day"]).to_numpy(),
            "amount": both["amount"].to_numpy(),
            "order_id": both["order_id"].to_numpy(),
            "category": both["category"].to_numpy(),
            "channel": both["channel"].to_numpy(),
        }
    )
    c = parts["customers"]
    customers = pd.DataFrame(
        {
            "customer_id": c["customer_id"],
            "signup_date": to_date(c["signup_day"]),
            "contract_start": to_date(c["contract_start_day"]),
            "contract_end": to_date(c["contract_end_day"]),
            "end_reason": c["end_reason"],
            "loyalty_member": c["loyalty_member"],
            "acquisition_channel": c["acquisition_channel"],
            "region": c["region"],
        }
    )
    i = parts["interactions"].sort_values(["day", "customer_id"], kind="stable")
    interactions = pd.DataFrame(
        {
            "customer_id": i["customer_id"].to_numpy(),
            "date": to_date(i["day"]).to_numpy(),
            "type": i["type"].to_numpy(),
            "score": i["score"].to_numpy(),
            "resolved": i["resolved"].to_numpy(),
        }
    )
    t = parts["truth"]
    truth = pd.DataFrame(
        {
            "customer_id": t["customer_id"],
            "true_type": t["true_type"],
            "acquisition_date": to_date(t["acquisition_day"]),
            "separation_date": to_date(t["separation_day"]),
            "separation_reason": t["separation_reason"],
            "winback_date": to_date(t["winback_day"]),
            "separation_2_date": to_date(t["separation_2_day"]),
            "purchases_before_window": t["purchases_before_window"],
        }
    )
    s = parts["spells"]
    spells = pd.DataFrame({"customer_id": s["customer_id"], "start": to_date(s["day"]), "stage": s["stage"]})
    return SampleData(transactions, customers, interactions, truth, spells)


def true_stages_at(spells: pd.DataFrame, dates) -> pd.DataFrame:
    """The true stage of every customer at each date (end of day), from the truth spells.

    Parameters
    ----------
    spells
        ``truth/stages.csv`` as a DataFrame (``customer_id, start, stage``).
    dates
        One date or a list of dates.

    Returns
    -------
    DataFrame with ``customer_id, snapshot, true_stage`` for the customers that exist at each date.
    """
    sp = spells.assign(start=pd.to_datetime(spells["start"])).sort_values("start")
    frames = []
    for d in pd.to_datetime(pd.Index(np.atleast_1d(dates))):
        last = sp[sp["start"] <= d].groupby("customer_id", sort=True).tail(1)
        frames.append(
            pd.DataFrame({"customer_id": last["customer_id"], "snapshot": d, "true_stage": last["stage"]})
        )
    return (
        pd.concat(frames, ignore_index=True).sort_values(["snapshot", "customer_id"]).reset_index(drop=True)
    )
