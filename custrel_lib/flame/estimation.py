"""What the maximum-likelihood fits of :mod:`custrel_lib.flame` share: compressed data, L-BFGS-B on
log-parameters, standard errors from the Hessian, and the estimator base class (``summary``, reprs)."""

from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from custrel_lib.exceptions import AnalysisError, NotFittedError


def _compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns and their counts: the likelihood sums over distinct inputs only."""
    stacked = np.column_stack(columns)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype("float64")


def _hessian(grad, theta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Central differences of the analytic gradient; symmetrised."""
    k = len(theta)
    h = np.zeros((k, k))
    for i in range(k):
        step = np.zeros(k)
        step[i] = eps
        h[:, i] = (grad(theta + step) - grad(theta - step)) / (2 * eps)
    return (h + h.T) / 2


def _summary_table(names: Sequence[str], values: np.ndarray, cov_log: np.ndarray | None) -> pd.DataFrame:
    """Estimates with standard errors (delta method from the log-parameters) and 95 % Wald intervals on
    the log scale (so that they stay positive)."""
    if cov_log is None:
        se_log = np.full(len(values), np.nan)
    else:
        se_log = np.sqrt(np.clip(np.diag(cov_log), 0, None))
    return pd.DataFrame(
        {
            "coef": values,
            "se(coef)": values * se_log,
            "lower 95%": values * np.exp(-1.959964 * se_log),
            "upper 95%": values * np.exp(1.959964 * se_log),
        },
        index=pd.Index(list(names), name="param"),
    )


def _fit_log(neg_ll, neg_grad, x0: np.ndarray, maxiter: int = 1000):
    res = optimize.minimize(
        neg_ll,
        x0,
        jac=neg_grad,
        method="L-BFGS-B",
        bounds=[(-15.0, 15.0)] * len(x0),
        options={"maxiter": maxiter, "ftol": 1e-14, "gtol": 1e-9},
    )
    if not np.isfinite(res.fun):
        raise AnalysisError(f"The likelihood could not be maximised ({res.message}).", code="no_maximum")
    try:
        cov = np.linalg.inv(_hessian(neg_grad, res.x))
        if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
            cov = None
    except np.linalg.LinAlgError:
        cov = None
    return res, cov


class _Estimator:
    """Base of the fitted models: ``params_`` after :meth:`fit`; results before it raise :class:`NotFittedError`."""

    _names: tuple[str, ...] = ()
    _label = ""

    params_: pd.Series

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} ({self._label})", "fit(summary)")

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors (inverse Hessian of the log-likelihood at the optimum) and 95 % intervals."""
        self._check_fitted()
        return self.summary_

    def __repr__(self) -> str:
        if not hasattr(self, "params_"):
            return f"<{type(self).__name__}: not fitted>"
        p = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{type(self).__name__}: fitted on {self.n_:,} customers, {p}>"

    def _repr_html_(self) -> str:
        if not hasattr(self, "params_"):
            return f"<p>{html.escape(type(self).__name__)}: not fitted</p>"
        head = (
            f"<p><b>{html.escape(self._label)}</b> — {self.n_:,} customers, log-likelihood "
            f"{self.log_likelihood_:,.3f}, converged: {self.converged_}</p>"
        )
        return head + self.summary_.to_html(float_format=lambda v: f"{v:.4f}")
