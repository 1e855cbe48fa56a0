"""Docs stay in step with the code: every CLI command and every setting is documented."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from gatewatch.cli.main import cli
from gatewatch.config import FIELDS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _commands(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


COMMANDS = list(_commands(cli, "gatewatch"))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_is_documented_in_cli_reference(path: str, command: click.Command) -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert f"`{path}`" in text, f"docs/cli.md has no section for `{path}`"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            longest = max(param.opts, key=len)
            if longest not in ("--help",):
                assert longest in text, f"docs/cli.md does not mention {longest} of `{path}`"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_every_command_help_has_an_example(path: str, command: click.Command) -> None:
    if isinstance(command, click.Group):
        assert command.help, f"{path} has no help"
        return
    assert command.help, f"`{path}` has no help"
    assert "Example" in command.help, f"`{path} --help` shows no example"


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_every_setting_is_documented(name: str) -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    _, env_var, _ = FIELDS[name]
    assert f"`{name}`" in text, f"setting {name} is not in docs/configuration.md"
    assert env_var in text, f"{env_var} is not in docs/configuration.md"
