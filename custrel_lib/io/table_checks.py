"""The pandas loader's checks across rows and tables (:mod:`custrel_lib.io.load`), in the order the engine's
run them (:func:`custrel_lib.io.scan_checks.cross_checks`): each sees the rejections of the checks before it."""

from __future__ import annotations

from typing import Protocol

import pandas as pd

from custrel_lib.config import TableSpec
from custrel_lib.io.contract import (
    CONTRACT_ORDER_MESSAGE,
    END_REASON_MESSAGE,
    END_REASON_SYNONYMS,
    END_REASONS,
    INTERACTION_TYPES,
    ORDER_LEVEL,
    TYPE_SYNONYMS,
    empty_message,
)
from custrel_lib.io.keys import (
    CASE_MESSAGE,
    DUPLICATE_ORDER,
    OTHER_CUSTOMER,
    SAME_ROW_MESSAGE,
    case_twins,
    order_blank,
    repeated_total,
    same_rows,
)
from custrel_lib.io.readers import ascii_lower


class _Table(Protocol):
    """What a check needs of the table it checks (``load._Table``): its rows rejected so far, and where to
    report."""

    spec: TableSpec
    reject: pd.Series

    def report(
        self, mask: pd.Series, column: str, reason: str, action: str, values: pd.Series, message: str
    ) -> None: ...


def check_transactions(t: _Table, tx: pd.DataFrame, as_of_ts: pd.Timestamp) -> None:
    t.report(
        tx["date"] > as_of_ts,
        "date",
        "future_date",
        "rejected",
        tx["date"].dt.strftime("%Y-%m-%d"),
        f"after the extraction date {as_of_ts.date()}",
    )
    order = tx["order_id"].where(~t.reject)
    if t.spec.order_lines:  # lines of one order share its id, and its customer
        first = tx["customer_id"].where(order.notna()).groupby(order).transform("first")
        other = (order.notna() & tx["customer_id"].ne(first)).fillna(False).astype(bool)
        t.report(other, "order_id", "order_id_other_customer", "rejected", tx["order_id"], OTHER_CUSTOMER)
        order = tx["order_id"].where(~t.reject)
        blank = [order_blank(order, tx[c]) for c in ORDER_LEVEL]  # both found before either is reported
        for column, rows in zip(ORDER_LEVEL, blank, strict=True):
            message = empty_message(column, True, True)
            t.report(rows, column, "missing_value", "rejected", tx[column].astype("string"), message)
        repeated, message = repeated_total(tx["order_id"].where(~t.reject), tx["amount"])
        t.report(repeated, "amount", "order_total_repeated", "flagged", tx["amount"], message)
    else:
        dup = order.notna() & order.duplicated(keep="first")
        t.report(dup, "order_id", "duplicate_order_id", "rejected", tx["order_id"], DUPLICATE_ORDER)
    ids = tx["customer_id"]
    t.report(same_rows(tx, t.reject), "customer_id", "duplicate_row", "flagged", ids, SAME_ROW_MESSAGE)
    t.report(case_twins(ids, t.reject), "customer_id", "id_case", "flagged", ids, CASE_MESSAGE)


def check_customers(c: _Table, cu: pd.DataFrame, as_of_ts: pd.Timestamp) -> None:
    dup = ~c.reject & cu["customer_id"].where(~c.reject).duplicated(keep="first")
    c.report(
        dup & cu["customer_id"].notna(),
        "customer_id",
        "duplicate_customer_id",
        "rejected",
        cu["customer_id"],
        "an earlier row describes this customer",
    )
    c.report(
        cu["signup_date"] > as_of_ts,
        "signup_date",
        "future_date",
        "rejected",
        cu["signup_date"].dt.strftime("%Y-%m-%d"),
        f"signed up after the extraction date {as_of_ts.date()}",
    )
    order = cu["contract_end"] < cu["contract_start"]  # a missing date compares False
    shown = cu["contract_end"].dt.strftime("%Y-%m-%d") + " < " + cu["contract_start"].dt.strftime("%Y-%m-%d")
    c.report(order, "contract_end", "contract_order", "repaired", shown, CONTRACT_ORDER_MESSAGE)
    for column in ("contract_start", "contract_end"):
        cu[column] = cu[column].mask(order)
    reason = cu["end_reason"].str.lower().replace(END_REASON_SYNONYMS)
    bad = reason.notna() & ~reason.isin(END_REASONS)
    c.report(bad, "end_reason", "invalid_value", "repaired", cu["end_reason"], END_REASON_MESSAGE)
    cu["end_reason"] = reason.mask(bad)


def check_interactions(i: _Table, it: pd.DataFrame, as_of_ts: pd.Timestamp, known: pd.Series | None) -> None:
    i.report(
        it["date"] > as_of_ts,
        "date",
        "future_date",
        "rejected",
        it["date"].dt.strftime("%Y-%m-%d"),
        f"after the extraction date {as_of_ts.date()}",
    )
    folded = ascii_lower(it["type"]).replace(TYPE_SYNONYMS)
    unknown_type = folded.notna() & ~folded.isin(INTERACTION_TYPES)
    message = "unknown interaction type: kept, ignored by the analyses"
    i.report(unknown_type, "type", "invalid_value", "flagged", it["type"], message)
    it["type"] = folded
    nps = (folded == "nps") & it["score"].notna() & ~it["score"].between(0, 10)
    message = "an NPS score must be between 0 and 10: emptied"
    i.report(nps, "score", "invalid_value", "repaired", it["score"], message)
    it["score"] = it["score"].mask(nps)
    if known is not None:
        unknown = it["customer_id"].notna() & ~it["customer_id"].isin(known)
        message = "this customer is in neither customers nor transactions"
        i.report(unknown, "customer_id", "unknown_customer", "rejected", it["customer_id"], message)
