"""The checks of ``custrel.yml`` values (:mod:`custrel_lib.config`): every error names the file and the dotted
key at fault, and for an unknown key, the valid ones."""

from __future__ import annotations

import datetime as _dt
import difflib
import glob
import re
from pathlib import Path
from typing import Any

from custrel_lib.exceptions import ConfigError

#: Dates written as day numbers from a day the export does not write (dunnhumby's The Complete Journey: ``DAY``, 1
#: to 711): ``date_format: "days since 2019-12-31"`` reads day 1 as 2020-01-01 (custrel_lib.io.numeric_dates).
DAYS_SINCE = re.compile(r"^\s*days since (\d{4}-\d{2}-\d{2})\s*$", re.IGNORECASE)


def days_since(fmt: Any) -> str | None:
    """The day written in a ``days since <day>`` date format, else None."""
    found = DAYS_SINCE.match(fmt) if isinstance(fmt, str) else None
    return found.group(1) if found else None


class Checker:
    """Builds :class:`ConfigError` messages that start with the file and the dotted key at fault."""

    def __init__(self, path: Path | None, retired: dict[str, str] | None = None):
        self.path, self.retired = path, retired or {}

    def fail(self, key: str, message: str) -> ConfigError:
        exc = ConfigError(f"{self.path or 'configuration'}: {key} {message}")
        exc.key = key
        return exc

    def keys(self, where: str, mapping: dict, allowed: tuple[str, ...]) -> None:
        """Refuse unknown keys of ``mapping`` (found at ``where``), naming the first and listing the valid ones."""
        for key in mapping:
            full = f"{where}.{key}" if where else str(key)
            if full in self.retired:
                raise self.fail(full, self.retired[full])
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(
                    full,
                    f"is an unknown key{hint}; valid keys {'under ' + where if where else 'at the top level'}: "
                    f"{', '.join(allowed)}.",
                )

    def mapping(self, key: str, value: Any, example: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping ({example}), not {type(value).__name__} {value!r}.")
        return value

    def text(self, key: str, value: Any, what: str = "text") -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float) or str(value).strip() == "":
            raise self.fail(key, f"must be {what}, not {value!r}.")
        return str(value)

    def choice(self, key: str, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(key, f"must be one of {', '.join(allowed)}, not {value!r}.")
        return value

    def number(self, key: str, value: Any, what: str, ok) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not ok(value):
            raise self.fail(key, f"must be {what}, not {value!r}.")

    def transactions_flag(self, where: str, spec: dict, name: str, key: str, default: bool) -> bool:
        """A true/false setting that applies to the transactions table only (``order_lines``, ``amounts``)."""
        value = spec.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"must be true or false, not {value!r}.")
        if value != default and name != "transactions":
            raise self.fail(f"{where}.{key}", "applies to the transactions table only.")
        return value

    def date(self, key: str, value: Any) -> _dt.date:
        """A date written ``YYYY-MM-DD`` (YAML gives a date; a quoted string is accepted too)."""
        if isinstance(value, _dt.datetime):
            return value.date()
        if isinstance(value, _dt.date):
            return value
        try:
            return _dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise self.fail(key, f"must be a date written YYYY-MM-DD, not {value!r}.") from None

    def spellings(self, key: str, values: Any) -> list[str] | None:
        """A non-empty list of words (``true_values: [oui, O]``), or None. YAML reads oui/non as text but
        yes/no/on/off/true/false as booleans: a boolean gives back every spelling of it."""
        if values is None:
            return None
        if not isinstance(values, list) or not values:
            raise self.fail(key, f"must be a non-empty list, e.g. [oui, O], not {values!r}.")
        spelled: list[str] = []
        for v in values:
            if isinstance(v, bool):
                spelled += ["true", "yes", "on", "y"] if v else ["false", "no", "off", "n"]
            else:
                spelled.append(self.text(key, v, "a list of words"))
        return spelled

    def date_format(self, where: str, value: Any) -> str | None:
        """A table's ``date_format``: a strftime pattern (``%d/%m/%Y``), or ``days since <day>`` (day numbers)."""
        if value is None:
            return None
        if days_since(value):
            self.date(where, days_since(value))
            return value.strip()
        if not isinstance(value, str) or "%" not in value:
            raise self.fail(
                where,
                f"must be a strftime pattern such as '%d/%m/%Y', or 'days since 2019-12-31' for day numbers "
                f"(1 for the day after it), not {value!r}.",
            )
        return value

    def value_lists(self, where: str, block: Any, what: str = "left out") -> dict[str, list[str]]:
        """``{column: [value, ...]}`` (``exclude: {order_status: [canceled, unavailable]}``, the rows left out on
        purpose; ``keep: {event_type: [purchase]}``, the only rows kept: custrel_lib.io.exclude), values trimmed
        and in lower case."""
        block = self.mapping(where, block, "column: [value, ...]")
        out = {}
        for column, values in block.items():
            column = self.text(f"{where}", column, "a column name").strip()
            values = values if isinstance(values, list) else [values]
            if not values:
                raise self.fail(f"{where}.{column}", f"must list at least one value whose rows are {what}.")
            out[column] = sorted(
                {self.text(f"{where}.{column}", v, "a value").strip().lower() for v in values}
            )
        return out

    def paths(self, key: str, value: Any, base: Path) -> list[Path]:
        """The files a table's ``path`` names: one path, a pattern (``ventes_*.csv``: the files it matches, in
        name order; ``**`` goes through folders) or a list of either, relative to ``base``; each file once."""
        items = value if isinstance(value, list) else [value]
        if not items:
            raise self.fail(key, "must name at least one file.")
        out: list[Path] = []
        for item in items:
            text = self.text(key, item, "a file path, a pattern such as ventes_*.csv, or a list of them")
            path = Path(text).expanduser()
            path = path if path.is_absolute() else base / path
            if not any(ch in text for ch in "*?["):
                if path.is_dir():
                    pattern = f"{text.rstrip('/')}/*.csv"
                    raise self.fail(
                        key, f"{text!r} is a folder: name its files, or a pattern such as {pattern}."
                    )
                out.append(path)
                continue
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not found:
                raise self.fail(key, f"{text!r} matches no file (in {path.parent}).")
            out += found
        return list(dict.fromkeys(out))

    def value_words(
        self, where: str, block: Any, columns: tuple[str, ...], allowed: dict[str, tuple[str, ...]]
    ) -> dict[str, dict[str, str]]:
        """``values: {end_reason: {Impayé: involuntary}}``: a text column's own words (keys in lower case) read as
        the contract's, for ``columns``; where ``allowed`` lists a column's values, the words must be among them."""
        block = self.mapping(where, block, "column: {your value: the contract's value}")
        self.keys(where, block, columns)
        out = {}
        for column, words in block.items():
            words = self.mapping(f"{where}.{column}", words, "your value: the contract's value")
            for theirs, ours in words.items():
                ours = self.text(f"{where}.{column}.{theirs}", ours, "a value")
                if column in allowed and ours not in allowed[column]:
                    raise self.fail(
                        f"{where}.{column}.{theirs}",
                        f"must be one of {', '.join(allowed[column])}, not {ours!r}.",
                    )
            out[column] = {str(k).strip().lower(): str(v) for k, v in words.items()}
        return out

    def joins(self, where: str, block: Any, base: Path) -> list[tuple[Path, str]]:
        """``join: [{path: orders.csv, on: order_id}, ...]``: each file (one, relative to ``base``) and the
        column it shares with the table."""
        if block is None:
            return []
        items = block if isinstance(block, list) else [block]
        out = []
        for k, item in enumerate(items):
            item = self.mapping(f"{where}[{k}]", item, "path: orders.csv, on: order_id")
            if True in item:  # YAML 1.1 reads an unquoted on as true
                item["on"] = item.pop(True)
            self.keys(f"{where}[{k}]", item, ("path", "on"))
            if item.get("path") is None or item.get("on") is None:
                raise self.fail(f"{where}[{k}]", "needs a path and the column it shares with the table (on).")
            files = self.paths(f"{where}[{k}].path", item["path"], base)
            if len(files) > 1:
                raise self.fail(f"{where}[{k}].path", "must name one file.")
            out.append((files[0], self.text(f"{where}[{k}].on", item["on"], "a column name").strip()))
        return out

    def layout(self, where: str, spec: dict, fmt: str) -> tuple[int, bool, Any]:
        """``skip_rows``, ``header`` and ``sheet`` of a table (a list of sheets, or "*": every sheet, one after the
        other, as several files)."""
        skip_rows = spec.get("skip_rows", 0)
        if isinstance(skip_rows, bool) or not isinstance(skip_rows, int) or not 0 <= skip_rows <= 1000:
            raise self.fail(
                f"{where}.skip_rows", f"must be a number of lines from 0 to 1000, not {skip_rows!r}."
            )
        if skip_rows and fmt == "parquet":
            raise self.fail(f"{where}.skip_rows", "applies to CSV and XLSX files, not Parquet.")
        header = spec.get("header", True)
        if not isinstance(header, bool) or (not header and fmt == "parquet"):
            raise self.fail(
                f"{where}.header", f"must be true or false (CSV and XLSX files only), not {header!r}."
            )
        sheet = spec.get("sheet")
        sheets = sheet if isinstance(sheet, list) else [sheet]
        if sheet is not None and (
            not sheets or any(isinstance(x, bool) or not isinstance(x, str | int) for x in sheets)
        ):
            raise self.fail(
                f"{where}.sheet",
                f"must be a sheet name or a 0-based sheet number (a list of them, or '*' for every sheet), not {sheet!r}.",
            )
        return skip_rows, header, sheet
