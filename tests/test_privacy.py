"""Customer identifiers stay out of shared reports; customer-level exports can be pseudonymised with a key."""

from __future__ import annotations

import pandas as pd
import pytest

from custrel_lib.exceptions import ConfigError
from custrel_lib.privacy import KEY_VARIABLE, MASK, key_from_env, pseudonymize
from custrel_lib.reports.summary import write_outputs


def test_pseudonyms_are_keyed_stable_and_never_carry_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_VARIABLE, raising=False)
    with pytest.raises(ConfigError, match=KEY_VARIABLE):
        key_from_env()
    monkeypatch.setenv(KEY_VARIABLE, "a-secret-of-sixteen-or-more")
    key = key_from_env()
    ids = pd.Series(["C0001", "C0002", "C0001"])
    a = pseudonymize(ids, key)
    assert a[0] == a[2] != a[1] and a.str.fullmatch(r"[0-9a-f]{16}").all()
    assert (pseudonymize(ids, b"another-secret-key-here") != a).all()  # without the key, no join back
    history = pd.DataFrame(
        {"customer_id": ["C0001"], "snapshot": pd.to_datetime(["2025-12-31"]), "stage": ["flirt"]}
    )
    scores = pd.DataFrame({"customer_id": ["C0002"], "value_at_risk": [1.0], "p_separation": [0.5]})
    written = write_outputs(
        tmp_path, {"headline": []}, history, pd.DataFrame({"stage": ["flirt"]}), scores, key
    )
    text = "".join(p.read_text() for p in written)
    assert "C0001" not in text and "C0002" not in text and "a-secret" not in text
    assert a[0] in (tmp_path / "stage_history.csv").read_text()


def test_explanations_in_reports_are_masked(sample_tables, sample_as_of):
    from custrel_lib.stages.model import StageModel

    model = StageModel(horizon_days=152).fit(sample_tables, sample_as_of)
    shown = model.explain("C0005", lang="fr").mask()
    assert "C0005" not in shown._repr_html_() and MASK in str(shown)
    assert "C0005" in str(model.explain("C0005", lang="fr"))  # in a notebook of one's own, the id is useful
