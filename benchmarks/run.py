"""Scale benchmarks: figures and ratios against a baseline run side by side in the same script.

    .venv/bin/python benchmarks/run.py                 # 1M customers (~7M transactions), the default
    .venv/bin/python benchmarks/run.py --customers 3000000   # ~21M transactions
    .venv/bin/python benchmarks/run.py --quick         # 50k customers: checks the script itself

Each measurement runs in a fresh child process so that its peak memory (max RSS, which includes DuckDB's
native allocations) is its own. Results are printed as a table and appended to ``benchmarks/_data/results.jsonl``;
the figures recorded in ``benchmarks/README.md`` come from this script.

Measurements
------------
generate   the sample generator writing Parquet (no baseline: the issue asks for "a few minutes")
load       ``custrel_lib.io.load.load_tables`` (typed, validated, problems report) vs a bare ``pandas.read_parquet``
stages     ``StageModel`` in DuckDB through Ibis vs the pandas reference implementation, on the same
           customers (the pandas side on a subset when the full size would not fit the time budget; the
           ratio is taken at equal size) and the engine alone on the full data
journeys   ``Transitions`` in DuckDB vs the pandas engine on the stage history
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(fn, args, queue) -> None:
    try:
        t0 = time.perf_counter()
        extra = fn(*args) or {}
        queue.put({"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), **extra})
    except Exception as exc:  # reported, not hidden
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def measure(fn, *args) -> dict:
    """Run ``fn(*args)`` in a fresh process; return its wall time (inside the child) and peak RSS."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


# --- the measured functions (module level so that spawn can pickle them) -----------------------------


def do_generate(n: int, out: str) -> dict:
    from custrel_lib.io.sample import generate_sample

    data = generate_sample(n, seed=1, progress=False)
    data.write(out, "parquet")
    return {"transactions": len(data.transactions), "customers": len(data.customers)}


def _config(out: str):
    from custrel_lib.config import load_config

    return load_config(Path(out) / "custrel.yml")


def do_load(out: str) -> dict:
    from custrel_lib.io.load import load_tables

    result = load_tables(_config(out))
    return {"rows": int(sum(len(df) for df in result.tables.values()))}


def do_read_parquet(out: str) -> dict:
    import pandas as pd

    rows = 0
    for name in ("transactions", "customers", "interactions"):
        rows += len(pd.read_parquet(Path(out) / f"{name}.parquet"))
    return {"rows": rows}


def _tables(out: str, max_customers: int | None):
    from custrel_lib.io.load import load_tables

    result = load_tables(_config(out))
    tables = result.tables
    if max_customers:
        ids = tables["transactions"]["customer_id"].drop_duplicates().sort_values().iloc[:max_customers]
        tables = {name: df[df["customer_id"].isin(ids)].reset_index(drop=True) for name, df in tables.items()}
    return tables, result.as_of


def do_stages(out: str, backend: str | None, max_customers: int | None, cadence: str) -> dict:
    from custrel_lib.stages.model import StageModel

    tables, as_of = _tables(out, max_customers)
    t0 = time.perf_counter()
    model = StageModel(cadence=cadence, backend=backend).fit(tables, as_of)
    seconds = time.perf_counter() - t0
    history = model.history_
    # The fitted history of the pandas and engine runs must agree: a digest lets the parent compare them.
    digest = int(
        __import__("pandas")
        .util.hash_pandas_object(
            history[["customer_id", "snapshot", "stage"]].sort_values(["customer_id", "snapshot"]),
            index=False,
        )
        .sum()
        % (1 << 61)
    )
    history[["customer_id", "snapshot", "stage"]].to_parquet(Path(out) / "history.parquet")
    return {"fit_seconds": seconds, "history_rows": len(history), "digest": digest}


def do_transitions(out: str, backend: str | None) -> dict:
    import pandas as pd

    from custrel_lib.journeys import Transitions

    history = pd.read_parquet(Path(out) / "history.parquet")
    t0 = time.perf_counter()
    tr = Transitions(cadence="quarter", backend=backend).fit(history)
    return {"fit_seconds": time.perf_counter() - t0, "count_rows": len(tr.counts_)}


