"""``custrel init``: a first ``custrel.yml`` written from the user's files, to read and correct.

Each file is read as the loaders read it (encoding, separator, Excel's ``sep=`` line, a title above the header)
but only its first :data:`HEAD_ROWS` rows. Which table a file holds and which column is which are guesses
(:mod:`custrel_lib.io.guess`); the file written says what was guessed and from what, and what to check. It is
a starting point: ``custrel validate`` then reads the whole files with it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from json import dumps
from pathlib import Path

import pandas as pd

from custrel_lib.config import FORMATS, TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import TABLES, is_constant
from custrel_lib.io.day_numbers import DAY_ZERO, day_numbers, days_note
from custrel_lib.io.event_log import as_event_log, status_rule
from custrel_lib.io.event_log import order_lines as _order_lines
from custrel_lib.io.event_log import rule_line as _rule
from custrel_lib.io.guess import (
    guess_by_values,
    guess_columns,
    missing_required,
    visit_log_instead,
    why,
    yaml_columns,
)
from custrel_lib.io.header import values_not_names
from custrel_lib.io.heads import HEAD_ROWS, read_head, sheet_names
from custrel_lib.io.init_notes import (
    credit_rows,
    currency_note,
    currency_of,
    customer_summary,
    names_as_ids,
    quantity_as_amount,
    returns_file,
    scale_note,
    summary_id,
    summary_note,
    visits_note,
)
from custrel_lib.io.surveys import interactions_by_name, second_header, survey_export, unknown_types


@dataclass
class FileGuess:
    """What one file seems to hold."""

    path: Path
    table: str
    columns: dict[str, str]
    skip_rows: int = 0
    order_lines: bool = False
    exclude: dict[str, list[str]] = field(default_factory=dict)
    keep: dict[str, list[str]] = field(default_factory=dict)  # an event log's purchases (io/event_log.py)
    days: str | None = None  # the column of day numbers read as the dates (guess.day_numbers)
    drop: dict[str, list[str]] = field(default_factory=dict)  # rows an export adds, left out (io/surveys.py)
    type_values: dict[str, str] = field(default_factory=dict)  # a help desk's ticket types (io/surveys.py)
    sheet: str | list[str] | None = None  # a workbook's sheet, or sheets of one table (init_items)
    currency_rule: dict[str, list[str]] = field(default_factory=dict)  # amounts in several currencies
    notes: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)  # the file's columns no canonical column reads
    head: pd.DataFrame | None = field(default=None, repr=False)  # the rows the guesses read
    header: bool = True  # False: the first line is a row of values; columns are positions (1 for the first)
    amounts: bool = True  # False: transactions without amounts (a date and an id only: guess.visit_log)
    joins: list[tuple[Path, str]] = field(default_factory=list)  # join: (io/relational.py)
    more: list[Path] = field(default_factory=list)  # the table's other files, read alike (monthly exports)


class UnrecognisedFile(DataContractError):
    """A file in which no table is recognised (``custrel init`` passes over it when it reads several);
    ``columns``: the file's."""

    columns: list[str]


def _fits(table: str, mapping: dict[str, str]) -> bool:
    return not missing_required(table, mapping)


def _mapping(table: str, columns: list[str], head: pd.DataFrame | None) -> dict[str, str]:
    """:func:`guess_columns`, and a survey export's scores without a type column read as NPS answers."""
    mapping = guess_columns(table, columns, head)
    if table == "interactions" and "type" not in mapping and "score" in mapping:
        mapping["type"] = "=nps"
    return mapping


def _guess_table(columns: list[str], head: pd.DataFrame) -> tuple[str, dict[str, str]] | None:
    """The table whose required columns the file holds, the one that maps the most columns (transactions,
    then interactions, then customers when they tie); an NPS export without a type column is interactions."""
    options = []
    for table in TABLES:
        mapping = _mapping(table, columns, head)
        if _fits(table, mapping):
            rank = -("transactions", "interactions", "customers").index(table)
            read = sum(not is_constant(v) for v in mapping.values())  # type: "=nps" reads no column
            options.append((read, rank, table, mapping))
    if not options:
        return None
    _, _, table, mapping = max(options)
    return table, mapping


