"""The stage history (every customer at every snapshot, with its stage and the rule that placed it).

In the engine it stays an Ibis expression: counted, filtered and written to Parquet there (:func:`write_parquet`
streams it with DuckDB's ``COPY``); :func:`to_pandas` materialises it in the public form when asked.
"""

from __future__ import annotations

import math
import shutil
import uuid
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from custrel_lib.engine import memory_limit_bytes
from custrel_lib.stages.calendar import EPOCH
from custrel_lib.stages.features import FEATURE_COLUMNS
from custrel_lib.stages.rules import RuleSet
from custrel_lib.stages.signals import features_read

#: Columns of the public stage history (``StageModel.history_``).
HISTORY_COLUMNS = ["customer_id", "snapshot", "stage", "at_risk", "ambassador"]
#: Columns written by :func:`write_parquet` (and ``custrel stages``).
EXPORT_COLUMNS = ["customer_id", "snapshot", "stage", "rule", "ambassador"]


def rule_number(rules: RuleSet, t: ibis.Table, horizon: float) -> ibis.Value:
    """The 1-based number of the first matching rule (the last rule is the catch-all), as the CASE of the stage."""
    cases = [(rules._ibis(rule.when, t, horizon), i + 1) for i, rule in enumerate(rules.rules[:-1])]
    return ibis.cases(*cases, else_=len(rules.rules))


def rule_number_pandas(rules: RuleSet, df: pd.DataFrame, horizon: float) -> pd.Series:
    """The reference of :func:`rule_number` on a pandas feature table."""
    out = pd.Series(len(rules.rules), index=df.index, dtype="int64")
    done = pd.Series(False, index=df.index)
    for i, rule in enumerate(rules.rules[:-1]):
        hit = rules._pandas(rule.when, df, horizon) & ~done
        out[hit] = i + 1
        done |= hit
    return out


def history_features(rules: RuleSet) -> list[str]:
    """The feature columns the history of ``rules`` reads: those of the rules, and the ambassador's (signal
    features such as ``p_alive`` are not columns of the feature table)."""
    return [c for c in FEATURE_COLUMNS if c in features_read(rules) | {"promoter", "referrals"}]


def staged(features: ibis.Table, rules: RuleSet, horizon: float) -> ibis.Table:
    """The feature table with ``stage``, ``rule`` and ``ambassador``."""
    t = features.mutate(
        rule=rule_number(rules, features, horizon).cast("int16"),
        ambassador=features.promoter | (features.referrals > 0),
    )
    # The stage read from the rule's number: the rules' conditions are evaluated once per row, not twice.
    stages = [(t.rule == i + 1, rule.stage) for i, rule in enumerate(rules.rules[:-1])]
    return t.mutate(stage=ibis.cases(*stages, else_=rules.rules[-1].stage))


#: The columns of a staged table that the history reads (what ``StageModel.materialize`` keeps).
STAGED_COLUMNS = ["customer_id", "snapshot_day", "stage", "rule", "ambassador"]


class SnapshotFeatures:
    """The staged feature table at one snapshot, built when asked: ``at(k)`` for the snapshot of index ``k``.

    ``build`` is :func:`~custrel_lib.stages.features_engine.features_builder`'s: one snapshot's features are a
    group-by of the events up to it, where the whole table is a window over every customer and snapshot.
    """

    def __init__(self, build, rules: RuleSet, horizon: float):
        self._build, self._rules, self._horizon = build, rules, horizon

    def at(self, k: int) -> ibis.Table:
        features, _ = self._build(at=k)
        return staged(features, self._rules, self._horizon)

    def history(self, part: tuple[int, int] | None = None) -> tuple[ibis.Table, object]:
        """The staged history from the features its rules read (:func:`history_features`), of every customer
        or of part ``(i, n)``'s, and the connection it runs on."""
        features, con = self._build(history_features(self._rules), part=part)
        return staged(features, self._rules, self._horizon), con

    @property
    def grid_rows(self) -> int:
        """At most how many rows the customer x snapshot grid has."""
        return self._build.grid_rows


