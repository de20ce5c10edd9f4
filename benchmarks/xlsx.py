"""How long an XLSX export takes to read: calamine (what custrel uses) against openpyxl (the fallback), side by side.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/xlsx.py                  # 488,400 lines, like Online Retail
    PYTHONPATH=$PWD .venv/bin/python benchmarks/xlsx.py --rows 20000 --repeat 1

The sheet is the sample's transactions as an Online Retail export (one row per order line: invoice, stock
code, quantity, date, unit price, customer id, country), repeated up to ``--rows`` lines and written once to a
temporary file (writing it takes longer than reading it). Then, alternately, ``--repeat`` times each:
``pd.read_excel(dtype=object)`` with each engine (the call of :func:`custrel_lib.io.readers.read_raw`), and
``load_tables`` on it with calamine (checks, order lines merged). The two engines' frames are compared value by
value: a difference stops the script. Prints the times and the ratio openpyxl / calamine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from custrel_lib.io.load import load_tables
from custrel_lib.paths import SAMPLE_DIR


def write_sheet(path: Path, rows: int) -> None:
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    rng = np.random.default_rng(0)
    k = rng.integers(1, 6, len(tx))
    lines = tx.loc[tx.index.repeat(k)].reset_index(drop=True)
    lines = pd.concat([lines] * (rows // len(lines) + 1), ignore_index=True).iloc[:rows]
    copy = lines.index // len(tx)
    quantity = rng.integers(1, 13, len(lines))
    sheet = pd.DataFrame(
        {
            "Invoice": lines["order_id"] + "-" + copy.astype(str),
            "StockCode": "SKU" + pd.Series(rng.integers(0, 500, len(lines))).astype(str),
            "Quantity": quantity,
            "InvoiceDate": pd.to_datetime(lines["date"])
            + pd.to_timedelta(rng.integers(480, 1140, len(lines)), "m"),
            "Price": (lines["amount"].astype(float).abs() / quantity).round(2),
            "Customer ID": lines["customer_id"].str.lstrip("C").astype(int),
            "Country": "France",
        }
    )
    sheet.to_excel(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=488_400)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="custrel-xlsx-") as tmp:
        path = Path(tmp) / "retail.xlsx"
        t0 = time.perf_counter()
        write_sheet(path, args.rows)
        print(
            f"{args.rows:,} lines written to XLSX ({path.stat().st_size / 2**20:.1f} MiB) in {time.perf_counter() - t0:.1f} s"
        )
        config = Path(tmp) / "custrel.yml"
        config.write_text(
            "tables:\n  transactions:\n    path: retail.xlsx\n    order_lines: true\n"
            "    columns: {date: InvoiceDate, order_id: Invoice, unit_price: Price, channel: Country}\n",
            encoding="utf-8",
        )
        times: dict[str, list[float]] = {"calamine": [], "openpyxl": [], "load_tables": []}
        frames = {}
        for _ in range(args.repeat):
            for engine in ("calamine", "openpyxl"):
                t0 = time.perf_counter()
                frames[engine] = pd.read_excel(path, dtype=object, engine=engine)
                times[engine].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            loaded = load_tables(config)
            times["load_tables"].append(time.perf_counter() - t0)
        a, b = frames["calamine"], frames["openpyxl"]
        b = b.assign(InvoiceDate=pd.to_datetime(b["InvoiceDate"]))
        a = a.assign(InvoiceDate=pd.to_datetime(a["InvoiceDate"]))
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        for name, values in times.items():
            print(
                f"{name:>11}: median {statistics.median(values):6.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})"
            )
        ratio = statistics.median(times["openpyxl"]) / statistics.median(times["calamine"])
        counts = loaded.problems.counts["transactions"]
        print(f"openpyxl / calamine: {ratio:.1f}x; the same {len(a):,} rows read by both")
        print(
            f"load_tables: {counts['read']:,} lines read, {counts['kept']:,} kept, {counts['rejected']:,} rejected"
        )


if __name__ == "__main__":
    main()
