"""Keys across rows and tables: order lines that make one order (``order_lines: true``), and the message on
buyers missing from the customers table when their ids differ only by case or leading zeros. Shared by the pandas
loader (:mod:`custrel_lib.io.load`) and the engine's checks (:mod:`custrel_lib.io.scan_checks`)."""

from __future__ import annotations

import re

import pandas as pd

from custrel_lib.io.contract import ORDER_LEVEL

NOT_IN_CUSTOMERS = "kept: this customer buys but is missing from the customers table"


def bare_id(customer_id: str) -> str:
    """An id in lower case, without a trailing ``.0`` (ids read as numbers) or leading zeros (e-mail addresses
    typed with capitals in one system, numbers padded with zeros in another); SQL: ``scan_checks.BARE_ID``."""
    return re.sub(r"\.0$", "", customer_id.lower()).lstrip("0") or "0"


def zeros_hint(missing, known) -> str:
    """When at least half the buyers missing from the customers table are there once letter case, leading zeros
    and a trailing ``.0`` are ignored, the sentence that says so, with the first such pair; else ``""``."""
    if not len(missing):
        return ""
    bare = {}
    for k in sorted(map(str, known)):
        bare.setdefault(bare_id(k), k)
    pairs = sorted((m, bare[bare_id(m)]) for m in map(str, missing) if bare_id(m) in bare)
    if not pairs or 2 * len(pairs) < len(missing):
        return ""
    return ZEROS_HINT.format(n=len(pairs), total=len(missing), here=pairs[0][0], there=pairs[0][1])


ZEROS_HINT = (
    " ({n} of the {total} ids missing there match one of its ids once letter case and leading zeros are ignored, "
    "such as {here!r} here and {there!r} there: write the ids the same way in both files)"
)
#: A transaction without order id identical to an earlier one in these columns is flagged (kept: two equal
#: purchases on one day happen; an export that repeats rows happens too, and inflates spend).
SAME_ROW = ("customer_id", "date", "amount", "category", "channel")
SAME_ROW_MESSAGE = (
    "kept, counted as another purchase: this row repeats an earlier one without order id (same customer and date, "
    "and the same amount, category and channel where the file has them); if the export repeats rows, remove them "
    "or export the order id"
)
#: A kept transaction whose customer id differs from an earlier one's only by letter case ('AB-12' after 'ab-12',
#: codes typed in two systems) is flagged: two customers, said, not merged (e-mail addresses are read in lower
#: case before: contract.EMAIL_ID).
CASE_MESSAGE = (
    "kept, counted as another customer: an earlier row's customer id differs from this one only by letter case; "
    "if they are the same customer, write the ids the same way"
)
#: The messages of the order id checks (both loaders).
DUPLICATE_ORDER = "an earlier row has this order id (one row per order line? set order_lines: true)"
OTHER_CUSTOMER = "an earlier line of this order belongs to another customer"


def same_rows(tx: pd.DataFrame, reject: pd.Series) -> pd.Series:
    """Kept rows without order id that repeat an earlier such row in :data:`SAME_ROW` (pandas loader)."""
    alone = (tx["order_id"].isna() & ~reject).to_numpy()
    same = pd.Series(False, index=tx.index)
    same[alone] = tx.loc[alone, list(SAME_ROW)].duplicated(keep="first").to_numpy()
    return same


def case_twins(ids: pd.Series, reject: pd.Series) -> pd.Series:
    """Kept rows whose id differs only by letter case from the first spelling of it, in file order, among the
    kept rows (pandas loader; ``scan_checks.cross_checks`` in the engine)."""
    kept = ids.where(~reject)
    first = kept.groupby(kept.str.lower(), sort=False).transform("first")
    return (kept.notna() & kept.ne(first)).fillna(False).astype(bool)


#: With ``order_lines: true``: when at least this many orders, and :data:`REPEATED_SHARE` of the orders with
#: several valued lines, carry one amount on every line, the export most likely writes the order's total on
#: each line, which the lines then add up once per line. Their later lines are flagged (kept, summed).
REPEATED_MIN = 5
REPEATED_SHARE = 0.8
REPEATED_MESSAGE = (
    "kept, summed: every line of this order carries the same amount, as do {same} of the {multi} orders with "
    "several lines; if that amount is the order's total written on each line, the order counts it once per "
    "line: map a line amount (or quantity and unit_price) instead"
)


def repeated_message(multi: int, same: int) -> str:
    """The message of the later lines of orders whose lines repeat one amount, or ``""`` when too few orders
    do to say the export repeats its totals (:data:`REPEATED_MIN`, :data:`REPEATED_SHARE`)."""
    if same < REPEATED_MIN or same < REPEATED_SHARE * multi:
        return ""
    return REPEATED_MESSAGE.format(same=f"{same:,}", multi=f"{multi:,}")


