"""The queue processor of the gate planner (Zuul's ``processQueue``) and its helpers.

Pure; used by ``gatewatch.gate.plan.step``. ``Work`` is the scratch space of one ``step``
call (id counter, time, actions collected in order); it never escapes that call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from gatewatch.domain.gate import (
    Action,
    BuildStatus,
    CancelBuild,
    Change,
    ChangeQueue,
    GateBuild,
    GateOptions,
    JobSpec,
    MergeItem,
    QueueItem,
    Report,
    ReportResult,
    StartBuild,
)

# Weight of the newest report in a queue's failure-rate estimate (exponential moving average).
FAILURE_RATE_ALPHA = 0.2


@dataclass(slots=True)
class Work:
    """Scratch space of one ``step`` call (id counter, time, actions); never escapes it."""

    options: GateOptions
    counter: int
    now: datetime
    actions: list[Action]

    def next_id(self) -> int:
        self.counter += 1
        return self.counter


# --- the queue processor (Zuul's processQueue) ---


def process(queue: ChangeQueue, work: Work) -> ChangeQueue:
    """Re-plan a queue until nothing changes: reset stale items, start builds, merge, eject."""
    while True:
        queue, again = _process_once(queue, work)
        if not again:
            return queue


def _process_once(queue: ChangeQueue, work: Work) -> tuple[ChangeQueue, bool]:
    items = list(queue.items)
    ahead: tuple[str, ...] = ()
    ahead_changes: tuple[str, ...] = ()
    head = True
    for index in range(len(items)):
        if items[index].confirming:
            if items[index].complete:
                return _end_confirmation(queue, items, index, work), True
            continue
        item = _refresh(
            items[index],
            ahead=ahead,
            ahead_changes=ahead_changes,
            in_window=index < queue.window,
            base=queue.base,
            work=work,
        )
        items[index] = item
        if _must_leave(item, head, work.options):
            return _leave(queue, items, index, work), True
        if head and item.complete and not item.failing and not item.merging:
            items[index] = replace(item, merging=True)
            work.actions.append(
                MergeItem(item_id=item.item_id, buildset=item.buildset, change_ids=item.change_ids)
            )
        head = False
        if not item.failing:
            ahead += (item.item_id,)
            ahead_changes += item.change_ids
    return replace(queue, items=tuple(items)), False


def _refresh(
    item: QueueItem,
    *,
    ahead: tuple[str, ...],
    ahead_changes: tuple[str, ...],
    in_window: bool,
    base: str,
    work: Work,
) -> QueueItem:
    """Reset an item tested on a stale stack; start builds for an idle item in the window."""
    if item.buildset and not item.merging and item.stack != ahead:
        item = reset(item, work)
    if not item.buildset and in_window:
        item = _start_buildset(item, ahead, ahead_changes, base, work)
    return item


def _must_leave(item: QueueItem, head: bool, options: GateOptions) -> bool:
    """Deferred ejection: a failing item leaves at the head once complete; immediate: at once."""
    if not item.failing or item.merging:
        return False
    return not options.defer_ejection or (head and item.complete)


def _start_buildset(
    item: QueueItem, ahead: tuple[str, ...], ahead_changes: tuple[str, ...], base: str, work: Work
) -> QueueItem:
    buildset = work.next_id()
    builds = tuple(
        GateBuild(build_id=f"b{work.next_id()}", job=job.name, voting=job.voting)
        for job in _jobs_for(item, work.options)
    )
    for build in builds:
        work.actions.append(
            StartBuild(
                build_id=build.build_id,
                item_id=item.item_id,
                job=build.job,
                stack=(*ahead_changes, *item.change_ids),
                base=base,
                buildset=buildset,
            )
        )
    return replace(
        item, buildset=buildset, stack=ahead, builds=builds, failing=False, failure="", merge_failed=False
    )


def _leave(queue: ChangeQueue, items: list[QueueItem], index: int, work: Work) -> ChangeQueue:
    """A failing item leaves the head: a batch is split in halves (bisection), a single change
    goes to the side lane to confirm its failure (if enabled) or is reported failed."""
    item = items[index]
    if _confirmable(item, work.options):
        items[index] = _confirm(queue, item, work)
        return replace(queue, items=tuple(items))
    item = cancel_builds(item, work, keep=True)
    if len(item.changes) > 1:
        half = len(item.changes) // 2
        parts = [item.changes[:half], item.changes[half:]]
        items[index : index + 1] = [
            QueueItem(item_id=batch_id(p), changes=p, enqueued_at=item.enqueued_at) for p in parts
        ]
        _report(item, ReportResult.BISECTED, f"batch failed ({item.failure}); testing halves", work)
        return replace(queue, items=tuple(items), failure_rate=rate(queue.failure_rate, failed=True))
    del items[index]
    _report(item, ReportResult.FAILED, f"{item.failure} on {'+'.join(item.stack + item.change_ids)}", work)
    return _after_failure(queue, items, decrease=index == 0, work=work)


def _end_confirmation(queue: ChangeQueue, items: list[QueueItem], index: int, work: Work) -> ChangeQueue:
    """The side lane re-run ended: passed means flaky (requeue at the end), failed means eject."""
    item = items.pop(index)
    if _voting_passed(item) and item.merge_errors < work.options.merge_attempts:
        items.append(reset(replace(item, confirming=False, urgent=False), work))
        _report(item, ReportResult.REQUEUED, f"{item.failure}, then passed on re-run: flaky; requeued", work)
        return replace(queue, items=tuple(items))
    _report(item, ReportResult.FAILED, f"{item.failure}, and again on re-run", work)
    return _after_failure(queue, items, decrease=True, work=work)


def _after_failure(queue: ChangeQueue, items: list[QueueItem], *, decrease: bool, work: Work) -> ChangeQueue:
    window = _decreased(queue.window, work.options) if decrease else queue.window
    return replace(
        queue, items=tuple(items), window=window, failure_rate=rate(queue.failure_rate, failed=True)
    )


def _report(item: QueueItem, result: ReportResult, message: str, work: Work) -> None:
    work.actions.append(
        Report(
            item_id=item.item_id,
            change_ids=item.change_ids,
            result=result,
            message=message,
            buildset=item.buildset,
        )
    )


def _confirmable(item: QueueItem, options: GateOptions) -> bool:
    """A single failing change, done, whose failed jobs were not re-run yet, may be flaky."""
    if len(item.changes) > 1 or item.merge_failed or not item.complete:
        return False
    return item.confirmations < options.confirm_failures and not _voting_passed(item)


def _confirm(queue: ChangeQueue, item: QueueItem, work: Work) -> QueueItem:
    """Re-run the failed voting jobs on the same stack, in the side lane."""
    builds = list(item.builds)
    for index, build in enumerate(builds):
        if build.voting and build.status is BuildStatus.FAILURE:
            builds[index] = GateBuild(
                build_id=f"b{work.next_id()}", job=build.job, voting=True, attempt=build.attempt + 1
            )
            work.actions.append(start_action(queue, item, builds[index]))
    return replace(item, builds=tuple(builds), confirmations=item.confirmations + 1, confirming=True)


def _voting_passed(item: QueueItem) -> bool:
    return all(b.status is BuildStatus.SUCCESS for b in item.builds if b.voting)


def _decreased(window: int, options: GateOptions) -> int:
    opts = options.window
    if opts.decrease_type == "linear":
        return max(opts.floor, window - opts.decrease_factor)
    return max(opts.floor, window // max(opts.decrease_factor, 1))


def reset(item: QueueItem, work: Work) -> QueueItem:
    item = cancel_builds(item, work, keep=False)
    return replace(item, buildset=0, stack=(), builds=(), failing=False, failure="", merge_failed=False)


def cancel_builds(item: QueueItem, work: Work, *, keep: bool) -> QueueItem:
    """Cancel the unfinished builds; ``keep`` leaves them listed (as failures) on the item."""
    for build in item.builds:
        if not build.status.is_done:
            work.actions.append(CancelBuild(build_id=build.build_id, item_id=item.item_id))
    if not keep:
        return replace(item, builds=())
    done = tuple(b if b.status.is_done else replace(b, status=BuildStatus.FAILURE) for b in item.builds)
    return replace(item, builds=done)


def start_action(queue: ChangeQueue, item: QueueItem, build: GateBuild) -> StartBuild:
    ahead = {it.item_id: it.change_ids for it in queue.items}
    stack = tuple(cid for iid in item.stack for cid in ahead.get(iid, ()))
    return StartBuild(
        build_id=build.build_id,
        item_id=item.item_id,
        job=build.job,
        stack=(*stack, *item.change_ids),
        base=queue.base,
        buildset=item.buildset,
        attempt=build.attempt,
    )


def _jobs_for(item: QueueItem, options: GateOptions) -> list[JobSpec]:
    """The union of the item's projects' jobs (voting if voting for any of them)."""
    jobs: dict[str, JobSpec] = {}
    for change in item.changes:
        specs = next((p.jobs for p in options.jobs if p.project == change.project), options.default_jobs)
        for job in specs:
            known = jobs.get(job.name)
            jobs[job.name] = job if known is None or job.voting else known
    return list(jobs.values())


def with_build(item: QueueItem, index: int, build: GateBuild) -> QueueItem:
    builds = list(item.builds)
    builds[index] = build
    return replace(item, builds=tuple(builds))


def rate(rate: float, *, failed: bool) -> float:
    return (1 - FAILURE_RATE_ALPHA) * rate + FAILURE_RATE_ALPHA * (1.0 if failed else 0.0)


def batch_id(changes: tuple[Change, ...]) -> str:
    return "+".join(c.change_id for c in changes)
