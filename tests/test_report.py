"""End-to-end `custrel report` on the sample: outputs, key figures, failure safety, determinism, skip, lock."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.exceptions import ReportError
from custrel_lib.reports.html import count_plotlyjs, remote_references
from custrel_lib.reports.run import report_command, report_lock, run_report
from custrel_lib.stages.model import StageModel

NOTEBOOKS = [
    "0.0-executive-summary",
    "1.0-relationship-stages",
    "2.0-separation-survival",
    "3.0-journey-transitions",
]


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def test_full_report_outputs(report_run, sample_tables, sample_as_of):
    run, _ = report_run
    folder = run.path
    for name in NOTEBOOKS:
        assert (folder / f"{name}.ipynb").is_file() and (folder / f"{name}.html").is_file()
    for name in (
        "index.html",
        "manifest.json",
        "key_figures.json",
        "stage_history.csv",
        "stage_profiles.csv",
        "at_risk.csv",
    ):
        assert (folder / name).is_file(), name
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok" and [n["status"] for n in manifest["notebooks"]] == ["ok"] * 4
    assert {"pandas", "lifelines", "custrel"} <= set(manifest["versions"])
    assert len(manifest["fingerprints"]["data"]) == 3
    for name in NOTEBOOKS:
        page = (folder / f"{name}.html").read_text(encoding="utf-8")
        assert count_plotlyjs(page) == 1, name  # plotly.js embedded once, for offline reading
        assert remote_references(page) == [], name  # nothing fetched from the network
        assert "Traceback" not in page
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert all(f"{name}.html" in index for name in NOTEBOOKS)


def test_key_outputs_match_the_library(report_run, sample_tables, sample_as_of):
    """Key outputs of the executed notebooks, recomputed independently (nbval cannot: outputs are not committed)."""
    run, _ = report_run
    figures = json.loads((run.path / "key_figures.json").read_text(encoding="utf-8"))
    model = StageModel().fit(sample_tables, sample_as_of)
    counts = model.current_["stage"].value_counts()
    assert {s["code"]: s["count"] for s in figures["stages"]} == counts.to_dict()
    history = pd.read_csv(
        run.path / "stage_history.csv", dtype={"customer_id": str}, parse_dates=["snapshot"]
    )
    assert len(history) == len(model.history_)
    assert (history["stage"].to_numpy() == model.history_["stage"].astype(str).to_numpy()).all()
    at_risk = pd.read_csv(run.path / "at_risk.csv")
    assert at_risk["p_separation"].between(0, 1).all()
    assert history.loc[history["at_risk"], "customer_id"].nunique() == int(at_risk["at_risk"].sum())
    assert len(figures["sentences"]) >= 3 and "clients" in figures["sentences"][0]


def test_same_inputs_give_the_same_report(report_run, tmp_path):
    run, _ = report_run
    again = run_report(reports_dir=tmp_path, run_id="second", progress=False)
    a, b = _digest(run.path), _digest(again.path)
    same = [
        n for n in a if n.endswith((".html", ".csv", ".json")) and n not in ("index.html", "manifest.json")
    ]
    assert same and all(a[n] == b[n] for n in same), [n for n in same if a[n] != b[n]]

    # The index differs only by the run id and the time stamp of its footer.
    def normalise(p: Path) -> str:
        text = p.read_text(encoding="utf-8").replace(p.parent.name, "RUN")
        # The footer writes the end of the run as the reader's date and time (31/12/2025 14:03 in French).
        return re.sub(
            r"\d{4}-\d\d-\d\dT[\d:+.]+|\d\d/\d\d/\d{4} \d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d", "TIME", text
        )

    assert normalise(run.path / "index.html") == normalise(again.path / "index.html")


def test_failed_run_leaves_the_previous_report_untouched(report_run):
    run, reports = report_run
    before = _digest(run.path)
    result = CliRunner().invoke(
        report_command,
        ["--reports-dir", str(reports), "--run-id", "first", "--no-progress", "-p", "as_of", "1999-01-01"],
    )
    assert result.exit_code != 0
    assert "0.0-executive-summary.ipynb" in result.output and "cell" in result.output.lower()
    assert _digest(run.path) == before  # byte-identical
    failed = list((reports / "_failed").rglob("0.0-executive-summary.ipynb"))
    assert failed, "the failed executed notebook is kept for diagnosis"


def test_if_changed_skips_and_lock_blocks(tmp_path):
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell('lang = "fr"\nconfig_path = ""'), new_code_cell("print(lang)")])
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nb_dir / "1.0-tiny.ipynb")
    first = run_report(reports_dir=tmp_path / "r", notebooks_dir=nb_dir, progress=False)
    skipped = run_report(reports_dir=tmp_path / "r", notebooks_dir=nb_dir, progress=False, if_changed=True)
    assert skipped.status == "skipped" and skipped.run_id == first.run_id
    with report_lock(tmp_path / "r"), pytest.raises(ReportError, match=r"(?i)lock|running"):
        run_report(reports_dir=tmp_path / "r", notebooks_dir=nb_dir, progress=False, run_id="other")


def test_report_pages_hold_no_customer_identifier(report_run, sample_tables):
    """Report pages are shared widely: none of the sample's customer identifiers may appear in any of them
    (the named list is at_risk.csv, a separate file)."""
    run, _ = report_run
    ids = set(sample_tables["customers"]["customer_id"]) | set(sample_tables["transactions"]["customer_id"])
    pattern = re.compile(r"\bC\d{4}\b")
    pages = sorted(run.path.glob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        found = set(pattern.findall(page.read_text(encoding="utf-8"))) & ids
        assert not found, f"{page.name} shows customer identifiers: {sorted(found)[:5]}"
    assert set(pd.read_csv(run.path / "at_risk.csv")["customer_id"]) <= ids
