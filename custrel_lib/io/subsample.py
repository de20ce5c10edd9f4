"""A seeded sample of customers, drawn in the engine: for the model fits that cannot run on every customer.

Survival episodes and their fits are computed in pandas, customer by customer; at a million customers they
would not fit in time or memory. :func:`sample_customers` keeps ``n`` customers chosen by a seeded hash of
their id (the same customers for the same data and seed, whatever the engine, the file order or the
machine) and returns their rows of every table in pandas: the only data that leaves the engine is the
sample's. Every row of a kept customer is kept, so each customer's history is whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import PANDAS_DTYPES, SCHEMA


@dataclass
class CustomerSample:
    """The sampled tables (pandas), and how they were drawn: what a report says about a sampled fit."""

    tables: dict[str, pd.DataFrame]
    n_customers: int  # customers in the data
    n_sampled: int
    seed: int

    @property
    def share(self) -> float:
        return self.n_sampled / self.n_customers if self.n_customers else 0.0


def _ibis(table) -> ibis.Table:
    return table if isinstance(table, ibis.Table) else ibis.memtable(table)


def sample_customers(tables: dict, n: int, seed: int = 1, con=None) -> CustomerSample:
    """``n`` customers drawn by a seeded hash of their id, with all their rows, as pandas tables.

    Parameters
    ----------
    tables : dict of Ibis tables or DataFrames
        Canonical tables (``transactions`` required), e.g. ``load_tables(engine=True).tables``.
    n : int
        Customers to keep; all of them when the data has ``n`` or fewer.
    seed : int
        Another seed draws another sample.
    con : Ibis backend, optional
        Where to run (default: the tables' own backend, else a new DuckDB connection).
    """
    if "transactions" not in tables or tables["transactions"] is None:
        raise DataContractError("sample_customers: a 'transactions' table is required.")
    if int(n) < 1:
        raise DataContractError(f"sample_customers: n must be at least 1, not {n}.")
    present = {name: _ibis(t) for name, t in tables.items() if t is not None}
    if con is None:
        first = present["transactions"]
        con = (
            first._find_backend() if isinstance(tables["transactions"], ibis.Table) else ibis.duckdb.connect()
        )
    owners = [present[name] for name in ("transactions", "customers") if name in present]
    ids = owners[0].select("customer_id")
    for t in owners[1:]:
        ids = ids.union(t.select("customer_id"))
    ids = ids.filter(ids.customer_id.notnull()).distinct()
    key = (ibis.literal(f"{int(seed)}:") + ids.customer_id.cast("string")).hash()
    ranked = ids.mutate(__key=key)
    total = int(con.execute(ranked.count()))
    chosen = ranked.order_by(["__key", "customer_id"]).limit(int(n)).select("customer_id")
    out = {}
    for name, t in present.items():
        kept = t.semi_join(chosen, "customer_id")
        df = con.execute(kept)
        kinds = {c: PANDAS_DTYPES[kind] for c, (kind, _) in SCHEMA.get(name, {}).items() if c in df.columns}
        out[name] = df.astype(kinds)
    return CustomerSample(tables=out, n_customers=total, n_sampled=min(int(n), total), seed=int(seed))


#: Above this many customers, the fits made customer by customer in pandas (survival, risk, BG/NBD) use a
#: seeded sample of this size (``analysis.fit_sample`` in ``custrel.yml``; 0: never sample).
FIT_SAMPLE = 100_000


def analysis_tables(
    loaded, fit_sample: int = FIT_SAMPLE, seed: int = 1
) -> tuple[dict, CustomerSample | None]:
    """The pandas tables the analyses read, and the sample they were drawn by (``None``: every customer).

    ``loaded`` is a :class:`~custrel_lib.io.load.LoadResult`: pandas tables are returned as they are when they
    hold at most ``fit_sample`` customers; engine tables come to pandas whole below that size, else (and for
    pandas tables above it) :func:`sample_customers` draws ``fit_sample`` customers with their whole histories.
    """
    tables = loaded.tables
    engine = any(isinstance(t, ibis.Table) for t in tables.values())
    if not engine:
        ids = [t["customer_id"] for name, t in tables.items() if name in ("transactions", "customers")]
        if not fit_sample or pd.concat(ids).nunique() <= fit_sample:
            return tables, None
    elif not fit_sample:
        return loaded.to_pandas(), None
    drawn = sample_customers(tables, int(fit_sample), seed=seed, con=loaded.con)
    if drawn.n_sampled >= drawn.n_customers:
        return (loaded.to_pandas() if engine else tables), None
    return drawn.tables, drawn
