"""Accumulate the planted truth while the builds stream past (pure; small state per failure)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from gatewatch.demo.catalog import (
    BUGS,
    INFRA_PHRASES,
    PERF_CV,
    PERF_OUTLIER_RATE,
    PERF_STEP_PCT,
    PERF_STEP_SCENARIO,
    RALLY,
    RALLY_SCENARIOS,
    REGRESSED_TEST,
    REGRESSION_JOB,
    SSH_TIMEOUT_ID,
    SSH_TIMEOUT_RATE,
    compute_flaky,
    zuul_project,
)
from gatewatch.demo.plan import BuildPlan, DemoOptions
from gatewatch.demo.results import select_tests
from gatewatch.demo.truth import (
    DemoTruth,
    FailedBuild,
    PlantedBug,
    PlantedFlaky,
    PlantedPerf,
    PlantedRegression,
    PlantedSeries,
)
from gatewatch.demo.world import World

_NOTES = (
    "Directory layout: <day>/<build uuid>/build.json (+ job-output.txt.gz, logs/*.txt.gz, junit.xml, "
    "testrepository.subunit, rally.json). NODE_FAILURE builds have only build.json.",
    "build.json newrev is the tested commit: the patchset's commit in check/gate, the merged commit in post.",
    "Infra causes stop a build before its tests run; other causes may combine in one failed build.",
    "Flaky rates are per attempt; a retried flaky test fails its build only when both attempts fail.",
    "The perf series are rally post-pipeline runs on each merged nimbus-compute commit, in merge order.",
)


@dataclass(slots=True)
class _Flaky:
    runs: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    failed_builds: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TruthCollector:
    """Feed every written build to :meth:`add`, then call :meth:`compute_truth`."""

    opts: DemoOptions
    builds: int = 0
    test_results: int = 0
    failed: dict[str, FailedBuild] = field(default_factory=dict)
    infra: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    bugs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    ssh: list[str] = field(default_factory=list)
    regression: list[str] = field(default_factory=list)
    broken: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    flaky: dict[str, _Flaky] = field(default_factory=lambda: defaultdict(_Flaky))
    rally: list[BuildPlan] = field(default_factory=list)

    def add(self, plan: BuildPlan, test_results: int) -> None:
        self.builds += 1
        self.test_results += test_results
        if plan.causes:
            self.failed[plan.uuid] = FailedBuild(
                result=plan.result,
                job_name=plan.job.name,
                project=zuul_project(plan.project),
                causes=plan.causes,
            )
        if plan.infra is not None:
            self.infra[plan.infra.value].append(plan.uuid)
        if plan.bug is not None:
            self.bugs[plan.bug.bug].append(plan.uuid)
        if plan.ssh_timeout:
            self.ssh.append(plan.uuid)
        if plan.regression:
            self.regression.append(plan.uuid)
        if plan.broken:
            self.broken[plan.job.name].append(plan.uuid)
        if plan.perf is not None:
            self.rally.append(plan)
        if plan.runs_tests and plan.flaky:
            ran = set(select_tests(plan))
            for test_id, attempts in plan.flaky:
                if test_id in ran:
                    self._add_flaky(plan.uuid, test_id, attempts)

    def _add_flaky(self, build: str, test_id: str, attempts: tuple[bool, ...]) -> None:
        stats = self.flaky[test_id]
        stats.runs += 1
        stats.attempts += len(attempts)
        stats.failed_attempts += sum(attempts)
        if attempts[-1]:
            stats.failed_builds.append(build)

    def compute_truth(self, world: World) -> DemoTruth:
        return DemoTruth(
            seed=self.opts.seed,
            start=self.opts.start.isoformat(),
            days=self.opts.day_count,
            builds=self.builds,
            test_results=self.test_results,
            failed_builds=self.failed,
            infra={kind.value: tuple(self.infra.get(kind.value, ())) for kind in INFRA_PHRASES},
            infra_phrases={kind.value: phrase for kind, phrase in INFRA_PHRASES.items()},
            bugs=tuple(
                PlantedBug(
                    bug=b.bug,
                    query_file=b.query_file,
                    job_name=b.job_name,
                    rate=b.rate * self.opts.problem_density,
                    log_name=b.log_name,
                    test_id=b.test_id,
                    builds=tuple(self.bugs.get(b.bug, ())),
                )
                for b in BUGS
            ),
            uncategorized={SSH_TIMEOUT_ID: tuple(self.ssh)},
            uncategorized_rates={SSH_TIMEOUT_ID: SSH_TIMEOUT_RATE * self.opts.problem_density},
            flaky_tests=tuple(self._flaky_truth()),
            regression=self._regression_truth(world),
            broken_jobs={name: tuple(uuids) for name, uuids in self.broken.items()},
            perf=self._perf_truth(world),
            notes=_NOTES,
        )

    def _flaky_truth(self) -> list[PlantedFlaky]:
        found = []
        for spec in compute_flaky():
            stats = self.flaky.get(spec.test_id, _Flaky())
            found.append(
                PlantedFlaky(
                    test_id=spec.test_id,
                    job_name=spec.job_name,
                    rate=spec.rate,
                    retried=spec.retried,
                    runs=stats.runs,
                    attempts=stats.attempts,
                    failed_attempts=stats.failed_attempts,
                    failed_builds=tuple(stats.failed_builds),
                )
            )
        return found

    def _regression_truth(self, world: World) -> PlantedRegression:
        reg = world.regression
        assert reg is not None
        return PlantedRegression(
            project=zuul_project(reg.project),
            change=reg.change,
            patchset=reg.patchset,
            commit=reg.commit,
            fix_change=reg.fix_change,
            fix_commit=reg.fix_commit,
            job_name=REGRESSION_JOB,
            test_id=REGRESSED_TEST,
            start=reg.window.start.isoformat(),
            end=reg.window.end.isoformat(),
            builds=tuple(self.regression),
        )

    def _perf_truth(self, world: World) -> PlantedPerf | None:
        step = world.perf_step
        if step is None:
            return None

        def key(benchmark: str, metric: str) -> PlantedSeries:
            return PlantedSeries(
                project=zuul_project("nimbus-compute"),
                benchmark=benchmark,
                metric=metric,
                environment=RALLY.node_label,
            )

        atomics = {name: acts for name, acts, _ in RALLY_SCENARIOS}
        unchanged = [
            key(name, m)
            for name, acts in atomics.items()
            if name != PERF_STEP_SCENARIO
            for m in ("duration", *(a for a, _ in acts))
        ]
        index = [p.uuid for p in self.rally].index(step.build_uuid)
        return PlantedPerf(
            series=key(PERF_STEP_SCENARIO, "duration"),
            also_stepped=tuple(key(PERF_STEP_SCENARIO, a) for a, _ in atomics[PERF_STEP_SCENARIO]),
            unchanged=tuple(unchanged),
            commit=step.commit,
            commit_index=index,
            build_uuid=step.build_uuid,
            magnitude_pct=PERF_STEP_PCT,
            noise_cv=PERF_CV,
            outlier_rate=PERF_OUTLIER_RATE,
            outlier_builds=tuple(
                p.uuid for p in self.rally if p.perf is not None and p.perf.outlier_factor > 1
            ),
            series_length=len(self.rally),
        )