#: Sizing the parts of a history (measured with ``custrel stages --memory-limit 2GB``, benchmarks/README.md): at
#: 1M customers and 36 snapshots the grid has at most 31M rows (19.6M in fact), and one query, which spills
#: little, beat four parts (39-40 s against 45-47 s); at 3M, ten parts beat one query (169 s against 230 s) and
#: three parts (235 s), because the loaded tables then hold most of the limit. So: one query while the grid's bound
#: times ``ONE_QUERY_BYTES`` fits in the limit, else parts of at most ``limit / BYTES_PER_ROW`` rows.
ONE_QUERY_BYTES = 60
BYTES_PER_ROW = 200


def n_parts(con, grid_rows: int) -> int:
    """In how many parts of customers to compute a history of at most ``grid_rows`` rows on DuckDB, for each
    part's window to fit in its memory limit (beyond it the window spills to disk, and a spilled sort of a
    large history costs far more than its share of rows). One on another engine."""
    limit = memory_limit_bytes(con)
    if not limit or grid_rows * ONE_QUERY_BYTES <= limit:
        return 1
    return math.ceil(grid_rows * BYTES_PER_ROW / limit)


def write_parts(con, parts: list[ibis.Table], folder: str | Path) -> list[Path]:
    """Stream each part to a Parquet file of ``folder`` (one query after the other)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = uuid.uuid4().hex
    files = [folder / f"staged-{stem}-{i}.parquet" for i in range(len(parts))]
    for part, file in zip(parts, files, strict=True):
        con.to_parquet(part, file)
    return files


def history_expr(stages: ibis.Table) -> ibis.Table:
    """The export form: ``customer_id, snapshot (date), stage, rule, ambassador``."""
    # DuckDB's DATE + INTERVAL is a TIMESTAMP: the double cast makes the column a date in every engine.
    snapshot = (ibis.date(EPOCH.date()) + stages.snapshot_day.as_interval("D")).cast("timestamp").cast("date")
    return stages.select(
        customer_id=stages.customer_id.cast("string"),
        snapshot=snapshot,
        stage=stages.stage,
        rule=stages.rule,
        ambassador=stages.ambassador,
    )


def public(df: pd.DataFrame, ordered: bool = False, text: str = "string") -> pd.DataFrame:
    """A history frame in the public form (dtypes, ``at_risk`` false, sorted by customer and snapshot).

    ``ordered``: ``df`` is already sorted by customer and snapshot (the engine sorted it). ``text`` is the
    dtype of ``customer_id`` and ``stage``: ``"string"``, or ``pd.StringDtype("pyarrow")`` for large
    histories (one Arrow buffer per column instead of one Python object per row: a tenth of the memory;
    it compares equal to ``"string"``).
    """
    hist = df.assign(
        customer_id=df["customer_id"].astype(text),
        snapshot=pd.to_datetime(df["snapshot"]).astype("datetime64[ns]"),
        stage=df["stage"].astype(text),
        at_risk=False,
        ambassador=df["ambassador"].astype(bool),
    )[HISTORY_COLUMNS]
    if ordered:
        return hist.reset_index(drop=True)
    return hist.sort_values(["customer_id", "snapshot"], kind="stable").reset_index(drop=True)


#: Above this many rows, :func:`to_pandas` keeps the text columns in Arrow buffers (see :func:`public`).
ARROW_ROWS = 2_000_000


def to_pandas(con, expr: ibis.Table) -> pd.DataFrame:
    """Execute a history expression (sorted by customer and snapshot in the engine) in the public form."""
    table = con.to_pyarrow(expr.drop("rule").order_by(["customer_id", "snapshot"]))
    if table.num_rows > ARROW_ROWS:
        text = pd.StringDtype("pyarrow")
        df = table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)
    else:
        text, df = "string", table.to_pandas()
    return public(df, ordered=True, text=text)


def write_parquet(con, parts: list[ibis.Table], path: str | Path, sort: bool = False) -> Path:
    """Stream a history expression, given as one or more parts of customers, to one Parquet file in the engine
    (``COPY``); ``sort`` orders it by customer and snapshot (a full sort: slower, more memory). Parts are
    written one after the other to a folder next to ``path``, then into ``path``, and the folder removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = None if len(parts) == 1 else path.parent / f".{path.name}.parts-{uuid.uuid4().hex}"
    try:
        whole = (
            parts[0]
            if folder is None
            else con.read_parquet([str(f) for f in write_parts(con, parts, folder)])
        )
        con.to_parquet(whole.order_by(["customer_id", "snapshot"]) if sort else whole, path)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return path
