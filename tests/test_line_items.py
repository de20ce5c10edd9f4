"""Line-item exports: a quantity and a unit price instead of an amount (the Online Retail shape)."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.cli import validate_command
from custrel_lib.config import parse_config
from custrel_lib.exceptions import ConfigError, MissingColumnError
from custrel_lib.io.load import load_tables
from custrel_lib.io.scan import table_to_pandas
from custrel_lib.paths import SAMPLE_DIR

MAPPING = (
    "    order_lines: true\n"
    "    columns: {customer_id: Customer ID, date: InvoiceDate, order_id: Invoice, unit_price: Price,\n"
    "              category: StockCode, channel: Country}\n"
)


def _retail_export(folder) -> pd.DataFrame:
    """The sample's first 300 customers as an Online Retail export: one line per item (1 to 3 per order),
    Quantity and Price instead of an amount, US dates, ids written as floats, a refund as a negative
    quantity; then three bad lines: a quantity that is not a number, an empty price, an empty customer."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    tx = tx[tx["customer_id"].isin(sorted(tx["customer_id"].unique())[:300])].reset_index(drop=True)
    lines = []
    for i, r in enumerate(tx.itertuples(index=False)):
        d = pd.Timestamp(r.date)
        for k in range(1 + i % 3):
            quantity = (1 + (i + k) % 12) * (-1 if float(r.amount) < 0 else 1)
            price = f"{abs(float(r.amount)) / (k + 2):.2f}"
            lines.append(
                [r.order_id, "S" + str(k), "ITEM", str(quantity), f"{d.month}/{d.day}/{d.year} 9:05"]
            )
            lines[-1] += [price, f"{r.customer_id}.0", r.channel]
    lines.append(["X1", "S0", "ITEM", "douze", "3/4/2025 10:00", "2.50", "C1.0", "web"])
    lines.append(["X2", "S0", "ITEM", "2", "3/4/2025 10:00", "", "C1.0", "web"])
    lines.append(["X3", "S0", "ITEM", "2", "3/4/2025 10:00", "2.50", "", "web"])
    header = [
        "Invoice",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "Price",
        "Customer ID",
        "Country",
    ]
    frame = pd.DataFrame(lines, columns=header)
    frame.to_csv(folder / "retail.csv", index=False)
    return frame


def _load(folder, path: str, mapping: str, engine: bool):
    """The load of ``path`` with ``mapping`` under the transactions table, and the loaded transactions."""
    config = folder / "custrel.yml"
    config.write_text(f"tables:\n  transactions:\n    path: {path}\n{mapping}", encoding="utf-8")
    result = load_tables(config, engine=engine)
    return result, table_to_pandas(result, "transactions") if engine else result.tables["transactions"]


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_quantity_times_unit_price_is_the_amount(tmp_path, engine):
    lines = _retail_export(tmp_path)
    result, tx = _load(tmp_path, "retail.csv", MAPPING, engine)
    assert "quantity" not in tx.columns and "unit_price" not in tx.columns
    # Expected, computed here from the text: each order's amount is the sum of its lines' quantity x price.
    good = lines.iloc[:-3]
    value = good["Quantity"].astype(float) * good["Price"].astype(float)
    expected = value.groupby(good["Invoice"]).sum().round(6)
    got = tx.set_index(tx["order_id"].astype(object))["amount"]
    assert len(got) == len(expected) == lines["Invoice"].iloc[:-3].nunique()
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(), check_names=False, atol=1e-9)
    assert (got < 0).any()  # refunds stay refunds
    problems = result.problems.rows.sort_values("row")
    n = len(lines) + 1  # the header is line 1
    assert problems[["row", "column", "reason"]].values.tolist() == [
        [n - 2, "quantity", "non_numeric_amount"],
        [n - 1, "unit_price", "missing_value"],
        [n, "customer_id", "missing_customer_id"],
    ]
    assert problems["message"].iloc[0] == "the quantity is not a number"
    assert result.problems.counts["transactions"] == {
        "read": len(lines),
        "kept": len(lines) - 3,
        "rejected": 3,
    }
    assert result.formats["transactions"]["date_format"] == {"date": "%m/%d/%Y %H:%M"}


