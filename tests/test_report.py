"""End-to-end `custrel report` on the sample: outputs, key figures, failure safety, determinism, skip, lock;
and on tiny notebooks: parameters checked before a run, a dying kernel explained, runs killed mid-way or
started together."""

from __future__ import annotations

import glob
import hashlib
import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.cli import report_command
from custrel_lib.exceptions import ConfigError, ReportError
from custrel_lib.flame.analysis import run_flame
from custrel_lib.flame.signal import signal_sentence, stages_with_p_alive
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.reports.execute import ipc_prefix
from custrel_lib.reports.html import count_plotlyjs, remote_references
from custrel_lib.reports.publish import report_lock
from custrel_lib.reports.run import run_report
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


def _outputs_text(path: Path) -> str:
    """Every text an executed notebook shows (printed or HTML), unescaped."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")))
            for mime in ("text/plain", "text/html"):
                parts.append("".join(out.get("data", {}).get(mime, "")))
    return html.unescape("\n".join(parts))


def test_key_outputs_match_the_library(report_run, sample_tables, sample_as_of):
    """Key outputs of the executed notebooks, recomputed independently (nbval cannot: outputs are not committed).

    The stages are those with BG/NBD's P(alive) at the last snapshot, in every notebook and export alike."""
    run, _ = report_run
    figures = json.loads((run.path / "key_figures.json").read_text(encoding="utf-8"))
    model = StageModel().fit(sample_tables, sample_as_of)
    expected = stages_with_p_alive(model, run_flame(sample_tables, sample_as_of).customers)
    changed = expected.attrs["changed"]
    last = expected[expected["snapshot"] == sample_as_of]
    counts = last["stage"].value_counts()
    assert {s["code"]: s["count"] for s in figures["stages"]} == counts.to_dict()
    history = pd.read_csv(
        run.path / "stage_history.csv", dtype={"customer_id": str}, parse_dates=["snapshot"]
    )
    assert len(history) == len(expected)
    assert (history["stage"].to_numpy() == expected["stage"].astype(str).to_numpy()).all()
    # The signal moved customers, and every notebook counts them the same way.
    signal = figures["stage_signal"]
    assert signal["applied"] and signal["moved"] == len(changed) >= 1
    assert (
        signal["moves"]
        == {"flirt->separe": len(changed)}
        == {f"{b}->{a}": n for (b, a), n in changed.groupby(["stage_before", "stage"]).size().items()}
    )
    in_csv = history[history["snapshot"] == history["snapshot"].max()]["stage"].value_counts()
    assert in_csv.to_dict() == {s["code"]: s["count"] for s in figures["stages"]}
    profiles = pd.read_csv(run.path / "stage_profiles.csv")
    assert dict(zip(profiles["stage"], profiles["customers"], strict=True)) == in_csv.to_dict()
    fr = signal_sentence(changed, "fr", sample_as_of)
    for name in ("1.0-relationship-stages", "2.0-separation-survival"):
        assert fr[0] in _outputs_text(run.path / f"{name}.ipynb"), name
    # What the report was computed on: the lines of each file, counted here without custrel.
    for table in ("transactions", "customers", "interactions"):
        lines = (SAMPLE_DIR / f"{table}.csv").read_text(encoding="utf-8").count("\n") - 1
        data = figures["data"][table]
        assert (data["file"], data["read"], data["kept"], data["rejected"]) == (
            f"{table}.csv",
            lines,
            lines,
            0,
        )
    summary_text = _outputs_text(run.path / "0.0-executive-summary.ipynb")
    assert "Données lues : transactions.csv, " in summary_text
    # The sample has sign-up dates: the origin note says the rule survival.origin = auto used with them.
    assert "Origine des relations : le premier achat, ou la date d'inscription" in summary_text
    at_risk = pd.read_csv(run.path / "at_risk.csv")
    assert at_risk["p_separation"].between(0, 1).all()
    assert history.loc[history["at_risk"], "customer_id"].nunique() == int(at_risk["at_risk"].sum())
    assert len(figures["sentences"]) >= 3 and "clients" in figures["sentences"][0]


