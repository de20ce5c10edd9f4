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

The chain itself (estimation, projection, steady state) is in :mod:`custrel_lib.journeys.chain`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from custrel_lib.exceptions import ConfigError, NotFittedError
from custrel_lib.journeys._base import next_period_ends
from custrel_lib.journeys.chain import (
    default_burn_in,
    fit_open_chain,
    long_run_mix,
    open_steady_state,
    project,
    project_counts,
    reached_stages,
    shares,
    stage_matrix,
    steady_state,
)
from custrel_lib.stages import typology

MIN_FIT_PAIRS = 1
"""Post-burn-in pairs of snapshots needed to fit the model (projection)."""
MIN_BACKTEST_FIT_PAIRS = 2
"""Post-burn-in pairs of snapshots needed before the held-out periods of a back-test."""
TIE_POINTS = 0.001
"""Mean errors closer than this (0.1 share point) are called a tie between the model and no change."""


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
        if not hasattr(transitions, "counts_"):
            raise NotFittedError("Transitions", "fit(history)")
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
    def _check_fitted(self) -> None:
        if not hasattr(self, "status_"):
            raise NotFittedError("MarkovProjection", "fit(transitions)")

    @property
    def backtest_verdict(self) -> str | None:
        """``"better"``, ``"worse"`` or ``"tie"``: the model's mean error against no change's (``None``:
        no back-test). A tie is a difference under :data:`TIE_POINTS`."""
        self._check_fitted()
        if self.backtest_ is None:
            return None
        diff = self.backtest_["model_mae"].mean() - self.backtest_["no_change_mae"].mean()
        if abs(diff) < TIE_POINTS:
            return "tie"
        return "better" if diff < 0 else "worse"

    @property
    def summary(self) -> pd.DataFrame:
        """Per stage: share now, projected share, customers now and projected, steady counts and long-run share."""
        self._check_fitted()
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
        if not hasattr(self, "status_"):
            return "<p>MarkovProjection: not fitted.</p>"
        if self.status_ != "ok":
            return "<p>MarkovProjection: too few periods after the burn-in to fit.</p>"
        return self.summary.to_html(float_format=lambda x: f"{x:,.3f}")
