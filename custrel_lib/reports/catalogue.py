"""The catalogue of user-facing texts: every string a report may show, in each language.

The language test reads every heading, table header and figure text of the rendered pages and checks each
against this catalogue, so that an English report carries no French string and the reverse.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from custrel_lib.i18n import LANGUAGES, NBSP
from custrel_lib.stages import typology

PAIR_CATALOGUES = ("custrel_lib.stages.features.FEATURE_LABELS",)
#: Placeholders of a template must leave at least this many literal letters for it to be matched as a
#: pattern (``"T{q} {y}"`` or ``"{prefix}{label}"`` would match almost anything).
MIN_TEMPLATE_LETTERS = 4

_FORMATTER = string.Formatter()


def _normalize(text: str) -> str:
    """Collapse white space (no-break spaces included) so that layout does not change a comparison."""
    return " ".join(text.replace("\u00a0", " ").replace(NBSP, " ").split())


@dataclass(frozen=True)
class CatalogueText:
    """One string of a catalogue, in one language.

    Attributes
    ----------
    lang : {"fr", "en"}
    text : str
        The string as written in the catalogue (a template may hold ``{placeholders}``).
    source : str
        Where it comes from, e.g. ``custrel_lib.plots.stages.TEXT['area_title']``.
    """

    lang: str
    text: str
    source: str

    @property
    def is_template(self) -> bool:
        """Whether the string has ``{placeholders}`` to fill."""
        try:
            return any(field is not None for _, field, _, _ in _FORMATTER.parse(self.text))
        except ValueError:
            return False

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        """Regular expression matching every filled-in form of a template (``None`` for a plain string or a
        template with too little literal text to be told apart from other strings)."""
        if not self.is_template:
            return None
        parts, letters = [], 0
        for literal, field, _, _ in _FORMATTER.parse(self.text.strip()):
            literal = re.sub(r"\s+", " ", literal.replace("\u00a0", " ").replace(NBSP, " "))
            letters += sum(ch.isalpha() for ch in literal)
            parts.append(re.escape(literal))
            if field is not None:
                parts.append(r"(?:.+?)")
        if letters < MIN_TEMPLATE_LETTERS:
            return None
        return re.compile("".join(parts).replace(r"\ ", r"\s+"), re.DOTALL)

    def matches(self, visible: str) -> bool:
        """Whether ``visible`` (a text shown to a reader) is this string or a filled-in form of this template."""
        visible = _normalize(visible)
        if not self.is_template:
            return visible == _normalize(self.text)
        return self.pattern is not None and self.pattern.fullmatch(visible) is not None


def _entries_of(name: str, obj: Any) -> list[tuple[str, str, str]]:
    """``(lang, text, source)`` of a module-level object shaped like a catalogue; empty for anything else.

    Shapes recognised: ``{key: {"fr": str, "en": str}}``, ``{"fr": {key: str}, "en": {key: str}}``,
    ``{"fr": [str, ...], "en": [str, ...]}`` and, for :data:`PAIR_CATALOGUES`, ``{key: (fr, en)}``.
    """
    found: list[tuple[str, str, str]] = []
    if not isinstance(obj, Mapping) or not obj:
        return found
    if name in PAIR_CATALOGUES:
        for key, pair in obj.items():
            for lang, text in zip(LANGUAGES, pair, strict=True):
                found.append((lang, str(text), f"{name}[{key!r}][{LANGUAGES.index(lang)}]"))
        return found
    if set(obj) == set(LANGUAGES):
        for lang in LANGUAGES:
            inner = obj[lang]
            if isinstance(inner, Mapping) and all(isinstance(v, str) for v in inner.values()):
                found += [(lang, v, f"{name}[{lang!r}][{k!r}]") for k, v in inner.items()]
            elif isinstance(inner, list | tuple) and all(isinstance(v, str) for v in inner):
                found += [(lang, v, f"{name}[{lang!r}][{i}]") for i, v in enumerate(inner)]
            else:
                return []
        return found
    if all(
        isinstance(v, Mapping)
        and set(LANGUAGES) <= set(v)
        and all(isinstance(v[la], str) for la in LANGUAGES)
        for v in obj.values()
    ):
        for key, texts in obj.items():
            found += [(lang, texts[lang], f"{name}[{key!r}][{lang!r}]") for lang in LANGUAGES]
    return found


def catalogue_texts(package: str = "custrel_lib") -> dict[str, tuple[CatalogueText, ...]]:
    """Every French and English string of the library's catalogues, by language.

    Walks every module of ``package`` and reads its module-level catalogues (the ``TEXT``/``TEXTS`` dicts of
    the modules and plots, ``INDEX_TEXTS``, label dicts such as ``PSEUDO_LABELS`` or ``STEP_LABELS``, the
    ``(fr, en)`` feature labels of :data:`PAIR_CATALOGUES`; see :func:`_entries_of` for the shapes), then
    adds the stage and cycle labels of the typology (:mod:`custrel_lib.stages.typology`). A new catalogue of one
    of these shapes is found without being registered. Strings written inline in code (``"oui" if fr
    else "yes"``) are not catalogue strings and are not returned.

    Parameters
    ----------
    package : str
        The package to walk.

    Returns
    -------
    dict
        ``{"fr": (CatalogueText, ...), "en": (...)}``; templates keep their ``{placeholders}`` (use
        :meth:`CatalogueText.matches`). A string present in both languages is listed in both.

    Examples
    --------
    >>> texts = catalogue_texts()
    >>> any(t.text == "Clients" for t in texts["fr"])
    True
    """
    root = importlib.import_module(package)
    modules = [root]
    if hasattr(root, "__path__"):
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            modules.append(importlib.import_module(info.name))
    # A catalogue imported by another module is the same object: name it after the module defining it.
    names: dict[int, tuple[bool, str, Any]] = {}
    for module in modules:
        try:
            source_code = inspect.getsource(module)
        except (OSError, TypeError):
            source_code = ""
        for attr, obj in vars(module).items():
            if not isinstance(obj, Mapping) or attr.startswith("__"):
                continue
            defined_here = re.search(rf"^{re.escape(attr)}\b[^=\n]*=", source_code, re.MULTILINE) is not None
            candidate = (defined_here, f"{module.__name__}.{attr}", obj)
            if id(obj) not in names or (defined_here and not names[id(obj)][0]):
                names[id(obj)] = candidate
    by_lang: dict[str, dict[tuple[str, str], CatalogueText]] = {lang: {} for lang in LANGUAGES}
    for _, name, obj in sorted(names.values(), key=lambda item: item[1]):
        for lang, text, source in _entries_of(name, obj):
            by_lang[lang].setdefault((text, source), CatalogueText(lang, text, source))
    for stage in typology.stages():
        for lang in LANGUAGES:
            source = f"custrel_lib.stages.typology.stages()[{stage.code!r}].{lang}"
            by_lang[lang].setdefault(
                (stage.label(lang), source), CatalogueText(lang, stage.label(lang), source)
            )
    for cycle in typology.cycles():
        for lang in LANGUAGES:
            source = f"custrel_lib.stages.typology.cycles()[{cycle.code!r}].{lang}"
            by_lang[lang].setdefault(
                (cycle.label(lang), source), CatalogueText(lang, cycle.label(lang), source)
            )
    return {lang: tuple(entries.values()) for lang, entries in by_lang.items()}


class CatalogueIndex:
    """Which languages' catalogues produce a visible string: exact strings by lookup, templates by pattern.

    Parameters
    ----------
    texts : dict, optional
        The result of :func:`catalogue_texts` (read when not given).

    Examples
    --------
    >>> index = CatalogueIndex()
    >>> sorted(index.languages_of("Customers by relationship stage"))
    ['en']
    >>> sorted(index.languages_of("Flirt"))  # the same in both languages
    []
    """

    def __init__(self, texts: Mapping[str, tuple[CatalogueText, ...]] | None = None):
        self.texts = dict(texts if texts is not None else catalogue_texts())
        self._exact: dict[str, dict[str, list[CatalogueText]]] = {}
        self._templates: list[CatalogueText] = []
        for entries in self.texts.values():
            for entry in entries:
                if entry.is_template:
                    if entry.pattern is not None:
                        self._templates.append(entry)
                else:
                    self._exact.setdefault(_normalize(entry.text), {}).setdefault(entry.lang, []).append(
                        entry
                    )

    def matches(self, visible: str) -> list[CatalogueText]:
        """Every catalogue string (of any language) that ``visible`` equals or fills in."""
        key = _normalize(visible)
        found = [e for entries in self._exact.get(key, {}).values() for e in entries]
        found += [t for t in self._templates if t.pattern is not None and t.pattern.fullmatch(key)]
        return found

    def produced_by(self, visible: str) -> set[str]:
        """Languages having a catalogue string that ``visible`` equals or fills in (both, one or none)."""
        return {e.lang for e in self.matches(visible)}

    def languages_of(self, visible: str) -> set[str]:
        """The language ``visible`` belongs to *only*: ``{"fr"}`` or ``{"en"}``; empty for a string found in
        both languages' catalogues (``NPS``, ``Flirt``) or in none."""
        langs = self.produced_by(visible)
        return langs if len(langs) == 1 else set()
