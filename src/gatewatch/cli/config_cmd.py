"""`gatewatch config`: show the resolved settings."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.config import FIELDS, render_settings


@click.group("config")
def config_group() -> None:
    """Inspect settings (file gatewatch.toml < GATEWATCH_* environment < flags)."""


@config_group.command("show")
@json_option
@pass_app
def show(app: AppContext, as_json: bool) -> None:
    """Show every setting's resolved value; passwords are masked.

    \b
    Example:
      GATEWATCH_HOME=/srv/gw gatewatch config show --json
    """
    values = render_settings(app.settings)
    if as_json:
        echo_json(values)
        return
    table = Table("setting", "value", "environment variable", "meaning")
    for name, value in values.items():
        help_text, env_var, _ = FIELDS[name]
        table.add_row(name, "" if value is None else str(value), env_var, help_text)
    Console().print(table)


def register(cli: click.Group) -> None:
    cli.add_command(config_group)
