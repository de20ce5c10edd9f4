"""« La flamme brille-t-elle encore ? »: BG/NBD probability alive and expected value, for the report.

:func:`run_flame` fits :class:`~custrel_lib.flame.btyd.BetaGeoModel` and, when there are enough repeat buyers,
:class:`~custrel_lib.flame.btyd.GammaGammaModel` on the customers without a contract (a contract customer's
relationship ends with the contract, not with silence), and returns per-customer P(alive), expected purchases
and expected spend over the next ``h`` days. A calibration/holdout split (the last ``holdout_days`` kept out
of the fit) checks the model on purchases it has not seen. Known limit, stated in the report: BG/NBD treats a
customer with no repeat purchase as alive; the typology's one-night-stand rule covers them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from custrel_lib.exceptions import AnalysisError, InsufficientDataError
from custrel_lib.flame import btyd
from custrel_lib.flame.rfm import non_contract
from custrel_lib.flame.text import TEXT
from custrel_lib.i18n import format_currency, format_date, format_number, format_percent, tr
from custrel_lib.privacy import pseudonymize

MIN_REPEAT_BUYERS = 20
#: A fit "sees no dropout" when every repeat buyer's P(alive) is at least this: P(alive) then tells no one apart.
NO_DROPOUT_P = 0.99
#: A fit "sees one purchase rate" when the Gamma shape r is at least this: the rates' coefficient of variation,
#: 1/sqrt(r), is under 10 %.
SAME_RATE_R = 100.0
#: A fit "sees one dropout probability" when a + b is at least this: the Beta's standard deviation is under 1 %
#: (0.5 / sqrt(a + b + 1)).
SAME_DROPOUT_AB = 1e4
TOP_SHARE = 0.1
FADING_FILE = "flame_fading.csv"


@dataclass
class FlameResult:
    """Per-customer P(alive) and expected value (``customers``), the fitted models and their check."""

    customers: pd.DataFrame
    bg: btyd.BetaGeoModel
    gg: btyd.GammaGammaModel | None
    horizon_days: float
    holdout: pd.DataFrame | None = None
    calibration_end: pd.Timestamp | None = None
    bg_calibration: btyd.BetaGeoModel | None = None
    as_of: pd.Timestamp | None = None
    fitted_on: tuple[int, int] | None = None  # (customers, repeat buyers) of the fit, when it saw a sample
    spend: bool = True  # False: transactions without amounts, no spend model (Gamma-Gamma) fitted

    def to_dict(self) -> dict:
        """The headline of the flame for ``key_figures.json``: expected purchases and value of the base over the
        next ``horizon_days``, with their definition (population, period, unit)."""
        c = self.customers
        out = {
            "customers": len(c),
            "repeat_buyers": int((c["frequency"] > 0).sum()),
            "params": {k: round(float(v), 4) for k, v in self.bg.params_.items()},
            "horizon_days": self.horizon_days,
            "expected_purchases": round(float(c["expected_purchases"].sum()), 1),
            "boundary": self.boundary(),
            "definition": {
                "population": "customers without contract (no contract_start) with a purchase up to as_of",
                "period": self._period(),
                "expected_purchases": "purchase days (purchases on one day count once) expected in the period, "
                "summed over the population; BG/NBD (Fader, Hardie & Lee 2005) fitted by maximum likelihood",
                "expected_value": "expected purchases times the Gamma-Gamma expected spend per purchase (Fader & "
                "Hardie 2013), in the currency of transactions.amount, undiscounted, summed over the population",
            },
        }
        if "expected_value" in c:
            out["expected_value"] = round(float(c["expected_value"].sum()), 2)
        return out

    def boundary(self) -> list[str]:
        """Where the fit sits at a limit of the model (a short history, few repeat purchases): ``no_dropout``
        when every repeat buyer's P(alive) is at least :data:`NO_DROPOUT_P`, ``same_rate`` when ``r`` is at
        least :data:`SAME_RATE_R`, ``same_dropout`` when ``a + b`` is at least :data:`SAME_DROPOUT_AB`. The
        parameters are then printed with a sentence that says what they mean."""
        c = self.customers
        repeat = c.loc[c["frequency"] > 0, "p_alive"]
        out = []
        if len(repeat) and float(repeat.min()) >= NO_DROPOUT_P:
            out.append("no_dropout")
        if float(self.bg.params_["r"]) >= SAME_RATE_R:
            out.append("same_rate")
        if float(self.bg.params_["a"] + self.bg.params_["b"]) >= SAME_DROPOUT_AB:
            out.append("same_dropout")
        return out

    def headline(self, lang: str) -> dict | None:
        """The headline figure of the executive summary (``key``, ``label``, ``value``, ``text``,
        ``definition``): the expected value of the base over the next period; ``None`` without a spend model."""
        c = self.customers
        if "expected_value" not in c or self.as_of is None:
            return None
        value = float(c["expected_value"].sum())
        period = self._period()
        h = format_number(self.horizon_days, lang)
        return {
            "key": "flame_value",
            "label": tr(TEXT, "headline", lang, h=h),
            "value": round(value, 2),
            "text": format_currency(value, lang),
            "definition": tr(
                TEXT,
                "headline_def",
                lang,
                n=format_number(len(c), lang),
                date=format_date(self.as_of, lang),
                purchases=format_number(float(c["expected_purchases"].sum()), lang),
                start=format_date(pd.Timestamp(period["start"]), lang),
                end=format_date(pd.Timestamp(period["end"]), lang),
            ),
        }

    def _period(self) -> dict:
        period: dict = {"days": self.horizon_days}
        if self.as_of is not None:
            period["start"] = str((self.as_of + pd.Timedelta(days=1)).date())
            period["end"] = str((self.as_of + pd.Timedelta(days=self.horizon_days)).date())
        return period


def fit_bgnbd(tables: dict, as_of: pd.Timestamp):
    """BG/NBD fitted on the customers without a contract up to ``as_of``: (their transactions, the summary, the
    repeat buyers, the model); :class:`InsufficientDataError` with too few repeat buyers."""
    tx = non_contract(tables["transactions"], tables.get("customers"))
    summary = btyd.rfm_summary(tx, as_of)
    repeat = int((summary["frequency"] > 0).sum())
    if repeat < MIN_REPEAT_BUYERS:
        raise InsufficientDataError("repeat_buyers", repeat, MIN_REPEAT_BUYERS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = btyd.BetaGeoModel().fit(summary)
    return tx, summary, repeat, bg


def p_alive_at(tables: dict, as_of) -> pd.DataFrame:
    """``customer_id, p_alive`` at ``as_of``: the BG/NBD fit of :func:`run_flame` alone (no spend model, no
    holdout check), what the stage signal needs; the same values as ``run_flame(tables, as_of).customers``."""
    _, summary, _, bg = fit_bgnbd(tables, pd.Timestamp(as_of))
    out = bg.predict(summary, 0.0)
    return out[["customer_id", "p_alive"]].reset_index(drop=True)


def run_flame(
    tables: dict, as_of, horizon_days: float = 90.0, holdout_days: int = 180, spend: bool = True
) -> FlameResult:
    """Fit BG/NBD (and Gamma-Gamma) on the customers without a contract; see the module docstring.

    ``spend`` False (transactions without amounts): BG/NBD alone, no expected value."""
    as_of = pd.Timestamp(as_of)
    tx, summary, repeat, bg = fit_bgnbd(tables, as_of)
    out = bg.predict(summary, horizon_days)
    if not np.isfinite(out[["p_alive", "expected_purchases"]].to_numpy(dtype="float64")).all():
        raise AnalysisError(
            f"BG/NBD gives no finite forecast on this data ({bg!r}): the flame is not shown.",
            code="no_finite_forecast",
        )
    out["frequency"] = summary["frequency"].to_numpy()
    out["T"] = summary["T"].to_numpy()
    gg = None
    if spend and repeat >= MIN_REPEAT_BUYERS and "monetary_value" in summary:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gg = btyd.GammaGammaModel().fit(summary)
            out["expected_value"] = gg.customer_value(bg, summary, horizon_days).to_numpy()
        except Exception:  # a spend model that cannot be fitted leaves the purchases' forecast intact
            gg = None
    result = FlameResult(out.reset_index(drop=True), bg, gg, float(horizon_days), as_of=as_of, spend=spend)
    window = (as_of - tx["date"].min()).days
    if window >= 2 * holdout_days:
        cut = as_of - pd.Timedelta(days=holdout_days)
        cal = btyd.rfm_summary(tx, as_of, calibration_end=cut)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bg_cal = btyd.BetaGeoModel().fit(cal)
        cal["expected_holdout"] = bg_cal.expected_purchases(
            cal["duration_holdout"].to_numpy(), cal["frequency"], cal["recency"], cal["T"]
        )
        result.holdout, result.calibration_end, result.bg_calibration = cal, cut, bg_cal
    return result


def flame_sentences(res: FlameResult, lang: str, threshold: float = 0.5) -> list[str]:
    """What the report says about the fit, the base's next period, the fading customers and the check."""
    p = res.bg.params_
    c = res.customers
    fmt = {k: format_number(float(p[k]), lang, 3) for k in ("r", "alpha", "a", "b")}
    h = format_number(res.horizon_days, lang)
    value = ""
    if "expected_value" in c:
        value = tr(TEXT, "base_value", lang, money=format_currency(float(c["expected_value"].sum()), lang))
    lines = [
        tr(
            TEXT,
            "params",
            lang,
            n=format_number(res.fitted_on[0] if res.fitted_on else len(c), lang),
            k=format_number(res.fitted_on[1] if res.fitted_on else int((c["frequency"] > 0).sum()), lang),
            **fmt,
        ),
        tr(
            TEXT,
            "base",
            lang,
            h=h,
            purchases=format_number(float(c["expected_purchases"].sum()), lang),
            value=value,
        ),
    ]
    lines += _boundary_sentences(res, lang)
    fading = c[(c["frequency"] > 0) & (c["p_alive"] < threshold)]
    if "expected_value" in c:
        lines.append(
            tr(
                TEXT,
                "fading",
                lang,
                n=format_number(len(fading), lang),
                p=format_percent(threshold, lang, 0),
                money=format_currency(float(fading["expected_value"].sum()), lang),
                h=h,
            )
        )
    if res.holdout is not None:
        ho = res.holdout
        cut = res.calibration_end
        lines.append(
            tr(
                TEXT,
                "holdout",
                lang,
                cut=format_date(cut, lang),
                expected=format_number(float(ho["expected_holdout"].sum()), lang),
                observed=format_number(float(ho["frequency_holdout"].sum()), lang),
                days=format_number(float(np.nanmax(ho["duration_holdout"])), lang),
            )
        )
    lines.append(tr(TEXT, "limit", lang))
    return lines


