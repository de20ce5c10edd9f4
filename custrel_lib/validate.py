"""``custrel validate``: load the data described by a ``custrel.yml`` and print the problems report."""

from __future__ import annotations

import sys

import click

from custrel_lib.io import load_tables


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
    result = load_tables(config_path, as_of=as_of)
    click.echo(f"Extraction date (as_of): {result.as_of.date()}")
    for name, fmt in result.formats.items():
        details = ", ".join(f"{k}={v!r}" for k, v in fmt.items())
        click.echo(f"  {name:<13} {result.sources[name]}  ({details})")
    click.echo()
    click.echo(result.problems.to_text(max_rows=max_rows))
    if result.problems.is_fatal:
        sys.exit(1)
