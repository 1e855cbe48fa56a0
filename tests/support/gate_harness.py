"""A Zuul-style scenario harness for ``gatewatch.gate.plan``: hold builds, release them one by
one, and read the speculative stacks as data.

It plays the executor: StartBuild actions become held builds, CancelBuild drops them,
MergeItem lands at once (``Merged`` with a fake commit) unless ``merge_errors`` says
otherwise, and a buildset whose stack contains a change listed in ``conflicts`` is answered
with ``MergeFailed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gatewatch.domain.gate import (
    Action,
    BuildCompleted,
    BuildStarted,
    CancelBuild,
    Change,
    Dequeue,
    Enqueue,
    Event,
    GateOptions,
    GateState,
    Merged,
    MergeError,
    MergeFailed,
    MergeItem,
    Promote,
    Report,
    ReportResult,
    StartBuild,
)
from gatewatch.gate.plan import initial_state, step

T0 = datetime(2013, 8, 20, 12, 0, tzinfo=UTC)

# Decides a held build's outcome in run_until_idle: (build) -> (success, classification).
Outcome = Callable[[StartBuild], tuple[bool, str]]


@dataclass
class GateHarness:
    options: GateOptions = field(default_factory=GateOptions)
    conflicts: set[str] = field(default_factory=set)
    merge_errors: int = 0
    auto_start: bool = True  # report BuildStarted at once (False: builds keep waiting for nodes)
    state: GateState = field(init=False)
    now: datetime = T0
    held: dict[str, StartBuild] = field(default_factory=dict)
    started: list[StartBuild] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    merged: list[tuple[str, ...]] = field(default_factory=list)
    merge_requests: list[MergeItem] = field(default_factory=list)
    # Audit trail for invariants: changes landed before each StartBuild / MergeItem, and
    # the result of every completed build.
    started_base: dict[str, int] = field(default_factory=dict)
    merged_before: list[int] = field(default_factory=list)
    completed: dict[str, bool] = field(default_factory=dict)
    promoted: list[tuple[str, ...]] = field(default_factory=list)
    commits: dict[str, int] = field(default_factory=lambda: {"": 0})  # commit -> changes landed

    def __post_init__(self) -> None:
        self.state = initial_state(self.options)

    # --- driving ---
    def send(self, event: Event) -> None:
        pending: list[Event] = [event]
        while pending:
            self.now += timedelta(seconds=1)
            current = pending.pop(0)
            if isinstance(current, BuildCompleted):
                self.completed[current.build_id] = current.success
            self.state, actions = step(self.state, current, self.now)
            pending.extend(self._execute(actions))

    def enqueue(self, *change_ids: str, project: str = "org/project", urgent: bool = False) -> None:
        for cid in change_ids:
            self.send(Enqueue(change=Change(change_id=cid, project=project, urgent=urgent)))

    def dequeue(self, change_id: str) -> None:
        self.send(Dequeue(change_id=change_id))

    def promote(self, *change_ids: str) -> None:
        # Remember whole items: a promoted batch takes its other changes along.
        items = [it for q in self.state.queues for it in q.items if set(it.change_ids) & set(change_ids)]
        self.promoted.append(tuple(c for it in items for c in it.change_ids))
        self.send(Promote(change_ids=change_ids))

    def release(
        self, change_id: str, *, fail: bool = False, job: str | None = None, classification: str = ""
    ) -> None:
        """Complete the held builds of the item whose own change is ``change_id``."""
        builds = [b for b in self.held.values() if b.stack[-1] == change_id and job in (None, b.job)]
        assert builds, f"no held build for {change_id} (held: {self.stacks()})"
        for build in builds:
            if self.held.pop(build.build_id, None) is not None:
                self.send(
                    BuildCompleted(build_id=build.build_id, success=not fail, classification=classification)
                )

    def release_all(self) -> None:
        """Complete every held build successfully, oldest first, until none is held."""
        self.run_until_idle(lambda _b: (True, ""))

    def run_until_idle(self, outcome: Outcome) -> None:
        while self.held:
            build = self.held.pop(next(iter(self.held)))
            success, classification = outcome(build)
            self.send(BuildCompleted(build_id=build.build_id, success=success, classification=classification))

    # --- reading ---
    def stacks(self) -> list[list[str]]:
        """The speculative stacks being tested, one per item, in queue order."""
        seen: dict[str, list[str]] = {}
        for build in self.held.values():
            seen.setdefault(build.item_id, list(build.stack))
        order = [it.item_id for q in self.state.queues for it in q.items]
        return [seen[i] for i in order if i in seen]

    def result_of(self, change_id: str) -> list[ReportResult]:
        return [r.result for r in self.reports if change_id in r.change_ids]

    def queue_ids(self) -> list[str]:
        return [it.item_id for q in self.state.queues for it in q.items]

    def window(self) -> int:
        return self.state.queues[0].window

    def _merged_changes(self) -> int:
        return sum(len(item) for item in self.merged)

    # --- executor ---
    def _execute(self, actions: list[Action]) -> list[Event]:
        follow: list[Event] = []
        failed_sets: set[int] = set()
        for action in actions:
            if isinstance(action, StartBuild):
                self.started.append(action)
                # The target the planner built on (the executor may have landed more since).
                self.started_base[action.build_id] = self.commits[action.base]
                if self.conflicts & set(action.stack):
                    if action.buildset not in failed_sets:
                        failed_sets.add(action.buildset)
                        follow.append(MergeFailed(item_id=action.item_id, buildset=action.buildset))
                    continue
                self.held[action.build_id] = action
                if self.auto_start:
                    follow.append(BuildStarted(build_id=action.build_id))
            elif isinstance(action, CancelBuild):
                self.cancelled.append(action.build_id)
                self.held.pop(action.build_id, None)
            elif isinstance(action, MergeItem):
                self.merge_requests.append(action)
                self.merged_before.append(self._merged_changes())
                if self.merge_errors:
                    self.merge_errors -= 1
                    follow.append(MergeError(item_id=action.item_id, message="target moved"))
                else:
                    self.merged.append(action.change_ids)
                    commit = "c-" + "+".join(action.change_ids)
                    self.commits[commit] = self._merged_changes()
                    follow.append(Merged(item_id=action.item_id, commit=commit))
            else:
                self.reports.append(action)
        return follow
