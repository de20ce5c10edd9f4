"""Writes ``superstore_shape.xls``, ``superstore_shape.ods`` and ``superstore_shape.csv``: one seeded table in the
columns of Tableau's "Sample - Superstore" (order lines; dates as the workbooks' own date cells), as a legacy
Excel workbook, a LibreOffice one, and a CSV, the truth the tests read the workbooks against.

Run once, by hand, with ``xlwt`` 1.3.0 and ``odfpy`` 1.4.1 (neither is a dependency of custrel):
``pip install --target /tmp/w xlwt==1.3.0 odfpy==1.4.1 && PYTHONPATH=/tmp/w python tests/data/make_workbooks.py``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
RNG = np.random.default_rng(20261204)


def table(orders: int = 120) -> pd.DataFrame:
    rows = []
    customers = [
        f"{a}{b}-{n}" for a, b, n in zip("ABCDEFGHJK" * 4, "GHKLMNPRST" * 4, range(10150, 10190), strict=True)
    ]
    names = ["Claire Gute", "Darrin Van Huff", "Sean O'Donnell", "Brosina Hoffman", "Andrew Allen"]
    for k in range(orders):
        day = dt.date(2015, 1, 3) + dt.timedelta(days=int(RNG.integers(0, 1400)))
        customer = int(RNG.integers(0, len(customers)))
        order = f"{RNG.choice(['CA', 'US'])}-{day.year}-{100000 + 37 * k}"
        for line in range(int(RNG.integers(1, 5))):
            rows.append(
                {
                    "Row ID": len(rows) + 1,
                    "Order ID": order,
                    "Order Date": day,
                    "Ship Date": day + dt.timedelta(days=int(RNG.integers(0, 7))),
                    "Ship Mode": str(RNG.choice(["Second Class", "Standard Class", "First Class"])),
                    "Customer ID": customers[customer],
                    "Customer Name": names[customer % len(names)],
                    "Segment": str(RNG.choice(["Consumer", "Corporate", "Home Office"])),
                    "Country": "United States",
                    "City": str(RNG.choice(["Henderson", "Los Angeles", "Fort Lauderdale"])),
                    "Postal Code": int(RNG.choice([42420, 90036, 33311])),
                    "Product ID": f"FUR-BO-{10001798 + line}",
                    "Category": str(RNG.choice(["Furniture", "Office Supplies", "Technology"])),
                    "Product Name": "Bush Somerset Collection Bookcase",
                    "Sales": round(float(RNG.gamma(1.5, 120)), 4),
                    "Quantity": int(RNG.integers(1, 8)),
                    "Discount": float(RNG.choice([0, 0.2, 0.45])),
                    "Profit": round(float(RNG.normal(20, 40)), 4),
                }
            )
    return pd.DataFrame(rows)


def write_xls(df: pd.DataFrame, path: Path) -> None:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Orders")
    dates = xlwt.easyxf(num_format_str="M/D/YYYY")
    for j, name in enumerate(df.columns):
        sheet.write(0, j, name)
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(i, j, value, dates)
            else:
                sheet.write(i, j, value.item() if hasattr(value, "item") else value)
    book.save(str(path))


def write_ods(df: pd.DataFrame, path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    sheet = Table(name="Orders")

    def cell(value) -> TableCell:
        if isinstance(value, dt.date):
            c = TableCell(valuetype="date", datevalue=value.isoformat())
        elif isinstance(value, (int, float, np.integer, np.floating)):
            c = TableCell(valuetype="float", value=str(value))
        else:
            c = TableCell(valuetype="string")
        c.addElement(P(text=str(value)))
        return c

    for values in [list(df.columns), *df.itertuples(index=False)]:
        row = TableRow()
        for value in values:
            row.addElement(cell(value))
        sheet.addElement(row)
    doc.spreadsheet.addElement(sheet)
    doc.save(str(path))


if __name__ == "__main__":
    df = table()
    write_xls(df, HERE / "superstore_shape.xls")
    write_ods(df, HERE / "superstore_shape.ods")
    df.assign(
        **{c: pd.to_datetime(df[c]).dt.strftime("%m/%d/%Y") for c in ("Order Date", "Ship Date")}
    ).to_csv(HERE / "superstore_shape.csv", index=False)
    print(len(df), "rows")
