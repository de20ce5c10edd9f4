"""Kaplan-Meier by group, the log-rank test with delayed entry, and cohort retention.

Left truncation (delayed entry) is honoured everywhere: an episode is in the risk set from ``entry`` to
``duration``. lifelines' log-rank functions have no delayed-entry version, so :func:`logrank_test` computes
the test from the risk sets itself (it equals lifelines' result when every entry is 0, which a test checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from scipy import stats

from custrel_lib.exceptions import AnalysisError, ConfigError, InsufficientDataError, NotFittedError


def check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise a :class:`ConfigError` naming the columns of a duration table that are missing."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ConfigError(
            f"Duration table: missing column(s) {', '.join(missing)}; found {', '.join(df.columns)}."
        )


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def logrank_test(
    duration: Sequence[float], event: Sequence[int], group: Sequence, entry: Sequence[float] | None = None
) -> tuple[float, float, int]:
    """Multivariate log-rank test with delayed entry: ``(statistic, p_value, degrees_of_freedom)``.

    At each distinct event time ``t`` the risk set of group ``j`` holds the episodes with
    ``entry < t <= duration``; observed minus expected events and their hypergeometric covariance are summed
    over event times (Klein & Moeschberger, *Survival Analysis*, 2nd ed., section 7.3).
    """
    t = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=int)
    g = pd.Series(np.asarray(group)).astype(str).to_numpy()
    en = np.zeros_like(t) if entry is None else np.asarray(entry, dtype=float)
    # Entry 0 means "at risk from the origin", including at t = 0 (a relationship that ends the day it begins).
    en = np.where(en <= 0, -np.inf, en)
    levels = np.unique(g)
    k = len(levels)
    if k < 2:
        raise AnalysisError("The log-rank test needs at least two groups.")
    codes = np.searchsorted(levels, g)
    times = np.unique(t[e == 1])
    # Risk-set sizes by group at each event time: entered before t and still there at t.
    v = np.zeros((k, k))
    n_by = np.zeros((len(times), k))
    d_by = np.zeros((len(times), k))
    for j in range(k):
        tj, ej, enj = t[codes == j], e[codes == j], en[codes == j]
        st, sen = np.sort(tj), np.sort(enj)
        n_by[:, j] = np.searchsorted(sen, times, side="left") - np.searchsorted(st, times, side="left")
        dj = np.sort(tj[ej == 1])
        d_by[:, j] = np.searchsorted(dj, times, side="right") - np.searchsorted(dj, times, side="left")
    n = n_by.sum(axis=1)
    d = d_by.sum(axis=1)
    ok = n > 0
    n_by, d_by, n, d = n_by[ok], d_by[ok], n[ok], d[ok]
    expected = d[:, None] * n_by / n[:, None]
    o_minus_e = (d_by - expected).sum(axis=0)
    factor = np.where(n > 1, d * (n - d) / np.maximum(n - 1, 1) / n**2, 0.0)
    for a in range(k):
        for b in range(k):
            v[a, b] = (factor * n_by[:, a] * ((n if a == b else 0) - n_by[:, b])).sum()
    u, vv = o_minus_e[:-1], v[:-1, :-1]
    statistic = float(u @ np.linalg.pinv(vv) @ u)
    return statistic, float(stats.chi2.sf(statistic, k - 1)), k - 1


class KaplanMeier:
    """Kaplan-Meier survival by group, with confidence bands, numbers at risk, medians and log-rank tests.

    Parameters
    ----------
    group : str, optional
        Column defining the groups (landmark stage, cohort, channel, ...); ``None`` is one curve.
    alpha : float
        1 - confidence level of the bands and the median's interval.
    min_size : int
        Groups with fewer episodes are left out (``dropped_groups_``: each one's number of episodes; a figure
        drawn from the fit says so, see :func:`custrel_lib.plots.survival.km_plot`).
    """

    def __init__(self, group: str | None = None, alpha: float = 0.05, min_size: int = 10):
        self.group, self.alpha, self.min_size = group, alpha, min_size

    def fit(
        self,
        df: pd.DataFrame,
        duration_col: str = "duration",
        event_col: str = "event",
        entry_col: str | None = "entry",
    ) -> KaplanMeier:
        entry_col = entry_col if entry_col and entry_col in df else None
        cols = [duration_col, event_col] + ([self.group] if self.group else [])
        check_columns(df, cols)
        data = df.dropna(subset=cols)
        groups = data.groupby(self.group, observed=True) if self.group else [("all", data)]
        self.fitters_: dict[str, KaplanMeierFitter] = {}
        self.dropped_groups_: dict[str, int] = {}
        curves, medians = [], []
        for name, part in groups:
            if len(part) < self.min_size:
                self.dropped_groups_[str(name)] = len(part)
                continue
            kmf = KaplanMeierFitter(alpha=self.alpha, label=str(name))
            entry = part[entry_col] if entry_col else None
            kmf.fit(part[duration_col], part[event_col], entry=entry)
            self.fitters_[str(name)] = kmf
            sf, ci = kmf.survival_function_, kmf.confidence_interval_survival_function_
            table = kmf.event_table
            curves.append(
                pd.DataFrame(
                    {
                        "group": str(name),
                        "time": sf.index.to_numpy(),
                        "survival": sf.iloc[:, 0].to_numpy(),
                        "lower": ci.iloc[:, 0].to_numpy(),
                        "upper": ci.iloc[:, 1].to_numpy(),
                        "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
                    }
                )
            )
            lo, hi = _median_ci(kmf)
            medians.append(
                {
                    "group": str(name),
                    "episodes": len(part),
                    "events": int(part[event_col].sum()),
                    "median": kmf.median_survival_time_,
                    "median_lower": lo,
                    "median_upper": hi,
                }
            )
        if not self.fitters_:
            largest = (
                int(data.groupby(self.group, observed=True).size().max())
                if self.group and len(data)
                else len(data)
            )
            raise InsufficientDataError("episodes_per_group", largest, self.min_size)
        self.survival_ = pd.concat(curves, ignore_index=True)
        self.medians_ = pd.DataFrame(medians)
        self.logrank_ = self.pairwise_ = None
        if self.group and len(self.fitters_) > 1:
            kept = data[data[self.group].astype(str).isin(self.fitters_)]
            entry = kept[entry_col] if entry_col else None
            stat, p, dof = logrank_test(kept[duration_col], kept[event_col], kept[self.group], entry)
            self.logrank_ = pd.DataFrame(
                [{"test": "log-rank", "groups": dof + 1, "statistic": stat, "p_value": p}]
            )
            rows = []
            for a, b in combinations(sorted(self.fitters_), 2):
                pair = kept[kept[self.group].astype(str).isin([a, b])]
                s, pv, _ = logrank_test(
                    pair[duration_col],
                    pair[event_col],
                    pair[self.group],
                    pair[entry_col] if entry_col else None,
                )
                rows.append({"group_a": a, "group_b": b, "statistic": s, "p_value": pv})
            pw = pd.DataFrame(rows)
            pw["p_holm"] = holm(pw["p_value"].to_numpy())
            self.pairwise_ = pw
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "medians_"):
            raise NotFittedError("KaplanMeier", "fit(df, duration_col, event_col, entry_col)")

    def survival_at(self, t: float) -> pd.Series:
        """Survival probability of each group at time ``t``."""
        self._check_fitted()
        return pd.Series(
            {g: float(k.survival_function_at_times(t).iloc[0]) for g, k in self.fitters_.items()}
        )

    @property
    def summary(self) -> pd.DataFrame:
        self._check_fitted()
        return self.medians_

    def _repr_html_(self) -> str:
        if not hasattr(self, "medians_"):
            return "<p>KaplanMeier: not fitted.</p>"
        return self.medians_.to_html(index=False, float_format=lambda v: f"{v:,.1f}", escape=True)


def _median_ci(kmf: KaplanMeierFitter) -> tuple[float, float]:
    from lifelines.utils import median_survival_times

    try:
        ci = median_survival_times(kmf.confidence_interval_survival_function_)
        return float(ci.iloc[0, 0]), float(ci.iloc[0, 1])
    except Exception:  # pragma: no cover - lifelines cannot always bound it
        return np.nan, np.nan


def cohort_retention(
    durations: pd.DataFrame,
    as_of=None,
    max_months: int = 24,
    first_episode_only: bool = True,
    definition: str | None = "auto",
) -> pd.DataFrame:
    """Share of each monthly acquisition cohort still in a relationship ``k`` months after its start.

    Uses dates (``start``, ``end``), so it works whatever the unit of ``duration``. A cell is shown only when
    every episode of the cohort month could have had its separation at ``start + k months`` recorded (the
    month's last day plus ``k`` months is on or before the censoring date of the table (``attrs["censor_date"]``, i.e. ``as_of - H``, for purchase-based
    separations; ``as_of`` for contracts)). Cells that cannot be observed yet are empty (NaN), instead of
    showing the artificial 100 % retention of relationships whose end cannot be seen yet. Episodes that
    entered late (left-truncated) are left out: their cohort is not fully observed. ``definition`` keeps one
    kind of relationship (``non_contractual``, ``contractual``; ``None``: all), so that a cohort is never a mix
    whose composition changes with its age; ``auto`` (default) keeps relationships without contract, or the
    contracts when there are none (a subscription business). The result's ``attrs`` say which
    (``definition``) and until when separations are seen (``observed_until``).
    """
    check_columns(durations, ["start", "end", "event", "definition"])
    d = durations[durations["episode"] == 1] if first_episode_only and "episode" in durations else durations
    d = d[d["entry"] == 0] if "entry" in d else d
    if definition == "auto":
        definition = "non_contractual" if (d["definition"] == "non_contractual").any() else "contractual"
    if definition is not None:
        d = d[d["definition"] == definition]
    if d.empty:
        raise InsufficientDataError("episodes", 0, 1)
    as_of = pd.Timestamp(as_of if as_of is not None else durations.attrs.get("as_of"))
    censor = pd.Timestamp(durations.attrs.get("censor_date", as_of))
    # Purchase-based episodes are observable up to the censoring date, contracts up to as_of.
    limit = pd.Series(np.where(d["definition"] == "contractual", as_of, censor), index=d.index)
    cohort = d["start"].dt.to_period("M")
    rows = {}
    for c, part in d.groupby(cohort):
        ages = []
        # The whole cohort month must be observable: its last day plus k months before the limit.
        last_day, cohort_limit = c.end_time.normalize(), limit.loc[part.index].min()
        for k in range(max_months + 1):
            moment = part["start"] + pd.DateOffset(months=k)
            if last_day + pd.DateOffset(months=k) > cohort_limit:
                ages.append(np.nan)
                continue
            alive = ~((part["event"] == 1) & (part["end"] < moment))
            ages.append(float(alive.mean()))
        rows[str(c)] = ages
    out = pd.DataFrame.from_dict(rows, orient="index", columns=range(max_months + 1))
    out.index.name = "cohort"
    out.columns.name = "months"
    out.attrs.update(definition=definition, observed_until=as_of if definition == "contractual" else censor)
    return out
