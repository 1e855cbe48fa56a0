"""The gate's imperative shell: runs ``plan.step``'s actions on real git and jobs, feeds results back (I/O).

Every event goes through :meth:`GateLoop.step`: the planner computes the new
state and actions, the state is saved in the store (one transaction, with a
compare-and-swap on its generation, the event in the journal and the inbox
command marked done), and only then are the actions executed. Executing an
action may produce events (``MergeFailed``, ``Merged``, ``MergeError``, a
failed build whose job is not defined); they are stepped in turn.

* ``StartBuild``: the speculative state (target tip + stack) is built once per
  buildset with :class:`GitWorkspace` (merge or cherry-pick). Its commits are
  deterministic, so the first commits of an item's state are exactly the
  commit of the item ahead: landing is a fast-forward. The job comes from the
  tested state's ``.gatewatch.yaml``; the exact commit each build runs on is
  recorded in the store before it starts.
* ``MergeItem``: lands the one commit every build of that buildset ran on
  (``GitWorkspace.land``: fast-forward, compare-and-swap); if the builds ran on
  different commits (a restart rebuilt the state) or the branch moved, the
  answer is ``MergeError`` and the planner retests: an untested or stale state
  never lands. ``already`` (a crash after the push) counts as merged.
* Each finished build's directory is ingested (``ingest_paths``) and a failure
  is classified by :func:`classify_failed_build` (triage's seam).

Recovery (:meth:`GateLoop.recover`): builds a killed gate left running are
stopped and recorded ABORTED; every build the saved state still waits for is
started again, and every item it was merging is landed again (idempotent).
"""

from __future__ import annotations

import json
import logging
import threading
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from gatewatch.domain.builds import BuildResult
from gatewatch.domain.gate import (
    Action,
    BuildCompleted,
    BuildStarted,
    CancelBuild,
    Change,
    Dequeue,
    Enqueue,
    Event,
    GateOptions,
    GateState,
    JobSpec,
    Merged,
    MergeError,
    MergeFailed,
    MergeItem,
    ProjectJobs,
    Promote,
    Report,
    StartBuild,
    Tick,
)
from gatewatch.errors import GateError
from gatewatch.gate.builddir import BuildContext, recover_orphans
from gatewatch.gate.git import GitWorkspace, MergeMode, PreparedState
from gatewatch.gate.jobs import DEFAULT_CONFIG_NAME, JobConfig, JobConfigError, parse_job_config
from gatewatch.gate.plan import initial_state, step
from gatewatch.gate.plan_json import state_from_json, state_to_json
from gatewatch.gate.plan_process import start_action
from gatewatch.gate.plan_queue import queue_name_for
from gatewatch.gate.runner import DEFAULT_LOG_CAP_BYTES, BuildFinished, JobRunner, load_job_config
from gatewatch.gate.states import ItemStates, StateProblem, prepare_item_states, render_environment
from gatewatch.services.ingest import ingest_paths
from gatewatch.store import Store
from gatewatch.store.gate import DEFAULT_GATE, GateChangeRecord, GateCommand, TestedBuild

_LOG = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Classifier = Callable[[Store, str], str | None]


def classify_failed_build(store: Store, build_uuid: str) -> str | None:
    """The default classifier: leaves every failure unclassified (None).

    ``gatewatch gate run`` passes ``services.gate.classify_with_triage`` instead, which
    triages the build and maps infra / known-bug verdicts to retryable classifications.
    Without it the gate confirms failures (``GateOptions.confirm_failures``) rather than
    retrying them.
    """
    del store, build_uuid
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopOptions:
    """How the loop executes: node pool size, merge mode, log cap, and which stored gate it drives.

    ``project_jobs`` holds the job definitions the gate's configuration gives per project;
    they win over the repository's ``.gatewatch.yaml`` (docs/gate-execution.md says why).
    """

    nodes: int = 2
    mode: MergeMode = "merge"
    log_cap_bytes: int = DEFAULT_LOG_CAP_BYTES
    kill_grace_s: float = 5.0
    name: str = DEFAULT_GATE
    project_jobs: tuple[tuple[str, JobConfig], ...] = ()


def workspace_dir(root: Path, repo: str) -> Path:
    """Where the gate keeps its mirror and worktrees of ``repo`` under the gate directory ``root``."""
    slug = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in repo.strip("/"))[-80:]
    return root / "repos" / f"{slug}-{zlib.crc32(repo.encode()):08x}"


