"""The docs stand alone: every file they name exists in the repository, and none points outside it.

Checked: Markdown links ``[text](target)`` and paths written as code (`` `docs/x.md` ``) in README.md, docs/,
benchmarks/README.md and data/sample/README.md. Web links (``http``) are not fetched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "benchmarks" / "README.md"])
DOCS += [ROOT / "data" / "sample" / "README.md"]
TOP = ("docs", "notebooks", "custrel_lib", "tests", "benchmarks", "scripts", "data")
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:{})/[^`\s]*)`".format("|".join(TOP)))
GENERATED = (
    "custrel_lib/_bundle",
    "tests/_output",
    "reports/",
    "benchmarks/_data",
)  # written by a build, a test or a run


def _targets(doc: Path) -> list[tuple[int, str, Path]]:
    found = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        for target in LINK.findall(line):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            found.append((number, target, (doc.parent / target.split("#")[0]).resolve()))
        for target in CODE_PATH.findall(line):
            if target.startswith(GENERATED) or any(ch in target for ch in "*<>{"):
                continue
            found.append((number, target, (ROOT / target.rstrip("/")).resolve()))
    return found


def test_the_docs_exist():
    assert len(DOCS) >= 8, [d.name for d in DOCS]
    assert all(d.is_file() for d in DOCS)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_named_file_exists_inside_the_repository(doc):
    missing, outside = [], []
    for number, target, path in _targets(doc):
        if ROOT not in path.parents and path != ROOT:
            outside.append(f"line {number}: {target}")
        elif not path.exists():
            missing.append(f"line {number}: {target}")
    assert not outside, f"{doc.name} points outside the repository: {outside}"
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_no_doc_mentions_the_shared_folder():
    hits = [str(d.relative_to(ROOT)) for d in DOCS if "../shared" in d.read_text(encoding="utf-8")]
    assert not hits
