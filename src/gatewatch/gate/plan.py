"""The gate's planner: a pure reducer ``step(state, event, now) -> (state, actions)``.

It follows Zuul's dependent pipeline (zuul/manager/__init__.py ``processQueue`` and
``_processOneItem``, zuul/manager/dependent.py, zuul/model.py ``ChangeQueue``):

* one shared queue per project group and branch, items in order;
* each item is tested on its nearest non-failing item ahead (NNFI): the speculative stack of
  an item is the target plus every non-failing item ahead of it, plus the item;
* when an item starts failing, every item behind that included it is reset at once (eager
  reset): its builds are cancelled and restarted on the new stack;
* deferred ejection: a failing item leaves only at the head with all its jobs done; if an
  item ahead of it fails meanwhile, its stack changes, so it is reset and retested without
  the culprit (a good change is never ejected because of a bad one ahead);
* a merge conflict of an item's speculative state fails the item like a failed job;
* the active window (start 20, floor 3, +1 per merge, halved per failure at the head);
* promote, dequeue, recheck (enqueue again); per-project jobs, voting and non-voting.

Beyond Zuul (``GateOptions``): flaky-aware retries, batches with bisection, a fast lane and
an immediate-eject mode used to model GitHub/GitLab merge queues. See docs/gate.md.

The reducer never raises for races an executor can produce (a stale build completing, a
dequeue of a change that just merged): it ignores them or answers with a REJECTED report.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from gatewatch.domain.gate import (
    RETRYABLE_CLASSIFICATIONS,
    Action,
    BuildCompleted,
    BuildStarted,
    BuildStatus,
    Change,
    ChangeQueue,
    Dequeue,
    Enqueue,
    Event,
    GateBuild,
    GateOptions,
    GateState,
    Merged,
    MergeError,
    MergeFailed,
    Promote,
    QueueItem,
    Report,
    ReportResult,
    Tick,
)
from gatewatch.gate.plan_process import (
    Work,
    batch_id,
    cancel_builds,
    process,
    rate,
    reset,
    start_action,
    with_build,
)
from gatewatch.gate.plan_queue import (
    find_build,
    find_change,
    insert_position,
    join_batch_position,
    queue_name_for,
)


def initial_state(options: GateOptions | None = None) -> GateState:
    """An empty gate with these options (Zuul's dependent pipeline by default)."""
    return GateState(options=options or GateOptions())


def step(state: GateState, event: Event, now: datetime) -> tuple[GateState, list[Action]]:
    """Apply one event; return the new state and the actions the executor must run, in order."""
    work = Work(options=state.options, counter=state.counter, now=now, actions=[])
    queues = list(state.queues)
    touched = _apply(queues, event, work)
    for index in touched:
        queues[index] = process(queues[index], work)
    # Queues are kept when empty: their window and failure rate carry over, as in Zuul.
    return replace(state, queues=tuple(queues), counter=work.counter), work.actions


def _apply(queues: list[ChangeQueue], event: Event, work: Work) -> list[int]:
    """Change the queues for ``event``; return the indexes of queues to re-plan."""
    if isinstance(event, Enqueue):
        return _enqueue(queues, event.change, work)
    if isinstance(event, BuildStarted | BuildCompleted):
        return _on_build(queues, event, work)
    if isinstance(event, MergeFailed | Merged | MergeError):
        return _on_merge(queues, event, work)
    if isinstance(event, Dequeue):
        return _dequeue(queues, event.change_id, work)
    if isinstance(event, Promote):
        return _promote(queues, event.change_ids)
    assert isinstance(event, Tick)
    return list(range(len(queues)))


# --- events ---


def _enqueue(queues: list[ChangeQueue], change: Change, work: Work) -> list[int]:
    if find_change(queues, change.change_id) is not None:
        work.actions.append(_refusal(change.change_id, "is already in the gate"))
        return []
    name = queue_name_for(work.options, change.project)
    index = next((i for i, q in enumerate(queues) if (q.name, q.branch) == (name, change.branch)), None)
    if index is None:
        queues.append(ChangeQueue(name=name, branch=change.branch, window=work.options.window.start))
        index = len(queues) - 1
    queue = queues[index]
    items = list(queue.items)
    urgent = change.urgent and work.options.fast_lane
    batch_at = None if urgent else join_batch_position(queue, work.options, project=change.project)
    if batch_at is not None:
        old = reset(items[batch_at], work)  # its builds are all still waiting for nodes
        changes = (*old.changes, change)
        items[batch_at] = replace(old, item_id=batch_id(changes), changes=changes)
    else:
        item = QueueItem(item_id=change.change_id, changes=(change,), enqueued_at=work.now, urgent=urgent)
        items.insert(insert_position(queue, urgent=urgent), item)
    queues[index] = replace(queue, items=tuple(items))
    return [index]


def _on_build(queues: list[ChangeQueue], event: BuildStarted | BuildCompleted, work: Work) -> list[int]:
    found = find_build(queues, event.build_id)
    if found is None:
        return []  # a build of a buildset that was reset or left: stale, ignore
    qi, ii, bi = found
    item = queues[qi].items[ii]
    build = item.builds[bi]
    if isinstance(event, BuildStarted):
        if build.status is BuildStatus.WAITING:
            item = with_build(item, bi, replace(build, status=BuildStatus.RUNNING))
    elif not build.status.is_done:
        item = _complete_build(queues[qi], item, bi, event, work)
    items = list(queues[qi].items)
    items[ii] = item
    queues[qi] = replace(queues[qi], items=tuple(items))
    return [qi] if isinstance(event, BuildCompleted) else []


def _complete_build(
    queue: ChangeQueue, item: QueueItem, index: int, event: BuildCompleted, work: Work
) -> QueueItem:
    build = item.builds[index]
    if event.success:
        return with_build(item, index, replace(build, status=BuildStatus.SUCCESS))
    retry = (
        build.voting
        and event.classification in RETRYABLE_CLASSIFICATIONS
        and build.attempt <= work.options.flaky_retries
    )
    if retry:
        again = GateBuild(
            build_id=f"b{work.next_id()}", job=build.job, voting=build.voting, attempt=build.attempt + 1
        )
        work.actions.append(start_action(queue, item, again))
        return with_build(item, index, again)
    failed = replace(build, status=BuildStatus.FAILURE, classification=event.classification)
    item = with_build(item, index, failed)
    if build.voting and not item.failing:
        item = replace(item, failing=True, failure=f"job {build.job} failed")
    return item


def _on_merge(queues: list[ChangeQueue], event: MergeFailed | Merged | MergeError, work: Work) -> list[int]:
    found = find_change_item(queues, event.item_id)
    if found is None:
        return []
    qi, ii = found
    queue, item = queues[qi], queues[qi].items[ii]
    items = list(queue.items)
    if isinstance(event, MergeFailed):
        if event.buildset != item.buildset or item.merging:
            return []
        items[ii] = cancel_builds(item, work, keep=False)
        items[ii] = replace(items[ii], failing=True, merge_failed=True, failure="merge conflict")
    elif not item.merging:  # only the head merges (side-lane items may sit ahead of it)
        return []
    elif isinstance(event, Merged):
        return _merged(queues, (qi, ii), event.commit, work)
    elif item.merge_errors + 1 >= work.options.merge_attempts:
        items[ii] = replace(item, merging=False, failing=True, failure=f"could not merge: {event.message}")
        items[ii] = replace(items[ii], merge_errors=item.merge_errors + 1)
    else:  # the target moved under us: retest everything on the new target
        items = [reset(it, work) for it in items]
        items[ii] = replace(items[ii], merging=False, merge_errors=item.merge_errors + 1)
    queues[qi] = replace(queue, items=tuple(items))
    return [qi]


def _merged(queues: list[ChangeQueue], where: tuple[int, int], commit: str, work: Work) -> list[int]:
    qi, ii = where
    queue = queues[qi]
    head, rest = queue.items[ii], queue.items[:ii] + queue.items[ii + 1 :]
    work.actions.append(
        Report(
            item_id=head.item_id,
            change_ids=head.change_ids,
            result=ReportResult.MERGED,
            message=f"merged as {commit}",
            buildset=head.buildset,
        )
    )
    # Items tested on the merged head keep their builds (the head is now in the target);
    # anything tested without it (none in normal operation) must be retested.
    rest = tuple(_after_merge_of(head.item_id, it, work) for it in rest)
    window = queue.window + work.options.window.increase
    if work.options.window.ceiling:
        window = min(window, work.options.window.ceiling)
    queues[qi] = replace(
        queue, items=rest, base=commit, window=window, failure_rate=rate(queue.failure_rate, failed=False)
    )
    return [qi]


def _after_merge_of(merged_id: str, item: QueueItem, work: Work) -> QueueItem:
    if item.confirming or not item.buildset:
        return item
    if item.stack[:1] == (merged_id,):
        return replace(item, stack=item.stack[1:])
    return reset(item, work)


def _dequeue(queues: list[ChangeQueue], change_id: str, work: Work) -> list[int]:
    found = find_change(queues, change_id)
    if found is None:
        work.actions.append(_refusal(change_id, "is not in the gate"))
        return []
    qi, ii = found
    items = list(queues[qi].items)
    item = items[ii]
    if item.merging:
        work.actions.append(_refusal(change_id, "is merging; too late to dequeue"))
        return []
    cancel_builds(item, work, keep=False)
    rest = tuple(c for c in item.changes if c.change_id != change_id)
    work.actions.append(
        Report(
            item_id=item.item_id, change_ids=(change_id,), result=ReportResult.DEQUEUED, message="dequeued"
        )
    )
    if rest:
        items[ii] = QueueItem(item_id=batch_id(rest), changes=rest, enqueued_at=item.enqueued_at)
    else:
        del items[ii]
    queues[qi] = replace(queues[qi], items=tuple(items))
    return [qi]


def _promote(queues: list[ChangeQueue], change_ids: tuple[str, ...]) -> list[int]:
    touched: list[int] = []
    for qi, queue in enumerate(queues):
        wanted = [it for cid in change_ids for it in queue.items if cid in it.change_ids]
        chosen = [it for n, it in enumerate(wanted) if it not in wanted[:n] and not it.merging]
        if not chosen:
            continue
        merging = [it for it in queue.items if it.merging]
        others = [it for it in queue.items if not it.merging and it not in chosen]
        queues[qi] = replace(queue, items=(*merging, *chosen, *others))
        touched.append(qi)
    return touched


def find_change_item(queues: list[ChangeQueue], item_id: str) -> tuple[int, int] | None:
    """(queue index, item index) of the item with this id, or None."""
    for qi, queue in enumerate(queues):
        for ii, item in enumerate(queue.items):
            if item.item_id == item_id:
                return qi, ii
    return None


def _refusal(change_id: str, why: str) -> Report:
    return Report(
        item_id=change_id, change_ids=(change_id,), result=ReportResult.REJECTED, message=f"{change_id} {why}"
    )
