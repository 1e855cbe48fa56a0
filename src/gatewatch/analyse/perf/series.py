"""Turn benchmark samples into one clean series ready for change-point detection.

Checks and repairs, in order: one series key and one unit (mixed units are
refused: converting silently would hide a producer change); non-finite values
dropped and reported; negative values refused for duration units; samples
sorted by timestamp (stable, so samples without a timestamp keep their order);
several samples of one commit (re-runs, rechecks) aggregated into their median,
their per-iteration samples pooled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from gatewatch.domain.perf import BenchmarkSample, Direction, SeriesKey
from gatewatch.errors import PerfError

DURATION_UNITS = frozenset({"s", "sec", "seconds", "ms", "us", "µs", "ns", "min", "h", "ps"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DroppedValue:
    """A sample left out of a series, and why."""

    commit_sha: str
    build_uuid: str
    value: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedSeries:
    """One value per commit, in time order, with what was dropped or merged."""

    key: SeriesKey
    unit: str
    direction: Direction
    values: tuple[float, ...]
    commits: tuple[str, ...]
    timestamps: tuple[datetime | None, ...]
    runs: tuple[int, ...]
    dropped: tuple[DroppedValue, ...] = ()

    @property
    def runs_per_commit(self) -> int:
        return int(np.median(self.runs)) if self.runs else 0


def compute_series(samples: Sequence[BenchmarkSample]) -> PreparedSeries:
    """Validate, sort and aggregate the samples of one series (see module docstring)."""
    if not samples:
        raise PerfError("the series has no samples", hint="ingest benchmark results first")
    key, unit = samples[0].key, samples[0].unit
    _check_uniform(samples, key=key, unit=unit)
    finite = [s for s in samples if math.isfinite(s.value)]
    dropped = tuple(
        DroppedValue(
            commit_sha=s.commit_sha, build_uuid=s.build_uuid, value=s.value, reason="not a finite number"
        )
        for s in samples
        if not math.isfinite(s.value)
    )
    if unit.lower() in DURATION_UNITS:
        negative = [s for s in finite if s.value < 0]
        if negative:
            raise PerfError(
                f"series {key.render()}: negative duration {negative[0].value} {unit} "
                f"(commit {negative[0].commit_sha or '?'}, build {negative[0].build_uuid or '?'})",
                hint="a duration cannot be negative; fix or drop that result",
            )
    ordered = _sorted(finite)
    values, commits, stamps, runs = _aggregate(ordered)
    return PreparedSeries(
        key=key,
        unit=unit,
        direction=samples[0].direction,
        values=values,
        commits=commits,
        timestamps=stamps,
        runs=runs,
        dropped=dropped,
    )


def _check_uniform(samples: Sequence[BenchmarkSample], *, key: SeriesKey, unit: str) -> None:
    for s in samples:
        if s.key != key:
            raise PerfError(
                f"samples of different series mixed: {key.render()} and {s.key.render()}",
                hint="group samples by series key first",
            )
        if s.unit != unit:
            raise PerfError(
                f"series {key.render()} mixes units {unit!r} and {s.unit!r} "
                f"(commit {s.commit_sha or '?'}, build {s.build_uuid or '?'})",
                hint="one series must use one unit; rename the metric or convert the producer's output",
            )


def _sorted(samples: list[BenchmarkSample]) -> list[BenchmarkSample]:
    if all(s.timestamp is not None for s in samples):
        return sorted(samples, key=lambda s: s.timestamp)  # type: ignore[arg-type, return-value]
    return samples


def _aggregate(
    samples: list[BenchmarkSample],
) -> tuple[tuple[float, ...], tuple[str, ...], tuple[datetime | None, ...], tuple[int, ...]]:
    """Median per commit, at the position of the commit's first sample; no commit = its own point."""
    groups: dict[str, list[BenchmarkSample]] = {}
    order: list[str] = []
    for i, s in enumerate(samples):
        name = s.commit_sha or f"#{i}"
        if name not in groups:
            groups[name] = []
            order.append(name)
        groups[name].append(s)
    values = tuple(float(np.median([s.value for s in groups[c]])) for c in order)
    commits = tuple(groups[c][0].commit_sha for c in order)
    stamps = tuple(groups[c][0].timestamp for c in order)
    runs = tuple(len(groups[c]) for c in order)
    return values, commits, stamps, runs
