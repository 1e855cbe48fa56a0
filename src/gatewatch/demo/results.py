"""Test results of one build: which tests ran with which outcome, and their console summary (pure).

:func:`compute_attempts` decides every attempt of every test of a build (stable tests pass
or are always skipped; planted causes fail their test; a retried flaky test gets a second
attempt). The encoders in ``demo/formats.py`` turn the attempts into JUnit XML or subunit v2.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gatewatch.demo import failures
from gatewatch.demo.catalog import (
    GRENADE_BROKEN_TEST,
    REGRESSED_TEST,
    SCENARIO_JOB,
    SCENARIO_NETWORK_BASIC,
    Kind,
    compute_lint_ids,
    compute_planted_ids,
    compute_scenario_ids,
    compute_tempest_ids,
    compute_unit_ids,
)
from gatewatch.demo.plan import BuildPlan


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One attempt of one test: status is success/fail/skip; ``worker`` is 0-3 for tempest."""

    test_id: str
    status: str
    duration_s: float
    worker: int = 0
    message: str = ""
    traceback: str = ""


def _is_skipped(test_id: str) -> bool:
    """A stable, id-derived ~12 % of tests are always skipped (features not configured)."""
    return sum(map(ord, test_id)) % 17 in (3, 11) and test_id not in compute_planted_ids()


def select_tests(plan: BuildPlan) -> tuple[str, ...]:
    """The test ids a build's run executes."""
    kind, name = plan.job.kind, plan.job.name
    if kind is Kind.UNIT:
        ids = compute_unit_ids(plan.project)
        return ids[: max(20, int(len(ids) * plan.unit_scale))]
    if kind is Kind.LINT:
        return compute_lint_ids(plan.project)
    if kind is Kind.TEMPEST and name == SCENARIO_JOB:
        return compute_scenario_ids()
    if kind is Kind.TEMPEST and plan.job.voting:
        return compute_tempest_ids()[: plan.tempest_count]
    if kind is Kind.TEMPEST:  # grenade: the smoke tests after the upgrade
        smoke = [t for t in compute_tempest_ids()[: plan.tempest_count] if ",smoke" in t]
        return (*smoke[:36], GRENADE_BROKEN_TEST)
    return ()


def _failing(plan: BuildPlan) -> set[str]:
    """Tests whose (single) attempt fails because of the plan's non-flaky causes."""
    failing: set[str] = set()
    if plan.bug is not None:
        failing.add(plan.bug.test_id)
    if plan.ssh_timeout:
        failing.add(SCENARIO_NETWORK_BASIC)
    if plan.regression:
        failing.add(REGRESSED_TEST)
    if plan.broken:
        failing.add(GRENADE_BROKEN_TEST)
    return failing


def compute_attempts(plan: BuildPlan, rng: random.Random) -> list[Attempt]:
    """Every attempt of every test the build ran (empty when it never ran its tests)."""
    if not plan.runs_tests:
        return []
    failing = _failing(plan)
    flaky = dict(plan.flaky)
    tempest = plan.job.kind is Kind.TEMPEST
    mean_s = 9.0 if tempest else 0.35
    attempts: list[Attempt] = []
    for index, test_id in enumerate(select_tests(plan)):
        worker = index % 4 if tempest else 0
        duration = rng.expovariate(1.0 / mean_s)
        if test_id in flaky:
            for failed in flaky[test_id]:
                attempts.append(
                    _attempt(rng, plan, test_id, failed=failed, duration_s=duration, worker=worker)
                )
        elif test_id in failing:
            attempts.append(_attempt(rng, plan, test_id, failed=True, duration_s=duration * 3, worker=worker))
        elif _is_skipped(test_id):
            attempts.append(
                Attempt(
                    test_id=test_id,
                    status="skip",
                    duration_s=0.0,
                    worker=worker,
                    message="Feature is not enabled in this deployment",
                )
            )
        else:
            attempts.append(Attempt(test_id=test_id, status="success", duration_s=duration, worker=worker))
    return attempts


def _attempt(
    rng: random.Random, plan: BuildPlan, test_id: str, *, failed: bool, duration_s: float, worker: int
) -> Attempt:
    if not failed:
        return Attempt(test_id=test_id, status="success", duration_s=duration_s, worker=worker)
    message, traceback = failures.render_failure(rng, plan, test_id)
    return Attempt(
        test_id=test_id,
        status="fail",
        duration_s=duration_s,
        worker=worker,
        message=message,
        traceback=traceback,
    )


