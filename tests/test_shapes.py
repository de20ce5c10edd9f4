"""`custrel report` over the shapes real data comes in (issue "Real data first", item 6).

Real exports have only the transactions, or some of the optional tables, or miss optional columns, or hold a
handful of customers. Each test writes such a shape of the committed sample with its own ``custrel.yml``,
runs the report and checks the run folder with :func:`tests._shapes.check_run`: every notebook's page is
there, no traceback or error output, no NaN/Infinity in ``key_figures.json`` or nan/inf printed where a number
is shown, and every skipped section gives its reason.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from _shapes import (
    FRENCH_COLUMNS,
    NOTEBOOKS,
    OPTIONAL_COLUMNS,
    OPTIONAL_TABLES,
    SKIP_NOTE,
    Shape,
    check_key_figures,
    check_notebook,
    check_run,
    keep_customers,
    page_text,
    sample_tables,
    write_french_erp,
    write_french_excel,
    write_shape,
)
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from custrel_lib.cli import main
from custrel_lib.reports.run import run_report

pytestmark = pytest.mark.slow

# Shapes that must keep working whatever hypothesis draws: the smallest export that makes sense.
HANDFUL = 5


def _report(config: Path, reports: Path, run_id: str = "shape", notebooks=None) -> Path:
    run = run_report(config, notebooks=notebooks, reports_dir=reports, run_id=run_id, progress=False)
    assert run.status == "ok"
    assert [r.status for r in run.notebooks] == ["ok"] * len(run.notebooks)
    return run.path


def _assert_clean(folder: Path, notebooks=NOTEBOOKS, shape: str = "") -> None:
    problems = check_run(folder, notebooks)
    assert not problems, f"{shape} run {folder.name}:\n- " + "\n- ".join(problems)


# ------------------------------------------------------------------------------------------ the writers


def test_shape_writer_keeps_whole_customers(tmp_path):
    shape = Shape(tables=("customers", "interactions"), dropped=(("customers", "region"),), n_customers=7)
    config = write_shape(shape, tmp_path)
    sample = sample_tables()
    keep = keep_customers(sample, 7, 0)
    written = {
        name: pd.read_csv(tmp_path / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("transactions", "customers", "interactions")
    }
    assert written["transactions"]["customer_id"].nunique() == 7
    for name, df in written.items():
        expected = sample[name][sample[name]["customer_id"].isin(keep)]
        assert len(df) == len(expected), name  # every row of a kept customer, in every table
        assert set(df["customer_id"]) <= keep
    assert "region" not in written["customers"] and "acquisition_channel" in written["customers"]
    assert keep_customers(sample, 7, 0) == keep != keep_customers(sample, 7, 1)  # seeded
    doc = config.read_text(encoding="utf-8")
    assert "transactions.csv" in doc and "interactions.csv" in doc and "as_of" in doc


def test_french_excel_file_validates(tmp_path):
    config = write_french_excel(tmp_path)
    raw = (tmp_path / "ventes.csv").read_bytes()
    header = raw.split(b"\r\n", 1)[0].decode("latin-1")
    assert header == ";".join(FRENCH_COLUMNS.values()) == "N° client;Date;Montant TTC;Rayon;Canal"
    assert "N° client".encode("latin-1") in raw and "N° client".encode() not in raw  # latin-1, not UTF-8
    first = raw.split(b"\r\n")[1].decode("latin-1").split(";")
    assert first[1].count("/") == 2 and "," in first[2] and "." not in first[2]
    result = CliRunner().invoke(main, ["validate", "--config", str(config)])
    assert result.exit_code == 0, result.output
    n_rows = len(sample_tables()["transactions"])
    # Rows per table: read, kept, rejected.
    assert re.search(rf"transactions\s+{n_rows}\s+{n_rows}\s+0\s", result.output), result.output
    from custrel_lib.io.load import load_tables

    loaded = load_tables(config)
    tx = loaded.tables["transactions"]
    assert len(tx) == n_rows and loaded.problems.rows_rejected("transactions") == 0
    sample_amounts = sample_tables()["transactions"]["amount"].astype(float)
    assert tx["amount"].sum() == pytest.approx(sample_amounts.sum())
    assert set(loaded.tables) == {"transactions"}


# ------------------------------------------------------------------------------------------ the checker


def _fake_run(folder: Path, key_figures: str, cell_outputs: list) -> Path:
    folder.mkdir()
    for name in NOTEBOOKS:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("x = 1")
        cell.outputs = list(cell_outputs) if name == NOTEBOOKS[0] else []
        nb.cells = [cell]
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
        (folder / f"{name}.html").write_text(PAGE, encoding="utf-8")
    (folder / "index.html").write_text('<div class="value">1 234</div>', encoding="utf-8")
    (folder / "key_figures.json").write_text(key_figures, encoding="utf-8")
    return folder


PAGE = (
    "<html><body><p>ok</p><div class='custrel-skipped'><b>Section non calculée</b>\u202f: "
    "pas de canal.</div></body></html>"
)
GOOD_FIGURES = json.dumps(
    {
        "headline": [{"label": "Clients", "value": 12, "text": "12"}],
        "sentences": ["La moitié des relations se terminent en 120 jours."],
        "skipped": [{"section": "km_channel", "reason": "no_column", "message": "pas de canal"}],
    }
)


def test_checker_passes_a_clean_run(tmp_path):
    assert check_run(_fake_run(tmp_path / "run", GOOD_FIGURES, [])) == []


def test_checker_catches_planted_faults(tmp_path):
    error = nbformat.v4.new_output(
        "error", ename="ValueError", evalue="zero-size array", traceback=["Traceback (most recent call last)"]
    )
    printed = nbformat.v4.new_output("stream", name="stdout", text="Concordance : nan ; Brier : inf\n")
    bad = {
        "headline": [{"label": "Durée médiane", "value": None, "text": "nan"}],
        "sentences": ["La moitié des relations se terminent en inf jours."],
        "median": float("nan"),
        "skipped": [{"section": "cox", "reason": "", "message": "x"}, {"section": "km"}],
    }
    folder = _fake_run(tmp_path / "run", json.dumps(bad), [error, printed])
    (folder / "2.0-separation-survival.html").write_text(
        "<pre>Traceback (most recent call last):\n  File ...</pre>", encoding="utf-8"
    )
    (folder / "3.0-journey-transitions.html").unlink()
    (folder / "1.0-relationship-stages.html").write_text(
        "<div class='custrel-skipped'><b>Section non calculée</b> : .</div>", encoding="utf-8"
    )
    problems = "\n".join(check_run(folder))
    assert "3.0-journey-transitions.html is missing" in problems
    assert "2.0-separation-survival.html contains a Python traceback" in problems
    assert "ValueError: zero-size array" in problems
    assert "shows ['inf', 'nan']" in problems  # the printed sentence
    assert "1.0-relationship-stages.html: a skipped-section note gives no reason" in problems
    assert "does not parse as strict JSON" in problems and "NaN" in problems  # parse_constant hook
    # Once the NaN is gone, the other key-figure faults show.
    del bad["median"]
    faults = check_key_figures(_write(tmp_path / "kf.json", bad))
    assert any("headline[0]" in f and "nan" in f for f in faults), faults
    assert any("sentences[0]" in f for f in faults), faults
    assert any("skipped[0] has no reason" in f for f in faults), faults
    assert any("skipped[1] has no reason" in f for f in faults), faults
    # A skip listed in key_figures.json but explained in no page.
    for page in folder.glob("*.html"):
        page.write_text("<p>rien</p>", encoding="utf-8")
    _write(folder / "key_figures.json", json.loads(GOOD_FIGURES))
    assert check_run(folder) == [
        "3.0-journey-transitions.html is missing from run",
        "0.0-executive-summary.ipynb cell 0 (`x = 1`): ValueError: zero-size array",
        "0.0-executive-summary.ipynb cell 0 (`x = 1`): shows ['inf', 'nan'] in 'Concordance : nan ; Brier : inf'",
        "skipped section 'km_channel' is listed in key_figures.json but explained in no page of the run "
        "(index.html included): 'pas de canal'",
    ]
    # Infinity is refused as well.
    assert "Infinity" in " ".join(check_key_figures(_write(tmp_path / "inf.json", {"x": float("inf")})))


def test_checker_requires_the_skipped_list(tmp_path):
    figures = json.loads(GOOD_FIGURES)
    del figures["skipped"]
    faults = check_key_figures(_write(tmp_path / "kf.json", figures))
    assert len(faults) == 1 and "no 'skipped' list" in faults[0], faults
    figures["skipped"] = []
    assert check_key_figures(_write(tmp_path / "kf.json", figures)) == []


def test_checker_reads_tables_and_words_without_false_alarms(tmp_path):
    table = nbformat.v4.new_output(
        "execute_result", data={"text/html": "<td>NaN</td>", "text/plain": "a  NaN"}, execution_count=1
    )
    words = nbformat.v4.new_output(
        "stream", name="stdout", text="Relation infinie, nantie, NaNa 0.5 Infini\n"
    )
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [table, words]
    nb.cells = [cell]
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    assert check_notebook(tmp_path / "a.ipynb") == []


def _write(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")  # json writes NaN/Infinity as bare constants
    return path


# ------------------------------------------------------------------------------------------ the reports


def test_transactions_only_full_report(tmp_path):
    """`custrel report` (the command) on the whole sample with every table but the transactions removed."""
    config = write_shape(Shape(), tmp_path / "data")
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["custrel.yml", "transactions.csv"]
    reports = tmp_path / "reports"
    result = CliRunner().invoke(
        main,
        ["report", "--config", str(config), "--reports-dir", str(reports), "--run-id", "tx", "--no-progress"],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    manifest = json.loads((reports / "tx" / "manifest.json").read_text(encoding="utf-8"))
    assert [n["status"] for n in manifest["notebooks"]] == ["ok"] * len(NOTEBOOKS)
    assert [d["table"] for d in manifest["fingerprints"]["data"]] == ["transactions"]
    _assert_clean(reports / "tx", shape="transactions only")
    # Without a customers table, survival by acquisition channel cannot be computed: the page says why.
    page = (reports / "tx" / "2.0-separation-survival.html").read_text(encoding="utf-8")
    notes = [page_text(n) for n in SKIP_NOTE.findall(page)]
    assert any("customers" in n for n in notes), notes


FRENCH_NOTEBOOKS = ("0.0-executive-summary", "2.0-separation-survival")


def test_french_excel_transactions_only(tmp_path):
    """The report on the transactions exported by French Excel (`;`, decimal comma, latin-1).

    Notebooks 0.0 and 2.0 only, to keep the module's time down: 1.0 and 3.0 read the same loaded tables as
    in the transactions-only test (the load itself is compared with the sample in the validation test).
    """
    config = write_french_excel(tmp_path / "data")
    folder = _report(config, tmp_path / "reports", "fr", notebooks=list(FRENCH_NOTEBOOKS))
    _assert_clean(folder, FRENCH_NOTEBOOKS, shape="French Excel transactions")


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_french_erp_export_reads_as_the_sample(tmp_path, engine):
    """200 customers as a French ERP exports them (write_french_erp), nothing set but the columns: every row
    read, each the sample's own (day, amount, customer), in both loaders. Before, the sep=; line stopped the
    load; once past it, the long dates, the euro amounts with a trailing minus and the ids written as decimals
    were each rejected or met nobody."""
    from custrel_lib.io.load import load_tables
    from custrel_lib.io.scan import table_to_pandas

    config = write_french_erp(tmp_path / "data", n_customers=200)
    result = load_tables(config, engine=engine)
    tx = table_to_pandas(result, "transactions") if engine else result.tables["transactions"]
    truth = sample_tables()["transactions"]
    truth = truth[truth["customer_id"].isin(keep_customers(sample_tables(), 200, 0))]
    assert result.problems.rows.empty
    assert tx["customer_id"].tolist() == truth["customer_id"].str[1:].astype(int).astype(str).tolist()
    assert tx["date"].dt.strftime("%Y-%m-%d").tolist() == truth["date"].tolist()
    assert tx["amount"].tolist() == pytest.approx(truth["amount"].astype(float).tolist())
    assert result.formats["transactions"]["date_format"] == {"date": "%d %b %Y"}
    assert result.formats["transactions"]["decimal_ids"] == ["customer_id"]


def test_french_erp_export_report(tmp_path):
    """The executive summary on that export: a clean page (the other notebooks read the same loaded tables)."""
    config = write_french_erp(tmp_path / "data", n_customers=200)
    folder = _report(config, tmp_path / "reports", "fr", notebooks=["0.0-executive-summary"])
    _assert_clean(folder, ("0.0-executive-summary",), shape="French ERP transactions")


def test_six_week_window(tmp_path):
    """A recent extract: 150 customers' transactions over six weeks (as_of 2025-12-20, not a month end). The
    journeys count moves per quarter and there is one: the journeys report says so instead of stopping (the
    paths over a history shorter than asked, and the messages, are in tests/test_journeys.py)."""
    tx = sample_tables()["transactions"]
    tx = tx[tx["date"] >= "2025-11-10"]
    tx = tx[tx["customer_id"].isin(sorted(tx["customer_id"].unique())[:150])]
    data = tmp_path / "data"
    data.mkdir()
    tx.to_csv(data / "transactions.csv", index=False)
    config = data / "custrel.yml"
    config.write_text(
        "data_dir: .\nlanguage: fr\ntables:\n  transactions: {path: transactions.csv}\n"
        "analysis:\n  as_of: 2025-12-20\n",
        encoding="utf-8",
    )
    notebooks = ["0.0-executive-summary", "3.0-journey-transitions"]  # key_figures.json and the journeys
    folder = _report(config, tmp_path / "reports", "short", notebooks=notebooks)
    _assert_clean(folder, notebooks, shape="six weeks of transactions")
    skipped = json.loads((folder / "key_figures.json").read_text(encoding="utf-8"))["skipped"]
    journeys = {s["section"]: s for s in skipped if s["notebook"] == "3.0-journey-transitions"}
    assert journeys["transitions"]["reason"] == "too_few_quarters_covered", journeys
    assert {s["reason"] for k, s in journeys.items() if k != "transitions"} == {"upstream"}


OPTIONAL_TABLE_SETS = st.sets(st.sampled_from(OPTIONAL_TABLES)).map(lambda s: tuple(sorted(s)))


@st.composite
def shapes(draw) -> Shape:
    """Tables present, optional columns dropped (of every table, present or not), 5 to 300 customers."""
    tables = draw(OPTIONAL_TABLE_SETS)
    dropped = []
    for table in ("transactions", *tables):
        columns = draw(st.sets(st.sampled_from(OPTIONAL_COLUMNS[table])))
        dropped += [(table, c) for c in OPTIONAL_COLUMNS[table] if c in columns]
    n = draw(st.one_of(st.integers(HANDFUL, 30), st.integers(31, 300)))
    seed = draw(st.integers(0, 999))
    return Shape(tables=tables, dropped=tuple(dropped), n_customers=n, seed=seed)


DRAWN: list[tuple[str, float]] = []


@settings(
    max_examples=2,  # and the 2 explicit examples: 4 whole reports (a third drawn one took make test past 15 min)
    deadline=None,
    derandomize=True,  # the same shapes on every machine and every run
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a whole report
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
@given(shape=shapes())
# Always tried, whatever is drawn: interactions without a customers table, and every table at a handful.
@example(shape=Shape(tables=("interactions",), n_customers=20, seed=1))
@example(shape=Shape(tables=OPTIONAL_TABLES, n_customers=HANDFUL, seed=2))
def test_report_runs_on_every_shape(shape):
    with tempfile.TemporaryDirectory(prefix="custrel-shape-") as tmp:
        t0 = time.monotonic()
        config = write_shape(shape, Path(tmp) / "data")
        try:
            folder = _report(config, Path(tmp) / "reports")
        except Exception as exc:
            raise AssertionError(f"{shape.describe()}: {type(exc).__name__}: {exc}") from exc
        _assert_clean(folder, shape=shape.describe())
        DRAWN.append((shape.describe(), time.monotonic() - t0))
        print(f"shape {shape.describe()}: {DRAWN[-1][1]:.1f} s")
