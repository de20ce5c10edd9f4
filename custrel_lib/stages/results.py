"""What a fitted :class:`~custrel_lib.stages.model.StageModel` answers: current stages, counts, features of a
snapshot, stage profiles, the explanation of one customer's stage, and what each snapshot knows.

Per-customer and aggregated results only: in the engine they are filtered there and come back small.
"""

from __future__ import annotations

import html

import pandas as pd

from custrel_lib.exceptions import ConfigError
from custrel_lib.i18n import check_lang, format_date, format_number, tr
from custrel_lib.stages import history as hist
from custrel_lib.stages import signals as sig
from custrel_lib.stages import typology
from custrel_lib.stages.explain import TEXT, Explanation, StageProfiles, stage_profiles
from custrel_lib.stages.features import EPOCH, FEATURE_COLUMNS, MONEY_FEATURES, to_pandas_features
from custrel_lib.stages.rules import SIGNAL_FEATURES
from custrel_lib.tables import html_table

#: What each snapshot knows (docs/horizon.md): the sentences :meth:`StageModel.lookahead_note` puts together.
LOOKAHEAD_TEXTS = {
    "horizon_data": {
        "fr": (
            "L'horizon de séparation H = {h} jours est estimé une seule fois, sur les achats jusqu'au {as_of}, "
            "et appliqué à chaque instantané : les instantanés antérieurs utilisent un seuil éclairé par des "
            "données postérieures (un paramètre de marché, pas l'avenir d'un client)."
        ),
        "en": (
            "The separation horizon H = {h} days is estimated once, from the purchases up to {as_of}, and "
            "applied to every snapshot: earlier snapshots use a threshold informed by later data (a "
            "market-wide parameter, not any customer's future)."
        ),
    },
    "horizon_config": {
        "fr": "L'horizon de séparation H = {h} jours est fixé dans la configuration et appliqué à chaque instantané.",
        "en": "The separation horizon H = {h} days is set in the configuration and applied to every snapshot.",
    },
    "loyalty_last_snapshot": {
        "fr": (
            "L'appartenance au programme de fidélité, sans date, n'est connue qu'à l'extraction : elle ne compte "
            "qu'au dernier instantané ({as_of}) ; les dates de contrat, elles, comptent à chaque instantané."
        ),
        "en": (
            "Loyalty-programme membership, undated, is known only at extraction: it counts at the last "
            "snapshot ({as_of}) only; contract dates count at every snapshot."
        ),
    },
    "loyalty_since_signup": {
        "fr": (
            "L'appartenance au programme de fidélité, sans date et connue à l'extraction ({as_of}), est appliquée "
            "depuis l'inscription : les instantanés antérieurs l'utilisent (une hypothèse)."
        ),
        "en": (
            "Loyalty-programme membership, undated and known at extraction ({as_of}), is applied from sign-up: "
            "earlier snapshots use it (an assumption)."
        ),
    },
    "resolved": {
        "fr": (
            "La résolution des réclamations n'a pas de date : aux instantanés passés, les réclamations ouvertes "
            "sont celles encore non résolues au {as_of} (les règles par défaut ne s'en servent pas)."
        ),
        "en": (
            "Complaint resolution has no date: at past snapshots, open complaints are those still unresolved "
            "at {as_of} (the default rules do not use them)."
        ),
    },
}


