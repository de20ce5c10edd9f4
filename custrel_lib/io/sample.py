"""Synthetic French retailer with a known truth.

Every simulated customer has a latent *true type* that drives its behaviour:

========== ================================================================================
type       behaviour
========== ================================================================================
prospect   signs up, never buys
one_shot   buys once and never comes back (coup d'un soir)
flirt      buys twice, a few weeks apart, then leaves
dating     regular repeat buyer (every ~80 days), one or two categories, no contract
cohabiting frequent buyer (every ~30 days), no contract, long-lived (concubinage)
engaged    repeat buyer whose basket grows (up-sell) over 3-5 categories (cross-sell),
           promoter and referrer, no contract (fiancé(e))
married    signs a subscription / loyalty contract within 6 months of the first purchase;
           the contract ends voluntarily or involuntarily (marié(e))
========== ================================================================================

Separation (churn) happens at a latent time drawn from a type-specific hazard (contract end for
``married``); some separated customers come back later (win-back) and start a second episode.
Customers acquired before the observation window exist (left truncation): their purchases before the
window are not in the data, but their sign-up date is.

The generator writes the three tables of the data contract plus a ``truth/`` folder that the library
never reads and tests do:

- ``truth/customers.csv``: true type, acquisition (first purchase) date, separation dates and reasons,
  win-back date;
- ``truth/stages.csv``: the true relationship stage as spells (``customer_id, start, stage``: the stage
  holds from ``start`` until the next spell's start), from which :func:`true_stages_at` gives the true
  stage at any date.

The types and their parameters are in :mod:`custrel_lib.io.population`, the tables they leave in
:mod:`custrel_lib.io.simulation`; this module runs the simulation by chunks and writes the files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pandas as pd

from custrel_lib.io.simulation import simulate_chunk

WINDOW_START = pd.Timestamp("2023-01-01")
WINDOW_END = pd.Timestamp("2025-12-31")

JOURNEY_STEPS = [
    "besoin",
    "recherche",
    "choix",
    "achat",
    "decouverte",
    "usage",
    "recommandation",
    "parrainage",
]


@dataclass
class SampleData:
    """The generated tables (canonical column names) and their truth."""

    transactions: pd.DataFrame
    customers: pd.DataFrame
    interactions: pd.DataFrame
    truth_customers: pd.DataFrame
    truth_stages: pd.DataFrame

    def write(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write the tables (``csv`` or ``parquet``) and the truth into ``out_dir``."""
        out = Path(out_dir)
        (out / "truth").mkdir(parents=True, exist_ok=True)
        paths = {}
        for name in ("transactions", "customers", "interactions"):
            df = getattr(self, name)
            path = out / f"{name}.{fmt}"
            _write(df, path, fmt)
            paths[name] = path
        for name, df in (("customers", self.truth_customers), ("stages", self.truth_stages)):
            path = out / "truth" / f"{name}.{fmt}"
            _write(df, path, fmt)
            paths[f"truth_{name}"] = path
        config = out / "custrel.yml"
        if not config.exists():
            config.write_text(_config_text(fmt), encoding="utf-8")
        paths["config"] = config
        return paths


def _write(df: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(path, index=False, date_format="%Y-%m-%d", float_format="%.2f")
    elif fmt == "parquet":
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"Unknown format {fmt!r}: use csv or parquet.")


def _config_text(fmt: str) -> str:
    return (
        "# custrel configuration of the synthetic sample (see README: data contract).\n"
        "data_dir: .\n"
        "language: fr\n"
        "tables:\n"
        f"  transactions: {{path: transactions.{fmt}}}\n"
        f"  customers: {{path: customers.{fmt}}}\n"
        f"  interactions: {{path: interactions.{fmt}}}\n"
        "analysis:\n"
        f"  as_of: {WINDOW_END.date()}\n"
        "  cadence: month\n"
    )


def generate_sample(
    n_customers: int = 5000,
    seed: int = 42,
    start: str | pd.Timestamp = WINDOW_START,
    end: str | pd.Timestamp = WINDOW_END,
    progress: bool = False,
    chunk: int = 200_000,
) -> SampleData:
    """Simulate ``n_customers`` customers of a French retailer over the window ``[start, end]``.

    Parameters
    ----------
    n_customers
        Number of customers to simulate (customers with no activity in the window are dropped, so the
        tables hold slightly fewer).
    seed
        Seed of the random generator: the same seed gives the same tables.
    start, end
        The observation window; ``end`` is the extraction date (``as_of``).
    progress
        Print progress lines (for large runs).
    chunk
        Customers simulated at a time (bounds the memory of large runs).

    Returns
    -------
    SampleData
    """
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    horizon = float((end - start).days)  # last day index of the window
    parts = []
    t0 = time.perf_counter()
    for first in range(0, n_customers, chunk):
        n = min(chunk, n_customers - first)
        parts.append(simulate_chunk(first, n, horizon, rng, len(str(n_customers)), JOURNEY_STEPS))
        if progress:
            click.echo(
                f"  simulated {first + n:,} / {n_customers:,} customers ({time.perf_counter() - t0:.0f} s)"
            )
    # A refund points at its purchase by row number within its chunk: shift to the concatenated numbering.
    offset = 0
    for part in parts:
        part["refunds"] = part["refunds"].assign(refund_of=part["refunds"]["refund_of"] + offset)
        offset += len(part["tx"])
    tables = {key: pd.concat([p[key] for p in parts], ignore_index=True) for key in parts[0]}
    return _to_frames(tables, start)


