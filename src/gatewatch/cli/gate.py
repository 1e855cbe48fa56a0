"""`gatewatch gate`: the speculative merge queue (enqueue, status, run, dequeue, promote, recheck, simulate)."""

from __future__ import annotations

import json
import signal
from typing import Any

import click
from rich.console import Console
from rich.tree import Tree

from gatewatch.cli.context import AppContext, echo_json, json_option, pass_app
from gatewatch.cli.progress import progress_bar
from gatewatch.domain.gate import BuildStatus, ChangeQueue, QueueItem
from gatewatch.gate.loop import GateLoop, LoopOptions
from gatewatch.gate.sim.compare import Comparison, compare, compute_share, render_comparison_table
from gatewatch.gate.sim.strategies import STRATEGIES as SIM_STRATEGIES
from gatewatch.gate.sim.strategies import strategy as sim_strategy
from gatewatch.gate.sim.world import PRESETS
from gatewatch.services import gate as service

ORACLE = "oracle"
_STYLE = {
    BuildStatus.WAITING: "dim",
    BuildStatus.RUNNING: "yellow",
    BuildStatus.SUCCESS: "green",
    BuildStatus.FAILURE: "red",
}


@click.group("gate")
def gate() -> None:
    """The speculative merge gate: approved changes are tested on top of each other and land
    as fast-forwards of exactly the tested commits. See docs/gate.md.

    \b
    Example:
      gatewatch gate enqueue ../widgets.git refs/changes/42 --change 42
      gatewatch gate run --until-idle
    """


@gate.command("enqueue")
@click.argument("repo")
@click.argument("ref")
@click.option("--change", "change_id", default="", help="Change id (default: the ref).")
@click.option("--project", default="", help="Project name (default: the repository's name).")
@click.option("--branch", default="main", show_default=True, help="Target branch.")
@click.option("--urgent", is_flag=True, help="Fast lane: ahead of every item not building yet.")
@pass_app
def enqueue(
    app: AppContext, repo: str, ref: str, change_id: str, project: str, branch: str, urgent: bool
) -> None:
    """Approve REF of upstream repository REPO (a path or git URL) for the gate.

    \b
    Example:
      gatewatch gate enqueue /srv/git/widgets.git refs/changes/42/1 --change 42 --branch main
    """
    request = service.EnqueueRequest(
        repo=repo, ref=ref, change_id=change_id, project=project, branch=branch, urgent=urgent
    )
    record = service.enqueue(app.store, request)
    click.echo(f"queued {record.change_id} ({record.project} {record.branch}); `gatewatch gate run` tests it")


@gate.command("status")
@json_option
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """The queue, drawn like Zuul's status page: items, their speculative stack, jobs and states.

    \b
    Example:
      gatewatch gate status
      gatewatch gate status --json | jq '.queues[0].items[].change_ids'
    """
    view = service.load_view(app.store)
    document = status_document(view)
    if as_json:
        echo_json(document)
        return
    console = Console()
    if not document["queues"] and not document["pending"]:
        console.print("the gate is empty")
    for queue in document["queues"]:
        console.print(_queue_tree(queue))
    for pending in document["pending"]:
        console.print(f"[dim]waiting for the daemon:[/dim] {pending['kind']} {json.dumps(pending['body'])}")


def status_document(view: service.GateView) -> dict[str, Any]:
    """The JSON shape of `gate status --json` (the dashboard reads it)."""
    queues = [] if view.state is None else [_queue_json(q, view) for q in view.state.queues]
    pending = [{"kind": c.kind, "body": c.body, "created_at": c.created_at.isoformat()} for c in view.pending]
    return {"generation": view.generation, "queues": queues, "pending": pending}


def _queue_json(queue: ChangeQueue, view: service.GateView) -> dict[str, Any]:
    return {
        "name": queue.name,
        "branch": queue.branch,
        "window": queue.window,
        "base": queue.base,
        "items": [_item_json(item, view) for item in queue.items],
    }


