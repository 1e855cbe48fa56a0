"""The gate's persisted state: the queue (JSON, compare-and-swap), its inbox, tested commits, journal.

One row of ``gate_state`` per gate holds ``plan_json.state_to_json`` of the
whole queue and a ``generation`` counter: :meth:`GateRepository.save_state`
only writes if the generation is still the one the caller loaded, so two gate
daemons on one store can never interleave their steps. Commands from the CLI
(enqueue, dequeue, promote) go through ``gate_command``: the daemon is the
only writer of the state. ``gate_tested`` records, for every build started,
the exact commit it ran on, so landing after a restart uses the commit that
was tested, never a rebuilt one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from gatewatch.errors import GateError
from gatewatch.store import schema as t

DEFAULT_GATE = "default"


@dataclass(frozen=True, slots=True, kw_only=True)
class GateChangeRecord:
    """Where a queued change comes from: its upstream repository and ref."""

    change_id: str
    repo: str
    ref: str
    project: str
    branch: str
    urgent: bool
    enqueued_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GateCommand:
    """A request for the gate daemon (``kind``: enqueue, dequeue, promote)."""

    command_id: int
    kind: str
    body: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TestedBuild:
    """A build started on ``commit_sha``; landing needs ``expected_base`` to be the branch tip."""

    item_id: str
    buildset: int
    build_id: str
    job: str
    repo: str
    branch: str
    commit_sha: str
    expected_base: str
    started_at: datetime


class GateRepository:
    """Reads and writes the gate's tables; never commits (the unit of work does)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- state ----------------------------------------------------------------------------------

    def load_state(self, name: str = DEFAULT_GATE) -> tuple[int, str | None]:
        """(generation, state JSON); (0, None) for a gate that never saved."""
        row = self._conn.execute(
            select(t.gate_state.c.generation, t.gate_state.c.state_json).where(t.gate_state.c.name == name)
        ).first()
        return (0, None) if row is None else (int(row.generation), str(row.state_json))

    def save_state(
        self, state_json: str, *, expected_generation: int, now: datetime, name: str = DEFAULT_GATE
    ) -> int:
        """Write the state if it is still at ``expected_generation``; the new generation."""
        generation = expected_generation + 1
        values = {"generation": generation, "state_json": state_json, "updated_at": now}
        if expected_generation == 0:
            if self.load_state(name)[0] == 0:
                self._conn.execute(insert(t.gate_state).values(name=name, **values))
                return generation
        else:
            table = t.gate_state
            query = update(table).where(table.c.name == name, table.c.generation == expected_generation)
            if self._conn.execute(query.values(**values)).rowcount == 1:
                return generation
        raise GateError(
            f"the gate state {name!r} changed under this process (expected generation {expected_generation})",
            hint="another `gatewatch gate run` uses this store; run only one gate daemon per store",
        )

    # -- changes --------------------------------------------------------------------------------

    def save_change(self, record: GateChangeRecord) -> None:
        """Remember (or replace, for a recheck) where ``record.change_id`` comes from."""
        self._conn.execute(delete(t.gate_change).where(t.gate_change.c.change_id == record.change_id))
        self._conn.execute(
            insert(t.gate_change).values(
                change_id=record.change_id,
                repo=record.repo,
                ref=record.ref,
                project=record.project,
                branch=record.branch,
                urgent=record.urgent,
                enqueued_at=record.enqueued_at,
            )
        )

    def change(self, change_id: str) -> GateChangeRecord | None:
        row = self._conn.execute(select(t.gate_change).where(t.gate_change.c.change_id == change_id)).first()
        if row is None:
            return None
        return GateChangeRecord(
            change_id=row.change_id,
            repo=row.repo,
            ref=row.ref,
            project=row.project,
            branch=row.branch,
            urgent=bool(row.urgent),
            enqueued_at=row.enqueued_at,
        )

    def repos_of(self, projects: Sequence[str]) -> dict[str, str]:
        """project -> the repository its most recently enqueued change came from (projects never
        enqueued are left out)."""
        if not projects:
            return {}
        rows = self._conn.execute(
            select(t.gate_change.c.project, t.gate_change.c.repo)
            .where(t.gate_change.c.project.in_(list(projects)))
            .order_by(t.gate_change.c.enqueued_at, t.gate_change.c.change_id)
        )
        return {row.project: row.repo for row in rows}

    # -- inbox ----------------------------------------------------------------------------------

    def add_command(self, kind: str, body: dict[str, Any], *, now: datetime) -> int:
        result = self._conn.execute(
            insert(t.gate_command).values(kind=kind, body=body, created_at=now).returning(t.gate_command.c.id)
        )
        return int(result.scalar_one())

    def pending_commands(self) -> list[GateCommand]:
        """Commands not handled yet, oldest first."""
        table = t.gate_command
        rows = self._conn.execute(select(table).where(table.c.done_at.is_(None)).order_by(table.c.id))
        return [
            GateCommand(command_id=r.id, kind=r.kind, body=dict(r.body), created_at=r.created_at)
            for r in rows
        ]

    def mark_done(self, command_id: int, *, now: datetime) -> None:
        self._conn.execute(
            update(t.gate_command).where(t.gate_command.c.id == command_id).values(done_at=now)
        )

    # -- tested commits -------------------------------------------------------------------------

    def record_tested(self, tested: TestedBuild) -> None:
        self._conn.execute(
            insert(t.gate_tested).values(
                item_id=tested.item_id,
                buildset=tested.buildset,
                build_id=tested.build_id,
                job=tested.job,
                repo=tested.repo,
                branch=tested.branch,
                commit_sha=tested.commit_sha,
                expected_base=tested.expected_base,
                started_at=tested.started_at,
            )
        )

    def tested(self, item_id: str, buildset: int) -> list[TestedBuild]:
        """Every build started for this buildset (after a restart, possibly on several commits)."""
        table = t.gate_tested
        query = (
            select(table).where(table.c.item_id == item_id, table.c.buildset == buildset).order_by(table.c.id)
        )
        return [
            TestedBuild(
                item_id=r.item_id,
                buildset=int(r.buildset),
                build_id=r.build_id,
                job=r.job,
                repo=r.repo,
                branch=r.branch,
                commit_sha=r.commit_sha,
                expected_base=r.expected_base,
                started_at=r.started_at,
            )
            for r in self._conn.execute(query)
        ]

    def runs_of(self, commit_sha: str, job: str) -> int:
        """How many builds of ``job`` were started on ``commit_sha`` (seeds the next one's run)."""
        table = t.gate_tested
        query = select(func.count()).where(table.c.commit_sha == commit_sha, table.c.job == job)
        return int(self._conn.execute(query).scalar_one())

    # -- journal --------------------------------------------------------------------------------

    def append_event(self, *, generation: int, kind: str, body: dict[str, Any], now: datetime) -> None:
        self._conn.execute(insert(t.gate_event).values(generation=generation, at=now, kind=kind, body=body))

    def events(self, *, limit: int = 100) -> list[tuple[datetime, str, dict[str, Any]]]:
        """The newest journal entries, oldest first."""
        table = t.gate_event
        rows = self._conn.execute(select(table).order_by(table.c.id.desc()).limit(limit)).all()
        return [(r.at, r.kind, dict(r.body)) for r in reversed(rows)]

    def event_count(self) -> int:
        return int(self._conn.execute(select(func.count()).select_from(t.gate_event)).scalar_one())
