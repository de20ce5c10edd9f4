"""The stage history (every customer at every snapshot, with its stage and the rule that placed it).

In the engine it stays an Ibis expression: counted, filtered and written to Parquet there (:func:`write_parquet`
streams it with DuckDB's ``COPY``); :func:`to_pandas` materialises it in the public form when asked.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

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
    return features.mutate(
        stage=rules.compile(features, horizon),
        rule=rule_number(rules, features, horizon).cast("int16"),
        ambassador=features.promoter | (features.referrals > 0),
    )


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


def write_parquet(con, expr: ibis.Table, path: str | Path, sort: bool = False) -> Path:
    """Stream a history expression to a Parquet file in the engine (``COPY``); ``sort`` orders it by customer
    and snapshot (a full sort: slower, more memory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con.to_parquet(expr.order_by(["customer_id", "snapshot"]) if sort else expr, path)
    return path