def test_same_inputs_give_the_same_report_sequential_or_parallel(report_run, tmp_path):
    """The session's report ran with the default jobs; the same report the other way (one notebook at a time,
    or side by side) gives the same pages, exports and key figures, byte for byte."""
    run, _ = report_run
    jobs = 1 if run.manifest["jobs"] > 1 else 2
    again = run_report(reports_dir=tmp_path, run_id="second", progress=False, jobs=jobs)
    both = (run.manifest["jobs"], again.manifest["jobs"])
    assert min(both) == 1 and max(both) > 1  # one sequential run, one parallel
    assert [n["name"] for n in again.manifest["notebooks"]] == [n["name"] for n in run.manifest["notebooks"]]
    assert all(n["status"] == "ok" for n in again.manifest["notebooks"])
    a, b = _digest(run.path), _digest(again.path)
    same = [
        n for n in a if n.endswith((".html", ".csv", ".json")) and n not in ("index.html", "manifest.json")
    ]
    assert {"at_risk.csv", "stage_history.csv", "stage_profiles.csv", "key_figures.json"} <= set(same)
    assert all(a[n] == b[n] for n in same), [n for n in same if a[n] != b[n]]
    figures = json.loads((run.path / "key_figures.json").read_text(encoding="utf-8"))
    assert figures["stages"] and figures["headline"]  # not two empty files

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


