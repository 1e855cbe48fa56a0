"""The `gatewatch` command: the root group and error handling."""

from __future__ import annotations

import click

from gatewatch import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatewatch")
def cli() -> None:
    """gatewatch makes CI actionable: triage, test health, perf regressions, a gate."""


def main() -> None:
    cli()
