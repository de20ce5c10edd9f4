"""The engine loader lists the first problem rows of each kind and counts the others in the engine.

A web log read with ``keep: {event_type: [purchase]}`` leaves out nine rows in ten; an export with anonymous
visits rejects millions of rows without a customer id. Listing each of them in pandas took about 1.1 GB per
million rows (benchmarks/README.md, "the cost of keep:"). The engine now brings back the first
:data:`~custrel_lib.io.problems.LISTED` rows of each table, action, reason and column, and counts every row in
the engine: the counts, the summary, the figures of the reports and the messages are those of the pandas loader,
which lists every row.
"""

from __future__ import annotations

import pandas as pd
import pytest

from custrel_lib.io.load import load_tables
from custrel_lib.reports.data_note import data_figures

LISTED = 4
KEYS = ["table", "action", "reason", "column"]


def _log(folder, n: int, start: int) -> None:
    """Events of a web log: views and carts (left out by keep:), purchases, some without a customer or a date."""
    rows = []
    for i in range(start, start + n):
        kind = ("view", "view", "cart", "purchase", "purchase")[i % 5]
        customer = "" if i % 7 == 0 else f"U{i % 40}"
        day = "pas une date" if i % 11 == 0 else f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
        rows.append({"event_time": day, "event_type": kind, "user_id": customer, "price": f"{i % 50 + 0.5}"})
    pd.DataFrame(rows).to_csv(folder / f"events_{start}.csv", index=False)


@pytest.fixture
def loads(tmp_path, monkeypatch):
    _log(tmp_path, 300, 0)
    _log(tmp_path, 200, 300)
    (tmp_path / "custrel.yml").write_text(
        "tables:\n  transactions:\n    path: [events_0.csv, events_300.csv]\n"
        "    columns: {customer_id: user_id, date: event_time, amount: price}\n"
        "    keep: {event_type: [purchase]}\n"
        "analysis: {as_of: 2024-12-31, max_rejected_share: 0.9}\n",
        encoding="utf-8",
    )
    pandas_load = load_tables(tmp_path / "custrel.yml")
    monkeypatch.setattr("custrel_lib.io.scan.LISTED", LISTED)
    return pandas_load, load_tables(tmp_path / "custrel.yml", engine=True)


def test_the_engine_counts_every_problem_row_and_lists_the_first_of_each_kind(loads):
    pandas_load, engine_load = loads
    every, listed = pandas_load.problems, engine_load.problems
    assert every.totals is None and listed.totals is not None
    assert listed.counts == every.counts
    assert every.counts["transactions"]["excluded"] == 300  # views and carts: 3 of every 5 events
    pd.testing.assert_frame_equal(listed.summary, every.summary, check_dtype=False)
    assert listed.messages() == every.messages()
    assert listed.total_rows == len(every.rows) > len(listed.rows)
    # the rows listed are the first of each kind, in file order, each at its own file and row
    first = every.rows.groupby(KEYS, sort=False).head(LISTED).reset_index(drop=True)
    pd.testing.assert_frame_equal(listed.rows, first, check_dtype=False)
    assert set(listed.rows["file"]) == {"events_0.csv"}  # the first file holds the first of each kind
    assert f"of {len(every.rows):,} problem rows" in listed.to_text()
    files = {"transactions": "events_0.csv"}
    assert data_figures(listed, files) == data_figures(every, files)
    assert listed.rows_by_column("transactions", "excluded") == {"event_type": 300}
    assert listed.rows_by_column("transactions", "rejected") == every.rows_by_column(
        "transactions", "rejected"
    )


def test_an_unusable_log_says_the_same_reason_from_the_counts(tmp_path, monkeypatch):
    _log(tmp_path, 400, 0)
    (tmp_path / "custrel.yml").write_text(
        "tables:\n  transactions:\n    path: events_0.csv\n"
        "    columns: {customer_id: user_id, date: event_time, amount: price}\n"
        "analysis: {as_of: 2024-12-31, max_rejected_share: 0.1}\n",
        encoding="utf-8",
    )
    every = load_tables(tmp_path / "custrel.yml").problems
    monkeypatch.setattr("custrel_lib.io.scan.LISTED", LISTED)
    listed = load_tables(tmp_path / "custrel.yml", engine=True).problems
    assert listed.totals is not None and every.is_fatal and listed.is_fatal
    assert listed.unusable_message() == every.unusable_message()
    assert "Most were rejected for missing_customer_id" in every.unusable_message()
