"""How a CSV file is written, and the text DuckDB reads from it (both loaders: :mod:`custrel_lib.io.readers`,
:mod:`custrel_lib.io.scan_source`).

The encoding (detected unless configured), the separator (a character, detected among , ; tab |, or runs of
spaces and tabs as in CDNOW's text files: :data:`~custrel_lib.io.contract.WHITESPACE_SEP`), and whether the first
line names the columns (``header: false``: the columns are then named by their position, ``1`` for the first).
DuckDB reads UTF-8 and latin-1 with a one-character separator: another encoding, or columns separated by runs of
blanks, are read from a UTF-8 copy of the file whose fields are separated by tabs, line for line (the line
numbers of the problems report stay the file's).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from custrel_lib.config import TableSpec
from custrel_lib.exceptions import DataContractError
from custrel_lib.io.contract import SEPARATORS, WHITESPACE_SEP
from custrel_lib.io.csv_lines import header_line
from custrel_lib.io.scan_sql import lit

ENCODING_ALIASES = {"utf8": "utf-8", "utf-8-sig": "utf-8", "iso-8859-1": "latin-1"}
#: Lines from the top that must all split on blanks, into one number of fields (3 or more), and hold no other
#: separator, for the separator to be read as runs of blanks.
WHITESPACE_LINES = 5
_BLANKS = re.compile(r"[ \t]+")
_EDGES = re.compile(r"^[ \t\r]+|[ \t\r]+$", re.MULTILINE)


def detect_encoding(path: Path, size: int = 1 << 22) -> str:
    """``utf-8`` (with or without BOM) when the start of the file decodes as UTF-8, ``utf-16`` after a UTF-16
    byte-order mark, ``cp1252`` (Windows "ANSI", French Excel) when bytes 0x80-0x9F occur and decode as such,
    else ``latin-1``."""
    with open(path, "rb") as fh:
        head = fh.read(size)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < size)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\x80-\x9f]", head):
        try:
            head.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            pass
    return "latin-1"


def _transcode(
    spec: TableSpec, encoding: str, target: Path, fold: Callable[[str], str] | None = None
) -> None:
    """Copy ``spec.path`` to ``target`` as UTF-8, by chunks of whole lines, each chunk through ``fold``; a byte
    the encoding cannot read names its line."""
    utf8 = codecs.lookup(encoding).name == "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8-sig" if utf8 else encoding)()  # a BOM is not a value
    line, tail = 1, ""
    with open(spec.path, "rb") as src, open(target, "w", encoding="utf-8", newline="") as dst:
        while True:
            data = src.read(1 << 20)
            try:
                text = tail + decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                bad = line + data[: exc.start].count(b"\n")
                raise DataContractError(
                    f"Table '{spec.name}': {spec.path}, line {bad}: byte {data[exc.start]:#04x} cannot be read "
                    f"as {encoding}; set tables.{spec.name}.encoding to the file's encoding."
                ) from exc
            cut = len(text) if not data else text.rfind("\n") + 1
            text, tail = text[:cut], text[cut:]
            dst.write(fold(text) if fold else text)
            if not data:
                return
            line += data.count(b"\n")


def _tabs(text: str) -> str:
    """Lines whose fields are separated by runs of blanks, written with one tab between fields."""
    return _BLANKS.sub("\t", _EDGES.sub("", text.replace("\r\n", "\n")))


def needs_transcoding(encoding: str) -> bool:
    """DuckDB reads UTF-8 and latin-1 only: other encodings (cp1252, UTF-16, ...) are transcoded first."""
    return codecs.lookup(encoding).name not in ("utf-8", "iso8859-1")


def utf8_copy(spec: TableSpec, encoding: str, whitespace: bool = False) -> Path:
    """A UTF-8 copy of the file in the temporary directory (the caller deletes it); with ``whitespace``, its
    fields separated by tabs instead of runs of blanks."""
    fd, name = tempfile.mkstemp(prefix="custrel-", suffix=".csv")
    os.close(fd)
    try:
        _transcode(spec, encoding, Path(name), _tabs if whitespace else None)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def detect_separator(header: str) -> str:
    """The candidate separator that splits the header line into the most fields."""
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def csv_dialect(spec: TableSpec) -> tuple[str, str]:
    """The encoding (detected unless configured: UTF-8, UTF-16, cp1252 or latin-1) and separator of a CSV file
    (detected unless configured; :data:`~custrel_lib.io.contract.WHITESPACE_SEP` for runs of blanks)."""
    encoding = spec.encoding or detect_encoding(spec.path)
    encoding = ENCODING_ALIASES.get(encoding.lower(), encoding.lower())
    if spec.sep:
        return encoding, spec.sep
    if whitespace_separated(spec.path, encoding, spec.skip_rows):
        return encoding, WHITESPACE_SEP
    return encoding, detect_separator(header_line(spec.path, encoding, spec.skip_rows))


def whitespace_separated(path: Path, encoding: str, skip: int = 0) -> bool:
    """Whether the columns are separated by runs of spaces and tabs: the first :data:`WHITESPACE_LINES` non-empty
    lines below ``skip`` hold none of the separators and split on blanks into one number of fields, 3 or more (a
    title line, or a one-column file of names with spaces, is not such a table)."""
    with open(path, encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace") as fh:
        lines = [ln for ln in itertools.islice(fh, skip, skip + 50) if ln.strip()][:WHITESPACE_LINES]
    counts = {len(ln.split()) for ln in lines}
    return len(counts) == 1 and min(counts) >= 3 and not any(s in ln for ln in lines for s in SEPARATORS)


def fields(line: str, sep: str) -> list[str]:
    """The fields of one line (a header line, or the first row of a file without one)."""
    line = line.lstrip("\ufeff").rstrip("\r\n")
    if sep == WHITESPACE_SEP:
        return line.split()
    return next(csv.reader([line], delimiter=sep), [])


def positional_names(n: int) -> list[str]:
    """The names of the columns of a file without a header line: their positions, ``1`` for the first."""
    return [str(i) for i in range(1, n + 1)]


@dataclass
class Source:
    """What DuckDB reads: ``path`` (the file or its UTF-8 copy), with ``encoding`` and the one-character
    ``delim``; ``names`` for a file without header line; ``first``, the line number of the first row read."""

    path: Path
    encoding: str
    delim: str
    header: bool
    names: list[str] | None
    first: int
    skip: int

    def options(self) -> str:
        """The ``read_csv`` options that read it (every column as text)."""
        names = f", names = [{', '.join(lit(n) for n in self.names)}]" if self.names else ""
        common = (
            f"all_varchar = true, header = {str(self.header).lower()}, delim = {lit(self.delim)}, quote = '\"', "
            f"encoding = {lit(self.encoding)}, skip = {int(self.skip)}{names}"
        )
        return f"{common}, escape = {lit(self.escape(common))}"

    def escape(self, common: str) -> str:
        """A quote inside a quoted value is written twice (``""``, as Excel writes it) or after a backslash
        (``\\"``, MySQL's exports): what DuckDB's sniffer finds, but never an apostrophe. The sniffer took the
        ``'`` of a French value (``"l'été"``) for the escape when a quoted value ended with it, and merged the
        rows up to the next quote into one malformed line (tests/test_csv_properties.py)."""
        import duckdb

        con = duckdb.connect()
        try:
            found = con.sql(
                f"SELECT Escape FROM sniff_csv({lit(str(self.path))}, {common}, ignore_errors = true)"
            ).fetchall()[0][0]
        except duckdb.Error:  # read_csv then says what is wrong with the file
            found = None
        finally:
            con.close()
        return "\\" if found == "\\" else '"'


@contextlib.contextmanager
def duck_source(spec: TableSpec, encoding: str, sep: str) -> Iterator[Source]:
    """The :class:`Source` of a CSV file: the file itself, or a UTF-8 copy (another encoding, or columns
    separated by runs of blanks, written with tabs) deleted on leaving."""
    whitespace = sep == WHITESPACE_SEP
    copy = utf8_copy(spec, encoding, whitespace) if whitespace or needs_transcoding(encoding) else None
    delim = "\t" if whitespace else sep
    try:
        path = copy or spec.path
        duck_encoding = "utf-8" if copy else encoding
        names = None
        if not spec.header:
            first_row = header_line(path, duck_encoding, spec.skip_rows)
            names = positional_names(len(fields(first_row, delim)))
        first = (2 if spec.header else 1) + spec.skip_rows
        yield Source(path, duck_encoding, delim, spec.header, names, first, spec.skip_rows)
    finally:
        if copy is not None:
            copy.unlink(missing_ok=True)
