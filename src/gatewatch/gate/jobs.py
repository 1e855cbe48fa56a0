"""Parse a project's gate job definitions (``.gatewatch.yaml``) into a :class:`JobConfig` (pure).

The file lives in the repository under test (or is given by the gate's config)::

    jobs:
      - name: unit
        command: [python, -m, pytest, --junitxml=junit.xml]   # argv: run as is, no shell
        timeout_s: 600
        artifacts: [junit.xml]                                # copied into the build directory
      - name: lint
        command: "ruff check . && mypy src"                   # a string: run by /bin/sh -c
        voting: false
        env: {PYTHONDONTWRITEBYTECODE: "1"}
    required:                                                 # optional, per project
      acme/widgets: [unit]

Trust: a ``command`` string is run through ``/bin/sh -c`` only because the
repository's owners wrote it, exactly as they write the tests the job runs. The
gate reads the file from the speculative state, so a proposed change can change
its own job commands (as Zuul lets untrusted projects change their jobs
speculatively): the commands have the same trust as the code under test, and
isolation must come from the node (a container, VM or dedicated user), never
from this parser. Nothing here is ever interpolated into a shell by gatewatch.

Every problem raises :class:`JobConfigError` naming the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from gatewatch.errors import FileLocatedError, GateError

DEFAULT_CONFIG_NAME = ".gatewatch.yaml"
DEFAULT_TIMEOUT_S = 3600.0
MAX_CONFIG_BYTES = 1 << 20
_JOB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JOB_KEYS = frozenset({"name", "command", "timeout_s", "voting", "env", "artifacts"})
_TOP_KEYS = frozenset({"jobs", "required"})
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"


class JobConfigError(FileLocatedError, GateError):
    """A job definition file is missing or invalid; ``path`` and ``line`` locate the problem."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDefinition:
    """One job: ``argv`` is what is executed (``/bin/sh -c TEXT`` when ``shell``)."""

    name: str
    argv: tuple[str, ...]
    shell: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    voting: bool = True
    env: tuple[tuple[str, str], ...] = ()
    artifacts: tuple[str, ...] = ()
    line: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobConfig:
    """All jobs of a repository, and which of them each project requires to merge."""

    path: str
    jobs: tuple[JobDefinition, ...]
    required: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def job(self, name: str) -> JobDefinition:
        for job in self.jobs:
            if job.name == name:
                return job
        raise JobConfigError(f"no job named {name!r}", path=self.path)

    def required_jobs(self, project: str) -> tuple[str, ...]:
        """The jobs that must pass for ``project``: its ``required`` list, else every voting job."""
        for name, jobs in self.required:
            if name == project:
                return jobs
        return tuple(job.name for job in self.jobs if job.voting)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: yaml.Node, *, path: str, what: str) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise JobConfigError(f"{what} must be a single value", path=path, line=_line(node))
    try:
        return yaml.SafeLoader("").construct_object(node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "cannot be read"
        raise JobConfigError(f"{what}: {problem}", path=path, line=_line(node)) from None


def _text(node: yaml.Node, *, path: str, what: str) -> str:
    value = _scalar(node, path=path, what=what)
    if not isinstance(value, str) or not value.strip():
        raise JobConfigError(f"{what} must be a non-empty string", path=path, line=_line(node))
    return value


def _plain(node: yaml.Node, *, path: str, what: str) -> None:
    """Refuse YAML tags on lists and mappings (``!!python/...``): plain data only."""
    if node.tag not in (_SEQ_TAG, _MAP_TAG):
        raise JobConfigError(f"{what}: the YAML tag {node.tag!r} is not allowed", path=path, line=_line(node))


def _mapping(node: yaml.Node, *, path: str, what: str) -> list[tuple[str, yaml.Node, int]]:
    if not isinstance(node, yaml.MappingNode):
        raise JobConfigError(f"{what} must be a mapping", path=path, line=_line(node))
    _plain(node, path=path, what=what)
    items: list[tuple[str, yaml.Node, int]] = []
    seen: set[str] = set()
    for key_node, value_node in node.value:
        key = _text(key_node, path=path, what=f"a key of {what}")
        if key in seen:
            raise JobConfigError(f"{what} repeats the key {key!r}", path=path, line=_line(key_node))
        seen.add(key)
        items.append((key, value_node, _line(key_node)))
    return items


def _sequence(node: yaml.Node, *, path: str, what: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise JobConfigError(f"{what} must be a list", path=path, line=_line(node))
    _plain(node, path=path, what=what)
    return list(node.value)


def _command(node: yaml.Node, *, path: str, job: str) -> tuple[tuple[str, ...], bool]:
    if isinstance(node, yaml.SequenceNode):
        _plain(node, path=path, what=f"command of job {job!r}")
        argv = [_scalar(item, path=path, what=f"an argument of job {job!r}") for item in node.value]
        if not argv or not all(
            isinstance(arg, str | int | float) and not isinstance(arg, bool) for arg in argv
        ):
            raise JobConfigError(
                f"job {job!r}: command must be a non-empty list of strings",
                path=path,
                line=_line(node),
            )
        return tuple(str(arg) for arg in argv), False
    text = _text(node, path=path, what=f"command of job {job!r}")
    return ("/bin/sh", "-c", text), True


def _timeout(node: yaml.Node, *, path: str, job: str) -> float:
    value = _scalar(node, path=path, what=f"timeout_s of job {job!r}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 7 * 86400:
        raise JobConfigError(
            f"job {job!r}: timeout_s must be a number of seconds between 0 and 604800, got {value!r}",
            path=path,
            line=_line(node),
        )
    return float(value)


def _flag(node: yaml.Node, *, path: str, what: str) -> bool:
    value = _scalar(node, path=path, what=what)
    if not isinstance(value, bool):
        raise JobConfigError(f"{what} must be true or false, got {value!r}", path=path, line=_line(node))
    return value


def _env(node: yaml.Node, *, path: str, job: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for key, value_node, line in _mapping(node, path=path, what=f"env of job {job!r}"):
        if not _ENV_NAME.fullmatch(key) or key.startswith("GATEWATCH_"):
            raise JobConfigError(
                f"job {job!r}: {key!r} is not a valid environment variable name",
                path=path,
                line=line,
                hint="names are letters, digits and _; GATEWATCH_* are set by the runner",
            )
        value = _scalar(value_node, path=path, what=f"env {key} of job {job!r}")
        pairs.append(
            (key, "" if value is None else str(value).lower() if isinstance(value, bool) else str(value))
        )
    return tuple(pairs)


def _artifacts(node: yaml.Node, *, path: str, job: str) -> tuple[str, ...]:
    names = []
    for item in _sequence(node, path=path, what=f"artifacts of job {job!r}"):
        name = _text(item, path=path, what=f"an artifact of job {job!r}")
        if name.startswith("/") or ".." in name.split("/"):
            raise JobConfigError(
                f"job {job!r}: artifact {name!r} must be a relative path inside the repository",
                path=path,
                line=_line(item),
            )
        names.append(name)
    return tuple(names)


def _job(node: yaml.Node, *, path: str) -> JobDefinition:
    fields = {key: value for key, value, _ in _mapping(node, path=path, what="a job")}
    unknown = sorted(set(fields) - _JOB_KEYS)
    if unknown:
        raise JobConfigError(
            f"unknown job key {unknown[0]!r}",
            path=path,
            line=_line(node),
            hint=f"known keys: {sorted(_JOB_KEYS)}",
        )
    if "name" not in fields or "command" not in fields:
        raise JobConfigError("a job needs a name and a command", path=path, line=_line(node))
    name = _text(fields["name"], path=path, what="a job name")
    if not _JOB_NAME.fullmatch(name):
        raise JobConfigError(
            f"job name {name!r} must be letters, digits, '.', '_' or '-'",
            path=path,
            line=_line(fields["name"]),
        )
    argv, shell = _command(fields["command"], path=path, job=name)
    return JobDefinition(
        name=name,
        argv=argv,
        shell=shell,
        timeout_s=_timeout(fields["timeout_s"], path=path, job=name)
        if "timeout_s" in fields
        else DEFAULT_TIMEOUT_S,
        voting=_flag(fields["voting"], path=path, what=f"voting of job {name!r}")
        if "voting" in fields
        else True,
        env=_env(fields["env"], path=path, job=name) if "env" in fields else (),
        artifacts=_artifacts(fields["artifacts"], path=path, job=name) if "artifacts" in fields else (),
        line=_line(node),
    )


def _required(
    node: yaml.Node, *, path: str, known: Mapping[str, JobDefinition]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    projects = []
    for project, jobs_node, _ in _mapping(node, path=path, what="required"):
        names = []
        for item in _sequence(jobs_node, path=path, what=f"required jobs of {project!r}"):
            name = _text(item, path=path, what=f"a required job of {project!r}")
            if name not in known:
                raise JobConfigError(
                    f"project {project!r} requires the undefined job {name!r}", path=path, line=_line(item)
                )
            names.append(name)
        projects.append((project, tuple(names)))
    return tuple(projects)


def _compose(text: str, *, path: str) -> yaml.Node | None:
    if len(text) > MAX_CONFIG_BYTES:
        raise JobConfigError(f"job definitions larger than {MAX_CONFIG_BYTES} bytes are refused", path=path)
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise JobConfigError(f"not valid YAML: {exc.problem or exc.context}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise JobConfigError(f"not valid YAML: {exc}", path=path) from None


def parse_job_config(text: str, *, path: str) -> JobConfig:
    """The jobs defined by ``text`` (the content of ``path``); JobConfigError names file and line."""
    root = _compose(text, path=path)
    if root is None:
        raise JobConfigError("the file defines no jobs", path=path, line=1, hint="add a 'jobs:' list")
    top = {key: (value, line) for key, value, line in _mapping(root, path=path, what="the file")}
    for key, (_, line) in top.items():
        if key not in _TOP_KEYS:
            raise JobConfigError(
                f"unknown top-level key {key!r}", path=path, line=line, hint="expected 'jobs' and 'required'"
            )
    if "jobs" not in top:
        raise JobConfigError(
            "the file defines no jobs", path=path, line=_line(root), hint="add a 'jobs:' list"
        )
    jobs: dict[str, JobDefinition] = {}
    for node in _sequence(top["jobs"][0], path=path, what="jobs"):
        job = _job(node, path=path)
        if job.name in jobs:
            raise JobConfigError(f"job {job.name!r} is defined twice", path=path, line=job.line)
        jobs[job.name] = job
    if not jobs:
        raise JobConfigError("the jobs list is empty", path=path, line=top["jobs"][1])
    required = _required(top["required"][0], path=path, known=jobs) if "required" in top else ()
    return JobConfig(path=path, jobs=tuple(jobs.values()), required=required)
