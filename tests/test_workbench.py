"""The data prepared once per report run: what the next notebooks load equals what they would compute."""

from __future__ import annotations

import pandas as pd
import pytest

from custrel_lib import runcache
from custrel_lib.exceptions import InsufficientDataError
from custrel_lib.reports.parameters import CACHE_ENV
from custrel_lib.sections import Sections
from custrel_lib.workbench import prepare, survival_analysis


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(folder))
        yield folder


def test_without_a_run_cache_nothing_is_stored(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setattr(runcache, "cache_write", lambda *a: pytest.fail("wrote a cache entry"))
    wb = prepare("", "2025-12-31", "quarter", 0, "en", verbose=False)
    assert wb.key is None and wb.lang == "en"


def test_prepared_once_then_loaded(cache_dir, capsys):
    first = prepare("", "2025-12-31", "month", 0, "fr", verbose=False)
    assert first.key and len(list(cache_dir.glob("workbench-*.pkl"))) == 1
    again = prepare("", "2025-12-31", "month", 0, "en", verbose=True)
    assert "reused" in capsys.readouterr().out
    assert again.key == first.key and again.lang == "en"
    pd.testing.assert_frame_equal(again.history, first.history)
    for name, table in first.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], table)
    assert again.horizon_days == first.horizon_days and again.as_of == first.as_of
    pd.testing.assert_frame_equal(again.stages.features(), first.stages.features())  # cached snapshot
    pd.testing.assert_frame_equal(
        again.stages.profiles(lang="fr").table, first.stages.profiles(lang="fr").table
    )
    # Another snapshot needs the engine state, which does not travel: the model is fitted again on first use.
    earlier = first.stages.snapshots_[-7]
    pd.testing.assert_frame_equal(again.stages.features(earlier), first.stages.features(earlier))
    # Other parameters, another entry.
    other = prepare("", "2025-06-30", "month", 0, "fr", verbose=False)
    assert other.key != first.key and len(list(cache_dir.glob("workbench-*.pkl"))) == 2


def test_survival_computed_once_and_its_skips_replayed(cache_dir, monkeypatch):
    calls = []

    def fake_run_survival(wb, sections, risk_horizon_days, threshold, landmark_days):
        calls.append((risk_horizon_days, threshold, landmark_days))
        with sections.section("survival_aft"):
            raise InsufficientDataError("events", 3, 10)
        return {"scores": [1, 2, 3]}

    monkeypatch.setattr("custrel_lib.survival.analysis.run_survival", fake_run_survival)  # imported when used
    wb = prepare("", "2025-12-31", "month", 0, "fr", verbose=False)
    first = Sections("fr", notebook="0.0-executive-summary", display=False)
    assert survival_analysis(wb, first, 90, 0.5) == {"scores": [1, 2, 3]}
    second = Sections("fr", notebook="2.0-separation-survival", display=False)
    assert survival_analysis(wb, second, 90.0, 0.5, 90) == {"scores": [1, 2, 3]}  # 90 and 90.0: one entry
    assert calls == [(90, 0.5, 90.0)]
    assert [s.to_dict() for s in second.skipped] == [s.to_dict() for s in first.skipped]
    assert second.to_list()[0]["notebook"] == "2.0-separation-survival"
    assert first.skipped[0].reason == "too_few_events"
    survival_analysis(wb, Sections("fr", display=False), 90, 0.6)  # another threshold: computed
    assert len(calls) == 2