def _header_line(path: Path, sheet=None) -> int | None:
    """The lines above the header when a title comes first: the first of the top lines whose fields hold the
    required columns of a table, by their names."""
    from custrel_lib.io.header import top_rows

    spec = TableSpec(
        name="transactions", path=path, format=FORMATS.get(path.suffix.lower(), "csv"), sheet=sheet
    )
    for k, fields in enumerate(top_rows(spec)):
        names = [str(f) for f in fields]
        if any(_fits(t, _mapping(t, names, None)) for t in ("transactions", "interactions")):
            return k
    return None


def guess_file(path: Path, table: str | None = None, sheet: str | None = None) -> FileGuess:
    """Read the head of ``path`` (of a workbook's ``sheet``) and guess its table (unless given) and columns."""
    head, skip = read_head(path, sheet=sheet)
    columns = [str(c) for c in head.columns]
    head, days = day_numbers(columns, head) if table in (None, "transactions") else (head, None)
    chosen = (table, _mapping(table, columns, head)) if table else _guess_table(columns, head)
    if (chosen is None or not _fits(*chosen)) and path.suffix.lower() != ".parquet":
        below = _header_line(path, sheet)
        if below:
            head, skip = read_head(path, below, sheet=sheet)
            columns = [str(c) for c in head.columns]
            chosen = (table, _mapping(table, columns, head)) if table else _guess_table(columns, head)
    header = True
    if (
        (chosen is None or not _fits(*chosen))
        and path.suffix.lower() != ".parquet"
        and values_not_names(columns)
    ):
        header = False  # the first line is a row of values (CDNOW's text files): columns by their position
        head, skip = read_head(path, 0, header=False)
        columns = list(head.columns)
        if table in (None, "transactions"):
            chosen = ("transactions", guess_by_values(columns, head))
        else:
            chosen = (table, {})
    chosen, keep, visits, drop = (
        _read_otherwise(chosen, table, columns, head, path.stem) if header else (chosen, {}, None, None)
    )
    if chosen is None:
        error = UnrecognisedFile(
            f"{path}: no column reads as a customer id with a date and an amount, nor as a customer list or "
            f"interactions (columns: {', '.join(columns)[:300]}). Name the table (custrel init "
            f"transactions={path.name}) or write custrel.yml by hand (docs/data_contract.md)."
        )
        error.columns, error.head = columns, head
        raise error
    name, mapping = chosen
    guess = FileGuess(
        path,
        name,
        mapping,
        skip_rows=skip,
        head=head,
        header=header,
        amounts=not visits or "amount" in visits,
        keep=keep,
        days=days if days in mapping.values() else None,
        drop=drop[0] if drop else {},
        sheet=sheet,
    )
    guess.notes += [drop[1]] if drop else []
    if not header:
        guess.notes.append("the first line is a row of values, not column names: columns by their position")
    if FORMATS.get(path.suffix.lower()) == "xlsx" and sheet is None:
        sheets = sheet_names(path)
        if len(sheets) > 1:
            guess.notes.append(
                f"only the first sheet is read; the workbook also has {', '.join(map(repr, sheets[1:]))}: "
                "sheet: '*' reads every sheet, one after the other"
            )
    guess.unused = [c for c in columns if c not in mapping.values() and c not in keep]
    guess.notes += [days_note(guess.days, head)] if guess.days else []
    guess.notes += [n for n in [visits_note(guess, visits, head) if visits else ""] if n]
    for canonical in missing_required(name, mapping) if guess.amounts else ():
        guess.notes.append(f"no column found for {canonical}: map it by hand (columns: {', '.join(columns)})")
    if mapping.get("type") == "=nps":
        guess.notes.append(scale_note(guess, head))
    if name == "transactions":
        _order_lines(guess, head)
        guess.exclude = status_rule(head, columns, [*guess.columns.values(), *guess.keep])
        credit_rows(guess, head)
        returns_file(guess, head, path.stem)
        quantity_as_amount(guess, head)
        currency_note(guess, head)
    unknown_types(guess)
    names_as_ids(guess, head)
    return guess