def repeated_total(order: pd.Series, amount: pd.Series) -> tuple[pd.Series, str]:
    """The lines after the first of each order whose valued lines all carry one non-zero amount, and their
    message, when :func:`repeated_message` says the export repeats totals; else no line. ``order``: the order
    id of the kept lines, missing elsewhere (pandas loader; ``scan_checks._repeated_total`` in the engine)."""
    has = order.notna() & amount.notna()
    by = amount[has].groupby(order[has], sort=False)
    n, k, first = by.size(), by.nunique(), by.first()
    same = (n >= 2) & (k == 1) & (first != 0)
    message = repeated_message(int((n >= 2).sum()), int(same.sum()))
    if not message:
        return pd.Series(False, index=order.index), ""
    later = has & order.isin(same[same].index) & order.where(has).duplicated(keep="first")
    return later.astype(bool), message


def order_lines_note(lines: int, orders: int, no_date: int = 0, no_amount: int = 0) -> dict[str, int]:
    """What ``custrel validate`` prints of ``order_lines: true``: the kept lines with an order id, the orders
    they make, and how many of those lines had no date or no amount of their own (the order's on another
    line, :data:`~custrel_lib.io.contract.ORDER_LEVEL`), when some had not."""
    note = {"lines": int(lines), "orders": int(orders)}
    for key, n in (("lines_without_date", no_date), ("lines_without_amount", no_amount)):
        if n:
            note[key] = int(n)
    return note


def order_blank(order: pd.Series, values: pd.Series) -> pd.Series:
    """Lines with an empty value (date or amount) whose order has no line with one (``order_lines: true``):
    ``order`` is the order id of the kept lines, missing elsewhere (``scan_checks._order_blank`` in the engine)."""
    valued = order[values.notna()].dropna().unique()
    return (order.notna() & values.isna() & ~order.isin(valued)).astype(bool)


def merge_order_lines(tx: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """One row per order for a file of order lines (``order_lines: true``), in file order: the order's first
    line, dated at its earliest line, with the sum of its lines' amounts (rounded to 6 decimals, as the
    engine's loader does) and the category of its largest line (the first of equals). Rows without an order
    id stay as they are. Returns the table and ``{"lines": ..., "orders": ...}``."""
    has = tx["order_id"].notna()
    lines = tx[has]
    by = lines.groupby("order_id", sort=False)
    largest = lines.sort_values("amount", ascending=False, kind="stable", na_position="last")
    largest = largest.drop_duplicates("order_id")
    orders = lines.drop_duplicates("order_id").copy()
    key = orders["order_id"]
    orders["date"] = key.map(by["date"].min())
    orders["amount"] = key.map(by["amount"].sum()).round(6)
    orders["category"] = key.map(largest.set_index("order_id")["category"]).astype(tx["category"].dtype)
    out = pd.concat([orders, tx[~has]]).sort_index(kind="stable").reset_index(drop=True)
    blank = [int(lines[c].isna().sum()) for c in ORDER_LEVEL]
    return out, order_lines_note(int(has.sum()), len(orders), *blank)


#: A transactions table of at least ONE_PER_ID_MIN purchases where ONE_PER_ID_SHARE of the purchases or more
#: have a customer id of their own: the id is likely the order's, not the customer's (Olist's customer_id is
#: one per order; its customer_unique_id, in the customers file, is the customer's).
ONE_PER_ID_MIN, ONE_PER_ID_SHARE = 200, 0.98


def one_id_per_purchase(loaded) -> tuple[int, int] | None:
    """``(customer ids, purchases)`` of a load (:class:`~custrel_lib.io.load.LoadResult`) when almost every
    purchase has its own customer id (:data:`ONE_PER_ID_SHARE`), else None. The ids are counted where the table
    is (pandas, or the engine: one number comes back)."""
    tx, purchases = loaded.tables["transactions"], loaded.purchases
    if purchases < ONE_PER_ID_MIN:
        return None
    ids = tx["customer_id"].nunique()
    customers = int(ids if isinstance(tx, pd.DataFrame) else ids.execute())
    return (customers, purchases) if customers >= ONE_PER_ID_SHARE * purchases else None


def one_id_message(customers: int, purchases: int) -> str:
    """What ``custrel validate`` says when :func:`one_id_per_purchase` finds it."""
    return (
        f"warning: {customers:,} customer ids for {purchases:,} purchases: almost every purchase has an id of its "
        "own, so nearly every customer will look like a one-time buyer. If this id is the order's (as Olist's "
        "customer_id), map the column that stays the same across a customer's purchases (Olist: "
        "customer_unique_id, in its customers file)."
    )
