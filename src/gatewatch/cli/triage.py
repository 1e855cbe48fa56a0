"""Triage commands: `triage`, `triage rescan`, `bugs`, `uncategorized`, `explain`, `query`, `fingerprints`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gatewatch.analyse.triage.stats import FingerprintStats, Rate, TriageStats, rank_by_impact
from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.cli.progress import progress_bar
from gatewatch.cli.triage_tools import fingerprints, query
from gatewatch.domain.builds import Build
from gatewatch.domain.triage import Match, Verdict, VerdictKind
from gatewatch.services.failed_tests import FailedTest, FailedTests, load_failed_tests_of
from gatewatch.services.triage import (
    FingerprintSet,
    TriageSummary,
    load_fingerprint_set,
    rescan,
    triage_builds,
    triage_new,
)
from gatewatch.services.triage_report import (
    Explanation,
    comment_on_change,
    explain_build,
    load_triage_stats,
    summary_lines,
)

DirPath = click.Path(path_type=Path, file_okay=False, exists=True)
fingerprints_option = click.option(
    "--fingerprints",
    "fingerprints_dir",
    type=DirPath,
    help="Directory of <bug-id>.yaml fingerprints (default: the fingerprints_dir setting, "
    "else the set last used on this store), added to the built-in infra set.",
)
days_option = click.option(
    "--days", type=click.IntRange(1, 3650), default=10, show_default=True, help="Window, in days."
)


def _fingerprint_set(app: AppContext, directory: Path | None) -> FingerprintSet:
    return load_fingerprint_set(app.store, directory or app.settings.fingerprints_dir)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def rate_dict(rate: Rate) -> dict[str, Any]:
    return {
        "hits": rate.hits,
        "total": rate.total,
        "fraction": rate.fraction,
        "low": rate.low,
        "high": rate.high,
    }


def match_dict(m: Match) -> dict[str, Any]:
    return {"bug_id": m.bug_id, "file": m.file_name, "line": m.line_number, "text": m.text}


def verdict_dict(v: Verdict) -> dict[str, Any]:
    return {
        "build_uuid": v.build_uuid,
        "job_name": v.job_name,
        "kind": v.kind.value,
        "infra_ids": list(v.infra_ids),
        "bug_ids": list(v.bug_ids),
        "uncounted_bug_ids": list(v.uncounted_bug_ids),
        "evidence": [match_dict(m) for m in v.evidence],
    }


def run_with_progress(label: str, as_json: bool, work: Any) -> TriageSummary:
    """Run ``work(on_build)`` under a progress bar."""
    with progress_bar(enabled=not as_json) as progress:
        task = progress.add_task(label, total=None, detail="")

        def on_build(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, detail="builds")

        summary: TriageSummary = work(on_build)
    return summary


def print_triage_summary(summary: TriageSummary) -> None:
    console = Console()
    console.print(
        f"triaged {summary.builds:,} failed builds ({summary.log_bytes / 1e6:,.1f} MB of logs, "
        f"{summary.elapsed_s:.1f} s): {summary.infra} infra, {summary.known_bug} known bug, "
        f"{summary.unknown} unknown",
        highlight=False,
    )
    console.print(f"fingerprints: {summary.fingerprints} ({escape(summary.origin)})", highlight=False)
    if summary.missing_blobs:
        console.print(f"[yellow]{summary.missing_blobs} log blobs missing from the blob store[/yellow]")
    if summary.stale:
        console.print(
            f"[yellow]{summary.stale} builds were classified with other fingerprints: "
            "run `gatewatch triage rescan`[/yellow]"
        )


@click.group("triage", invoke_without_command=True)
@fingerprints_option
@json_option
@pass_app
@click.pass_context
def triage(ctx: click.Context, app: AppContext, fingerprints_dir: Path | None, as_json: bool) -> None:
    """Classify failed builds that have no verdict yet: infra, known bug or unknown.

    Every log of each new failed build is scanned with all fingerprints (the
    built-in infra set plus --fingerprints); the verdict and the matching lines
    are stored. After editing fingerprints, run `gatewatch triage rescan`.

    \b
    Example:
      gatewatch triage --fingerprints ./queries
    """
    if ctx.invoked_subcommand is not None:
        return
    fset = _fingerprint_set(app, fingerprints_dir)
    summary = run_with_progress("triage", as_json, lambda cb: triage_new(app.store, fset, on_build=cb))
    if as_json:
        echo_json(summary.as_dict())
    else:
        print_triage_summary(summary)


@triage.command("rescan")
@fingerprints_option
@click.option("--all", "everything", is_flag=True, help="Re-scan every failed build, not only stale ones.")
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    help="Worker processes (default: the CPU count; 1 below 200 builds).",
)
@json_option
@pass_app
def triage_rescan(
    app: AppContext, fingerprints_dir: Path | None, everything: bool, workers: int | None, as_json: bool
) -> None:
    """Re-scan stored history with the current fingerprints, in parallel.

    Builds classified with a different fingerprint set (or none) are scanned
    again by a pool of worker processes; each build's verdict is replaced in
    its own transaction.

    \b
    Example:
      gatewatch triage rescan --fingerprints ./queries --workers 4
    """
    fset = _fingerprint_set(app, fingerprints_dir)
    summary = run_with_progress(
        "rescan",
        as_json,
        lambda cb: rescan(app.store, fset, everything=everything, workers=workers, on_build=cb),
    )
    if as_json:
        echo_json(summary.as_dict())
    else:
        print_triage_summary(summary)


def triage_ingested(app: AppContext, uuids: list[str], *, as_json: bool) -> TriageSummary:
    """Triage builds just ingested (called by `gatewatch ingest`)."""
    fset = _fingerprint_set(app, None)
    return run_with_progress("triage", as_json, lambda cb: triage_builds(app.store, uuids, fset, on_build=cb))


def _bug_row(s: FingerprintStats, lines: int) -> dict[str, Any]:
    return {
        "bug_id": s.bug_id,
        "title": s.title,
        "infra": s.infra,
        "hits": lines,
        "builds": s.builds_hit,
        "builds_24h": s.builds_hit_24h,
        "jobs": [{"job_name": j.job_name, "race": rate_dict(j.rate)} for j in s.jobs],
        "failure_share": rate_dict(s.failure_share),
        "wasted_node_hours": s.wasted_node_hours,
        "gate_resets": s.gate_resets,
        "hits_daily": list(s.hits_daily),
        "hits_hourly": list(s.hits_hourly),
        "last_seen": s.last_seen,
    }


@click.command("bugs")
@days_option
@json_option
@pass_app
def bugs(app: AppContext, days: int, as_json: bool) -> None:
    """Rank known bugs and infra causes by impact over the last days.

    Per fingerprint: matched lines (hits), distinct failed builds, jobs, the race
    percentage per job (builds hit / builds of the job) with a Wilson 95%
    interval, the share of all failures it explains and the node-hours wasted.
    The window ends at the newest stored build.

    \b
    Example:
      gatewatch bugs --days 10
    """
    report = load_triage_stats(app.store, days=days)
    ranked = [s for s in rank_by_impact(report.stats.fingerprints) if s.builds_hit]
    rows = [_bug_row(s, report.match_lines.get(s.bug_id, 0)) for s in ranked]
    if as_json:
        echo_json({"now": report.stats.now, "days": days, "bugs": rows})
        return
    table = Table("bug", "hits", "builds", "jobs", "race % (95% CI) in worst job", "failures", "node-h")
    for s, row in zip(ranked, rows, strict=True):
        worst = s.jobs[0] if s.jobs else None
        race = (
            f"{_pct(worst.rate.fraction)} ({_pct(worst.rate.low)}-{_pct(worst.rate.high)}) {worst.job_name}"
            if worst
            else "-"
        )
        name = s.bug_id + (" [infra]" if s.infra else "") + (f"\n{s.title}" if s.title else "")
        table.add_row(
            escape(name),
            str(row["hits"]),
            str(s.builds_hit),
            str(len(s.jobs)),
            escape(race),
            _pct(s.failure_share.fraction),
            f"{s.wasted_node_hours:.1f}",
        )
    console = Console()
    console.print(table)
    for line in summary_lines(report, top=0):
        console.print(line, highlight=False)


def _print_uncategorized(stats: TriageStats, unknown: list[Build], tests: dict[str, FailedTests]) -> None:
    console = Console()
    jobs = Table("job", "failed", "classified", "rate")
    for job, rate in sorted(stats.classified_per_job, key=lambda jr: (jr[1].fraction, jr[0])):
        jobs.add_row(escape(job), str(rate.total), str(rate.hits), _pct(rate.fraction))
    console.print(jobs)
    builds_table = Table("build", "job", "result", "ended", "failed tests say", "logs")
    for b in unknown:
        builds_table.add_row(
            b.uuid[:12],
            escape(b.job_name),
            str(b.result),
            f"{b.end_time:%Y-%m-%d %H:%M}" if b.end_time else "",
            escape(tests[b.uuid].kind_counts),
            escape(b.log_url),
        )
    console.print(builds_table)
    console.print(
        f"{len(stats.unclassified_builds)} unclassified of {stats.classified.total} failed builds",
        highlight=False,
    )
    explained = sum(1 for b in unknown if tests[b.uuid].explained_by_history)
    if explained:
        console.print(
            f"{explained} of the {len(unknown)} listed failed only tests that are flaky, broken or regressed "
            "before them (test health); `gatewatch explain BUILD` says which",
            highlight=False,
        )


@click.command("uncategorized")
@days_option
@click.option("--limit", type=click.IntRange(0), default=50, show_default=True, help="Builds to list.")
@json_option
@pass_app
def uncategorized(app: AppContext, days: int, limit: int, as_json: bool) -> None:
    """Failed builds nobody explained, and the classification rate per job.

    elastic-recheck's "uncategorized" page: the failures to look at next.

    \b
    Example:
      gatewatch uncategorized --days 3 --limit 20
    """
    report = load_triage_stats(app.store, days=days)
    stats = report.stats
    with app.store.unit_of_work(readonly=True) as uow:
        unknown = uow.triage.builds(list(stats.unclassified_builds[:limit]))
    tests = load_failed_tests_of(app.store, unknown)
    per_job = [{"job_name": job, "classified": rate_dict(rate)} for job, rate in stats.classified_per_job]
    listed = [
        {
            "build_uuid": b.uuid,
            "job_name": b.job_name,
            "result": str(b.result),
            "end_time": b.end_time,
            "log_url": b.log_url,
            "failed_tests_total": tests[b.uuid].total,
            "failed_tests_say": tests[b.uuid].kind_counts,
            "explained_by_test_health": tests[b.uuid].explained_by_history,
            "failed_tests_advice": tests[b.uuid].advice,
        }
        for b in unknown
    ]
    if as_json:
        echo_json(
            {
                "classified": rate_dict(stats.classified),
                "jobs": per_job,
                "builds": listed,
                "unclassified": len(stats.unclassified_builds),
                "untriaged": report.untriaged,
            }
        )
        return
    _print_uncategorized(stats, unknown, tests)


def _failed_test_dict(test: FailedTest) -> dict[str, object]:
    h = test.health
    return {
        "test_id": test.result.test_id,
        "outcome": test.result.outcome.value,
        "attempt": test.result.attempt,
        "message": test.result.message,
        "kind": test.note.kind.value,
        "note": test.note.text,
        "status": h.status.value if h else None,
        "failure_probability": h.failure_probability if h else None,
        "failure_interval": list(h.failure_interval) if h else None,
        "runs": h.runs if h else 0,
        "failures": h.failures if h else 0,
    }


def _print_explanation(found: Explanation) -> None:
    console = Console()
    v = found.verdict
    console.print(
        f"build   {found.build.uuid} ({escape(found.build.job_name)}, {found.build.result})", highlight=False
    )
    console.print(
        f"verdict {v.kind.value}"
        + (
            f": {', '.join((*v.infra_ids, *v.bug_ids))}"
            if v.kind in (VerdictKind.INFRA, VerdictKind.KNOWN_BUG)
            else ""
        ),
        highlight=False,
    )
    if v.uncounted_bug_ids:
        console.print(f"also matches (not counted on non-voting jobs): {', '.join(v.uncounted_bug_ids)}")
    for m in found.matches:
        where = f"{m.file_name}:{m.line_number}" if m.file_name else "(build result)"
        console.print(
            f"  {escape(m.bug_id)}  {escape(where)}  {escape(m.text)}", highlight=False, soft_wrap=True
        )
    failed = found.failed
    if failed.total:
        shown = (
            f"{len(failed.tests)} of {failed.total}"
            if len(failed.tests) < failed.total
            else f"{failed.total}"
        )
        console.print(f"\nfailed tests ({shown}):", highlight=False)
        for test in failed.tests:
            console.print(
                f"  {escape(test.result.test_id)}  {escape(f'[{test.note.kind.value}]')}",
                highlight=False,
                soft_wrap=True,
            )
            console.print(f"      {escape(test.note.text)}", highlight=False, soft_wrap=True)
    console.print(f"\n{escape(found.comment)}", highlight=False, soft_wrap=True)


@click.command("explain")
@click.argument("build")
@days_option
@json_option
@pass_app
def explain(app: AppContext, build: str, days: int, as_json: bool) -> None:
    """Show one build's verdict, its evidence lines and the comment for its change.

    BUILD is a build uuid or its first 7+ characters.

    \b
    Example:
      gatewatch explain 7163ee0d
    """
    found = explain_build(app.store, build, days=days)
    if as_json:
        echo_json(
            {
                **verdict_dict(found.verdict),
                "matches": [match_dict(m) for m in found.matches],
                "comment": found.comment,
                "failed_tests_total": found.failed.total,
                "failed_tests": [_failed_test_dict(t) for t in found.failed.tests],
                "failed_tests_advice": found.failed.advice,
            }
        )
        return
    _print_explanation(found)


def _change_ref(value: str) -> tuple[int, int | None]:
    number, _, patchset = value.partition(",")
    try:
        return int(number), int(patchset) if patchset else None
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not CHANGE or CHANGE,PATCHSET (for example 880631 or 880631,2)"
        ) from None


@click.command("comment")
@click.argument("change", metavar="CHANGE[,PATCHSET]")
@click.option(
    "--project", default=None, help="Only builds of this project (change numbers clash across servers)."
)
@days_option
@json_option
@pass_app
def comment(app: AppContext, change: str, project: str | None, days: int, as_json: bool) -> None:
    """Print the comment a bot would post on a change for its newest CI run.

    The newest buildset of the change's newest patchset (or the one given): one line per
    failed build, unknown failures first; known bugs with their race percentage, infra
    failures as safe to recheck, and for an unknown failure what its failed tests' history
    says (known flaky: recheck; new: look at the change). --days is the window of the
    race percentages.

    \b
    Example:
      gatewatch comment 880631,2
      gatewatch comment 880631 --json | jq -r .text
    """
    number, patchset = _change_ref(change)
    found = comment_on_change(app.store, number, patchset=patchset, project=project, days=days)
    if as_json:
        echo_json(
            {
                "change": found.change,
                "patchset": found.patchset,
                "buildset": found.buildset,
                "builds": [
                    {
                        "build_uuid": b.uuid,
                        "job_name": b.job_name,
                        "result": str(b.result),
                        "voting": b.voting,
                    }
                    for b in found.builds
                ],
                "verdicts": [verdict_dict(v) for v in found.verdicts],
                "untriaged": list(found.untriaged),
                "failed_tests": {
                    uuid: [_failed_test_dict(t) for t in f.tests] for uuid, f in found.failed.items()
                },
                "text": found.text,
            }
        )
        return
    click.echo(found.text)


def register(cli: click.Group) -> None:
    for command in (triage, bugs, uncategorized, explain, comment, query, fingerprints):
        cli.add_command(command)
