"""Report sections that degrade instead of failing: a section that cannot be computed says why, in the
report's language, and what data would enable it.

In a notebook::

    sections = Sections(lang)
    with sections.section("km_channel"):
        sections.require(wb.tables, needs=[("customers", "acquisition_channel")])
        km = KaplanMeier(group="acquisition_channel").fit(durations)
        display(km_plot(km, lang))

When the customers table or its column is missing, or when the analysis raises an error that comes from the
data (:class:`~custrel_lib.exceptions.CustrelError`: too few events, no episode...), the rest of the block is
skipped, a short note is displayed in its place, and the skip is recorded (``sections.skipped``) for
``key_figures.json``. Errors that are bugs (anything else) are not swallowed: they fail the report.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from custrel_lib.exceptions import AnalysisError, CustrelError, InsufficientDataError
from custrel_lib.i18n import tr

TEXT = {
    "skipped": {"fr": "Section non calculée", "en": "Section not computed"},
    "no_table": {
        "fr": "les données n'ont pas de table « {table} » : {enable}",
        "en": "the data has no '{table}' table: {enable}",
    },
    "no_column": {
        "fr": "la table « {table} » n'a pas de colonne « {column} », ou aucune de ses valeurs n'a pu être lue : associez-la dans custrel.yml (tables.{table}.columns) pour obtenir cette section ; si elle l'est déjà, custrel validate dit pourquoi ses valeurs ont été vidées",
        "en": "the '{table}' table has no '{column}' column, or none of its values could be read: map it in custrel.yml (tables.{table}.columns) to get this section; if it is mapped, custrel validate says why its values were emptied",
    },
    "too_few": {
        "fr": "{what} : {found}, il en faut au moins {needed}",
        "en": "{what}: {found}, at least {needed} needed",
    },
    "no_convergence": {
        "fr": "le modèle n'a pas convergé sur ces données",
        "en": "the model did not converge on this data",
    },
    # Causes of an AnalysisError (its code), as a report says them.
    "why_no_parametric_fit": {
        "fr": "aucun modèle paramétrique (Weibull, log-normal, log-logistique) ne s'ajuste à ces données",
        "en": "no parametric model (Weibull, log-normal, log-logistic) fits this data",
    },
    "why_no_end_reason": {
        "fr": "aucune séparation n'a de motif de fin lisible (colonne end_reason)",
        "en": "no separation has a readable end reason (end_reason column)",
    },
    "why_no_finite_forecast": {
        "fr": "le modèle BG/NBD ne donne pas de prévision finie sur ces données",
        "en": "the BG/NBD model gives no finite forecast on this data",
    },
    "why_no_maximum": {
        "fr": "la vraisemblance du modèle n'a pas pu être maximisée sur ces données",
        "en": "the model's likelihood could not be maximised on this data",
    },
    "why_no_journey_steps": {
        "fr": "la table des interactions n'a aucune étape de parcours (besoin, recherche, choix, achat, ...)",
        "en": "the interactions table has no journey step (besoin, recherche, choix, achat, ...)",
    },
    "why_no_positive_spend": {
        "fr": "il faut au moins deux clients ayant racheté avec une dépense positive",
        "en": "at least two customers who bought again with a positive spend are needed",
    },
    "why_no_amounts": {
        "fr": "les transactions n'ont pas de montants (amounts: false dans custrel.yml) : aucune valeur client à classer",
        "en": "the transactions hold no amounts (amounts: false in custrel.yml): no customer value to rank by",
    },
    "cannot": {
        "fr": "ces données ne permettent pas ce calcul",
        "en": "this data does not allow this computation",
    },
    "upstream": {
        "fr": "elle dépend d'une analyse précédente qui n'a pas pu être calculée (voir plus haut)",
        "en": "it depends on an earlier analysis that could not be computed (see above)",
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
    "covariates_after_stratification": {
        "fr": "variables explicatives restantes une fois stratifiées celles que rejette le test des risques proportionnels",
        "en": "explanatory variables left once those rejected by the proportional-hazards test are stratified",
    },
    "purchases": {"fr": "achats", "en": "purchases"},
    "repeat_buyers": {
        "fr": "clients sans contrat ayant racheté",
        "en": "customers without contract who bought again",
    },
    "nps_answers": {
        "fr": "réponses NPS (type « nps » avec une note) dans les 12 derniers mois",
        "en": "NPS answers (type 'nps' with a score) in the last 12 months",
    },
    "episodes_per_group": {
        "fr": "relations dans le plus grand groupe",
        "en": "relationships in the largest group",
    },
    "periods": {"fr": "périodes", "en": "periods"},
    "months_covered": {"fr": "mois couverts par l'historique", "en": "months covered by the history"},
    "quarters_covered": {
        "fr": "trimestres couverts par l'historique",
        "en": "quarters covered by the history",
    },
    "years_covered": {"fr": "années couvertes par l'historique", "en": "years covered by the history"},
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


class Upstream(CustrelError):
    """A section needs the result of an earlier one that was skipped."""


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
    explain = getattr(exc, "reason", None)
    if isinstance(exc, CustrelError) and callable(explain):  # an error that says itself why, in each language
        return explain(lang)
    if isinstance(exc, MissingInput):
        if exc.column is None:
            enable = tr(TEXT, "enable_table", lang, table=exc.table)
            return "no_table", tr(TEXT, "no_table", lang, table=exc.table, enable=enable)
        return "no_column", tr(TEXT, "no_column", lang, table=exc.table, column=exc.column)
    if isinstance(exc, Upstream):
        return "upstream", tr(TEXT, "upstream", lang)
    if isinstance(exc, InsufficientDataError):
        what = WHAT.get(exc.what, {"fr": exc.what, "en": exc.what})[lang]
        what = what[:1].upper() + what[1:]
        return f"too_few_{exc.what}", tr(TEXT, "too_few", lang, found=exc.found, what=what, needed=exc.needed)
    if isinstance(exc, AnalysisError) and f"why_{exc.code}" in TEXT:
        return exc.code, tr(TEXT, f"why_{exc.code}", lang)
    if isinstance(exc, np.linalg.LinAlgError) or type(exc).__name__ == "ConvergenceError":
        return "no_convergence", tr(TEXT, "no_convergence", lang)
    return "cannot", tr(TEXT, "cannot", lang)


@dataclass
class Sections:
    """Collects the sections of a report that could not be computed."""

    lang: str = "fr"
    notebook: str | None = None
    skipped: list[Skip] = field(default_factory=list)
    display: bool = True

    @contextmanager
    def section(self, key: str):
        """Run the block, or skip the rest of it with a reason (see the module docstring)."""
        try:
            yield self
        except (CustrelError, np.linalg.LinAlgError) as exc:
            self.skip(key, exc)
        except Exception as exc:  # lifelines' ConvergenceError has no common base with ours
            if type(exc).__name__ != "ConvergenceError":
                raise
            self.skip(key, exc)

    @staticmethod
    def require(
        tables: Mapping | None = None,
        needs: Iterable[tuple[str, str | None]] = (),
        after: Iterable[object] = (),
    ) -> None:
        """First line of a section: raise (and so skip the section, with the reason) when a ``(table,
        column)`` of ``needs`` is missing from ``tables`` (column ``None``: the table only) or a result of an
        earlier section listed in ``after`` is ``None``."""
        missing = _missing(tables or {}, needs)
        if missing is not None:
            raise missing
        if any(x is None for x in after):
            raise Upstream("an earlier section was skipped")

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
        extra = {"notebook": self.notebook} if self.notebook else {}
        return [{**s.to_dict(), **extra} for s in self.skipped]

    def save(self, folder: str | Path, notebook: str | None = None) -> Path:
        """Write the skipped sections of one notebook to ``folder/skipped-<notebook>.json``; the report run
        gathers these files into ``key_figures.json`` (:func:`gather_skipped`)."""
        notebook = notebook or self.notebook or "notebook"
        path = Path(folder) / f"{SKIPPED_PREFIX}{notebook}.json"
        items = [{**s.to_dict(), "notebook": notebook} for s in self.skipped]
        path.write_text(json.dumps(items, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path


SKIPPED_PREFIX = "skipped-"


def gather_skipped(folder: str | Path, key_figures_name: str = "key_figures.json") -> list[dict[str, str]]:
    """Move every notebook's ``skipped-*.json`` of a run folder into ``key_figures.json["skipped"]``.

    Returns the gathered list (also when there is no ``key_figures.json``, which is then left alone).
    """
    folder = Path(folder)
    gathered: list[dict[str, str]] = []
    for path in sorted(folder.glob(f"{SKIPPED_PREFIX}*.json")):
        gathered.extend(json.loads(path.read_text(encoding="utf-8")))
        path.unlink()
    target = folder / key_figures_name
    if target.is_file() and gathered:
        doc = json.loads(target.read_text(encoding="utf-8"))
        doc["skipped"] = list(doc.get("skipped") or []) + gathered
        target.write_text(
            json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8",
        )
    return gathered
