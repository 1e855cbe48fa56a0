"""`gatewatch ingest`: store builds, test results, logs and benchmark results."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.cli.progress import progress_bar
from gatewatch.cli.triage import print_triage_summary, triage_ingested
from gatewatch.ingest.sources import Limits
from gatewatch.services.ingest import IngestSummary, ingest_paths


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@json_option
@pass_app
def ingest(app: AppContext, paths: tuple[str, ...], as_json: bool) -> None:
    """Ingest result files, build directories and archives; `-` reads stdin.

    Formats are detected from content: JUnit XML (all common dialects),
    subunit v2, `go test -json`, Zuul build records (build.json) with their
    logs, and benchmark JSON. A directory holding a build.json is one build;
    see docs/ingest-layout.md. Each build or file is stored in one transaction;
    re-ingesting the same input changes nothing. Bad files are reported with
    their position and skipped; the exit code is 1 if anything was rejected.
    Failed builds stored are then triaged (see `gatewatch triage`).

    \b
    Examples:
      gatewatch ingest results.xml testrepository.subunit
      gatewatch ingest ./logs/ builds.tar.gz
      go test -json ./... | gatewatch ingest -
    """
    limits = Limits(max_file_bytes=app.settings.max_file_bytes)
    with progress_bar(enabled=not as_json) as progress:
        task = progress.add_task("ingest", total=None, detail="")

        def on_unit(path: str, summary: IngestSummary) -> None:
            progress.update(task, advance=1, detail=f"{summary.test_results} results")

        summary = ingest_paths(app.store, list(paths), limits=limits, on_unit=on_unit)
    triaged = triage_ingested(app, summary.build_uuids, as_json=as_json) if summary.build_uuids else None
    if as_json:
        echo_json({**summary.as_dict(), "triage": triaged.as_dict() if triaged else None})
    else:
        print_summary(summary)
        if triaged is not None:
            print_triage_summary(triaged)
    if summary.rejected:
        raise SystemExit(1)


def print_summary(summary: IngestSummary) -> None:
    """The human summary: counts, then every skipped and rejected file with its reason."""
    console = Console()
    table = Table(show_header=False, box=None, pad_edge=False)
    rows = [
        ("units read", summary.units),
        ("builds stored", summary.builds),
        ("runs stored", summary.runs),
        ("test results", summary.test_results),
        ("failed results", summary.failures),
        ("log files", summary.log_files),
        ("benchmark samples", summary.benchmark_samples),
        ("unchanged (already stored)", summary.unchanged),
        ("skipped (not result files)", len(summary.skipped)),
        ("rejected", len(summary.rejected)),
    ]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    console.print(table)
    for skipped in summary.skipped:
        console.print(
            f"[yellow]skipped[/yellow] {skipped.message}", markup=True, highlight=False, soft_wrap=True
        )
    for rejection in summary.rejected:
        console.print(
            f"[red]rejected[/red] {rejection.message}", markup=True, highlight=False, soft_wrap=True
        )


def register(cli: click.Group) -> None:
    cli.add_command(ingest)
