"""Encode a build's results as the files real producers write (pure: return bytes).

- JUnit XML in pytest's shape (``<testsuites><testsuite name="pytest">``), built by string
  concatenation with ``xml.sax.saxutils`` escaping (lxml trees cost ~10x more per test and
  the demo writes a million). A retried test is two ``<testcase>`` elements with the same
  classname and name, in run order (a failure, then the rerun).
- subunit v2 through python-subunit's ``StreamResultToBytes`` (stestr's writer): an
  ``inprogress`` and a final packet per attempt, ``worker-N`` tags, a ``traceback``
  attachment on failures and a ``reason`` on skips.
- Rally's JSON task report, format 1.2 (``rally/plugins/task/exporters/json_exporter.py``).
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from subunit.v2 import StreamResultToBytes

from gatewatch.demo.catalog import PERF_CV, PERF_STEP_SCENARIO, RALLY_SCENARIOS
from gatewatch.demo.failures import new_uuid
from gatewatch.demo.plan import BuildPlan, PerfPlan
from gatewatch.demo.results import Attempt


def _split(test_id: str) -> tuple[str, str]:
    classname, _, name = test_id.rpartition(".")
    return classname, name


def render_junit(plan: BuildPlan, attempts: list[Attempt], started: datetime) -> bytes:
    failures = sum(1 for a in attempts if a.status == "fail")
    skipped = sum(1 for a in attempts if a.status == "skip")
    total_s = sum(a.duration_s for a in attempts)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="pytest tests">\n',
        f'  <testsuite name="pytest" errors="0" failures="{failures}" skipped="{skipped}" '
        f'tests="{len(attempts)}" time="{total_s:.3f}" timestamp="{started.isoformat()}" '
        f'hostname="np{plan.seed % 10**10:010d}">\n',
    ]
    for attempt in attempts:
        classname, name = _split(attempt.test_id)
        names = f"classname={quoteattr(classname)} name={quoteattr(name)}"
        head = f'    <testcase {names} time="{attempt.duration_s:.3f}"'
        if attempt.status == "success":
            parts.append(head + "/>\n")
        elif attempt.status == "skip":
            parts.append(
                f'{head}>\n      <skipped type="pytest.skip" message={quoteattr(attempt.message)}/>\n'
                "    </testcase>\n"
            )
        else:
            parts.append(
                f"{head}>\n      <failure message={quoteattr(attempt.message)}>"
                f"{escape(attempt.traceback)}</failure>\n    </testcase>\n"
            )
    parts.append("  </testsuite>\n</testsuites>\n")
    return "".join(parts).encode("utf-8")


def render_subunit(attempts: list[Attempt], started: datetime) -> bytes:
    out = io.BytesIO()
    stream = StreamResultToBytes(out)
    clocks = [started] * 4
    for attempt in attempts:
        tags = {f"worker-{attempt.worker}"}
        begin = clocks[attempt.worker]
        end = begin + timedelta(seconds=attempt.duration_s)
        clocks[attempt.worker] = end + timedelta(milliseconds=3)
        stream.status(test_id=attempt.test_id, test_status="inprogress", test_tags=tags, timestamp=begin)
        if attempt.status == "fail":
            stream.status(
                test_id=attempt.test_id,
                file_name="traceback",
                file_bytes=attempt.traceback.encode(),
                mime_type="text/x-traceback; charset=utf8",
                eof=True,
                test_tags=tags,
                timestamp=end,
            )
        elif attempt.status == "skip":
            stream.status(
                test_id=attempt.test_id,
                file_name="reason",
                file_bytes=attempt.message.encode(),
                mime_type="text/plain; charset=utf8",
                eof=True,
                test_tags=tags,
                timestamp=end,
            )
        stream.status(test_id=attempt.test_id, test_status=attempt.status, test_tags=tags, timestamp=end)
    return out.getvalue()


def _stats(values: list[float]) -> dict[str, float | int | str]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    return {
        "iteration_count": len(values),
        "min": round(ordered[0], 3),
        "median": pct(0.5),
        "90%ile": pct(0.9),
        "95%ile": pct(0.95),
        "max": round(ordered[-1], 3),
        "avg": round(sum(values) / len(values), 3),
        "success": "100.0%",
    }


@dataclass(slots=True)
class _Iterations:
    data: list[dict[str, object]] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    atomics: dict[str, list[float]] = field(default_factory=dict)


def _iterations(plan: BuildPlan, rng: random.Random, position: int, clock: float) -> _Iterations:
    """Rally's per-iteration records: noisy atomic actions, scaled by outliers and the step."""
    scenario, atomics, count = RALLY_SCENARIOS[position]
    perf = plan.perf or PerfPlan(commit_index=0, step_factor=1.0, outlier_factor=1.0)
    factor = perf.outlier_factor * (perf.step_factor if scenario == PERF_STEP_SCENARIO else 1.0)
    found = _Iterations(atomics={name: [] for name, _ in atomics})
    for _ in range(count):
        actions, at = [], clock
        for name, mean_s in atomics:
            took = max(0.01, rng.gauss(mean_s * factor, mean_s * factor * PERF_CV))
            actions.append(
                {"name": name, "started_at": round(at, 6), "finished_at": round(at + took, 6), "children": []}
            )
            found.atomics[name].append(took)
            at += took
        found.durations.append(at - clock)
        found.data.append(
            {
                "timestamp": round(clock, 6),
                "duration": round(at - clock, 6),
                "idle_duration": 0.0,
                "error": [],
                "output": {"additive": [], "complete": []},
                "atomic_actions": actions,
            }
        )
        clock = at + rng.uniform(0.05, 0.3)
    return found


