"""Gate use cases for the CLI and the web: queue requests for the daemon, read the queue, open the loop.

The daemon (``gatewatch gate run``, :class:`gatewatch.gate.loop.GateLoop`) is the
only writer of the queue state; ``enqueue``, ``dequeue``, ``promote`` and
``recheck`` add a command to the store's inbox that the daemon applies in order.
A change already queued (or already waiting in the inbox) is refused here, and
the planner refuses a duplicate that slips past (two enqueues at the same time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gatewatch.config import GateProjectSettings
from gatewatch.domain.gate import GATEWATCH_DEFAULTS, GateOptions, GateState, QueueDef
from gatewatch.domain.triage import VerdictKind
from gatewatch.errors import GateError
from gatewatch.gate.jobs import JobConfig
from gatewatch.gate.plan_json import state_from_json
from gatewatch.gate.runner import load_job_file
from gatewatch.services.failed_tests import load_failed_tests
from gatewatch.services.triage import load_fingerprint_set, triage_builds
from gatewatch.store import Store
from gatewatch.store.gate import DEFAULT_GATE, GateChangeRecord, GateCommand

STRATEGIES = {"zuul": GateOptions(), "gatewatch": GATEWATCH_DEFAULTS}


@dataclass(frozen=True, slots=True, kw_only=True)
class EnqueueRequest:
    """``ref`` of upstream ``repo`` (a path or git URL) approved for ``branch``."""

    repo: str
    ref: str
    change_id: str = ""
    project: str = ""
    branch: str = "main"
    urgent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GateView:
    """What ``gate status`` shows: the saved queue and the requests the daemon has not applied yet."""

    state: GateState | None
    generation: int
    pending: tuple[GateCommand, ...]
    changes: dict[str, GateChangeRecord]


@dataclass(frozen=True, slots=True, kw_only=True)
class GateConfig:
    """What the config file's ``[gate.projects]`` tables say: jobs by project, shared queues."""

    project_jobs: tuple[tuple[str, JobConfig], ...] = ()
    queues: tuple[QueueDef, ...] = ()


def load_gate_config(projects: Sequence[GateProjectSettings]) -> GateConfig:
    """Read every configured job file (JobConfigError names file and line) and group the
    projects by queue name, in the order the config file lists them."""
    jobs = tuple((p.project, load_job_file(p.jobs_file)) for p in projects if p.jobs_file is not None)
    groups: dict[str, list[str]] = {}
    for project in projects:
        if project.queue:
            groups.setdefault(project.queue, []).append(project.project)
    queues = tuple(QueueDef(name=name, projects=tuple(members)) for name, members in groups.items())
    return GateConfig(project_jobs=jobs, queues=queues)


def gate_options(strategy: str, config: GateConfig | None = None) -> GateOptions:
    """The planner options of a named strategy: ``zuul`` (Zuul's pipeline) or ``gatewatch``,
    with the shared queues of ``config``."""
    try:
        options = STRATEGIES[strategy]
    except KeyError:
        raise GateError(
            f"unknown gate strategy {strategy!r}", hint=f"use one of {', '.join(STRATEGIES)}"
        ) from None
    return options if config is None else replace(options, queues=config.queues)


def normalise_repo(repo: str) -> str:
    """A local path made absolute (checked to exist); a URL kept as given."""
    if "://" in repo or (":" in repo and not Path(repo).exists()):
        return repo
    path = Path(repo).expanduser().resolve()
    if not path.exists():
        raise GateError(
            f"repository {repo!r} does not exist", hint="give the path or URL of the upstream repository"
        )
    return str(path)


