"""The gate's records: changes, queue items, builds, and the reducer's events and actions.

Vocabulary follows Zuul's dependent pipeline (see ARCHITECTURE.md's glossary): a *queue* is
shared by a group of projects on one branch; each *item* (one change, or a batch of changes)
is tested on a *speculative stack*: the target branch plus every non-failing item ahead of it.
A *buildset* is one attempt at testing an item on one stack; it holds one build per job.

Everything here is a plain frozen dataclass of strings, numbers, booleans, datetimes and tuples,
so ``gatewatch.gate.plan_json`` can round-trip a whole ``GateState`` through JSON.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class BuildStatus(enum.StrEnum):
    """Where one gate build is: requested (waiting for a node), running, or done."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"

    @property
    def is_done(self) -> bool:
        return self in (BuildStatus.SUCCESS, BuildStatus.FAILURE)


class ReportResult(enum.StrEnum):
    """What the gate tells the change's owner when an item leaves (or cannot enter) a queue."""

    MERGED = "MERGED"
    FAILED = "FAILED"
    DEQUEUED = "DEQUEUED"
    BISECTED = "BISECTED"  # a batch failed and was split in two; its changes stay queued
    REJECTED = "REJECTED"  # the request was refused (already queued, unknown change, merging)
    REQUEUED = "REQUEUED"  # failed, then passed when its failed jobs were re-run: back to the end