def _workload(plan: BuildPlan, rng: random.Random, position: int, clock: float) -> dict[str, object]:
    scenario, _, count = RALLY_SCENARIOS[position]
    runs = _iterations(plan, rng, position, clock)
    durations = runs.durations
    atomic_stats = [
        {"name": name, "display_name": name, "count_per_iteration": 1, "children": [], "data": _stats(values)}
        for name, values in runs.atomics.items()
    ]
    when = datetime.fromtimestamp(clock, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    load = sum(durations) / 2
    return {
        "uuid": new_uuid(rng),
        "description": "",
        "runner": {"constant": {"times": count, "concurrency": 2}},
        "hooks": [],
        "scenario": {scenario: {}},
        "min_duration": round(min(durations), 6),
        "max_duration": round(max(durations), 6),
        "start_time": clock,
        "load_duration": round(load, 6),
        "full_duration": round(load + rng.uniform(5, 30), 6),
        "statistics": {
            "durations": {
                "atomics": atomic_stats,
                "total": {
                    "name": "total",
                    "display_name": "total",
                    "count_per_iteration": 1,
                    "data": _stats(durations),
                    "children": [],
                },
            }
        },
        "data": runs.data,
        "failed_iteration_count": 0,
        "total_iteration_count": count,
        "created_at": when,
        "updated_at": when,
        "contexts": {"users": {"tenants": 2, "users_per_tenant": 2}},
        "contexts_results": [],
        "position": position,
        "pass_sla": True,
        "sla_results": {"sla": []},
        "sla": {"failure_rate": {"max": 0}},
    }


def render_rally(plan: BuildPlan, rng: random.Random) -> bytes:
    """A Rally 1.2 JSON report of one task with every scenario of ``RALLY_SCENARIOS``."""
    clock = plan.start.timestamp() + 1500.0
    workloads = []
    for position in range(len(RALLY_SCENARIOS)):
        workload = _workload(plan, rng, position, clock)
        workloads.append(workload)
        clock += float(str(workload["full_duration"])) + 3.0
    created = plan.start.strftime("%Y-%m-%dT%H:%M:%S")
    updated = plan.end.strftime("%Y-%m-%dT%H:%M:%S")
    subtask = {
        "uuid": new_uuid(rng),
        "title": "nimbus-rally",
        "description": "",
        "status": "finished",
        "created_at": created,
        "updated_at": updated,
        "sla": {},
        "workloads": workloads,
    }
    task = {
        "uuid": new_uuid(rng),
        "title": "nimbus-rally",
        "description": "",
        "status": "finished",
        "tags": [],
        "env_uuid": new_uuid(rng),
        "env_name": "devstack",
        "created_at": created,
        "updated_at": updated,
        "pass_sla": True,
        "subtasks": [subtask],
    }
    report = {
        "info": {"rally_version": "3.4.0", "generated_at": updated, "format_version": "1.2"},
        "tasks": [task],
    }
    return json.dumps(report, indent=4).encode("utf-8")
