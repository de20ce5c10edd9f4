"""What reading a blank-separated text file costs (CDNOW's shape: no header, runs of spaces between fields),
against the same rows as a comma-separated CSV with a header, side by side.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/whitespace.py                 # 2,000,000 lines
    PYTHONPATH=$PWD .venv/bin/python benchmarks/whitespace.py --rows 50000 --repeat 1

The sample's transactions, repeated up to ``--rows`` lines, are written once in both shapes. Then, alternately,
``--repeat`` times each, ``load_tables`` reads each file in both loaders (pandas, and the engine: DuckDB), each
in this process. A blank-separated file is read from a UTF-8 copy whose fields are separated by tabs
(:mod:`custrel_lib.io.dialect`): the copy is the cost measured. The kept tables of both files are compared
(sums of amounts and counts): a difference stops the script. Prints the times and the ratio blank / comma.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from custrel_lib.io.load import load_tables
from custrel_lib.paths import SAMPLE_DIR


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)[["customer_id", "date", "amount"]]
    tx = pd.concat([tx] * (rows // len(tx) + 1), ignore_index=True).iloc[:rows]
    comma = folder / "comma.yml"
    tx.to_csv(folder / "comma.csv", index=False)
    comma.write_text("tables:\n  transactions: comma.csv\n", encoding="utf-8")
    blanks = " " + tx["customer_id"] + "  " + tx["date"].str.replace("-", "") + "   " + tx["amount"]
    (folder / "blank.txt").write_text("\r\n".join(blanks) + "\r\n", encoding="utf-8")
    blank = folder / "blank.yml"
    blank.write_text(
        "tables:\n  transactions:\n    path: blank.txt\n    header: false\n"
        "    columns: {customer_id: 1, date: 2, amount: 3}\n",
        encoding="utf-8",
    )
    return comma, blank


def measure(config: Path, engine: bool) -> tuple[float, tuple]:
    t0 = time.perf_counter()
    result = load_tables(config, engine=engine)
    seconds = time.perf_counter() - t0
    tx = result.to_pandas()["transactions"]
    return seconds, (len(tx), round(float(tx["amount"].sum()), 2), int(tx["customer_id"].nunique()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        comma, blank = write_files(Path(folder), args.rows)
        print(
            f"{args.rows:,} lines; comma.csv {(Path(folder) / 'comma.csv').stat().st_size / 2**20:.1f} MiB, "
            f"blank.txt {(Path(folder) / 'blank.txt').stat().st_size / 2**20:.1f} MiB"
        )
        for engine in (False, True):
            times: dict[str, list[float]] = {"comma": [], "blank": []}
            seen = {}
            for _ in range(args.repeat):
                for name, config in (("comma", comma), ("blank", blank)):
                    seconds, figures = measure(config, engine)
                    times[name].append(seconds)
                    seen[name] = figures
            if seen["comma"] != seen["blank"]:
                raise SystemExit(f"the two files read differently: {seen}")
            c, b = (statistics.median(times[k]) for k in ("comma", "blank"))
            loader = "engine" if engine else "pandas"
            print(
                f"{loader:<6} comma {c:6.2f} s  blank {b:6.2f} s  ratio blank/comma {b / c:.2f}  "
                f"(runs: {', '.join(f'{t:.2f}' for t in times['comma'])} / {', '.join(f'{t:.2f}' for t in times['blank'])}; "
                f"rows kept {seen['blank'][0]:,})"
            )


if __name__ == "__main__":
    main()
