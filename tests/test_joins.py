"""``join:``: a table whose columns are spread over several files of a relational export, as Olist's (Brazilian
e-commerce on Kaggle): order lines (``order_id``, ``price``), orders (``order_id``, ``customer_id`` one per
order, ``order_status``, ``order_purchase_timestamp``), customers (``customer_id``, ``customer_unique_id``: the
customer's own id), reviews (``order_id``, ``review_score``, ``review_creation_date``).

Truth: the Olist-shaped files are written from the sample's purchases, so the transactions read through the
joins (line prices summed per order) are the sample's own, customer by customer, in both loaders.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _shapes import sample_tables

from custrel_lib.config import load_config, parse_config
from custrel_lib.exceptions import ConfigError, DataContractError
from custrel_lib.io.load import load_tables

LOADERS = pytest.mark.parametrize("engine", [False, True], ids=["pandas", "engine"])

OLIST = """
tables:
  transactions:
    path: order_items.csv
    join:
      - {path: orders.csv, on: order_id}
      - {path: customers.csv, on: customer_id}
    order_lines: true
    exclude: {order_status: [canceled]}
    columns: {customer_id: customer_unique_id, date: order_purchase_timestamp, amount: price, order_id: order_id}
  interactions:
    path: reviews.csv
    join:
      - {path: orders.csv, on: order_id}
      - {path: customers.csv, on: customer_id}
    columns: {customer_id: customer_unique_id, date: review_creation_date, score: review_score, type: "=review"}
"""


def _olist(folder: Path) -> pd.DataFrame:
    """The sample's purchases as Olist's files; returns the purchases expected (the canceled order left out)."""
    tx = sample_tables()["transactions"].astype(str).head(3000).reset_index(drop=True)
    tx["order_id"] = [f"o{i}" for i in range(len(tx))]
    orders = pd.DataFrame(
        {
            "order_id": tx["order_id"],
            "customer_id": [f"per-order-{i}" for i in range(len(tx))],  # Olist: a customer_id per order
            "order_status": ["canceled" if i == 7 else "delivered" for i in range(len(tx))],
            "order_purchase_timestamp": tx["date"] + " 10:15:00",
        }
    )
    customers = pd.DataFrame({"customer_id": orders["customer_id"], "customer_unique_id": tx["customer_id"]})
    # Two lines per order: the price split in two (a line of 1.00 and the rest), as an order of two items.
    amount = tx["amount"].astype(float)
    items = pd.concat(
        [
            pd.DataFrame({"order_id": tx["order_id"], "order_item_id": 1, "price": 1.0}),
            pd.DataFrame({"order_id": tx["order_id"], "order_item_id": 2, "price": (amount - 1).round(2)}),
        ]
    ).sort_index(kind="stable")  # o0 item 1, o0 item 2, o1 item 1, ...
    reviews = pd.DataFrame(
        {
            "review_id": [f"r{i}" for i in range(0, len(tx), 10)],
            "order_id": tx["order_id"].iloc[::10].to_numpy(),
            "review_score": [1 + (i // 10) % 5 for i in range(0, len(tx), 10)],
            "review_creation_date": (
                pd.to_datetime(tx["date"].iloc[::10]) + pd.Timedelta(days=3)
            ).dt.strftime("%Y-%m-%d 00:00:00"),
        }
    )
    for name, frame in (
        ("orders", orders),
        ("customers", customers),
        ("order_items", items),
        ("reviews", reviews),
    ):
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "custrel.yml").write_text(OLIST, encoding="utf-8")
    expected = tx.drop(index=7).assign(date=pd.to_datetime(tx["date"]), amount=amount)
    return (
        expected[["customer_id", "date", "amount"]]
        .sort_values(["customer_id", "date", "amount"])
        .reset_index(drop=True)
    )


def _tx(result) -> pd.DataFrame:
    tx = result.to_pandas()["transactions"]
    tx = tx.assign(customer_id=tx["customer_id"].astype(str), amount=tx["amount"].round(2))
    return (
        tx[["customer_id", "date", "amount"]]
        .sort_values(["customer_id", "date", "amount"])
        .reset_index(drop=True)
    )


@LOADERS
def test_olist_files_read_as_the_sample_purchases(tmp_path, engine):
    expected = _olist(tmp_path)
    result = load_tables(tmp_path / "custrel.yml", engine=engine)
    pd.testing.assert_frame_equal(_tx(result), expected, check_dtype=False)
    counts = result.problems.counts["transactions"]
    assert counts == {
        "read": 6000,
        "kept": 5998,
        "rejected": 0,
        "excluded": 2,
    }  # the canceled order's two lines
    reviews = result.to_pandas()["interactions"]
    assert set(reviews["type"]) == {"review"} and sorted(reviews["score"].unique()) == [1, 2, 3, 4, 5]
    # Reviews come 3 days after the order: those of the last orders fall after the extraction date.
    later = result.problems.rows.query("table == 'interactions'")["reason"]
    assert len(reviews) == 295 and later.tolist() == ["future_date"] * 5
    assert reviews["customer_id"].astype(str).isin(expected["customer_id"]).all()


@LOADERS
def test_a_key_twice_in_a_join_file_is_refused_and_a_missing_key_rejects_the_row(tmp_path, engine):
    _olist(tmp_path)
    customers = pd.read_csv(tmp_path / "customers.csv", dtype=str)
    pd.concat([customers, customers.iloc[[5]]]).to_csv(tmp_path / "customers.csv", index=False)
    with pytest.raises(
        DataContractError, match=r"customers\.csv: the join key customer_id 'per-order-5'.*rows 7, "
    ):
        load_tables(tmp_path / "custrel.yml", engine=engine)
    customers.drop(index=3).to_csv(tmp_path / "customers.csv", index=False)  # order o3's customer unknown
    result = load_tables(tmp_path / "custrel.yml", engine=engine)
    rows = result.problems.rows
    assert rows.loc[rows["reason"] == "missing_customer_id", ["file", "row"]].values.tolist() == [
        ["order_items.csv", 8],
        ["order_items.csv", 9],
    ]


def test_join_settings_are_checked(tmp_path):
    (tmp_path / "o.csv").write_text("order_id\n", encoding="utf-8")

    def parse(join):
        doc = {"tables": {"transactions": {"path": "t.csv", "join": join}}}
        return parse_config(doc, base_dir=tmp_path).tables["transactions"]

    assert parse({"path": "o.csv", "on": "order_id"}).joins == [(tmp_path / "o.csv", "order_id")]
    with pytest.raises(ConfigError, match=r"join\[0\] needs a path and the column"):
        parse([{"path": "o.csv"}])
    with pytest.raises(ConfigError, match=r"join\[0\]\.path.*matches no file"):
        parse([{"path": "x*.csv", "on": "id"}])
    with pytest.raises(ConfigError, match=r"join\[0\]\.by is an unknown key"):
        parse([{"path": "o.csv", "on": "order_id", "by": 1}])


@LOADERS
def test_a_join_key_missing_from_a_file_is_named(tmp_path, engine):
    _olist(tmp_path)
    (tmp_path / "custrel.yml").write_text(
        OLIST.replace("on: customer_id}", "on: client_id}"), encoding="utf-8"
    )
    with pytest.raises(DataContractError, match=r"customers\.csv: no column 'client_id' to join on"):
        load_tables(tmp_path / "custrel.yml", engine=engine)


@LOADERS
def test_an_empty_key_joins_no_row(tmp_path, engine):
    """A row without key takes nothing, even from a join file's row without key (SQL's NULL = NULL is not true,
    and pandas' merge would match them: the pandas loader drops them first)."""
    (tmp_path / "t.csv").write_text(
        "order_id,amount,date\no1,5,2024-01-02\n,7,2024-01-02\n", encoding="utf-8"
    )
    (tmp_path / "o.csv").write_text("order_id,cust\no1,C1\n,C9\n", encoding="utf-8")
    doc = {"tables": {"transactions": {"path": "t.csv", "join": [{"path": "o.csv", "on": "order_id"}]}}}
    doc["tables"]["transactions"]["columns"] = {"customer_id": "cust"}
    result = load_tables(parse_config(doc, base_dir=tmp_path), engine=engine)
    assert result.problems.rows[["row", "reason"]].values.tolist() == [[3, "missing_customer_id"]]