def _item_json(item: QueueItem, view: service.GateView) -> dict[str, Any]:
    refs = {cid: view.changes[cid].ref for cid in item.change_ids if cid in view.changes}
    return {
        "item_id": item.item_id,
        "change_ids": list(item.change_ids),
        "projects": sorted({change.project for change in item.changes}),
        "refs": refs,
        "stack": list(item.stack),
        "buildset": item.buildset,
        "state": _item_state(item),
        "failure": item.failure,
        "urgent": item.urgent,
        "enqueued_at": item.enqueued_at.isoformat(),
        "jobs": [
            {
                "build_id": b.build_id,
                "job": b.job,
                "status": b.status.value,
                "voting": b.voting,
                "attempt": b.attempt,
            }
            for b in item.builds
        ],
    }


def _item_state(item: QueueItem) -> str:
    if item.merging:
        return "merging"
    if item.confirming:
        return "confirming"
    if item.failing:
        return "failing"
    return "testing" if item.buildset else "waiting"


def _queue_tree(queue: dict[str, Any]) -> Tree:
    base = queue["base"][:10] or "branch tip"
    tree = Tree(f"[bold]{queue['name']}[/bold] {queue['branch']}  window {queue['window']}  base {base}")
    for item in queue["items"]:
        stack = " + ".join([*item["stack"], item["item_id"]])
        colour = {"failing": "red", "merging": "green", "confirming": "magenta"}.get(item["state"], "white")
        projects = ",".join(item["projects"])
        node = tree.add(
            f"[{colour}]{item['item_id']}[/{colour}] ({projects})  {item['state']}  [dim]tested on[/dim] {stack}"
        )
        for job in item["jobs"]:
            style = _STYLE[BuildStatus(job["status"])]
            extra = "" if job["voting"] else " (non-voting)"
            retry = f" attempt {job['attempt']}" if job["attempt"] > 1 else ""
            node.add(f"[{style}]{job['status']:<8}[/{style}] {job['job']}{extra}{retry}")
    return tree


@gate.command("run")
@click.option("--once", is_flag=True, help="Handle queued requests and finished builds once, then exit.")
@click.option("--until-idle", is_flag=True, help="Run until nothing is queued, building or waiting.")
@click.option("--nodes", type=click.IntRange(min=1), default=2, show_default=True, help="Builds at once.")
@click.option("--mode", type=click.Choice(["merge", "cherry-pick"]), default="merge", show_default=True)
@click.option(
    "--strategy", type=click.Choice(sorted(service.STRATEGIES)), default="gatewatch", show_default=True
)
@pass_app
def run(app: AppContext, once: bool, until_idle: bool, nodes: int, mode: str, strategy: str) -> None:
    """The gate daemon: applies requests, builds speculative states, runs jobs, lands what passed.

    It resumes from the store after a crash (kill -9 included): builds left running are
    stopped and run again, and nothing untested or stale ever lands. Workspaces live
    under <home>/gate. Jobs and shared queues may be configured per project in the
    config file's [gate.projects."NAME"] tables (docs/configuration.md).

    \b
    Example:
      gatewatch gate run --nodes 8 --strategy gatewatch
      gatewatch gate run --until-idle --mode cherry-pick
    """
    config = service.load_gate_config(app.settings.gate_projects)
    options = LoopOptions(
        nodes=nodes, mode="merge" if mode == "merge" else "cherry-pick", project_jobs=config.project_jobs
    )
    stopping: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    root = app.settings.home / "gate"
    try:
        with GateLoop(
            app.store,
            root=root,
            gate_options=service.gate_options(strategy, config),
            options=options,
            classify=service.classify_with_triage,
        ) as loop:
            loop.recover()
            if until_idle:
                loop.run_until_idle()
            elif once:
                loop.run_once(wait_s=None)
            else:
                loop.run_forever(should_stop=lambda: bool(stopping))
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"gate stopped at generation {loop.generation}")


