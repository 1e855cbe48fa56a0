"""Invariants of the gate planner under any order of build results (Hypothesis).

An oracle executor decides results: a build fails when its stack holds a bad change, or when
Hypothesis draws a flaky failure; the order in which held builds finish is drawn too.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewatch.domain.gate import BuildCompleted, GateOptions, ReportResult, WindowOptions
from gatewatch.gate.plan_json import state_from_json, state_to_json
from support.gate_harness import GateHarness

FINAL = {ReportResult.MERGED, ReportResult.FAILED, ReportResult.DEQUEUED}

options_st = st.builds(
    GateOptions,
    window=st.builds(
        WindowOptions,
        start=st.integers(1, 6),
        floor=st.integers(1, 3),
        decrease_type=st.sampled_from(["exponential", "linear"]),
        decrease_factor=st.integers(1, 2),
    ),
    defer_ejection=st.booleans(),
    flaky_retries=st.integers(0, 2),
    batch_max_size=st.integers(1, 3),
    fast_lane=st.booleans(),
    confirm_failures=st.integers(0, 1),
)


def _drive(data: st.DataObject, gate: GateHarness, names: list[str], bad: set[str]) -> None:
    """Complete held builds in a drawn order with oracle results, dequeuing now and then."""
    for _ in range(400):
        if not gate.held:
            return
        ids = sorted(gate.held)
        build = gate.held.pop(ids[data.draw(st.integers(0, len(ids) - 1), label="next")])
        flaky = data.draw(st.integers(0, 9), label="luck") == 0
        success = not (bad & set(build.stack)) and not flaky
        classification = "infra" if flaky and data.draw(st.booleans(), label="classified") else ""
        gate.send(BuildCompleted(build_id=build.build_id, success=success, classification=classification))
        command = data.draw(st.integers(0, 40), label="command?")
        if command == 0:
            gate.dequeue(data.draw(st.sampled_from(names), label="which"))
        elif command == 1:
            gate.promote(data.draw(st.sampled_from(names), label="which"))
    raise AssertionError("the gate did not settle in 400 build results")


@settings(derandomize=True, max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=options_st,
    n=st.integers(1, 7),
    bad_mask=st.integers(0, 127),
    conflict_mask=st.integers(0, 127),
    data=st.data(),
)
def test_gate_invariants(
    options: GateOptions, n: int, bad_mask: int, conflict_mask: int, data: st.DataObject
) -> None:
    names = [chr(ord("A") + i) for i in range(n)]
    bad = {c for i, c in enumerate(names) if bad_mask >> i & 1}
    conflicts = {c for i, c in enumerate(names) if conflict_mask >> i & 1 and i % 3 == 0}
    gate = GateHarness(options=options, conflicts=conflicts)
    gate.enqueue(*names)
    _drive(data, gate, names, bad)

    # Every change is reported exactly once with a final result, and the queue is empty.
    finals = [c for r in gate.reports if r.result in FINAL for c in r.change_ids]
    assert sorted(finals) == sorted(names)
    assert gate.queue_ids() == []
    # No bad or conflicting change ever merges.
    merged = [c for item in gate.merged for c in item]
    assert not (set(merged) & (bad | conflicts))
    # Merges follow queue order (a promoted change jumps ahead, a requeued one goes last).
    requeued = {c for r in gate.reports if r.result is ReportResult.REQUEUED for c in r.change_ids}
    promoted = {c for p in gate.promoted for c in p}
    in_order = [c for c in merged if c not in requeued | promoted]
    assert in_order == sorted(in_order)
    # What lands is exactly what was tested: target + stack at the start of the buildset
    # equals target + the item at merge time, and every job's last attempt passed.
    for request, before in zip(gate.merge_requests, gate.merged_before, strict=True):
        builds = [b for b in gate.started if b.buildset == request.buildset]
        assert builds
        base = gate.started_base[builds[0].build_id]
        assert merged[:base] + list(builds[0].stack) == merged[:before] + list(request.change_ids)
        last = {b.job: b for b in sorted(builds, key=lambda b: b.attempt)}
        assert all(gate.completed.get(b.build_id) is True for b in last.values())


@settings(derandomize=True, max_examples=60, deadline=None)
@given(options=options_st, n=st.integers(1, 5), data=st.data())
def test_state_round_trips_through_json_at_every_step(
    options: GateOptions, n: int, data: st.DataObject
) -> None:
    gate = GateHarness(options=options)
    for i in range(n):
        gate.enqueue(chr(ord("A") + i), urgent=data.draw(st.booleans()))
        assert state_from_json(state_to_json(gate.state)) == gate.state
    while gate.held:
        ids = sorted(gate.held)
        build = gate.held.pop(ids[data.draw(st.integers(0, len(ids) - 1))])
        gate.send(BuildCompleted(build_id=build.build_id, success=data.draw(st.booleans())))
        assert state_from_json(state_to_json(gate.state)) == gate.state
