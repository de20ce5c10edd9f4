"""A real export, as a user brings it: CDNOW's transactions only, in a French CSV.

CDNOW (Fader & Hardie's sample, tests/data/README.md) is a *cohort*: 2,357 customers whose first purchase at
CDNOW was in the first quarter of 1997, followed to the end of June 1998. Written here as a French
spreadsheet would export it (semicolons, decimal commas, ``YYYYMMDD`` dates, French column names), with no
customers or interactions table. What a user must get:

* with the default origin, every first relationship starts within the first H days of the data with no
  sign-up date, so all are left out of the survival analysis (left truncation, unknown origin): the report
  says so with the counts and what to set (``survival: {origin: first_purchase}``), not a bare "cannot";
* with ``origin: first_purchase`` the survival sections are computed, one first relationship per customer
  with a purchase;
* the stage profiles do not show NPS and complaint columns as zeros when there is no interactions table;
* the month-over-month change of the summary separates what the P(alive) signal, applied at the last
  snapshot only, moved from what the customers did under the same rules.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from _shapes import check_run, page_text

from custrel_lib.i18n import format_number
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.reports.index import render_index
from custrel_lib.reports.run import run_report
from custrel_lib.reports.summary import key_figures
from custrel_lib.sections import Sections
from custrel_lib.survival.durations import build_durations
from custrel_lib.survival.episodes import EpisodesExcludedError
from custrel_lib.workbench import prepare

pytestmark = pytest.mark.slow

DATA = SAMPLE_DIR.parents[1] / "tests" / "data"
CONFIG = (
    "data_dir: .\nlanguage: {lang}\ntables:\n  transactions:\n    path: achats.csv\n"
    "    columns: {{customer_id: client, date: date_achat, amount: montant}}\n"
    "analysis:\n  as_of: 1998-06-30\n{extra}"
)


def _cdnow() -> pd.DataFrame:
    return pd.read_csv(
        DATA / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "client", "date_achat", "quantite", "montant"],
        dtype={"master_id": str, "client": str, "date_achat": str},
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cdnow")
    tx = _cdnow()
    tx["montant"] = tx["montant"].map(lambda v: f"{v:.2f}".replace(".", ","))
    tx[["client", "date_achat", "montant", "quantite"]].to_csv(out / "achats.csv", sep=";", index=False)
    return out


def _config(folder: Path, name: str, lang: str = "fr", extra: str = "") -> Path:
    path = folder / name
    path.write_text(CONFIG.format(lang=lang, extra=extra), encoding="utf-8")
    return path


def _buyers() -> int:
    """Customers with a purchase (a positive amount): the truth, read from the file without custrel."""
    tx = _cdnow()
    return tx.loc[tx["montant"] > 0, "client"].nunique()


@pytest.fixture(scope="module")
def default_wb(folder):
    return prepare(_config(folder, "custrel.yml"), verbose=False)


def test_a_cohort_without_origin_says_why_survival_is_missing_and_what_to_set(default_wb):
    wb = default_wb
    with pytest.raises(EpisodesExcludedError) as caught:
        build_durations(wb.tables, wb.as_of, wb.horizon_days, window_start=wb.stages.window_start_)
    exc = caught.value
    # Every first relationship is left out: one per customer with a purchase, all in the first H days.
    assert exc.exclusions["unknown_origin"] == _buyers() == 2349
    for lang, words in (
        ("fr", "survival: {origin: first_purchase}"),
        ("en", "survival: {origin: first_purchase}"),
    ):
        sections = Sections(lang, display=False)
        with sections.section("survival_episodes"):
            raise exc
        skip = sections.skipped[0]
        assert skip.reason == "all_excluded"
        assert words in skip.message and format_number(2349, lang) in skip.message, skip.message


def test_profiles_hide_the_voice_columns_without_interactions(default_wb):
    profiles = default_wb.stages.profiles(lang="fr")
    assert profiles.table["complaint_rate"].isna().all()
    assert profiles.table["nps_answers"].sum() == 0
    shown = list(profiles.display_frame().columns)
    assert shown == [
        "Étape",
        "Clients",
        "Part des clients",
        "Part du CA (12 mois)",
        "Ancienneté médiane (jours)",
    ]
    html = profiles._repr_html_()
    assert "NPS" not in html and "réclamation" not in html


def _key_figures(run: Path) -> dict:
    return json.loads((run / "key_figures.json").read_text(encoding="utf-8"))


def test_cohort_report_with_the_default_origin_explains_the_missing_survival(folder, tmp_path):
    config = _config(folder, "custrel_default.yml")
    notebooks = ["0.0-executive-summary", "2.0-separation-survival"]  # the two with survival sections
    run = run_report(config, notebooks=notebooks, reports_dir=tmp_path, run_id="default", progress=False)
    assert run.status == "ok", run
    assert not check_run(run.path, notebooks), check_run(run.path, notebooks)
    skipped = {(s["notebook"], s["section"]): s for s in _key_figures(run.path)["skipped"]}
    for notebook in ("0.0-executive-summary", "2.0-separation-survival"):
        skip = skipped[(notebook, "survival_episodes")]
        assert skip["reason"] == "all_excluded" and "first_purchase" in skip["message"]
        assert "first_purchase" in page_text((run.path / f"{notebook}.html").read_text(encoding="utf-8"))
    # The flame (BG/NBD, made for such a cohort) and the risk score's check on the past need no episode.
    for section in ("flame", "flame_stages", "flame_fading", "risk_backtest"):
        assert ("2.0-separation-survival", section) not in skipped, skipped[
            ("2.0-separation-survival", section)
        ]
    summary = page_text((run.path / "0.0-executive-summary.html").read_text(encoding="utf-8"))
    assert "Contrôle sur le passé" in summary and "pour la seule ancienneté du dernier achat" in summary


def test_cohort_report_with_first_purchase_origin(folder, tmp_path):
    config = _config(folder, "custrel_cohort.yml", "en", "survival:\n  origin: first_purchase\n")
    run = run_report(config, reports_dir=tmp_path, run_id="cohort", progress=False)
    assert run.status == "ok", run
    assert not check_run(run.path), check_run(run.path)
    kf = _key_figures(run.path)
    assert not [s for s in kf["skipped"] if s["section"].startswith(("survival", "at_risk", "risk_"))]
    survival = kf["survival"]
    # One first relationship per customer with a purchase, none left out for an unknown origin.
    assert survival["origin"] == "first_purchase"
    assert survival["median_days"]["purchase"]["episodes"] == _buyers()
    assert survival["episodes"]["unknown_origin"] == 0
    # Most customers bought once: the median is 0 days, and the sentence says what that means, with the share
    # of relationships that stop at the first purchase (no other purchase day within H), counted on the file.
    assert survival["median_days"]["purchase"]["median"] == 0
    tx = _cdnow()
    days = pd.to_datetime(tx.loc[tx["montant"] > 0, "date_achat"]).groupby(tx["client"]).agg(list)
    h = survival["horizon_days"]
    once = sum((sorted(set(d))[1] - min(d)).days > h if len(set(d)) > 1 else True for d in days)
    share = f"({round(100 * once / len(days))}%)"
    assert any("stop at the first purchase" in s and share in s for s in kf["sentences"]), kf["sentences"]

    # The change since the previous snapshot, recomputed from the exported stage history: what the summary
    # attributes to the P(alive) signal plus the change under the same rules is the whole change.
    history = pd.read_csv(run.path / "stage_history.csv", dtype=str)
    snaps = sorted(history["snapshot"].unique())
    counts = {s: history.loc[history["snapshot"] == s, "stage"].value_counts() for s in snaps[-2:]}
    signal = kf["stage_signal"]
    assert signal["applied"] and signal["moved"] > 0
    for row in kf["stages"]:
        now, before = (int(counts[s].get(row["code"], 0)) for s in (snaps[-1], snaps[-2]))
        assert (row["count"], row["previous"], row["change"]) == (now, before, now - before)
    net = {}
    for pair, n in signal["moves"].items():
        a, b = pair.split("->")
        net[a], net[b] = net.get(a, 0) - n, net.get(b, 0) + n
    assert {r["code"]: r["signal"] for r in kf["stages"] if r["signal"]} == {
        k: v for k, v in net.items() if v
    }
    active = [r for r in kf["stages"] if r["code"] not in ("prospect", "coup_d_un_soir", "separe")]
    change = sum(r["change"] for r in active)
    from_signal = sum(r["signal"] for r in active)
    sentence = kf["sentences"][0]
    assert f"of which {from_signal:+,d} from the P(alive) signal" in sentence, sentence
    assert f"under the same rules: {change - from_signal:+,d}" in sentence, sentence
    index = (run.path / "index.html").read_text(encoding="utf-8")
    assert "of which P(alive) signal" in index
    nb = nbformat.read(run.path / "1.0-relationship-stages.ipynb", as_version=4)
    profile_html = [
        o["data"]["text/html"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {}) and "Stage profiles" in o["data"]["text/html"]
    ]
    assert profile_html and all("NPS" not in h and "complaint" not in h for h in profile_html)


def test_change_under_the_same_rules_in_french():
    # Two snapshots of five customers; the signal moved two "petit_ami" to "separe" at the last one only.
    snaps = ["2025-11-30", "2025-12-31"]
    before = ["petit_ami", "petit_ami", "petit_ami", "flirt", "separe"]
    after = ["separe", "separe", "petit_ami", "petit_ami", "separe"]
    history = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(5)] * 2,
            "snapshot": pd.to_datetime([snaps[0]] * 5 + [snaps[1]] * 5),
            "stage": before + after,
        }
    )
    signal = {"applied": True, "feature": "p_alive", "moved": 2, "moves": {"petit_ami->separe": 2}}
    kf = key_figures(history, lang="fr", signal=signal)
    rows = {r["code"]: (r["count"], r["previous"], r["change"], r["signal"]) for r in kf["stages"]}
    assert rows == {"flirt": (0, 1, -1, 0), "petit_ami": (2, 3, -1, -2), "separe": (3, 1, 2, 2)}
    # In a relationship: 2 now, 4 before: -2, all of it the signal; under the same rules the count is stable
    # (one flirt became petit_ami); no stage grew or shrank but flirt (-1) and petit_ami (+1).
    assert kf["sentences"][0] == (
        "Au 31/12/2025, 2 clients sont en relation avec la marque (-2 depuis le 30/11/2025, dont -2 dus au "
        "signal P(en vie), appliqué au seul dernier instantané ; à règles égales : stable)."
    )
    assert kf["sentences"][1] == (
        "Depuis le 30/11/2025, à règles égales, la plus forte hausse concerne l'étape « Petit(e) ami(e) » (+1) "
        "et la plus forte baisse l'étape « Flirt » (-1)."
    )
    page = render_index("r", [], kf, "fr")
    assert "dont signal P(en vie)" in page
    # Without the signal: the sentence and the table stay as they were.
    plain = key_figures(history, lang="fr", signal={"applied": False, "feature": "p_alive"})
    assert plain["sentences"][0].endswith("(-2 depuis le 30/11/2025).")
    assert "dont signal" not in render_index("r", [], plain, "fr")
