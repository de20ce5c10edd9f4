"""``custrel init`` and the mapping proposed by a missing column's error: the guesses on exports as real tools
write them (Online Retail, Shopify, Stripe, WooCommerce, French ERPs and Excel files, NPS surveys), and the
written custrel.yml read by both loaders as a hand-written one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _shapes import sample_tables, write_french_erp, write_french_excel
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.config import load_config
from custrel_lib.exceptions import ConfigError, DataContractError, MissingColumnError
from custrel_lib.io.guess import guess_columns
from custrel_lib.io.load import load_tables
from custrel_lib.io.starter import guess_file

SAMPLE = sample_tables()


def _rows(columns: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(columns)


# Exports as their tools write them: the header and a few rows of values, the table and mapping expected.
EXPORTS = {
    "online_retail": (
        {
            "Invoice": ["489434", "489434", "C489449"],
            "StockCode": ["85048", "79323P", "22087"],
            "Description": ["15CM CHRISTMAS GLASS BALL", "PINK CHERRY LIGHTS", "PAPER BUNTING"],
            "Quantity": ["12", "12", "-12"],
            "InvoiceDate": ["2009-12-01 07:45:00", "2009-12-01 07:45:00", "2009-12-01 10:33:00"],
            "Price": ["6.95", "6.75", "2.95"],
            "Customer ID": ["13085.0", "13085.0", "16321.0"],
            "Country": ["United Kingdom", "United Kingdom", "Australia"],
        },
        "transactions",
        {
            "customer_id": "Customer ID",
            "date": "InvoiceDate",
            "order_id": "Invoice",
            "quantity": "Quantity",
            "unit_price": "Price",
        },
    ),
    "shopify_orders": (
        {
            "Name": ["#1001", "#1001", "#1002"],
            "Email": ["marie@example.com", "marie@example.com", "paul@example.com"],
            "Financial Status": ["paid", "", "refunded"],
            "Paid at": ["2024-03-15 10:31:00 +0100", "", "2024-03-16 09:00:00 +0100"],
            "Subtotal": ["40.00", "", "12.00"],
            "Total": ["45.90", "", "12.00"],
            "Discount Amount": ["0.00", "", "0.00"],
            "Created at": ["2024-03-15 10:30:00 +0100", "", "2024-03-16 08:59:00 +0100"],
            "Lineitem quantity": ["1", "2", "1"],
            "Lineitem name": ["Robe", "Ceinture", "Foulard"],
            "Lineitem price": ["30.00", "5.00", "12.00"],
        },
        "transactions",
        {"customer_id": "Email", "date": "Created at", "amount": "Total", "order_id": "Name"},
    ),
    "stripe_payments": (
        {
            "id": ["ch_1", "ch_2"],
            "Created (UTC)": ["2024-03-15 10:30:00", "2024-03-16 08:59:00"],
            "Amount": ["45.90", "12.00"],
            "Amount Refunded": ["0.00", "12.00"],
            "Currency": ["eur", "eur"],
            "Status": ["Paid", "Refunded"],
            "Customer ID": ["cus_A", "cus_B"],
            "Customer Email": ["marie@example.com", "paul@example.com"],
        },
        "transactions",
        {"customer_id": "Customer ID", "date": "Created (UTC)", "amount": "Amount"},
    ),
    "paypal_activity": (
        {
            "Date": ["03/15/2024", "03/16/2024"],
            "Time": ["10:30:00", "08:59:00"],
            "TimeZone": ["PST", "PST"],
            "Name": ["Marie Martin", "Paul Durand"],
            "Type": ["Express Checkout Payment", "Payment Refund"],
            "Status": ["Completed", "Completed"],
            "Currency": ["USD", "USD"],
            "Gross": ["45.90", "-12.00"],
            "Fee": ["-1.63", "0.00"],
            "Net": ["44.27", "-12.00"],
            "From Email Address": ["marie@example.com", "paul@example.com"],
            "Transaction ID": ["8MC585209K746392H", "3E4T0231B65734420"],
        },
        "transactions",
        {
            "customer_id": "From Email Address",
            "date": "Date",
            "amount": "Gross",
            "order_id": "Transaction ID",
        },
    ),
    "woocommerce": (
        {
            "Order Number": ["1201", "1202"],
            "Order Status": ["completed", "cancelled"],
            "Order Date": ["2024-03-15 10:30", "2024-03-16 08:59"],
            "Customer Note": ["", "livrer au voisin"],
            "Email (Billing)": ["marie@example.com", "paul@example.com"],
            "Order Total Amount": ["45.90", "12.00"],
        },
        "transactions",
        {
            "customer_id": "Email (Billing)",
            "date": "Order Date",
            "amount": "Order Total Amount",
            "order_id": "Order Number",
        },
    ),
    "french_customers": (
        {
            "Code client": ["C001", "C002"],
            "Date d'inscription": ["15/03/2021", "02/11/2022"],
            "Région": ["Bretagne", "Occitanie"],
            "Canal d'acquisition": ["web", "magasin"],
            "Carte fidélité": ["oui", "non"],
        },
        "customers",
        {
            "customer_id": "Code client",
            "signup_date": "Date d'inscription",
            "loyalty_member": "Carte fidélité",
            "acquisition_channel": "Canal d'acquisition",
            "region": "Région",
        },
    ),
    "nps_survey": (
        {
            "ID client": ["C001", "C002"],
            "Date de réponse": ["15/03/2024", "16/03/2024"],
            "Note de recommandation": ["9", "4"],
            "Commentaire": ["Très bien", "Livraison lente"],
        },
        "interactions",
        {
            "customer_id": "ID client",
            "date": "Date de réponse",
            "score": "Note de recommandation",
            "type": "=nps",
        },
    ),
}


@pytest.mark.parametrize("export", list(EXPORTS))
def test_init_guesses_the_table_and_columns_of_usual_exports(tmp_path, export):
    columns, table, expected = EXPORTS[export]
    path = tmp_path / f"{export}.csv"
    _rows(columns).to_csv(path, index=False)
    guess = guess_file(path)
    assert (guess.table, guess.columns) == (table, expected)


def test_a_name_alone_is_not_enough_the_values_must_read_as_the_kind():
    """``Date`` holding text and ``Total`` holding words are not taken; the next candidate that reads is."""
    head = _rows(
        {
            "Client": ["C1", "C2"],
            "Date": ["bientôt", "hier"],
            "Date de commande": ["15/03/2024", "16/03/2024"],
            "Total": ["beaucoup", "peu"],
            "Montant payé": ["12,50", "3,00"],
        }
    )
    assert guess_columns("transactions", list(head.columns), head) == {
        "customer_id": "Client",
        "date": "Date de commande",
        "amount": "Montant payé",
    }
    # Without values, the names decide.
    assert guess_columns("transactions", list(head.columns))["date"] == "Date"


def test_shopify_order_lines_and_a_commented_exclude_rule(tmp_path):
    """Order ids that repeat set order_lines; a status column whose values say refunded gives an exclude rule
    to uncomment (a partly refunded order stays a purchase)."""
    columns, _, _ = EXPORTS["shopify_orders"]
    rows = _rows(columns)
    rows.loc[len(rows)] = [
        "#1003",
        "a@b.fr",
        "partially_refunded",
        "",
        "1",
        "1",
        "0",
        "2024-03-17 08:00",
        "1",
        "x",
        "1",
    ]
    rows.to_csv(tmp_path / "orders_export.csv", index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "orders_export.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "order_lines: true" in text
    assert '# exclude: {"Financial Status": ["refunded"]}' in text
    config = load_config(out)
    spec = config.tables["transactions"]
    assert spec.order_lines and spec.columns["order_id"] == "Name" and not spec.exclude


def test_a_total_repeated_on_every_line_is_warned(tmp_path):
    """An export that writes the order's total on each of its lines: summing the lines would count it several
    times, and the file written says so."""
    rows = _rows(
        {
            "Order ID": ["A1", "A1", "A2", "A2", "A3"],
            "Customer": ["C1", "C1", "C2", "C2", "C3"],
            "Order Date": ["2024-03-15"] * 5,
            "Order Total": ["45.90", "45.90", "12.00", "12.00", "8.00"],
        }
    )
    rows.to_csv(tmp_path / "orders.csv", index=False)
    guess = guess_file(tmp_path / "orders.csv")
    assert guess.order_lines
    assert any("same on every line of 2 orders" in note for note in guess.notes)


def _same_load(config_a, config_b, engine):
    a, b = load_tables(config_a, engine=engine), load_tables(config_b, engine=engine)
    if engine:
        from custrel_lib.io.scan import table_to_pandas

        tables_a = {name: table_to_pandas(a, name) for name in a.tables}
        tables_b = {name: table_to_pandas(b, name) for name in b.tables}
    else:
        tables_a, tables_b = a.tables, b.tables
    assert set(tables_a) == set(tables_b)
    for name in tables_a:
        pd.testing.assert_frame_equal(tables_a[name], tables_b[name])
    assert len(a.problems.rows) == len(b.problems.rows)


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_init_on_french_exports_reads_as_the_hand_written_config(tmp_path, engine):
    """The French ERP export (sep= line, cp1252, long dates, euro amounts) and the French Excel file: the
    custrel.yml that init writes loads the same tables and problems as the hand-written one, in both loaders."""
    erp = write_french_erp(tmp_path / "erp", n_customers=60)
    excel = write_french_excel(tmp_path / "excel", n_customers=60)
    for hand in (erp, excel):
        out = hand.with_name("init.yml")
        result = CliRunner().invoke(main, ["init", str(hand.with_name("ventes.csv")), "--out", str(out)])
        assert result.exit_code == 0, result.output
        _same_load(load_config(hand), load_config(out), engine)
    assert 'currency: "€"' in erp.with_name("init.yml").read_text(encoding="utf-8")


def test_init_on_the_sample_folder_finds_the_three_tables(tmp_path):
    """The sample's three files, named in any order: each table found, and the sample's tables loaded."""
    from custrel_lib.paths import SAMPLE_CONFIG

    folder = SAMPLE_CONFIG.parent
    out = tmp_path / "custrel.yml"
    files = [str(folder / f"{name}.csv") for name in ("interactions", "transactions", "customers")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out), "--lang", "en"])
    assert result.exit_code == 0, result.output
    config = load_config(out)
    assert config.language == "en"
    assert {name: spec.path.name for name, spec in config.tables.items()} == {
        "transactions": "transactions.csv",
        "customers": "customers.csv",
        "interactions": "interactions.csv",
    }
    _same_load(load_config(SAMPLE_CONFIG), config, engine=False)


def test_init_finds_the_header_below_a_title(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Export des ventes du 01/04/2024\n\nN° client;Date;Montant TTC\nC1;15/03/2024;12,50\nC2;16/03/2024;3,00\n",
        encoding="utf-8",
    )
    guess = guess_file(path)
    assert (guess.table, guess.skip_rows) == ("transactions", 2)
    assert guess.columns == {"customer_id": "N° client", "date": "Date", "amount": "Montant TTC"}


def test_init_refuses_what_it_cannot_do_with_a_clear_message(tmp_path):
    """An existing custrel.yml is not overwritten; two customer lists with different columns are named (two
    files of transactions so are two sources of the table: tests/test_sources.py); a file with nothing to
    recognise says what to do; an explicit table=path is taken as said."""
    runner = CliRunner()
    out = tmp_path / "custrel.yml"
    out.write_text("language: fr\n", encoding="utf-8")
    a = tmp_path / "a.csv"
    _rows({"Client": ["C1"], "Date": ["2024-03-15"], "Montant": ["1"]}).to_csv(a, index=False)
    result = runner.invoke(main, ["init", str(a), "--out", str(out)])
    assert result.exit_code == 1 and "exists" in result.output and out.read_text() == "language: fr\n"
    b = tmp_path / "b.csv"
    b.write_bytes(a.read_bytes())
    lists = [tmp_path / "clients_crm.csv", tmp_path / "clients_fidelite.csv"]
    ids = [f"C{i}" for i in range(30)]
    _rows({"N° client": ids, "Date d'inscription": ["2024-03-15"] * 30}).to_csv(lists[0], index=False)
    _rows({"N° client": ids, "Région": ["Bretagne"] * 30}).to_csv(lists[1], index=False)
    result = runner.invoke(main, ["init", str(a), *map(str, lists), "--out", str(tmp_path / "new.yml")])
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "clients_crm.csv and clients_fidelite.csv" in said, result.output
    assert "customers=" in said and "join:" in said
    odd = tmp_path / "odd.csv"
    _rows({"foo": ["1"], "bar": ["2"]}).to_csv(odd, index=False)
    with pytest.raises(DataContractError, match=r"odd\.csv.*transactions=odd\.csv"):
        guess_file(odd)
    result = runner.invoke(main, ["init", f"customers={a}", "--out", str(tmp_path / "c.yml")])
    assert result.exit_code == 1 and "transactions table" in result.output
    assert not (tmp_path / "c.yml").exists()
    result = runner.invoke(
        main, ["init", f"transactions={a}", f"customers={b}", "--out", str(tmp_path / "c.yml")]
    )
    assert result.exit_code == 0, result.output
    assert load_config(tmp_path / "c.yml").tables["customers"].columns == {"customer_id": "Client"}


@pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])
def test_the_missing_column_error_proposes_the_mapping(tmp_path, engine):
    """A file whose names the contract does not use: the error gives the whole columns: line to write (with a
    name mapped wrongly, the one its "did you mean" names); names that tell nothing give no proposal."""
    columns, _, _ = EXPORTS["online_retail"]
    _rows(columns).to_csv(tmp_path / "online_retail.csv", index=False)
    _rows({"foo": ["1"], "bar": ["2"]}).to_csv(tmp_path / "odd.csv", index=False)
    line = (
        'could read tables.transactions.columns: {customer_id: "Customer ID", date: "InvoiceDate", quantity: '
        '"Quantity", unit_price: "Price"} (a guess'
    )
    cases = {
        "{path: online_retail.csv}": [line],
        "{path: online_retail.csv, columns: {date: Invoice_Date}}": ["did you mean 'InvoiceDate'?)", line],
        "{path: odd.csv}": [],
    }
    for table, expected in cases.items():
        (tmp_path / "custrel.yml").write_text(f"tables:\n  transactions: {table}\n", encoding="utf-8")
        with pytest.raises(MissingColumnError) as err:
            load_tables(load_config(tmp_path / "custrel.yml"), engine=engine)
        message = str(err.value)
        assert all(part in message for part in expected), message
        assert expected or message.endswith("under tables.transactions.columns in custrel.yml."), message


@pytest.mark.parametrize("export", ["shopify", "retail"])
def test_init_on_order_line_exports_loads_as_the_hand_written_config(tmp_path, export):
    """Shopify's orders export (the order number in Name, the total on the first line only) and an Online Retail
    export (quantity and price, US dates): the custrel.yml init writes loads the tables and problems of the
    hand-written one of tests/test_line_items.py."""
    from test_line_items import MAPPING, SHOPIFY, _retail_export, _shopify_export

    write, name, mapping = {
        "shopify": (_shopify_export, "orders_export.csv", SHOPIFY),
        "retail": (_retail_export, "retail.csv", MAPPING),
    }[export]
    write(tmp_path)
    hand = tmp_path / "hand.yml"
    hand.write_text(f"tables:\n  transactions:\n    path: {name}\n{mapping}", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(tmp_path / name), "--out", str(tmp_path / "init.yml")])
    assert result.exit_code == 0, result.output
    spec = load_config(tmp_path / "init.yml").tables["transactions"]
    assert spec.order_lines
    # The hand-written configs also map a category and a channel, which init leaves to the user (not read).
    hand_text = hand.read_text(encoding="utf-8")
    for optional in ("category: Lineitem name", "category: StockCode, channel: Country"):
        hand_text = hand_text.replace(f", {optional}", "").replace(f"              {optional}", "")
    hand.write_text(hand_text.replace(",\n}", "}"), encoding="utf-8")
    _same_load(load_config(hand), load_config(tmp_path / "init.yml"), engine=False)


def test_commands_read_the_custrel_yml_of_the_current_folder(tmp_path, monkeypatch):
    """After ``custrel init``, ``custrel validate`` in that folder reads the written custrel.yml (and says so),
    not the bundled sample; elsewhere, without --config, the sample."""
    write_french_erp(tmp_path / "data")
    (tmp_path / "data" / "custrel.yml").unlink()  # the hand-written one: init writes its own
    runner = CliRunner()
    monkeypatch.chdir(tmp_path / "data")
    assert runner.invoke(main, ["init", "ventes.csv", "--out", "custrel.yml"]).exit_code == 0
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "this folder's custrel.yml" in result.output
    assert str(tmp_path / "data" / "ventes.csv") in result.output and "data/sample" not in result.output
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 0 and "custrel.yml" not in result.output.splitlines()[0], result.output
    assert "data/sample/transactions.csv" in result.output.replace("\\", "/")


def test_init_passes_over_a_file_it_cannot_place_among_several(tmp_path):
    """Among several files, one in which no table is recognised is said and passed over (a single such file is
    still an error); files of one table must have the same columns (Olist's orders and customers both hold a
    customer_id, nothing else they share); a set without transactions points to join:."""
    runner = CliRunner()
    sales = tmp_path / "ventes.csv"
    _rows({"Client": ["C1", "C2"], "Date": ["2024-03-15", "2024-03-16"], "Montant": ["1", "2"]}).to_csv(
        sales, index=False
    )
    items = tmp_path / "order_items.csv"
    _rows({"order_id": ["o1"], "order_item_id": ["1"], "price": ["9.5"]}).to_csv(items, index=False)
    out = tmp_path / "a.yml"
    result = runner.invoke(main, ["init", str(items), str(sales), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (
        "order_items.csv: not read, no table recognised in its columns (order_id, order_item_id, price)"
        in (result.output)
    )
    assert load_config(out).tables["transactions"].path.name == "ventes.csv"
    assert runner.invoke(main, ["init", str(items), "--out", str(tmp_path / "b.yml")]).exit_code == 1
    orders = tmp_path / "orders.csv"
    _rows({"order_id": ["o1"], "customer_id": ["x1"], "order_status": ["delivered"]}).to_csv(
        orders, index=False
    )
    customers = tmp_path / "customers.csv"
    _rows({"customer_id": ["x1"], "customer_unique_id": ["u1"]}).to_csv(customers, index=False)
    result = runner.invoke(
        main, ["init", str(orders), str(customers), str(sales), "--out", str(tmp_path / "c.yml")]
    )
    assert result.exit_code == 1 and "their columns differ" in result.output, result.output
    assert "make one table with join:" in result.output.replace("\n", " "), result.output
    result = runner.invoke(main, ["init", str(items), str(customers), "--out", str(tmp_path / "d.yml")])
    assert result.exit_code == 1 and "join:" in result.output, result.output


def test_an_amount_with_an_unknown_name_is_found_by_its_values(tmp_path):
    """lifetimes' CDNOW_master.txt names its amount dollar_value, a name no export list holds: the first other
    column of numbers written with decimals is the amount (number_of_cds holds integers), said in custrel.yml;
    without it the file would be read as a log without amounts."""
    sample = Path(__file__).parent / "data" / "CDNOW_sample.txt"
    rows = [line.split() for line in sample.read_text(encoding="utf-8").splitlines()[:400]]
    text = " customer_id  date number_of_cds  dollar_value\n" + "".join(
        f" {r[1]:>5} {r[2]} {r[3]:>2} {r[4]:>7}\n" for r in rows
    )
    (tmp_path / "CDNOW_master.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "CDNOW_master.txt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "the amount is 'dollar_value' by its values" in result.output
    spec = load_config(out).tables["transactions"]
    assert spec.amounts and spec.columns == {
        "customer_id": "customer_id",
        "date": "date",
        "amount": "dollar_value",
    }
    loaded = load_tables(out)
    assert loaded.tables["transactions"]["amount"].sum() == pytest.approx(sum(float(r[4]) for r in rows))


def test_init_reads_day_numbers_with_a_day_it_says_it_chose(tmp_path):
    """dunnhumby's The Complete Journey: ``DAY`` numbers the days (1 to 711) and no column holds a date. init maps
    it with ``date_format: "days since 1999-12-31"`` and says that this day is its own choice, to correct; both
    loaders then read day n as n days after it. A ``day`` of numbers beside a real date is not touched."""
    rows = pd.DataFrame(
        {
            "household_key": [str(1 + i % 40) for i in range(300)],
            "BASKET_ID": [str(26984851472 + i // 2) for i in range(300)],
            "DAY": [str(1 + (i * 7) % 711) for i in range(300)],
            "PRODUCT_ID": [str(1004906 + i) for i in range(300)],
            "QUANTITY": ["1"] * 300,
            "SALES_VALUE": ["1.39", "0.82"] * 150,
        }
    )
    rows["household_key"] = rows.groupby("BASKET_ID")["household_key"].transform("first")
    rows.to_csv(tmp_path / "transaction_data.csv", index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "transaction_data.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert (
        "'DAY' holds day numbers (1 to 711 in the first rows), not dates" in said
        and "a day custrel chose" in said
    )
    written = out.read_text(encoding="utf-8")
    assert 'date_format: "days since 1999-12-31"' in written
    assert (
        'customer_id: "household_key", date: "DAY", amount: "SALES_VALUE", order_id: "BASKET_ID"' in written
    )
    for engine in (False, True):
        tx = load_tables(out, engine=engine).to_pandas()["transactions"]
        assert len(tx) == 150  # two lines per basket, one purchase
        first = tx.loc[tx["order_id"] == "26984851472", "date"].iloc[0]
        assert first == pd.Timestamp("2000-01-01")  # DAY 1
        assert tx["amount"].sum() == pytest.approx(150 * (1.39 + 0.82))
    # A day of the month beside a date: the date is the date.
    pd.DataFrame(
        {
            "customer_id": ["a", "b", "a"],
            "date": ["2024-01-05", "2024-02-06", "2024-03-07"],
            "day": ["5", "6", "7"],
            "amount": ["1.5", "2.5", "3.5"],
        }
    ).to_csv(tmp_path / "ventes.csv", index=False)
    guess = guess_file(tmp_path / "ventes.csv")
    assert guess.columns["date"] == "date" and guess.days is None


def test_init_reads_each_sheet_of_a_workbook(tmp_path):
    """A workbook of a read-me sheet, a sheet of sales and one of customers: each sheet is guessed on its own
    (the read-me passed over, said); a workbook whose sheets are one table (Online Retail II's two years) reads
    them one after the other. Both configs load every row."""
    tx = SAMPLE["transactions"].head(3000)
    cu = SAMPLE["customers"]
    book = tmp_path / "suivi_clients.xlsx"
    with pd.ExcelWriter(book) as w:
        pd.DataFrame({"Remarque": ["Export du 04/12/2026", "Montants TTC"]}).to_excel(
            w, sheet_name="Lisez-moi", index=False
        )
        tx.rename(columns={"customer_id": "N° client", "amount": "Montant TTC"}).to_excel(
            w, sheet_name="Ventes", index=False
        )
        cu.rename(columns={"customer_id": "N° client"}).to_excel(w, sheet_name="Clients", index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(book), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "[Lisez-moi]: not read, no table recognised in its columns (Remarque)" in result.output
    written = out.read_text(encoding="utf-8")
    assert 'sheet: "Ventes"' in written and 'sheet: "Clients"' in written
    counts = load_tables(out).problems.counts  # (customers who signed up after these sales: future, rejected)
    assert (counts["transactions"]["kept"], counts["customers"]["read"]) == (3000, len(cu))
    years = tmp_path / "online_retail_II.xlsx"
    with pd.ExcelWriter(years) as w:
        tx.iloc[:1000].to_excel(w, sheet_name="Year 2009-2010", index=False)
        tx.iloc[1000:].to_excel(w, sheet_name="Year 2010-2011", index=False)
    result = CliRunner().invoke(main, ["init", str(years), "--out", str(tmp_path / "o.yml")])
    assert result.exit_code == 0, result.output
    assert 'sheet: ["Year 2009-2010", "Year 2010-2011"]' in (tmp_path / "o.yml").read_text(encoding="utf-8")
    assert load_tables(tmp_path / "o.yml").problems.counts["transactions"]["kept"] == 3000


def test_a_set_without_transactions_says_what_each_file_was_read_as(tmp_path):
    # The Telco churn file: one row per customer (tenure, churn), no dated purchase.
    _rows({"customerID": ["7590-VHVEG", "5575-GNVDE"], "tenure": ["1", "34"], "Churn": ["No", "Yes"]}).to_csv(
        tmp_path / "WA_Fn-UseC_-Telco-Customer-Churn.csv", index=False
    )
    result = CliRunner().invoke(
        main,
        ["init", str(tmp_path / "WA_Fn-UseC_-Telco-Customer-Churn.csv"), "--out", str(tmp_path / "t.yml")],
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "None of the files looks like the transactions table" in said
    assert "Read: WA_Fn-UseC_-Telco-Customer-Churn.csv as customers (customerID)." in said


def test_init_on_a_folder_reads_its_files(tmp_path):
    """``custrel init data/``: the folder's files custrel reads, in name order (a document, Excel's lock file
    and a sub-folder passed over); the sample's folder copied gives the sample's tables, monthly files of one
    table are that table's files. A folder with nothing to read, and a folder as a table's path, say so."""
    import shutil

    from custrel_lib.paths import SAMPLE_CONFIG

    folder = tmp_path / "exports"
    (folder / "archives").mkdir(parents=True)
    for name in ("transactions", "customers", "interactions"):
        shutil.copy(SAMPLE_CONFIG.parent / f"{name}.csv", folder / f"{name}.csv")
    (folder / "notes.docx").write_bytes(b"PK")
    (folder / "~$transactions.xlsx").write_bytes(b"")
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "holds names" not in result.output
    config = load_config(out)
    assert sorted(spec.path.name for spec in config.tables.values()) == [
        "customers.csv",
        "interactions.csv",
        "transactions.csv",
    ]
    _same_load(load_config(SAMPLE_CONFIG), config, engine=False)

    monthly = tmp_path / "ventes"
    monthly.mkdir()
    tx = SAMPLE["transactions"]
    years = pd.to_datetime(tx["date"]).dt.year
    for year in sorted(years.unique()):
        tx[years == year].to_csv(monthly / f"ventes_{year}.csv", index=False)
    result = CliRunner().invoke(
        main, ["init", str(monthly), str(monthly / "ventes_2024.csv"), "--out", str(tmp_path / "m.yml")]
    )
    assert result.output.count("ventes_2024.csv: transactions") == 1  # a file named twice is read once
    assert result.exit_code == 0, result.output
    files = load_config(tmp_path / "m.yml").tables["transactions"].files
    assert [f.name for f in files] == [f"ventes_{y}.csv" for y in sorted(years.unique())] and len(files) > 1
    assert load_tables(tmp_path / "m.yml").problems.counts["transactions"]["kept"] == len(tx)

    result = CliRunner().invoke(main, ["init", str(folder / "archives"), "--out", str(tmp_path / "e.yml")])
    assert result.exit_code == 1 and "a folder without a file custrel reads" in result.output
    assert not (tmp_path / "e.yml").exists()
    (tmp_path / "f.yml").write_text(f"tables:\n  transactions: {{path: {folder}}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is a folder: name its files, or a pattern such as"):
        load_config(tmp_path / "f.yml")


@pytest.mark.parametrize("engine", [False, True])
def test_prestashop_orders_with_their_states_in_french(tmp_path, engine):
    """PrestaShop's order export from a French back office (``;``, ``Total`` as ``61,80 €``, ``État``): the
    commented rule lists the states that are no sale, accents and all (``Annulé``, ``Remboursé``, ``Erreur de
    paiement``, ``Échec``), not a delivered order; uncommented, exactly those orders are left out, amounts kept."""
    states = ["Livré", "Paiement accepté", "Annulé", "Remboursé", "Erreur de paiement", "Échec du paiement"]
    n = 240
    rows = pd.DataFrame(
        {
            "ID": range(1, n + 1),
            "Référence": [f"XKBK{i:05d}" for i in range(n)],
            "Nouveau client": ["Oui", "Non"] * (n // 2),
            "Livraison": "France",
            "Client": [
                f"{'ABCDEFGHIJ'[i % 10]}. {['DUPONT', 'MARTIN', 'DURAND', 'PETIT'][i % 4]}" for i in range(n)
            ],
            "Total": [f"{10 + i},{i % 100:02d} €" for i in range(n)],
            "Paiement": "Carte bancaire",
            "État": [states[i % len(states)] for i in range(n)],
            "Date": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 14:22:10" for i in range(n)],
        }
    )
    path = tmp_path / "order_2024-12-01_120000.csv"
    rows.to_csv(path, sep=";", index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    rule = '# exclude: {"État": ["annulé", "erreur de paiement", "remboursé", "échec du paiement"]}'
    assert rule in text, text
    assert "warning: 'Client' holds names ('A. DUPONT', 'B. MARTIN', 'C. DURAND'), not ids" in result.output
    out.write_text(text.replace(rule, rule[2:]), encoding="utf-8")
    loaded = load_tables(out, engine=engine)
    kept = rows[rows["État"].isin(["Livré", "Paiement accepté"])]
    counts = loaded.problems.counts["transactions"]
    assert (counts["read"], counts["kept"]) == (n, len(kept))
    tx = loaded.to_pandas()["transactions"]
    expected = kept["Total"].str.replace(" €", "").str.replace(",", ".").astype(float).sum()
    assert tx["amount"].sum() == pytest.approx(expected)


@pytest.mark.parametrize("engine", [False, True])
def test_names_written_as_one_word_are_read_by_their_words(tmp_path, engine):
    """``IdClient``, ``DateFacture``, ``MontantHT`` (a French ERP), AdventureWorks' ``CustomerKey``,
    ``OrderDateKey`` (20101229), ``SalesAmount``, ``SalesOrderNumber``: split at their capitals, they are usual
    names or words; the first was read as a customer list of ids only, the second refused. Loaded, every row."""
    n = 120
    ids = [f"C{i % 30:03d}" for i in range(n)]
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta([(7 * i) % 300 for i in range(n)], unit="D")
    amounts = [round(5 + (i * 7.31) % 90, 2) for i in range(n)]
    erp = pd.DataFrame(
        {
            "NumFacture": [f"F{i:05d}" for i in range(n)],
            "IdClient": ids,
            "DateFacture": days.strftime("%d/%m/%Y"),
            "MontantHT": [f"{a:.2f}".replace(".", ",") for a in amounts],
        }
    )
    erp.to_csv(tmp_path / "factures.csv", sep=";", index=False)
    aw = pd.DataFrame(
        {
            "ProductKey": 310,
            "OrderDateKey": days.strftime("%Y%m%d"),
            "CustomerKey": [11000 + i % 30 for i in range(n)],
            "SalesOrderNumber": [f"SO{43697 + i}" for i in range(n)],
            "SalesAmount": amounts,
        }
    )
    aw.to_csv(tmp_path / "FactInternetSales.csv", index=False)
    expected = {
        "factures.csv": {"customer_id": "IdClient", "date": "DateFacture", "order_id": "NumFacture"},
        "FactInternetSales.csv": {
            "customer_id": "CustomerKey",
            "date": "OrderDateKey",
            "order_id": "SalesOrderNumber",
        },
    }
    amount = {"factures.csv": "MontantHT", "FactInternetSales.csv": "SalesAmount"}
    for name, mapping in expected.items():
        out = tmp_path / f"{name}.yml"
        result = CliRunner().invoke(main, ["init", str(tmp_path / name), "--out", str(out)])
        assert result.exit_code == 0, result.output
        spec = load_config(out).tables["transactions"]
        assert spec.columns == {**mapping, "amount": amount[name]}
        loaded = load_tables(out, engine=engine)
        assert loaded.problems.counts["transactions"]["kept"] == n
        tx = loaded.to_pandas()["transactions"]
        assert tx["amount"].sum() == pytest.approx(sum(amounts))
        assert sorted(pd.to_datetime(tx["date"]).dt.normalize()) == sorted(days)


def test_an_id_without_a_usual_name_is_found_by_its_values(tmp_path):
    """A date and an amount by their names, the customer by a name no list holds (``Matricule``): the id is the
    column of repeated values, said to be checked; a French till's export (``Date/Heure``, ``Carte fidélité``)
    reads by its names. A file of daily totals, where no column repeats as ids do, is still refused."""
    n = 200
    days = (
        pd.Timestamp("2024-01-01") + pd.to_timedelta([(11 * i) % 300 for i in range(n)], unit="D")
    ).strftime("%d/%m/%Y")
    amounts = [f"{5 + (i * 7.31) % 90:.2f}".replace(".", ",") for i in range(n)]
    pd.DataFrame({"Matricule": [f"{i % 40:06d}" for i in range(n)], "Date": days, "Montant": amounts}).to_csv(
        tmp_path / "achats.csv", sep=";", index=False
    )
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "achats.csv"), "--out", str(tmp_path / "a.yml")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "the customer id is 'Matricule' by its values (repeated, and many of them): check it" in result.output
    )
    spec = load_config(tmp_path / "a.yml").tables["transactions"]
    assert spec.columns == {"customer_id": "Matricule", "date": "Date", "amount": "Montant"}
    counts = load_tables(tmp_path / "a.yml").problems.counts["transactions"]
    assert (counts["kept"], counts["rejected"]) == (n, 0)

    till = pd.DataFrame(
        {
            "Ticket": range(1, n + 1),
            "Date/Heure": days,
            "Total TTC": amounts,
            "Carte fidélité": [f"29{i % 40}" for i in range(n)],
        }
    )
    till.to_csv(tmp_path / "caisse.csv", sep=";", index=False)
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "caisse.csv"), "--out", str(tmp_path / "c.yml")]
    )
    assert result.exit_code == 0, result.output
    assert load_config(tmp_path / "c.yml").tables["transactions"].columns == {
        "customer_id": "Carte fidélité",
        "date": "Date/Heure",
        "amount": "Total TTC",
        "order_id": "Ticket",
    }

    daily = pd.DataFrame({"Date": days[:50], "Total": amounts[:50], "Tickets": range(50)})
    daily.to_csv(tmp_path / "ca_jour.csv", sep=";", index=False)
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "ca_jour.csv"), "--out", str(tmp_path / "d.yml")]
    )
    assert result.exit_code == 1 and "no column reads as a customer id" in result.output


def test_a_customer_summary_is_not_read_as_purchases(tmp_path):
    """Shopify's customers export (``Total Spent``, ``Total Orders``, ``Last Order Date``) and a French CRM's
    extract (``Date de naissance``, ``Date dernier achat``, ``CA total``, ``Nb commandes``): one row per customer,
    each would have been one purchase of its total, dated by its last order or its birth. Read as customers,
    said; with the orders beside them, the orders are the transactions. A birth date is never a date of the
    contract, even where it is the only date (it was taken as the purchase date)."""
    n = 60
    ids = [f"C{i:04d}" for i in range(n)]
    days = (
        pd.Timestamp("2023-01-01") + pd.to_timedelta([(13 * i) % 400 for i in range(n)], unit="D")
    ).strftime("%Y-%m-%d")
    shop = pd.DataFrame(
        {
            "Customer ID": ids,
            "First Name": "Ann",
            "Total Spent": [f"{10 + i * 3.5:.2f}" for i in range(n)],
            "Total Orders": [1 + i % 7 for i in range(n)],
            "Last Order Date": days,
        }
    )
    shop.to_csv(tmp_path / "customers_export.csv", index=False)
    crm = pd.DataFrame(
        {
            "Code client": ids,
            "Date de naissance": (
                pd.Timestamp("1960-01-01") + pd.to_timedelta(range(0, 300 * n, 300), unit="D")
            )
            .strftime("%d/%m/%Y")
            .tolist(),
            "Date dernier achat": days,
            "CA total": [f"{10 + i * 3.5:.2f}".replace(".", ",") for i in range(n)],
            "Nb commandes": [1 + i % 7 for i in range(n)],
        }
    )
    crm.to_csv(tmp_path / "extraction_crm.csv", sep=";", index=False)
    for name, totals in (
        ("customers_export.csv", "'Total Spent', 'Total Orders', 'Last Order Date'"),
        ("extraction_crm.csv", "'Date dernier achat', 'CA total', 'Nb commandes'"),
    ):
        result = CliRunner().invoke(main, ["init", str(tmp_path / name), "--out", str(tmp_path / "x.yml")])
        said = " ".join(result.output.split())
        assert result.exit_code == 1, result.output
        assert f"one row per customer with totals ({totals}), not one row per purchase" in said
        assert f"Read: {name} as customers" in said
    orders = pd.DataFrame({"Customer ID": ids * 3, "Created at": list(days) * 3, "Total": [12.5] * (3 * n)})
    orders.to_csv(tmp_path / "orders_export.csv", index=False)
    out = tmp_path / "custrel.yml"
    files = [str(tmp_path / "customers_export.csv"), str(tmp_path / "orders_export.csv")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    config = load_config(out)
    assert config.tables["transactions"].path.name == "orders_export.csv"
    assert config.tables["customers"].columns == {"customer_id": "Customer ID"}

    births = pd.DataFrame({"N° client": ids * 2, "Date de naissance": list(crm["Date de naissance"]) * 2})
    births.assign(Montant="12,50").to_csv(tmp_path / "b.csv", sep=";", index=False)
    guess = guess_file(tmp_path / "b.csv")
    assert (guess.table, guess.columns) == ("customers", {"customer_id": "N° client"})


@pytest.mark.parametrize("engine", [False, True])
def test_scores_from_1_to_5_are_reviews_not_nps(tmp_path, engine):
    """Reviews (``Note`` of 1 to 5 stars) and a satisfaction survey (``CSAT``) were read as NPS answers, every
    one a detractor (a 5 out of 5 is below 7); they are reviews, said. A score named as NPS stays NPS whatever
    its first values (an export sorted by score). A sales file with a rating beside its amount is transactions
    (it was read as NPS answers, its purchases lost)."""
    tx = SAMPLE["transactions"]
    ids = tx["customer_id"].drop_duplicates().head(80).tolist() * 3
    days = pd.Series(pd.to_datetime(tx["date"]).head(len(ids)).dt.strftime("%d/%m/%Y").tolist())
    tx.to_csv(tmp_path / "ventes.csv", index=False)
    stars = [1 + i % 5 for i in range(len(ids))]
    pd.DataFrame({"Client": ids, "Date avis": days, "Note": stars, "Avis": "Très bien"}).to_csv(
        tmp_path / "avis.csv", index=False
    )
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "ventes.csv"), str(tmp_path / "avis.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "'Note' holds scores from 1 to 5 (stars, a satisfaction scale), not NPS answers" in result.output
    spec = load_config(out).tables["interactions"]
    assert spec.columns == {"customer_id": "Client", "date": "Date avis", "score": "Note", "type": "=review"}
    loaded = load_tables(out, engine=engine)
    inter = loaded.to_pandas()["interactions"]
    assert set(inter["type"]) == {"review"} and len(inter) == len(ids)
    assert sorted(inter["score"].astype(int)) == sorted(stars)

    for name, column in (("csat.csv", "CSAT"), ("nps.csv", "Note de recommandation (0-10)")):
        scores = sorted(stars)  # sorted: the first rows of the NPS export hold its lowest scores only
        pd.DataFrame({"Customer ID": ids, "Survey Date": days, column: scores}).to_csv(
            tmp_path / name, index=False
        )
        guess = guess_file(tmp_path / name)
        assert (guess.table, guess.columns["score"]) == ("interactions", column)
        assert guess.columns["type"] == ("=review" if name == "csat.csv" else "=nps")

    sales = pd.DataFrame(
        {"Customer ID": ids, "Order Date": days, "Amount": [12.5] * len(ids), "Rating": stars}
    )
    sales.to_csv(tmp_path / "orders.csv", index=False)
    guess = guess_file(tmp_path / "orders.csv")
    assert guess.table == "transactions" and guess.columns["amount"] == "Amount"


def test_credit_notes_with_positive_amounts_are_pointed_out(tmp_path):
    """A French ERP's documents (``Type de pièce``: Facture, Avoir) with positive amounts on the credit notes:
    read as purchases unless left out; init warns and writes the rule, commented out, which leaves out exactly
    those rows once uncommented. Written negative, credit notes are refunds already: no rule, no warning."""
    n = 100
    kinds = ["Avoir" if i % 10 == 3 else "Facture" for i in range(n)]
    rows = pd.DataFrame(
        {
            "N° pièce": [f"F{i:04d}" for i in range(n)],
            "Type de pièce": kinds,
            "Code client": [f"C{i % 25:03d}" for i in range(n)],
            "Date": [f"{1 + i % 28:02d}/{1 + i % 12:02d}/2024" for i in range(n)],
            "Montant TTC": [f"{20 + i},50" for i in range(n)],
        }
    )
    rows.to_csv(tmp_path / "pieces.csv", sep=";", index=False)
    out = tmp_path / "p.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "pieces.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (
        "warning: 10 of the first rows are 'avoir' ('Type de pièce') with positive amounts" in result.output
    )
    text = out.read_text(encoding="utf-8")
    rule = '# exclude: {"Type de pièce": ["avoir"]}'
    assert rule in text
    out.write_text(text.replace(rule, rule[2:]), encoding="utf-8")
    counts = load_tables(out).problems.counts["transactions"]
    assert (counts["read"], counts["kept"], counts["excluded"]) == (n, 90, 10)

    negative = rows.assign(
        **{
            "Montant TTC": [
                ("-" if k == "Avoir" else "") + v for k, v in zip(kinds, rows["Montant TTC"], strict=True)
            ]
        }
    )
    negative.to_csv(tmp_path / "pieces_neg.csv", sep=";", index=False)
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "pieces_neg.csv"), "--out", str(tmp_path / "n.yml")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "exclude" not in (tmp_path / "n.yml").read_text(encoding="utf-8") and "warning" not in result.output
    )
    tx = load_tables(tmp_path / "n.yml").tables["transactions"]
    assert len(tx) == n and (tx["amount"] < 0).sum() == 10


def test_a_kaggle_customer_summary_and_northwind_orders(tmp_path):
    """Kaggle's "Customer Personality Analysis" (one row per customer: ``ID``, ``Year_Birth``, ``Income``,
    ``Dt_Customer``, ``Recency``, ``MntWines``, ``NumWebPurchases``) was read as purchases of customer ``Income``;
    it is a customer summary, said. Northwind's orders (``Freight`` but no amount) with their ``Order Details``
    (``UnitPrice``, ``Quantity``): ``Freight`` was taken as the amount; the lines are joined to the orders, the
    amount quantity x unit price, every line of the file kept."""
    n = 60
    pd.DataFrame(
        {
            "ID": [5524 + 7 * i for i in range(n)],
            "Year_Birth": [1950 + i % 40 for i in range(n)],
            "Income": [30000 + 500 * (i % 20) for i in range(n)],
            "Dt_Customer": [f"{1 + i % 28:02d}-{1 + i % 12:02d}-2013" for i in range(n)],
            "Recency": [i % 99 for i in range(n)],
            "MntWines": [10 * i for i in range(n)],
            "NumWebPurchases": [i % 9 for i in range(n)],
        }
    ).to_csv(tmp_path / "marketing_campaign.csv", sep="\t", index=False)
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "marketing_campaign.csv"), "--out", str(tmp_path / "k.yml")]
    )
    said = " ".join(result.output.split())
    assert result.exit_code == 1 and "marketing_campaign.csv: customers (customer_id <- 'ID')" in said
    assert "one row per customer with totals ('Recency', 'MntWines', 'NumWebPurchases')" in said

    orders = pd.DataFrame(
        {
            "OrderID": range(10248, 10248 + n),
            "CustomerID": [["VINET", "TOMSP", "HANAR", "VICTE", "SUPRD"][i % 5] for i in range(n)],
            "OrderDate": [f"1997-{1 + i % 12:02d}-{1 + i % 28:02d} 00:00:00.000" for i in range(n)],
            "ShipVia": [1 + i % 3 for i in range(n)],
            "Freight": [round(10.25 + i * 1.5, 2) for i in range(n)],
        }
    )
    orders.to_csv(tmp_path / "orders.csv", index=False)
    lines = pd.DataFrame(
        {
            "OrderID": [10248 + i % n for i in range(3 * n)],
            "ProductID": [1 + i % 77 for i in range(3 * n)],
            "UnitPrice": [round(5.5 + i % 13, 2) for i in range(3 * n)],
            "Quantity": [1 + i % 6 for i in range(3 * n)],
        }
    )
    lines.to_csv(tmp_path / "order_details.csv", index=False)
    out = tmp_path / "n.yml"
    files = [str(tmp_path / "orders.csv"), str(tmp_path / "order_details.csv")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    spec = load_config(out).tables["transactions"]
    assert spec.path.name == "order_details.csv" and "Freight" not in spec.columns.values()
    assert (spec.columns["quantity"], spec.columns["unit_price"]) == ("Quantity", "UnitPrice")
    loaded = load_tables(out)
    assert loaded.problems.counts["transactions"]["kept"] == 3 * n
    tx = loaded.tables["transactions"]
    assert len(tx) == n and tx["amount"].sum() == pytest.approx(
        (lines["UnitPrice"] * lines["Quantity"]).sum()
    )


def test_a_quantity_named_amount_is_pointed_out(tmp_path):
    """Ta Feng's ``AMOUNT`` is the number of items (1 to 4), its ``SALES_PRICE`` the sale: mapped by its name,
    ``AMOUNT`` would make every purchase worth a few units; init warns and names the other column. An amount
    of whole euros beside a smaller price says nothing."""
    n = 100
    rows = pd.DataFrame(
        {
            "TRANSACTION_DT": [f"{1 + i % 12}/{1 + i % 28}/2000" for i in range(n)],
            "CUSTOMER_ID": [1_000_000 + i % 30 for i in range(n)],
            "PRODUCT_ID": [4_710_000_000_000 + i for i in range(n)],
            "AMOUNT": [1 + i % 4 for i in range(n)],
            "ASSET": [40 + i for i in range(n)],
            "SALES_PRICE": [50 + 3 * i for i in range(n)],
        }
    )
    rows.to_csv(tmp_path / "ta_feng_all_months_merged.csv", index=False)
    result = CliRunner().invoke(
        main, ["init", str(tmp_path / "ta_feng_all_months_merged.csv"), "--out", str(tmp_path / "t.yml")]
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: 'AMOUNT' holds small whole numbers only (1 to 4): a number of items? 'SALES_PRICE'"
        in result.output
    )
    rows.assign(AMOUNT=[20 + i for i in range(n)], SALES_PRICE=[1 + i % 4 for i in range(n)]).to_csv(
        tmp_path / "ok.csv", index=False
    )
    result = CliRunner().invoke(main, ["init", str(tmp_path / "ok.csv"), "--out", str(tmp_path / "o.yml")])
    assert result.exit_code == 0 and "number of items" not in result.output


def test_subscription_lists_are_customers_with_their_contracts(tmp_path):
    """A French list of subscribers (``Date de souscription``, ``Date de résiliation``, ``Motif de résiliation``,
    ``Montant mensuel``) was read as one purchase per subscriber; Stripe's subscriptions (``Start Date (UTC)``,
    ``Canceled At (UTC)``) gave an id only: both are customers with their contract dates (a name's bracketed
    unit or zone set aside), the ended contracts counted as written."""
    n = 80
    ids = [f"A{i:04d}" for i in range(n)]
    tx = pd.DataFrame(
        {"N° abonné": ids * 2, "Date": ["2024-05-01"] * n + ["2024-06-01"] * n, "Montant": 9.99}
    )
    tx.to_csv(tmp_path / "paiements.csv", index=False)
    ended = ["2024-09-30" if i % 4 == 0 else "" for i in range(n)]
    subs = pd.DataFrame(
        {
            "N° abonné": ids,
            "Formule": "Premium",
            "Date de souscription": "2023-01-15",
            "Date de résiliation": ended,
            "Motif de résiliation": ["Prix" if e else "" for e in ended],
            "Montant mensuel": 9.99,
        }
    )
    subs.to_csv(tmp_path / "abonnements.csv", index=False)
    out = tmp_path / "a.yml"
    files = [str(tmp_path / "paiements.csv"), str(tmp_path / "abonnements.csv")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load_config(out).tables["customers"].columns == {
        "customer_id": "N° abonné",
        "contract_start": "Date de souscription",
        "contract_end": "Date de résiliation",
        "end_reason": "Motif de résiliation",
    }
    customers = load_tables(out).tables["customers"]
    assert len(customers) == n and customers["contract_end"].notna().sum() == n // 4
    stripe = pd.DataFrame(
        {
            "id": [f"sub_{i}" for i in range(n)],
            "Customer ID": [f"cus_{i}" for i in range(n)],
            "Status": ["canceled" if e else "active" for e in ended],
            "Created (UTC)": "2023-01-15 10:00",
            "Start Date (UTC)": "2023-01-15 10:00",
            "Canceled At (UTC)": ended,
        }
    )
    stripe.to_csv(tmp_path / "subscriptions.csv", index=False)
    guess = guess_file(tmp_path / "subscriptions.csv")
    assert (guess.table, guess.columns["contract_start"], guess.columns["contract_end"]) == (
        "customers",
        "Start Date (UTC)",
        "Canceled At (UTC)",
    )


def test_mailchimp_etsy_and_trustpilot_exports(tmp_path):
    """Mailchimp's audience (``MEMBER_RATING``, its own engagement score of 1 to 5, and ``OPTIN_TIME``) was read
    as reviews, every member one; it is a customer list signed up at opt-in. Etsy's sold orders name the buyer
    ``Buyer User ID``; Trustpilot's reviews (``Review Created (UTC)``, ``Review Stars``, ``Reference Id``) were
    refused and are reviews of the customer the invitation was sent for."""
    n = 60
    days = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:00" for i in range(n)]
    files = {
        "members_export.csv": (
            {
                "Email Address": [f"c{i}@x.fr" for i in range(n)],
                "MEMBER_RATING": [1 + i % 5 for i in range(n)],
            }
            | {"OPTIN_TIME": days, "LEID": range(n), "EUID": [f"e{i}" for i in range(n)]},
            ("customers", {"customer_id": "Email Address", "signup_date": "OPTIN_TIME"}),
        ),
        "EtsySoldOrders2024.csv": (
            {
                "Sale Date": days,
                "Order ID": range(10**9, 10**9 + n),
                "Buyer User ID": [f"u{i % 20}" for i in range(n)],
            }
            | {"Order Total": [12.5 + i for i in range(n)], "Status": "Completed"},
            (
                "transactions",
                {
                    "customer_id": "Buyer User ID",
                    "date": "Sale Date",
                    "amount": "Order Total",
                    "order_id": "Order ID",
                },
            ),
        ),
        "trustpilot_reviews.csv": (
            {
                "Review Created (UTC)": days,
                "Review Stars": [1 + i % 5 for i in range(n)],
                "Review Title": "Bien",
            }
            | {"Reference Id": [f"C{i % 20}" for i in range(n)], "Review Consumer User Id": range(n)},
            (
                "interactions",
                {
                    "customer_id": "Reference Id",
                    "date": "Review Created (UTC)",
                    "score": "Review Stars",
                    "type": "=review",
                },
            ),
        ),
    }
    for name, (columns, expected) in files.items():
        pd.DataFrame(columns).to_csv(tmp_path / name, index=False)
        guess = guess_file(tmp_path / name)
        assert (guess.table, guess.columns) == expected, name