def render_summary(plan: BuildPlan, attempts: list[Attempt], rng: random.Random) -> list[str]:
    """The console lines a test run prints (a sample of passing tests, every failure in full)."""
    if plan.job.kind is Kind.TEMPEST:
        return _tempest_summary(attempts, rng)
    if plan.job.kind is Kind.LINT:
        return _lint_summary(attempts, rng)
    return _pytest_summary(plan, attempts, rng)


def _counts(attempts: list[Attempt]) -> dict[str, int]:
    counts = {"success": 0, "fail": 0, "skip": 0}
    for attempt in attempts:
        counts[attempt.status] += 1
    return counts


def _tempest_summary(attempts: list[Attempt], rng: random.Random) -> list[str]:
    lines = ["tempest run --concurrency 4 --exclude-regex '\\[.*\\bslow\\b.*\\]'"]
    for attempt in attempts:
        if attempt.status == "fail" or rng.random() < 0.05:
            word = {"success": "ok", "fail": "FAILED", "skip": "SKIPPED"}[attempt.status]
            lines.append(f"{{{attempt.worker}}} {attempt.test_id} [{attempt.duration_s:.6f}s] ... {word}")
    for attempt in attempts:
        if attempt.status == "fail":
            lines += ["", "Captured traceback:", "~~~~~~~~~~~~~~~~~~~", *attempt.traceback.splitlines()]
    counts = _counts(attempts)
    total_s = sum(a.duration_s for a in attempts)
    lines += [
        "",
        "======",
        "Totals",
        "======",
        f"Ran: {len(attempts)} tests in {total_s / 4:.4f} sec.",
        f" - Passed: {counts['success']}",
        f" - Skipped: {counts['skip']}",
        " - Expected Fail: 0",
        " - Unexpected Success: 0",
        f" - Failed: {counts['fail']}",
        f"Sum of execute time for each test: {total_s:.4f} sec.",
    ]
    return lines


def _lint_summary(attempts: list[Attempt], rng: random.Random) -> list[str]:
    lines = ["pep8: commands[0]> flake8", "pep8: commands[1]> ./tools/check-hacking.sh"]
    lines += [f"{a.test_id.rsplit('.', 1)[-1]}: ok ({a.duration_s:.2f}s)" for a in attempts]
    return [*lines, f"  pep8: OK ({rng.uniform(30, 120):.2f} seconds)", "  congratulations :)"]


def _pytest_summary(plan: BuildPlan, attempts: list[Attempt], rng: random.Random) -> list[str]:
    env = "py311"
    command = f"pytest -n 4 --junitxml=junit.xml {plan.project.replace('-', '_')}"
    lines = [
        f"{env}: commands[0]> {command}",
        "=" * 30 + " test session starts " + "=" * 30,
        "platform linux -- Python 3.11.9, pytest-8.2.2, pluggy-1.5.0",
        f"collected {len({a.test_id for a in attempts})} items",
    ]
    step = max(1, len(attempts) // 12)
    for start in range(0, len(attempts), step):
        chunk = attempts[start : start + step]
        marks = "".join({"success": ".", "fail": "F", "skip": "s"}[a.status] for a in chunk)
        lines.append(
            f"{chunk[0].test_id.rsplit('.', 2)[0].replace('.', '/')}.py {marks} "
            f"[{min(100, (start + step) * 100 // len(attempts)):3d}%]"
        )
    failed = [a for a in attempts if a.status == "fail"]
    for attempt in failed:
        lines += [
            "_" * 20
            + f" {attempt.test_id.rsplit('.', 2)[-2]}.{attempt.test_id.rsplit('.', 1)[-1]} "
            + "_" * 20,
            *attempt.traceback.splitlines(),
        ]
    counts = _counts(attempts)
    seconds = sum(a.duration_s for a in attempts) / 4
    lines.append(
        f"===== {counts['fail']} failed, {counts['success']} passed, {counts['skip']} skipped "
        f"in {seconds:.2f}s ====="
    )
    lines.append(
        f"{env}: {'FAIL' if failed and plan.result != 'SUCCESS' else 'OK'} code {1 if failed else 0} "
        f"({seconds + rng.uniform(20, 60):.2f} seconds)"
    )
    return lines