def test_online_retail_headers_need_only_the_names_that_differ(tmp_path):
    # "Customer ID" and "Quantity" are the contract's customer_id and quantity once case, blanks and underscores
    # are set aside: only the date, the order and the price need a mapping.
    lines = _retail_export(tmp_path)
    config = tmp_path / "custrel.yml"
    config.write_text(
        "tables:\n  transactions:\n    path: retail.csv\n    order_lines: true\n"
        "    columns: {date: InvoiceDate, order_id: Invoice, unit_price: Price}\n",
        encoding="utf-8",
    )
    result = load_tables(config)
    assert result.problems.counts["transactions"] == {
        "read": len(lines),
        "kept": len(lines) - 3,
        "rejected": 3,
    }
    assert result.tables["transactions"]["customer_id"].str.endswith(".0").all()


def test_without_amount_or_its_parts_the_message_names_both(tmp_path):
    pd.DataFrame({"customer_id": ["a"], "date": ["2025-01-02"], "Quantity": ["2"]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    config = tmp_path / "custrel.yml"
    config.write_text("tables:\n  transactions:\n    path: t.csv\n", encoding="utf-8")
    with pytest.raises(
        MissingColumnError, match=r"'amount' \(or 'quantity' and 'unit_price'; .* amounts: false\) is missing"
    ):
        load_tables(config)
    with pytest.raises(ConfigError, match="prix is an unknown key"):
        parse_config(
            {"tables": {"transactions": {"path": "t.csv", "columns": {"prix": "Price"}}}}, base_dir=tmp_path
        )


def test_validate_reads_a_retail_export(tmp_path):
    _retail_export(tmp_path)
    config = tmp_path / "custrel.yml"
    body = f"tables:\n  transactions:\n    path: retail.csv\n{MAPPING}analysis:\n  as_of: 2025-12-31\n"
    config.write_text(body, encoding="utf-8")
    out = CliRunner().invoke(validate_command, ["--config", str(config)])
    assert out.exit_code == 0, out.output
    assert "non_numeric_amount" in out.output and "quantity" in out.output


def test_the_report_says_how_many_rows_were_rejected_and_why(tmp_path):
    from custrel_lib.i18n import format_number
    from custrel_lib.reports.data_note import data_figures, data_sentence

    lines = _retail_export(tmp_path)
    config = tmp_path / "custrel.yml"
    config.write_text(f"tables:\n  transactions:\n    path: retail.csv\n{MAPPING}", encoding="utf-8")
    problems = load_tables(config).problems
    files = {"transactions": "retail.csv"}
    assert data_figures(problems, files)["transactions"] == {
        "file": "retail.csv",
        "read": len(lines),
        "kept": len(lines) - 3,
        "rejected": 3,
        "rejected_by_reason": {"missing_customer_id": 1, "missing_value": 1, "non_numeric_amount": 1},
        "flagged_by_reason": {},
        "repaired_by_reason": {},
    }
    assert data_sentence(problems, files, "fr") == (
        f"Données lues : retail.csv, {format_number(len(lines), 'fr')} lignes dont 3 rejetées (client non "
        "renseigné : 1, valeur obligatoire vide : 1, montant non numérique : 1). « custrel validate » liste "
        "chaque ligne écartée, avec sa raison."
    )
    assert data_sentence(problems, files, "en").startswith(
        f"Data read: retail.csv, {len(lines):,} rows of which 3"
    )


@pytest.fixture
def restore_currency():
    from custrel_lib.i18n import CURRENCY

    before = dict(CURRENCY)
    yield
    CURRENCY.update(before)


def test_amounts_are_written_in_the_currency_of_the_config(tmp_path, restore_currency):
    """Online Retail is in pounds: `currency: GBP` writes £ in every amount of the report (set by prepare in each
    notebook's process); the default stays €."""
    from custrel_lib.flame.analysis import run_flame
    from custrel_lib.i18n import format_currency
    from custrel_lib.reports.summary import key_figures
    from custrel_lib.workbench import prepare

    _retail_export(tmp_path)
    config = tmp_path / "custrel.yml"
    body = f"language: en\ncurrency: GBP\ntables:\n  transactions:\n    path: retail.csv\n{MAPPING}"
    config.write_text(body, encoding="utf-8")
    wb = prepare(config, verbose=False)
    assert format_currency(1234.5, "en") == "£1,234" and format_currency(1234.5, "fr") == "1\u202f234\u202f£"
    assert key_figures(wb.history, lang="en")["currency"] == "£"
    assert run_flame(wb.tables, wb.as_of).headline("en")["text"].startswith("£")
    config.write_text(body.replace("currency: GBP", "currency: CHF"), encoding="utf-8")
    prepare(config, verbose=False)
    assert format_currency(1234.5, "en") == "CHF\u202f1,234"
    with pytest.raises(ConfigError, match="currency must be a currency sign or code"):
        parse_config({"currency": "Pounds sterling", "tables": {"transactions": {"path": "t.csv"}}})
    config.write_text(body.replace("currency: GBP\n", ""), encoding="utf-8")
    prepare(config, verbose=False)
    assert format_currency(1234.5, "en") == "€1,234"


SHOPIFY = (
    "    order_lines: true\n"
    "    columns: {customer_id: Email, date: Created at, amount: Total, order_id: Name, category: Lineitem name}\n"
)


def _shopify_export(folder) -> pd.DataFrame:
    """The sample's first 300 customers as Shopify's orders export: one row per line item, the order's total
    (and, on one order in five, its date) on its first line only, the later lines' cells empty; dates with their
    time zone; the status (refunded: one order in ten) on the first line only. Then three orders that cannot be read: every line without a total (a draft), every line without a
    date, and a line without order id nor total. Returns the sample's rows of those customers (the truth)."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str)
    tx = tx[tx["customer_id"].isin(sorted(tx["customer_id"].unique())[:300])].reset_index(drop=True)
    rows = []
    for i, r in enumerate(tx.itertuples(index=False)):
        for k in range(1 + i % 3):
            later = k > 0
            rows.append(
                {
                    "Name": f"#{r.order_id}",
                    "Email": f"{r.customer_id.lower()}@example.com",
                    "Created at": "" if later and i % 5 == 0 else f"{r.date} 10:3{k}:00 +0100",
                    "Total": "" if later else r.amount,
                    "Lineitem name": r.category,
                    "Financial Status": "" if later else ("refunded" if i % 10 == 3 else "paid"),
                }
            )
    rows += [
        {"Name": "#D1", "Email": "d@example.com", "Created at": "2025-03-01 09:00:00 +0100", "Total": ""},
        {"Name": "#D1", "Email": "d@example.com", "Created at": "2025-03-01 09:00:00 +0100", "Total": ""},
        {"Name": "#D2", "Email": "d@example.com", "Created at": "", "Total": "12.00"},
        {"Name": "", "Email": "d@example.com", "Created at": "2025-03-02 09:00:00 +0100", "Total": ""},
    ]
    pd.DataFrame(rows).to_csv(folder / "orders_export.csv", index=False)
    return tx


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_shopify_orders_with_the_total_on_the_first_line_load_as_the_orders(tmp_path, engine):
    truth = _shopify_export(tmp_path)
    result, tx = _load(tmp_path, "orders_export.csv", SHOPIFY, engine)
    # The loaded orders are the sample's rows: same customer, day, amount and category, one per order.
    expected = pd.DataFrame(
        {
            "customer_id": truth["customer_id"].str.lower() + "@example.com",
            "date": pd.to_datetime(truth["date"]),
            "amount": truth["amount"].astype(float),
            "order_id": "#" + truth["order_id"],
            "category": truth["category"],
        }
    )
    got = tx[list(expected.columns)].astype({"customer_id": object, "order_id": object, "category": object})
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    n_lines = sum(1 + i % 3 for i in range(len(truth)))
    later = n_lines - len(truth)
    no_date = sum(i % 3 for i in range(len(truth)) if i % 5 == 0)
    assert result.formats["transactions"]["order_lines"] == {
        "lines": n_lines,
        "orders": len(truth),
        "lines_without_date": no_date,
        "lines_without_amount": later,
    }
    problems = result.problems.rows.sort_values(["row", "column"])
    first = n_lines + 2  # the header is line 1
    assert problems[["row", "column", "reason"]].values.tolist() == [
        [first, "amount", "missing_value"],
        [first + 1, "amount", "missing_value"],
        [first + 2, "date", "missing_value"],
        [first + 3, "amount", "missing_value"],
    ]
    assert problems["message"].tolist() == [
        "amount is empty on every line of this order",
        "amount is empty on every line of this order",
        "date is empty on every line of this order",
        "amount is empty",
    ]
    assert result.problems.counts["transactions"] == {"read": n_lines + 4, "kept": n_lines, "rejected": 4}


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_without_order_lines_an_empty_total_says_the_setting(tmp_path, engine):
    truth = _shopify_export(tmp_path)
    config = tmp_path / "custrel.yml"
    config.write_text(
        "tables:\n  transactions:\n    path: orders_export.csv\n"
        + SHOPIFY.replace("    order_lines: true\n", ""),
        encoding="utf-8",
    )
    problems = load_tables(config, engine=engine).problems.rows
    empty = problems[(problems["reason"] == "missing_value") & (problems["column"] == "amount")]
    n_lines = sum(1 + i % 3 for i in range(len(truth)))
    assert len(empty) == n_lines - len(truth) + 3
    hint = "amount is empty (if another line of this order holds it, set order_lines: true)"
    assert empty["message"].value_counts().to_dict() == {hint: len(empty) - 1, "amount is empty": 1}


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_a_rule_on_the_first_line_leaves_out_the_whole_order(tmp_path, engine):
    """Shopify writes the status on an order's first line only: with order_lines, a rule that leaves out that
    line leaves out the order's other lines too (not rejected for their missing total), each one listed."""
    from custrel_lib.reports.data_note import data_figures, data_sentence

    truth = _shopify_export(tmp_path)
    rule = "    exclude: {Financial Status: [Refunded]}\n"
    result, tx = _load(tmp_path, "orders_export.csv", rule + SHOPIFY, engine)
    refunded = [i % 10 == 3 for i in range(len(truth))]
    kept = truth[[not r for r in refunded]]
    assert tx["order_id"].astype(object).tolist() == ("#" + kept["order_id"]).tolist()
    assert tx["amount"].tolist() == kept["amount"].astype(float).tolist()
    lines = [1 + i % 3 for i in range(len(truth))]
    first = sum(refunded)
    others = sum(n - 1 for n, r in zip(lines, refunded, strict=True) if r)
    rows = result.problems.rows
    left = rows[rows["action"] == "excluded"]
    assert left["column"].value_counts().to_dict() == {"Financial Status": first, "order_lines": others}
    split = [r and n > 1 for n, r in zip(lines, refunded, strict=True)]  # refunded orders of several lines
    assert set(left.loc[left["column"] == "order_lines", "value"]) == set("#" + truth["order_id"][split])
    assert (rows[rows["action"] == "rejected"]["row"] > sum(lines) + 1).all()  # only the four bad lines
    counts = result.problems.counts["transactions"]
    assert counts == {"read": sum(lines) + 4, "kept": sum(lines) - first - others, "rejected": 4,
                      "excluded": first + others}  # fmt: skip
    figures = data_figures(result.problems, {"transactions": "orders_export.csv"})["transactions"]
    assert figures["excluded_by_column"] == {"order_lines": others, "Financial Status": first}
    sentence = data_sentence(result.problems, {"transactions": "orders_export.csv"}, "en")
    assert f"{first + others:,} rows left out on purpose" in sentence
    assert (
        f"other lines of those orders: {others:,}" in sentence and f"Financial Status: {first:,}" in sentence
    )


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_an_order_total_repeated_on_every_line_is_flagged(tmp_path, engine):
    """An export that writes the order's total on each of its lines: the lines add it up once per line, so the
    later lines of those orders are flagged (kept, summed), with how many orders do it. On the same export with
    the total on the first line only, and on the retail export's line prices (whose lines differ), nothing is
    flagged."""
    truth = _shopify_export(tmp_path)
    frame = pd.read_csv(tmp_path / "orders_export.csv", dtype=str, keep_default_na=False)
    frame = frame[~frame["Name"].isin(["#D1", "#D2", ""])]
    total = frame.groupby("Name")["Total"].transform("first")
    frame.assign(Total=total).to_csv(tmp_path / "repeated.csv", index=False)
    result, tx = _load(tmp_path, "repeated.csv", SHOPIFY, engine)
    flagged = result.problems.rows[result.problems.rows["reason"] == "order_total_repeated"]
    multi = sum(1 for i in range(len(truth)) if i % 3)
    later = sum(i % 3 for i in range(len(truth)))
    assert len(flagged) == later and set(flagged["action"]) == {"flagged"}
    assert flagged["column"].unique().tolist() == ["amount"]
    assert f"as do {multi:,} of the {multi:,} orders with several lines" in flagged["message"].iloc[0]
    # Kept and summed as the setting says: an order of three lines counts its total three times.
    lines = pd.Series([1 + i % 3 for i in range(len(truth))])
    assert tx["amount"].tolist() == pytest.approx((truth["amount"].astype(float) * lines).tolist())
    for path, mapping in (("orders_export.csv", SHOPIFY), ("retail.csv", MAPPING)):
        if path == "retail.csv":
            _retail_export(tmp_path)
        result, _ = _load(tmp_path, path, mapping, engine)
        assert "order_total_repeated" not in set(result.problems.rows["reason"]), path


def test_the_report_says_how_many_purchases_the_lines_make(tmp_path):
    """A file of order lines: the report's data sentence gives the lines read and the purchases they make (the
    orders, and a row without order id as one), not the lines alone; key_figures.json says it under data."""
    from custrel_lib.workbench import prepare

    truth = _shopify_export(tmp_path)
    (tmp_path / "custrel.yml").write_text(
        f"tables:\n  transactions:\n    path: orders_export.csv\n{SHOPIFY}", encoding="utf-8"
    )
    wb = prepare(tmp_path / "custrel.yml", "", "", 0, "fr", verbose=False)
    n_lines = sum(1 + i % 3 for i in range(len(truth)))
    purchases = len(truth)  # the four unreadable lines are rejected: every kept line has its order id
    assert len(wb.tables["transactions"]) == purchases
    fr = wb.data_sentence("fr").replace("\u202f", " ")
    en = wb.data_sentence("en")
    read, made = f"{n_lines + 4:,}", f"{purchases:,}"
    said = f"lignes (les lignes gardées font {made} achats) dont 4 rejetées".replace(",", " ")
    assert f"orders_export.csv, {read.replace(',', ' ')} {said}" in fr, fr
    assert (
        f"orders_export.csv, {read} rows (the rows kept make {made} purchases) of which 4 rejected" in en
    ), en
    assert wb.data_figures()["transactions"]["orders"] == purchases
