"""Settings precedence: defaults < config file < environment < flags; secrets never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.config import FIELDS, Secret, load_settings, mask_url, render_settings
from gatewatch.errors import ConfigError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gatewatch.toml"
    path.write_text(text)
    return path


def test_defaults_put_an_sqlite_store_under_dot_gatewatch(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.home == tmp_path / ".gatewatch"
    assert settings.db_url.reveal() == f"sqlite:///{tmp_path / '.gatewatch' / 'gatewatch.db'}"
    assert settings.blob_dir == tmp_path / ".gatewatch" / "blobs"


@pytest.mark.parametrize(
    ("file_value", "env_value", "flag_value", "expected"),
    [
        ("file", None, None, "file"),
        ("file", "env", None, "env"),
        ("file", "env", "flag", "flag"),
        (None, "env", "flag", "flag"),
        (None, None, "flag", "flag"),
        ("file", None, "flag", "flag"),
    ],
)
def test_precedence_is_file_then_environment_then_flags(
    tmp_path: Path, file_value: str | None, env_value: str | None, flag_value: str | None, expected: str
) -> None:
    if file_value:
        _write(tmp_path, f'[gatewatch]\nhome = "{tmp_path / file_value}"\n')
    env = {"GATEWATCH_HOME": str(tmp_path / env_value)} if env_value else {}
    flags = {"home": tmp_path / flag_value if flag_value else None}
    settings = load_settings(flags=flags, env=env, cwd=tmp_path)
    assert settings.home == tmp_path / expected


def test_config_file_from_environment_variable(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text("max_file_bytes = 1000\n")
    settings = load_settings(env={"GATEWATCH_CONFIG": str(path)}, cwd=tmp_path)
    assert settings.max_file_bytes == 1000


def test_unknown_setting_in_file_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    _write(tmp_path, "[gatewatch]\nhomee = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown setting.*homee") as info:
        load_settings(env={}, cwd=tmp_path)
    assert "known settings" in str(info.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[gatewatch\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_settings(env={}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GATEWATCH_MAX_FILE_BYTES": "lots"}, "not a valid int"),
        ({"GATEWATCH_MAX_FILE_BYTES": "0"}, "must be positive"),
        ({"GATEWATCH_DB_URL": "mysql://x"}, "unsupported store URL"),
        ({"GATEWATCH_LOG_LEVEL": "loud"}, "log_level"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env, cwd=tmp_path)


def test_missing_explicit_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml", env={}, cwd=tmp_path)


def test_password_is_masked_when_rendered() -> None:
    url = "postgresql+psycopg://gw:s3cret@db.example:5432/gw"
    assert mask_url(url) == "postgresql+psycopg://gw:***@db.example:5432/gw"
    secret = Secret(url)
    assert "s3cret" not in repr(secret)
    assert "s3cret" not in str(secret)


def test_rendered_settings_hide_the_password(tmp_path: Path) -> None:
    env = {"GATEWATCH_DB_URL": "postgresql+psycopg://gw:s3cret@localhost/gw"}
    rendered = render_settings(load_settings(env=env, cwd=tmp_path))
    assert set(rendered) == set(FIELDS)
    assert "s3cret" not in str(rendered)


def test_gate_projects_table_gives_jobs_files_relative_to_the_config_file_and_queues(tmp_path: Path) -> None:
    conf = tmp_path / "etc"
    conf.mkdir()
    path = conf / "gatewatch.toml"
    path.write_text(
        '[gatewatch]\nlog_level = "INFO"\n\n'
        '[gate.projects."acme/widgets"]\njobs = "gate/widgets.yaml"\nqueue = "integrated"\n\n'
        '[gate.projects."acme/gadgets"]\nqueue = "integrated"\n'
    )
    settings = load_settings(config_file=path, env={}, cwd=tmp_path)
    assert [(p.project, p.jobs_file, p.queue) for p in settings.gate_projects] == [
        ("acme/widgets", conf.resolve() / "gate" / "widgets.yaml", "integrated"),
        ("acme/gadgets", None, "integrated"),
    ]
    assert settings.log_level == "INFO"
    assert "gate_projects" not in render_settings(settings)


def test_gate_table_works_without_a_gatewatch_table(tmp_path: Path) -> None:
    _write(tmp_path, 'max_file_bytes = 10\n[gate.projects.nova]\njobs = "/srv/jobs.yaml"\n')
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.max_file_bytes == 10
    assert settings.gate_projects[0].jobs_file == Path("/srv/jobs.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gate]\nnodes = 3\n", r"\[gate\]: unknown key\(s\) nodes"),
        ('[gate.projects.nova]\njob = "x.yaml"\n', r'\[gate.projects."nova"\]: unknown key\(s\) job'),
        ("[gate.projects.nova]\nqueue = 3\n", r"queue must be a non-empty string"),
        ('[gate.projects]\nnova = "x.yaml"\n', r'\[gate.projects."nova"\] must be a table'),
        ('gate = "x"\n', r"\[gate\] and \[gate.projects\] must be tables"),
    ],
)
def test_bad_gate_table_is_refused_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(env={}, cwd=tmp_path)
    assert str(path) in str(info.value)
