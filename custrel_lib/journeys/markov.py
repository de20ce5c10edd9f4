"""Markov projection of the stage mix from an estimated transition matrix.

The population is closed: entries are left out and exits are renormalised away (each row of the matrix is
the distribution of where the customers of a stage are one period later, among those still observed). The
projected mix is then ``mix_n = mix_0 @ P^n`` and the steady state is the left eigenvector of ``P`` for the
eigenvalue 1, normalised to sum to one. A back-test fits ``P`` on all but the last ``h`` periods, projects
the mix ``h`` periods from there and compares it with what was observed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custrel_lib import typology
from custrel_lib.exceptions import AnalysisError, ConfigError
from custrel_lib.journeys._base import ENTRY, EXIT, next_period_ends


def stage_matrix(counts: pd.DataFrame, stages: list[str] | None = None) -> pd.DataFrame:
    """Row-stochastic matrix over ``stages`` from transition counts (``from_stage, to_stage, count``).

    A stage never left in the data keeps its customers (an identity row), so every row sums to one.
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


def project(mix0: np.ndarray | pd.Series, matrix: pd.DataFrame | np.ndarray, periods: int) -> np.ndarray:
    """The mix after 1..``periods`` steps: an array of shape (periods + 1, n), row 0 being ``mix0``."""
    p = np.asarray(matrix, dtype=float)
    out = [np.asarray(mix0, dtype=float)]
    for _ in range(periods):
        out.append(out[-1] @ p)
    return np.vstack(out)


def steady_state(matrix: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Stationary distribution: the left eigenvector of ``P`` for eigenvalue 1, summing to one.

    With absorbing stages (séparé(e) keeps most of its customers) it is where the mix drifts in the long run.
    """
    p = np.asarray(matrix, dtype=float)
    values, vectors = np.linalg.eig(p.T)
    i = int(np.argmin(np.abs(values - 1.0)))
    v = np.real(vectors[:, i])
    v = np.abs(v) if (v <= 1e-12).all() else v
    v = np.clip(v, 0, None)
    return v / v.sum()


class MarkovProjection:
    """Project the stage mix ``periods`` periods ahead from a fitted :class:`Transitions`.

    Parameters
    ----------
    periods : int
        Periods projected after the last snapshot.
    backtest_periods : int
        Periods held out for the back-test (0: none). Needs at least ``backtest_periods + 2`` snapshots.
    """

    def __init__(self, periods: int = 6, backtest_periods: int = 2):
        if periods < 1:
            raise ConfigError("periods must be at least 1.")
        if backtest_periods < 0:
            raise ConfigError("backtest_periods cannot be negative.")
        self.periods, self.backtest_periods = periods, backtest_periods

    def fit(self, transitions) -> MarkovProjection:
        counts, snaps, mix = transitions.counts_, transitions.snapshots_, transitions.mix_
        self.stages_ = [s for s in typology.stage_order() if s in mix.columns]
        self.matrix_ = stage_matrix(counts, self.stages_)
        last = snaps[-1]
        mix0 = mix.loc[last, self.stages_].to_numpy(dtype=float)
        dates = [last, *next_period_ends(last, transitions.cadence, self.periods)]
        self.forecast_ = pd.DataFrame(
            project(mix0, self.matrix_, self.periods), index=dates, columns=self.stages_
        )
        self.forecast_.index.name = "snapshot"
        self.steady_state_ = pd.Series(steady_state(self.matrix_), index=self.stages_, name="steady_state")
        self.observed_ = mix[self.stages_]
        self.backtest_ = None
        h = self.backtest_periods
        if h and len(snaps) >= h + 2:
            cut = snaps[-1 - h]
            train = counts[counts["to_snapshot"] <= cut]
            p = stage_matrix(train, self.stages_)
            proj = project(mix.loc[cut, self.stages_].to_numpy(dtype=float), p, h)[1:]
            obs = mix.loc[snaps[-h:], self.stages_].to_numpy(dtype=float)
            err = np.abs(proj - obs)
            self.backtest_ = pd.DataFrame(
                {
                    "snapshot": snaps[-h:],
                    "mean_abs_error": err.mean(axis=1),
                    "max_abs_error": err.max(axis=1),
                }
            )
            self.backtest_projection_ = pd.DataFrame(proj, index=snaps[-h:], columns=self.stages_)
        elif h:
            raise AnalysisError(
                f"A back-test over {h} periods needs at least {h + 2} snapshots, got {len(snaps)}."
            )
        return self

    @property
    def summary(self) -> pd.DataFrame:
        last = self.forecast_.index[0]
        return pd.DataFrame(
            {
                "now": self.forecast_.loc[last],
                "projected": self.forecast_.iloc[-1],
                "steady_state": self.steady_state_,
            }
        )

    def _repr_html_(self) -> str:
        return self.summary.to_html(float_format=lambda x: f"{x:.1%}")
