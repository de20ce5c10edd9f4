"""The Markov chain behind :class:`~custrel_lib.journeys.markov.MarkovProjection`, as plain functions.

Estimation (:func:`fit_open_chain`, :func:`stage_matrix`), projection (:func:`project_counts` for an open
population, :func:`project` for a closed one), and the long run: steady state, reachable and trapped
stages, Cesàro limit of the shares. The model and its assumptions are described in
:mod:`custrel_lib.journeys.markov`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import null_space

from custrel_lib.exceptions import ConfigError
from custrel_lib.journeys._base import CADENCES, ENTRY, EXIT
from custrel_lib.stages import typology

PERIOD_DAYS = {"month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
"""Mean length of a period in days, to convert a horizon in days into periods."""


def default_burn_in(cadence: str, horizon_days: float | None, lookback_days: float = 0.0) -> int:
    """Burn-in in periods: the separation horizon ``H`` (or a longer look-back) rounded up to periods.

    A customer still active at the start of the window buys again within ``H`` days, so after ``H`` days
    every such customer has been seen and the entries are genuine new customers. Stage rules that look
    further back (e.g. "customer for a year") misplace the older customers for longer: pass their
    look-back as ``lookback_days`` to cover it too.

    Parameters
    ----------
    cadence : {"month", "quarter", "year"}
        Period of the snapshots.
    horizon_days : float or None
        Separation horizon ``H`` in days (``None`` or 0: no burn-in).
    lookback_days : float
        Longest look-back of the stage rules, in days (0: ``H`` only).

    Returns
    -------
    int
        ``ceil(max(H, lookback_days) / period length)``, the period length being a twelfth, a quarter or a
        whole of 365.25 days.
    """
    if cadence not in CADENCES:
        raise ConfigError(f"Unknown cadence {cadence!r}: use one of {', '.join(CADENCES)}.")
    days = max(float(horizon_days or 0.0), float(lookback_days or 0.0))
    if days < 0:
        raise ConfigError("horizon_days and lookback_days cannot be negative.")
    return math.ceil(days / PERIOD_DAYS[cadence] - 1e-9) if days > 0 else 0


def stage_matrix(counts: pd.DataFrame, stages: list[str] | None = None) -> pd.DataFrame:
    """Row-stochastic matrix over ``stages`` from transition counts (``from_stage, to_stage, count``).

    Closed-population version: entries and exits are dropped. A stage never left in the data keeps its
    customers (an identity row), so every row sums to one.
    """
    stages = stages or typology.stage_order()
    c = counts[(counts["from_stage"] != ENTRY) & (counts["to_stage"] != EXIT)]
    m = c.pivot_table(index="from_stage", columns="to_stage", values="count", aggfunc="sum")
    m = m.reindex(index=stages, columns=stages).fillna(0.0)
    totals = m.sum(axis=1)
    for s in stages:
        if totals[s] == 0:
            m.loc[s, s] = 1.0
    return m.div(m.sum(axis=1), axis=0)


@dataclass
class OpenChain:
    """Parameters of an open population estimated on some pairs of snapshots.

    Attributes
    ----------
    stages : list of str
        Stage codes, in display order.
    matrix : pandas.DataFrame
        ``P``: per period, share of the customers of a stage (row) found in each stage (column); rows sum
        to one minus the exit rate.
    exit_rate : pandas.Series
        ``x``: per period, share of the customers of a stage who leave the population.
    entries : pandas.Series
        ``e``: mean new customers per period, by stage on entry.
    entries_by_period : pandas.DataFrame
        New customers of each pair used, one row per ``to_snapshot``.
    at_risk : pandas.Series
        Customers observed at the start of the pairs used, by stage (the denominators of ``P``).
    unobserved : list of str
        Stages never observed at the start of a pair: their row is an identity (they keep customers).
    pairs : list of tuple
        ``(from_snapshot, to_snapshot)`` pairs the moves were counted on.
    entry_pairs : list of tuple
        The pairs the entry mean was taken on.
    """

    stages: list[str]
    matrix: pd.DataFrame
    exit_rate: pd.Series
    entries: pd.Series
    entries_by_period: pd.DataFrame
    at_risk: pd.Series
    unobserved: list[str] = field(default_factory=list)
    pairs: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)
    entry_pairs: list[tuple[pd.Timestamp, pd.Timestamp]] = field(default_factory=list)


def fit_open_chain(
    counts: pd.DataFrame,
    stages: list[str],
    pairs: list[tuple[pd.Timestamp, pd.Timestamp]],
    entry_window: int | None = None,
) -> OpenChain:
    """Estimate ``P``, the exit rates ``x`` and the entries ``e`` from transition counts.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``from_snapshot, to_snapshot, from_stage, to_stage, count`` (:attr:`Transitions.counts_`).
    stages : list of str
        Stages of the chain; entries into or moves from other codes are ignored.
    pairs : list of tuple
        The ``(from_snapshot, to_snapshot)`` pairs to count on, in time order (at least one).
    entry_window : int, optional
        Mean the entries over the last ``entry_window`` pairs only (``None``: all ``pairs``).

    Returns
    -------
    OpenChain
    """
    if not pairs:
        raise ConfigError("fit_open_chain needs at least one pair of snapshots.")
    if entry_window is not None and entry_window < 1:
        raise ConfigError("entry_window must be a positive number of periods.")
    froms = {pd.Timestamp(a) for a, _ in pairs}
    c = counts[counts["from_snapshot"].isin(froms)]
    moves = c[(c["from_stage"] != ENTRY) & (c["from_stage"].isin(stages))]
    m = moves.pivot_table(index="from_stage", columns="to_stage", values="count", aggfunc="sum")
    m = m.reindex(index=stages, columns=[*stages, EXIT]).fillna(0.0)
    at_risk = m.sum(axis=1)
    unobserved = [s for s in stages if at_risk[s] == 0]
    p = m[stages].div(at_risk.where(at_risk > 0), axis=0)
    x = m[EXIT].div(at_risk.where(at_risk > 0))
    for s in unobserved:
        p.loc[s] = 0.0
        p.loc[s, s] = 1.0
        x[s] = 0.0
    ent = c[(c["from_stage"] == ENTRY) & (c["to_stage"].isin(stages))]
    by_period = ent.pivot_table(index="to_snapshot", columns="to_stage", values="count", aggfunc="sum")
    by_period = by_period.reindex(index=[pd.Timestamp(b) for _, b in pairs], columns=stages).fillna(0.0)
    by_period.index.name, by_period.columns.name = "to_snapshot", "stage"
    entry_pairs = list(pairs[-entry_window:]) if entry_window else list(pairs)
    e = by_period.iloc[-len(entry_pairs) :].mean(axis=0).rename("entries")
    return OpenChain(
        stages=list(stages),
        matrix=p,
        exit_rate=x.rename("exit_rate"),
        entries=e,
        entries_by_period=by_period,
        at_risk=at_risk.rename("customers"),
        unobserved=unobserved,
        pairs=[(pd.Timestamp(a), pd.Timestamp(b)) for a, b in pairs],
        entry_pairs=[(pd.Timestamp(a), pd.Timestamp(b)) for a, b in entry_pairs],
    )


def project(mix0: np.ndarray | pd.Series, matrix: pd.DataFrame | np.ndarray, periods: int) -> np.ndarray:
    """Closed chain: the mix after 0..``periods`` steps, shape (periods + 1, n), row 0 being ``mix0``."""
    p = np.asarray(matrix, dtype=float)
    out = [np.asarray(mix0, dtype=float)]
    for _ in range(periods):
        out.append(out[-1] @ p)
    return np.vstack(out)


def project_counts(
    n0: np.ndarray | pd.Series,
    matrix: pd.DataFrame | np.ndarray,
    entries: np.ndarray | pd.Series,
    periods: int,
) -> np.ndarray:
    """Open population: expected counts after 0..``periods`` steps of ``n_{t+1} = n_t P + e``.

    Returns
    -------
    numpy.ndarray
        Shape (periods + 1, n), row 0 being ``n0``; row ``h`` equals ``n0 P^h + e (I + P + ... + P^{h-1})``.
    """
    p = np.asarray(matrix, dtype=float)
    e = np.asarray(entries, dtype=float)
    out = [np.asarray(n0, dtype=float)]
    for _ in range(periods):
        out.append(out[-1] @ p + e)
    return np.vstack(out)


def shares(counts: np.ndarray) -> np.ndarray:
    """Rows of ``counts`` divided by their sums (rows summing to zero stay zero)."""
    c = np.atleast_2d(np.asarray(counts, dtype=float))
    total = c.sum(axis=1, keepdims=True)
    return np.divide(c, total, out=np.zeros_like(c), where=total > 0)


def steady_state(matrix: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Closed chain: the stationary distribution, left eigenvector of ``Q`` for eigenvalue 1, summing to one."""
    p = np.asarray(matrix, dtype=float)
    values, vectors = np.linalg.eig(p.T)
    i = int(np.argmin(np.abs(values - 1.0)))
    v = np.real(vectors[:, i])
    v = np.abs(v) if (v <= 1e-12).all() else v
    v = np.clip(v, 0, None)
    return v / v.sum()


