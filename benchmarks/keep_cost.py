"""What ``keep:`` costs the engine loader on a log of events where most rows are not purchases (REES46's shape:
views, carts, purchases): validated loading of the whole log, and of the same log with ``keep: {event_type:
[purchase]}``, alternated, each in a fresh process; wall time and peak memory of the process.

    .venv/bin/python benchmarks/keep_cost.py [--rows 1000000] [--share 0.05] [--rounds 2]

The rows left out are counted in the engine; the problems report lists the first ten thousand of each kind in
pandas (``custrel_lib.io.problems.LISTED``). Before, it listed every one, and the peak grew with the rows left
out: this measures what is left of that.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

LOAD = """
import resource, sys, time
from custrel_lib.io.load import load_tables
t = time.perf_counter()
counts = load_tables(sys.argv[1], engine=True).problems.counts["transactions"]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(round(time.perf_counter() - t, 2), round(peak), counts["kept"], counts.get("excluded", 0))
"""
COLUMNS = "columns: {customer_id: user_id, date: event_time, amount: price}"


def write_log(folder: Path, rows: int, share: float) -> None:
    rng = np.random.default_rng(1)
    when = pd.Timestamp("2019-10-01") + pd.to_timedelta(rng.integers(0, 120 * 86400, rows), unit="s")
    kinds = rng.choice(["view", "cart", "purchase"], rows, p=[1 - 2 * share, share, share])
    pd.DataFrame(
        {
            "event_time": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "event_type": kinds,
            "price": rng.gamma(2.0, 90.0, rows).round(2),
            "user_id": rng.integers(512_000_000, 512_000_000 + rows // 10, rows),
        }
    ).to_csv(folder / "events.csv", index=False)
    base = f"tables:\n  transactions:\n    path: events.csv\n    {COLUMNS}\n"
    (folder / "whole.yml").write_text(base, encoding="utf-8")
    (folder / "keep.yml").write_text(base + "    keep: {event_type: [purchase]}\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.05, help="share of purchases (and of carts)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, int]]] = {"whole log": [], "keep purchases": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_log(folder, args.rows, args.share)
        for r in range(args.rounds):
            for name, config in (("whole log", "whole.yml"), ("keep purchases", "keep.yml")):
                out = subprocess.run(
                    [sys.executable, "-c", LOAD, str(folder / config)], capture_output=True, text=True
                )
                if out.returncode:
                    sys.exit(out.stderr[-2000:])
                seconds, peak, kept, left = out.stdout.split()[-4:]
                results[name].append((float(seconds), int(peak)))
                print(
                    f"round {r + 1}  {name:<15} {float(seconds):6.2f} s  peak {int(peak):,} MB  kept {int(kept):,}  "
                    f"left out {int(left):,}"
                )
    ref_s, ref_mb = min(s for s, _ in results["whole log"]), min(m for _, m in results["whole log"])
    for name, runs in results.items():
        s, mb = min(x for x, _ in runs), min(m for _, m in runs)
        print(f"{name:<15} best {s:6.2f} s ({s / ref_s:.2f}x)  peak {mb:,} MB ({mb / ref_mb:.2f}x)")


if __name__ == "__main__":
    main()
