"""`gatewatch db`: migrate and inspect the store schema."""

from __future__ import annotations

import click

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.config import mask_url


@click.group("db")
def db_group() -> None:
    """Manage the store's schema (SQLite by default, or PostgreSQL with --db)."""


@db_group.command("upgrade")
@json_option
@pass_app
def upgrade(app: AppContext, as_json: bool) -> None:
    """Migrate the store to the latest schema (an empty store is also migrated on first use).

    \b
    Example:
      gatewatch --db postgresql+psycopg://gw:secret@localhost/gatewatch db upgrade
    """
    store = app.store
    store.upgrade()
    info = {"url": mask_url(app.settings.db_url.reveal()), "revision": store.current_revision()}
    if as_json:
        echo_json(info)
    else:
        click.echo(f"store {info['url']} is at revision {info['revision']}")


@db_group.command("current")
@json_option
@pass_app
def current(app: AppContext, as_json: bool) -> None:
    """Print the store's current schema revision.

    \b
    Example:
      gatewatch db current
    """
    info = {"url": mask_url(app.settings.db_url.reveal()), "revision": app.store.current_revision()}
    if as_json:
        echo_json(info)
    else:
        click.echo(f"{info['url']}: {info['revision']}")


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
