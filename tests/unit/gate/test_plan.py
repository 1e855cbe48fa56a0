"""Gate scenarios in the style of Zuul's tests/unit/test_scheduler.py: hold builds, release
them one at a time, assert the speculative stacks as data."""

from __future__ import annotations

from gatewatch.domain.gate import (
    GateOptions,
    JobSpec,
    ProjectJobs,
    QueueDef,
    ReportResult,
    WindowOptions,
)
from support.gate_harness import GateHarness

MERGED, FAILED = ReportResult.MERGED, ReportResult.FAILED


def test_changes_are_tested_on_top_of_each_other() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    assert gate.stacks() == [["A"], ["A", "B"], ["A", "B", "C"]]
    gate.release_all()
    assert gate.merged == [("A",), ("B",), ("C",)]
    assert [r.result for r in gate.reports] == [MERGED, MERGED, MERGED]


def test_failed_change_at_head() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    gate.release("A", fail=True)
    assert gate.stacks() == [["B"], ["B", "C"]]
    assert gate.result_of("A") == [FAILED]
    gate.release_all()
    assert gate.merged == [("B",), ("C",)]
    assert [s.stack for s in gate.started] == [
        ("A",), ("A", "B"), ("A", "B", "C"), ("B",), ("B", "C"),
    ]  # fmt: skip


def test_failed_change_in_middle_waits_for_the_head_then_leaves() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    gate.release("B", fail=True)
    # C is reset at once onto A (eager reset); B keeps its place behind A (deferred ejection).
    assert gate.stacks() == [["A"], ["A", "C"]]
    assert gate.result_of("B") == []
    gate.release("A")
    assert gate.result_of("B") == [FAILED]
    gate.release_all()
    assert gate.merged == [("A",), ("C",)]


def test_change_failing_behind_a_change_that_fails_later_is_retested_without_it() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    gate.release("B", fail=True)  # B failed on A+B: maybe because of A
    assert gate.stacks() == [["A"], ["A", "C"]]
    gate.release("A", fail=True)  # A is bad after all: B gets another chance, on the target alone
    assert gate.stacks() == [["B"], ["B", "C"]]
    assert gate.result_of("A") == [FAILED]
    gate.release_all()
    assert gate.merged == [("B",), ("C",)]
    assert gate.result_of("B") == [MERGED]


def test_immediate_eject_queue_ejects_an_innocent_change() -> None:
    gate = GateHarness(options=GateOptions(defer_ejection=False))
    gate.enqueue("A", "B", "C")
    gate.release("B", fail=True)  # B failed on A+B because of A, before A's build ended
    assert gate.result_of("B") == [FAILED]
    assert gate.stacks() == [["A"], ["A", "C"]]
    gate.release("A", fail=True)
    gate.release_all()
    assert gate.merged == [("C",)]


def test_merge_conflict_fails_the_item_and_resets_those_behind() -> None:
    gate = GateHarness(conflicts={"B"})
    gate.enqueue("A", "B", "C")
    assert gate.stacks() == [["A"], ["A", "C"]]
    gate.release_all()
    assert gate.result_of("B") == [FAILED]
    assert "merge conflict" in next(r.message for r in gate.reports if r.change_ids == ("B",))
    assert gate.merged == [("A",), ("C",)]


def test_non_voting_failure_never_fails_an_item() -> None:
    jobs = (JobSpec(name="unit"), JobSpec(name="experimental", voting=False))
    gate = GateHarness(options=GateOptions(jobs=(ProjectJobs(project="org/project", jobs=jobs),)))
    gate.enqueue("A", "B")
    gate.release("A", job="experimental", fail=True)
    assert gate.stacks() == [["A"], ["A", "B"]]
    gate.release_all()
    assert gate.merged == [("A",), ("B",)]


def test_each_project_runs_its_own_required_jobs() -> None:
    options = GateOptions(
        queues=(QueueDef(name="integrated", projects=("nova", "glance")),),
        jobs=(ProjectJobs(project="nova", jobs=(JobSpec(name="tempest"), JobSpec(name="nova-unit"))),),
    )
    gate = GateHarness(options=options)
    gate.enqueue("A", project="nova")
    gate.enqueue("B", project="glance")
    assert sorted((b.stack, b.job) for b in gate.held.values()) == [
        (("A",), "nova-unit"), (("A",), "tempest"), (("A", "B"), "gate"),
    ]  # fmt: skip


def test_projects_in_different_queues_are_not_stacked() -> None:
    gate = GateHarness()
    gate.enqueue("A", project="nova")
    gate.enqueue("B", project="swift")
    assert sorted(gate.stacks()) == [["A"], ["B"]]