# Failure classifications (from triage) that the flaky-aware gate retries instead of ejecting.
RETRYABLE_CLASSIFICATIONS = ("infra", "known-flaky")


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """A change approved for the gate. ``urgent`` asks for the fast lane."""

    change_id: str
    project: str
    branch: str = "main"
    urgent: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One gate job; a failed non-voting job never fails an item."""

    name: str
    voting: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectJobs:
    """The jobs a project's changes must pass in the gate."""

    project: str
    jobs: tuple[JobSpec, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueDef:
    """A shared queue: the changes of these projects are tested on top of each other."""

    name: str
    projects: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowOptions:
    """Zuul's active window: only the first ``window`` items of a queue get builds.

    Defaults are Zuul's: start 20, floor 3, +1 per merge (linear increase), divided by 2
    per failure at the head (``decrease_type`` "exponential"; "linear" subtracts
    ``decrease_factor`` instead). ``ceiling`` 0 means unbounded.
    """

    start: int = 20
    floor: int = 3
    increase: int = 1
    decrease_type: str = "exponential"
    decrease_factor: int = 2
    ceiling: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class GateOptions:
    """How the gate behaves. The defaults are Zuul's dependent pipeline.

    Beyond Zuul: ``flaky_retries`` re-runs a failed build that triage classified as infra or
    known-flaky (at most that many extra attempts per job and buildset) instead of failing
    the item; ``batch_max_size`` > 1 lets waiting changes share one item (bors-like), split
    in halves when the batch fails, and only while the queue's recent failure rate is at
    most ``batch_max_failure_rate``; ``fast_lane`` puts urgent changes ahead of every item
    that is not building yet. ``defer_ejection`` False gives an immediate-eject queue
    (GitHub/GitLab merge queues): a failing item leaves at once, wherever it is.
    """

    window: WindowOptions = WindowOptions()
    queues: tuple[QueueDef, ...] = ()
    jobs: tuple[ProjectJobs, ...] = ()
    default_jobs: tuple[JobSpec, ...] = (JobSpec(name="gate"),)
    defer_ejection: bool = True
    flaky_retries: int = 0
    batch_max_size: int = 1
    batch_max_failure_rate: float = 1.0
    fast_lane: bool = False
    confirm_failures: int = 0
    merge_attempts: int = 3


# gatewatch's default gate: Zuul's pipeline plus the options the simulator justifies
# (docs/gate.md): retry builds triage calls flaky (twice), confirm a failure by re-running
# its failed jobs in a side lane before ejecting, shrink the window by one per failure at
# the head instead of halving it, and a fast lane for urgent changes. Batching stays off.
GATEWATCH_DEFAULTS = GateOptions(
    flaky_retries=2,
    confirm_failures=1,
    fast_lane=True,
    window=WindowOptions(decrease_type="linear", decrease_factor=1),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateBuild:
    """One build of one job in an item's current buildset."""

    build_id: str
    job: str
    voting: bool = True
    attempt: int = 1
    status: BuildStatus = BuildStatus.WAITING
    classification: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueItem:
    """One entry of a queue: a change, or a batch of changes tested and merged together.

    ``stack`` lists the ids of the items ahead that the current buildset includes (target
    plus those, plus this item, is what is being tested); ``buildset`` 0 means no builds yet.
    ``failing`` is set by a voting failure or a merge conflict of the current buildset.
    ``confirming`` marks a failed item re-running its failed jobs in the side lane: it is
    skipped by the queue (neither head nor part of any stack) until those builds end.
    """

    item_id: str
    changes: tuple[Change, ...]
    enqueued_at: datetime
    urgent: bool = False
    buildset: int = 0
    stack: tuple[str, ...] = ()
    builds: tuple[GateBuild, ...] = ()
    failing: bool = False
    failure: str = ""
    merge_failed: bool = False
    merging: bool = False
    merge_errors: int = 0
    confirmations: int = 0
    confirming: bool = False

    @property
    def change_ids(self) -> tuple[str, ...]:
        return tuple(c.change_id for c in self.changes)

    @property
    def complete(self) -> bool:
        """True when the current buildset has a result: all builds done, or unmergeable."""
        if not self.buildset:
            return False
        return self.merge_failed or all(b.status.is_done for b in self.builds)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeQueue:
    """A shared queue for one project group and branch. ``base`` is the last merged commit."""

    name: str
    branch: str
    window: int
    items: tuple[QueueItem, ...] = ()
    base: str = ""
    failure_rate: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GateState:
    """The whole gate. ``counter`` feeds deterministic build and buildset ids."""

    options: GateOptions = GateOptions()
    queues: tuple[ChangeQueue, ...] = ()
    counter: int = 0


# --- events: what happened (fed to plan.step) ---


@dataclass(frozen=True, slots=True, kw_only=True)
class Enqueue:
    """A change was approved (or rechecked) for the gate."""

    change: Change


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildStarted:
    build_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildCompleted:
    """A build finished; ``classification`` is triage's verdict on a failure, if any."""

    build_id: str
    success: bool
    classification: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeFailed:
    """The speculative state of ``item_id``'s buildset could not be built (merge conflict)."""

    item_id: str
    buildset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Merged:
    """The head item landed: the target branch now points at ``commit``."""

    item_id: str
    commit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeError:
    """Landing the tested commit failed (the target moved, push refused...)."""

    item_id: str
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dequeue:
    change_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Promote:
    """Move these changes' items to the front of their queue, in this order."""

    change_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """Nothing happened; re-plan (useful after a restart)."""


Event = Enqueue | BuildStarted | BuildCompleted | MergeFailed | Merged | MergeError | Dequeue | Promote | Tick


# --- actions: what the executor must do (returned by plan.step) ---


@dataclass(frozen=True, slots=True, kw_only=True)
class StartBuild:
    """Run ``job`` on target ``base`` + ``stack`` (change ids, the item's own last).

    The executor builds the speculative state once per ``buildset`` and reports
    ``MergeFailed`` instead of starting builds when it cannot.
    """

    build_id: str
    item_id: str
    job: str
    stack: tuple[str, ...]
    base: str
    buildset: int
    attempt: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelBuild:
    build_id: str
    item_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeItem:
    """Land exactly the commit tested by ``buildset`` (fast-forward the target to it)."""

    item_id: str
    buildset: int
    change_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    item_id: str
    change_ids: tuple[str, ...]
    result: ReportResult
    message: str
    buildset: int = 0


Action = StartBuild | CancelBuild | MergeItem | Report
