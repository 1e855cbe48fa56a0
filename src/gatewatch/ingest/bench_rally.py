"""Rally task results: the JSON report (``rally task report --json``, format 1.x) and the
legacy ``rally task results`` list.

Per workload (scenario run) the parser yields the iteration ``duration`` (mean of the
successful iterations, each kept as a sample) and one ``atomic:<name>`` series per
top-level atomic action, in seconds. Failed iterations (non-empty ``error``) are left
out of the durations: a timeout is not a measurement. A scenario that appears several
times in one file gets ``#<position>`` appended so its workloads stay apart.

Format 1.2: ``{"info": {"format_version": "1.2"}, "tasks": [{"env_name", "subtasks":
[{"workloads": [{"scenario": {name: args}, "position", "start_time", "data": [
{"duration", "error", "timestamp", "atomic_actions": [{"name", "started_at",
"finished_at", "children"}]}]}]}]}]}`` (openstack/rally json_exporter). Legacy:
``[{"key": {"name", "pos", "kw"}, "result": [{"duration", "error", "atomic_actions":
{name: seconds} or [...]}], "created_at"}]``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatewatch.domain.perf import BenchmarkSample, Direction
from gatewatch.ingest.bench_common import Origin, check, fail, field, mean, optional, parse_time


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    """One scenario run, normalised from either format."""

    name: str
    position: int
    iterations: list[Any]
    started: datetime | None
    path: str
    data_key: str = "data"


def parse_rally_report(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    workloads = []
    env = ""
    for t, task in enumerate(field(doc, "tasks", list, source=src, path="")):
        env = env or optional(task, "env_name", str, "", source=src, path=f"tasks[{t}]").replace("n\\a", "")
        for s, sub in enumerate(field(task, "subtasks", list, source=src, path=f"tasks[{t}]")):
            for w, load in enumerate(
                field(sub, "workloads", list, source=src, path=f"tasks[{t}].subtasks[{s}]")
            ):
                path = f"tasks[{t}].subtasks[{s}].workloads[{w}]"
                scenario = field(load, "scenario", dict, source=src, path=path)
                if len(scenario) != 1:
                    raise fail(src, f"{path}.scenario", "expected exactly one scenario name")
                workloads.append(
                    Workload(
                        name=str(next(iter(scenario))),
                        position=optional(load, "position", int, w, source=src, path=path),
                        iterations=field(load, "data", list, source=src, path=path),
                        started=_time(load.get("start_time") or load.get("created_at"), src, path),
                        path=path,
                    )
                )
    here = Origin(context=origin.context, source=src, environment=env, timestamp=None)
    return _samples(workloads, here)


def parse_rally_legacy(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    workloads = []
    for i, entry in enumerate(check(doc, list, source=src, path="")):
        path = f"[{i}]"
        key = field(entry, "key", dict, source=src, path=path)
        workloads.append(
            Workload(
                name=field(key, "name", str, source=src, path=f"{path}.key"),
                position=optional(key, "pos", int, i, source=src, path=f"{path}.key"),
                iterations=field(entry, "result", list, source=src, path=path),
                started=_time(entry.get("created_at"), src, path),
                path=path,
                data_key="result",
            )
        )
    return _samples(workloads, origin)


def _time(value: Any, source: str, path: str) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 1e14:
        value = value / 1e6  # Rally's start_time is in microseconds
    return parse_time(value, source=source, path=path)


def _samples(workloads: list[Workload], origin: Origin) -> list[BenchmarkSample]:
    repeated = Counter(w.name for w in workloads)
    out: list[BenchmarkSample] = []
    for load in workloads:
        name = load.name if repeated[load.name] == 1 else f"{load.name}#{load.position}"
        here = Origin(
            context=origin.context,
            source=origin.source,
            environment=origin.environment,
            timestamp=load.started,
        )
        durations, atomics = _iterations(load, origin.source)
        if durations:
            out.append(_sample(here, name, "duration", durations))
        out.extend(_sample(here, name, f"atomic:{action}", values) for action, values in atomics.items())
    return out


def _sample(here: Origin, name: str, metric: str, values: list[float]) -> BenchmarkSample:
    return here.sample(
        benchmark=name,
        metric=metric,
        value=mean(values),
        unit="s",
        direction=Direction.LOWER_IS_BETTER,
        samples=values,
    )


def _iterations(load: Workload, source: str) -> tuple[list[float], dict[str, list[float]]]:
    durations: list[float] = []
    atomics: dict[str, list[float]] = {}
    for k, it in enumerate(load.iterations):
        path = f"{load.path}.{load.data_key}[{k}]"
        if optional(it, "error", list, [], source=source, path=path):
            continue
        durations.append(field(it, "duration", float, source=source, path=path))
        for action, seconds in _atomic_actions(it.get("atomic_actions"), source, f"{path}.atomic_actions"):
            atomics.setdefault(action, []).append(seconds)
    return durations, atomics


def _atomic_actions(actions: Any, source: str, path: str) -> list[tuple[str, float]]:
    """Top-level atomic actions as (name, seconds): a dict (old Rally) or a list of timed records."""
    if actions is None:
        return []
    if isinstance(actions, dict):
        return [
            (str(name), check(v, float, source=source, path=f"{path}.{name}"))
            for name, v in actions.items()
            if v is not None
        ]
    found = []
    for j, action in enumerate(check(actions, list, source=source, path=path)):
        where = f"{path}[{j}]"
        name = field(action, "name", str, source=source, path=where)
        finished = action.get("finished_at")
        if finished is None or action.get("failed"):
            continue
        started = field(action, "started_at", float, source=source, path=where)
        found.append((name, check(finished, float, source=source, path=f"{where}.finished_at") - started))
    return found
