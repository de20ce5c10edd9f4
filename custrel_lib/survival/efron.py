"""Efron's partial likelihood of a Cox model with delayed entry, its gradient and Hessian, vectorised.

lifelines fits a Cox model with an entry column through ``CoxTimeVaryingFitter._get_gradients``, a Python
loop over the distinct event times that selects the risk set ``{i : entry_i < t <= stop_i}`` at each one: on
a few thousand relationships with a thousand distinct times, most of the time of a cross-validated fit.
:func:`efron_with_entry` computes the same sums at every event time at once, from cumulative sums over the
rows sorted by stop and by entry: since every row has ``entry < stop``, the rows with ``entry >= t`` are among
those with ``stop >= t``, so the risk set's sum is ``sum(stop >= t) - sum(entry >= t)``. The per-row
products ``x x'`` are summed a block of rows at a time, so memory stays bounded for a wide design. Where the
difference would lose precision (rows entering later outweigh a risk set by a million times), the step is
computed by lifelines' loop instead. Ties are Efron's, as in lifelines (Efron 1977, JASA 72:557-565; Therneau &
Grambsch 2000, section 3.3). ``tests/test_efron.py`` checks the result against lifelines' loop on data with ties,
weights and entries, and the fallback; ``tests/test_survival.py``, the stratified fits against lifelines' own.
"""

from __future__ import annotations

import numpy as np
from lifelines import CoxTimeVaryingFitter

# Rows per block of the per-row outer products x x' (n x d x d would not fit for a wide design on a large sample):
# about 4M values, 32 MB, per block.
BLOCK_VALUES = 1 << 22
# Above this ratio of the sums subtracted to the risk set's own, the difference could lose more than about 1e-9 of
# its value (float64 rounding, 2.2e-16 per addition): the exact loop is used instead.
CANCELLATION_LIMIT = 1e6


def _grouped_sums(rows: np.ndarray, group: np.ndarray, n_groups: int, make, shape: tuple) -> np.ndarray:
    """Sum of ``make(rows)`` per group, ``group`` non-decreasing along ``rows``, a block of rows at a time."""
    out = np.zeros((n_groups, *shape))
    block = max(1, BLOCK_VALUES // max(1, int(np.prod(shape))))
    for s in range(0, len(rows), block):
        ids = group[s : s + block]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        out[ids[starts]] += np.add.reduceat(make(rows[s : s + block]), starts, axis=0)
    return out


def _suffix_plan(keys: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows sorted by ``keys`` and, for each, its segment: the rows of segment ``k`` have a key at least
    ``times[k - 1]`` and below ``times[k]`` (``times`` sorted), so time ``j`` sums the segments after ``j``."""
    order = np.argsort(keys, kind="stable")
    first = np.searchsorted(keys[order], times, side="left")  # sorted rows first[j].. have key >= times[j]
    return order, np.searchsorted(first, np.arange(len(keys)), side="right")


def _sum_from(plan: tuple[np.ndarray, np.ndarray], n_times: int, make, shape: tuple) -> np.ndarray:
    """For each time of ``plan`` (:func:`_suffix_plan`), the sum of ``make(rows)`` over the rows whose key is
    at least that time."""
    order, segment = plan
    sums = _grouped_sums(order, segment, n_times + 1, make, shape)
    return np.cumsum(sums[::-1], axis=0)[::-1][1:]


def _imprecise(after: np.ndarray, entering: np.ndarray) -> bool:
    """Whether ``after - entering`` (sums over rows by stop and by entry) could have lost its precision."""
    inside = after - entering
    return bool(np.any(inside <= 0) or np.max((after + entering) / inside) > CANCELLATION_LIMIT)


def efron_with_entry(
    X: np.ndarray,
    events: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    weights: np.ndarray,
    beta: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Hessian ``(d, d)``, gradient ``(d,)`` and log partial likelihood at ``beta``: what
    ``lifelines.CoxTimeVaryingFitter._get_gradients(X, events, start, stop, weights, beta)`` returns."""
    X = np.asarray(X, dtype=float)
    events = np.asarray(events).astype(bool)
    start, stop = np.asarray(start, dtype=float), np.asarray(stop, dtype=float)
    weights = np.asarray(weights, dtype=float)
    d = X.shape[1]
    times = np.unique(stop[events])
    if len(times) == 0:
        return np.zeros((d, d)), np.zeros(d), 0.0
    phi = weights * np.exp(X @ beta)
    m = len(times)
    by_stop, by_entry = _suffix_plan(stop, times), _suffix_plan(start, times)

    def risk_set(make, shape: tuple) -> np.ndarray:  # sums over {entry < t <= stop} at each event time t
        return _sum_from(by_stop, m, make, shape) - _sum_from(by_entry, m, make, shape)

    # The difference loses precision when rows that enter after t outweigh the risk set by far (a row with a
    # huge exp(x beta) during a Newton step): then lifelines' loop, exact, computes this step.
    size = phi * (1.0 + np.einsum("ij,ij->i", X, X))
    after, entering = (_sum_from(plan, m, lambda r: size[r], ()) for plan in (by_stop, by_entry))
    if _imprecise(after, entering):
        return CoxTimeVaryingFitter._get_gradients(X, events, start, stop, weights, beta)
    phi_x = phi[:, None] * X
    pieces = (  # what is summed: phi, phi x and phi x x' of the given rows
        (lambda r: phi[r], ()),
        (lambda r: phi_x[r], (d,)),
        (lambda r: phi_x[r][:, :, None] * X[r][:, None, :], (d, d)),
    )
    r_phi, r_phi_x, r_phi_xx = (risk_set(make, shape) for make, shape in pieces)

    # The tied events at each time, one row per event, in the order of their times.
    dead = np.flatnonzero(events)
    group = np.searchsorted(times, stop[dead])
    dead, group = dead[np.argsort(group, kind="stable")], np.sort(group, kind="stable")
    count = np.bincount(group, minlength=m)
    t_phi, t_phi_x, t_phi_xx = (_grouped_sums(dead, group, m, make, shape) for make, shape in pieces)
    x_dead = _grouped_sums(dead, group, m, lambda r: weights[r, None] * X[r], (d,))
    w_avg = np.bincount(group, weights=weights[dead], minlength=m) / count

    # Efron: the k-th of c tied events (k = 0 .. c-1) sees the risk set less k/c of the tied events' sum.
    first = np.cumsum(count) - count
    share = (np.arange(len(dead)) - first[group]) / count[group]
    denom = 1.0 / (r_phi[group] - share * t_phi[group])
    summand = (r_phi_x[group] - share[:, None] * t_phi_x[group]) * denom[:, None]
    w = w_avg[group]

    gradient = x_dead.sum(0) - (w[:, None] * summand).sum(0)
    log_lik = float(x_dead.sum(0) @ beta + (w * np.log(denom)).sum())
    a2 = np.einsum("r,ra,rb->ab", w, summand, summand)
    c_risk = np.bincount(group, weights=w * denom, minlength=m)
    c_tie = np.bincount(group, weights=w * share * denom, minlength=m)
    a1 = np.einsum("j,jab->ab", c_risk, r_phi_xx) - np.einsum("j,jab->ab", c_tie, t_phi_xx)
    return a2 - a1, gradient, log_lik
