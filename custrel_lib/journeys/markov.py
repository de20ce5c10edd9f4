"""Markov projection of the stage mix, for an open population, with a burn-in and an honest back-test.

Open population
    Let ``n_t`` be the row vector of customers per stage at snapshot ``t``. From one period to the next a
    customer of stage ``i`` moves to stage ``j`` with probability ``P[i, j]`` or leaves the population with
    probability ``x[i] = 1 - sum_j P[i, j]``; ``e`` new customers per stage enter. The expected counts are
    ``n_{t+1} = n_t P + e``, so ``n_h = n_0 P^h + e (I + P + ... + P^{h-1})``. ``P`` is estimated on the
    counts of moves (``P[i, j]`` = moves ``i -> j`` over customers in ``i`` at the start of the period,
    exits included in the denominator), ``e`` as the mean entries per period. When every stage leads
    sooner or later to an exit, the counts settle at ``n* = e (I - P)^{-1}``; when some stages are never
    left for an exit (no exits at all, as in a history that keeps every customer once seen), there is no
    finite steady state: their counts grow without bound and only the *shares* have a limit, ``e Z``
    normalised, ``Z`` being the Cesàro limit of ``P^k``.

Closed population (kept for comparison)
    Entries left out and exits renormalised away: ``mix_h = mix_0 Q^h`` with ``Q`` row-stochastic. It
    loses the new customers: prospects and flirts drain away and the mix drifts to the absorbing stages.

Burn-in
    The first periods of the window see customers who were there before it as *new* (their earlier
    purchases are not in the data): they inflate entries and the early stages. The first ``burn_in``
    snapshots are therefore never used as the start of a move: moves, exits and entries are counted on
    the pairs ``(t, t + 1)`` with ``t >= burn_in`` only. See :func:`default_burn_in`.

Back-test
    Hold out the last ``k`` periods, fit on the post-burn-in pairs before them, project ``1..k`` periods
    from the last fitted snapshot and compare with the observed mix; the *no-change* forecast (the mix at
    the cut carried forward) is computed beside it, so that the model is only trusted where it beats it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import null_space

from custrel_lib.exceptions import ConfigError
from custrel_lib.journeys._base import CADENCES, ENTRY, EXIT, next_period_ends
from custrel_lib.stages import typology

PERIOD_DAYS = {"month": 365.25 / 12, "quarter": 365.25 / 4, "year": 365.25}
"""Mean length of a period in days, to convert a horizon in days into periods."""
MIN_FIT_PAIRS = 1
"""Post-burn-in pairs of snapshots needed to fit the model (projection)."""
MIN_BACKTEST_FIT_PAIRS = 2
"""Post-burn-in pairs of snapshots needed before the held-out periods of a back-test."""
TIE_POINTS = 0.001
"""Mean errors closer than this (0.1 share point) are called a tie between the model and no change."""


# ---------------------------------------------------------------------------------------------- pieces
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


# ---------------------------------------------------------------------------------------------- model
class MarkovProjection:
    """Project the stage counts and mix ``periods`` periods ahead from a fitted :class:`Transitions`.

    Parameters
    ----------
    periods : int
        Periods projected after the last snapshot.
    backtest_periods : int
        Periods held out for the back-test (0: none).
    burn_in : int, optional
        Snapshots at the start of the window never used as the start of a move (see the module notes).
        ``None``: :func:`default_burn_in` of ``horizon_days`` (and ``lookback_days``).
    horizon_days : float, optional
        Separation horizon ``H`` in days, for the default burn-in.
    lookback_days : float
        Longest look-back of the stage rules in days, for the default burn-in (0: ``H`` only).
    entry_window : int, optional
        Mean the entries over the last ``entry_window`` post-burn-in pairs (``None``: all of them).
    population : {"open", "closed"}
        Which model gives :attr:`forecast_` and the back-test; the other one is computed for comparison
        where it makes sense (:attr:`closed_forecast_`).

    Attributes
    ----------
    status_ : {"ok", "too_short"}
        ``"too_short"``: fewer than ``MIN_FIT_PAIRS`` pairs after the burn-in; nothing else is fitted.
    notes_ : list of tuple
        ``(key, values)`` of what could not be computed and why, for :mod:`custrel_lib.journeys.narrative`.
    burn_in_ : int
        Snapshots left out at the start.
    snapshots_, burn_in_snapshots_, fit_pairs_ : lists
        All snapshots, the burn-in ones, and the pairs the model was fitted on.
    chain_ : OpenChain
        ``P``, exit rates and entries of the open population (fitted on ``fit_pairs_``).
    matrix_ : pandas.DataFrame
        Closed-chain matrix on the same pairs.
    observed_counts_, observed_ : pandas.DataFrame
        Customers per stage and stage shares at every snapshot.
    forecast_counts_, forecast_ : pandas.DataFrame
        Projected counts (open population only) and shares, row 0 being the last snapshot.
    closed_forecast_ : pandas.DataFrame
        Shares projected by the closed chain.
    steady_state_ : pandas.Series or None
        Steady counts ``n* = e (I - P)^{-1}``; ``None`` when there is none (see ``trapped_``).
    trapped_ : list of str
        Reached stages that never lead to an exit (why there is no steady state).
    unknown_ : list of str
        Reached stages never observed at the start of a fitted pair: their identity row is an assumption,
        so the steady state and the long-run mix are not reported (see the narrative).
    long_run_mix_ : pandas.Series
        Limit of the shares of the open population (``n*`` normalised, or ``e Z`` normalised).
    closed_steady_state_ : pandas.Series
        Stationary distribution of the closed chain.
    backtest_ : pandas.DataFrame or None
        One row per held-out step: ``step, snapshot, model_mae, no_change_mae, model_max, no_change_max``
        (absolute errors on the shares, averaged over or maximal across stages).
    backtest_projection_, backtest_no_change_, backtest_observed_ : pandas.DataFrame
        The shares behind :attr:`backtest_`.
    backtest_cut_ : pandas.Timestamp
        Last snapshot of the back-test's fit.
    """

    def __init__(
        self,
        periods: int = 6,
        backtest_periods: int = 2,
        burn_in: int | None = None,
        horizon_days: float | None = None,
        lookback_days: float = 0.0,
        entry_window: int | None = None,
        population: str = "open",
    ):
        if periods < 1:
            raise ConfigError("periods must be at least 1.")
        if backtest_periods < 0:
            raise ConfigError("backtest_periods cannot be negative.")
        if burn_in is not None and (not isinstance(burn_in, int | np.integer) or burn_in < 0):
            raise ConfigError(f"burn_in must be a whole number of periods (0 or more), not {burn_in!r}.")
        if burn_in is None and horizon_days is None:
            raise ConfigError(
                "Pass burn_in (periods left out at the start of the window) or horizon_days "
                "(the separation horizon, from which the default burn-in is derived)."
            )
        if entry_window is not None and entry_window < 1:
            raise ConfigError("entry_window must be a positive number of periods.")
        if population not in ("open", "closed"):
            raise ConfigError("population must be 'open' or 'closed'.")
        self.periods, self.backtest_periods = periods, backtest_periods
        self.burn_in, self.horizon_days, self.lookback_days = burn_in, horizon_days, lookback_days
        self.entry_window, self.population = entry_window, population

    # ------------------------------------------------------------------ fit
    def fit(self, transitions) -> MarkovProjection:
        """Fit on a :class:`~custrel_lib.journeys.Transitions` (never raises for a short history: see
        :attr:`status_` and :attr:`notes_`)."""
        counts, snaps = transitions.counts_, list(transitions.snapshots_)
        self.cadence_ = transitions.cadence
        self.snapshots_ = snaps
        self.stages_ = typology.stage_order()
        sc = transitions.stage_counts_
        obs = sc.pivot_table(index="snapshot", columns="stage", values="count", aggfunc="sum")
        self.observed_counts_ = obs.reindex(index=snaps, columns=self.stages_).fillna(0.0)
        self.observed_ = pd.DataFrame(
            shares(self.observed_counts_.to_numpy()), index=snaps, columns=self.stages_
        )
        for frame in (self.observed_counts_, self.observed_):
            frame.index.name, frame.columns.name = "snapshot", "stage"
        b = (
            int(self.burn_in)
            if self.burn_in is not None
            else default_burn_in(self.cadence_, self.horizon_days, self.lookback_days)
        )
        self.burn_in_ = b
        self.burn_in_snapshots_ = snaps[: min(b, len(snaps))]
        pairs = list(itertools.pairwise(snaps))[b:]
        self.fit_pairs_ = pairs
        self.notes_: list[tuple[str, dict]] = []
        self.backtest_ = None
        self.steady_state_ = None
        self.trapped_: list[str] = []
        self.unknown_: list[str] = []
        if len(pairs) < MIN_FIT_PAIRS:
            self.status_ = "too_short"
            self.notes_.append(
                ("too_short", {"have": len(snaps), "need": b + MIN_FIT_PAIRS + 1, "burn_in": b})
            )
            return self
        self.status_ = "ok"
        self.chain_ = fit_open_chain(counts, self.stages_, pairs, self.entry_window)
        fit_counts = counts[counts["from_snapshot"].isin({a for a, _ in pairs})]
        self.matrix_ = stage_matrix(fit_counts, self.stages_)
        last = snaps[-1]
        dates = [last, *next_period_ends(last, self.cadence_, self.periods)]
        n0 = self.observed_counts_.loc[last].to_numpy(dtype=float)
        proj = project_counts(n0, self.chain_.matrix, self.chain_.entries, self.periods)
        self.forecast_counts_ = pd.DataFrame(proj, index=dates, columns=self.stages_)
        open_mix = pd.DataFrame(shares(proj), index=dates, columns=self.stages_)
        closed = project(self.observed_.loc[last].to_numpy(dtype=float), self.matrix_, self.periods)
        self.closed_forecast_ = pd.DataFrame(closed, index=dates, columns=self.stages_)
        self.forecast_ = open_mix if self.population == "open" else self.closed_forecast_
        for frame in (self.forecast_counts_, open_mix, self.closed_forecast_):
            frame.index.name, frame.columns.name = "snapshot", "stage"
        reached = reached_stages(self.chain_.matrix, self.chain_.entries)
        self.unknown_ = [s for i, s in enumerate(self.stages_) if reached[i] and s in self.chain_.unobserved]
        n_star, trapped = open_steady_state(self.chain_.matrix, self.chain_.entries)
        self.trapped_ = [self.stages_[i] for i in trapped]
        if n_star is not None:
            self.steady_state_ = pd.Series(n_star, index=self.stages_, name="steady_state")
        self.long_run_mix_ = pd.Series(
            long_run_mix(self.chain_.matrix, self.chain_.entries), index=self.stages_, name="long_run_mix"
        )
        self.closed_steady_state_ = pd.Series(
            steady_state(self.matrix_), index=self.stages_, name="closed_steady_state"
        )
        self._backtest(counts)
        return self

    def _backtest(self, counts: pd.DataFrame) -> None:
        k, pairs = self.backtest_periods, self.fit_pairs_
        if not k:
            self.notes_.append(("backtest_off", {}))
            return
        train = pairs[:-k] if k < len(pairs) else []
        if len(train) < MIN_BACKTEST_FIT_PAIRS:
            need = self.burn_in_ + MIN_BACKTEST_FIT_PAIRS + k + 1
            self.notes_.append(
                (
                    "backtest_too_short",
                    {"have": len(self.snapshots_), "need": need, "burn_in": self.burn_in_, "k": k},
                )
            )
            return
        cut = train[-1][1]
        held = [b for _, b in pairs[-k:]]
        self.backtest_cut_ = cut
        n_cut = self.observed_counts_.loc[cut].to_numpy(dtype=float)
        mix_cut = self.observed_.loc[cut].to_numpy(dtype=float)
        if self.population == "open":
            chain = fit_open_chain(counts, self.stages_, train, self.entry_window)
            proj = shares(project_counts(n_cut, chain.matrix, chain.entries, k))[1:]
        else:
            fit_counts = counts[counts["from_snapshot"].isin({a for a, _ in train})]
            proj = project(mix_cut, stage_matrix(fit_counts, self.stages_), k)[1:]
        same = np.tile(mix_cut, (k, 1))
        obs = self.observed_.loc[held].to_numpy(dtype=float)
        err_model, err_same = np.abs(proj - obs), np.abs(same - obs)
        self.backtest_ = pd.DataFrame(
            {
                "step": np.arange(1, k + 1),
                "snapshot": held,
                "model_mae": err_model.mean(axis=1),
                "no_change_mae": err_same.mean(axis=1),
                "model_max": err_model.max(axis=1),
                "no_change_max": err_same.max(axis=1),
            }
        )
        self.backtest_projection_ = pd.DataFrame(proj, index=held, columns=self.stages_)
        self.backtest_no_change_ = pd.DataFrame(same, index=held, columns=self.stages_)
        self.backtest_observed_ = pd.DataFrame(obs, index=held, columns=self.stages_)

    # ------------------------------------------------------------ reporting
    @property
    def backtest_verdict(self) -> str | None:
        """``"better"``, ``"worse"`` or ``"tie"``: the model's mean error against no change's (``None``:
        no back-test). A tie is a difference under :data:`TIE_POINTS`."""
        if self.backtest_ is None:
            return None
        diff = self.backtest_["model_mae"].mean() - self.backtest_["no_change_mae"].mean()
        if abs(diff) < TIE_POINTS:
            return "tie"
        return "better" if diff < 0 else "worse"

    @property
    def summary(self) -> pd.DataFrame:
        """Per stage: share now, projected share, customers now and projected, steady counts and long-run share."""
        if self.status_ != "ok":
            return pd.DataFrame()
        first, last = self.forecast_.index[0], self.forecast_.index[-1]
        out = pd.DataFrame(
            {
                "share_now": self.forecast_.loc[first],
                "share_projected": self.forecast_.loc[last],
                "customers_now": self.forecast_counts_.loc[first],
                "customers_projected": self.forecast_counts_.loc[last],
                "entries_per_period": self.chain_.entries,
                "exit_rate": self.chain_.exit_rate,
                "steady_customers": self.steady_state_ if self.steady_state_ is not None else np.nan,
                "long_run_share": self.long_run_mix_,
            }
        )
        out.index.name = "stage"
        return out

    def _repr_html_(self) -> str:
        if self.status_ != "ok":
            return "<p>MarkovProjection: too few periods after the burn-in to fit.</p>"
        return self.summary.to_html(float_format=lambda x: f"{x:,.3f}")
