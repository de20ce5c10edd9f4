"""The ``custrel`` command line: a thin layer over the library.

Each sub-command lives next to the code it drives and is registered here.
"""

from __future__ import annotations

import sys

import click

from custrel_lib import __version__
from custrel_lib.exceptions import CustrelError
from custrel_lib.report import report_command
from custrel_lib.sample import sample_command
from custrel_lib.validate import validate_command


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


main.add_command(sample_command)
main.add_command(validate_command)
main.add_command(report_command)
