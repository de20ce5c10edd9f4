"""How one table of ``custrel.yml`` is read (``tables.<name>``): its file or files, columns, formats, rules, or a list
of such blocks when the table comes from several sources (:func:`table_spec`; the rest of the file:
:mod:`custrel_lib.config`)."""

from __future__ import annotations

import codecs
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custrel_lib.config_checker import Checker as _Checker
from custrel_lib.io.contract import (  # data only
    AMOUNT_PARTS,
    END_REASONS,
    INTERACTION_TYPES,
    MAPPABLE,
    SCHEMA,
)

TABLE_KEYS = ("path", "format", "columns", "date_format", "sep", "decimal", "encoding", "sheet")
TABLE_KEYS += ("true_values", "false_values", "order_lines", "skip_rows", "values", "exclude", "keep")
TABLE_KEYS += ("header", "join", "amounts")
FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",  # workbooks: Excel's, old and new, and LibreOffice's, read by calamine
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".xlsb": "xlsx",
    ".ods": "xlsx",
}
SEPARATOR_NAMES = {
    "tab": "\t",
    "\\t": "\t",
    "tabulation": "\t",
    "space": " ",
    "spaces": " ",
    "whitespace": " ",
}
SEPARATOR_NAMES |= {
    "\\s+": " ",
    "blank": " ",
    "blanks": " ",
}  # " ": fields separated by runs of spaces and tabs
DECIMALS = (".", ",")


@dataclass
class TableSpec:
    """How to read one table. ``columns`` maps canonical names to the user's column names."""

    name: str
    path: Path
    format: str
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    sep: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sheet: str | int | list | None = None  # a list, or "*" (every sheet): the sheets one after the other
    true_values: list[str] | None = None
    false_values: list[str] | None = None
    order_lines: bool = False  # transactions: one row per order line (rows sharing an order_id are one order)
    amounts: bool = (
        True  # False: transactions without amounts (visits): every row one purchase, no money figure
    )
    skip_rows: int = 0  # CSV and XLSX: lines above the header (a title, an export date)
    header: bool = True  # False: no header line; columns maps to positions ("1" for the first column)
    parts: tuple[Path, ...] = ()  # every file, in order, of a table that several files hold; path: the first

    #: a table read from several sources, each with its own columns and reading (a YAML list of table blocks):
    #: every source, the first included (this spec's other fields are the first's); empty for one source
    sources: tuple[TableSpec, ...] = ()

    @property
    def files(self) -> tuple[Path, ...]:
        """The table's files: those of every source, else ``parts``, else ``path``."""
        if self.sources:
            return tuple(f for s in self.sources for f in s.files)
        return self.parts or (self.path,)

    @property
    def leaves_out(self) -> bool:
        """Whether rows are left out by ``exclude:`` or ``keep:`` (of any source)."""
        return any(s.exclude or s.keep for s in self.sources or (self,))

    #: column -> {a value of the file, lower case: the value custrel reads} (``Impayé: involuntary``)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    #: column of the file -> values, lower case, whose rows are left out (``order_status: [canceled]``)
    exclude: dict[str, list[str]] = field(default_factory=dict)
    #: column of the file -> values, lower case, the only ones whose rows are kept (``event_type: [purchase]``)
    keep: dict[str, list[str]] = field(default_factory=dict)
    #: (file, key column): files whose columns each row takes from their row of the same key (io/joins.py)
    joins: list[tuple[Path, str]] = field(default_factory=list)


def _columns(c: _Checker, name: str, columns: Any, header: bool = True, at: str = "") -> dict[str, str]:
    where = f"tables.{name}{at}.columns"
    columns = c.mapping(where, columns, "contract name: your column name")
    c.keys(where, columns, MAPPABLE[name])
    out = {key: c.text(f"{where}.{key}", value, "your column name (text)") for key, value in columns.items()}
    for key, value in out.items() if not header else ():  # positions: 1 for the first column
        if not value.startswith("=") and not (value.isdigit() and int(value) >= 1):
            raise c.fail(
                f"{where}.{key}",
                f"must be a column position (1 for the first) with header: false, not {value!r}.",
            )
    for key, value in out.items():  # a constant (=...) fills a text column, never an id, a date or a number
        if value.startswith("=") and key in SCHEMA[name] and SCHEMA[name][key][0] != "str":
            raise c.fail(
                f"{where}.{key}", f"must name a column: a constant ({value}) fills text columns only."
            )
    seen: dict[str, str] = {}
    for key, value in out.items():
        if value in seen:
            raise c.fail(f"{where}.{key}", f"maps to {value!r}, already mapped to {seen[value]}.")
        seen[value] = key
    return out


