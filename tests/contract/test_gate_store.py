"""GateRepository on SQLite and PostgreSQL: compare-and-swap state, inbox, tested commits, journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gatewatch.domain.gate import GATEWATCH_DEFAULTS, Change, Enqueue
from gatewatch.errors import GateError
from gatewatch.gate.plan import initial_state, step
from gatewatch.gate.plan_json import state_from_json, state_to_json
from gatewatch.store import Store
from gatewatch.store import gate as gate_store
from gatewatch.store.gate import GateChangeRecord

NOW = datetime(2026, 11, 22, 5, 0, tzinfo=UTC)


def _state_json() -> str:
    state, _ = step(
        initial_state(GATEWATCH_DEFAULTS), Enqueue(change=Change(change_id="A", project="p")), NOW
    )
    return state_to_json(state)


def test_state_round_trips_and_generation_counts_saves(store: Store) -> None:
    text = _state_json()
    with store.unit_of_work() as uow:
        assert uow.gate.load_state() == (0, None)
        assert uow.gate.save_state(text, expected_generation=0, now=NOW) == 1
    with store.unit_of_work() as uow:
        assert uow.gate.save_state(text, expected_generation=1, now=NOW) == 2
    with store.unit_of_work(readonly=True) as uow:
        generation, loaded = uow.gate.load_state()
    assert generation == 2
    assert loaded is not None
    assert state_from_json(loaded) == state_from_json(text)


@pytest.mark.parametrize("stale", [0, 1, 3])
def test_a_save_from_a_stale_generation_is_refused_and_changes_nothing(store: Store, stale: int) -> None:
    with store.unit_of_work() as uow:
        uow.gate.save_state("{}", expected_generation=0, now=NOW)
        uow.gate.save_state('{"newest": 1}', expected_generation=1, now=NOW)
    with pytest.raises(GateError, match="another `gatewatch gate run`"), store.unit_of_work() as uow:
        uow.gate.save_state("lost", expected_generation=stale, now=NOW)
    with store.unit_of_work(readonly=True) as uow:
        assert uow.gate.load_state() == (2, '{"newest": 1}')


def test_inbox_is_first_in_first_out_and_done_commands_leave_it(store: Store) -> None:
    with store.unit_of_work() as uow:
        first = uow.gate.add_command("enqueue", {"change_id": "A"}, now=NOW)
        second = uow.gate.add_command("promote", {"change_ids": ["B", "A"]}, now=NOW + timedelta(seconds=1))
    with store.unit_of_work() as uow:
        pending = uow.gate.pending_commands()
        assert [(c.command_id, c.kind, c.body) for c in pending] == [
            (first, "enqueue", {"change_id": "A"}),
            (second, "promote", {"change_ids": ["B", "A"]}),
        ]
        uow.gate.mark_done(first, now=NOW)
    with store.unit_of_work(readonly=True) as uow:
        assert [c.command_id for c in uow.gate.pending_commands()] == [second]


def test_change_records_are_replaced_on_recheck(store: Store) -> None:
    record = GateChangeRecord(
        change_id="42", repo="/srv/w.git", ref="refs/changes/42/1", project="w", branch="main", urgent=False,
        enqueued_at=NOW,
    )  # fmt: skip
    with store.unit_of_work() as uow:
        uow.gate.save_change(record)
        uow.gate.save_change(
            GateChangeRecord(**{**_fields(record), "ref": "refs/changes/42/2", "urgent": True})
        )
    with store.unit_of_work(readonly=True) as uow:
        loaded = uow.gate.change("42")
        assert uow.gate.change("43") is None
    assert loaded is not None
    assert (loaded.ref, loaded.urgent, loaded.enqueued_at) == ("refs/changes/42/2", True, NOW)


def test_tested_builds_per_buildset_and_runs_per_commit(store: Store) -> None:
    def tested(build_id: str, buildset: int, commit: str, job: str = "unit") -> gate_store.TestedBuild:
        return gate_store.TestedBuild(
            item_id="A", buildset=buildset, build_id=build_id, job=job, repo="/r", branch="main",
            commit_sha=commit, expected_base="b" * 40, started_at=NOW,
        )  # fmt: skip

    with store.unit_of_work() as uow:
        for row in (tested("b1", 1, "c" * 40), tested("b2", 1, "c" * 40, "lint"), tested("b3", 2, "d" * 40)):
            uow.gate.record_tested(row)
        uow.gate.record_tested(tested("b4", 2, "d" * 40))
    with store.unit_of_work(readonly=True) as uow:
        assert [t.build_id for t in uow.gate.tested("A", 1)] == ["b1", "b2"]
        assert {t.commit_sha for t in uow.gate.tested("A", 2)} == {"d" * 40}
        assert uow.gate.runs_of("d" * 40, "unit") == 2
        assert uow.gate.runs_of("c" * 40, "lint") == 1
        assert uow.gate.tested("B", 1) == []


def test_journal_keeps_order_and_limit(store: Store) -> None:
    with store.unit_of_work() as uow:
        for n in range(5):
            uow.gate.append_event(generation=n, kind="Tick", body={"n": n}, now=NOW)
    with store.unit_of_work(readonly=True) as uow:
        assert [body["n"] for _, _, body in uow.gate.events(limit=3)] == [2, 3, 4]
        assert uow.gate.event_count() == 5


def _fields(record: GateChangeRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__slots__}


def test_repos_of_gives_each_projects_most_recent_repository(store: Store) -> None:
    rows = [("1", "/old/w.git", "w", 0), ("2", "/srv/g.git", "g", 1), ("3", "/srv/w.git", "w", 2)]
    with store.unit_of_work() as uow:
        for change_id, repo, project, minutes in rows:
            uow.gate.save_change(
                GateChangeRecord(
                    change_id=change_id, repo=repo, ref=f"refs/changes/{change_id}", project=project,
                    branch="main", urgent=False, enqueued_at=NOW + timedelta(minutes=minutes),
                )
            )  # fmt: skip
    with store.unit_of_work(readonly=True) as uow:
        assert uow.gate.repos_of(["w", "g", "never"]) == {"w": "/srv/w.git", "g": "/srv/g.git"}
        assert uow.gate.repos_of([]) == {}
