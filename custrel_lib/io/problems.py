"""The problems report: every row that was rejected, repaired or flagged while loading, and why.

Invariant (checked by :mod:`custrel_lib.io.load` and the tests): for each table, rows read = rows kept + rows
rejected (+ rows excluded, where ``custrel.yml`` leaves some out: :mod:`custrel_lib.io.exclude`). A row can
carry several problems; it is counted once as rejected.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COLUMNS = ["table", "file", "row", "column", "reason", "action", "value", "message"]
#: While a table of several files loads, its rows are numbered ``k * FILE_STRIDE + row`` (k: the file's rank), so
#: they stay distinct and in order; :func:`split_files` then gives each problem row its file and its own row.
FILE_STRIDE = 10**10
#: The engine loader lists the first LISTED problem rows of each table, reason, action and column (in file order)
#: and counts the others in the engine (:attr:`ProblemsReport.totals`): a log of events whose views ``keep:``
#: leaves out has tens of millions of such rows, about 1.1 GB of pandas per million (benchmarks/README.md).
LISTED = 10_000
#: The levels of :attr:`ProblemsReport.totals` and their keys: distinct rows per table, action, reason and column,
#: and so on (a row with several problems counted once at each level).
LEVELS = {
    "column": ("table", "action", "reason", "column"),
    "reason": ("table", "action", "reason"),
    "action": ("table", "action"),
    "action_column": ("table", "action", "column"),
}

REASONS = {
    "malformed_line": "the line does not have the expected number of fields",
    "missing_customer_id": "no customer id",
    "missing_value": "a required value is empty",
    "unparseable_date": "the date cannot be read with the expected format",
    "date_out_of_range": "the date is before 1900 or after 2262",
    "non_numeric_amount": "the amount is not a number",
    "non_numeric_value": "the value is not a number",
    "invalid_value": "the value is outside its allowed set or range",
    "duplicate_order_id": "an earlier row has the same order id",
    "order_id_other_customer": "an earlier line of the order belongs to another customer",
    "duplicate_customer_id": "an earlier row describes the same customer",
    "future_date": "the date is after the extraction date (as_of)",
    "unknown_customer": "the customer is in neither the customers nor the transactions table",
    "not_in_customers": "the customer buys but is missing from the customers table",
    "duplicate_row": "the row repeats an earlier one without order id (kept)",
    "order_total_repeated": "every line of the order carries one amount, as in most orders (kept, summed)",
    "id_case": "the customer id differs from an earlier one only by letter case (kept, another customer)",
    "contract_order": "the contract ends before it starts (both contract dates emptied)",
    "excluded": "custrel.yml's exclude: names this value of the row (left out on purpose, not an error)",
}


@dataclass
class ProblemsReport:
    """Rows rejected (not kept), repaired (kept, value fixed or emptied), flagged (kept as is) or excluded (left
    out by the configuration's ``exclude:``)."""

    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLUMNS))
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    max_rejected_share: float = 0.5
    #: When ``rows`` lists only the first :data:`LISTED` rows of each table, reason, action and column (engine
    #: loader): distinct rows per ``level`` of :data:`LEVELS` (columns table, reason, action, column, level,
    #: rows; reason or column empty above their level), and ``n_rows``, the problem rows in all. None: every
    #: problem row is in ``rows``.
    totals: pd.DataFrame | None = None
    n_rows: int | None = None

    def _distinct(self, level: str, **where: str) -> pd.DataFrame:
        """Distinct rows per the keys of ``level`` (:data:`LEVELS`), filtered by ``where``; column ``rows``."""
        keys = list(LEVELS[level])
        if self.totals is not None:
            frame = self.totals[self.totals["level"] == level]
        elif self.rows.empty:
            return pd.DataFrame(columns=[*keys, "rows"])
        else:
            frame = self.rows.assign(_key=row_keys(self.rows)).groupby(keys, sort=True)["_key"].nunique()
            frame = frame.rename("rows").reset_index()
        for key, value in where.items():
            frame = frame[frame[key] == value]
        return frame[[*keys, "rows"]].reset_index(drop=True)

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame):
            frame = frame.reindex(columns=COLUMNS)
            self.rows = frame if self.rows.empty else pd.concat([self.rows, frame], ignore_index=True)

    def set_counts(self, table: str, read: int, kept: int, excluded: int | None = None) -> None:
        """``excluded``: rows left out by ``exclude:`` (``None``: the table has no such rule, no count)."""
        rejected = read - kept - (excluded or 0)
        for action, n in (("rejected", rejected), ("excluded", excluded or 0)):
            n_rows = int(self._distinct("action", table=table, action=action)["rows"].sum())
            if n_rows != n:
                raise AssertionError(
                    f"{table}: {read} read, {kept} kept, but {n_rows} rows reported {action}"
                )
        self.counts[table] = {"read": read, "kept": kept, "rejected": rejected}
        if excluded is not None:
            self.counts[table]["excluded"] = excluded

    def rows_rejected(self, table: str) -> int:
        return self.counts.get(table, {}).get("rejected", 0)

    @property
    def summary(self) -> pd.DataFrame:
        """Problems counted per table, reason and action."""
        if self.rows.empty:
            return pd.DataFrame(columns=["table", "reason", "action", "column", "rows"])
        keys = ["table", "reason", "action"]
        columns = self._distinct("column").groupby(keys, sort=True)["column"]
        columns = columns.agg(lambda s: ", ".join(sorted(set(map(str, s))))).reset_index()
        out = columns.merge(self._distinct("reason"), on=keys, how="left", validate="one_to_one")
        return out.sort_values(keys, kind="stable").reset_index(drop=True)

    def rows_by_column(self, table: str, action: str) -> dict[str, int]:
        """Distinct rows of ``table`` per column for ``action`` (every reason), most first."""
        frame = self._distinct("action_column", table=table, action=action)
        counts = frame.set_index("column")["rows"].sort_values(ascending=False, kind="stable")
        return {str(c): int(n) for c, n in counts.items()}

    @property
    def total_rows(self) -> int:
        """Problem rows in all (``rows`` may list only the first of each kind: :data:`LISTED`)."""
        return len(self.rows) if self.n_rows is None else self.n_rows

    def messages(self, width: int = 400) -> list[tuple[str, str, str, str]]:
        """``(table, reason, column, message)`` once per table, reason and column: the first row's message (the
        same on every row, but for DuckDB's malformed lines), where hints such as the ids' spelling live."""
        if self.rows.empty:
            return []
        first = self.rows.drop_duplicates(["table", "reason", "column"]).sort_values(
            ["table", "reason", "column"]
        )
        out = []
        for r in first.itertuples(index=False):
            text = str(r.message)
            out.append((r.table, r.reason, r.column, text if len(text) <= width else text[: width - 1] + "…"))
        return out

    @property
    def fatal_reasons(self) -> list[str]:
        """Why the required data is unusable (empty when it is usable)."""
        reasons = []
        tx = self.counts.get("transactions")
        if tx is None:
            reasons.append("the transactions table was not loaded")
        elif tx["kept"] == 0:
            reasons.append("no transaction row could be kept")
        elif tx["rejected"] / max(tx["read"] - tx.get("excluded", 0), 1) > self.max_rejected_share:
            reasons.append(
                f"{tx['rejected']:,} of {tx['read'] - tx.get('excluded', 0):,} transaction rows were rejected "
                f"(more than {self.max_rejected_share:.0%})"
            )
        return reasons

    @property
    def is_fatal(self) -> bool:
        return bool(self.fatal_reasons)

    def unusable_message(self) -> str:
        """Why the transactions cannot be analysed, with the reason most rows were rejected for and its message."""
        out = f"The transactions are unusable: {'; '.join(self.fatal_reasons)}."
        rows = self.rows
        rejected = (
            rows[(rows["table"] == "transactions") & (rows["action"] == "rejected")] if len(rows) else rows
        )
        if len(rejected):
            top = self._distinct("column", table="transactions", action="rejected")
            top = top.set_index(["reason", "column"])["rows"].sort_values(ascending=False, kind="stable")
            (reason, column), n = top.index[0], int(top.iloc[0])
            example = rejected[(rejected["reason"] == reason) & (rejected["column"] == column)].iloc[0]
            out += (
                f" Most were rejected for {reason} in column {column} ({n:,} rows; {example['file']}, row "
                f"{example['row']}: {example['value']!r}): {example['message']}."
            )
        return out + " `custrel validate` lists every rejected row."

    def counts_frame(self) -> pd.DataFrame:
        columns = ["table", "read", "kept", "rejected"]
        columns += ["excluded"] if any("excluded" in c for c in self.counts.values()) else []
        frame = pd.DataFrame([{"table": t, **c} for t, c in self.counts.items()], columns=columns)
        return (
            frame.astype({"excluded": "Int64"}) if "excluded" in frame else frame
        )  # no rule: empty, not 2.0

    def to_text(self, max_rows: int = 20) -> str:
        """Plain-text tables for the terminal."""
        counts = self.counts_frame().astype(object)
        parts = ["Rows per table:", counts.where(counts.notna(), "-").to_string(index=False)]
        if self.rows.empty:
            parts.append("\nNo problem found.")
        else:
            parts += ["\nProblems by reason:", self.summary.to_string(index=False), "\nWhat they say:"]
            parts += [f"  {t} {reason} ({column}): {m}" for t, reason, column, m in self.messages()]
            shown = self.rows.head(max_rows)[["table", "file", "row", "column", "reason", "action", "value"]]
            parts += [
                f"\nFirst {len(shown)} of {self.total_rows:,} problem rows:",
                shown.to_string(index=False),
            ]
        for reason in self.fatal_reasons:
            parts.append(f"\nUNUSABLE: {reason}.")
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        def table(df: pd.DataFrame) -> str:
            # Raw values come from the data: escaped, never live HTML.
            return df.to_html(index=False, escape=True, na_rep="")

        body = [f"<p><b>Rows per table</b></p>{table(self.counts_frame())}"]
        if self.rows.empty:
            body.append("<p>No problem found.</p>")
        else:
            body.append(f"<p><b>Problems by reason</b></p>{table(self.summary)}")
            said = "".join(
                f"<li>{html.escape(f'{t} {reason} ({column})')}: {html.escape(m)}</li>"
                for t, reason, column, m in self.messages()
            )
            body.append(f"<p><b>What they say</b></p><ul>{said}</ul>")
            body.append(
                f"<p><b>First problem rows</b> (of {self.total_rows:,})</p>{table(self.rows.head(20))}"
            )
        for reason in self.fatal_reasons:
            body.append(f"<p style='color:#b00020'><b>Unusable:</b> {html.escape(reason)}.</p>")
        return "<div class='custrel-problems'>" + "".join(body) + "</div>"