def _to_frames(parts: dict[str, pd.DataFrame], start: pd.Timestamp) -> SampleData:
    def to_date(days) -> pd.Series:
        days = pd.Series(np.floor(np.asarray(days, dtype="float64")))
        out = pd.Series(pd.NaT, index=days.index, dtype="datetime64[ns]")
        ok = days.notna().to_numpy()
        out[ok] = start + pd.to_timedelta(days[ok].astype("int64"), unit="D")
        return out

    tx, rf = parts["tx"], parts["refunds"]
    tx = tx.assign(_i=np.arange(len(tx)))
    # order ids in date order, so the table reads naturally
    tx = tx.sort_values(["day", "customer_id"], kind="stable").reset_index(drop=True)
    order_ids = pd.Series([f"O{i:08d}" for i in range(len(tx))], index=tx["_i"].to_numpy())
    tx["order_id"] = [f"O{i:08d}" for i in range(len(tx))]
    rf = rf.assign(order_id=order_ids.reindex(rf["refund_of"].to_numpy()).to_numpy() + "-R")
    both = pd.concat([tx, rf], ignore_index=True).sort_values(
        ["day", "customer_id", "order_id"], kind="stable"
    )
    transactions = pd.DataFrame(
        {
            "customer_id": both["customer_id"].to_numpy(),
            "date": to_date(both["day"]).to_numpy(),
            "amount": both["amount"].to_numpy(),
            "order_id": both["order_id"].to_numpy(),
            "category": both["category"].to_numpy(),
            "channel": both["channel"].to_numpy(),
        }
    )
    c = parts["customers"]
    customers = pd.DataFrame(
        {
            "customer_id": c["customer_id"],
            "signup_date": to_date(c["signup_day"]),
            "contract_start": to_date(c["contract_start_day"]),
            "contract_end": to_date(c["contract_end_day"]),
            "end_reason": c["end_reason"],
            "loyalty_member": c["loyalty_member"],
            "acquisition_channel": c["acquisition_channel"],
            "region": c["region"],
        }
    )
    i = parts["interactions"].sort_values(["day", "customer_id"], kind="stable")
    interactions = pd.DataFrame(
        {
            "customer_id": i["customer_id"].to_numpy(),
            "date": to_date(i["day"]).to_numpy(),
            "type": i["type"].to_numpy(),
            "score": i["score"].to_numpy(),
            "resolved": i["resolved"].to_numpy(),
        }
    )
    t = parts["truth"]
    truth = pd.DataFrame(
        {
            "customer_id": t["customer_id"],
            "true_type": t["true_type"],
            "acquisition_date": to_date(t["acquisition_day"]),
            "separation_date": to_date(t["separation_day"]),
            "separation_reason": t["separation_reason"],
            "winback_date": to_date(t["winback_day"]),
            "separation_2_date": to_date(t["separation_2_day"]),
            "purchases_before_window": t["purchases_before_window"],
        }
    )
    s = parts["spells"]
    spells = pd.DataFrame({"customer_id": s["customer_id"], "start": to_date(s["day"]), "stage": s["stage"]})
    return SampleData(transactions, customers, interactions, truth, spells)


def true_stages_at(spells: pd.DataFrame, dates) -> pd.DataFrame:
    """The true stage of every customer at each date (end of day), from the truth spells.

    Parameters
    ----------
    spells
        ``truth/stages.csv`` as a DataFrame (``customer_id, start, stage``).
    dates
        One date or a list of dates.

    Returns
    -------
    DataFrame with ``customer_id, snapshot, true_stage`` for the customers that exist at each date.
    """
    sp = spells.assign(start=pd.to_datetime(spells["start"])).sort_values("start")
    frames = []
    for d in pd.to_datetime(pd.Index(np.atleast_1d(dates))):
        last = sp[sp["start"] <= d].groupby("customer_id", sort=True).tail(1)
        frames.append(
            pd.DataFrame({"customer_id": last["customer_id"], "snapshot": d, "true_stage": last["stage"]})
        )
    return (
        pd.concat(frames, ignore_index=True).sort_values(["snapshot", "customer_id"]).reset_index(drop=True)
    )
