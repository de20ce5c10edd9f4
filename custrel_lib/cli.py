"""The ``custrel`` command line: a thin layer over the library.

Every sub-command is defined here and only reads options, calls the library and prints.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

import custrel_lib._startup  # noqa: F401  (first: a faster start, see the module)
from custrel_lib import __version__
from custrel_lib.config import load_config
from custrel_lib.exceptions import CustrelError
from custrel_lib.io.data_warnings import nps_on_five, nps_on_five_message
from custrel_lib.io.keys import one_id_message, one_id_per_purchase
from custrel_lib.io.load import load_tables
from custrel_lib.io.sample import WINDOW_END, WINDOW_START, generate_sample
from custrel_lib.reports.run import run_report
from custrel_lib.stages.features import horizon_lines
from custrel_lib.stages.rules import rules_from_config


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


def _config_path(given):
    """``--config``, else the ``custrel.yml`` of the current folder when there is one (what ``custrel init``
    writes; said on the terminal), else None: the bundled sample."""
    if given:
        return given
    local = Path("custrel.yml")
    if local.is_file():
        click.echo(
            f"Configuration: {local.resolve()} (this folder's custrel.yml; --config names another)", err=True
        )
        return local
    return None


@click.command("validate")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="custrel.yml describing the data (default: ./custrel.yml when there is one, else the bundled sample).",
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
    config = load_config(_config_path(config_path))
    rules_from_config(config)  # custom stage rules are checked too, before the data
    result = load_tables(config, as_of=as_of)
    click.echo(f"Extraction date (as_of): {result.as_of.date()}")
    for name, fmt in result.formats.items():
        spec = config.tables[name]
        for i, (source, one) in enumerate(
            zip(spec.sources or (spec,), fmt.get("sources", [fmt]), strict=True)
        ):
            details = ", ".join(f"{k}={v!r}" for k, v in one.items() if k not in ("other_sheets", "sources"))
            files = source.files
            more = f" and {len(files) - 1} more file{'s' if len(files) > 2 else ''}" if len(files) > 1 else ""
            click.echo(f"  {name if i == 0 else '':<13} {source.path}{more}  ({details})")
        if not config.tables[name].amounts:
            click.echo(f"  {'':<13} amounts: false: every row is one purchase; the reports show no money")
        if fmt.get("other_sheets"):
            click.echo(
                f"  {'':<13} only the first sheet is read; the workbook also has {', '.join(fmt['other_sheets'])}: "
                f"tables.{name}.sheet: '*' reads every sheet, one after the other"
            )
    click.echo()
    click.echo(result.problems.to_text(max_rows=max_rows))
    if result.problems.is_fatal:
        sys.exit(1)
    one_each = one_id_per_purchase(result)
    if one_each:
        click.echo()
        click.echo(one_id_message(*one_each))
    five = nps_on_five(result)
    if five:
        click.echo()
        click.echo(nps_on_five_message(*five))
    lines = horizon_lines(result.tables, result.as_of, config.analysis.get("horizon_days"), config.language)
    if lines:
        click.echo()
        for line in lines:
            click.echo(line)


@click.command("report")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="custrel.yml (default: ./custrel.yml when there is one, else the bundled sample).",
)
@click.option(
    "--notebook",
    "notebooks",
    multiple=True,
    help="Notebook to run (name or path); repeat for several. Default: all, in reading order.",
)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Notebook parameter, like papermill's -p; converted to the type the notebook declares.",
)
@click.option("--run-id", help="Name of the run folder (default: date and a hash of the parameters).")
@click.option(
    "--reports-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the runs (default: reports/ in the current directory).",
)
@click.option("--if-changed", is_flag=True, help="Skip when data, notebooks and parameters did not change.")
@click.option("--lang", type=click.Choice(["fr", "en"]), help="Report language (default: the config's).")
@click.option("--wait", is_flag=True, help="Wait for another running report instead of failing.")
@click.option("--no-progress", is_flag=True, help="No progress lines or bars.")
@click.option("--kernel", "kernel_name", help="Jupyter kernel name (default: each notebook's).")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Notebooks run at once, each in its own process (default: $CUSTREL_REPORT_JOBS, else the CPU cores); "
    "1 runs them one after the other.",
)
def report_command(
    config_path: Path | None,
    notebooks: tuple[str, ...],
    parameters: tuple[tuple[str, str], ...],
    run_id: str | None,
    reports_dir: Path,
    if_changed: bool,
    lang: str | None,
    wait: bool,
    no_progress: bool,
    kernel_name: str | None,
    jobs: int | None,
) -> None:
    """Run the notebooks into REPORTS_DIR/<run-id>/ (HTML, index.html, manifest.json) and print the folder.

    REPORTS_DIR is --reports-dir, by default reports/ in the current directory."""
    try:
        run = run_report(
            config_path=_config_path(config_path),
            notebooks=list(notebooks) or None,
            parameters=dict(parameters),
            reports_dir=reports_dir,
            run_id=run_id,
            if_changed=if_changed,
            lang=lang,
            progress=not no_progress,
            kernel_name=kernel_name,
            wait=wait,
            jobs=jobs,
        )
    except CustrelError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        click.secho("Interrupted: no report was written; earlier reports are untouched.", fg="red", err=True)
        sys.exit(130)
    if run.skipped:
        click.echo(f"Unchanged since {run.run_id}; nothing to do.", err=True)
    click.echo(str(run.path))


@click.command("stages")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="custrel.yml describing the data (default: ./custrel.yml when there is one, else the bundled sample).",
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
        load_config(_config_path(config_path)),
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


@click.command("init")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--out",
    "out_path",
    default="custrel.yml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The custrel.yml to write (never overwritten without --force).",
)
@click.option(
    "--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True, help="Reports' language."
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init_command(files: tuple[str, ...], out_path: str, lang: str, force: bool) -> None:
    """Write a first custrel.yml from your files, guessing each one's table and columns.

    FILES are paths, or TABLE=PATH to say which table a file holds (transactions, customers, interactions):
    custrel init ventes.csv clients.xlsx, or custrel init transactions=export.csv. Read the file written,
    correct what was guessed wrong, then run custrel validate.
    """
    from custrel_lib.exceptions import ConfigError
    from custrel_lib.io.heads import init_items
    from custrel_lib.io.relational import Head, relational_init
    from custrel_lib.io.starter import UnrecognisedFile, guess_file, write_config

    out = Path(out_path)
    if out.exists() and not force:
        raise ConfigError(
            f"{out} exists: custrel init does not overwrite it (use --force, or --out another.yml)."
        )
    guesses, passed, heads = [], [], []
    items = init_items(files)
    for table, path, sheet in items:
        where = f"{path} [{sheet}]" if sheet is not None else str(path)
        try:
            guess = guess_file(path, table, sheet)
        except UnrecognisedFile as exc:
            if len(items) == 1:
                raise
            shown = ", ".join(exc.columns)[:120]
            click.echo(f"{where}: not read, no table recognised in its columns ({shown})")
            if sheet is None:
                passed.append(path.name)
                heads.append(Head(path, list(exc.columns), exc.head))
            continue
        guesses.append(guess)
        if guess.header and guess.head is not None and sheet is None:
            heads.append(Head(path, [str(c) for c in guess.head.columns], guess.head))
        mapped = ", ".join(f"{k} <- {v!r}" for k, v in guess.columns.items())
        click.echo(f"{where}: {guess.table} ({mapped})")
        for note in guess.notes:
            click.echo(f"  {note}")
    guesses, said = relational_init(guesses, heads, passed)
    if said:
        click.echo(said)
        passed = []
    for guess in guesses:  # a relational export: the orders without amounts, their lines in another file
        if guess.table == "transactions" and not guess.amounts and passed:
            guess.notes.append(
                f"if the amounts are in {', '.join(passed)}: join: takes a file's columns by a shared key "
                '(docs/data_contract.md, "Columns from other files: join:"), then remove amounts: false'
            )
            click.echo(f"  {guess.notes[-1]}")
    text = write_config(guesses, out, lang)
    out.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {out}. Check each guess in it, then: custrel validate --config {out}")


main.add_command(init_command)
main.add_command(sample_command)
main.add_command(stages_command)
main.add_command(validate_command)
main.add_command(report_command)