def _read_otherwise(chosen, table: str | None, columns: list[str], head: pd.DataFrame, stem: str = ""):
    """``(chosen, keep, visits, drop)`` for a file read otherwise than its names alone say: a survey platform's
    answers (io/surveys.py: ``drop``, its rules and note), a log of events (``keep:`` its purchases), a log without
    amounts (``visits``, guess.visit_log), a file of one row per customer with totals (the customers table), a
    list of complaints, tickets, referrals or reviews named so (io/surveys.py: interactions of that type)."""
    read = _read_as_transactions(chosen, table, columns, head)
    named = interactions_by_name(stem, columns, head, read[0]) if table is None else None
    if named:
        return named[0], {}, None, ({}, named[1])
    if read[0] is not None and read[0][0] == "interactions" and not read[3]:
        second = second_header(read[0][1], head)  # SurveyMonkey's second header line
        return (*read[:3], second) if second else read
    totals = customer_summary(columns, head, read[0][1]) if table is None and read[0] is not None else []
    if read[0] is not None and read[0][0] == "transactions" and totals:
        mapping = summary_id(columns, head, _mapping("customers", columns, head))
        return ("customers", mapping), {}, None, ({}, summary_note(totals))
    return read


def _read_as_transactions(chosen, table: str | None, columns: list[str], head: pd.DataFrame):
    survey = survey_export(table, columns, head)
    if survey:
        return survey[0], {}, None, survey[1:]
    logged = as_event_log(table, columns, head)
    if logged:
        return (*logged[:3], None)
    visits = visit_log_instead(chosen, table, columns, head)
    return ("transactions", visits) if visits else chosen, {}, visits, None


def write_config(guesses: list[FileGuess], out: Path, lang: str) -> str:
    """The text of ``custrel.yml`` for ``guesses``, with paths relative to ``out``'s folder."""
    tables = [g.table for g in guesses]
    guesses = _one_per_table(guesses)
    if "transactions" not in tables:
        raise DataContractError(
            "None of the files looks like the transactions table, the one custrel needs (a customer id, a date and "
            "an amount on each row): name it (custrel init transactions=ventes.csv ...). When a purchase is spread "
            "over several files (orders, their lines, customers: a relational export such as Olist's), write the "
            'transactions table with join: (docs/data_contract.md, "Columns from other files"). Read: '
            + "; ".join(f"{_name(g)} as {g.table} ({', '.join(g.columns.values())})" for g in guesses)
            + "."
        )
    base = out.resolve().parent
    lines = [
        f"# custrel.yml written by custrel init on {_dt.date.today():%Y-%m-%d} from the first {HEAD_ROWS:,} rows of "
        "each file.",
        "# Every mapping below is a guess from the column names and values: check each one, then run",
        f"#   custrel validate --config {out}",
        "# Every setting is explained in docs/data_contract.md of custrel.",
        f"language: {lang}",
    ]
    currency = currency_of(guesses)
    if currency:
        lines.append(f"currency: {dumps(currency, ensure_ascii=False)}")
    elif all(g.amounts for g in guesses if g.table == "transactions"):
        lines.append(
            '# currency: "$"  # no sign or code in the amounts: the reports write € unless it is set'
        )
    lines.append("tables:")
    guesses = sorted(guesses, key=lambda g: TABLES.index(g.table))
    for g in guesses:
        several = [x for x in guesses if x.table == g.table]
        if len(several) == 1:
            lines += [f"  {g.table}:", *_block(g, base)]
            continue
        if g is several[0]:  # a table of several sources, each read its own way: a list of blocks
            lines += [
                f"  {g.table}:  # {len(several)} sources, each with its columns: their rows one after the other"
            ]
            if g.table == "transactions":
                lines.append(f"  # {SALES_SOURCES}")
        block = [line.replace("\n", "\n  ") for line in _block(g, base)]
        lines += ["    - " + block[0].lstrip(), *("  " + line for line in block[1:])]
    absent = [t for t in TABLES if t not in tables]
    if absent:
        lines.append(
            f"# Without {' and '.join(absent)}, the sections that need them are skipped, each saying why "
            "(add a table with: custrel init <files> or by hand)."
        )
    return "\n".join(lines) + "\n"


#: What init says of transactions read from files of different columns.
SALES_SOURCES = (
    "check that no sale is in two of them (an export of the same sales twice), and that their order ids do "
    "not collide: an id in two sources is a duplicate order, rejected"
)


