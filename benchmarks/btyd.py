"""BG/NBD at scale: the frequency/recency/T summary in DuckDB and the maximum-likelihood fit.

    .venv/bin/python benchmarks/btyd.py                       # 100k and 1M customers
    .venv/bin/python benchmarks/btyd.py --customers 100000    # one size

Transactions come from the BG/NBD process itself (a synthetic generator, faster than the sample generator):
first purchases spread over a year, purchase rates ``Gamma(r, alpha)`` and dropout probabilities
``Beta(a, b)``, two years of data, a few same-day duplicates and refunds. Each size is timed in this process,
one step after the other: ``rfm_summary`` in DuckDB through Ibis, the same summary with a plain pandas
``groupby`` (the baseline, same definitions: ``rfm_summary_pandas``), and ``BetaGeoModel.fit`` (also checks
that it recovers the parameters of the generator).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from custrel_lib.flame.btyd import BetaGeoModel, GammaGammaModel, rfm_summary, rfm_summary_pandas

TRUTH = {"r": 0.8, "alpha": 60.0, "a": 0.5, "b": 2.5}  # days; about 5 purchases per customer
START = pd.Timestamp("2024-01-01")
AS_OF = pd.Timestamp("2025-12-31")


def generate(n: int, seed: int = 1) -> pd.DataFrame:
    """Transactions of ``n`` customers drawn from BG/NBD (``TRUTH``), with amounts and a few refunds."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 365, n)
    horizon = (AS_OF - START).days - first
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n)
    p = rng.beta(TRUTH["a"], TRUTH["b"], n)
    N = rng.poisson(lam * horizon)
    J = rng.geometric(p)
    x = np.minimum(N, J)
    # the first x of N uniform times in (0, horizon], sorted
    cust = np.repeat(np.arange(n), N)
    u = rng.random(len(cust)) * np.repeat(horizon, N)
    order = np.lexsort((u, cust))
    cust, u = cust[order], u[order]
    rank = np.arange(len(cust)) - np.repeat(np.cumsum(N) - N, N)
    keep = rank < np.repeat(x, N)
    ids = np.concatenate([np.arange(n), cust[keep]])
    day = np.concatenate([first, first[cust[keep]] + np.ceil(u[keep]).astype(int)])
    amount = rng.gamma(4.0, 10.0, len(ids)).round(2)
    # same-day duplicates (one purchase occasion) and refunds (not purchases)
    dup = rng.random(len(ids)) < 0.03
    ref = rng.random(len(ids)) < 0.02
    ids = np.concatenate([ids, ids[dup], ids[ref]])
    day = np.concatenate([day, day[dup], day[ref]])
    amount = np.concatenate([amount, amount[dup], -amount[ref]])
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i:07d}" for i in ids], dtype="string"),
            "date": START + pd.to_timedelta(day, unit="D"),
            "amount": amount,
        }
    )


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def run(n: int) -> dict:
    tx, t_gen = timed(generate, n)
    print(f"[btyd] {n:,} customers: {len(tx):,} transactions generated in {t_gen:.1f} s", flush=True)
    engine, t_engine = timed(rfm_summary, tx, AS_OF)
    print(f"[btyd]   rfm_summary, DuckDB via Ibis: {t_engine:.1f} s", flush=True)
    ref, t_pandas = timed(rfm_summary_pandas, tx, AS_OF)
    print(f"[btyd]   rfm_summary_pandas (groupby baseline): {t_pandas:.1f} s", flush=True)
    same = engine[["customer_id", "frequency", "recency", "T"]].equals(
        ref[["customer_id", "frequency", "recency", "T"]]
    )
    bg, t_fit = timed(BetaGeoModel().fit, engine)
    print(f"[btyd]   BetaGeoModel.fit: {t_fit:.1f} s ({bg.result_.nit} iterations)", flush=True)
    _, t_gg = timed(GammaGammaModel().fit, engine)
    print(f"[btyd]   GammaGammaModel.fit: {t_gg:.1f} s", flush=True)
    _, t_pred = timed(bg.expected_purchases, 90, engine["frequency"], engine["recency"], engine["T"])
    print(f"[btyd]   expected_purchases (90 days), every customer: {t_pred:.1f} s", flush=True)
    est = ", ".join(f"{k} {bg.params_[k]:.3f} (true {v})" for k, v in TRUTH.items())
    print(f"[btyd]   parameters: {est}; summaries identical: {same}", flush=True)
    return {
        "customers": n,
        "transactions": len(tx),
        "summary_engine_s": t_engine,
        "summary_pandas_s": t_pandas,
        "fit_s": t_fit,
        "gamma_gamma_s": t_gg,
        "predict_s": t_pred,
        "ratio_pandas_engine": t_pandas / t_engine,
        "identical": same,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="*", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    rows = [run(n) for n in args.customers]
    print()
    print(
        f"{'customers':>10} {'transactions':>13} {'summary DuckDB s':>17} {'summary pandas s':>17} "
        f"{'pandas/DuckDB':>14} {'BG/NBD fit s':>13} {'Gamma-Gamma s':>14} {'predict s':>10}"
    )
    for r in rows:
        print(
            f"{r['customers']:>10,} {r['transactions']:>13,} {r['summary_engine_s']:>17.1f} "
            f"{r['summary_pandas_s']:>17.1f} {r['ratio_pandas_engine']:>13.1f}x {r['fit_s']:>13.1f} "
            f"{r['gamma_gamma_s']:>14.1f} {r['predict_s']:>10.1f}"
        )
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
