"""The frequency / recency / T summary of transactions: the inputs of BG/NBD and Gamma-Gamma.

:func:`rfm_summary` builds one row per customer in the query engine (DuckDB through Ibis);
:func:`rfm_summary_pandas` is the plain reference that the tests hold it to. Conventions (the literature's):
a *purchase* is a transaction with a positive amount (refunds and zero amounts do not count); purchases on the
same day make one purchase occasion. ``frequency`` is the number of days with a purchase after the first one
(repeat purchases), ``recency`` the time from the first to the last purchase day, ``T`` the time from the first
purchase day to the end of the calibration period, in days or weeks. ``monetary_value`` is the mean spend of the
repeat purchase days (0 without repeat purchase).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import numpy as np
import pandas as pd

from custrel_lib.exceptions import DataContractError, MissingColumnError

UNITS = {"days": 1.0, "weeks": 7.0}
DAYS_PER_YEAR = 365.25
SUMMARY_COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
HOLDOUT_COLUMNS = ["frequency_holdout", "monetary_value_holdout", "duration_holdout"]


def non_contract(transactions, customers):
    """The transactions of the customers without a contract (``contract_start`` missing); pandas or Ibis."""
    if customers is None or "contract_start" not in customers.columns:
        return transactions
    if isinstance(transactions, ibis.Table):
        contract = customers.filter(customers.contract_start.notnull()).select("customer_id")
        return transactions.anti_join(contract, "customer_id")
    ids = set(customers.loc[customers["contract_start"].notna(), "customer_id"].astype(str))
    return transactions.loc[~transactions["customer_id"].astype(str).isin(ids)]


def _unit_days(unit: str) -> float:
    if unit not in UNITS:
        raise ValueError(f"Unknown unit {unit!r}: use one of {', '.join(UNITS)}.")
    return UNITS[unit]


def _day(ts) -> int:
    return int((pd.Timestamp(ts).normalize() - pd.Timestamp("1970-01-01")).days)


def _check_transactions(tx) -> None:
    cols = list(tx.columns)
    for col in ("customer_id", "date", "amount"):
        if col not in cols:
            raise MissingColumnError("transactions", col, cols)
    if isinstance(tx, pd.DataFrame) and not pd.api.types.is_datetime64_any_dtype(tx["date"]):
        raise DataContractError(
            "transactions.date must be a datetime column (use custrel_lib.io.load.load_tables)."
        )


def _finish(df: pd.DataFrame, unit: str, holdout_days: int | None) -> pd.DataFrame:
    """Engine or pandas counts in days to the public form (same dtypes and order for both)."""
    k = _unit_days(unit)
    out = pd.DataFrame(
        {
            "customer_id": df["customer_id"].astype("string"),
            "frequency": df["frequency"].astype("int64"),
            "recency": df["recency_days"].astype("float64") / k,
            "T": df["T_days"].astype("float64") / k,
            "monetary_value": df["monetary_value"].astype("float64").fillna(0.0),
        }
    )
    if holdout_days is not None:
        out["frequency_holdout"] = df["frequency_holdout"].fillna(0).astype("int64")
        out["monetary_value_holdout"] = df["monetary_value_holdout"].astype("float64").fillna(0.0)
        out["duration_holdout"] = holdout_days / k
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    out.attrs["unit"] = unit
    return out


def _bounds(as_of, calibration_end) -> tuple[int, int, int | None]:
    end = _day(as_of)
    if calibration_end is None:
        return end, end, None
    cal = _day(calibration_end)
    if cal > end:
        raise ValueError(f"calibration_end ({calibration_end}) is after as_of ({as_of}).")
    return end, cal, end - cal


MONEY = "decimal(38, 6)"


def rfm_summary(
    transactions,
    as_of,
    calibration_end=None,
    unit: str = "days",
    backend=None,
    include_zero: bool = False,
) -> pd.DataFrame:
    """One row per customer with a purchase by the end of calibration: the BG/NBD and Gamma-Gamma inputs.

    Computed in the query engine (DuckDB through Ibis by default); ``backend="pandas"`` runs
    :func:`rfm_summary_pandas` instead.

    Parameters
    ----------
    transactions : DataFrame or ibis.Table
        ``customer_id``, ``date``, ``amount``. Only positive amounts are purchases; rows after ``as_of`` are
        ignored.
    as_of : date
        End of the observation (inclusive).
    calibration_end : date, optional
        End of the calibration period (inclusive). Without it, the whole period up to ``as_of`` is the
        calibration period. With it, the purchases after it (up to ``as_of``) are the holdout.
    unit : "days" or "weeks"
        Unit of ``recency``, ``T`` and ``duration_holdout``.
    backend : None, an Ibis backend, or "pandas"
        ``None``: a new in-process DuckDB connection (or the backend of an Ibis table).
    include_zero : bool
        Count zero-amount transactions (free items) as purchases too; refunds (negative amounts) never count.
        CDNOW's summaries count them.

    Returns
    -------
    DataFrame
        ``customer_id``, ``frequency`` (repeat purchase days), ``recency``, ``T``, ``monetary_value`` (mean
        spend of the repeat purchase days, 0 without one); with ``calibration_end``: ``frequency_holdout``
        (purchase days in the holdout), ``monetary_value_holdout`` (their mean spend) and
        ``duration_holdout`` (length of the holdout). Sorted by ``customer_id``; ``attrs["unit"]`` is the unit.
    """
    _unit_days(unit)
    if isinstance(backend, str):
        if backend != "pandas":
            raise ValueError(f"Unknown backend {backend!r}: None, an Ibis backend or 'pandas'.")
        return rfm_summary_pandas(transactions, as_of, calibration_end, unit, include_zero)
    _check_transactions(transactions)
    end, cal, holdout_days = _bounds(as_of, calibration_end)
    if isinstance(transactions, ibis.Table):
        tx = transactions.select("customer_id", "date", "amount")
        con = backend if backend is not None else tx.get_backend()
    else:
        tx = ibis.memtable(transactions[["customer_id", "date", "amount"]])
        con = backend if backend is not None else ibis.duckdb.connect()
    daily = _purchase_days(tx, end, include_zero)
    per = _calibration_expr(daily, cal)
    if holdout_days is not None:
        per = _with_holdout(per, daily, cal)
    return _finish(con.execute(per), unit, holdout_days)


def _purchase_days(tx: ibis.Table, end: int, include_zero: bool) -> ibis.Table:
    """Purchases up to day ``end``, one row per customer and purchase day with the day's spend."""
    tx = tx.mutate(d=tx.date.cast("date").epoch_days().cast("int64"), amount=tx.amount.cast("float64"))
    tx = tx.filter(((tx.amount >= 0) if include_zero else (tx.amount > 0)) & (tx.d <= end))
    # Spend is summed as exact decimals: float sums in parallel threads depend on their order, and the fits
    # downstream would turn last-bit differences into different reports from the same data.
    return tx.group_by(["customer_id", "d"]).aggregate(spend=tx.amount.cast(MONEY).sum())


