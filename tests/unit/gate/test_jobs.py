"""Parsing .gatewatch.yaml job definitions (gate/jobs.py): table-driven, plus a round-trip property."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gatewatch.gate.jobs import DEFAULT_TIMEOUT_S, JobConfig, JobConfigError, JobDefinition, parse_job_config

FULL = """\
jobs:
  - name: unit
    command: [python, -m, pytest, --junitxml=junit.xml]
    timeout_s: 600
    artifacts: [junit.xml, "reports/*.xml"]
  - name: lint
    command: "ruff check . && mypy src"
    voting: false
    env: {PYTHONDONTWRITEBYTECODE: 1, STRICT: true, EMPTY: null}
  - name: docs
    command: [make, docs]
required:
  acme/widgets: [unit, docs]
"""


def test_full_file() -> None:
    config = parse_job_config(FULL, path=".gatewatch.yaml")

    assert config == JobConfig(
        path=".gatewatch.yaml",
        jobs=(
            JobDefinition(
                name="unit",
                argv=("python", "-m", "pytest", "--junitxml=junit.xml"),
                timeout_s=600.0,
                artifacts=("junit.xml", "reports/*.xml"),
                line=2,
            ),
            JobDefinition(
                name="lint",
                argv=("/bin/sh", "-c", "ruff check . && mypy src"),
                shell=True,
                voting=False,
                env=(("PYTHONDONTWRITEBYTECODE", "1"), ("STRICT", "true"), ("EMPTY", "")),
                line=6,
            ),
            JobDefinition(name="docs", argv=("make", "docs"), line=10),
        ),
        required=(("acme/widgets", ("unit", "docs")),),
    )
    assert config.job("lint").voting is False
    assert config.job("docs").timeout_s == DEFAULT_TIMEOUT_S


@pytest.mark.parametrize(
    ("project", "required"),
    [("acme/widgets", ("unit", "docs")), ("acme/other", ("unit", "docs"))],
)
def test_required_jobs_per_project(project: str, required: tuple[str, ...]) -> None:
    assert parse_job_config(FULL, path="f").required_jobs(project) == required


def test_without_required_every_voting_job_is_required() -> None:
    text = "jobs:\n  - {name: a, command: [x]}\n  - {name: b, command: [y], voting: false}\n"
    assert parse_job_config(text, path="f").required_jobs("any") == ("a",)


def test_unknown_job_name_is_an_error() -> None:
    with pytest.raises(JobConfigError, match="no job named 'nope'"):
        parse_job_config(FULL, path="f").job("nope")


BAD = [
    ("", 1, "defines no jobs"),
    ("jobs: [", 1, "not valid YAML"),
    ("- a\n- b\n", 1, "the file must be a mapping"),
    ("jobs: []\n", 1, "the jobs list is empty"),
    ("jobs:\n  - name: a\n    command: [x]\nextra: 1\n", 4, "unknown top-level key 'extra'"),
    ("jobs:\n  - name: a\n", 2, "needs a name and a command"),
    ("jobs:\n  - name: a\n    command: []\n", 3, "non-empty list of strings"),
    ("jobs:\n  - name: a\n    command: [x, [y]]\n", 3, "must be a single value"),
    ("jobs:\n  - name: a\n    command: '  '\n", 3, "non-empty string"),
    ("jobs:\n  - name: a b\n    command: [x]\n", 2, "must be letters, digits"),
    ("jobs:\n  - name: a\n    command: [x]\n    timeout_s: -1\n", 4, "timeout_s must be a number"),
    ("jobs:\n  - name: a\n    command: [x]\n    timeout_s: soon\n", 4, "timeout_s must be a number"),
    ("jobs:\n  - name: a\n    command: [x]\n    voting: maybe\n", 4, "must be true or false"),
    (
        "jobs:\n  - name: a\n    command: [x]\n    env: {GATEWATCH_BUILD_SEED: 1}\n",
        4,
        "not a valid environment",
    ),
    ("jobs:\n  - name: a\n    command: [x]\n    env: {1A: x}\n", 4, "not a valid environment"),
    ("jobs:\n  - name: a\n    command: [x]\n    artifacts: [../etc/passwd]\n", 4, "relative path inside"),
    ("jobs:\n  - name: a\n    command: [x]\n    artifacts: [/etc/passwd]\n", 4, "relative path inside"),
    ("jobs:\n  - name: a\n    command: [x]\n    artifacts: junit.xml\n", 4, "must be a list"),
    ("jobs:\n  - name: a\n    command: [x]\n    nodes: 2\n", 2, "unknown job key 'nodes'"),
    ("jobs:\n  - name: a\n    command: [x]\n  - name: a\n    command: [y]\n", 4, "defined twice"),
    ("jobs:\n  - name: a\n    name: b\n    command: [x]\n", 3, "repeats the key 'name'"),
    ("jobs:\n  - name: a\n    command: [x]\nrequired:\n  p: [b]\n", 5, "undefined job 'b'"),
    ("jobs:\n  - name: a\n    command: !!python/object/apply:os.system [ls]\n", 3, "command of job 'a'"),
    ("jobs:\n  - name: a\n    command: [x, !!binary aGk=]\n", 3, "non-empty list of strings"),
    ("!!python/object:os.Foo\njobs: []\n", 1, "is not allowed"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[m for _, _, m in BAD])
def test_bad_file_names_file_and_line(text: str, line: int, message: str) -> None:
    with pytest.raises(JobConfigError) as info:
        parse_job_config(text, path="repo/.gatewatch.yaml")

    assert (info.value.path, info.value.line) == ("repo/.gatewatch.yaml", line)
    assert message in info.value.message
    assert str(info.value).startswith(f"repo/.gatewatch.yaml:{line}: ")


def test_huge_file_is_refused() -> None:
    with pytest.raises(JobConfigError, match="larger than"):
        parse_job_config("#" * (2 << 20), path="f")


argv_item = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20)


@given(
    name=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
    argv=st.lists(argv_item, min_size=1, max_size=5),
    timeout_s=st.floats(min_value=0.001, max_value=604800, allow_nan=False),
    voting=st.booleans(),
)
def test_any_dumped_job_parses_back(name: str, argv: list[str], timeout_s: float, voting: bool) -> None:
    text = yaml.safe_dump(
        {"jobs": [{"name": name, "command": argv, "timeout_s": timeout_s, "voting": voting}]},
        allow_unicode=True,
    )

    (job,) = parse_job_config(text, path="f").jobs

    assert (job.name, job.argv, job.timeout_s, job.voting, job.shell) == (
        name,
        tuple(argv),
        timeout_s,
        voting,
        False,
    )