def _tiny_notebooks(folder: Path, *bodies: str, parameters: str = 'lang = "fr"\nconfig_path = ""') -> Path:
    """Notebooks ``1.0-tiny``, ``2.0-tiny``, ... each with a parameters cell and one cell running ``body``."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    folder.mkdir(parents=True, exist_ok=True)
    for number, body in enumerate(bodies, start=1):
        nb = new_notebook(cells=[new_code_cell(parameters), new_code_cell("x = 1"), new_code_cell(body)])
        nb.cells[0].metadata["tags"] = ["parameters"]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{number}.0-tiny.ipynb")
    return folder


def test_if_changed_skips_and_lock_blocks(tmp_path):
    nb_dir = _tiny_notebooks(tmp_path / "nbs", "print(lang)")
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


# ------------------------------------------------------------------------------------- checked before a run


def test_unknown_or_mistyped_parameters_are_refused_before_anything_runs(tmp_path):
    nb_dir = _tiny_notebooks(
        tmp_path / "nbs", "print(n)", parameters='lang = "fr"\nconfig_path = ""\nn: int = 3  # how many'
    )
    reports = tmp_path / "r"
    with pytest.raises(ConfigError) as unknown:
        run_report(reports_dir=reports, notebooks_dir=nb_dir, progress=False, parameters={"nn": "4"})
    message = str(unknown.value)
    assert "'nn'" in message and "n (int)" in message and "lang (str)" in message
    with pytest.raises(ConfigError) as mistyped:
        run_report(reports_dir=reports, notebooks_dir=nb_dir, progress=False, parameters={"n": "three"})
    assert "'n'" in str(mistyped.value) and "expects int" in str(mistyped.value)
    assert "n (int)" in str(mistyped.value)
    assert not reports.exists()  # refused before the lock, the run folder or any kernel
    ok = run_report(reports_dir=reports, notebooks_dir=nb_dir, progress=False, parameters={"n": "4"})
    assert ok.manifest["notebooks"][0]["parameters"] == ["config_path", "lang", "n"]


# --------------------------------------------------------------------------------------- a kernel that dies


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    code = "from custrel_lib.cli import main; main()"
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.Popen([sys.executable, "-c", code, *args], text=True, env=env, **pipes)


def test_a_dying_kernel_is_explained_without_transport_noise(tmp_path):
    """A cell that kills its own kernel (as the out-of-memory killer does): the message names the notebook, the
    cell, the peak memory and what to do; the terminal shows nothing from the kernel machinery."""
    reports = tmp_path / "r"
    good = _tiny_notebooks(tmp_path / "good", "print(lang)")
    first = run_report(reports_dir=reports, notebooks_dir=good, progress=False, run_id="first")
    before = _digest(first.path)
    bad = _tiny_notebooks(tmp_path / "bad", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    proc = _cli("report", "--reports-dir", str(reports), "--no-progress", "--run-id", "first",
                "--notebook", str(bad / "1.0-tiny.ipynb"))  # fmt: skip
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out + err
    assert "The kernel of notebook 1.0-tiny.ipynb died while running cell 3" in err
    assert "os.kill(os.getpid(), signal.SIGKILL)" not in err or "cell 3" in err
    assert re.search(r"peak memory was [\d,]+ MB", err), err
    assert "smaller sample" in err and "Spark" in err
    assert "IPKernelApp" not in err and "WARNING" not in err and "Traceback" not in err, err
    assert _digest(first.path) == before
    failed = reports / "_failed" / "first"
    manifest = json.loads((failed / "manifest.json").read_text(encoding="utf-8"))
    error = manifest["notebooks"][0]["error"]
    assert error["kernel_died"] and error["cell_index"] == 3 and error["peak_memory_bytes"] > 10_000_000
    assert (failed / "kernel-1.0-tiny.log").is_file()  # the kernel's stderr, kept for diagnosis


# ----------------------------------------------------------------------------- killed and concurrent runs


def _wait_for(predicate, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_killed_mid_way_leaves_earlier_reports_intact(tmp_path, signum):
    reports = tmp_path / "r"
    nbs = _tiny_notebooks(tmp_path / "nbs", "print(lang)", "import time\ntime.sleep(120)")
    first = run_report(reports_dir=reports, notebooks_dir=nbs, progress=False, run_id="first",
                       notebooks=["1.0-tiny"])  # fmt: skip
    before = _digest(first.path)
    latest = (reports / "latest.json").read_text(encoding="utf-8")
    proc = _cli("report", "--reports-dir", str(reports), "--no-progress", "--run-id", "first",
                "--notebook", str(nbs / "1.0-tiny.ipynb"), "--notebook", str(nbs / "2.0-tiny.ipynb"))  # fmt: skip
    # Killed while the second notebook runs: the first one's page is already written in the temporary folder.
    _wait_for(lambda: any(reports.glob(".tmp-first-*/2.0-tiny.ipynb")))
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert _digest(first.path) == before and (reports / "latest.json").read_text(encoding="utf-8") == latest
    assert sorted(p.name for p in reports.iterdir() if not p.name.startswith(".")) == ["first", "latest.json"]
    if signum == signal.SIGTERM:  # unwound: nothing left behind, and said so
        assert not list(reports.glob(".tmp-*")) and "Interrupted" in err
    # Killed outright, the run may leave its kernels' socket files in the temporary folder (unless a worker,
    # seeing its parent gone, removed them first): the next run removes them (see also the clean_stale test below).
    prefixes = [ipc_prefix(log) for log in reports.glob(".tmp-*/kernel-*.log")]
    left = [p for prefix in prefixes for p in glob.glob(f"{glob.escape(prefix)}-*")]
    again = run_report(reports_dir=reports, notebooks_dir=nbs, progress=False, run_id="second",
                       notebooks=["1.0-tiny"])  # fmt: skip
    assert again.status == "ok" and not list(reports.glob(".tmp-*"))  # a killed run's leftovers are cleaned
    assert not [p for p in left if os.path.exists(p)]


@pytest.mark.parametrize("wait", [False, True], ids=["exit", "wait"])
def test_two_runs_at_once_one_proceeds_the_other_exits_or_waits(tmp_path, wait):
    reports, release = tmp_path / "r", tmp_path / "release"
    # The first run holds the lock until the test releases it: after the second has exited, or said it waits.
    hold = f"import os, time\nend = time.time() + 240\nwhile not os.path.exists({str(release)!r}) and time.time() < end:\n    time.sleep(0.1)"
    nbs = _tiny_notebooks(tmp_path / "nbs", hold, "print(lang)")
    args = ["report", "--reports-dir", str(reports), "--no-progress", "--notebook"]
    first = _cli(*args, str(nbs / "1.0-tiny.ipynb"), "--run-id", "a")
    _wait_for(lambda: any(reports.glob(".tmp-a-*")))
    with open(tmp_path / "second.err", "w+", encoding="utf-8") as err:
        extra = ["--wait"] if wait else []
        second = _cli(*args, str(nbs / "2.0-tiny.ipynb"), "--run-id", "b", *extra, stderr=err)
        if wait:  # it says why it has not started, and blocks
            _wait_for(
                lambda: "waiting for it to finish" in (tmp_path / "second.err").read_text(encoding="utf-8")
            )
            assert second.poll() is None and not (reports / "b").exists()
        else:
            second.wait(timeout=300)
        release.touch()
        (_, err_a), _ = first.communicate(timeout=300), second.communicate(timeout=300)
        err.seek(0)
        err_b = err.read()
    assert first.returncode == 0, err_a
    if wait:
        assert second.returncode == 0, err_b
        assert "Another report run is writing into" in err_b and "held by pid" in err_b
        pages = [reports / run / "index.html" for run in ("a", "b")]
        assert pages[1].stat().st_mtime >= pages[0].stat().st_mtime  # b waited for a to finish
    else:
        assert second.returncode == 1
        assert "Another report run is writing into" in err_b and "--wait" in err_b
        assert not (reports / "b").exists()


def test_index_and_headline_templates_show_hostile_strings_as_text():
    from custrel_lib.reports.index import render_index
    from custrel_lib.reports.summary import headline_html

    payloads = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "<b>bold</b>", '"><i>x</i>']
    figures = {
        "as_of": "2025-12-31",
        "headline": [{"label": payloads[1], "value": 0.25, "unit": "share", "definition": payloads[2]}],
        "sentences": [payloads[2]],
        "stages": [{"label": payloads[3], "count": 3, "previous": 2, "change": 1}],
    }
    page = render_index(
        payloads[0], [{"html": 'a.html"', "title": payloads[0], "status": "failed"}], figures, lang="en"
    )
    tile = headline_html({"headline": [{**figures["headline"][0], "text": payloads[0]}]})
    for text in (page, tile):
        for payload in payloads:
            assert payload not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert 'href="a.html&#34;"' in page and "(failed)" in page and "+1" in page and "25.0%" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in tile


def test_large_exports_are_written_by_arrow_as_pandas_writes_them(sample_tables, sample_as_of, tmp_path):
    """Above ARROW_CSV_ROWS the stage history goes through Arrow's CSV writer: the same bytes as to_csv."""
    from custrel_lib.reports.csv_export import ordered, write_csv_arrow
    from custrel_lib.stages.model import StageModel

    history = StageModel().fit(sample_tables, sample_as_of).history_
    history.loc[history.index[:3], "customer_id"] = ['with "quote"', "with,comma", "plain"]
    history = history.sort_values(["customer_id", "snapshot"]).reset_index(drop=True)
    history.loc[history.index[::7], "at_risk"] = True
    assert ordered(history) and not ordered(history.iloc[::-1])
    expected = tmp_path / "pandas.csv"
    history.to_csv(expected, index=False, date_format="%Y-%m-%d", lineterminator="\n")
    arrow = tmp_path / "arrow.csv"
    write_csv_arrow(history, arrow)
    assert arrow.read_bytes() == expected.read_bytes()
    big = history.astype({"customer_id": pd.StringDtype("pyarrow"), "stage": pd.StringDtype("pyarrow")})
    write_csv_arrow(big, arrow)
    assert arrow.read_bytes() == expected.read_bytes()
    plain = history[~history["customer_id"].str.contains('[,"]')]  # no id needs quotes: Arrow writes it
    plain.to_csv(expected, index=False, date_format="%Y-%m-%d", lineterminator="\n")
    with pytest.MonkeyPatch.context() as mp:  # and by Arrow: pandas' writer is not called
        mp.setattr(pd.DataFrame, "to_csv", lambda *a, **k: pytest.fail("to_csv called"))
        write_csv_arrow(plain.astype({"customer_id": pd.StringDtype("pyarrow")}), arrow)
    assert arrow.read_bytes() == expected.read_bytes()


def test_clean_stale_removes_the_sockets_of_a_killed_runs_kernels(tmp_path):
    """A run killed outright leaves its work folder (with the kernels' logs) and, in the temporary folder, the
    kernels' socket files, named after the logs: the next run's clean-up removes both, and nothing else."""
    from custrel_lib.reports.publish import clean_stale

    stale = tmp_path / ".tmp-work-first-123"
    stale.mkdir()
    log = stale / "kernel-1.0-tiny.log"
    log.write_text("")
    prefix = ipc_prefix(log)
    sockets = [Path(f"{prefix}-{i}") for i in range(1, 6)]
    other = Path(f"{ipc_prefix(tmp_path / 'elsewhere.log')}-1")
    try:
        for path in [*sockets, other]:
            path.write_text("")
        clean_stale(tmp_path)
        assert not stale.exists() and not [p for p in sockets if p.exists()]
        assert other.exists()  # another run's kernel is left alone
    finally:
        for path in [*sockets, other]:
            path.unlink(missing_ok=True)
