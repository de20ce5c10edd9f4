"""The simulated customers of the synthetic sample: latent types, and the life each customer leads.

:func:`draw_population` draws, for a chunk of customers, their type, sign-up, first purchase, contract,
separation and win-back, and their purchase times (before the window too); the result is a
:class:`Population`. :func:`truth_spells` reads the true relationship stage off a population. Times are in
days relative to the window start (negative: before the window); ``NaN`` means "never".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

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

TYPE_CODES = list(TYPES)
_INF = np.inf


@dataclass
class Population:
    """The latent life of each customer of a chunk (one array element per customer, days from the window start).

    ``ttype`` indexes :data:`TYPE_CODES` and ``code`` is the type's name; ``param`` holds each
    :class:`TypeParams` field per customer. ``acq`` is the first purchase (``NaN`` for prospects), ``sep1``
    the first separation, ``third`` the third purchase (``inf`` when none), ``n_ep1`` the purchases of the
    first episode, ``ret`` the win-back and ``sep2`` the second separation (``NaN`` without win-back).
    ``keep`` says who appears in the data (set once the purchases in the window are known).
    """

    ttype: np.ndarray
    code: np.ndarray
    param: dict[str, np.ndarray]
    signup: np.ndarray
    acq: np.ndarray
    contract_start: np.ndarray
    contract_end: np.ndarray
    reason: np.ndarray
    sep1: np.ndarray
    flirt_gap: np.ndarray
    third: np.ndarray | None = None
    n_ep1: np.ndarray | None = None
    ret: np.ndarray | None = None
    sep2: np.ndarray | None = None
    keep: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.code)

    @property
    def married(self) -> np.ndarray:
        return self.code == "married"

    @property
    def is_prospect(self) -> np.ndarray:
        return self.code == "prospect"


def draw_population(n: int, horizon: float, rng) -> tuple[Population, np.ndarray, np.ndarray]:
    """``n`` customers with their lives, and every purchase as ``(rows, times)`` (customer index, day)."""
    pop = _draw_lives(n, horizon, rng)
    rows1, times1 = _first_episode(pop, rng)
    rows2, times2 = _winback(pop, horizon, rng)
    return pop, np.concatenate([rows1, rows2]), np.concatenate([times1, times2])


def _draw_lives(n: int, horizon: float, rng) -> Population:
    """Types, sign-up, first purchase, contract and first separation (random draws in a fixed order)."""
    shares = np.array([p.share for p in TYPES.values()])
    ttype = rng.choice(len(TYPES), size=n, p=shares / shares.sum())
    code = np.array(TYPE_CODES)[ttype]
    param = {
        f: np.array([getattr(TYPES[c], f) for c in TYPE_CODES])[ttype]
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
    gap1 = rng.gamma(TYPES["flirt"].gap_shape, TYPES["flirt"].gap_mean / TYPES["flirt"].gap_shape, n)
    leave_after = rng.uniform(10, 60, n)
    sep1 = np.where(code == "one_shot", acq + leave_after, sep1)
    sep1 = np.where(code == "flirt", acq + gap1 + leave_after, sep1)
    return Population(ttype, code, param, signup, acq, contract_start, contract_end, reason, sep1, gap1)


def _first_episode(pop: Population, rng) -> tuple[np.ndarray, np.ndarray]:
    """Purchases of the first episode, sorted by customer then time; sets ``third`` and ``n_ep1``."""
    code, acq, sep1, gap1 = pop.code, pop.acq, pop.sep1, pop.flirt_gap
    one_shot = code == "one_shot"
    p_rows, p_time = [np.empty(0, int)], [np.empty(0)]
    p_rows.append(np.nonzero(one_shot)[0])
    p_time.append(acq[one_shot])
    fl = np.nonzero(code == "flirt")[0]
    p_rows += [fl, fl]
    p_time += [acq[fl], acq[fl] + gap1[fl]]
    for t in ("dating", "cohabiting", "engaged", "married"):
        idx = np.nonzero(code == t)[0]
        r, tm = _renewal(acq[idx], sep1[idx], TYPES[t].gap_mean, TYPES[t].gap_shape, rng)
        p_rows.append(idx[r])
        p_time.append(tm)
    rows1, times1 = np.concatenate(p_rows), np.concatenate(p_time)
    pop.n_ep1 = np.bincount(rows1, minlength=pop.n)
    order = np.lexsort((times1, rows1))
    rows1, times1 = rows1[order], times1[order]
    rank = np.arange(len(rows1)) - np.searchsorted(rows1, rows1)  # 0-based purchase rank per customer
    pop.third = np.full(pop.n, _INF)
    pop.third[rows1[rank == 2]] = times1[rank == 2]
    return rows1, times1


def _winback(pop: Population, horizon: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """A return well after the separation, then a second episode and its purchases; sets ``ret``, ``sep2``."""
    n, code, sep1 = pop.n, pop.code, pop.sep1
    wins = (~pop.is_prospect) & (rng.uniform(size=n) < pop.param["winback"]) & (sep1 < horizon)
    ret = np.where(wins, sep1 + 180 + rng.exponential(180, n), np.nan)
    wins &= ret <= horizon
    ret = np.where(wins, ret, np.nan)
    short = (code == "one_shot") | (code == "flirt")
    sep2 = np.where(
        short,
        ret + rng.uniform(10, 60, n),
        ret + rng.exponential(365.0 / np.maximum(pop.param["annual_hazard"], 0.2)),
    )
    sep2 = np.where(wins, sep2, np.nan)
    pop.ret, pop.sep2 = ret, sep2
    p_rows, p_time = [np.nonzero(wins & short)[0]], [ret[wins & short]]
    for t in ("dating", "cohabiting", "engaged", "married"):
        idx = np.nonzero(wins & (code == t))[0]
        r, tm = _renewal(ret[idx], sep2[idx], TYPES[t].gap_mean, TYPES[t].gap_shape, rng)
        p_rows.append(idx[r])
        p_time.append(tm)
    return np.concatenate(p_rows), np.concatenate(p_time)


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


def stage_at(t: np.ndarray, pop: Population) -> np.ndarray:
    """The true stage of each customer at time ``t`` (one time per customer); '' before sign-up."""
    code, signup, acq, third, sep1, ret, sep2 = (
        pop.code,
        pop.signup,
        pop.acq,
        pop.third,
        pop.sep1,
        pop.ret,
        pop.sep2,
    )
    contract_start = pop.contract_start
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
        separated = np.where(pop.n_ep1 >= 2, "separe", "coup_d_un_soir")
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


def truth_spells(pop: Population, horizon: float) -> pd.DataFrame:
    """True stage spells ``(row, day, stage)`` of the kept customers, clipped to the window, one row per change."""
    signup, acq, ret = pop.signup, pop.acq, pop.ret
    bounds = np.column_stack(
        [
            np.maximum(signup, 0.0),
            acq,
            pop.third,
            acq + 365,
            pop.contract_start,
            pop.contract_start + 365,
            pop.sep1,
            ret,
            ret + 365,
            pop.sep2,
        ]
    )
    bounds = np.where(bounds < np.maximum(signup, 0.0)[:, None], np.nan, bounds)
    frames = []
    for j in range(bounds.shape[1]):
        b = bounds[:, j]
        ok = ~np.isnan(b) & np.isfinite(b) & (b <= horizon) & pop.keep
        stage = stage_at(np.where(ok, b, 0.0), pop)
        frames.append(pd.DataFrame({"row": np.nonzero(ok)[0], "day": b[ok], "stage": stage[ok]}))
    sp = pd.concat(frames, ignore_index=True)
    sp = sp[sp["stage"] != ""].sort_values(["row", "day"], kind="stable")
    sp["day"] = np.ceil(sp["day"]).astype(int)  # a stage reached during day d holds at the end of day d
    sp = sp.drop_duplicates(["row", "day"], keep="last")
    changed = (sp["stage"] != sp.groupby("row")["stage"].shift()).to_numpy()
    return sp[changed].reset_index(drop=True)