def reached_stages(matrix: np.ndarray, entries: np.ndarray) -> np.ndarray:
    """Boolean mask of the stages new customers can reach: entered directly or through moves of ``P``."""
    p = (np.asarray(matrix, dtype=float) > 0).astype(int)
    reached = np.asarray(entries, dtype=float) > 0
    while True:
        more = reached | (reached.astype(int) @ p > 0)
        if (more == reached).all():
            return reached
        reached = more


def trapped_stages(matrix: np.ndarray, exit_rate: np.ndarray, entries: np.ndarray) -> list[int]:
    """Indices of the stages that customers reach (from the entries) but can never leave for an exit.

    The open steady state exists exactly when this list is empty: then the spectral radius of ``P``
    restricted to the reached stages is below one and ``I - P`` is invertible there.
    """
    p = np.asarray(matrix, dtype=float) > 0
    n = p.shape[0]
    reached = reached_stages(matrix, entries)
    leaves = np.asarray(exit_rate, dtype=float) > 0
    while True:
        more = leaves | (p.astype(int) @ leaves.astype(int) > 0)
        if (more == leaves).all():
            break
        leaves = more
    return [i for i in range(n) if reached[i] and not leaves[i]]


def open_steady_state(
    matrix: pd.DataFrame | np.ndarray, entries: np.ndarray | pd.Series
) -> tuple[np.ndarray | None, list[int]]:
    """Steady counts ``n* = e (I - P)^{-1}`` of an open population, or ``None`` when there are none.

    Parameters
    ----------
    matrix : array-like
        ``P`` (rows sum to one minus the exit rate).
    entries : array-like
        ``e``, new customers per period by stage.

    Returns
    -------
    tuple
        ``(n_star, trapped)``: ``n_star`` is ``None`` when some reached stages never lead to an exit
        (``trapped``, their indices): their counts grow without bound. Stages never reached get 0.
    """
    p = np.asarray(matrix, dtype=float)
    e = np.asarray(entries, dtype=float)
    exit_rate = 1.0 - p.sum(axis=1)
    trapped = trapped_stages(p, np.where(exit_rate > 1e-12, exit_rate, 0.0), e)
    if trapped:
        return None, trapped
    n = p.shape[0]
    idx = np.flatnonzero(reached_stages(p, e))
    out = np.zeros(n)
    if len(idx):
        sub = np.eye(len(idx)) - p[np.ix_(idx, idx)]
        out[idx] = np.linalg.solve(sub.T, e[idx])
    return out, []


