"""Scale benchmarks: the library against a hand-written DuckDB query (the floor) and the pandas reference.

    .venv/bin/python benchmarks/run.py                              # 100k, 1M and 3M customers
    .venv/bin/python benchmarks/run.py --sizes 100000,1000000       # choose the sizes
    .venv/bin/python benchmarks/run.py --quick                      # 20k customers: checks the script

Each measurement runs in a fresh child process, one at a time, so that its wall time, CPU time (user + system,
all threads) and peak memory (max RSS, DuckDB's native allocations included) are its own. Results are printed and appended to
``benchmarks/_data/results.jsonl``; ``benchmarks/README.md`` records runs.

Per size (monthly snapshots over the generator's three years: 36):
generate     the sample generator writing Parquet (reused when present). Above ``--generate-max`` customers
             (1M by default: the generator holds about 5 GB per million customers), a size that is a multiple
             of a generated size is built as copies of it with distinct ids (``replicate``): the same
             customers' histories under new ids, k times the rows, so the scaling factor measures the engine
load         validated loading in the engine (``load_tables(engine=True)``: typed, checked, problems report)
stages       ``custrel stages`` end to end: loading and checks, H, features and stages, the history written to
             Parquet (:func:`custrel_lib.stages.export.export_stages`)
handwritten  ``benchmarks/handwritten.sql``: the same stage codes straight from the Parquet files (no checks, H given)
pandas       the pandas reference: pandas loader, ``StageModel(backend="pandas")`` (``--pandas-sizes`` only)
transitions  quarterly transitions and the Sankey links, in DuckDB, from the written history
survival     episodes (``build_durations``), Kaplan-Meier and Cox fits, in pandas, on a seeded sample of
             ``--survival-max`` customers drawn in the engine (:func:`custrel_lib.io.subsample.sample_customers`)
report       ``custrel report`` (every notebook) at sizes up to ``--report-max``, with the peak RSS of the whole
             process tree (the kernels included)
The stage codes of stages, handwritten and pandas are compared by an order-free hash computed in DuckDB.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import multiprocessing as mp
import platform
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
SQL = HERE / "handwritten.sql"


def _peak_mb() -> float:
    """This process's peak RSS since exec (VmHWM). ru_maxrss is only a fallback: Linux carries it over from the
    parent across fork + exec, so a large parent would be counted."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _child(fn, args, queue) -> None:
    try:
        t0, c0 = time.perf_counter(), _cpu_seconds()
        extra = fn(*args) or {}
        cpu = round(_cpu_seconds() - c0, 1)
        queue.put({"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb(), "cpu_s": cpu, **extra})
    except Exception as exc:  # reported, not hidden
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def measure(fn, *args) -> dict:
    """Run ``fn(*args)`` in a fresh process; its wall time (inside the child) and peak RSS."""
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


def do_replicate(base: str, k: int, out: str) -> dict:
    """``k`` copies of the data set in ``base`` with distinct customer and order ids (suffix ``~j``), in DuckDB."""
    import duckdb

    Path(out).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    rows = {}
    for name in ("transactions", "customers", "interactions"):
        src = Path(base) / f"{name}.parquet"
        if not src.exists():
            continue
        cols = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM read_parquet('{src}')").fetchall()]
        renamed = {c: f"{c} || '~' || j AS {c}" for c in ("customer_id", "order_id")}
        select = ", ".join(renamed.get(c, c) for c in cols)
        con.execute(
            f"COPY (SELECT {select} FROM read_parquet('{src}'), range({k}) r(j)) "
            f"TO '{Path(out) / src.name}' (FORMAT parquet)"
        )
        rows[name] = con.sql(f"SELECT count(*) FROM read_parquet('{Path(out) / src.name}')").fetchall()[0][0]
    (Path(out) / "custrel.yml").write_text((Path(base) / "custrel.yml").read_text(encoding="utf-8"), "utf-8")
    return rows


def do_load(out: str, memory_limit: str | None = None) -> dict:
    from custrel_lib.engine import connect
    from custrel_lib.io.load import load_tables

    con = connect("duckdb")
    if memory_limit:  # the cap of the stages' run (beyond half of it, the loaded tables go to Parquet)
        con.raw_sql(f"SET memory_limit = '{memory_limit}'; SET temp_directory = '{Path(out) / '.spill'}'")
    result = load_tables(Path(out) / "custrel.yml", engine=True, con=con)
    return {"rows_kept": sum(c["kept"] for c in result.problems.counts.values())}


def do_stages(out: str, path: str, memory_limit: str | None) -> dict:
    from custrel_lib.stages.export import export_stages

    result = export_stages(Path(out) / "custrel.yml", path, memory_limit=memory_limit)
    m = result.model
    return {
        "rows": result.rows,
        "H": m.horizon_days_,
        "as_of": str(m.as_of_.date()),
        "snapshots": len(m.snapshots_),
        **{f"{k}_s": round(v, 2) for k, v in result.seconds.items()},
    }


def do_handwritten(out: str, path: str, h: float, as_of: str, memory_limit: str | None) -> dict:
    import duckdb

    files = {
        k: str(Path(out) / f"{name}.parquet")
        for k, name in [("tx", "transactions"), ("cu", "customers"), ("it", "interactions")]
    }
    con = duckdb.connect()
    if memory_limit:  # the same cap as the library's run
        con.execute(
            f"SET memory_limit = '{memory_limit}'; SET temp_directory = '{Path(path).parent / '.spill'}'"
        )
    con.execute(SQL.read_text(encoding="utf-8").format(**files, h=h, as_of=as_of, out=path))
    return {}


def do_pandas(out: str, path: str) -> dict:
    from custrel_lib.io.load import load_tables
    from custrel_lib.stages.model import StageModel

    loaded = load_tables(Path(out) / "custrel.yml")
    t0 = time.perf_counter()
    model = StageModel(backend="pandas").fit(loaded.tables, loaded.as_of)
    fit = time.perf_counter() - t0
    model.write_history(path)
    return {"fit_s": round(fit, 2), "rows": len(model.history_)}


def do_transitions(path: str) -> dict:
    import ibis

    from custrel_lib.journeys import Transitions
    from custrel_lib.plots.sankey import sankey_links

    con = ibis.duckdb.connect()
    history = con.read_parquet(path).select("customer_id", "snapshot", "stage")
    history = history.mutate(snapshot=history.snapshot.cast("timestamp"))
    tr = Transitions(cadence="quarter", backend=con).fit(history)
    flows = tr.flows(tr.select_snapshots(every=4))
    links = sankey_links(flows)
    return {"count_rows": len(tr.counts_), "links": len(links)}


def do_survival(out: str, h: float, max_customers: int) -> dict:
    from custrel_lib.io.load import load_tables
    from custrel_lib.io.subsample import sample_customers
    from custrel_lib.survival.cox import CoxModel
    from custrel_lib.survival.durations import build_durations
    from custrel_lib.survival.km import KaplanMeier

    loaded = load_tables(Path(out) / "custrel.yml", engine=True)
    t0 = time.perf_counter()
    # Above max_customers, the fits run on a seeded sample drawn in the engine (what a report at that size does).
    sample = sample_customers(loaded.tables, max_customers, seed=1)
    drawn = time.perf_counter() - t0
    durations = build_durations(sample.tables, loaded.as_of, h)
    episodes = time.perf_counter() - t0 - drawn
    km = KaplanMeier().fit(durations)
    CoxModel(covariates=["spend_first", "contract"]).fit(durations)
    return {
        "customers": sample.n_customers,
        "sampled": sample.n_sampled,
        "episodes": len(durations),
        "sample_s": round(drawn, 2),
        "episodes_s": round(episodes, 2),
        "fits_s": round(time.perf_counter() - t0 - drawn - episodes, 2),
        "km_median_days": round(float(km.medians_["median"].iloc[0]), 1),
    }


def do_report(out: str) -> dict:
    """``custrel report`` on the size's config (every notebook), with the peak RSS of the whole process tree
    (the kernels are child processes, sampled every 0.5 s and summed)."""
    import tempfile
    import threading

    import psutil

    from custrel_lib.reports.run import run_report

    peak, done = [0], threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not done.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a process that ended meanwhile
                    total += proc.memory_info().rss
            peak[0] = max(peak[0], total)
            done.wait(0.5)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    with tempfile.TemporaryDirectory(prefix="custrel-bench-report-") as reports:
        run = run_report(Path(out) / "custrel.yml", reports_dir=reports, progress=False)
        figures = json.loads((run.path / "key_figures.json").read_text(encoding="utf-8"))
    done.set()
    watcher.join()
    survival = figures.get("survival", {})
    return {
        "tree_peak_mb": round(peak[0] / 2**20),
        "notebooks_s": {r.name.split("-")[0]: round(r.duration_s, 1) for r in run.notebooks},
        "sample": survival.get("sample"),
    }


def digest(path: str) -> dict:
    """Rows and an order-free hash of ``customer_id, snapshot (date), stage`` (computed in DuckDB)."""
    import duckdb

    rows, h = duckdb.sql(
        "SELECT count(*), sum(hash(CAST(customer_id AS VARCHAR), CAST(snapshot AS DATE), CAST(stage AS VARCHAR)))"
        f" FROM read_parquet('{path}')"
    ).fetchall()[0]
    return {"rows": rows, "hash": str(h)}


# --- driver --------------------------------------------------------------------------------------------


def _run_size(n: int, args, step) -> dict:
    out = DATA / f"c{n}"
    res: dict[str, dict] = {}
    if not (out / "custrel.yml").exists():
        bases = [b for b in args.generated if b < n and n % b == 0 and b <= args.generate_max]
        if n > args.generate_max and bases:
            base = max(bases)
            res["generate"] = step(
                n,
                f"replicate {base:,} x {n // base}",
                do_replicate,
                str(DATA / f"c{base}"),
                n // base,
                str(out),
            )
        else:
            res["generate"] = step(n, "generate", do_generate, n, str(out))
    args.generated.append(n)
    res["load"] = step(n, "load (engine, validated)", do_load, str(out), args.memory_limit)
    lib = str(out / "stages.parquet")
    res["stages"] = step(n, "stages end to end (custrel stages)", do_stages, str(out), lib, args.memory_limit)
    if "error" in res["stages"]:
        return res
    hw = str(out / "stages_handwritten.parquet")
    h, as_of = res["stages"]["H"], res["stages"]["as_of"]
    res["handwritten"] = step(
        n, "stages, hand-written DuckDB SQL", do_handwritten, str(out), hw, h, as_of, args.memory_limit
    )
    digests = {
        "stages": digest(lib),
        "handwritten": digest(hw) if "error" not in res["handwritten"] else None,
    }
    if n in args.pandas_sizes:
        pd_path = str(out / "stages_pandas.parquet")
        res["pandas"] = step(n, "stages, pandas reference", do_pandas, str(out), pd_path)
        digests["pandas"] = digest(pd_path) if "error" not in res["pandas"] else None
    if "transitions" not in args.skip:
        res["transitions"] = step(n, "transitions + Sankey links (DuckDB)", do_transitions, lib)
    if "survival" not in args.skip:
        res["survival"] = step(
            n, "survival episodes + KM + Cox (pandas)", do_survival, str(out), h, args.survival_max
        )
    if "report" not in args.skip and n <= args.report_max:
        res["report"] = step(n, "custrel report (every notebook)", do_report, str(out))
    same = {k: v == digests["stages"] for k, v in digests.items() if k != "stages" and v}
    print(
        f"[bench] {n:,}: stage rows and hash {digests['stages']}; identical to the library: {same}",
        flush=True,
    )
    res["identical"] = same
    return res


def _ratio(a: dict | None, b: dict | None, key: str = "seconds") -> str:
    if not a or not b or key not in a or key not in b or not b[key]:
        return "-"
    return f"{a[key] / b[key]:.2f}"


def _report(results: dict[int, dict]) -> None:
    print()
    print(f"{'customers':>10} {'measurement':<42} {'wall s':>8} {'peak MB':>8}  details")
    for n, res in results.items():
        for name, r in res.items():
            if name == "identical":
                continue
            if "error" in r:
                print(f"{n:>10,} {name:<42} {'-':>8} {'-':>8}  {r['error']}")
                continue
            details = {k: v for k, v in r.items() if k not in ("seconds", "peak_mb")}
            print(f"{n:>10,} {name:<42} {r['seconds']:>8.1f} {r['peak_mb']:>8,.0f}  {details}")
    print()
    sizes = sorted(results)
    for n in sizes:
        res = results[n]
        print(
            f"{n:>10,}: library / hand-written {_ratio(res.get('stages'), res.get('handwritten'))}x time, "
            f"{_ratio(res.get('stages'), res.get('handwritten'), 'cpu_s')}x CPU, "
            f"{_ratio(res.get('stages'), res.get('handwritten'), 'peak_mb')}x memory; "
            f"pandas / library {_ratio(res.get('pandas'), res.get('stages'))}x time; "
            f"identical stage codes {res.get('identical')}"
        )
    for a, b in itertools.pairwise(sizes):
        print(
            f"scaling {a:,} -> {b:,} ({b / a:g}x customers): library {_ratio(results[b].get('stages'), results[a].get('stages'))}x, "
            f"hand-written {_ratio(results[b].get('handwritten'), results[a].get('handwritten'))}x"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000,3000000", help="customers, comma-separated")
    parser.add_argument("--pandas-sizes", default="100000", help="sizes where the pandas reference runs")
    parser.add_argument("--skip", default="", help="comma-separated: transitions, survival, report")
    parser.add_argument("--quick", action="store_true", help="20k customers, to check the script")
    parser.add_argument(
        "--survival-max",
        type=int,
        default=100_000,
        help="survival fits on a seeded sample of this many customers",
    )
    parser.add_argument(
        "--report-max", type=int, default=1_000_000, help="the full report runs at sizes up to this one"
    )
    parser.add_argument(
        "--generate-max", type=int, default=1_000_000, help="larger sizes are copies of a generated size"
    )
    parser.add_argument(
        "--memory-limit", default="2GB", help="DuckDB memory limit of the library run ('' for none)"
    )
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(x) for x in args.sizes.split(",") if x]
    args.pandas_sizes = set(sizes) if args.quick else {int(x) for x in args.pandas_sizes.split(",") if x}
    args.skip = set(args.skip.split(","))
    args.generated = []

    def step(n: int, name: str, fn, *fargs) -> dict:
        print(f"[bench] {n:,} {name} ...", flush=True)
        res = measure(fn, *fargs)
        if "error" in res:
            print(f"[bench] {n:,} {name} FAILED: {res['error']}", flush=True)
        else:
            print(
                f"[bench] {n:,} {name}: {res['seconds']:.1f} s, CPU {res['cpu_s']:.1f} s, peak {res['peak_mb']:,.0f} MB",
                flush=True,
            )
        return res

    results = {n: _run_size(n, args, step) for n in sizes}
    _report(results)
    DATA.mkdir(parents=True, exist_ok=True)
    with open(DATA / "results.jsonl", "a", encoding="utf-8") as fh:
        meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": sys.version.split()[0]}
        meta["machine"] = platform.machine()
        fh.write(json.dumps({"meta": meta, "results": results}, default=str) + "\n")
    failed = [
        name for res in results.values() for name, r in res.items() if isinstance(r, dict) and "error" in r
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
