"""Efron's partial likelihood with delayed entry, vectorised (custrel_lib/survival/efron.py), against lifelines'
loop over the event times (``CoxTimeVaryingFitter._get_gradients``), the truth it must reproduce."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize(("seed", "block"), [(0, None), (1, None), (2, 7)])
def test_vectorised_efron_with_entry_is_lifelines_loop(seed, block, monkeypatch):
    """Efron's log partial likelihood, gradient and Hessian with delayed entry, ties and weights: the
    vectorised sums equal lifelines' loop over the event times (to rounding), also summed in small blocks of
    rows (a time's rows then span blocks), and the entries matter (the same rows without them give another
    likelihood, so a version that ignored entry would fail)."""
    from lifelines import CoxTimeVaryingFitter

    from custrel_lib.survival import efron
    from custrel_lib.survival.efron import efron_with_entry

    if block:
        monkeypatch.setattr(efron, "BLOCK_VALUES", block)

    rng = np.random.default_rng(seed)
    n, d = 800, 4
    X = rng.normal(size=(n, d))
    stop = np.round(rng.exponential(30, n)) + 1  # whole days: many ties
    start = stop * rng.uniform(0, 0.95, n) * (rng.uniform(size=n) < 0.6)
    events = rng.uniform(size=n) < 0.5
    weights = rng.uniform(0.5, 2.0, n)
    beta = rng.normal(size=d) * 0.3
    theirs = CoxTimeVaryingFitter._get_gradients(X, events, start, stop, weights, beta)
    ours = efron_with_entry(X, events, start, stop, weights, beta)
    assert len(np.unique(stop[events])) < events.sum() / 2  # ties present
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)
    no_entry = efron_with_entry(X, events, np.full(n, -1.0), stop, weights, beta)
    assert abs(no_entry[2] - theirs[2]) > 1.0
    empty = efron_with_entry(X, np.zeros(n, bool), start, stop, weights, beta)
    assert empty[2] == 0.0 and not empty[1].any()


def test_vectorised_efron_falls_back_to_the_exact_loop_when_the_difference_would_lose_precision(monkeypatch):
    """A row entering after most event times with exp(x beta) ~ 1.6e15 (as a Newton step can propose) outweighs
    every risk set it is subtracted from: the difference of sums would be wrong (the Hessian's sign flips), so
    the step is computed by lifelines' exact loop."""
    from lifelines import CoxTimeVaryingFitter

    from custrel_lib.survival import efron

    rng = np.random.default_rng(0)
    n = 200
    X = (rng.normal(size=n) * 0.1)[:, None]
    start, stop, events = np.zeros(n), np.round(rng.uniform(1, 100, n)), np.ones(n, bool)
    X[0, 0], start[0], stop[0], events[0] = 35.0, 99.5, 100.0, False
    args = (X, events, start, stop, np.ones(n), np.array([1.0]))
    exact = CoxTimeVaryingFitter._get_gradients(*args)
    for a, b in zip(efron.efron_with_entry(*args), exact, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    monkeypatch.setattr(efron, "_imprecise", lambda after, entering: False)  # without the fallback: wrong
    hessian = efron.efron_with_entry(*args)[0]
    assert not np.allclose(hessian, exact[0], rtol=1e-3)
