"""Stage and cycle metadata: codes, fixed display order, French/English labels, colours.

The metadata comes from the ``stages`` and ``cycles`` sections of the typology YAML
(``custrel_lib/stages/stages.yml`` by default), the same file that holds the stage rules, so labels,
order and colours can never drift from the rules that assign the stages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import check_lang
from custrel_lib.paths import DEFAULT_STAGES_FILE

TEXT = {
    "horizon_config": {
        "fr": "Horizon de séparation H = {days} jours (fixé dans la configuration).",
        "en": "Separation horizon H = {days} days (set in the configuration).",
    },
    "horizon_data": {
        "fr": "Horizon de séparation H = {days} jours (déduit des données : {p}e centile des écarts entre deux "
        "achats des clients réguliers).",
        "en": "Separation horizon H = {days} days (derived from the data: {p}th percentile of the gaps between "
        "two purchases of repeat customers).",
    },
}


@dataclass(frozen=True)
class Stage:
    """One relationship stage."""

    code: str
    fr: str
    en: str
    cycle: str
    color: str
    order: int

    def label(self, lang: str = "fr") -> str:
        return getattr(self, check_lang(lang))


@dataclass(frozen=True)
class Cycle:
    """One relationship cycle (séduction, développement, ...)."""

    code: str
    fr: str
    en: str
    order: int

    def label(self, lang: str = "fr") -> str:
        return getattr(self, check_lang(lang))


@lru_cache(maxsize=8)
def _load(path: str) -> tuple[tuple[Stage, ...], tuple[Cycle, ...]]:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    try:
        cycles = tuple(
            Cycle(code=c["code"], fr=c["fr"], en=c["en"], order=i) for i, c in enumerate(doc["cycles"])
        )
        stages = tuple(
            Stage(code=s["code"], fr=s["fr"], en=s["en"], cycle=s["cycle"], color=s["color"], order=i)
            for i, s in enumerate(doc["stages"])
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: invalid stages/cycles definition ({exc!r}).") from exc
    known = {c.code for c in cycles}
    for s in stages:
        if s.cycle not in known:
            raise ConfigError(f"{path}: stage {s.code!r} names unknown cycle {s.cycle!r}.")
    return stages, cycles


def stages(path: str | Path | None = None) -> tuple[Stage, ...]:
    """All stages in display order."""
    return _load(str(path or DEFAULT_STAGES_FILE))[0]


def cycles(path: str | Path | None = None) -> tuple[Cycle, ...]:
    """All cycles in display order."""
    return _load(str(path or DEFAULT_STAGES_FILE))[1]


def stage_order(path: str | Path | None = None) -> list[str]:
    """Stage codes in their fixed display order."""
    return [s.code for s in stages(path)]


def get_stage(code: str, path: str | Path | None = None) -> Stage:
    for s in stages(path):
        if s.code == code:
            return s
    raise ConfigError(f"Unknown stage {code!r}: known stages are {', '.join(stage_order(path))}.")


def stage_label(code: str, lang: str = "fr", path: str | Path | None = None) -> str:
    return get_stage(code, path).label(lang)


def stage_color(code: str, path: str | Path | None = None) -> str:
    return get_stage(code, path).color


def stage_colors(path: str | Path | None = None) -> dict[str, str]:
    return {s.code: s.color for s in stages(path)}


def cycle_of(code: str, path: str | Path | None = None) -> str:
    return get_stage(code, path).cycle


def cycle_label(code: str, lang: str = "fr", path: str | Path | None = None) -> str:
    for c in cycles(path):
        if c.code == code:
            return c.label(lang)
    raise ConfigError(f"Unknown cycle {code!r}.")


def horizon_sentence(days: float, quantile: float | None = None, lang: str = "fr") -> str:
    """One sentence giving the separation horizon H and where it comes from.

    Parameters
    ----------
    days : float
        H in days.
    quantile : float, optional
        The quantile of the repeat customers' gaps H was derived from (``0.95``); ``None`` when H was set
        in the configuration.
    lang : {"fr", "en"}
    """
    from custrel_lib.i18n import format_number

    lang = check_lang(lang)
    if quantile is None:
        return TEXT["horizon_config"][lang].format(days=format_number(days, lang))
    return TEXT["horizon_data"][lang].format(
        days=format_number(days, lang),
        p=format_number(quantile * 100, lang, 0 if (quantile * 100).is_integer() else 1),
    )