def test_window_limits_builds_grows_on_merge_and_halves_on_failure() -> None:
    gate = GateHarness(options=GateOptions(window=WindowOptions(start=4, floor=2)))
    gate.enqueue("A", "B", "C", "D", "E", "F")
    assert gate.stacks() == [["A"], ["A", "B"], ["A", "B", "C"], ["A", "B", "C", "D"]]
    gate.release("A")
    assert gate.window() == 5
    assert len(gate.stacks()) == 5
    gate.release("B", fail=True)
    assert gate.window() == 2
    # B failed at the head: the window halves (5 -> 2) and only C, D restart.
    assert gate.stacks() == [["C"], ["C", "D"]]
    gate.release_all()
    assert gate.merged == [("A",), ("C",), ("D",), ("E",), ("F",)]


def test_window_never_goes_below_the_floor() -> None:
    gate = GateHarness(options=GateOptions(window=WindowOptions(start=3, floor=2)))
    gate.enqueue("A", "B", "C", "D")
    for cid in "ABC":
        gate.release(cid, fail=True)
    assert gate.window() == 2  # 3 -> max(2, 1) -> 2 -> 2


def test_promote_moves_a_change_to_the_front_and_resets_the_rest() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    gate.promote("C")
    assert gate.stacks() == [["C"], ["C", "A"], ["C", "A", "B"]]
    gate.release_all()
    assert gate.merged == [("C",), ("A",), ("B",)]


def test_dequeue_cancels_and_resets_those_behind() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    cancelled = set(gate.held)
    gate.dequeue("B")
    assert gate.result_of("B") == [ReportResult.DEQUEUED]
    assert gate.stacks() == [["A"], ["A", "C"]]
    assert len(cancelled - set(gate.held)) == 2  # B's build and C's build on A+B+C
    gate.release_all()
    assert gate.merged == [("A",), ("C",)]


def test_enqueue_twice_and_dequeue_unknown_are_rejected() -> None:
    gate = GateHarness()
    gate.enqueue("A", "A")
    gate.dequeue("Z")
    assert [r.result for r in gate.reports] == [ReportResult.REJECTED, ReportResult.REJECTED]
    assert gate.stacks() == [["A"]]


def test_recheck_after_failure_enqueues_again() -> None:
    gate = GateHarness()
    gate.enqueue("A")
    gate.release("A", fail=True)
    gate.enqueue("A")
    gate.release_all()
    assert gate.result_of("A") == [FAILED, MERGED]


def test_stale_build_results_are_ignored() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B")
    old_b = next(b for b in gate.held.values() if b.stack == ("A", "B"))
    gate.release("A", fail=True)
    from gatewatch.domain.gate import BuildCompleted

    gate.send(BuildCompleted(build_id=old_b.build_id, success=False))
    assert gate.stacks() == [["B"]]
    gate.release_all()
    assert gate.merged == [("B",)]


def test_flaky_failure_is_retried_without_reset_when_enabled() -> None:
    gate = GateHarness(options=GateOptions(flaky_retries=2))
    gate.enqueue("A", "B")
    gate.release("A", fail=True, classification="known-flaky")
    assert gate.stacks() == [["A"], ["A", "B"]]
    assert [b.attempt for b in gate.held.values() if b.stack == ("A",)] == [2]
    assert len(gate.cancelled) == 0
    gate.release_all()
    assert gate.merged == [("A",), ("B",)]


def test_flaky_retries_are_bounded() -> None:
    gate = GateHarness(options=GateOptions(flaky_retries=2))
    gate.enqueue("A", "B")
    for _ in range(3):
        gate.release("A", fail=True, classification="infra")
    assert gate.result_of("A") == [FAILED]
    assert gate.stacks() == [["B"]]


def test_flaky_classification_is_ignored_by_the_zuul_default() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B")
    gate.release("A", fail=True, classification="infra")
    assert gate.result_of("A") == [FAILED]


def test_batch_fails_then_bisects_down_to_the_culprit() -> None:
    gate = GateHarness(
        options=GateOptions(batch_max_size=4, window=WindowOptions(start=1, floor=1, increase=0))
    )
    gate.enqueue("A", "B", "C", "D", "E")
    assert gate.stacks() == [["A"]]
    bad = "D"
    gate.run_until_idle(lambda b: (bad not in b.stack, ""))
    assert gate.merged == [("A",), ("B", "C"), ("E",)]
    bisected = ReportResult.BISECTED
    assert gate.result_of("D") == [bisected, bisected, FAILED]  # B+C+D+E, then D+E, then D
    assert [r.change_ids for r in gate.reports if r.result is bisected] == [("B", "C", "D", "E"), ("D", "E")]