def _sources(c: _Checker, data_dir: Path, name: str, items: list) -> TableSpec:
    """A table read from several sources (a list of table blocks, each with its own path, columns, formats)."""
    if not items:
        raise c.fail(f"tables.{name}", "is an empty list: give its file (path: ...), or one block per file.")
    specs = tuple(table_spec(c, data_dir, name, item, f"[{k}]") for k, item in enumerate(items))
    for key in ("order_lines", "amounts") if len(specs) > 1 else ():
        if len({getattr(s, key) for s in specs}) > 1:
            raise c.fail(f"tables.{name}", f"lists sources whose {key} differ: one table, one {key}.")
    return specs[0] if len(specs) == 1 else dataclasses.replace(specs[0], sources=specs)


def table_spec(c: _Checker, data_dir: Path, name: str, spec: Any, at: str = "") -> TableSpec:
    where = f"tables.{name}{at}"
    if isinstance(spec, list) and not at:
        return _sources(c, data_dir, name, spec)
    if isinstance(spec, str):
        spec = {"path": spec}
    spec = c.mapping(where, spec, "path: file.csv, columns: ...")
    c.keys(where, spec, TABLE_KEYS)
    if spec.get("path") is None:
        raise c.fail(f"{where}.path", "is missing: every table needs the path of its file.")
    files = c.paths(f"{where}.path", spec["path"], data_dir)  # several: the table's rows, file after file
    file = files[0]
    fmt = spec.get("format") or FORMATS.get(file.suffix.lower())
    if fmt is None:
        raise c.fail(
            f"{where}.format",
            f"is needed: cannot tell the format of {file.name}; use csv, parquet, xlsx (a workbook).",
        )
    if not spec.get("format") and any(FORMATS.get(f.suffix.lower()) != fmt for f in files):
        raise c.fail(f"{where}.path", "names files of different formats: one table, one format.")
    c.choice(f"{where}.format", fmt, ("csv", "parquet", "xlsx"))
    sep = spec.get("sep")
    if sep is not None:
        sep = SEPARATOR_NAMES.get(str(sep).lower(), str(sep))
        if len(sep) != 1 or sep in ('"', "\n", "\r"):
            raise c.fail(
                f"{where}.sep", f"must be one character, 'tab' or 'whitespace', not {spec['sep']!r}."
            )
    decimal = spec.get("decimal")
    if decimal is not None:
        c.choice(f"{where}.decimal", str(decimal), DECIMALS)
    encoding = spec.get("encoding")
    if encoding is not None:
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            raise c.fail(
                f"{where}.encoding", f"{encoding!r} is not a known encoding (e.g. utf-8, cp1252, latin-1)."
            ) from None
    date_format = c.date_format(f"{where}.date_format", spec.get("date_format"))
    order_lines = c.transactions_flag(where, spec, name, "order_lines", False)
    amounts = c.transactions_flag(where, spec, name, "amounts", True)
    skip_rows, header, sheet = c.layout(where, spec, fmt)
    columns = _columns(c, name, spec.get("columns"), header, at)
    if not amounts and (mapped := [k for k in ("amount", *AMOUNT_PARTS) if k in columns]):
        raise c.fail(f"{where}.amounts", f"is false (no amounts in the file), but columns maps {mapped[0]}.")
    text = tuple(col for col, (kind, _) in SCHEMA[name].items() if kind == "str")
    allowed = {"end_reason": END_REASONS, "type": tuple(INTERACTION_TYPES)}
    values = c.value_words(f"{where}.values", spec.get("values"), text, allowed)
    return TableSpec(
        name=name,
        path=file,
        parts=tuple(files) if len(files) > 1 else (),
        format=fmt,
        columns=columns,
        date_format=date_format,
        sep=sep,
        decimal=str(decimal) if decimal is not None else None,
        encoding=str(encoding) if encoding is not None else None,
        sheet=sheet,
        true_values=c.spellings(f"{where}.true_values", spec.get("true_values")),
        false_values=c.spellings(f"{where}.false_values", spec.get("false_values")),
        order_lines=order_lines,
        amounts=amounts,
        skip_rows=skip_rows,
        header=header,
        values=values,
        exclude=c.value_lists(f"{where}.exclude", spec.get("exclude")),
        keep=c.value_lists(f"{where}.keep", spec.get("keep"), "kept"),
        joins=c.joins(f"{where}.join", spec.get("join"), data_dir),
    )
