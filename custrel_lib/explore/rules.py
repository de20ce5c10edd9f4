"""The tunable numbers of a rule set (its thresholds), changed values, and the ``custrel.yml`` block they make.

A threshold is one leaf condition of a rule that compares a numeric feature with a plain number by ``<``,
``<=``, ``>`` or ``>=`` (``tenure_days >= 365``). Equalities (``n_purchases == 0``), yes/no features and
multiples of H are not thresholds: H has its own control.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

import pandas as pd
import yaml

from custrel_lib.exceptions import RuleError
from custrel_lib.explore.text import t
from custrel_lib.stages import typology
from custrel_lib.stages.features import BOOL_FEATURES, feature_label
from custrel_lib.stages.rules import SIGNAL_FEATURES, RuleSet

COMPARISONS = ("<", "<=", ">", ">=")
OP_SIGNS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}


@dataclass(frozen=True)
class Threshold:
    """One tunable number: ``key`` names the rule and the path of the condition inside it."""

    key: str
    stage: str
    path: tuple
    feature: str
    op: str
    value: float | int

    def label(self, lang: str = "fr") -> str:
        stage, feature = typology.stage_label(self.stage, lang), feature_label(self.feature, lang)
        return t("threshold", lang, stage=stage, feature=feature, op=OP_SIGNS[self.op])

    @property
    def is_days(self) -> bool:
        return self.feature.endswith("_days")


def _leaves(cond: dict | None, path: tuple = ()):
    if cond is None:
        return
    if "all" in cond or "any" in cond:
        kind = "all" if "all" in cond else "any"
        for i, item in enumerate(cond[kind]):
            yield from _leaves(item, (*path, kind, i))
        return
    yield path, cond


def thresholds(rules: RuleSet) -> list[Threshold]:
    """The tunable numbers of ``rules``, in rule order.

    Signal features (``p_alive``: :data:`custrel_lib.stages.rules.SIGNAL_FEATURES`) are left out: the explorer
    computes the feature table only, where a signal is unknown and its clauses never hold.
    """
    out = []
    for rule in rules.rules:
        for path, cond in _leaves(rule.when):
            value = cond.get("value")
            if (
                cond["op"] in COMPARISONS
                and cond["feature"] not in BOOL_FEATURES
                and cond["feature"] not in SIGNAL_FEATURES
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            ):
                key = ".".join([rule.stage, *(str(p) for p in path)]) or rule.stage
                out.append(Threshold(key, rule.stage, path, cond["feature"], cond["op"], value))
    return out


def rules_document(rules: RuleSet, values: dict[str, float | int] | None = None) -> list[dict]:
    """The rules as YAML-ready mappings, with the thresholds in ``values`` (``{key: number}``) changed."""
    values = dict(values or {})
    known = {t.key: t for t in thresholds(rules)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise RuleError(f"Unknown threshold(s) {', '.join(unknown)}; known: {', '.join(known)}.")
    doc = []
    for rule in rules.rules:
        item: dict = {"stage": rule.stage}
        if rule.note:
            item["note"] = rule.note
        if rule.when is not None:
            item["when"] = copy.deepcopy(rule.when)
        doc.append(item)
    by_stage = {item["stage"]: item for item in doc}
    for key, value in values.items():
        t = known[key]
        cond = by_stage[t.stage]["when"]
        for step in t.path:
            cond = cond[step]
        cond["value"] = int(value) if float(value).is_integer() else float(value)
    return doc


def with_values(rules: RuleSet, values: dict[str, float | int] | None = None) -> RuleSet:
    """A validated copy of ``rules`` with the thresholds in ``values`` changed."""
    return RuleSet.from_obj(rules_document(rules, values), source="explorer")


def config_block(
    rules: RuleSet,
    values: dict[str, float | int] | None,
    horizon_days: int,
    as_of: pd.Timestamp,
    filters: dict | None = None,
) -> str:
    """The ``analysis`` and ``stages`` sections of a ``custrel.yml`` that reproduce these settings.

    ``as_of`` becomes ``analysis.as_of`` and ``horizon_days`` ``analysis.horizon_days``; the rules are written
    in full (``stages.rules``). Filters only narrow what the explorer shows: they are written as a comment.
    """
    doc = {
        "analysis": {"as_of": pd.Timestamp(as_of).date(), "horizon_days": int(horizon_days)},
        "stages": {"rules": rules_document(rules, values)},
    }
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    head = f"# Stage settings exported from the custrel explorer on {dt.date.today().isoformat()}.\n"
    active = {k: v for k, v in (filters or {}).items() if v not in (None, "", [])}
    if active:
        shown = ", ".join(f"{k} = {v}" for k, v in sorted(active.items()))
        head += f"# The explorer showed only customers with {shown}; the report covers everyone.\n"
    return head + text
