"""Shapes of real data drawn from the committed sample, and a checker for a finished report run.

A *shape* is what a customer's export may look like: which optional tables are there (customers,
interactions), which optional columns are missing, and how many customers it holds. :func:`write_shape`
writes one as CSV files with its own ``custrel.yml``; :func:`write_french_excel` writes the transactions as a
French Excel user would export them (``;``, decimal comma, latin-1, French column names mapped in the
config). :func:`check_run` lists what is wrong with a finished run folder (empty list = fine).

The sample is read with plain pandas as text, independently of ``custrel_lib.io.load``.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import yaml

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLE_AS_OF = dt.date(2025, 12, 31)
OPTIONAL_TABLES = ("customers", "interactions")
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "transactions": ("order_id", "category", "channel"),
    "customers": (
        "signup_date",
        "contract_start",
        "contract_end",
        "end_reason",
        "loyalty_member",
        "acquisition_channel",
        "region",
    ),
    "interactions": ("score", "resolved"),
}
NOTEBOOKS = (
    "0.0-executive-summary",
    "1.0-relationship-stages",
    "2.0-separation-survival",
    "3.0-journey-transitions",
)
# The French Excel export of the transactions: contract name -> the user's column name.
FRENCH_COLUMNS = {
    "customer_id": "N° client",
    "date": "Date",
    "amount": "Montant TTC",
    "category": "Rayon",
    "channel": "Canal",
}


@functools.cache
def _sample_text() -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("transactions", *OPTIONAL_TABLES)
    }


def sample_tables() -> dict[str, pd.DataFrame]:
    """The sample's three tables, every value as text (copies: safe to modify)."""
    return {name: df.copy() for name, df in _sample_text().items()}


@dataclass(frozen=True)
class Shape:
    """A shape of the sample.

    Attributes
    ----------
    tables : tuple of str
        Optional tables present (subset of ``customers``, ``interactions``); transactions always are.
    dropped : tuple of (table, column)
        Optional columns removed from the files.
    n_customers : int or None
        Buyers kept (a seeded random subset of the customer ids found in the transactions); ``None``: all.
        Customers without any purchase (prospects) are kept in the same proportion.
    seed : int
        Seed of the subset.
    """

    tables: tuple[str, ...] = ()
    dropped: tuple[tuple[str, str], ...] = ()
    n_customers: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        assert set(self.tables) <= set(OPTIONAL_TABLES), self.tables
        for table, column in self.dropped:
            assert column in OPTIONAL_COLUMNS[table], (table, column)

    def describe(self) -> str:
        tables = "+".join(("transactions", *self.tables))
        dropped = ",".join(f"{t}.{c}" for t, c in self.dropped if t == "transactions" or t in self.tables)
        size = "all customers" if self.n_customers is None else f"{self.n_customers} customers"
        return f"[{tables}; dropped: {dropped or 'none'}; {size}; seed {self.seed}]"


def keep_customers(tables: dict[str, pd.DataFrame], n: int | None, seed: int) -> set[str] | None:
    """A seeded random subset of ``n`` buyers, plus prospects (customers without purchase) pro rata."""
    if n is None:
        return None
    rng = np.random.default_rng(seed)
    buyers = np.array(sorted(set(tables["transactions"]["customer_id"])))
    keep = set(rng.choice(buyers, size=min(n, len(buyers)), replace=False).tolist())
    prospects = np.array(sorted(set(tables["customers"]["customer_id"]) - set(buyers)))
    n_prospects = round(len(prospects) * len(keep) / len(buyers))
    if n_prospects:
        keep |= set(rng.choice(prospects, size=n_prospects, replace=False).tolist())
    return keep