def enqueue(store: Store, request: EnqueueRequest, *, now: datetime | None = None) -> GateChangeRecord:
    """Ask the gate to test and merge a change; raises GateError if it is already queued."""
    now = now or datetime.now(UTC)
    repo = normalise_repo(request.repo)
    project = request.project or Path(repo.rstrip("/")).name.removesuffix(".git")
    record = GateChangeRecord(
        change_id=request.change_id or request.ref,
        repo=repo,
        ref=request.ref,
        project=project,
        branch=request.branch,
        urgent=request.urgent,
        enqueued_at=now,
    )
    with store.unit_of_work() as uow:
        _refuse_if_queued(uow.gate.load_state(DEFAULT_GATE)[1], uow.gate.pending_commands(), record.change_id)
        uow.gate.save_change(record)
        body = {
            "change_id": record.change_id,
            "project": project,
            "branch": record.branch,
            "urgent": record.urgent,
        }
        uow.gate.add_command("enqueue", body, now=now)
    return record


def recheck(store: Store, change_id: str, *, now: datetime | None = None) -> None:
    """Enqueue again a change the gate knows (after it failed or was dequeued)."""
    now = now or datetime.now(UTC)
    with store.unit_of_work() as uow:
        record = uow.gate.change(change_id)
        if record is None:
            raise GateError(f"change {change_id!r} was never enqueued", hint="use `gatewatch gate enqueue`")
        _refuse_if_queued(uow.gate.load_state(DEFAULT_GATE)[1], uow.gate.pending_commands(), change_id)
        body = {
            "change_id": change_id,
            "project": record.project,
            "branch": record.branch,
            "urgent": record.urgent,
        }
        uow.gate.add_command("enqueue", body, now=now)


def request(store: Store, kind: str, body: dict[str, Any], *, now: datetime | None = None) -> int:
    """Queue a ``dequeue`` or ``promote`` request for the daemon; its id."""
    with store.unit_of_work() as uow:
        return uow.gate.add_command(kind, body, now=now or datetime.now(UTC))


def load_view(store: Store) -> GateView:
    with store.unit_of_work(readonly=True) as uow:
        generation, text = uow.gate.load_state(DEFAULT_GATE)
        pending = tuple(uow.gate.pending_commands())
        state = state_from_json(text) if text else None
        ids = {c.change_id for q in state.queues for it in q.items for c in it.changes} if state else set()
        ids |= {str(c.body.get("change_id", "")) for c in pending}
        changes = {cid: rec for cid in sorted(ids) if (rec := uow.gate.change(cid)) is not None}
    return GateView(state=state, generation=generation, pending=pending, changes=changes)


def _refuse_if_queued(state_json: str | None, pending: list[GateCommand], change_id: str) -> None:
    waiting = any(c.kind == "enqueue" and c.body.get("change_id") == change_id for c in pending)
    state = state_from_json(state_json) if state_json else None
    queued = state is not None and any(change_id in it.change_ids for q in state.queues for it in q.items)
    if waiting or queued:
        raise GateError(f"change {change_id!r} is already in the gate", hint="see `gatewatch gate status`")


def classify_with_triage(store: Store, build_uuid: str) -> str | None:
    """The gate's classifier: triage the failed build now and map its verdict for the planner.

    An infra verdict becomes "infra" and a known bug "known-flaky" (both retried by the
    flaky-aware gate). An unknown failure whose failed tests are all flaky in that job (test
    health: the same code passed and failed before) is "known-flaky" too; a failed test that
    is new, broken or regressed, or a failure without failed tests, leaves it None, so the
    planner treats it as real.
    """
    fset = load_fingerprint_set(store, None)
    triage_builds(store, [build_uuid], fset)
    with store.unit_of_work(readonly=True) as uow:
        verdict = uow.triage.verdict(build_uuid)
        builds = uow.triage.builds([build_uuid])
    if verdict is None:
        return None
    if verdict.kind is VerdictKind.UNKNOWN and builds:
        return "known-flaky" if load_failed_tests(store, builds[0]).all_flaky else None
    return {VerdictKind.INFRA: "infra", VerdictKind.KNOWN_BUG: "known-flaky"}.get(verdict.kind)