def _calibration_expr(daily: ibis.Table, cal: int) -> ibis.Table:
    """Frequency, recency, T (in days) and mean repeat spend of the purchase days up to day ``cal``."""
    cal_days = daily.filter(daily.d <= cal)
    cal_days = cal_days.mutate(first=cal_days.d.min().over(ibis.window(group_by=cal_days.customer_id)))
    per = cal_days.group_by("customer_id").aggregate(
        first=cal_days.first.min(),
        last=cal_days.d.max(),
        n=cal_days.count(),
        repeat_spend=(cal_days.d > cal_days.first).ifelse(cal_days.spend, ibis.literal(0).cast(MONEY)).sum(),
    )
    return per.select(
        "customer_id",
        frequency=per.n - 1,
        recency_days=per["last"] - per["first"],
        T_days=ibis.literal(cal, "int64") - per["first"],
        monetary_value=(per.n > 1).ifelse(
            per.repeat_spend.cast("float64") / (per.n - 1).cast("float64"), 0.0
        ),
    )


def _with_holdout(per: ibis.Table, daily: ibis.Table, cal: int) -> ibis.Table:
    """``per`` with the purchase days after day ``cal`` and their mean spend (null without any)."""
    hold = daily.filter(daily.d > cal)
    hold = hold.group_by("customer_id").aggregate(
        frequency_holdout=hold.count(),
        monetary_value_holdout=hold.spend.sum().cast("float64") / hold.count().cast("float64"),
    )
    per = per.left_join(hold, per.customer_id == hold.customer_id)
    return per.drop(*[c for c in per.columns if c.endswith("_right")])


def rfm_summary_pandas(
    transactions: pd.DataFrame, as_of, calibration_end=None, unit: str = "days", include_zero: bool = False
) -> pd.DataFrame:
    """The plain pandas reference of :func:`rfm_summary` (same definitions, same output)."""
    _unit_days(unit)
    _check_transactions(transactions)
    end, cal, holdout_days = _bounds(as_of, calibration_end)
    tx = transactions[["customer_id", "date", "amount"]]
    d = (tx["date"].dt.normalize() - pd.Timestamp("1970-01-01")).dt.days.astype("int64")
    tx = tx.assign(d=d, amount=tx["amount"].astype("float64"))
    bought = (tx["amount"] >= 0) if include_zero else (tx["amount"] > 0)
    tx = tx[bought & (tx["d"] <= end)]
    daily = tx.groupby(["customer_id", "d"], as_index=False, observed=True)["amount"].sum()
    daily = daily.rename(columns={"amount": "spend"})
    c = daily[daily["d"] <= cal]
    g = c.groupby("customer_id", observed=True)
    first, last, n, total = g["d"].min(), g["d"].max(), g.size(), g["spend"].sum()
    first_spend = c.loc[c["d"] == c["customer_id"].map(first), :].set_index("customer_id")["spend"]
    per = pd.DataFrame(
        {
            "frequency": n - 1,
            "recency_days": last - first,
            "T_days": cal - first,
            "monetary_value": ((total - first_spend) / (n - 1)).where(n > 1, 0.0),
        }
    )
    if holdout_days is not None:
        h = daily[daily["d"] > cal].groupby("customer_id", observed=True)["spend"]
        per["frequency_holdout"] = h.size().reindex(per.index)
        per["monetary_value_holdout"] = h.mean().reindex(per.index)
    per = per.rename_axis("customer_id").reset_index()
    return _finish(per, unit, holdout_days)


def _columns(summary: pd.DataFrame, names: Sequence[str]) -> list[np.ndarray]:
    missing = [c for c in names if c not in summary.columns]
    if missing:
        raise MissingColumnError("summary", missing[0], list(summary.columns))
    return [summary[c].to_numpy(dtype="float64") for c in names]
