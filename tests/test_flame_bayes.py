"""The optional [bayes] extra: BG/NBD through pymc-marketing with flat priors agrees with the maximum-likelihood
fit on CDNOW (Fader, Hardie & Lee 2005) within its posterior uncertainty. Skipped when the extra is absent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custrel_lib.flame.bgnbd import BetaGeoModel
from custrel_lib.paths import SAMPLE_DIR

pytest.importorskip("pymc_marketing")
pytestmark = pytest.mark.slow  # about two minutes: PyTensor compiles, then NUTS samples

DATA = SAMPLE_DIR.parents[1] / "tests" / "data"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_customers_summary.csv").rename(columns={"ID": "customer_id"})


def test_posterior_means_agree_with_the_mle_on_cdnow(cdnow):
    from custrel_lib.flame.bayes import fit_bgnbd_bayes

    mle = BetaGeoModel().fit(cdnow)
    post = fit_bgnbd_bayes(cdnow, draws=500, tune=500, chains=2, random_seed=1)
    table = post.summary.assign(mle=mle.params_, mle_se=mle.summary["se(coef)"])
    print(f"\nBG/NBD on CDNOW, posterior (flat priors) against maximum likelihood:\n{table.round(3)}")
    assert len(post.draws) == 1000
    for k in ("r", "alpha", "a", "b"):
        mean, sd = post.summary.loc[k, "mean"], post.summary.loc[k, "sd"]
        assert abs(mean - mle.params_[k]) < 2 * sd, k
        assert post.summary.loc[k, "hdi_3%"] < mle.params_[k] < post.summary.loc[k, "hdi_97%"], k
        # flat priors: the posterior spread is the likelihood's, as the Hessian's standard error says
        assert 0.5 < sd / mle.summary.loc[k, "se(coef)"] < 2, k
    # P(alive) of Hardie's example customer (x = 2, t_x = 30.43, T = 38.86) under every draw
    p = post.p_alive_draws(2, 30.43, 38.86)
    assert np.quantile(p, 0.03) < mle.p_alive(2, 30.43, 38.86) < np.quantile(p, 0.97)
    assert p.std() > 0


def test_missing_extra_is_a_clear_error(monkeypatch):
    import builtins

    from custrel_lib.exceptions import ConfigError
    from custrel_lib.flame import bayes

    real = builtins.__import__

    def no_pymc(name, *args, **kwargs):
        if name.startswith("pymc_marketing"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pymc)
    with pytest.raises(ConfigError, match=r"\[bayes\] extra"):
        bayes.fit_bgnbd_bayes(pd.DataFrame({"frequency": [1], "recency": [1.0], "T": [2.0]}))