def _boundary_sentences(res: FlameResult, lang: str) -> list[str]:
    p, c, out = res.bg.params_, res.customers, []
    for flag in res.boundary():
        if flag == "no_dropout":
            days = float(c["T"].max()) if "T" in c else float("nan")
            out.append(
                tr(
                    TEXT,
                    flag,
                    lang,
                    p=format_percent(NO_DROPOUT_P, lang, 0),
                    k=format_number(int((c["frequency"] > 0).sum()), lang),
                    drop=format_percent(float(p["a"] / (p["a"] + p["b"])), lang, 2),
                    days=format_number(days, lang),
                )
            )
        elif flag == "same_dropout":
            drop = format_percent(float(p["a"] / (p["a"] + p["b"])), lang, 1)
            out.append(tr(TEXT, flag, lang, ab=format_number(float(p["a"] + p["b"]), lang), drop=drop))
        else:
            cv = format_percent(float(1 / np.sqrt(p["r"])), lang, 1)
            out.append(tr(TEXT, flag, lang, r=format_number(float(p["r"]), lang), cv=cv))
    return out


def population(lang: str) -> str:
    """Who the BG/NBD figures cover, for their subtitles."""
    return tr(TEXT, "population", lang)


def flag_fading(scores: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """``at_risk`` also for customers without contract who bought again and whose P(alive) is below
    ``threshold`` (``survival.p_alive_threshold``; ``None``: P(alive) is reported, not used as a signal).

    Customers who never bought again are left to the one-night-stand rule: BG/NBD holds them alive.
    ``at_risk_reason`` says which signal flagged each customer (``score``, ``p_alive`` or both).
    """
    out = scores.copy()
    by_score = out["at_risk"].astype(bool)
    by_flame = pd.Series(False, index=out.index)
    if threshold is not None and "p_alive" in out:
        repeat = out.get("frequency", pd.Series(1, index=out.index)).fillna(0) > 0
        by_flame = (out["risk_kind"] == "lapse") & repeat & (out["p_alive"] < float(threshold))
    out["at_risk"] = by_score | by_flame
    out["at_risk_reason"] = np.select(
        [by_score & by_flame, by_score, by_flame], ["score+p_alive", "score", "p_alive"], default=""
    )
    return out


def with_stage(customers: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The flame's customers with their stage at the last snapshot of ``history`` (for P(alive) by stage)."""
    last = history.loc[history["snapshot"] == history["snapshot"].max(), ["customer_id", "stage"]]
    c = customers.astype({"customer_id": "string"})
    return c.merge(last.astype({"customer_id": "string"}), on="customer_id", how="inner")


def fading_top(
    customers: pd.DataFrame, threshold: float, top_share: float = TOP_SHARE, spend: bool = True
) -> pd.DataFrame:
    """The customers among the ``top_share`` of highest value if they stay active whose P(alive) is below
    ``threshold``, highest value first.

    The value if they stay is ``expected_value / p_alive``: BG/NBD's expected purchases are P(alive) times the
    purchases of a customer still active, so this is the spend at stake (undiscounted). Only repeat buyers can
    fade (BG/NBD holds the others alive). ``attrs``: ``top`` (customers in the top share), ``cut`` (its lowest
    value), ``threshold``. ``spend`` False (:attr:`FlameResult.spend`): the transactions hold no amounts.
    """
    if not spend:
        raise AnalysisError(
            "The transactions hold no amounts (amounts: false): no customer value.", "no_amounts"
        )
    if "expected_value" not in customers:
        raise AnalysisError(
            "The spend model (Gamma-Gamma) could not be fitted: no customer value to rank by."
        )
    c = customers.loc[customers["p_alive"] > 0].copy()
    c["value_if_alive"] = c["expected_value"] / c["p_alive"]
    cut = float(c["value_if_alive"].quantile(1 - top_share)) if len(c) else float("nan")
    top = c[c["value_if_alive"] >= cut]
    out = top[(top["frequency"] > 0) & (top["p_alive"] < threshold)]
    cols = ["customer_id", "p_alive", "frequency", "expected_purchases", "expected_value", "value_if_alive"]
    out = out.sort_values(["value_if_alive", "customer_id"], ascending=[False, True])[cols]
    out = out.reset_index(drop=True)
    out.attrs.update(top=len(top), cut=cut, threshold=float(threshold))
    return out


def example_customer(customers: pd.DataFrame, top: pd.DataFrame) -> str | None:
    """The customer whose flame a report draws: the most valuable fading one (first of ``top``), else the
    repeat buyer of highest value if they stay, else ``None`` (no repeat buyer: no flame that can fade)."""
    if len(top):
        return str(top["customer_id"].iloc[0])
    c = customers.loc[(customers["p_alive"] > 0) & (customers["frequency"] > 0)]
    if c.empty:
        return None
    value = (
        (c["expected_value"] / c["p_alive"]) if "expected_value" in c else c["frequency"].astype("float64")
    )
    value = value.dropna()
    return str(c.loc[value.idxmax(), "customer_id"]) if len(value) else str(c["customer_id"].iloc[0])


def fading_sentence(top: pd.DataFrame, res: FlameResult, lang: str) -> str:
    """How many of the most valuable customers are fading, and what they carry (no identifier)."""
    return tr(
        TEXT,
        "top_fading",
        lang,
        top=format_number(top.attrs["top"], lang),
        n=format_number(len(top), lang),
        p=format_percent(top.attrs["threshold"], lang, 0),
        money_alive=format_currency(float(top["value_if_alive"].sum()), lang),
        money=format_currency(float(top["expected_value"].sum()), lang),
        h=format_number(res.horizon_days, lang),
        file=FADING_FILE,
    )


def write_fading(folder, top: pd.DataFrame, pseudonym_key: bytes | None = None) -> Path:
    """Write the fading list to ``folder/flame_fading.csv`` (customer-level export, never in a report page);
    with ``pseudonym_key`` the identifiers are keyed hashes (:func:`custrel_lib.privacy.pseudonymize`)."""
    out = top.copy()
    if pseudonym_key is not None:
        out["customer_id"] = pseudonymize(out["customer_id"], pseudonym_key)
    path = Path(folder) / FADING_FILE
    out.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path
