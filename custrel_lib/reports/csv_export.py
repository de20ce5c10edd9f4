"""CSV exports of a report run written fast: a frame already in order is not sorted again, and a large one is
written by Arrow's CSV writer with the bytes ``DataFrame.to_csv`` would write (:mod:`custrel_lib.reports.summary`).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

#: Above this many rows an export is written by Arrow's CSV writer (:func:`write_csv_arrow`).
ARROW_CSV_ROWS = 1_000_000


def ordered(history: pd.DataFrame) -> bool:
    """Whether ``history`` is already sorted by customer and snapshot (the stage model's is): no copy to sort."""
    if len(history) < 2:
        return True
    cid, snap = history["customer_id"].astype("string").array, history["snapshot"].to_numpy()
    after = np.asarray(cid[1:] > cid[:-1], dtype=bool)
    same = np.asarray(cid[1:] == cid[:-1], dtype=bool)
    return bool((after | (same & (snap[1:] > snap[:-1]))).all())


def by_value(at_risk: pd.DataFrame) -> pd.DataFrame:
    """The at-risk list, highest value at risk first; by probability without amounts (value unknown)."""
    if not len(at_risk):
        return at_risk
    key = "value_at_risk" if at_risk["value_at_risk"].notna().any() else "p_separation"
    return at_risk.sort_values([key, "customer_id"], ascending=[False, True])


def write_csv_arrow(df: pd.DataFrame, path: Path) -> None:
    """The CSV that ``to_csv`` writes for a frame of text, dates and booleans, by Arrow (streamed, a fraction
    of the time): dates as ``YYYY-MM-DD``, booleans as ``True``/``False``. Arrow quotes every text or none:
    a text with a comma, quote or line break sends the frame to ``to_csv``, which quotes only those."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    columns = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_bool_dtype(col):
            columns[name] = pa.array(["True" if v else "False" for v in (False, True)]).take(
                pa.array(col.to_numpy().astype("int8"))
            )
        elif pd.api.types.is_datetime64_any_dtype(col):
            columns[name] = pa.array(col.dt.normalize().to_numpy(), type=pa.timestamp("ns")).cast(pa.date32())
        else:
            columns[name] = pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    table = pa.table(columns)
    text = [c for c in table.column_names if pa.types.is_string(table[c].type)]
    special = any(pc.any(pc.match_substring_regex(table[c], r'[,"\r\n]')).as_py() for c in text)
    if special or any(re.search(r'[,"\r\n]', c) for c in table.column_names):  # Arrow would quote every text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df.to_csv(path, index=False, date_format="%Y-%m-%d", lineterminator="\n")
        return
    with open(path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(
            table, fh, write_options=pacsv.WriteOptions(include_header=False, quoting_style="none")
        )
