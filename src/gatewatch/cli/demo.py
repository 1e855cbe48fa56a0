"""`gatewatch demo`: generate and ingest a realistic CI history with planted problems."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.cli.ingest import print_summary
from gatewatch.cli.progress import progress_bar
from gatewatch.config import mask_url
from gatewatch.demo import DemoOptions
from gatewatch.services.demo import run_demo
from gatewatch.services.health import render_health_summary
from gatewatch.services.ingest import IngestSummary
from gatewatch.services.perf import render_perf_summary
from gatewatch.services.triage import render_triage_summary


@click.command("demo")
@click.option(
    "--small", is_flag=True, help="A small history (a few hundred builds) for a quick look or tests."
)
@click.option("--seed", default=42, show_default=True, help="Seed of the generated world.")
@click.option("--days", type=click.IntRange(1, 365), help="Days of history (default 28, or 2 with --small).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write the generated files (default <home>/demo-data).",
)
@json_option
@pass_app
def demo(app: AppContext, small: bool, seed: int, days: int | None, out: Path | None, as_json: bool) -> None:
    """Generate a seeded CI history of a fictional cloud platform and ingest it.

    The history looks like OpenStack's gate: several projects, check and gate
    pipelines, unit, linter, tempest-like integration, multinode scenario,
    a broken non-voting job and a Rally-like performance job, over weeks of
    changes. It has planted problems (infra failures, known race bugs matching
    real elastic-recheck queries, flaky tests, a regression, a performance
    step) whose truth is written to truth.json beside the files.

    \b
    Examples:
      gatewatch demo              # >= 20,000 builds, >= 1,000,000 test results
      gatewatch demo --small      # seconds
    """
    options = DemoOptions(seed=seed, small=small, days=days)
    data_dir = out or app.settings.home / "demo-data"
    with progress_bar(enabled=not as_json) as progress:
        task = progress.add_task("demo: generate + ingest", total=options.day_count, detail="")

        def on_day(day: int, total: IngestSummary) -> None:
            progress.update(
                task, completed=day, detail=f"{total.builds:,} builds, {total.test_results:,} results"
            )

        report = run_demo(app.store, data_dir=data_dir, options=options, on_day=on_day)
    if as_json:
        echo_json(
            {
                "data_dir": str(report.data_dir),
                "truth": str(report.truth_path),
                "store": mask_url(app.settings.db_url.reveal()),
                "ingest": report.ingest.as_dict(),
                "triage": report.triage.as_dict(),
            }
        )
        return
    console = Console(width=None if sys.stdout.isatty() else 120)
    console.rule("[bold]Ingested")
    print_summary(report.ingest)
    console.print(f"store      {mask_url(app.settings.db_url.reveal())}")
    console.print(f"files      {report.data_dir}")
    console.print(f"truth      {report.truth_path}")
    for title, lines in _summaries(app):
        console.rule(f"[bold]{title}")
        for line in lines:
            console.print(line, highlight=False, markup=False)
    console.rule("[bold]Next")
    for hint in NEXT_STEPS:
        console.print(hint, highlight=False, markup=False)


NEXT_STEPS = (
    "gatewatch bugs                 known bugs ranked by impact, with race percentages",
    "gatewatch uncategorized        failed builds no fingerprint explains, and what their tests say",
    "gatewatch explain BUILD        one build's verdict, log lines and each failed test's history",
    "gatewatch comment CHANGE       the comment a bot would post on a change's newest CI run",
    "gatewatch flaky                flaky and broken tests, with the runs that prove it",
    "gatewatch health               job health: failure rates without infra noise, rechecks",
    "gatewatch perf regressions     performance change points with their commit ranges",
    "gatewatch gate simulate        compare gating strategies on a generated world",
    "gatewatch status               what the store holds",
    "gatewatch ingest PATH          add your own CI output (docs/ingest-layout.md)",
)


def _summaries(app: AppContext) -> list[tuple[str, list[str]]]:
    """The analyses' summaries, each a title and its lines, printed after the demo."""
    return [
        ("Triage", render_triage_summary(app.store)),
        ("Test health", render_health_summary(app.store)),
        ("Performance", render_perf_summary(app.store)),
    ]


def register(cli: click.Group) -> None:
    cli.add_command(demo)