# --- driver --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--pandas-customers", type=int, default=100_000, help="size of the pandas baseline")
    parser.add_argument("--quick", action="store_true", help="50k customers, to check the script")
    parser.add_argument("--reuse", action="store_true", help="reuse generated data of the same size")
    args = parser.parse_args(argv)
    n = 50_000 if args.quick else args.customers
    n_pandas = min(args.pandas_customers, n)
    out = DATA / f"c{n}"
    rows: list[tuple[str, dict]] = []

    def step(name: str, fn, *fargs) -> dict:
        print(f"[bench] {name} ...", flush=True)
        res = measure(fn, *fargs)
        if "error" in res:
            print(f"[bench] {name} FAILED: {res['error']}", flush=True)
        else:
            print(f"[bench] {name}: {res['seconds']:.1f} s, peak {res['peak_mb']:,.0f} MB", flush=True)
        rows.append((name, res))
        return res

    if not (args.reuse and (out / "custrel.yml").exists()):
        step(f"generate {n:,} customers (parquet)", do_generate, n, str(out))
    step("load: pandas.read_parquet (baseline)", do_read_parquet, str(out))
    step("load: custrel io.load_tables", do_load, str(out))
    pd_res = step(
        f"stages month, pandas reference, {n_pandas:,} customers",
        do_stages,
        str(out),
        "pandas",
        n_pandas,
        "month",
    )
    eng_sub = step(
        f"stages month, DuckDB engine, {n_pandas:,} customers", do_stages, str(out), None, n_pandas, "month"
    )
    if "digest" in pd_res and "digest" in eng_sub:
        print(f"[bench] engine and pandas histories identical: {pd_res['digest'] == eng_sub['digest']}")
    step(f"transitions quarter, pandas, {n_pandas:,} customers", do_transitions, str(out), "pandas")
    step(f"transitions quarter, DuckDB, {n_pandas:,} customers", do_transitions, str(out), None)
    if n > n_pandas:
        step(f"stages month, DuckDB engine, all {n:,} customers", do_stages, str(out), None, None, "month")
        step(f"transitions quarter, DuckDB, all {n:,} customers", do_transitions, str(out), None)

    print()
    print(f"{'measurement':<58} {'seconds':>9} {'peak MB':>9}  details")
    for name, res in rows:
        if "error" in res:
            print(f"{name:<58} {'-':>9} {'-':>9}  {res['error']}")
            continue
        details = {k: v for k, v in res.items() if k not in ("seconds", "peak_mb")}
        print(f"{name:<58} {res['seconds']:>9.1f} {res['peak_mb']:>9,.0f}  {details}")

    def ratio(a: str, b: str, key: str = "seconds") -> None:
        ra = next((r for name, r in rows if name.startswith(a) and key in r), None)
        rb = next((r for name, r in rows if name.startswith(b) and key in r), None)
        if ra and rb and rb[key]:
            print(f"ratio {a!r} / {b!r} ({key}): {ra[key] / rb[key]:.2f}")

    print()
    ratio("load: custrel", "load: pandas")
    ratio("load: custrel", "load: pandas", "peak_mb")
    ratio("stages month, pandas", "stages month, DuckDB engine, " + f"{n_pandas:,}", "fit_seconds")
    ratio("stages month, pandas", "stages month, DuckDB engine, " + f"{n_pandas:,}", "peak_mb")
    ratio("transitions quarter, pandas", "transitions quarter, DuckDB, " + f"{n_pandas:,}", "fit_seconds")

    DATA.mkdir(parents=True, exist_ok=True)
    with open(DATA / "results.jsonl", "a", encoding="utf-8") as fh:
        meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "customers": n, "python": sys.version.split()[0]}
        meta["machine"] = platform.machine()
        fh.write(json.dumps({"meta": meta, "rows": rows}, default=str) + "\n")
    failed = [name for name, res in rows if "error" in res]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
