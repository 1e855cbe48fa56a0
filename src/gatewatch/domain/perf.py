"""Benchmark samples and the series they belong to."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Direction(enum.StrEnum):
    """Which way is better for a metric."""

    LOWER_IS_BETTER = "lower"
    HIGHER_IS_BETTER = "higher"


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesKey:
    """Identity of a series: one metric of one benchmark in one environment."""

    project: str
    benchmark: str
    metric: str
    environment: str = ""

    def render(self) -> str:
        parts = [self.project, self.benchmark, self.metric]
        if self.environment:
            parts.append(self.environment)
        return "/".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkSample:
    """One measurement of a series at one commit.

    ``value`` is the summary the producer reports (mean, median...);
    ``samples`` keeps per-iteration values when the producer has them.
    """

    key: SeriesKey
    value: float
    unit: str
    direction: Direction = Direction.LOWER_IS_BETTER
    samples: tuple[float, ...] = ()
    commit_sha: str = ""
    timestamp: datetime | None = None
    build_uuid: str = ""
