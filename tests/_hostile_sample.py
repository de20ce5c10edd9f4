"""A copy of the committed sample whose every displayed text carries an HTML/JavaScript payload.

Used by ``tests/test_hostile_report.py``: the full report runs on it and a real browser checks that nothing in it
became live markup. The distinct values of each text field get the payloads in turn (``app <script>...``,
``magasin <img ...>``, ``web <b>bold</b>``), so every payload sits in every field and a leak names its value.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml

from custrel_lib.paths import DEFAULT_STAGES_FILE, SAMPLE_DIR

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
BOLD = "<b>bold</b>"
PAYLOADS = (SCRIPT, IMG, BOLD)

#: Text columns of the contract that may reach a report; each distinct value gets one payload appended, in turn.
FIELDS = (
    ("transactions", "category"),
    ("transactions", "channel"),
    ("customers", "acquisition_channel"),
    ("customers", "region"),
)
#: Interaction types outside the contract's set are kept and flagged; these rows carry payloads in that field.
HOSTILE_TYPES = (f"nps {SCRIPT}", f"avis {IMG}", f"usage {BOLD}")


def hostile_values(values: pd.Series) -> dict[str, str]:
    """Each distinct non-empty value -> the value with a payload appended (payloads in turn, sorted values)."""
    distinct = sorted(v for v in values.unique() if v)
    mapping = {v: f"{v} {PAYLOADS[i % len(PAYLOADS)]}" for i, v in enumerate(distinct)}
    return {"": "", **mapping}


def _hostile_rules() -> list[dict]:
    """The packaged rules with a payload in every rule's note (the rule's name in custrel.yml)."""
    doc = yaml.safe_load(Path(DEFAULT_STAGES_FILE).read_text(encoding="utf-8"))
    rules = doc["rules"]
    for i, rule in enumerate(rules):
        rule["note"] = f"{rule.get('note', '')} {PAYLOADS[i % len(PAYLOADS)]}".strip()
    return rules


def write_hostile_sample(folder: Path) -> Path:
    """Write the hostile copy of ``data/sample`` into ``folder``; return its ``custrel.yml``."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        name: pd.read_csv(SAMPLE_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("transactions", "customers", "interactions")
    }
    for table, column in FIELDS:
        values = tables[table][column]
        tables[table][column] = values.map(hostile_values(values))
    it = tables["interactions"]
    extra = it[it["type"] == "nps"].head(len(HOSTILE_TYPES)).copy()
    extra["type"] = list(HOSTILE_TYPES)[: len(extra)]
    tables["interactions"] = pd.concat([it, extra], ignore_index=True)
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    shutil.copytree(SAMPLE_DIR / "truth", folder / "truth", dirs_exist_ok=True)
    config = {
        "data_dir": ".",
        "language": "fr",
        "tables": {name: {"path": f"{name}.csv"} for name in tables},
        "analysis": {"as_of": "2025-12-31", "cadence": "month"},
        "stages": {"rules": _hostile_rules()},
    }
    path = folder / "custrel.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
