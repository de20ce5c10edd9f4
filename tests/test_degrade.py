"""Degrade, never fail: sections that explain why they are skipped, NPS as defined, the survival block of the
configuration, key figures that carry their definitions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from custrel_lib.config import parse_config
from custrel_lib.exceptions import ConfigError, InsufficientDataError
from custrel_lib.sections import Sections, gather_skipped
from custrel_lib.survival import integrated_brier_score, landmark_table
from custrel_lib.voice import latest_scores, nps


def test_nps_is_promoters_minus_detractors_with_its_interval():
    # Reichheld (2003): % promoters (9-10) - % detractors (0-6). 5 promoters, 3 passives, 2 detractors of 10.
    r = nps([10, 9, 9, 10, 9, 8, 7, 7, 6, 0])
    assert (r.value, r.n, r.promoters, r.passives, r.detractors) == (30.0, 10, 5, 3, 2)
    # Multinomial variance (Rocks 2016): (p + d - (p - d)^2) / n = (0.5 + 0.2 - 0.09) / 10; z = 1.96.
    half = 1.959964 * 100 * math.sqrt(0.061)
    assert (r.lower, r.upper) == pytest.approx((30 - half, 30 + half), abs=1e-3)
    assert r.small_sample
    # A mean of scores is not an NPS: all 8s give a mean of 8 but an NPS of 0 (every answer is passive).
    assert nps([8] * 50).value == 0.0 and not nps([8] * 50).small_sample
    assert nps([10] * 40).to_dict()["upper"] == 100.0  # clipped to the scale
    assert math.isnan(nps([]).value) and nps([None, 11, -1]).n == 0


def test_latest_scores_keep_one_voice_per_customer_in_the_last_year():
    it = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "date": pd.to_datetime(["2025-02-01", "2025-06-01", "2024-01-01", "2025-03-01", "2025-04-01"]),
            "type": ["nps", "nps", "nps", "nps", "complaint"],
            "score": [2.0, 9.0, 10.0, 7.0, None],
        }
    )
    s = latest_scores(it, "2025-12-31")
    assert s.to_dict() == {"a": 9.0, "c": 7.0}  # b answered more than a year ago
    assert latest_scores(None, "2025-12-31").empty


def test_sections_skip_with_reasons_and_let_bugs_through(tmp_path):
    sections = Sections("fr", display=False)
    tables = {"transactions": pd.DataFrame({"customer_id": ["a"]})}
    ran = []
    with sections.section("channel"):
        sections.require(tables, needs=[("customers", "acquisition_channel")])
        ran.append("channel")
    with sections.section("cox"):
        raise InsufficientDataError("events", 3, 10)
    with sections.section("after"):
        sections.require(after=[None])
        ran.append("after")
    with sections.section("fine"):
        ran.append("fine")
    assert ran == ["fine"]
    got = {s.section: (s.reason, s.message) for s in sections.skipped}
    assert got["channel"][0] == "no_table" and "« customers »" in got["channel"][1]
    assert got["cox"] == ("too_few_events", "Séparations observées : 3, il en faut au moins 10")
    assert got["after"][0] == "upstream"
    en = Sections("en", display=False)
    with en.section("column"):
        en.require({"customers": pd.DataFrame({"region": [None]})}, needs=[("customers", "region")])
    assert en.skipped[0].message.startswith("the 'customers' table has no 'region' column")
    # The column may be mapped with every value emptied by the loader (an unknown end reason): both are said.
    assert "or none of its values could be read" in en.skipped[0].message
    assert "custrel validate says why its values were emptied" in en.skipped[0].message
    # A bug is not a data problem: it fails the report instead of hiding behind a skipped section.
    with pytest.raises(KeyError), sections.section("bug"):
        {}["missing"]
    # Each notebook's skips are gathered into key_figures.json by the report run.
    (tmp_path / "key_figures.json").write_text(json.dumps({"skipped": [{"section": "nps"}]}))
    sections.save(tmp_path, "2.0-separation-survival")
    gathered = gather_skipped(tmp_path)
    doc = json.loads((tmp_path / "key_figures.json").read_text())
    assert len(gathered) == 3 and [s["section"] for s in doc["skipped"]] == ["nps", "channel", "cox", "after"]
    assert not list(tmp_path.glob("skipped-*.json"))


def test_survival_block_of_the_configuration():
    doc = {"tables": {"transactions": "t.csv"}, "survival": {"origin": "first_purchase"}}
    cfg = parse_config(doc)
    assert cfg.survival == {"origin": "first_purchase", "unknown_origin": "exclude"}
    assert parse_config({"tables": {"transactions": "t.csv"}}).survival["origin"] == "auto"
    with pytest.raises(ConfigError, match=r"survival\.origin must be one of auto, first_purchase, signup"):
        parse_config({"tables": {"transactions": "t.csv"}, "survival": {"origin": "cohort"}})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"tables": {"transactions": "t.csv"}, "survival": {"orign": "auto"}})
    both = {
        "tables": {"transactions": "t.csv"},
        "analysis": {"horizon_days": 90},
        "survival": {"horizon_days": 120},
    }
    with pytest.raises(ConfigError, match="differ"):
        parse_config(both)
    legacy = parse_config({"tables": {"transactions": "t.csv"}, "analysis": {"horizon_days": 90}})
    assert legacy.survival["horizon_days"] == 90


def test_brier_score_with_an_event_at_time_zero():
    # A one-time buyer ends at t = 0: G(0-) = 1, so the score is finite (lifelines has no G at t < 0).
    got = integrated_brier_score([0.0, 2.0, 3.0], [1, 0, 1], [0.0], [1], np.array([[0.2]]), np.array([1.0]))
    assert got == pytest.approx(0.04)


def test_landmark_with_delayed_entry_keeps_the_clock():
    d = pd.DataFrame({"duration": [50.0, 120.0, 400.0], "event": [1, 1, 0], "entry": [0.0, 0.0, 200.0]})
    kept = landmark_table(d, 90, restart=False)
    assert kept["duration"].tolist() == [120.0, 400.0] and kept["entry"].tolist() == [90.0, 200.0]
    restarted = landmark_table(d, 90)
    assert restarted["duration"].tolist() == [30.0, 310.0] and restarted["entry"].tolist() == [0.0, 110.0]


def test_p_alive_below_a_threshold_flags_repeat_buyers_without_contract():
    from custrel_lib.flame.analysis import flag_fading

    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "risk_kind": ["lapse", "lapse", "lapse", "contract_end", "lapse"],
            "at_risk": [True, False, False, False, False],
            "p_alive": [0.9, 0.2, 0.2, None, 0.8],
            "frequency": [3, 2, 0, None, 4],
        }
    )
    off = flag_fading(scores, None)
    assert off["at_risk"].tolist() == [True, False, False, False, False]
    on = flag_fading(scores, 0.3)
    # b: a repeat buyer whose flame is fading; c never bought again (BG/NBD holds it alive: not flagged here).
    assert on["at_risk"].tolist() == [True, True, False, False, False]
    assert on["at_risk_reason"].tolist() == ["score", "p_alive", "", "", ""]
    cfg = parse_config({"tables": {"transactions": "t.csv"}, "survival": {"p_alive_threshold": 0.3}})
    assert cfg.survival["p_alive_threshold"] == 0.3
    with pytest.raises(ConfigError, match="p_alive_threshold"):
        parse_config({"tables": {"transactions": "t.csv"}, "survival": {"p_alive_threshold": 30}})


def test_an_analysis_error_with_a_cause_is_said_in_the_reports_language():
    """An analysis that fails on the data (no parametric fit, no finite BG/NBD forecast, ...) names its cause in
    the report's language instead of "this data does not allow this computation"; without a cause, the generic
    sentence stays."""
    from custrel_lib.exceptions import AnalysisError

    got = {}
    for lang in ("fr", "en"):
        sections = Sections(lang, display=False)
        with sections.section("flame"):
            raise AnalysisError("BG/NBD gives no finite forecast on this data.", code="no_finite_forecast")
        with sections.section("other"):
            raise AnalysisError("Something else.")
        got[lang] = [(s.reason, s.message) for s in sections.skipped]
    assert got["fr"][0] == (
        "no_finite_forecast",
        "le modèle BG/NBD ne donne pas de prévision finie sur ces données",
    )
    assert got["en"][0] == ("no_finite_forecast", "the BG/NBD model gives no finite forecast on this data")
    assert got["en"][1] == ("cannot", "this data does not allow this computation")
