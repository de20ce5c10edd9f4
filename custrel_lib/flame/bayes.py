"""BG/NBD through pymc-marketing (the optional ``[bayes]`` extra): the posterior of the parameters, for their
uncertainty, with flat priors so that it sits on the likelihood of :class:`~custrel_lib.flame.bgnbd.BetaGeoModel`.

``pip install custrel[bayes]`` installs pymc-marketing (and PyMC, PyTensor, ArviZ); without it,
:func:`fit_bgnbd_bayes` says so. The maximum-likelihood fit stays the default everywhere: this one samples
(NUTS), which takes minutes where the other takes a second, and is meant for a question about uncertainty, such as
"how sure are we of this customer's P(alive)?" (:meth:`BayesBetaGeo.p_alive_draws`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from custrel_lib.exceptions import ConfigError
from custrel_lib.flame.bgnbd import BetaGeoModel
from custrel_lib.flame.rfm import _columns

PARAMS = ("r", "alpha", "a", "b")


def _pymc_marketing():
    try:
        from pymc_extras.prior import Prior
        from pymc_marketing.clv import BetaGeoModel as PymcBetaGeo
    except ImportError as exc:  # the extra is optional
        raise ConfigError(
            "The Bayesian BG/NBD needs the [bayes] extra: pip install 'custrel[bayes]' (pymc-marketing)."
        ) from exc
    return Prior, PymcBetaGeo


@dataclass
class BayesBetaGeo:
    """Posterior draws of BG/NBD's parameters (``draws``: one column per parameter) and their summary."""

    draws: pd.DataFrame
    summary: pd.DataFrame

    def p_alive_draws(self, frequency, recency, T) -> np.ndarray:
        """P(alive) of one customer under every posterior draw (FHL 2005, eq. 12): its spread is the uncertainty
        that comes from the parameters."""
        out = np.empty(len(self.draws))
        for i, row in enumerate(self.draws.itertuples(index=False)):
            bg = BetaGeoModel()
            bg.params_ = pd.Series(row._asdict())[list(PARAMS)]
            out[i] = bg.p_alive(frequency, recency, T)
        return out


def fit_bgnbd_bayes(
    summary: pd.DataFrame, draws: int = 500, tune: int = 500, chains: int = 2, random_seed: int = 0
) -> BayesBetaGeo:
    """Sample the posterior of BG/NBD's ``r, alpha, a, b`` under flat (``HalfFlat``) priors with pymc-marketing.

    Parameters
    ----------
    summary : DataFrame
        ``frequency``, ``recency``, ``T`` (:func:`custrel_lib.flame.rfm.rfm_summary`); ``customer_id`` if present.
    draws, tune, chains : int
        NUTS settings (one core: the chains run one after the other).

    Returns
    -------
    BayesBetaGeo
        ``draws`` (``chains * draws`` rows) and ``summary`` (``mean``, ``sd``, ``hdi_3%``, ``hdi_97%``,
        ``r_hat`` per parameter).
    """
    Prior, PymcBetaGeo = _pymc_marketing()
    x, tx, T = _columns(summary, ["frequency", "recency", "T"])
    ids = summary["customer_id"] if "customer_id" in summary else pd.RangeIndex(len(summary))
    data = pd.DataFrame({"customer_id": np.asarray(ids), "frequency": x, "recency": tx, "T": T})
    model = PymcBetaGeo(
        model_config={k: Prior("HalfFlat") for k in PARAMS},
        sampler_config={
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "cores": 1,
            "random_seed": random_seed,
            "progressbar": False,
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data=data)
        table = model.fit_summary()
    post = model.idata.posterior
    sample = pd.DataFrame({k: post[k].to_numpy().reshape(-1) for k in PARAMS})
    cols = ["mean", "sd", "hdi_3%", "hdi_97%", "r_hat"]
    return BayesBetaGeo(sample, table.loc[list(PARAMS), cols])
