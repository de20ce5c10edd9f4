"""``custrel init`` on logs where purchases are one kind of row among others, and ``custrel.yml``'s ``keep:``.

Shapes as their tools write them: REES46's e-commerce behaviour log (``event_time``, ``event_type``: view, cart,
purchase, ``price`` on every event, ``user_id``), Retail Rocket's events (Unix milliseconds, ``visitorid``,
``event``: view, addtocart, transaction, ``transactionid`` on the purchases only, no amounts) and HubSpot's deals
export (``Deal Stage``: Closed Won among lost and open deals, ``Associated Company``). The truth: the rows the
written custrel.yml keeps, in both loaders, are the file's purchases, counted by pandas from the file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from custrel_lib.cli import main
from custrel_lib.io.load import load_tables
from custrel_lib.io.starter import guess_file

RNG = np.random.default_rng(3)
N = 3_000


def _rees46() -> pd.DataFrame:
    when = pd.Timestamp("2019-10-01") + pd.to_timedelta(RNG.integers(0, 120 * 86400, N), unit="s")
    return pd.DataFrame(
        {
            "event_time": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "event_type": RNG.choice(
                ["view", "cart", "remove_from_cart", "purchase"], N, p=[0.8, 0.1, 0.03, 0.07]
            ),
            "product_id": RNG.integers(1_000_000, 1_000_400, N),
            "category_code": RNG.choice(["electronics.smartphone", "", "appliances.kitchen.washer"], N),
            "brand": RNG.choice(["samsung", "apple", ""], N),
            "price": RNG.gamma(2.0, 90.0, N).round(2),
            "user_id": RNG.integers(512_000_000, 512_000_600, N),
            "user_session": [f"{x:016x}" for x in RNG.integers(0, 2**62, N)],
        }
    )


def _retail_rocket() -> pd.DataFrame:
    event = RNG.choice(["view", "addtocart", "transaction"], N, p=[0.85, 0.1, 0.05])
    visitor = RNG.integers(1, 700, N)
    return pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2015-05-03").value // 10**6 + RNG.integers(0, 130 * 86_400_000, N),
            "visitorid": visitor,
            "event": event,
            "itemid": RNG.integers(1, 460_000, N),
            # a transaction's id on its rows only; one per visitor and row here (order lines aside)
            "transactionid": np.where(
                event == "transaction", (visitor * 100 + np.arange(N) % 97).astype(str), ""
            ),
        }
    )


def _hubspot() -> pd.DataFrame:
    close = pd.Timestamp("2023-01-01") + pd.to_timedelta(RNG.integers(0, 700 * 1440, N), unit="min")
    return pd.DataFrame(
        {
            "Record ID": RNG.integers(10**9, 10**10, N),
            "Deal Name": [f"Renewal {i}" for i in range(N)],
            "Deal Stage": RNG.choice(
                ["Closed Won", "Closed Lost", "Appointment Scheduled"], N, p=[0.6, 0.3, 0.1]
            ),
            "Close Date": close.strftime("%Y-%m-%d %H:%M"),
            "Amount": RNG.gamma(2.0, 500.0, N).round(2),
            "Associated Company": RNG.choice([f"Company {i}" for i in range(300)], N),
            "Pipeline": "Sales Pipeline",
        }
    )


def _crm_fr() -> pd.DataFrame:
    # A French CRM's opportunities: the account (Compte), the stage (Étape: Gagnée among lost and open ones).
    close = pd.Timestamp("2023-01-01") + pd.to_timedelta(RNG.integers(0, 700, N), unit="D")
    return pd.DataFrame(
        {
            "Nom de l'opportunité": [f"Renouvellement {i}" for i in range(N)],
            "Compte": RNG.choice([f"Société {i}" for i in range(300)], N),
            "Étape": RNG.choice(
                ["Gagnée", "Perdue", "Qualification", "Proposition"], N, p=[0.5, 0.3, 0.1, 0.1]
            ),
            "Date de clôture": close.strftime("%d/%m/%Y"),
            "Montant": RNG.gamma(2.0, 500.0, N).round(2),
        }
    )


# file name, rows, the mapping init should write, the keep: rule, the column of events and its purchase value
SHAPES = {
    "rees46": (
        "2019-Oct.csv",
        _rees46,
        {"customer_id": "user_id", "date": "event_time", "amount": "price"},
        '{"event_type": ["purchase"]}',
        ("event_type", "purchase"),
    ),
    "retail_rocket": (
        "events.csv",
        _retail_rocket,
        {"customer_id": "visitorid", "date": "timestamp", "order_id": "transactionid"},
        '{"event": ["transaction"]}',
        ("event", "transaction"),
    ),
    "hubspot": (
        "hubspot-crm-exports-all-deals-2024-12-01.csv",
        _hubspot,
        {"customer_id": "Associated Company", "date": "Close Date", "amount": "Amount"},
        '{"Deal Stage": ["closed won"]}',
        ("Deal Stage", "Closed Won"),
    ),
    "crm_fr": (
        "opportunites.csv",
        _crm_fr,
        {"customer_id": "Compte", "date": "Date de clôture", "amount": "Montant"},
        '{"Étape": ["gagnée"]}',
        ("Étape", "Gagnée"),
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_init_keeps_the_purchases_of_an_event_log_and_both_loaders_read_them(tmp_path, shape):
    name, rows, mapping, rule, (column, purchase) = SHAPES[shape]
    df = rows()
    df.to_csv(tmp_path / name, index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / name), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = out.read_text(encoding="utf-8")
    assert f"keep: {rule}" in written
    columns_line = next(line for line in written.splitlines() if line.strip().startswith("columns:"))
    for canonical, source in mapping.items():
        assert f'{canonical}: "{source}"' in columns_line
    assert ("amounts: false" in written) == ("amount" not in mapping)
    purchases = df[df[column] == purchase]
    for engine in (False, True):
        loaded = load_tables(out, engine=engine)
        counts = loaded.problems.counts["transactions"]
        assert counts["excluded"] == len(df) - len(purchases)
        assert counts["read"] == len(df) and counts["kept"] + counts["rejected"] == len(purchases)
        assert counts["rejected"] == 0
        kept = loaded.to_pandas()["transactions"]
        # an order's lines are one purchase (a transaction id on several rows: order_lines: true)
        who, order = mapping["customer_id"], mapping.get("order_id")
        bought = purchases.drop_duplicates([who, order]) if order else purchases
        expected = bought[who].astype(str).value_counts().sort_index()
        assert kept["customer_id"].astype(str).value_counts().sort_index().to_dict() == expected.to_dict()
        if "amount" in mapping:
            assert kept["amount"].sum() == pytest.approx(purchases[mapping["amount"]].sum())


def test_a_column_of_interaction_types_or_statuses_is_not_an_event_log(tmp_path):
    # NPS answers and complaints hold no purchase; a status column of paid / refunded is exclude:'s, commented.
    answers = pd.DataFrame(
        {
            "customer_id": [f"c{i % 40}" for i in range(200)],
            "date": pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d"),
            "type": ["nps", "complaint", "contact", "nps"] * 50,
            "score": ["9", "", "", "7"] * 50,
        }
    )
    answers.to_csv(tmp_path / "voix_client.csv", index=False)
    guess = guess_file(tmp_path / "voix_client.csv")
    assert (guess.table, guess.keep) == ("interactions", {})
    # the types init compares with are written as fold() reads a file's values
    from custrel_lib.io.contract import READ_TYPES, fold

    assert {fold(t) for t in READ_TYPES} == READ_TYPES
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(200)],
            "customer_id": [f"c{i % 40}" for i in range(200)],
            "date": pd.date_range("2024-01-01", periods=200, freq="D").strftime("%Y-%m-%d"),
            "amount": ["10.50"] * 200,
            "status": ["paid", "refunded", "paid", "paid"] * 50,
        }
    )
    orders.to_csv(tmp_path / "orders.csv", index=False)
    out = tmp_path / "o.yml"
    assert CliRunner().invoke(main, ["init", str(tmp_path / "orders.csv"), "--out", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "keep:" not in text and '# exclude: {"status": ["refunded"]}' in text


def test_names_of_dates_and_ids_from_warehouses_and_crms(tmp_path):
    # Ta Feng's TRANSACTION_DT (month/day/year without zeros), a warehouse's ORDER_DT; whole numbers named as ids
    # (itemid) are not proposed as the amounts of a log without them.
    from custrel_lib.io.guess import guess_columns

    head = pd.DataFrame({"TRANSACTION_DT": ["11/1/2000", "2/28/2001"], "CUSTOMER_ID": ["1104905", "418683"]})
    assert guess_columns("transactions", list(head.columns), head)["date"] == "TRANSACTION_DT"
    # a small business's invoices know the customer by name only; an id beside the name is preferred
    head = pd.DataFrame(
        {"Nom du client": ["Dupont SARL", "Martin"], "Date facture": ["05/01/2024", "06/01/2024"]}
    )
    assert guess_columns("transactions", list(head.columns), head)["customer_id"] == "Nom du client"
    head = head.assign(**{"N° client": ["C1", "C2"]})
    assert guess_columns("transactions", list(head.columns), head)["customer_id"] == "N° client"
    head = pd.DataFrame({"ORDER_DT": ["2024-01-05", "2024-02-05"], "ACCOUNT_NUMBER": ["A1", "A2"]})
    assert guess_columns("transactions", list(head.columns), head) == {
        "customer_id": "ACCOUNT_NUMBER",
        "date": "ORDER_DT",
    }
    log = pd.DataFrame(
        {
            "visit_date": pd.date_range("2024-01-01", periods=300, freq="D").strftime("%Y-%m-%d"),
            "visitor": [f"v{i % 50}" for i in range(300)],
            "itemid": RNG.integers(1, 9_000, 300),
            "pages": RNG.integers(1, 9, 300),
            "session_duration": RNG.gamma(2.0, 60.0, 300).round(1),  # decimals, but not money by its name
        }
    )
    log.to_csv(tmp_path / "visits.csv", index=False)
    out = tmp_path / "v.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "visits.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "if 'pages', 'session_duration' holds them, map amount to it instead" in said
    assert "amounts: false" in out.read_text(encoding="utf-8")