@LOADERS
def test_the_first_key_written_twice_is_named_among_empty_keys(tmp_path, engine):
    (tmp_path / "t.csv").write_text("order_id,amount,date\no1,5,2024-01-02\n", encoding="utf-8")
    (tmp_path / "o.csv").write_text("order_id,cust\n,C0\no2,C1\no1,C2\no2,C3\no1,C4\n", encoding="utf-8")
    doc = {"tables": {"transactions": {"path": "t.csv", "join": [{"path": "o.csv", "on": "order_id"}]}}}
    doc["tables"]["transactions"]["columns"] = {"customer_id": "cust"}
    with pytest.raises(
        DataContractError, match=r"o\.csv: the join key order_id 'o2' is on several rows \(rows 3, 5\)"
    ):
        load_tables(parse_config(doc, base_dir=tmp_path), engine=engine)


def test_init_writes_the_joins_of_a_relational_export(tmp_path):
    """custrel init on Olist's files: no file alone is a table of purchases (the orders have no amount, the
    lines no customer); init proposes the lines joined to the orders and to the customers (the person's id,
    customer_unique_id), and the reviews the same way. The config it writes reads the sample's purchases
    back (the canceled order included: its exclude rule is written commented, for the user to decide)."""
    from click.testing import CliRunner

    from custrel_lib.cli import main

    expected = _olist(tmp_path)
    (tmp_path / "custrel.yml").unlink()
    files = [str(tmp_path / f"{n}.csv") for n in ("orders", "order_items", "customers", "reviews")]
    result = CliRunner().invoke(main, ["init", *files, "--out", str(tmp_path / "custrel.yml")])
    assert result.exit_code == 0, result.output
    assert "a relational export: the transactions are order_items.csv joined to orders.csv" in result.output
    config = load_config(tmp_path / "custrel.yml")
    tx = config.tables["transactions"]
    assert [(p.name, key) for p, key in tx.joins] == [
        ("orders.csv", "order_id"),
        ("customers.csv", "customer_id"),
    ]
    assert tx.order_lines and tx.columns["customer_id"] == "customer_unique_id" and not tx.exclude
    assert '# exclude: {"order_status": ["canceled"]}' in (tmp_path / "custrel.yml").read_text(
        encoding="utf-8"
    )
    assert config.tables["interactions"].columns["type"] == "=review"
    loaded = load_tables(tmp_path / "custrel.yml", engine=True)
    assert loaded.problems.counts["transactions"] == {"read": 6000, "kept": 6000, "rejected": 0}
    got = _tx(loaded)
    assert len(got) == len(expected) + 1  # order o7, canceled, read as a purchase
    assert got.merge(expected, how="inner").shape[0] == len(expected)