def cesaro_limit(matrix: pd.DataFrame | np.ndarray) -> np.ndarray:
    """``Z = lim (I + P + ... + P^{N-1}) / N``: the projector on the fixed vectors of ``P``.

    For a nonnegative ``P`` with rows summing to at most one the eigenvalue 1 is semisimple, so
    ``Z = R (L R)^{-1} L`` with ``R`` (columns) and ``L`` (rows) bases of the right and left null spaces
    of ``I - P``. ``Z = 0`` when ``I - P`` is invertible.
    """
    p = np.asarray(matrix, dtype=float)
    a = np.eye(p.shape[0]) - p
    r = null_space(a, rcond=1e-10)
    if r.shape[1] == 0:
        return np.zeros_like(p)
    left = null_space(a.T, rcond=1e-10).T
    return r @ np.linalg.solve(left @ r, left)


def long_run_mix(matrix: pd.DataFrame | np.ndarray, entries: np.ndarray | pd.Series) -> np.ndarray:
    """Limit of the stage shares of an open population.

    With a steady state it is ``n*`` normalised; without one the counts grow like ``t e Z`` and the shares
    tend to ``e Z`` normalised (:func:`cesaro_limit`).
    """
    n_star, _ = open_steady_state(matrix, entries)
    rate = n_star if n_star is not None else np.asarray(entries, dtype=float) @ cesaro_limit(matrix)
    rate = np.where(np.abs(rate) < 1e-9 * max(np.abs(rate).max(), 1.0), 0.0, rate)
    return shares(np.clip(rate, 0.0, None))[0]
