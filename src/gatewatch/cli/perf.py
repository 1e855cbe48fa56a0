"""`gatewatch perf`: benchmark series, change points (regressions), outlier runs and noise."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.cli.ingest import print_summary
from gatewatch.cli.progress import progress_bar
from gatewatch.domain.perf import ChangeKind, RegressionStatus, SeriesKey
from gatewatch.errors import PerfError
from gatewatch.ingest.benchmarks import BenchContext
from gatewatch.ingest.sources import Limits
from gatewatch.services.perf import (
    AnalyseSummary,
    RegressionView,
    SeriesView,
    analyse_all,
    ingest_benchmark_paths,
    list_regressions,
    load_series_view,
    noise_dict,
    noise_report,
    resolve_series_key,
    set_regression_status,
)

STATUS_CHOICES = ("open", "acknowledged", "fixed", "all")


@click.group("perf")
def perf_group() -> None:
    """Performance regressions: change points in benchmark series, outlier runs, noise verdicts."""


@perf_group.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@click.option("--project", default="", help="Project of samples whose file does not name one.")
@click.option("--commit", "commit_sha", default="", help="Commit of samples whose file does not name one.")
@click.option("--environment", default="", help="Environment (node label) of the samples.")
@click.option("--no-analyse", is_flag=True, help="Only store the samples; analyse later.")
@json_option
@pass_app
def ingest(
    app: AppContext,
    paths: tuple[str, ...],
    project: str,
    commit_sha: str,
    environment: str,
    no_analyse: bool,
    as_json: bool,
) -> None:
    """Ingest benchmark result files (Rally, pytest-benchmark, Google Benchmark, asv,
    hyperfine, JMH, CSV), then analyse the series that got new samples.

    Files go through the normal ingest path (content detection, deduplication by content,
    one transaction per file); the options fill in what a file does not say itself.

    \b
    Example:
      gatewatch perf ingest --project nova --commit 3f2a9c1 --environment jammy-8GB rally.json
    """
    defaults = BenchContext(project=project, commit_sha=commit_sha, environment=environment)
    limits = Limits(max_file_bytes=app.settings.max_file_bytes)
    summary = ingest_benchmark_paths(app.store, list(paths), defaults=defaults, limits=limits)
    analysed = None if no_analyse else _analyse(app, force=False, as_json=as_json)
    if as_json:
        echo_json({"ingest": summary.as_dict(), "analyse": analysed.as_dict() if analysed else None})
    else:
        print_summary(summary)
        if analysed is not None:
            _print_analyse(analysed)
    if summary.rejected:
        raise SystemExit(1)
    if analysed is not None:
        _raise_errors(analysed)


@perf_group.command("analyse")
@click.option(
    "--force", is_flag=True, help="Reanalyse every series from scratch, not only those with new samples."
)
@json_option
@pass_app
def analyse(app: AppContext, force: bool, as_json: bool) -> None:
    """Find change points and outlier runs in the series that got new samples.

    Incremental: series without new samples are skipped, and a series whose new points
    only extend it is reanalysed from its last confirmed change point on.

    \b
    Example:
      gatewatch perf analyse
    """
    summary = _analyse(app, force=force, as_json=as_json)
    if as_json:
        echo_json(summary.as_dict())
    else:
        _print_analyse(summary)
    _raise_errors(summary)


def _analyse(app: AppContext, *, force: bool, as_json: bool) -> AnalyseSummary:
    with progress_bar(enabled=not as_json) as progress:
        task = progress.add_task("perf analyse", total=None, detail="")

        def on_series(done: int, total: int, key: SeriesKey) -> None:
            progress.update(task, completed=done, total=total, detail=key.benchmark)

        return analyse_all(app.store, now=datetime.now(UTC), force=force, on_series=on_series)


def _print_analyse(summary: AnalyseSummary) -> None:
    click.echo(
        f"analysed {summary.analysed} series ({summary.incremental} incrementally), "
        f"{summary.unchanged} unchanged; open: {summary.regressions} regression(s), "
        f"{summary.improvements} improvement(s); {summary.outliers} outlier run(s)"
    )
    for error in summary.errors:
        click.secho(f"not analysed: {error}", fg="yellow", err=True)


def _raise_errors(summary: AnalyseSummary) -> None:
    if summary.errors:
        raise PerfError(
            f"{len(summary.errors)} series could not be analysed; first: {summary.errors[0]}",
            hint="fix or remove the offending results, then run gatewatch perf analyse",
        )


@perf_group.command("regressions")
@click.option(
    "--status",
    type=click.Choice(STATUS_CHOICES),
    default="open",
    show_default=True,
    help="Which change points to list.",
)
@json_option
@pass_app
def regressions(app: AppContext, status: str, as_json: bool) -> None:
    """List performance regressions, and improvements apart, with their suspect commits.

    Each shows the commit range where the level moved, the changes and builds at those
    commits, the mean and spread before and after, the magnitude and the p-value.

    \b
    Example:
      gatewatch perf regressions --status all --json
    """
    statuses = tuple(RegressionStatus) if status == "all" else (RegressionStatus(status),)
    views = list_regressions(app.store, statuses=statuses)
    worse = [v for v in views if v.stored.finding.kind is ChangeKind.REGRESSION]
    better = [v for v in views if v.stored.finding.kind is ChangeKind.IMPROVEMENT]
    if as_json:
        echo_json(
            {"regressions": [v.as_dict() for v in worse], "improvements": [v.as_dict() for v in better]}
        )
        return
    for title, group in ((f"regressions ({status})", worse), (f"improvements ({status})", better)):
        click.secho(f"{title}: {len(group)}", bold=True)
        for view in group:
            _print_finding(view)


def _print_finding(view: RegressionView) -> None:
    f = view.stored.finding
    click.echo(
        f"#{view.stored.id} {f.kind.value} {f.magnitude_pct:+.1f}% [{f.status.value}] {f.key.render()}"
    )
    click.echo(
        f"    before {_num(f.mean_before)} ±{_num(f.spread_before)} {f.unit} -> "
        f"after {_num(f.mean_after)} ±{_num(f.spread_after)} {f.unit}, p-value {f.p_value:.1e}"
    )
    click.echo(
        f"    changed after {f.last_good_commit[:12] or '(first point)'}, by {f.first_bad_commit[:12]}"
    )
    for commit in f.suspect_commits:
        changes = ", ".join(view.changes.get(commit, [])) or "no known change"
        builds = ", ".join(view.builds.get(commit, [])) or "no build"
        click.echo(f"      suspect {commit[:12]}: {changes}; builds {builds}")


def _num(value: float) -> str:
    return "?" if not math.isfinite(value) else f"{value:.4g}"


@perf_group.command("series")
@click.argument("key")
@json_option
@pass_app
def series(app: AppContext, key: str, as_json: bool) -> None:
    """Show one series: its values per commit, outlier runs, change points and noise.

    KEY is project/benchmark/metric[/environment] as the other perf commands print it;
    the environment may be left out when the series has only one.

    \b
    Example:
      gatewatch perf series nimbus/nimbus-compute/NovaServers.boot_and_delete_server/duration --json
    """
    view = load_series_view(app.store, resolve_series_key(app.store, key))
    if as_json:
        echo_json(view.as_dict())
        return
    _print_series(view)


def _print_series(view: SeriesView) -> None:
    console = Console()
    s = view.series
    outliers = {o.index: o for o in view.outliers}
    changes = {f.finding.index: f for f in view.findings}
    table = Table("#", "commit", "value", "runs", "note", title=f"{view.key.render()} ({s.unit})")
    for i, (commit, value, runs) in enumerate(zip(s.commits, s.values, s.runs, strict=True)):
        notes = []
        if i in changes:
            f = changes[i].finding
            notes.append(f"{f.kind.value} #{changes[i].id} {f.magnitude_pct:+.1f}% ({f.status.value})")
        if i in outliers:
            notes.append(f"outlier {outliers[i].deviation_pct:+.0f}%")
        table.add_row(str(i), commit[:12], f"{value:.4g}", str(runs), "; ".join(notes))
    console.print(table)
    if view.verdict is not None:
        console.print(view.verdict.sentence, highlight=False)
    else:
        console.print("not analysed yet: run gatewatch perf analyse", highlight=False)
    for dropped in s.dropped:
        console.print(f"dropped {dropped.commit_sha[:12]}: {dropped.reason}", highlight=False)


@perf_group.command("noise")
@json_option
@pass_app
def noise(app: AppContext, as_json: bool) -> None:
    """Is each series actionable? Its variation and the smallest change it can reveal.

    \b
    Example:
      gatewatch perf noise
    """
    report = noise_report(app.store)
    if as_json:
        echo_json([noise_dict(key, verdict) for key, verdict in report])
        return
    console = Console()
    table = Table("series", "level", "cv", "min change", "points", title="noise verdicts")
    for key, verdict in report:
        cv = "?" if math.isnan(verdict.cv_pct) else f"±{verdict.cv_pct:.1f}%"
        least = "?" if math.isnan(verdict.min_detectable_pct) else f"{verdict.min_detectable_pct:.1f}%"
        table.add_row(key.render(), verdict.level.value, cv, least, str(verdict.point_count))
    console.print(table)
    for key, verdict in report:
        console.print(f"{key.render()}: {verdict.sentence}", highlight=False, soft_wrap=True)


@perf_group.command("ack")
@click.argument("finding_id", metavar="ID", type=int)
@click.option("--fixed", is_flag=True, help="Mark the change point fixed instead of acknowledged.")
@click.option("--reopen", is_flag=True, help="Set it back to open.")
@json_option
@pass_app
def ack(app: AppContext, finding_id: int, fixed: bool, reopen: bool, as_json: bool) -> None:
    """Acknowledge a regression (or mark it fixed, or reopen it) by the id the list shows.

    \b
    Example:
      gatewatch perf ack 3 --fixed
    """
    if fixed and reopen:
        raise click.UsageError("--fixed and --reopen exclude each other")
    status = RegressionStatus.FIXED if fixed else RegressionStatus.ACKNOWLEDGED
    status = RegressionStatus.OPEN if reopen else status
    stored = set_regression_status(app.store, finding_id, status, now=datetime.now(UTC))
    view = RegressionView(stored=stored, changes={}, builds={})
    if as_json:
        echo_json(view.as_dict())
    else:
        click.echo(f"#{stored.id} {stored.finding.key.render()}: {stored.finding.status.value}")


def register(cli: click.Group) -> None:
    cli.add_command(perf_group)
