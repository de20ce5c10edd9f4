"""The stage history of a configuration, from the input files to a Parquet file, in the engine.

What ``custrel stages`` runs: the engine loader (:func:`custrel_lib.io.load.load_tables` with ``engine=True``;
XLSX inputs go through pandas), the stage model configured as the reports configure it
(:meth:`StageModel.from_config`), and the history streamed to Parquet by DuckDB, never through pandas.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from custrel_lib.config import CustrelConfig, load_config
from custrel_lib.engine import connect
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.load import LoadResult, load_tables
from custrel_lib.progress import Steps
from custrel_lib.stages.model import StageModel


@dataclass
class StagesExport:
    """What :func:`export_stages` wrote: the file, its rows, the model and the loading result."""

    path: Path
    rows: int
    model: StageModel
    loaded: LoadResult
    seconds: dict[str, float]


def export_stages(
    config: CustrelConfig | str | Path | None,
    out: str | Path,
    as_of=None,
    progress: bool = False,
    sort: bool = False,
    memory_limit: str | None = None,
) -> StagesExport:
    """Load and check the tables of ``config``, place every customer in a stage at every snapshot, write
    ``customer_id, snapshot, stage, rule, ambassador`` to the Parquet file ``out``.

    ``memory_limit`` (e.g. ``"2GB"``) caps DuckDB's memory: beyond it, joins, sorts and windows spill to a
    temporary folder next to ``out``. Raises :class:`DataContractError` when the data is unusable (the
    problems report says why).
    """
    import pyarrow.parquet as pq

    if not isinstance(config, CustrelConfig):
        config = load_config(config)
    t0 = time.perf_counter()
    steps = Steps(["load and check", "horizon", "stages to Parquet"], "custrel stages", progress)
    xlsx = any(x.format == "xlsx" for s in config.tables.values() if s is not None for x in s.sources or (s,))
    con = connect("duckdb")
    if memory_limit:
        spill = Path(out).resolve().parent / ".custrel_spill"
        con.con.execute(f"SET memory_limit = '{memory_limit}'; SET temp_directory = '{spill}'")
    loaded = load_tables(
        config, as_of=pd.Timestamp(as_of) if as_of else None, engine=not xlsx, con=con, progress=progress
    )
    if loaded.problems.is_fatal:
        raise DataContractError("The data is unusable: " + "; ".join(loaded.problems.fatal_reasons))
    steps.done()
    t1 = time.perf_counter()
    model = StageModel.from_config(config).fit(loaded.tables, loaded.as_of)
    steps.done()
    t2 = time.perf_counter()
    path = model.write_history(out, sort=sort)
    steps.done()
    steps.close()
    t3 = time.perf_counter()
    seconds = {"load": t1 - t0, "fit": t2 - t1, "write": t3 - t2, "total": t3 - t0}
    return StagesExport(path, pq.read_metadata(path).num_rows, model, loaded, seconds)
