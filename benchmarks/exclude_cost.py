"""What ``exclude:`` costs the engine loader: validated loading of a bench data set with no rule, with a rule that
matches nothing (a misspelt value) and with one that leaves a channel out, alternated, each in a fresh process.

    .venv/bin/python benchmarks/exclude_cost.py [benchmarks/_data/c1000000] [--rounds 2]

The data set is one `make bench` generated (its ``custrel.yml`` is read and a rule added on ``channel``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

LOAD = """
import sys, time
from custrel_lib.config import load_config
from custrel_lib.engine import spilling_duckdb
from custrel_lib.io.load import load_tables
config = load_config(sys.argv[1])
t = time.perf_counter()
counts = load_tables(config, engine=True, con=spilling_duckdb(config.engine)).problems.counts["transactions"]
print(round(time.perf_counter() - t, 2), counts.get("excluded", 0))
"""
RULES = {"no rule": None, "no match": {"channel": ["staff"]}, "channel app": {"channel": ["app"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="benchmarks/_data/c1000000")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    data = Path(args.data).resolve()
    base = yaml.safe_load((data / "custrel.yml").read_text(encoding="utf-8"))
    base["data_dir"] = str(data)
    times: dict[str, list[float]] = {name: [] for name in RULES}
    with tempfile.TemporaryDirectory() as tmp:
        configs = {}
        for name, rule in RULES.items():
            doc = yaml.safe_load(yaml.safe_dump(base))
            spec = doc["tables"]["transactions"]
            doc["tables"]["transactions"] = {"path": spec} if isinstance(spec, str) else spec
            if rule:
                doc["tables"]["transactions"]["exclude"] = rule
            configs[name] = Path(tmp) / f"{name.replace(' ', '_')}.yml"
            configs[name].write_text(yaml.safe_dump(doc), encoding="utf-8")
        for r in range(args.rounds):
            for name, config in configs.items():
                out = subprocess.run(
                    [sys.executable, "-c", LOAD, str(config)], capture_output=True, text=True
                )
                if out.returncode:
                    sys.exit(out.stderr[-2000:])
                seconds, excluded = out.stdout.split()[-2:]
                times[name].append(float(seconds))
                print(f"round {r + 1}  {name:<12} {float(seconds):6.2f} s  rows excluded {int(excluded):,}")
    ref = min(times["no rule"])
    for name, t in times.items():
        print(f"{name:<12} best {min(t):6.2f} s  ratio to no rule {min(t) / ref:.2f}")


if __name__ == "__main__":
    main()
