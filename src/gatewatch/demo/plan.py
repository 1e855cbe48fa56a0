"""The demo's options and the plan of one build: every decision made, nothing rendered yet (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gatewatch.demo.catalog import BugSpec, Infra, JobSpec
from gatewatch.errors import ConfigError

DEFAULT_START = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoOptions:
    """What history to generate. Sizes are derived from ``small`` and ``days``.

    ``small`` makes a test-sized world (2 days unless ``days`` is given, few changes,
    fewer tests per run); the default is >= 20,000 builds and >= 1,000,000 test results.
    """

    seed: int = 42
    small: bool = False
    days: int | None = None
    start: datetime = DEFAULT_START

    def __post_init__(self) -> None:
        if self.days is not None and not 1 <= self.days <= 3660:
            raise ConfigError(
                f"demo days must be between 1 and 3660, not {self.days}", hint="use e.g. --days 28"
            )
        if self.start.utcoffset() is None:
            raise ConfigError("demo start must be a timezone-aware datetime", hint="pass e.g. tzinfo=UTC")

    @property
    def day_count(self) -> int:
        if self.days is not None:
            return self.days
        return 2 if self.small else 28

    @property
    def changes_per_weekday(self) -> float:
        return 10.0 if self.small else 45.0

    @property
    def tempest_test_count(self) -> int:
        return 240 if self.small else 1300

    @property
    def problem_density(self) -> float:
        """Factor on the race-bug and SSH-timeout rates (4x in the small world)."""
        return 4.0 if self.small else 1.0

    @property
    def unit_scale(self) -> float:
        """Share of each project's unit tests a run executes (the small world runs fewer)."""
        return 0.25 if self.small else 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PerfPlan:
    """The rally job's inputs: which commit (index in the compute history) and its factors."""

    commit_index: int
    step_factor: float
    outlier_factor: float


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildPlan:
    """One build with every planted decision made; ``seed`` drives its rendering.

    ``causes`` lists why a failed build failed (``infra:<kind>``, ``bug:<id>``,
    ``uncategorized:<id>``, ``regression``, ``broken-job:<job>``, ``flaky:<test id>``);
    empty for a successful build. ``flaky`` maps each planted flaky test of the job to the
    outcomes of its attempts (True = failed attempt).
    """

    uuid: str
    job: JobSpec
    project: str
    pipeline: str
    change: int | None
    patchset: int | None
    ref: str
    newrev: str
    buildset_uuid: str
    event_id: str
    start: datetime
    end: datetime
    attempt: int
    result: str
    seed: int
    causes: tuple[str, ...] = ()
    infra: Infra | None = None
    bug: BugSpec | None = None
    ssh_timeout: bool = False
    regression: bool = False
    broken: bool = False
    flaky: tuple[tuple[str, tuple[bool, ...]], ...] = ()
    perf: PerfPlan | None = None
    tempest_count: int = 1300
    unit_scale: float = 1.0

    @property
    def runs_tests(self) -> bool:
        """False when the build never reached its test run (infra failures)."""
        return self.infra is None

    @property
    def day(self) -> str:
        return self.start.strftime("%Y-%m-%d")

    @property
    def log_url(self) -> str:
        if self.infra is Infra.NODE_FAILURE:
            return ""
        if self.change is not None:
            where = f"{self.change % 100:02d}/{self.change}/{self.patchset}/{self.pipeline}"
        else:
            where = f"{self.pipeline}/opendev.org/nimbus/{self.project}/master"
        return f"https://logs.nimbus.example.org/{where}/{self.job.name}/{self.uuid[:7]}/"
