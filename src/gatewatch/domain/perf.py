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


class ChangeKind(enum.StrEnum):
    """Whether a change point made the metric worse or better (given its direction)."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"


class RegressionStatus(enum.StrEnum):
    """Where a reported regression stands in its life."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FIXED = "fixed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangePoint:
    """A lasting shift in a series' level.

    ``index`` is the first point of the new level (positions in the analysed
    series); the change happened somewhere between ``first_index - 1`` and
    ``last_index`` (the likely range of the shift, inclusive).
    """

    index: int
    first_index: int
    last_index: int
    kind: ChangeKind
    magnitude_pct: float
    p_value: float
    mean_before: float
    mean_after: float
    spread_before: float
    spread_after: float
    count_before: int
    count_after: int
    statistic: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Outlier:
    """One run far from its neighbours (reported, left out of change-point detection)."""

    index: int
    value: float
    expected: float
    deviation_pct: float


class NoiseLevel(enum.StrEnum):
    """How actionable a series is, from the smallest change it can reveal."""

    QUIET = "quiet"
    NOISY = "noisy"
    UNUSABLE = "unusable"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class NoiseVerdict:
    """Is this series actionable? Robust variation and the smallest detectable change."""

    level: NoiseLevel
    cv_pct: float
    min_detectable_pct: float
    runs_per_commit: int
    commits_per_side: int
    point_count: int
    sentence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PerfFinding:
    """A change point placed on commits: what the regressions list shows.

    The shift happened after ``last_good_commit`` and at or before ``first_bad_commit``;
    ``suspect_commits`` are the commits in between (the ones to look at). Improvements
    are findings too (``kind``); ``status`` is managed by the store (ack, fixed).
    """

    key: SeriesKey
    kind: ChangeKind
    index: int
    last_good_commit: str
    first_bad_commit: str
    suspect_commits: tuple[str, ...]
    magnitude_pct: float
    p_value: float
    mean_before: float
    mean_after: float
    spread_before: float
    spread_after: float
    unit: str
    status: RegressionStatus = RegressionStatus.OPEN
    detected_at: datetime | None = None
