"""The `gatewatch` command: the root group, global options and error mapping.

Every command group lives in its own module and registers here. Errors that
gatewatch raises (GatewatchError) are printed as one actionable message with
the error's exit code, never as a traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from gatewatch import __version__
from gatewatch.cli import config_cmd, db, demo, gate, health, ingest, perf, status, triage
from gatewatch.cli.context import AppContext
from gatewatch.errors import GatewatchError


class GatewatchGroup(click.Group):
    """A group that turns GatewatchError into a clean message and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatewatchError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=GatewatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatewatch")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $GATEWATCH_CONFIG, else ./gatewatch.toml if present).",
)
@click.option(
    "--home", type=click.Path(path_type=Path, file_okay=False), help="Store directory (GATEWATCH_HOME)."
)
@click.option("--db", "db_url", help="Store URL, e.g. postgresql+psycopg://u:p@host/db (GATEWATCH_DB_URL).")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.pass_context
def cli(
    ctx: click.Context, config_file: Path | None, home: Path | None, db_url: str | None, verbose: int
) -> None:
    """gatewatch makes CI actionable: for every failed build it tells whether the
    job really failed and why, who needs to know and what they can do.

    \b
    Start with:
      gatewatch demo --small        # generate and ingest a sample CI history
      gatewatch ingest ./ci-output  # ingest your own builds, results and logs
      gatewatch status              # what the store holds
    """
    flags = {"home": home, "db_url": db_url}
    ctx.obj = AppContext(flags=flags, config_file=config_file)
    level = ("WARNING", "INFO", "DEBUG")[min(verbose, 2)]
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    ctx.call_on_close(ctx.obj.close)


for _module in (config_cmd, db, demo, gate, health, ingest, perf, status, triage):
    _module.register(cli)


def main() -> None:
    cli(prog_name="gatewatch")
