"""``custrel validate``: load the data described by a ``custrel.yml`` and print the problems report."""

from __future__ import annotations

import sys

import click
import pandas as pd

from custrel_lib.config import load_config
from custrel_lib.exceptions import AnalysisError
from custrel_lib.features import horizon_pandas, horizon_window_check
from custrel_lib.io import load_tables


def horizon_lines(tables: dict, as_of: pd.Timestamp, horizon_days: float | None, lang: str) -> list[str]:
    """The separation horizon H the stages will use, the data window, and the too-short-window warning if any.

    H is ``horizon_days`` when set (``analysis.horizon_days``), else derived as :class:`StageModel` does
    (window-corrected 0.95 quantile of repeat gaps).
    """
    tx = tables.get("transactions")
    if tx is None or tx.empty:
        return []
    tx = tx[tx["date"] <= as_of]
    start = tx["date"].min()
    window = f"data window {start.date()} .. {as_of.date()} ({(as_of - start).days} days)"
    if horizon_days:
        h, source = float(horizon_days), "analysis.horizon_days"
    else:
        try:
            h = horizon_pandas(tx, 0.95, "window", window_start=start, as_of=as_of)
        except AnalysisError as exc:
            return [f"Separation horizon H: not derivable ({exc}); {window}."]
        source = "q0.95 of repeat gaps, window-corrected"
    lines = [f"Separation horizon H: {h:.0f} days ({source}); {window}."]
    message = horizon_window_check(start, as_of, h, lang)
    return [*lines, message] if message else lines


@click.command("validate")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="custrel.yml describing the data (default: the bundled sample).",
)
@click.option(
    "--as-of",
    default=None,
    help="Extraction date YYYY-MM-DD (default: the config's, else the last purchase).",
)
@click.option("--max-rows", default=20, show_default=True, help="Problem rows to list.")
def validate_command(config_path: str | None, as_of: str | None, max_rows: int) -> None:
    """Check the data against the contract and print what was rejected, repaired or flagged, and why.

    Exits with status 1 when the required data is unusable (no transactions kept, or too many rejected).
    """
    config = load_config(config_path)
    result = load_tables(config, as_of=as_of)
    click.echo(f"Extraction date (as_of): {result.as_of.date()}")
    for name, fmt in result.formats.items():
        details = ", ".join(f"{k}={v!r}" for k, v in fmt.items())
        click.echo(f"  {name:<13} {result.sources[name]}  ({details})")
    click.echo()
    click.echo(result.problems.to_text(max_rows=max_rows))
    if result.problems.is_fatal:
        sys.exit(1)
    lines = horizon_lines(result.tables, result.as_of, config.analysis.get("horizon_days"), config.language)
    if lines:
        click.echo()
        for line in lines:
            click.echo(line)
