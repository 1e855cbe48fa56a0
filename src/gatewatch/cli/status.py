"""`gatewatch status`: what the store holds and where it is."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.config import mask_url


@click.command("status")
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """Show the store's location, schema revision and how much it holds.

    \b
    Example:
      gatewatch status --json
    """
    store = app.store
    with store.unit_of_work() as uow:
        counts = uow.stats.counts()
    info = {
        "store": mask_url(app.settings.db_url.reveal()),
        "blobs": str(app.settings.blob_dir),
        "revision": store.current_revision(),
        "counts": counts,
    }
    if as_json:
        echo_json(info)
        return
    console = Console()
    console.print(f"store    {info['store']}\nblobs    {info['blobs']}\nrevision {info['revision']}")
    table = Table("what", "count")
    for name, count in counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def register(cli: click.Group) -> None:
    cli.add_command(status)
