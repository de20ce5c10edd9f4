"""The typology as data: ordered stage rules, validated, compiled to one CASE expression in the engine.

A rule set is a list (first match wins; the last rule is the catch-all, without ``when``)::

    - stage: prospect
      when: {feature: n_purchases, op: "==", value: 0}
    - stage: separe
      when:
        any:
          - all: [{feature: n_purchases, op: ">=", value: 2}, {feature: active, op: "==", value: false}]
          - {feature: contract_ended, op: "==", value: true}
    - stage: flirt          # catch-all

A condition is ``{feature, op, value}``, ``{all: [...]}`` or ``{any: [...]}``. Operators: ``== != < <= > >=
in not_in is_null not_null``. A value ``{horizon: 1.5}`` means 1.5 times the separation horizon H. Comparisons
with a missing feature value are false (SQL semantics), in the engine and in the pandas reference alike.
The packaged defaults are the ``rules`` of ``custrel_lib/stages/stages.yml``; ``custrel.yml`` can replace them
(``stages: {rules: [...]}`` or ``stages: {rules_file: my_rules.yml}``).

Signal features (:data:`SIGNAL_FEATURES`) are not in the feature table: a later analysis supplies them for one
snapshot (``p_alive``, BG/NBD's probability alive, from :func:`custrel_lib.flame.signal.stages_with_p_alive`).
Where a signal is absent, it is unknown, so a comparison with it is false and the rules place customers as
without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import yaml

from custrel_lib.exceptions import RuleError
from custrel_lib.i18n import check_lang, format_number, tr
from custrel_lib.paths import DEFAULT_STAGES_FILE
from custrel_lib.stages import typology
from custrel_lib.stages.features import BOOL_FEATURES, FEATURE_COLUMNS
from custrel_lib.tables import HtmlTable

#: Numeric features that an analysis supplies at one snapshot (see the module docstring), with their labels.
SIGNAL_FEATURES = {
    "p_alive": {
        "fr": "probabilité d'être encore actif (BG/NBD, clients sans contrat)",
        "en": "probability of still being active (BG/NBD, customers without contract)",
    },
}
OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not_in", "is_null", "not_null")
OP_WORDS = {
    "fr": {
        "==": "=",
        "!=": "≠",
        "<": "<",
        "<=": "≤",
        ">": ">",
        ">=": "≥",
        "in": "parmi",
        "not_in": "hors de",
        "is_null": "inconnu",
        "not_null": "connu",
        "all": " et ",
        "any": " ou ",
        "always": "tous les autres",
        "true": "oui",
        "false": "non",
    },
    "en": {
        "==": "=",
        "!=": "≠",
        "<": "<",
        "<=": "≤",
        ">": ">",
        ">=": "≥",
        "in": "in",
        "not_in": "not in",
        "is_null": "unknown",
        "not_null": "known",
        "all": " and ",
        "any": " or ",
        "always": "everyone else",
        "true": "yes",
        "false": "no",
    },
}
#: Headers of :meth:`RuleSet.to_frame` and the horizon multiples of the conditions (``1,5 × H (238 j)``).
RULE_TEXT = {
    "order": {"fr": "ordre", "en": "order"},
    "stage": {"fr": "étape", "en": "stage"},
    "code": {"fr": "code", "en": "code"},
    "conditions": {"fr": "conditions", "en": "conditions"},
    "horizon": {"fr": "{k} × H", "en": "{k} × H"},
    "horizon_days": {"fr": "{k} × H ({days} j)", "en": "{k} × H ({days} d)"},
}


def _number(value: float | int, lang: str) -> str:
    """A rule's number in the reader's format, with as many decimals as it has (``1,5``, ``10``)."""
    text = f"{value:g}"
    decimals = 0 if "e" in text or "." not in text else len(text.split(".")[1])
    return format_number(value, lang, decimals)


@dataclass(frozen=True)
class Rule:
    stage: str
    when: dict | None  # None: catch-all
    note: str = ""


def _check_condition(cond: Any, where: str, features: set[str]) -> None:
    if not isinstance(cond, dict):
        raise RuleError(f"{where}: a condition must be a mapping, got {cond!r}.")
    keys = set(cond)
    if keys & {"all", "any"}:
        if len(keys) != 1:
            raise RuleError(f"{where}: 'all'/'any' must be alone in their condition, found {sorted(keys)}.")
        ((kind, items),) = cond.items()
        if not isinstance(items, list) or not items:
            raise RuleError(f"{where}: '{kind}' needs a non-empty list of conditions.")
        for i, item in enumerate(items):
            _check_condition(item, f"{where}.{kind}[{i}]", features)
        return
    unknown = keys - {"feature", "op", "value"}
    if unknown or "feature" not in cond or "op" not in cond:
        raise RuleError(
            f"{where}: a condition is {{feature, op, value}}, all or any; got keys {sorted(keys)}."
        )
    if cond["feature"] not in features:
        raise RuleError(
            f"{where}: unknown feature {cond['feature']!r}. Known features: {', '.join(sorted(features))}."
        )
    if cond["op"] not in OPERATORS:
        raise RuleError(f"{where}: unknown operator {cond['op']!r}. Use one of: {' '.join(OPERATORS)}.")
    if cond["op"] in ("is_null", "not_null"):
        return
    if "value" not in cond:
        raise RuleError(f"{where}: operator {cond['op']!r} needs a value.")
    value = cond["value"]
    if cond["op"] in ("in", "not_in") and not isinstance(value, list):
        raise RuleError(f"{where}: operator {cond['op']!r} needs a list of values.")
    if isinstance(value, dict) and (
        set(value) != {"horizon"} or not isinstance(value["horizon"], int | float)
    ):
        raise RuleError(f"{where}: a computed value must be {{horizon: <number>}}, got {value!r}.")
    # Compare like with like: yes/no features with true/false, the others with numbers.
    is_bool = cond["feature"] in BOOL_FEATURES
    for v in value if isinstance(value, list) else [value]:
        if isinstance(v, dict):
            ok = not is_bool
        else:
            ok = isinstance(v, bool) if is_bool else isinstance(v, int | float) and not isinstance(v, bool)
        if not ok:
            kind = "true or false" if is_bool else "a number (or {horizon: <number>})"
            raise RuleError(f"{where}: feature {cond['feature']!r} compares with {kind}, got {v!r}.")


class RuleSet:
    """Validated stage rules; ``compile(table, horizon)`` gives the CASE expression."""

    def __init__(self, rules: list[Rule], source: str = "rules"):
        self.rules, self.source = rules, source

    @classmethod
    def from_obj(cls, obj: Any, source: str = "rules", features: list[str] | None = None) -> RuleSet:
        """From a list of mappings (as in YAML), a mapping with ``rules`` or ``rules_file``, a path or a RuleSet."""
        if isinstance(obj, RuleSet):
            return obj
        if obj is None:
            return default_rules()
        if isinstance(obj, str | Path):
            path = Path(obj)
            try:
                obj = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise RuleError(f"Cannot read stage rules from {path}: {exc}") from exc
            source = str(path)
        if isinstance(obj, dict):
            if "rules_file" in obj:
                return cls.from_obj(Path(obj["rules_file"]), features=features)
            if "rules" not in obj:
                raise RuleError(f"{source}: expected a 'rules' list (or 'rules_file').")
            obj = obj["rules"]
        if not isinstance(obj, list) or not obj:
            raise RuleError(f"{source}: the rules must be a non-empty list.")
        known = set(features or FEATURE_COLUMNS) | set(SIGNAL_FEATURES)
        codes = set(typology.stage_order())
        rules, seen = [], set()
        for i, item in enumerate(obj):
            where = f"{source}[{i}]"
            if not isinstance(item, dict) or "stage" not in item:
                raise RuleError(f"{where}: each rule needs a 'stage' (and a 'when' except the last).")
            extra = set(item) - {"stage", "when", "note"}
            if extra:
                raise RuleError(f"{where}: unknown key(s) {sorted(extra)}; a rule has stage, when, note.")
            stage = item["stage"]
            if stage not in codes:
                raise RuleError(
                    f"{where}: unknown stage {stage!r}. Stages: {', '.join(typology.stage_order())}."
                )
            if stage in seen:
                raise RuleError(f"{where}: stage {stage!r} has two rules; merge them with 'any'.")
            seen.add(stage)
            when = item.get("when")
            if when is None and i != len(obj) - 1:
                later = ", ".join(r["stage"] for r in obj[i + 1 :] if isinstance(r, dict) and "stage" in r)
                raise RuleError(
                    f"{where}: {stage!r} has no condition (catch-all) but is not last: "
                    f"{later} would be unreachable."
                )
            if when is not None:
                _check_condition(when, f"{where}.when", known)
            rules.append(Rule(stage=stage, when=when, note=str(item.get("note", ""))))
        if rules[-1].when is not None:
            raise RuleError(
                f"{source}: the last rule must be a catch-all (no 'when'), so every customer has a stage."
            )
        return cls(rules, source)

    @property
    def stages(self) -> list[str]:
        return [r.stage for r in self.rules]

    # --- compilation -----------------------------------------------------------------------------------

    @staticmethod
    def _value(value: Any, horizon: float) -> Any:
        return float(value["horizon"]) * float(horizon) if isinstance(value, dict) else value

    def _ibis(self, cond: dict, t: ibis.Table, horizon: float):
        if "all" in cond or "any" in cond:
            parts = [self._ibis(c, t, horizon) for c in cond.get("all", cond.get("any"))]
            out = parts[0]
            for part in parts[1:]:
                out = (out & part) if "all" in cond else (out | part)
            return out
        if cond["feature"] not in t.columns:  # a signal not supplied: unknown
            return ibis.literal(cond["op"] == "is_null")
        col, op = t[cond["feature"]], cond["op"]
        if op == "is_null":
            return col.isnull()
        if op == "not_null":
            return col.notnull()
        v = self._value(cond["value"], horizon)
        expr = {
            "==": lambda: col == v,
            "!=": lambda: col != v,
            "<": lambda: col < v,
            "<=": lambda: col <= v,
            ">": lambda: col > v,
            ">=": lambda: col >= v,
            "in": lambda: col.isin(v),
            "not_in": lambda: col.notin(v),
        }[op]()
        return expr.fill_null(False)

    def compile(self, t: ibis.Table, horizon: float) -> ibis.Value:
        """One CASE expression over the feature table ``t``: first matching rule wins."""
        case = []
        for rule in self.rules[:-1]:
            case.append((self._ibis(rule.when, t, horizon), rule.stage))
        return ibis.cases(*case, else_=self.rules[-1].stage)

    def _pandas(self, cond: dict, df: pd.DataFrame, horizon: float) -> pd.Series:
        if "all" in cond or "any" in cond:
            parts = [self._pandas(c, df, horizon) for c in cond.get("all", cond.get("any"))]
            out = parts[0]
            for part in parts[1:]:
                out = (out & part) if "all" in cond else (out | part)
            return out
        if cond["feature"] not in df.columns:  # a signal not supplied: unknown
            return pd.Series(cond["op"] == "is_null", index=df.index)
        col, op = df[cond["feature"]], cond["op"]
        if op == "is_null":
            return col.isna()
        if op == "not_null":
            return col.notna()
        v = self._value(cond["value"], horizon)
        known = col.notna()
        res = {
            "==": lambda: col == v,
            "!=": lambda: col != v,
            "<": lambda: col < v,
            "<=": lambda: col <= v,
            ">": lambda: col > v,
            ">=": lambda: col >= v,
            "in": lambda: col.isin(v),
            "not_in": lambda: ~col.isin(v),
        }[op]()
        return (res & known).astype(bool)

    def assign_pandas(self, df: pd.DataFrame, horizon: float) -> pd.Series:
        """The reference: the same rules evaluated with pandas."""
        stage = pd.Series(self.rules[-1].stage, index=df.index, dtype=object)
        done = pd.Series(False, index=df.index)
        for rule in self.rules[:-1]:
            hit = self._pandas(rule.when, df, horizon) & ~done
            stage[hit] = rule.stage
            done |= hit
        return stage

    def matches(self, row: pd.Series, horizon: float) -> list[bool]:
        """For one customer (a feature row), whether each rule's condition holds."""
        df = row.to_frame().T.infer_objects()
        return [
            True if r.when is None else bool(self._pandas(r.when, df, horizon).iloc[0]) for r in self.rules
        ]

    # --- display -----------------------------------------------------------------------------------------

    def describe(self, cond: dict | None, lang: str = "fr", horizon: float | None = None) -> str:
        words = OP_WORDS[check_lang(lang)]
        if cond is None:
            return words["always"]
        if "all" in cond or "any" in cond:
            kind = "all" if "all" in cond else "any"
            parts = [self.describe(c, lang, horizon) for c in cond[kind]]
            # Parenthesise nested groups so that "and" and "or" read unambiguously.
            parts = [
                f"({p})" if ("all" in c or "any" in c) and len(c[next(iter(c))]) > 1 else p
                for p, c in zip(parts, cond[kind], strict=True)
            ]
            return words[kind].join(parts)
        op = words[cond["op"]]
        if cond["op"] in ("is_null", "not_null"):
            return f"{cond['feature']} {op}"
        v = cond["value"]
        if isinstance(v, dict):
            k = _number(v["horizon"], lang)
            if horizon:
                days = format_number(v["horizon"] * horizon, lang, 0)
                text = tr(RULE_TEXT, "horizon_days", lang, k=k, days=days)
            else:
                text = tr(RULE_TEXT, "horizon", lang, k=k)
        elif isinstance(v, bool):
            text = words["true" if v else "false"]
        elif isinstance(v, int | float):
            text = _number(v, lang)
        elif isinstance(v, list | tuple):
            text = (
                "[" + ", ".join(_number(x, lang) if isinstance(x, int | float) else str(x) for x in v) + "]"
            )
        else:
            text = str(v)
        return f"{cond['feature']} {op} {text}"

    def to_frame(self, lang: str = "fr", horizon: float | None = None) -> pd.DataFrame:
        """The rules in reading order: rank, stage code, label, conditions in words (headers in ``lang``)."""
        lang = check_lang(lang)
        cols = [tr(RULE_TEXT, k, lang) for k in ("order", "stage", "code", "conditions")]
        return pd.DataFrame(
            [
                (i + 1, typology.stage_label(r.stage, lang), r.stage, self.describe(r.when, lang, horizon))
                for i, r in enumerate(self.rules)
            ],
            columns=cols,
        )

    def table(self, lang: str = "fr", horizon: float | None = None) -> HtmlTable:
        """:meth:`to_frame` as a table for a report in ``lang``."""
        return HtmlTable(self.to_frame(lang, horizon), lang)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __repr__(self) -> str:
        return f"RuleSet({' > '.join(self.stages)})"


def default_rules() -> RuleSet:
    doc = yaml.safe_load(DEFAULT_STAGES_FILE.read_text(encoding="utf-8"))
    return RuleSet.from_obj(doc["rules"], source=f"{DEFAULT_STAGES_FILE.name}:rules")


def rules_from_config(config: Any) -> RuleSet:
    """The stage rules a :class:`~custrel_lib.config.CustrelConfig` names, checked before any data is read.

    ``stages: {rules: [...]}`` is checked with its errors pointing at ``<custrel.yml>: stages.rules[i]...``;
    ``stages: {rules_file: ...}`` is read relative to the configuration's folder; no ``stages`` block gives the
    packaged defaults. Raises :class:`RuleError` naming the rule, the key and the valid values.
    """
    block = getattr(config, "stages", None)
    if not block:
        return default_rules()
    where = getattr(config, "path", None)
    if isinstance(block, dict) and "rules_file" in block:
        path = Path(str(block["rules_file"])).expanduser()
        if not path.is_absolute() and where is not None:
            path = Path(where).parent / path
        return RuleSet.from_obj(path)
    rules = block.get("rules") if isinstance(block, dict) else block
    return RuleSet.from_obj(rules, source=f"{where or 'configuration'}: stages.rules")