@gate.command("dequeue")
@click.argument("change_id")
@pass_app
def dequeue(app: AppContext, change_id: str) -> None:
    """Take a change out of the gate (its builds are cancelled).

    \b
    Example:
      gatewatch gate dequeue 42
    """
    service.request(app.store, "dequeue", {"change_id": change_id})
    click.echo(f"requested: dequeue {change_id}")


@gate.command("promote")
@click.argument("change_ids", nargs=-1, required=True)
@pass_app
def promote(app: AppContext, change_ids: tuple[str, ...]) -> None:
    """Move these changes to the front of their queue, in this order.

    \b
    Example:
      gatewatch gate promote 42 43
    """
    service.request(app.store, "promote", {"change_ids": list(change_ids)})
    click.echo(f"requested: promote {' '.join(change_ids)}")


@gate.command("recheck")
@click.argument("change_id")
@pass_app
def recheck(app: AppContext, change_id: str) -> None:
    """Enqueue again a change that failed or was dequeued.

    \b
    Example:
      gatewatch gate recheck 42
    """
    service.recheck(app.store, change_id)
    click.echo(f"requested: recheck {change_id}")


@gate.command("simulate")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="openstack-2013", show_default=True)
@click.option(
    "--seeds", type=click.IntRange(min=1), default=30, show_default=True, help="Worlds per strategy."
)
@click.option(
    "--strategies",
    default=",".join(SIM_STRATEGIES),
    show_default=True,
    help="Comma-separated strategies to compare (the oracle always runs: it is the reference).",
)
@json_option
def simulate(preset: str, seeds: int, strategies: str, as_json: bool) -> None:
    """Compare merge-queue strategies on the same simulated worlds (mean and 95% interval).

    The oracle is always run too, since "vs oracle" (each strategy's distance to it) is
    measured against it; it is added as the last row when not asked for.

    \b
    Example:
      gatewatch gate simulate --preset openstack-2013 --seeds 30
      gatewatch gate simulate --strategies zuul,gatewatch --seeds 5 --json
    """
    names = list(dict.fromkeys(s.strip() for s in strategies.split(",") if s.strip()))
    for name in names:
        sim_strategy(name)  # an unknown name fails before any work
    if ORACLE not in names:
        names.append(ORACLE)
    comparison = _run_comparison(preset, names, seeds, progress=not as_json)
    if as_json:
        echo_json(_simulation_document(comparison, preset=preset, seeds=seeds))
        return
    click.echo(render_comparison_table(comparison, reference=ORACLE))


def _run_comparison(preset: str, names: list[str], seeds: int, *, progress: bool) -> Comparison:
    with progress_bar(enabled=progress) as bar:
        task = bar.add_task("simulate", total=len(names), detail="")
        parts = []
        for name in names:
            bar.update(task, detail=name)
            parts.append(compare(preset, [name], seeds))
            bar.advance(task)
    summaries = tuple(s for part in parts for s in part.summaries)
    results = tuple(r for part in parts for r in part.results)
    return Comparison(world=parts[0].world, seeds=parts[0].seeds, results=results, summaries=summaries)


def _simulation_document(comparison: Comparison, *, preset: str, seeds: int) -> dict[str, Any]:
    """`gate simulate --json`: per strategy, [mean, 95% half-width] pairs and the share of the oracle."""
    return {
        "preset": preset,
        "seeds": seeds,
        "reference": ORACLE,
        "strategies": [
            {
                "strategy": s.strategy,
                "merged_per_h": [s.merged_per_h.mean, s.merged_per_h.half_width],
                "vs_oracle": compute_share(comparison, s.strategy, reference=ORACLE),
                "ttm_p50_h": [s.ttm_p50_h.mean, s.ttm_p50_h.half_width],
                "ttm_p95_h": [s.ttm_p95_h.mean, s.ttm_p95_h.half_width],
                "node_h_per_merge": [s.node_h_per_merge.mean, s.node_h_per_merge.half_width],
                "good_ejected": s.good_ejected.mean,
                "bad_merged": s.bad_merged.mean,
            }
            for s in comparison.summaries
        ],
    }


def register(cli: click.Group) -> None:
    cli.add_command(gate)