def _config(path: Path, tables: dict[str, dict[str, Any]]) -> Path:
    doc = {
        "data_dir": ".",
        "language": "fr",
        "tables": tables,
        "analysis": {"as_of": SAMPLE_AS_OF, "cadence": "month"},
    }
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_shape(shape: Shape, folder: str | Path) -> Path:
    """Write ``shape`` of the sample into ``folder`` (CSV files and ``custrel.yml``); return the config path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = sample_tables()
    keep = keep_customers(tables, shape.n_customers, shape.seed)
    spec: dict[str, dict[str, Any]] = {}
    for name in ("transactions", *shape.tables):
        df = tables[name]
        if keep is not None:
            df = df[df["customer_id"].isin(keep)]
        drop = [c for t, c in shape.dropped if t == name]
        df = df.drop(columns=drop)
        df.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
        spec[name] = {"path": f"{name}.csv"}
    return _config(folder / "custrel.yml", spec)


def french_amount(text: str) -> str:
    """``-12.50`` -> ``-12,50`` (an Excel export with a French locale)."""
    return text.replace(".", ",")


def _transactions_of(n_customers: int | None, seed: int) -> pd.DataFrame:
    """The sample's transactions, of ``n_customers`` customers drawn by :func:`keep_customers` (all: None)."""
    tables = sample_tables()
    keep = keep_customers(tables, n_customers, seed)
    tx = tables["transactions"]
    return tx if keep is None else tx[tx["customer_id"].isin(keep)]