def test_fast_lane_puts_an_urgent_change_ahead_of_waiting_items() -> None:
    gate = GateHarness(options=GateOptions(fast_lane=True, window=WindowOptions(start=2, floor=1)))
    gate.enqueue("A", "B", "C")
    gate.enqueue("U", urgent=True)
    assert gate.queue_ids() == ["A", "B", "U", "C"]
    assert gate.stacks() == [["A"], ["A", "B"]]
    gate.release_all()
    assert gate.merged == [("A",), ("B",), ("U",), ("C",)]


def test_merge_error_retests_on_the_new_target_and_then_merges() -> None:
    gate = GateHarness(merge_errors=1)
    gate.enqueue("A", "B")
    gate.release("A")
    assert gate.stacks() == [["A"], ["A", "B"]]  # both retested
    gate.release_all()
    assert gate.merged == [("A",), ("B",)]


def test_merged_commit_is_exactly_the_tested_buildset() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B")
    b_set = next(b.buildset for b in gate.held.values() if b.stack == ("A", "B"))
    gate.release_all()
    assert [m.buildset for m in gate.merge_requests][1] == b_set


def test_failure_confirmed_at_the_head_is_ejected() -> None:
    gate = GateHarness(options=GateOptions(confirm_failures=1))
    gate.enqueue("A", "B")
    gate.release("A", fail=True)
    assert gate.stacks() == [["A"], ["B"]]  # A re-runs its failed job; B already goes on without A
    gate.release("A", fail=True)
    assert gate.result_of("A") == [FAILED]
    gate.release_all()
    assert gate.merged == [("B",)]


def test_failure_that_passes_on_re_run_is_requeued_not_ejected() -> None:
    gate = GateHarness(options=GateOptions(confirm_failures=1))
    gate.enqueue("A", "B", "C")
    gate.release("A", fail=True)
    assert gate.stacks() == [["A"], ["B"], ["B", "C"]]
    gate.release("A")
    assert gate.result_of("A") == [ReportResult.REQUEUED]
    assert gate.queue_ids() == ["B", "C", "A"]
    assert gate.stacks() == [["B"], ["B", "C"], ["B", "C", "A"]]  # no reset of B or C
    gate.release_all()
    assert gate.merged == [("B",), ("C",), ("A",)]


def test_linear_window_decrease() -> None:
    window = WindowOptions(start=6, floor=2, decrease_type="linear", decrease_factor=1)
    gate = GateHarness(options=GateOptions(window=window))
    gate.enqueue("A", "B")
    gate.release("A", fail=True)
    assert gate.window() == 5


def test_a_change_joins_a_batch_whose_builds_still_wait_for_nodes() -> None:
    gate = GateHarness(options=GateOptions(batch_max_size=2), auto_start=False)
    gate.enqueue("A", "B", "C")
    assert gate.stacks() == [["A", "B"], ["A", "B", "C"]]
    assert gate.queue_ids() == ["A+B", "C"]
    gate.release_all()
    assert gate.merged == [("A", "B"), ("C",)]


def test_no_batch_while_the_queue_fails_often() -> None:
    options = GateOptions(batch_max_size=2, batch_max_failure_rate=0.1)
    gate = GateHarness(options=options, auto_start=False)
    gate.enqueue("X")
    gate.release("X", fail=True)
    gate.enqueue("A", "B")
    assert gate.queue_ids() == ["A", "B"]


INTEGRATED = (QueueDef(name="integrated", projects=("nova", "glance")),)


def test_shared_queue_interleaves_projects_and_a_failure_resets_the_other_projects_items() -> None:
    gate = GateHarness(options=GateOptions(queues=INTEGRATED))
    gate.enqueue("N1", project="nova")
    gate.enqueue("G1", project="glance")
    gate.enqueue("N2", project="nova")
    assert gate.stacks() == [["N1"], ["N1", "G1"], ["N1", "G1", "N2"]]
    gate.release("N1", fail=True)
    assert gate.stacks() == [["G1"], ["G1", "N2"]]
    gate.release_all()
    assert gate.merged == [("G1",), ("N2",)]
    assert gate.result_of("N1") == [ReportResult.FAILED]


def test_a_batch_holds_changes_of_one_project_only() -> None:
    gate = GateHarness(options=GateOptions(queues=INTEGRATED, batch_max_size=4), auto_start=False)
    gate.enqueue("N1", "N2", project="nova")
    gate.enqueue("G1", project="glance")
    gate.enqueue("G2", project="glance")
    assert gate.queue_ids() == ["N1+N2", "G1+G2"]
    assert gate.stacks() == [["N1", "N2"], ["N1", "N2", "G1", "G2"]]
