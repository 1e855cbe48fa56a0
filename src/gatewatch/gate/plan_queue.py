"""Lookups over the gate's queues for ``gatewatch.gate.plan`` (pure, no state changes)."""

from __future__ import annotations

from gatewatch.domain.gate import BuildStatus, ChangeQueue, GateOptions


def queue_name_for(options: GateOptions, project: str) -> str:
    """The shared queue a project belongs to; a project in no configured queue gets its own."""
    for queue in options.queues:
        if project in queue.projects:
            return queue.name
    return project


def find_change(queues: list[ChangeQueue], change_id: str) -> tuple[int, int] | None:
    """(queue index, item index) of the item holding ``change_id``, or None."""
    for qi, queue in enumerate(queues):
        for ii, item in enumerate(queue.items):
            if any(c.change_id == change_id for c in item.changes):
                return qi, ii
    return None


def find_build(queues: list[ChangeQueue], build_id: str) -> tuple[int, int, int] | None:
    """(queue, item, build) indexes of a build of a current buildset, or None if stale."""
    for qi, queue in enumerate(queues):
        for ii, item in enumerate(queue.items):
            for bi, build in enumerate(item.builds):
                if build.build_id == build_id:
                    return qi, ii, bi
    return None


def insert_position(queue: ChangeQueue, *, urgent: bool) -> int:
    """Where a new item goes: at the end, or (fast lane) ahead of every item not building yet
    except other urgent ones."""
    if not urgent:
        return len(queue.items)
    position = 0
    for index, item in enumerate(queue.items):
        if item.buildset or item.merging or item.urgent:
            position = index + 1
    return position


def join_batch_position(queue: ChangeQueue, options: GateOptions, *, project: str) -> int | None:
    """The index of the last item if a new change of ``project`` may join it as a batch, else None.

    A change joins only an item none of whose builds got a node yet (so no test work is
    lost: its waiting builds are cancelled and the batch restarts), that is not failing,
    merging or urgent, is below ``batch_max_size``, holds changes of the same project only
    (a batch lands as one commit of one repository), and only while the queue's recent
    failure rate is at most ``batch_max_failure_rate``.
    """
    if options.batch_max_size <= 1 or not queue.items:
        return None
    if any(change.project != project for change in queue.items[-1].changes):
        return None
    if queue.failure_rate > options.batch_max_failure_rate:
        return None
    last = queue.items[-1]
    if last.merging or last.urgent or last.failing or last.confirming:
        return None
    if len(last.changes) >= options.batch_max_size:
        return None
    if any(b.status is not BuildStatus.WAITING for b in last.builds):
        return None
    return len(queue.items) - 1