class GateLoop:
    """Drives one stored gate: see the module docs. Use as a context manager."""

    def __init__(
        self,
        store: Store,
        *,
        root: Path,
        gate_options: GateOptions,
        options: LoopOptions | None = None,
        classify: Classifier = classify_failed_build,
    ) -> None:
        self.store = store
        self.root = Path(root)
        self.options = options or LoopOptions()
        self.classify = classify
        self.clock: Clock = lambda: datetime.now(UTC)
        self.session = uuid4().hex[:8]
        self.builds_root = self.root / "builds"
        self.runner = JobRunner(
            self.options.nodes,
            self.builds_root / self.session,
            log_cap_bytes=self.options.log_cap_bytes,
            kill_grace_s=self.options.kill_grace_s,
        )
        self._workspaces: dict[str, GitWorkspace] = {}
        self._prepared: dict[tuple[str, int], ItemStates | StateProblem] = {}
        self._idle = threading.Event()
        self._key_of: dict[str, tuple[str, int]] = {}  # runner build id -> the buildset it tests
        self._events: deque[tuple[Event, int | None]] = deque()
        with store.unit_of_work() as uow:
            self.generation, text = uow.gate.load_state(self.options.name)
        state = state_from_json(text) if text else initial_state(gate_options)
        self._configured = dict(self.options.project_jobs)
        learned = tuple(p for p in state.options.jobs if p.project not in self._configured)
        configured = tuple(_project_jobs(name, config) for name, config in self._configured.items())
        self.state: GateState = replace(state, options=replace(gate_options, jobs=learned + configured))

    # -- the public loop ------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """After a crash: stop orphaned builds, restart the builds and merges the saved state awaits."""
        recovered: list[str] = []
        if self.builds_root.exists():
            for old in sorted(p for p in self.builds_root.iterdir() if p.name != self.session):
                recovered += recover_orphans(old, now=self.clock())
        actions: list[Action] = []
        for queue in self.state.queues:
            for item in queue.items:
                if item.merging:
                    actions.append(
                        MergeItem(item_id=item.item_id, buildset=item.buildset, change_ids=item.change_ids)
                    )
                elif item.buildset and not item.merge_failed:
                    actions += [start_action(queue, item, b) for b in item.builds if not b.status.is_done]
        self._execute(actions)
        self._drain()
        return recovered

    def run_once(self, *, wait_s: float | None = 0.0) -> int:
        """Handle the inbox, then the builds finished (waiting up to ``wait_s`` for one); events handled."""
        handled = self.process_inbox()
        self._drain()
        active = bool(self.runner.active())  # read before polling: a build ends by leaving both at once
        finished = self.runner.poll(0)
        if not finished and active and wait_s != 0:
            finished = self.runner.poll(wait_s)
        for event in finished:
            self._on_finished(event)
            self._drain()
        return handled + len(finished)

    def run_until_idle(self) -> None:
        """Run until the inbox is empty and no build is queued, running or unreported (scripts, tests)."""
        while self.run_once(wait_s=None) or self.runner.active() or self._pending_commands():
            pass

    def run_forever(self, *, poll_s: float = 1.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        """The daemon: wake at least every ``poll_s`` to read the inbox, until ``should_stop()``."""
        while not should_stop():
            self.run_once(wait_s=poll_s)
            if not self.runner.active():
                self._idle.wait(poll_s)

    def process_inbox(self) -> int:
        """Apply the commands the CLI queued (enqueue, dequeue, promote), oldest first."""
        commands = self._pending_commands()
        for command in commands:
            self._apply_command(command)
            self._drain()
        return len(commands)

    def step(self, event: Event, *, command_id: int | None = None) -> list[Action]:
        """Plan ``event``, save the new state (one transaction), then execute the actions."""
        now = self.clock()
        state, actions = step(self.state, event, now)
        with self.store.unit_of_work() as uow:
            generation = uow.gate.save_state(
                state_to_json(state), expected_generation=self.generation, now=now, name=self.options.name
            )
            uow.gate.append_event(
                generation=generation, kind=type(event).__name__, body=_body(event), now=now
            )
            for action in actions:
                if isinstance(action, Report):
                    uow.gate.append_event(generation=generation, kind="Report", body=_body(action), now=now)
            if command_id is not None:
                uow.gate.mark_done(command_id, now=now)
        self.state, self.generation = state, generation
        self._execute(actions)
        return actions

    def close(self) -> None:
        """Cancel running builds and release the workspaces (their worktrees stay for inspection)."""
        self.runner.shutdown()
        for ws in self._workspaces.values():
            ws.close()
        self._workspaces.clear()

    def __enter__(self) -> GateLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands -------------------------------------------------------------------------------

    def _pending_commands(self) -> list[GateCommand]:
        with self.store.unit_of_work(readonly=True) as uow:
            return uow.gate.pending_commands()

    def _apply_command(self, command: GateCommand) -> None:
        body = command.body
        if command.kind == "enqueue":
            change = Change(
                change_id=str(body["change_id"]),
                project=str(body["project"]),
                branch=str(body["branch"]),
                urgent=bool(body.get("urgent", False)),
            )
            self._learn_jobs(change)
            self._events.append((Enqueue(change=change), command.command_id))
        elif command.kind == "dequeue":
            self._events.append((Dequeue(change_id=str(body["change_id"])), command.command_id))
        elif command.kind == "promote":
            ids = tuple(str(c) for c in body["change_ids"])
            self._events.append((Promote(change_ids=ids), command.command_id))
        else:
            self._events.append((Tick(), command.command_id))

    def _learn_jobs(self, change: Change) -> None:
        """Give the planner the project's required jobs, read from the target branch's job file
        (a project whose jobs the configuration defines has them from the start)."""
        if any(p.project == change.project for p in self.state.options.jobs):
            return
        record = self._record(change.change_id)
        ws = self._workspace(record.repo)
        ws.fetch()
        if not ws.has_branch(change.branch):
            return  # the change cannot be built: its item fails when its state is prepared
        data = ws.read_file(ws.branch_sha(change.branch), DEFAULT_CONFIG_NAME)
        if data is None:
            _LOG.warning(
                "%s has no %s on %s: using the default job", record.repo, DEFAULT_CONFIG_NAME, change.branch
            )
            return
        try:
            config = parse_job_config(data.decode("utf-8", "replace"), path=DEFAULT_CONFIG_NAME)
        except JobConfigError as exc:
            _LOG.warning("%s: %s; using the default job", record.repo, exc)
            return
        jobs = _project_jobs(change.project, config)
        options = replace(self.state.options, jobs=(*self.state.options.jobs, jobs))
        self.state = replace(self.state, options=options)

    # -- actions --------------------------------------------------------------------------------

    def _drain(self) -> None:
        while self._events:
            event, command_id = self._events.popleft()
            self.step(event, command_id=command_id)

    def _execute(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, StartBuild):
                self._start_build(action)
            elif isinstance(action, CancelBuild):
                self.runner.cancel(self._runner_id(action.build_id))
            elif isinstance(action, MergeItem):
                self._merge(action)
            else:
                _LOG.info("gate: %s %s: %s", action.result, ",".join(action.change_ids), action.message)
        self._prune()

    def _start_build(self, action: StartBuild) -> None:
        states = self._prepare(action)
        if isinstance(states, StateProblem):
            self._events.append((MergeFailed(item_id=action.item_id, buildset=action.buildset), None))
            return
        prepared = states.own.prepared
        record = self._record(action.stack[-1])
        try:
            job = self._job_config(record.project, prepared.worktree).job(action.job)
        except JobConfigError as exc:
            _LOG.warning("build %s of %s cannot run: %s", action.build_id, action.item_id, exc)
            self._journal("BuildRefused", {"build_id": action.build_id, "message": str(exc)})
            self._events.append((BuildCompleted(build_id=action.build_id, success=False), None))
            return
        runner_id = self._runner_id(action.build_id)
        tested = TestedBuild(
            item_id=action.item_id,
            buildset=action.buildset,
            build_id=action.build_id,
            job=action.job,
            repo=record.repo,
            branch=record.branch,
            commit_sha=prepared.commit_sha,
            expected_base=_expected_base(prepared, len(self._own_changes(action))),
            started_at=self.clock(),
        )
        with self.store.unit_of_work() as uow:
            run = uow.gate.runs_of(prepared.commit_sha, action.job)
            uow.gate.record_tested(tested)
        context = BuildContext(
            project=record.project,
            branch=record.branch,
            ref=record.ref,
            newrev=prepared.commit_sha,
            buildset_uuid=f"{self.session}-{action.item_id}-{action.buildset}",
            seed=_seed(prepared.commit_sha, action.job, run),
        )
        self._key_of[runner_id] = (action.item_id, action.buildset)
        env = render_environment(states)
        self.runner.start(runner_id, job, prepared.worktree, context=context, env=env)
        self._events.append((BuildStarted(build_id=action.build_id), None))

    def _job_config(self, project: str, worktree: Path) -> JobConfig:
        """The configured jobs of ``project``, else those of the tested state's ``.gatewatch.yaml``."""
        configured = self._configured.get(project)
        return configured if configured is not None else load_job_config(worktree)

    def _prepare(self, action: StartBuild) -> ItemStates | StateProblem:
        """The item's state in every repository of its queue, built once per buildset."""
        key = (action.item_id, action.buildset)
        if key not in self._prepared:
            records = [self._record(cid) for cid in action.stack]
            states = prepare_item_states(
                self._workspace,
                stack=records,
                group=self._group_repos(records[-1].project),
                mode=self.options.mode,
                key=f"{action.item_id}@{action.buildset}",
            )
            if isinstance(states, StateProblem):
                _LOG.warning("%s cannot be built: %s", action.item_id, states.message)
                body = {"item_id": action.item_id, "buildset": action.buildset, "change_id": states.change_id}
                self._journal("MergeConflict", {**body, "message": states.message})
            self._prepared[key] = states
        return self._prepared[key]

    def _group_repos(self, project: str) -> dict[str, str]:
        """project -> repository, for the projects of ``project``'s shared queue (empty if it has its own)."""
        name = queue_name_for(self.state.options, project)
        members = next((q.projects for q in self.state.options.queues if q.name == name), ())
        if not members:
            return {}
        with self.store.unit_of_work(readonly=True) as uow:
            return uow.gate.repos_of(members)

    def _own_changes(self, action: StartBuild) -> tuple[str, ...]:
        for queue in self.state.queues:
            for item in queue.items:
                if item.item_id == action.item_id:
                    return item.change_ids
        return action.stack[-1:]

    def _merge(self, action: MergeItem) -> None:
        with self.store.unit_of_work(readonly=True) as uow:
            tested = uow.gate.tested(action.item_id, action.buildset)
        states = {(t.repo, t.branch, t.commit_sha, t.expected_base) for t in tested}
        if len(states) != 1:
            why = "no build ran" if not states else "its builds ran on different commits (a restart)"
            self._events.append((MergeError(item_id=action.item_id, message=f"not landed: {why}"), None))
            return
        repo, branch, commit, base = states.pop()
        result = self._workspace(repo).land(branch=branch, tested_commit=commit, expected_base=base)
        if result.landed:
            self._events.append((Merged(item_id=action.item_id, commit=commit), None))
        else:
            message = f"{result.reason}: {branch} is at {result.branch_sha}"
            self._events.append((MergeError(item_id=action.item_id, message=message), None))

    def _on_finished(self, finished: BuildFinished) -> None:
        build_id = finished.build_id.split("-", 1)[1]
        if finished.result is BuildResult.CANCELED:
            return  # the planner cancelled it: its buildset is gone
        summary = ingest_paths(self.store, [str(finished.build_dir)])
        for rejection in summary.rejected:
            _LOG.warning("build %s: ingest rejected %s", finished.build_id, rejection.message)
        success = finished.result is BuildResult.SUCCESS
        classification = "" if success else (self.classify(self.store, finished.build_id) or "")
        self._events.append(
            (BuildCompleted(build_id=build_id, success=success, classification=classification), None)
        )

    # -- helpers --------------------------------------------------------------------------------

    def _runner_id(self, build_id: str) -> str:
        return f"{self.session}-{build_id}"

    def _record(self, change_id: str) -> GateChangeRecord:
        with self.store.unit_of_work(readonly=True) as uow:
            record = uow.gate.change(change_id)
        if record is None:
            raise GateError(f"change {change_id!r} is queued but its repository and ref are unknown")
        return record

    def _workspace(self, repo: str) -> GitWorkspace:
        if repo not in self._workspaces:
            self._workspaces[repo] = GitWorkspace(workspace_dir(self.root, repo), repo)
        return self._workspaces[repo]

    def _journal(self, kind: str, body: dict[str, object]) -> None:
        with self.store.unit_of_work() as uow:
            uow.gate.append_event(generation=self.generation, kind=kind, body=body, now=self.clock())

    def _prune(self) -> None:
        """Drop the worktrees of buildsets the state no longer holds, once no build uses them."""
        current = {(it.item_id, it.buildset) for q in self.state.queues for it in q.items}
        active = set(self.runner.active())
        current |= {key for runner_id, key in self._key_of.items() if runner_id in active}
        self._key_of = {r: k for r, k in self._key_of.items() if r in active}
        for key in [k for k in self._prepared if k not in current]:
            states = self._prepared.pop(key)
            if isinstance(states, ItemStates):
                for state in states.all:
                    self._workspace(state.repo).remove_state(state.prepared.key)


def _project_jobs(project: str, config: JobConfig) -> ProjectJobs:
    """What the planner must run for ``project``: its required jobs (else every job), voting or not."""
    voting = {job.name: job.voting for job in config.jobs}
    names = config.required_jobs(project) or tuple(job.name for job in config.jobs)
    return ProjectJobs(project=project, jobs=tuple(JobSpec(name=n, voting=voting[n]) for n in names))


def _seed(commit_sha: str, job: str, run: int) -> int:
    """The build's seed (GATEWATCH_BUILD_SEED): fixed by what is tested and how often, not by timing."""
    return zlib.crc32(f"{commit_sha}/{job}/{run}".encode())


def _expected_base(prepared: PreparedState, own: int) -> str:
    """The commit the branch must be at to land ``prepared``: the state of the item ahead."""
    commits = prepared.change_commits
    return commits[-own - 1][1] if len(commits) > own else prepared.base_sha


def _body(value: Event | Report) -> dict[str, object]:
    """An event or report as JSON-ready data for the journal."""
    data: dict[str, object] = json.loads(json.dumps(asdict(value), default=str))
    return data
