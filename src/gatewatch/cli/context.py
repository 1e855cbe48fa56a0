"""What every command shares: settings resolved once and the store opened lazily."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click

from gatewatch.config import Settings, load_settings
from gatewatch.store import Store, open_store


class AppContext:
    """Holds the resolved settings and the open store for one CLI invocation."""

    def __init__(self, *, flags: dict[str, Any], config_file: Path | None) -> None:
        self._flags = flags
        self._config_file = config_file
        self._settings: Settings | None = None
        self._store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(flags=self._flags, config_file=self._config_file)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            settings = self.settings
            url = settings.db_url.reveal()
            if url.startswith("sqlite:"):
                settings.home.mkdir(parents=True, exist_ok=True)
            self._store = open_store(url, blob_dir=settings.blob_dir)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


pass_app = click.make_pass_decorator(AppContext)

json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON (dates and paths as strings; NaN and infinities as null).

    Python's json writes NaN/Infinity, which strict parsers (jq, JavaScript's JSON.parse)
    reject; a mean of nothing is "no value", so it becomes null.
    """
    click.echo(json.dumps(_finite(data), indent=2, sort_keys=True, default=str, allow_nan=False))


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_finite(value) for value in data]
    return data