def _block(g: FileGuess, base: Path) -> list[str]:
    """The lines of a table's block (its path, columns, settings and notes), indented under its name."""
    where = [dumps(_relative(p, base), ensure_ascii=False) for p in (g.path, *g.more)]
    path = where[0] if len(where) == 1 else f"[{', '.join(where)}]  # read one after the other"
    lines = [f"    path: {path}"]
    if not g.header:
        lines.append("    header: false  # columns by position, 1 for the first")
    lines.append(f"    columns: {yaml_columns(g.columns, positions=not g.header)}")
    for canonical, column in g.columns.items():
        if not g.header:
            values = ", ".join(map(str, g.head[column].head(3))) if g.head is not None else ""
            lines.append(f"    #   {canonical:<19} <- column {column} ({values}, ...; guessed from values)")
        elif why(canonical, column):
            lines.append(f"    #   {canonical:<19} <- {column!r}{why(canonical, column)}")
    if g.unused:
        unused = ", ".join(g.unused) if not g.header else ", ".join(map(repr, g.unused))
        lines.append(f"    #   not read: {'columns ' if not g.header else ''}{unused[:200]}")
    lines += _settings(g, base)
    lines += [f"    # {note}" for note in g.notes]
    return lines


def _settings(g: FileGuess, base: Path) -> list[str]:
    """The settings of a table's block after its columns (the lines above the header, joins, formats, rules)."""
    lines: list[str] = [f"    sheet: {dumps(g.sheet, ensure_ascii=False)}"] if g.sheet is not None else []
    if g.skip_rows:
        lines.append(f"    skip_rows: {g.skip_rows}  # the lines above the header (a title, sep=)")
    for k, (file, key) in enumerate(g.joins):
        at = dumps(_relative(file, base), ensure_ascii=False)
        lines.append(
            ("    join:\n" if not k else "") + f"      - {{path: {at}, on: {dumps(key, ensure_ascii=False)}}}"
        )
    if g.days:
        lines.append(f'    date_format: "days since {DAY_ZERO}"  # {g.days!r} holds day numbers: see below')
    if g.order_lines:
        lines.append("    order_lines: true")
    if not g.amounts:
        lines.append("    amounts: false  # no amounts: each row one purchase; the reports show no money")
    lines += [f"    keep: {_rule(g.keep)}  # a log of events: only these are purchases"] if g.keep else []
    lines += (
        [f"    exclude: {_rule(g.drop)}  # the lines the export writes under its header"] if g.drop else []
    )
    lines += (
        [f"    # exclude: {_rule(g.exclude)}  # to leave these orders out, remove the #"] if g.exclude else []
    )
    if g.currency_rule:
        lines.append(
            f"    # keep: {_rule(g.currency_rule)}  # one currency only: remove the # (see the warning)"
        )
    if g.type_values:
        said = ", ".join(f"{dumps(k, ensure_ascii=False)}: {v}" for k, v in g.type_values.items())
        lines.append(f"    # values: {{type: {{{said}}}}}  # to read these types so, remove the #")
    return lines


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def _one_per_table(guesses: list[FileGuess]) -> list[FileGuess]:
    """Files that look like one table and are read alike (the same columns, header, title lines) are that
    table's files, one after the other (monthly exports). Interactions or transactions read differently (NPS
    answers in one file, a list of complaints in another; the shop's orders and the stores' receipts) are that
    table's sources, each with its columns; two customer lists read differently are refused (a join, not rows
    one after the other)."""
    out: list[FileGuess] = []
    read = ("columns", "unused", "header", "skip_rows")
    for g in guesses:
        same = [x for x in out if x.table == g.table]
        first = next((x for x in same if all(getattr(g, a) == getattr(x, a) for a in read)), None)
        alike = g.table == "interactions" or (  # transactions alike: in lines, with amounts, or not
            g.table == "transactions"
            and all((g.order_lines, g.amounts) == (x.order_lines, x.amounts) for x in same)
        )
        if first is None and same and not alike:
            raise DataContractError(
                f"{_name(same[0])} and {_name(g)} both look like the {g.table} table, but their columns "
                f"differ: name each one's table (custrel init transactions=ventes.csv customers=clients.csv), "
                "or give files of the same columns. Files related by keys (orders, their lines, customers: a "
                "relational export such as Olist's) make one table with join: (docs/data_contract.md, "
                "\"Columns from other files\"). One table written two ways (the shop's orders and the stores' "
                'receipts) is a list of blocks, one per file, each with its columns ("A table from several '
                'sources").'
            )
        if first is None:
            out.append(g)
            continue
        if g.path == first.path:  # another sheet of the workbook: the table's sheets, one after the other
            first.sheet = [*(first.sheet if isinstance(first.sheet, list) else [first.sheet]), g.sheet]
        else:
            first.more.append(g.path)
        first.order_lines |= g.order_lines
    return out


def _name(g: FileGuess) -> str:
    return g.path.name + (f" [{g.sheet}]" if isinstance(g.sheet, str) else "")
