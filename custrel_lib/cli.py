"""The ``custrel`` command line: a thin layer over the library.

Every sub-command is defined here and only reads options, calls the library and prints; ``custrel report`` is
defined with the report runner it drives.
"""

from __future__ import annotations

import sys
import time

import click

from custrel_lib import __version__
from custrel_lib.config import load_config
from custrel_lib.exceptions import CustrelError
from custrel_lib.io.load import load_tables
from custrel_lib.io.sample import WINDOW_END, WINDOW_START, generate_sample
from custrel_lib.reports.run import report_command
from custrel_lib.stages.features import horizon_lines


class _Group(click.Group):
    """Prints a package error as one readable line instead of a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CustrelError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="custrel")
def main() -> None:
    """custrel: relationship stages, separation and journeys of your customers."""


@click.command("sample")
@click.option("--customers", "n_customers", default=5000, show_default=True, help="Number of customers.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="File format.",
)
def sample_command(n_customers: int, seed: int, out_dir: str, fmt: str) -> None:
    """Generate a synthetic French retailer with a known truth (tables + truth/ folder)."""
    t0 = time.perf_counter()
    click.echo(
        f"Simulating {n_customers:,} customers (seed {seed}) over {WINDOW_START.date()} .. {WINDOW_END.date()}"
    )
    data = generate_sample(n_customers, seed, progress=n_customers > 200_000)
    click.echo(f"Writing {fmt} files to {out_dir}")
    paths = data.write(out_dir, fmt)
    for name in ("transactions", "customers", "interactions"):
        click.echo(f"  {name:<13} {len(getattr(data, name)):>12,} rows  {paths[name]}")
    click.echo(f"Done in {time.perf_counter() - t0:.1f} s.")


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


@click.command("stages")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="custrel.yml describing the data (default: the bundled sample).",
)
@click.option(
    "--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Parquet file to write."
)
@click.option(
    "--as-of",
    default=None,
    help="Extraction date YYYY-MM-DD (default: the config's, else the last purchase).",
)
@click.option(
    "--sort/--no-sort", default=False, show_default=True, help="Order the rows by customer and snapshot."
)
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress bars.")
@click.option(
    "--memory-limit", default=None, help="Cap the engine's memory, e.g. 2GB (it spills to disk beyond)."
)
def stages_command(
    config_path: str | None,
    out_path: str,
    as_of: str | None,
    sort: bool,
    progress: bool,
    memory_limit: str | None,
) -> None:
    """Write the stage history (every customer at every snapshot, with the rule that placed it) to Parquet.

    The data is read, checked and staged in the engine and streamed to the file, never through pandas.
    """
    from custrel_lib.stages.export import export_stages

    result = export_stages(
        load_config(config_path),
        out_path,
        as_of=as_of,
        progress=progress,
        sort=sort,
        memory_limit=memory_limit,
    )
    model, s = result.model, result.seconds
    click.echo(
        f"{result.rows:,} stage rows ({len(model.snapshots_)} snapshots to {model.as_of_.date()}, "
        f"H = {model.horizon_days_:.0f} days) written to {result.path}"
    )
    click.echo(
        f"Load and checks {s['load']:.1f} s, stages {s['fit'] + s['write']:.1f} s, total {s['total']:.1f} s."
    )


main.add_command(sample_command)
main.add_command(stages_command)
main.add_command(validate_command)
main.add_command(report_command)