def row_keys(rows: pd.DataFrame) -> pd.Series:
    """One number per distinct row of a file: rows of two files of a table are two rows, even at one number."""
    files = pd.Categorical(rows["file"].astype(str)).codes.astype("int64")
    return pd.Series(files * FILE_STRIDE + rows["row"].astype("int64").to_numpy(), index=rows.index)


def split_files(problems: ProblemsReport, table: str, files: list[str]) -> None:
    """The problem rows of a table of several ``files`` (numbered across them, :data:`FILE_STRIDE`): each
    row's file, and its row in that file."""
    rows = problems.rows
    at = (rows["table"] == table).to_numpy()
    if len(files) < 2 or not at.any():
        return
    number = rows.loc[at, "row"].astype("int64").to_numpy()
    rows.loc[at, "file"] = pd.Series(files, dtype=object).to_numpy()[number // FILE_STRIDE]
    rows.loc[at, "row"] = number % FILE_STRIDE


def file_names(paths: tuple[Path, ...] | list[Path]) -> list[str]:
    """How the problems report names each file of a table: its name, or, when two files share a name (one per
    monthly folder), its path from the folder that holds them all."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    root = Path(os.path.commonpath([str(p.parent) for p in paths]))
    return [p.relative_to(root).as_posix() for p in paths]


def files_label(paths: tuple[Path, ...] | list[Path]) -> str:
    """A table's file, or its files: the first and the last, and how many (``v_01.csv … v_12.csv (12)``)."""
    names = file_names(paths)
    return names[0] if len(names) == 1 else f"{names[0]} … {names[-1]} ({len(names)})"
