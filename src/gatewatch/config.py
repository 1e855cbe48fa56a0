"""Settings: defaults < config file (gatewatch.toml) < environment (GATEWATCH_*) < flags.

Only entry points (the CLI, the web app factory, daemons) call ``load_settings``
and pass the result down. Every setting is listed in ``FIELDS`` with its help
text; docs/configuration.md documents each one and a test checks that.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gatewatch.errors import ConfigError

CONFIG_FILE_NAME = "gatewatch.toml"
ENV_PREFIX = "GATEWATCH_"


class Secret:
    """A value that never prints: ``str()`` and ``repr()`` show ``**********``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateProjectSettings:
    """One ``[gate.projects."NAME"]`` table of the config file (see docs/configuration.md).

    ``jobs_file``: the project's gate jobs (the schema of ``.gatewatch.yaml``), used instead
    of the repository's own file; ``queue``: the shared queue the project belongs to.
    """

    project: str
    jobs_file: Path | None = None
    queue: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Resolved settings. ``db_url`` is a Secret: it may carry a password."""

    home: Path
    db_url: Secret
    blob_dir: Path
    fingerprints_dir: Path | None = None
    max_file_bytes: int = 1 << 30
    log_level: str = "WARNING"
    # The [gate] table: structured, so it comes from the config file only (no environment variable).
    gate_projects: tuple[GateProjectSettings, ...] = ()


_GATE_KEYS = frozenset({"projects"})
_GATE_PROJECT_KEYS = frozenset({"jobs", "queue"})

# name -> (help text, environment variable, type)
FIELDS: dict[str, tuple[str, str, type]] = {
    "home": ("Directory for the embedded store and blobs (default ./.gatewatch)", "GATEWATCH_HOME", Path),
    "db_url": (
        "SQLAlchemy URL of the store: sqlite:///path.db (default: <home>/gatewatch.db) or "
        "postgresql+psycopg://user:pass@host/db",
        "GATEWATCH_DB_URL",
        str,
    ),
    "blob_dir": (
        "Directory of the compressed log blob store (default <home>/blobs)",
        "GATEWATCH_BLOB_DIR",
        Path,
    ),
    "fingerprints_dir": (
        "Directory of known-failure fingerprint YAML files (one per bug)",
        "GATEWATCH_FINGERPRINTS_DIR",
        Path,
    ),
    "max_file_bytes": (
        "Largest input file (after decompression) ingest accepts, in bytes",
        "GATEWATCH_MAX_FILE_BYTES",
        int,
    ),
    "log_level": ("Logging level: DEBUG, INFO, WARNING, ERROR", "GATEWATCH_LOG_LEVEL", str),
}


def find_config_file(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """The config file to read: --config, else $GATEWATCH_CONFIG, else ./gatewatch.toml if present."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file {explicit} does not exist", hint="check the --config path")
        return explicit
    if env.get("GATEWATCH_CONFIG"):
        path = Path(env["GATEWATCH_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"GATEWATCH_CONFIG names {path}, which does not exist")
        return path
    candidate = cwd / CONFIG_FILE_NAME
    return candidate if candidate.is_file() else None


def _read_file_tables(path: Path) -> tuple[dict[str, Any], tuple[GateProjectSettings, ...]]:
    """The settings of the file, and its ``[gate]`` table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: invalid TOML: {exc}", hint="fix the syntax at the position shown"
        ) from exc
    gate = data.pop("gate", {})
    section = data.get("gatewatch", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [gatewatch] must be a table")
    unknown = sorted(set(section) - set(FIELDS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {', '.join(unknown)}",
            hint=f"known settings: {', '.join(FIELDS)} (and the [gate] table)",
        )
    return dict(section), _gate_projects(gate, path)


def _gate_projects(gate: Any, path: Path) -> tuple[GateProjectSettings, ...]:
    """The ``[gate.projects."NAME"]`` tables; a jobs file is relative to the config file."""
    if not isinstance(gate, dict) or not isinstance(gate.get("projects", {}), dict):
        raise ConfigError(f"{path}: [gate] and [gate.projects] must be tables")
    _refuse_unknown(gate, _GATE_KEYS, where=f"{path}: [gate]")
    projects = []
    for name, table in gate.get("projects", {}).items():
        where = f'{path}: [gate.projects."{name}"]'
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table", hint='e.g. jobs = "gate/jobs.yaml"')
        _refuse_unknown(table, _GATE_PROJECT_KEYS, where=where)
        for key in _GATE_PROJECT_KEYS & set(table):
            if not isinstance(table[key], str) or not table[key].strip():
                raise ConfigError(f"{where}: {key} must be a non-empty string, got {table[key]!r}")
        jobs = Path(table["jobs"]).expanduser() if "jobs" in table else None
        projects.append(
            GateProjectSettings(
                project=name,
                jobs_file=path.parent.resolve() / jobs if jobs is not None else None,
                queue=table.get("queue", ""),
            )
        )
    return tuple(projects)


def _refuse_unknown(table: dict[str, Any], known: frozenset[str], *, where: str) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}", hint=f"known: {', '.join(sorted(known))}"
        )


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    return {name: env[var] for name, (_, var, _) in FIELDS.items() if env.get(var)}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = FIELDS[name][2]
    if value is None:
        return None
    try:
        if kind is int:
            if isinstance(value, bool):
                raise ValueError("a boolean is not a number")
            return int(value)
        if kind is Path:
            return Path(str(value)).expanduser()
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name} from {source}: {value!r} is not a valid {kind.__name__}") from exc


def load_settings(
    *,
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve settings: defaults < file < environment < flags (None flags are ignored)."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    merged: dict[str, Any] = {}
    path = find_config_file(config_file, env, cwd)
    from_file, gate_projects = _read_file_tables(path) if path else ({}, ())
    layers = [(str(path), from_file)] if path else []
    layers += [("environment", _from_env(env)), ("flags", dict(flags or {}))]
    for source, layer in layers:
        for name, value in layer.items():
            if value is not None:
                merged[name] = _coerce(name, value, source)
    home = Path(merged.get("home") or cwd / ".gatewatch")
    if not home.is_absolute():
        home = cwd / home
    db_url = merged.get("db_url") or f"sqlite:///{home / 'gatewatch.db'}"
    settings = Settings(
        home=home,
        db_url=Secret(db_url),
        blob_dir=Path(merged.get("blob_dir") or home / "blobs"),
        fingerprints_dir=merged.get("fingerprints_dir"),
        max_file_bytes=merged.get("max_file_bytes", 1 << 30),
        log_level=str(merged.get("log_level", "WARNING")).upper(),
        gate_projects=gate_projects,
    )
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    url = settings.db_url.reveal()
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(
            f"unsupported store URL scheme in {mask_url(url)}",
            hint="use sqlite:///path.db or postgresql+psycopg://user:pass@host/db",
        )
    if settings.max_file_bytes <= 0:
        raise ConfigError("max_file_bytes must be positive")
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"log_level {settings.log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def render_settings(settings: Settings) -> dict[str, str | int | None]:
    """Settings as a printable mapping with secrets masked."""
    out: dict[str, str | int | None] = {}
    for f in fields(settings):
        if f.name not in FIELDS:
            continue  # the [gate] table is not a FIELDS setting: `gatewatch gate run` reads it
        value = getattr(settings, f.name)
        if isinstance(value, Secret):
            out[f.name] = mask_url(value.reveal())
        elif isinstance(value, Path):
            out[f.name] = str(value)
        else:
            out[f.name] = value
    return out


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **changes)
