"""Fingerprint authoring commands: `query` (try a query on stored logs) and `fingerprints check`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gatewatch.analyse.triage.matcher import compile_fingerprints
from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.errors import FingerprintError, QueryError
from gatewatch.ingest.sources.fingerprints import check_fingerprints
from gatewatch.services.triage_report import QueryReport, run_query

LINES_PER_BUILD = 5


def _report_dict(report: QueryReport) -> dict[str, object]:
    return {
        "query": report.query,
        "builds_scanned": report.builds_scanned,
        "builds_matched": report.builds_matched,
        "lines_matched": report.lines_matched,
        "jobs": [{"job_name": job, "builds": n} for job, n in report.per_job],
        "builds": [
            {
                "build_uuid": hit.build.uuid,
                "job_name": hit.build.job_name,
                "result": str(hit.build.result),
                "end_time": hit.build.end_time,
                "lines": [{"file": m.file_name, "line": m.line_number, "text": m.text} for m in hit.matches],
            }
            for hit in report.hits
        ],
    }


@click.command("query")
@click.argument("query")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only builds that started at or after this UTC date.",
)
@click.option(
    "--limit", type=click.IntRange(0), default=20, show_default=True, help="Matching builds to list."
)
@json_option
@pass_app
def query(app: AppContext, query: str, since: datetime | None, limit: int, as_json: bool) -> None:
    """Run a query over stored logs: matching builds and lines, with counts.

    How a maintainer drafts a fingerprint: the query uses elastic-recheck's
    Lucene subset (docs/query-language.md); its build fields (build_name,
    build_status, ...) select builds in SQL, then their logs are scanned.

    \b
    Example:
      gatewatch query 'message:"Timeout while verifying metadata" AND tags:"console"'
    """
    start = since.replace(tzinfo=UTC) if since is not None else None
    report = run_query(app.store, query, since=start, limit=limit)
    if as_json:
        echo_json(_report_dict(report))
        return
    console = Console()
    console.print(
        f"{report.builds_matched} of {report.builds_scanned} builds match, {report.lines_matched} lines",
        highlight=False,
    )
    if report.per_job:
        jobs = Table("job", "builds")
        for job, n in report.per_job:
            jobs.add_row(escape(job), str(n))
        console.print(jobs)
    for hit in report.hits:
        console.print(f"[bold]{hit.build.uuid}[/bold] {escape(hit.build.job_name)} {hit.build.result}")
        for m in hit.matches[:LINES_PER_BUILD]:
            where = f"{m.file_name}:{m.line_number}" if m.file_name else "(build fields)"
            console.print(f"  {escape(where)}  {escape(m.text)}", highlight=False, soft_wrap=True)


@click.group("fingerprints")
def fingerprints() -> None:
    """Work with fingerprint files (one <bug-id>.yaml per known failure)."""


@fingerprints.command("check")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False, exists=True))
@json_option
def fingerprints_check(directory: Path, as_json: bool) -> None:
    """Validate a directory of fingerprints; errors name the file and line; exit 2 on any error.

    Checks keys, types and every query, then compiles them all into one matcher
    (pattern count and size limits).

    \b
    Example:
      gatewatch fingerprints check ./queries
    """
    fps, errors = check_fingerprints(directory)
    if not errors:
        try:
            compile_fingerprints(fps)
        except (FingerprintError, QueryError) as exc:
            errors.append(
                exc if isinstance(exc, FingerprintError) else FingerprintError(str(exc), path=str(directory))
            )
    if as_json:
        echo_json(
            {
                "valid": len(fps),
                "errors": [
                    {"path": e.path, "line": e.line, "message": e.message, "hint": e.hint} for e in errors
                ],
            }
        )
    else:
        for error in errors:
            click.secho(f"error: {error}", fg="red", err=True)
        click.echo(f"{len(fps)} valid fingerprints, {len(errors)} invalid files in {directory}")
    if errors:
        raise SystemExit(2)