class StageResults:
    """The results of a fitted stage model (mixed into :class:`~custrel_lib.stages.model.StageModel`)."""

    amounts: bool = True  # False: transactions without amounts (StageModel(amounts=False))

    # --- what each snapshot knows --------------------------------------------------------------------------

    def horizon_warning(self, lang: str = "fr") -> str | None:
        """The message when the data window is too short for H (fr or en), else ``None``."""
        self._check_fitted()
        return self.horizon_warning_[check_lang(lang)] if self.horizon_warning_ else None

    def lookahead_note(self, lang: str = "fr") -> str:
        """What the stages at past snapshots use that was only known later, in words for the report.

        Every snapshot's features use the data dated up to it, except: H (one value, estimated up to
        ``as_of`` unless set), the undated loyalty flag (per ``loyalty_flag``) and the undated complaint
        resolution (each said only when the data has its table). ``tests/test_no_future.py`` checks that truncating the data at a snapshot, with H given,
        does not change that snapshot's stages.
        """
        self._check_fitted()
        lang = check_lang(lang)
        fmt = {"h": format_number(self.horizon_days_, lang), "as_of": format_date(self.as_of_, lang)}
        tables = getattr(self, "tables_", None) or {}
        keys = ["horizon_config" if self.horizon_source_ == "config" else "horizon_data"]
        if "customers" in tables:  # loyalty and contracts live there; without it, nothing to say
            keys.append(f"loyalty_{self.loyalty_flag}")
        if "interactions" in tables:
            keys.append("resolved")
        return " ".join(tr(LOOKAHEAD_TEXTS, k, lang, **fmt) for k in keys)

    # --- results -----------------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not getattr(self, "_fitted", False):
            raise ConfigError("This StageModel is not fitted yet: call fit(tables, as_of) first.")

    def _snapshot(self, snapshot) -> pd.Timestamp:
        self._check_fitted()
        if snapshot is None:
            return self.snapshots_[-1]
        s = pd.Timestamp(snapshot)
        if s not in self.snapshots_:
            raise ConfigError(
                f"{s.date()} is not a snapshot; snapshots run {self.snapshots_[0].date()} .. {self.snapshots_[-1].date()}."
            )
        return s

    @property
    def current_(self) -> pd.DataFrame:
        """The history at the last snapshot (one row per customer)."""
        self._check_fitted()
        if self._history is not None:
            return self._history[self._history["snapshot"] == self.snapshots_[-1]].reset_index(drop=True)
        h = self._history_expr
        last = h.filter(h.snapshot_day == int((self.snapshots_[-1] - EPOCH).days))
        return hist.to_pandas(self._con, hist.history_expr(last))

    def features(self, snapshot=None) -> pd.DataFrame:
        """Features of every customer at one snapshot (default: the last), with its stage.

        Computed in the engine for that snapshot only, then kept (the last few snapshots asked for).
        """
        s = self._snapshot(snapshot)
        out = self._snapshot_cache.get(s)  # kept as the rules placed them, without signals
        if out is None:
            out = self._rule_features(s)
            if len(self._snapshot_cache) >= 4:
                self._snapshot_cache.pop(next(iter(self._snapshot_cache)))
            self._snapshot_cache[s] = out
        if s == self.snapshots_[-1] and getattr(self, "signals_", None) is not None:
            return sig.with_signals(out, self.signals_, self.signal_changes_)
        return out.copy()

    def _rule_features(self, s: pd.Timestamp) -> pd.DataFrame:
        if self._features_cache is not None:
            f = self._features_cache[self._features_cache["snapshot"] == s].reset_index(drop=True)
            stage = self._rules_stage(s)
            return f.merge(stage, on="customer_id", how="left")
        return self._engine_features(s)

    def _rules_stage(self, s: pd.Timestamp) -> pd.DataFrame:
        """``customer_id, stage`` at ``s`` as the rules placed them (the history less the signal's moves)."""
        stage = self._history.loc[self._history["snapshot"] == s, ["customer_id", "stage"]]
        changes = getattr(self, "signal_changes_", None)
        if s == self.snapshots_[-1] and changes is not None and len(changes):
            before = changes.set_index("customer_id")["stage_before"]
            stage = stage.assign(
                stage=stage["customer_id"].map(before).fillna(stage["stage"]).astype("string")
            )
        return stage

    def _engine_features(self, s: pd.Timestamp, customer_id: str | None = None) -> pd.DataFrame:
        """The features at ``s`` (of one customer), computed for that snapshot alone."""
        e = self._at_snapshot.at(list(self.snapshots_).index(s))
        if customer_id is not None:
            e = e.filter(e.customer_id == customer_id)
        out = to_pandas_features(self._con.execute(e.drop("ambassador", "rule")))
        out["stage"] = out["stage"].astype("string")
        return out

    def _customer_features(self, customer_id: str, s: pd.Timestamp) -> pd.DataFrame:
        """One customer's features at ``s``, without computing every customer's when not cached."""
        if s in self._snapshot_cache or self._features_cache is not None:
            f = self.features(s)
            return f[f["customer_id"] == customer_id]
        return self._engine_features(s, customer_id)

    def profiles(self, snapshot=None, lang: str = "fr") -> StageProfiles:
        """Per stage: customers, share, revenue share (last 12 months), median tenure, mean recommendation
        score, NPS and its number of answers, complaint rate.

        ``mean_score`` is the mean of the customers' latest 0-10 answers; ``nps`` is the NPS of those same
        answers (:func:`custrel_lib.voice.nps`: % promoters 9-10 minus % detractors 0-6, on -100..100), NaN
        when no customer of the stage answered; ``nps_answers`` counts them (one answer per customer).
        """
        lang = check_lang(lang)
        s = self._snapshot(snapshot)
        voice = "interactions" in (getattr(self, "tables_", None) or {})
        return stage_profiles(self.features(s), s, lang, interactions=voice, amounts=self.amounts)

    def explain(self, customer_id: str, snapshot=None, lang: str = "fr") -> Explanation:
        """The rule that placed ``customer_id`` in its stage, every rule's verdict and the feature values."""
        lang = check_lang(lang)
        s = self._snapshot(snapshot)
        row = self._customer_features(str(customer_id), s)
        if row.empty:
            raise ConfigError(f"Customer {customer_id!r} does not exist at {s.date()}.")
        row = row.iloc[0]
        known = FEATURE_COLUMNS + [c for c in SIGNAL_FEATURES if c in row.index]
        verdicts = self.rules_.matches(row[known], self.horizon_days_)
        first = verdicts.index(True)
        rules = self.rules_.to_frame(lang, self.horizon_days_)
        rules[tr(TEXT, "col_true", lang)] = [tr(TEXT, "yes" if v else "no", lang) for v in verdicts]
        rules[tr(TEXT, "col_chosen", lang)] = ["◀" if i == first else "" for i in range(len(verdicts))]
        return Explanation(
            customer_id=str(customer_id),
            snapshot=s,
            stage=str(row["stage"]),
            rules=rules,
            features=row[[c for c in FEATURE_COLUMNS if self.amounts or c not in MONEY_FEATURES]],
            lang=lang,
        )

    def apply_signals(self, signals: pd.DataFrame | None) -> pd.DataFrame:
        """Place the last snapshot again with signal features known (:mod:`custrel_lib.stages.signals`).

        Parameters
        ----------
        signals : DataFrame or None
            ``customer_id`` and one or more signal columns (``p_alive``); customers without a row are placed as
            without the signal. ``None`` removes the signals applied before.

        Returns
        -------
        DataFrame
            The customers whose last stage changed (also ``signal_changes_``): ``customer_id, stage_before,
            stage`` and the signal columns. The history (``history_``, pandas) and every result read from it
            hold the new stages; ``history_table()`` and ``write_history()`` stay the engine's, without signals.
        """
        self._check_fitted()
        last = self.snapshots_[-1]
        history = self.history_
        sig.undo(history, last, getattr(self, "signal_changes_", None))
        self.signals_, self.signal_changes_ = None, None
        if signals is None:
            return pd.DataFrame(columns=sig.CHANGE_COLUMNS)
        checked = sig.check_signals(signals)
        self.signal_changes_ = sig.changes(history, last, sig.place(self, checked), checked)
        self.signals_ = checked
        return self.signal_changes_

    @property
    def summary(self) -> pd.DataFrame:
        """Customers per stage at the last snapshot, in display order, with labels and shares."""
        cur = self.current_
        counts = cur["stage"].value_counts()
        order = [c for c in typology.stage_order() if c in counts.index]
        out = pd.DataFrame({"stage": order, "customers": [int(counts[c]) for c in order]})
        out["share"] = out["customers"] / out["customers"].sum()
        out.insert(1, "label_fr", out["stage"].map(lambda c: typology.stage_label(c, "fr")))
        out.insert(2, "label_en", out["stage"].map(lambda c: typology.stage_label(c, "en")))
        # The horizon behind "active" travels with the counts.
        out.attrs.update(
            snapshot=self.snapshots_[-1],
            horizon_days=self.horizon_days_,
            horizon_source=self.horizon_source_,
            horizon_warning=self.horizon_warning_,
        )
        return out

    def _repr_html_(self) -> str:
        if not getattr(self, "_fitted", False):
            return f"<p>StageModel (not fitted): {html.escape(repr(self.rules_))}</p>"
        lang = "fr"
        cadence = self.cadence if isinstance(self.cadence, str) else len(self.cadence)
        head = tr(
            TEXT,
            "model_head",
            lang,
            n=format_number(len(self.snapshots_), lang),
            cadence=cadence,
            date=format_date(self.snapshots_[-1], lang),
            h=format_number(self.horizon_days_, lang),
        )
        return f"<p>{html.escape(head)}</p>" + html_table(self.summary, lang, percent=("share",))