def write_french_excel(folder: str | Path, n_customers: int | None = None, seed: int = 0) -> Path:
    """The sample's transactions only, as French Excel saves them ("CSV (séparateur : point-virgule)").

    ``;`` separator, decimal comma, latin-1, CRLF line ends, dates ``dd/mm/yyyy``, French column names
    (``N° client;Date;Montant TTC;Rayon;Canal``, no order number) mapped in ``tables.transactions.columns``.
    Returns the config path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tx = _transactions_of(n_customers, seed)
    out = pd.DataFrame(
        {
            FRENCH_COLUMNS["customer_id"]: tx["customer_id"],
            FRENCH_COLUMNS["date"]: pd.to_datetime(tx["date"], format="%Y-%m-%d").dt.strftime("%d/%m/%Y"),
            FRENCH_COLUMNS["amount"]: tx["amount"].map(french_amount),
            FRENCH_COLUMNS["category"]: tx["category"],
            FRENCH_COLUMNS["channel"]: tx["channel"],
        }
    )
    out.to_csv(folder / "ventes.csv", sep=";", index=False, encoding="latin-1", lineterminator="\r\n")
    return _config(
        folder / "custrel.yml",
        {
            "transactions": {
                "path": "ventes.csv",
                "sep": ";",
                "decimal": ",",
                "encoding": "latin-1",
                "date_format": "%d/%m/%Y",
                "columns": dict(FRENCH_COLUMNS),
            }
        },
    )


FRENCH_MONTHS = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)


def french_long_date(day: pd.Timestamp) -> str:
    """``2023-10-01`` -> ``1er oct. 2023`` (a French ERP's or Excel's long date, exported as text)."""
    return f"{'1er' if day.day == 1 else day.day} {FRENCH_MONTHS[day.month - 1]} {day.year}"


def erp_amount(text: str) -> str:
    """``-12.50`` -> ``12,50-`` (SAP's trailing minus), ``12.50`` -> ``12,50 €``."""
    value = text.replace(".", ",")
    return value[1:] + "-" if value.startswith("-") else value + " €"


def write_french_erp(folder: str | Path, n_customers: int | None = None, seed: int = 0) -> Path:
    """The sample's transactions only, as a French ERP exports them, with nothing but the columns in the config:
    a first line ``sep=;``, cp1252, CRLF, long dates (``1er oct. 2023``), amounts ``38,13 €`` and ``3,20-``,
    customer numbers written as decimals (``80.0`` for C0080). Returns the config path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tx = _transactions_of(n_customers, seed)
    out = pd.DataFrame(
        {
            FRENCH_COLUMNS["customer_id"]: tx["customer_id"].str[1:].astype(int).astype(float).astype(str),
            FRENCH_COLUMNS["date"]: pd.to_datetime(tx["date"], format="%Y-%m-%d").map(french_long_date),
            FRENCH_COLUMNS["amount"]: tx["amount"].map(erp_amount),
            FRENCH_COLUMNS["category"]: tx["category"],
        }
    )
    with open(folder / "ventes.csv", "w", encoding="cp1252", newline="") as fh:
        fh.write("sep=;\r\n")
        out.to_csv(fh, sep=";", index=False, lineterminator="\r\n")
    columns = {k: v for k, v in FRENCH_COLUMNS.items() if k != "channel"}
    return _config(folder / "custrel.yml", {"transactions": {"path": "ventes.csv", "columns": columns}})


# ---------------------------------------------------------------------------------------------- checker

TRACEBACK = "Traceback (most recent call last)"
# The red banner custrel_lib.reports.html puts at the top of a page with an error output.
ERROR_BANNERS = (
    "Ce rapport contient des erreurs",
    "This report contains errors",
)
# A number that is not one, as a word of its own: nan, NaN, inf, -inf, Infinity, NaT (not "infini", "nanti").
NOT_A_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:nan|inf|infinity|nat)(?![\w])", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TAGS = re.compile(r"<[^>]+>")
# custrel_lib.sections.Sections.note_html: <div class='custrel-skipped'><b>title</b> : message.</div>
SKIP_NOTE = re.compile(r"<div class=[\"']custrel-skipped[\"']>(.*?)</div>", re.DOTALL)


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite number {name} in key_figures.json")


def _not_numbers(text: str) -> list[str]:
    return sorted({m.group(0) for m in NOT_A_NUMBER.finditer(text)})


def _walk_numbers(obj: Any, where: str, problems: list[str]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _walk_numbers(v, f"{where}.{k}", problems)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_numbers(v, f"{where}[{i}]", problems)
    elif isinstance(obj, float) and not math.isfinite(obj):
        problems.append(f"key_figures.json: {where} = {obj}")


def check_key_figures(path: Path) -> list[str]:
    """Problems of ``key_figures.json``: unreadable, non-finite numbers, nan/inf shown as text, skipped
    sections without a reason, or no ``skipped`` list at all."""
    if not path.is_file():
        return [f"{path.name} is missing"]
    try:
        doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except ValueError as exc:
        return [f"{path.name} does not parse as strict JSON: {exc}"]
    if not isinstance(doc, dict):
        return [f"{path.name}: expected an object, got {type(doc).__name__}"]
    problems: list[str] = []
    _walk_numbers(doc, "key_figures", problems)
    for i, item in enumerate(doc.get("headline") or []):
        if not isinstance(item, dict):
            problems.append(f"key_figures.json: headline[{i}] is not an object: {item!r}")
            continue
        bad = _not_numbers(str(item.get("text", "")))
        if bad:
            problems.append(f"key_figures.json: headline[{i}] ({item.get('label')}) shows {bad}: {item!r}")
    for i, sentence in enumerate(doc.get("sentences") or []):
        bad = _not_numbers(str(sentence))
        if bad:
            problems.append(f"key_figures.json: sentences[{i}] shows {bad}: {sentence!r}")
    if "skipped" not in doc:
        problems.append(
            "key_figures.json has no 'skipped' list (expected [] when no section was skipped, else "
            "entries {section, reason, message}); keys found: " + ", ".join(sorted(doc))
        )
    elif not isinstance(doc["skipped"], list):
        problems.append(f"key_figures.json: 'skipped' must be a list, got {doc['skipped']!r}")
    else:
        for i, entry in enumerate(doc["skipped"]):
            if not isinstance(entry, dict):
                problems.append(f"key_figures.json: skipped[{i}] is not an object: {entry!r}")
                continue
            for key in ("section", "reason"):
                value = entry.get(key)
                if not isinstance(value, str) or not value.strip():
                    problems.append(f"key_figures.json: skipped[{i}] has no {key}: {entry!r}")
            if "message" in entry and (not isinstance(entry["message"], str) or not entry["message"].strip()):
                problems.append(f"key_figures.json: skipped[{i}] has an empty message: {entry!r}")
    return problems


def _output_text(output: dict) -> str:
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
        return "".join(text) if isinstance(text, list) else str(text)
    if kind in ("display_data", "execute_result"):
        data = output.get("data", {})
        parts = []
        for mime in ("text/markdown", "text/plain"):
            if mime in data:
                value = data[mime]
                parts.append("".join(value) if isinstance(value, list) else str(value))
        return "\n".join(parts)
    return ""


def check_notebook(path: Path) -> list[str]:
    """Error outputs, tracebacks in any output, nan/inf in printed text or markdown, and figures without a subtitle
    (population, period, unit) in an executed notebook.

    DataFrame reprs (``text/plain`` next to a ``text/html`` table) are left out of the nan/inf check: a table
    may hold an empty cell on purpose; printed sentences and markdown may not.
    """
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        return [f"{path.name} cannot be read: {exc}"]
    problems: list[str] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")[:80]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(
                    f"{path.name} cell {index} (`{first}`): {output.get('ename')}: {output.get('evalue')}"
                )
                continue
            figure = output.get("data", {}).get("application/vnd.plotly.v1+json")
            if figure is not None:  # every figure says what it is: population, period, unit (a subtitle)
                title = figure.get("layout", {}).get("title") or {}
                if not ((title.get("subtitle") or {}).get("text") or "").strip():
                    problems.append(
                        f"{path.name} cell {index} (`{first}`): figure {title.get('text')!r} has no subtitle"
                    )
            text = _ANSI.sub("", _output_text(output))
            if TRACEBACK in text:
                problems.append(f"{path.name} cell {index} (`{first}`): a traceback is printed")
            is_table = output.get("output_type") != "stream" and "text/html" in output.get("data", {})
            if not is_table:
                bad = _not_numbers(text)
                if bad:
                    line = next(ln for ln in text.splitlines() if NOT_A_NUMBER.search(ln))
                    problems.append(f"{path.name} cell {index} (`{first}`): shows {bad} in {line.strip()!r}")
    return problems


def page_text(page: str) -> str:
    """The visible text of an HTML page, whitespace collapsed."""
    return " ".join(html.unescape(_TAGS.sub(" ", page)).split())


def check_html(path: Path) -> list[str]:
    """A page with a traceback, custrel's error banner, or a skipped-section note without its reason."""
    page = path.read_text(encoding="utf-8")
    text = page_text(page)
    problems = []
    if TRACEBACK in text or TRACEBACK in page:
        problems.append(f"{path.name} contains a Python traceback")
    for banner in ERROR_BANNERS:
        if banner in page:
            problems.append(f"{path.name} shows the error banner {banner!r}")
    for note in SKIP_NOTE.findall(page):
        reason = page_text(note).split(":", 1)[-1].strip(" .\u202f")
        if ":" not in page_text(note) or not reason:
            problems.append(f"{path.name}: a skipped-section note gives no reason: {note!r}")
    return problems


def check_index(path: Path) -> list[str]:
    """The index page exists and its headline tiles show numbers, not nan/inf."""
    if not path.is_file():
        return ["index.html is missing"]
    page = path.read_text(encoding="utf-8")
    problems = []
    for value in re.findall(r'<div class="value">(.*?)</div>', page, flags=re.DOTALL):
        bad = _not_numbers(html.unescape(value))
        if bad:
            problems.append(f"index.html: a headline tile shows {value!r}")
    return problems


def check_run(folder: str | Path, notebooks: tuple[str, ...] | list[str] = NOTEBOOKS) -> list[str]:
    """Everything wrong with a finished run folder; an empty list when the run is fine.

    Checks: each notebook's executed ``.ipynb`` and ``.html`` exist; no page holds a traceback or the error
    banner; no executed notebook has an error output or a traceback, or prints nan/inf; ``index.html``
    exists and its tiles are numbers; ``key_figures.json`` is strict JSON without NaN/Infinity, its
    headline and sentences show no nan/inf, and it lists skipped sections, each with a reason.
    """
    folder = Path(folder)
    problems: list[str] = []
    for name in notebooks:
        for suffix in (".ipynb", ".html"):
            if not (folder / f"{name}{suffix}").is_file():
                problems.append(f"{name}{suffix} is missing from {folder.name}")
    for page in sorted(folder.glob("*.html")):
        if page.name != "index.html":
            problems += check_html(page)
    for nb in sorted(folder.glob("*.ipynb")):
        problems += check_notebook(nb)
    problems += check_index(folder / "index.html")
    kf = folder / "key_figures.json"
    problems += check_key_figures(kf)
    problems += check_skips_shown(folder)
    return problems


def check_skips_shown(folder: Path) -> list[str]:
    """Every skipped section listed in ``key_figures.json`` is explained, with its message, in some page."""
    try:
        doc = json.loads((folder / "key_figures.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # reported by check_key_figures
    skipped = doc.get("skipped") if isinstance(doc, dict) else None
    if not isinstance(skipped, list):
        return []
    pages = " ".join(page_text(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.html")))
    problems = []
    for entry in skipped:
        message = entry.get("message") if isinstance(entry, dict) else None
        if isinstance(message, str) and message.strip() and " ".join(message.split()) not in pages:
            problems.append(
                f"skipped section {entry.get('section')!r} is listed in key_figures.json but explained in no "
                f"page of the run (index.html included): {message!r}"
            )
    return problems
