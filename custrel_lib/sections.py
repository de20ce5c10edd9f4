"""Report sections that degrade instead of failing: a section that cannot be computed says why, in the
report's language, and what data would enable it.

In a notebook::

    sections = Sections(lang)
    with sections.section("km_channel", needs=[("customers", "acquisition_channel")], tables=wb.tables):
        km = KaplanMeier(group="acquisition_channel").fit(durations)
        display(km_plot(km, lang))

When the customers table or its column is missing, or when the analysis raises an error that comes from the
data (:class:`~custrel_lib.exceptions.CustrelError`: too few events, no episode...), the rest of the block is
skipped, a short note is displayed in its place, and the skip is recorded (``sections.skipped``) for
``key_figures.json``. Errors that are bugs (anything else) are not swallowed: they fail the report.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from custrel_lib.exceptions import CustrelError, InsufficientDataError
from custrel_lib.i18n import tr

TEXT = {
    "skipped": {"fr": "Section non calculée", "en": "Section not computed"},
    "no_table": {
        "fr": "les données n'ont pas de table « {table} » : {enable}",
        "en": "the data has no '{table}' table: {enable}",
    },
    "no_column": {
        "fr": "la table « {table} » n'a pas de colonne « {column} » (ou elle est vide) : {enable}",
        "en": "the '{table}' table has no '{column}' column (or it is empty): {enable}",
    },
    "too_few": {
        "fr": "{found} {what}, moins que les {needed} nécessaires",
        "en": "{found} {what}, fewer than the {needed} needed",
    },
    "no_convergence": {
        "fr": "le modèle n'a pas convergé sur ces données",
        "en": "the model did not converge on this data",
    },
    "cannot": {
        "fr": "ces données ne permettent pas ce calcul",
        "en": "this data does not allow this computation",
    },
    "enable_table": {
        "fr": "ajoutez-la dans custrel.yml (tables.{table}) pour obtenir cette section",
        "en": "add it in custrel.yml (tables.{table}) to get this section",
    },
}
# Words for InsufficientDataError.what.
WHAT = {
    "events": {"fr": "séparations observées", "en": "observed separations"},
    "episodes": {"fr": "relations", "en": "relationships"},
    "customers": {"fr": "clients", "en": "customers"},
    "covariates": {"fr": "variables explicatives utilisables", "en": "usable explanatory variables"},
    "purchases": {"fr": "achats", "en": "purchases"},
    "periods": {"fr": "périodes", "en": "periods"},
    "groups": {"fr": "groupes d'au moins 10 relations", "en": "groups of 10 relationships or more"},
}


@dataclass
class Skip:
    """One skipped section: its key, a reason code and the sentence shown in the report."""

    section: str
    reason: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"section": self.section, "reason": self.reason, "message": self.message}


class MissingInput(CustrelError):
    """A section needs a table or column the data does not have."""

    def __init__(self, table: str, column: str | None = None):
        self.table, self.column = table, column
        super().__init__(f"missing {table}.{column}" if column else f"missing table {table}")


def _missing(tables: Mapping, needs: Iterable[tuple[str, str | None]]) -> MissingInput | None:
    for table, column in needs:
        df = tables.get(table)
        if df is None:
            return MissingInput(table)
        if column is not None and (column not in df or df[column].isna().all()):
            return MissingInput(table, column)
    return None


def reason_of(exc: BaseException, lang: str) -> tuple[str, str]:
    """``(code, sentence)`` explaining why a section could not be computed."""
    if isinstance(exc, MissingInput):
        enable = tr(TEXT, "enable_table", lang, table=exc.table)
        if exc.column is None:
            return "no_table", tr(TEXT, "no_table", lang, table=exc.table, enable=enable)
        return "no_column", tr(TEXT, "no_column", lang, table=exc.table, column=exc.column, enable=enable)
    if isinstance(exc, InsufficientDataError):
        what = WHAT.get(exc.what, {"fr": exc.what, "en": exc.what})[lang]
        return f"too_few_{exc.what}", tr(TEXT, "too_few", lang, found=exc.found, what=what, needed=exc.needed)
    if isinstance(exc, np.linalg.LinAlgError) or type(exc).__name__ == "ConvergenceError":
        return "no_convergence", tr(TEXT, "no_convergence", lang)
    return "cannot", tr(TEXT, "cannot", lang)


@dataclass
class Sections:
    """Collects the sections of a report that could not be computed."""

    lang: str = "fr"
    skipped: list[Skip] = field(default_factory=list)
    display: bool = True

    @contextmanager
    def section(self, key: str, needs: Iterable[tuple[str, str | None]] = (), tables: Mapping | None = None):
        """Run the block, or skip it with a reason (see the module docstring)."""
        missing = _missing(tables or {}, needs)
        try:
            if missing is not None:
                raise missing
            yield self
        except (CustrelError, np.linalg.LinAlgError) as exc:
            self.skip(key, exc)
        except Exception as exc:  # lifelines' ConvergenceError has no common base with ours
            if type(exc).__name__ != "ConvergenceError":
                raise
            self.skip(key, exc)

    def skip(self, key: str, exc: BaseException) -> Skip:
        code, sentence = reason_of(exc, self.lang)
        item = Skip(key, code, sentence)
        self.skipped.append(item)
        if self.display:
            from IPython.display import HTML, display

            display(HTML(self.note_html(item)))
        return item

    def note_html(self, item: Skip) -> str:
        title = html.escape(tr(TEXT, "skipped", self.lang))
        return f"<div class='custrel-skipped'><b>{title}</b> : {html.escape(item.message)}.</div>".replace(
            " :", ":" if self.lang == "en" else "\u202f:"
        )

    def to_list(self) -> list[dict[str, str]]:
        return [s.to_dict() for s in self.skipped]
