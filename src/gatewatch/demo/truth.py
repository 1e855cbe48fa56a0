"""The planted truth of a demo history: what later features must find (records, JSON round trip).

``failed_builds`` maps every failed build's uuid to its result, job and causes. A cause is
one of ``infra:<kind>`` (mirror-503, node-failure, disk-full, dns-failure), ``bug:<id>``
(an elastic-recheck query file ``<id>.yaml``), ``uncategorized:ssh-timeout-floating-ip``,
``regression``, ``broken-job:<job>`` and ``flaky:<test id>``. Infra causes are always alone;
the others may combine (a flaky test failing in a build that a race bug also broke): then
every cause is listed. Successful builds have no cause and are not listed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gatewatch.errors import GatewatchError


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedBuild:
    result: str
    job_name: str
    project: str
    causes: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedBug:
    """A race bug planted to match ``query_file``; ``rate`` is per run of ``job_name``."""

    bug: str
    query_file: str
    job_name: str
    rate: float
    log_name: str
    test_id: str
    builds: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedFlaky:
    """A flaky test: each attempt fails with ``rate``; ``retried`` reruns a failed attempt once.

    ``runs`` counts builds that ran the test, ``failed_attempts`` its failed attempts and
    ``failed_builds`` the builds it failed (its last attempt failed).
    """

    test_id: str
    job_name: str
    rate: float
    retried: bool
    runs: int
    attempts: int
    failed_attempts: int
    failed_builds: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedRegression:
    """A merged change that breaks ``test_id`` in ``job_name`` builds from ``start`` until ``end``."""

    project: str
    change: int
    patchset: int
    commit: str
    fix_change: int
    fix_commit: str
    job_name: str
    test_id: str
    start: str
    end: str
    builds: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedSeries:
    project: str
    benchmark: str
    metric: str
    environment: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantedPerf:
    """A step of ``magnitude_pct`` at ``commit`` (index ``commit_index`` in the series).

    ``series`` is the headline series (the scenario's iteration duration); every atomic
    action of the same scenario steps by the same factor (``also_stepped``); the other
    scenarios' series have no change (``unchanged``). ``outlier_builds`` ran 2-3x slower.
    """

    series: PlantedSeries
    also_stepped: tuple[PlantedSeries, ...]
    unchanged: tuple[PlantedSeries, ...]
    commit: str
    commit_index: int
    build_uuid: str
    magnitude_pct: float
    noise_cv: float
    outlier_rate: float
    outlier_builds: tuple[str, ...]
    series_length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoTruth:
    """Everything planted in one demo history."""

    seed: int
    start: str
    days: int
    builds: int
    test_results: int
    failed_builds: dict[str, FailedBuild]
    infra: dict[str, tuple[str, ...]]
    infra_phrases: dict[str, str]
    bugs: tuple[PlantedBug, ...]
    uncategorized: dict[str, tuple[str, ...]]
    flaky_tests: tuple[PlantedFlaky, ...]
    regression: PlantedRegression
    broken_jobs: dict[str, tuple[str, ...]]
    perf: PlantedPerf | None
    uncategorized_rates: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default=())


def render_truth(truth: DemoTruth) -> str:
    return json.dumps(asdict(truth), indent=1, sort_keys=True) + "\n"


def _tuple_values(data: dict[str, Any]) -> dict[str, Any]:
    return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}


def _series(data: dict[str, Any]) -> PlantedSeries:
    return PlantedSeries(**data)


def _perf(data: dict[str, Any] | None) -> PlantedPerf | None:
    if data is None:
        return None
    values = _tuple_values(data)
    values["series"] = _series(data["series"])
    values["also_stepped"] = tuple(_series(s) for s in data["also_stepped"])
    values["unchanged"] = tuple(_series(s) for s in data["unchanged"])
    return PlantedPerf(**values)


def parse_truth(text: str, *, source: str = "truth.json") -> DemoTruth:
    """Parse the JSON written by :func:`render_truth`."""
    try:
        data = json.loads(text)
        values = dict(data)
        values["failed_builds"] = {
            k: FailedBuild(**_tuple_values(v)) for k, v in data["failed_builds"].items()
        }
        values["infra"] = _tuple_values(data["infra"])
        values["bugs"] = tuple(PlantedBug(**_tuple_values(b)) for b in data["bugs"])
        values["uncategorized"] = _tuple_values(data["uncategorized"])
        values["flaky_tests"] = tuple(PlantedFlaky(**_tuple_values(f)) for f in data["flaky_tests"])
        values["regression"] = PlantedRegression(**_tuple_values(data["regression"]))
        values["broken_jobs"] = _tuple_values(data["broken_jobs"])
        values["perf"] = _perf(data["perf"])
        values["notes"] = tuple(data.get("notes", ()))
        values["uncategorized_rates"] = dict(data.get("uncategorized_rates", {}))
        return DemoTruth(**values)
    except (ValueError, KeyError, TypeError) as exc:
        raise GatewatchError(
            f"{source}: not a demo truth file ({exc})", hint="regenerate it with `gatewatch demo`"
        ) from None


def load_truth(path: Path) -> DemoTruth:
    """Read a demo's ``truth.json``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GatewatchError(
            f"cannot read {path}: {exc.strerror}", hint="run `gatewatch demo` first"
        ) from None
    return parse_truth(text, source=str(path))
