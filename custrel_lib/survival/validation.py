"""Out-of-sample checks of the survival models: K-fold concordance and integrated Brier score (IPCW)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.exceptions import StatError
from lifelines.utils import concordance_index
from sklearn.model_selection import KFold

from custrel_lib.exceptions import AnalysisError


def cross_validate(model, data: pd.DataFrame, times: Sequence[float] | None = None) -> pd.DataFrame:
    """K-fold concordance and integrated Brier score (IPCW) of a fitted Cox or AFT wrapper.

    Each fold refits a clone of the model on its training part, so the AFT family is chosen by AIC inside
    the fold, not on the whole data.
    """
    duration_col, event_col, _ = model.columns_
    folds = KFold(n_splits=model.cv_folds, shuffle=True, random_state=model.random_state)
    t = data[duration_col].to_numpy(dtype=float)
    e = data[event_col].to_numpy(dtype=int)
    grid = np.asarray(times) if times is not None else np.quantile(t[e == 1], np.linspace(0.1, 0.8, 15))
    rows = []
    for k, (tr, te) in enumerate(folds.split(data)):
        train, test = data.iloc[tr], data.iloc[te]
        try:
            fitted = model.clone().fit(train, *model.columns_)
            risk = fitted.risk_score(test)
            surv = fitted.survival_function(test, grid).to_numpy().T
        except (AnalysisError, StatError):  # too few events in the fold, or a stratum it has not seen
            continue
        c = concordance_index(test[duration_col], -risk, test[event_col])
        ibs = integrated_brier_score(
            train[duration_col], train[event_col], test[duration_col], test[event_col], surv, grid
        )
        rows.append({"fold": k + 1, "concordance": c, "integrated_brier": ibs})
    return pd.DataFrame(rows, columns=["fold", "concordance", "integrated_brier"])


def integrated_brier_score(train_t, train_e, test_t, test_e, surv: np.ndarray, times: np.ndarray) -> float:
    """Integrated Brier score with inverse probability of censoring weights (Graf et al., 1999).

    ``surv[i, j]`` is the predicted survival of test subject ``i`` at ``times[j]``. ``G`` is the Kaplan-Meier
    estimate of the censoring distribution of the training data. An event at ``t_i <= s`` is weighted by
    ``1 / G(t_i-)`` (the censoring survival just before the event: a censoring at the same time happens
    after it), a subject still there at ``s`` by ``1 / G(s)``.
    """
    kmc = KaplanMeierFitter().fit(np.asarray(train_t), 1 - np.asarray(train_e))
    t, e = np.asarray(test_t, dtype=float), np.asarray(test_e, dtype=int)

    def g(u):
        u = np.asarray(u, dtype=float)
        values = kmc.survival_function_at_times(np.maximum(u, 0.0)).to_numpy()
        return np.clip(np.where(u < 0, 1.0, values), 1e-8, None)

    # G(t-) is 1 at (and before) the first time; lifelines has no value at a negative time.
    g_t_minus = np.where(t > 0, g(np.nextafter(np.maximum(t, 0.0), -np.inf)), 1.0)
    scores = []
    for j, s in enumerate(times):
        died = (t <= s) & (e == 1)
        alive = t > s
        gs = g(np.array([s]))[0]
        bs = np.where(died, surv[:, j] ** 2 / g_t_minus, 0.0) + np.where(
            alive, (1 - surv[:, j]) ** 2 / gs, 0.0
        )
        scores.append(bs.mean())
    scores = np.asarray(scores)
    if len(times) == 1:
        return float(scores[0])
    return float(np.trapezoid(scores, times) / (times[-1] - times[0]))
