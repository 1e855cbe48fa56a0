"""`gatewatch health` (jobs overview, one job, one test, rebuild) and `gatewatch flaky`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from gatewatch.analyse.health import (
    compute_attention_order,
    render_exclude_list,
    render_job_verdict,
    render_quarantine_json,
)
from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.cli.progress import progress_bar
from gatewatch.domain.health import HealthStatus, JobHealth, RegressionWindow, TestHealth
from gatewatch.services.health import (
    Selection,
    load_flaky_tests,
    load_job_health,
    load_jobs_overview,
    load_test_report,
    rebuild_health,
    resolve_query,
)
from gatewatch.store.health_queries import HealthQuery

F = TypeVar("F", bound=Callable[..., Any])


def selection_options(func: F) -> F:
    """--days/--since, --branch, --pipeline, --job and --json."""
    options = [
        click.option(
            "--days", type=click.IntRange(1, 3650), help="Days of history up to the newest ingested day [28]."
        ),
        click.option(
            "--since",
            type=click.DateTime(["%Y-%m-%d"]),
            help="First day (YYYY-MM-DD, UTC) instead of --days.",
        ),
        click.option("--branch", help="Only builds of this branch."),
        click.option("--pipeline", help="Only builds of this pipeline (e.g. check, gate)."),
        click.option("--job", help="Only builds of this job."),
        json_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _query(app: AppContext, kw: dict[str, Any]) -> HealthQuery:
    since: datetime | None = kw.get("since")
    selection = Selection(
        days=kw.get("days"),
        since=since.date() if since else None,
        branch=kw.get("branch"),
        pipeline=kw.get("pipeline"),
        job=kw.get("job"),
    )
    return resolve_query(app.store, selection)


def as_data(value: Any) -> Any:
    """Dataclasses (with slots) as JSON-ready dicts."""
    return (
        dataclasses.asdict(value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type)
        else value
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _interval(lo_hi: tuple[float, float]) -> str:
    return f"[{lo_hi[0]:.1%}, {lo_hi[1]:.1%}]"


def _print_jobs(jobs: tuple[JobHealth, ...], query: HealthQuery) -> None:
    """Jobs worth attention first (broken, flaky, failing), then the healthy ones; what each
    attention status means below the table (the same lines as the demo summary)."""
    table = Table("job", "status", "builds", "fail", "fail excl. infra (95% CI)", "excl. known", "rechecks")
    ordered = compute_attention_order(jobs)
    for j in ordered:
        rechecks = "-" if j.expected_rechecks is None else f"{j.expected_rechecks:.2f}"
        table.add_row(
            j.job_name + ("" if j.voting else " (nv)"),
            "healthy" if j.status == HealthStatus.STABLE else j.status.value,
            f"{j.builds:,}",
            _pct(j.failure_rate),
            f"{_pct(j.failure_rate_excl_infra)} {_interval(j.failure_interval_excl_infra)}",
            _pct(j.failure_rate_excl_known),
            rechecks,
        )
    console = Console()
    console.print(f"history since {query.since or 'the start'}")
    console.print(table)
    for j in ordered:
        if j.status != HealthStatus.STABLE or len(ordered) == 1:
            console.print(f"  {j.job_name}: {render_job_verdict(j)}", soft_wrap=True)


@click.group("health", invoke_without_command=True)
@selection_options
@pass_app
@click.pass_context
def health(ctx: click.Context, app: AppContext, /, **kw: Any) -> None:
    """Job and test health: failure rates with Wilson 95% intervals, flaky tests with evidence.

    Without a subcommand: the jobs overview (runs, failure rate excluding infra failures and
    excluding known bugs, P(fail | correct change) as expected rechecks per change).

    \b
    Examples:
      gatewatch health --days 7 --pipeline gate
      gatewatch health job nimbus-tempest-full
      gatewatch health test 'tempest.api.compute.test_x.T.test_y'
    """
    if ctx.invoked_subcommand is not None:
        return
    query = _query(app, kw)
    jobs = load_jobs_overview(app.store, query)
    if kw["as_json"]:
        echo_json({"since": query.since, "jobs": [as_data(j) for j in jobs]})
        return
    _print_jobs(jobs, query)


@health.command("job")
@click.argument("name")
@selection_options
@pass_app
def job_cmd(app: AppContext, /, name: str, **kw: Any) -> None:
    """Health of one job: rates per day, P(fail | correct change), flaky evidence.

    \b
    Example:
      gatewatch health job nimbus-tempest-full --days 14
    """
    query = _query(app, kw)
    job = load_job_health(app.store, name, query)
    if kw["as_json"]:
        echo_json(as_data(job))
        return
    _print_jobs((job,), query)
    table = Table("day", "builds", "failures", "infra", "known", "fail excl. infra", "excl. known")
    for d in job.daily:
        table.add_row(
            str(d.day), str(d.builds), str(d.failures), str(d.infra_failures), str(d.known_failures),
            _pct(d.failure_rate_excl_infra), _pct(d.failure_rate_excl_known),
        )  # fmt: skip
    console = Console()
    console.print(table)
    _print_evidence(console, job.evidence)


def _print_evidence(console: Console, evidence: tuple[Any, ...]) -> None:
    for e in evidence:
        builds = ", ".join(e.build_uuids[:4]) or ", ".join((*e.passed_runs[:2], *e.failed_runs[:2]))
        where = f" on {e.code}" if e.code and not e.code.startswith("run:") else ""
        console.print(
            f"  evidence {e.kind}{where}: {len(e.passed_runs)} passed, {len(e.failed_runs)} failed; builds {builds}"
        )


def _status_text(h: TestHealth) -> str:
    if not h.regressions or h.status == HealthStatus.FLAKY:
        return h.status.value + (" (and regression windows, below)" if h.regressions else "")
    fixed = all(w.fixed for w in h.regressions)
    return (
        f"{h.status.value}: a regression{', fixed' if fixed else ''} (failures in a block of runs), not flaky"
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g} s"


@health.command("test")
@click.argument("test_id")
@selection_options
@pass_app
def test_cmd(app: AppContext, /, test_id: str, **kw: Any) -> None:
    """History and flakiness of one test, with the runs that prove it.

    TEST_ID is a whole test id or a part that only one id contains.

    \b
    Example:
      gatewatch health test 'pkg.tests.test_x.T.test_y' --json
      gatewatch health test ServersTest.test_list_servers
    """
    query = _query(app, kw)
    report = load_test_report(app.store, test_id, query)
    if kw["as_json"]:
        echo_json(as_data(report))
        return
    console = Console()
    h = report.health
    console.print(f"{h.test_id}\n  status {_status_text(h)}; {h.runs} runs, {h.attempts} attempts")
    console.print(
        f"  failure probability {_pct(h.failure_probability)} {_interval(h.failure_interval)}; "
        f"flip rate {_pct(h.flip_rate)}; score {h.flakiness_score:.2f}"
    )
    console.print(f"  failures first {h.first_failure_at} last {h.last_failure_at}")
    step = h.duration_step
    stepped = ""
    if step:
        p_value = f", p={step.p_value:.1e}" if step.p_value is not None else ""
        stepped = f"; duration step {step.before_s:.3g} -> {step.after_s:.3g} s at run {step.index}{p_value}"
    console.print(f"  duration p50 {_seconds(h.duration_p50_s)}, p95 {_seconds(h.duration_p95_s)}{stepped}")
    _print_evidence(console, h.evidence)
    if not report.by_job and h.regressions:
        console.print("  regression windows (failures here are a breakage, not flakiness):")
        _print_windows(console, h.regressions)
    for j in report.by_job:
        console.print(
            f"  in {j.job_name}: {j.status.value}, {j.runs} runs, failure probability "
            f"{_pct(j.failure_probability)} {_interval(j.failure_interval)}"
        )
        _print_windows(console, j.regressions)
    table = Table("day", "job", "branch", "pipeline", "runs", "passes", "failures", "skips", "infra")
    for r in report.daily:
        table.add_row(str(r.day), r.job_name, r.branch, r.pipeline, str(r.runs), str(r.passes), str(r.failures),
                      str(r.skips), str(r.infra_attempts))  # fmt: skip
    console.print(table)


@health.command("rebuild")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
@pass_app
def rebuild_cmd(app: AppContext, as_json: bool) -> None:
    """Recompute every daily rollup from the raw results (after triage verdicts change).

    \b
    Example:
      gatewatch health rebuild
    """
    with progress_bar(enabled=not as_json) as progress:
        task = progress.add_task("health: rebuild rollups", total=None, detail="tests")

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        tests, jobs = rebuild_health(app.store, on_progress=on_progress)
    if as_json:
        echo_json({"test_rollups": tests, "job_rollups": jobs})
        return
    Console().print(f"rebuilt {tests:,} test rollups and {jobs:,} job rollups")


def _write(out: Path | None, text: str) -> None:
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


@click.command("flaky")
@selection_options
@click.option(
    "--exclude-list", "style", type=click.Choice(["pytest", "stestr"]), help="Print an exclude list."
)
@click.option("--quarantine-json", is_flag=True, help="Print the quarantine list (gatewatch.quarantine/1).")
@click.option("--broken/--no-broken", default=True, show_default=True, help="Include broken tests.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the list to FILE.")
@pass_app
def flaky(app: AppContext, /, style: str | None, quarantine_json: bool, broken: bool, out: Path | None,
          **kw: Any) -> None:  # fmt: skip
    """Flaky (and broken) tests, most costly first, each with its evidence.

    \b
    Examples:
      gatewatch flaky --days 14
      gatewatch flaky --exclude-list stestr --out exclude.txt
      gatewatch flaky --quarantine-json > quarantine.json
    """
    found = load_flaky_tests(app.store, _query(app, kw), include_broken=broken, include_regressions=True)
    tests = tuple(h for h in found if h.status in QUARANTINED)
    if style is not None:
        _write(out, render_exclude_list(tests, style=style))
        return
    if quarantine_json:
        now = datetime.now(UTC)
        _write(out, render_quarantine_json(tests, generated_at=now, include_broken=broken))
        return
    if kw["as_json"]:
        echo_json({"tests": [as_data(h) for h in found]})
        return
    _print_tests(found)


QUARANTINED = (HealthStatus.FLAKY, HealthStatus.BROKEN)


def _evidence_kinds(h: TestHealth) -> str:
    kinds = sorted({e.kind for e in h.evidence} | ({"window"} if h.regressions else set()))
    return ",".join(kinds) or "-"


def _print_tests(tests: tuple[TestHealth, ...]) -> None:
    console = Console()
    table = Table("status", "fail prob. (95% CI)", "runs", "flip", "score", "evidence", "job", "test")
    for h in tests:
        if h.status in QUARANTINED:
            table.add_row(h.status.value, f"{_pct(h.failure_probability)} {_interval(h.failure_interval)}",
                          str(h.runs), _pct(h.flip_rate), f"{h.flakiness_score:.2f}", _evidence_kinds(h),
                          h.job_name, h.test_id)  # fmt: skip
    if table.row_count:
        console.print(table)
    else:
        console.print("no flaky or broken test in the selected history")
    windows = [h for h in tests if h.regressions]
    if windows:
        console.print(
            "\nregression windows: failures packed into consecutive runs (a breakage in the code or a "
            "dependency, not flakiness; docs/health.md)"
        )
    for h in windows:
        console.print(f"  {h.test_id} in {h.job_name}:", soft_wrap=True)
        _print_windows(console, h.regressions)


def _when(at: datetime | None) -> str:
    return "?" if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def describe_window(w: RegressionWindow) -> str:
    """One line a user reads: "broken from X to Y (N of M runs failed), fixed by Z" or "broken since X"."""
    if w.fixed:
        head = f"broken from {_when(w.started_at)} to {_when(w.ended_at)}, fixed by {_when(w.fixed_at)}"
    else:
        head = f"broken since {_when(w.started_at)}, still failing"
    return (
        f"{head} ({w.failed_runs} of {w.runs} runs failed on {w.branch or 'any branch'}); "
        f"first failing build {w.first_failed_build} ({w.first_failed_code}), last pass "
        f"{_when(w.last_passed_at)}; p = {w.p_value:.1e}"
    )


def _print_windows(console: Console, windows: tuple[RegressionWindow, ...]) -> None:
    for w in windows:
        console.print(f"    {describe_window(w)}", soft_wrap=True)


def register(cli: click.Group) -> None:
    cli.add_command(health)
    cli.add_command(flaky)
