"""``keep:`` in custrel.yml: only the rows whose value is listed count, in both loaders (an event log's purchases).

Web and app exports log every event of a visitor (``view``, ``cart``, ``purchase``: the REES46 and Retail Rocket
logs); read whole, each view would count as a purchase. ``keep: {event_type: [purchase]}`` leaves the other rows
out, an empty value too, each listed and counted as ``exclude:`` does. The truth check: the sample's transactions
with views mixed in, read with ``keep:``, give exactly the sample's stage history.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from custrel_lib.config import load_config
from custrel_lib.exceptions import ConfigError, DataContractError
from custrel_lib.io.load import load_tables
from custrel_lib.paths import SAMPLE_DIR
from custrel_lib.workbench import prepare

EVENTS = """event_time,event_type,user_id,price,order
2024-01-05 10:00:00 UTC,view,u1,10.5,
2024-01-05 10:01:00 UTC,purchase,u1,10.5,o1
2024-01-06 10:00:00 UTC, Purchase ,u2,20.0,o2
2024-01-07 10:00:00 UTC,cart,u2,20.0,
2024-01-08 10:00:00 UTC,,u3,5.0,o3
2024-02-08 10:00:00 UTC,PURCHASE,u3,x,o4
2024-02-08 10:00:00 UTC,PURCHASE,u3,5.0,o5
2024-02-08 10:00:00 UTC,remove_from_cart,u3,5.0,
2024-02-09 10:00:00 UTC,  ,u3,5.0,o5
"""
COLUMNS = {"date": "event_time", "customer_id": "user_id", "amount": "price", "order_id": "order"}


def _write(tmp_path, keep, fmt="csv", **more):
    path = tmp_path / f"events.{fmt}"
    if fmt == "csv":
        path.write_text(EVENTS, encoding="utf-8")
    else:
        pd.read_csv(pd.io.common.StringIO(EVENTS), dtype=str).to_parquet(path)
    spec = {"path": path.name, "columns": COLUMNS, "keep": keep, **more}
    (tmp_path / "custrel.yml").write_text(
        yaml.safe_dump({"tables": {"transactions": spec}}), encoding="utf-8"
    )
    return tmp_path / "custrel.yml"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_both_loaders_keep_the_same_rows_and_list_the_others(tmp_path, fmt):
    results = [
        load_tables(_write(tmp_path, {"event_type": "purchase"}, fmt), engine=e) for e in (False, True)
    ]
    for result in results:
        counts = result.problems.counts["transactions"]
        # 9 rows: 4 purchases in any case and blanks around, one of them with an unreadable price (rejected);
        # a view, a cart, a removal and two empty types left out, none of them silently
        assert counts == {"read": 9, "kept": 3, "rejected": 1, "excluded": 5}
        assert result.to_pandas()["transactions"]["order_id"].tolist() == ["o1", "o2", "o5"]
        left = result.problems.rows[result.problems.rows["action"] == "excluded"]
        first = 2 if fmt == "csv" else 1  # the line a spreadsheet shows; Parquet's 1-based row
        assert left["row"].tolist() == [first + i - 1 for i in (1, 4, 5, 8, 9)]
        assert left["value"].fillna("").tolist() == ["view", "cart", "", "remove_from_cart", ""]
        assert (
            "event_type = view: not a value custrel.yml keeps (tables.transactions.keep)"
            in left["message"].iloc[0]
        )
        assert "event_type is empty: not a value custrel.yml keeps" in left["message"].iloc[2]
    pandas_rows, engine_rows = (r.problems.rows.reset_index(drop=True) for r in results)
    pd.testing.assert_frame_equal(pandas_rows, engine_rows, check_dtype=False)


def test_keep_and_exclude_together_and_a_contract_column(tmp_path):
    # keep: on a file column, exclude: on a contract column followed to the file's (user_id)
    config = _write(tmp_path, {"event_type": ["purchase", "cart"]}, exclude={"customer_id": ["u2"]})
    for engine in (False, True):
        result = load_tables(config, engine=engine)
        assert result.problems.counts["transactions"] == {"read": 9, "kept": 2, "rejected": 1, "excluded": 6}
        # u2's purchase and cart by exclude; the view, the removal and the two empty types by keep
        assert result.to_pandas()["transactions"]["order_id"].tolist() == ["o1", "o5"]


def test_with_order_lines_an_empty_value_follows_its_order(tmp_path):
    # Shopify writes an order's status on its first line only: with order_lines: true, a line with an empty value
    # is kept or left out with its order, not for being empty.
    config = _write(tmp_path, {"event_type": "purchase"}, order_lines=True)
    for engine in (False, True):
        result = load_tables(config, engine=engine)
        kept = result.to_pandas()["transactions"]
        # o5's empty line is kept with its order (its two lines make one purchase); o3 (empty, its only line) too
        assert sorted(kept["order_id"].dropna()) == ["o1", "o2", "o3", "o5"]
        rows = result.problems.rows
        assert rows[rows["action"] == "excluded"]["value"].tolist() == ["view", "cart", "remove_from_cart"]


def test_an_unknown_column_and_bad_blocks_are_refused_naming_the_key(tmp_path):
    with pytest.raises(DataContractError, match=r"tables\.transactions\.keep names the column 'kind'"):
        load_tables(_write(tmp_path, {"kind": "purchase"}))
    with pytest.raises(
        ConfigError, match=r"keep\.event_type must list at least one value whose rows are kept"
    ):
        load_config(_write(tmp_path, {"event_type": []}))
    with pytest.raises(ConfigError, match=r"keep must be a mapping"):
        load_config(_write(tmp_path, "purchase"))


@pytest.mark.slow
def test_views_left_out_give_the_samples_own_stages(tmp_path):
    """Truth: the sample's purchases with 20,000 views and carts mixed in, read with ``keep:``, are the sample."""
    tx = pd.read_csv(SAMPLE_DIR / "transactions.csv", dtype=str, keep_default_na=False)
    views = tx.sample(20_000, replace=True, random_state=7).assign(order_id="")
    views["event"] = ["view", "cart"] * 10_000
    mixed = pd.concat([tx.assign(event="purchase"), views]).sample(frac=1.0, random_state=8)
    mixed.to_csv(tmp_path / "transactions.csv", index=False)
    doc = yaml.safe_load((SAMPLE_DIR / "custrel.yml").read_text(encoding="utf-8"))
    doc["data_dir"] = str(SAMPLE_DIR)
    doc["tables"]["transactions"] = {
        "path": str(tmp_path / "transactions.csv"),
        "keep": {"event": "Purchase"},
    }
    (tmp_path / "custrel.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    sample = prepare(SAMPLE_DIR / "custrel.yml", verbose=False)
    kept = prepare(tmp_path / "custrel.yml", verbose=False)
    assert kept.problems.counts["transactions"]["excluded"] == 20_000
    assert kept.problems.counts["transactions"]["kept"] == sample.problems.counts["transactions"]["kept"]
    order = ["customer_id", "snapshot"]
    pd.testing.assert_frame_equal(
        kept.history.sort_values(order).reset_index(drop=True),
        sample.history.sort_values(order).reset_index(drop=True),
    )
    assert "20 000 lignes écartées à dessein" in kept.data_sentence("fr").replace("\u202f", " ")


def test_init_warns_of_amounts_in_several_currencies_and_proposes_keeping_one(tmp_path):
    """An international shop's orders in EUR, GBP and USD: custrel would add them up as they are. init says so
    (on the terminal and in custrel.yml) and proposes keep: on the main currency, commented out; uncommented,
    both loaders keep the euro orders only, the others counted as left out. Signs of several currencies beside
    the amounts are said too."""
    from click.testing import CliRunner

    from custrel_lib.cli import main

    currencies = (["EUR"] * 7 + ["GBP"] * 2 + ["USD"]) * 30
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(300)],
            "customer_id": [f"c{i % 60}" for i in range(300)],
            "date": pd.date_range("2024-01-01", periods=300, freq="D").strftime("%Y-%m-%d"),
            "amount": ["12.50"] * 300,
            "currency": currencies,
        }
    )
    orders.to_csv(tmp_path / "orders.csv", index=False)
    out = tmp_path / "custrel.yml"
    result = CliRunner().invoke(main, ["init", str(tmp_path / "orders.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "warning: the amounts are in several currencies (EUR, GBP, USD, in 'currency')" in said
    line = '# keep: {"currency": ["eur"]}'
    written = out.read_text(encoding="utf-8")
    assert line in written
    out.write_text(written.replace(line, line[2:]), encoding="utf-8")
    for engine in (False, True):
        counts = load_tables(out, engine=engine).problems.counts["transactions"]
        assert counts == {"read": 300, "kept": 210, "rejected": 0, "excluded": 90}
    signs = orders.assign(amount=["12,50 €", "£9.99", "12,50 €"] * 100).drop(columns="currency")
    signs.to_csv(tmp_path / "signs.csv", index=False)
    result = CliRunner().invoke(main, ["init", str(tmp_path / "signs.csv"), "--out", str(tmp_path / "s.yml")])
    said = " ".join(result.output.split())
    assert "several currencies (€, £, by the signs beside them)" in said
    # the amount by its name, though a third of its values do not read as numbers: not a log without amounts
    assert "the amount is 'amount' by its name, but some of its first values do not read as numbers" in said
    assert "amounts: false" not in (tmp_path / "s.yml").read_text(encoding="utf-8")
