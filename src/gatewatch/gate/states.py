"""An item's speculative states across the repositories of its queue (I/O, used by the gate loop).

Zuul's dependent pipeline shares one queue among a group of projects: an item of
repository A is tested on top of every item ahead of it, whatever their
repository. Each repository then has its own speculative state at that queue
position: its branch tip plus its changes among the items ahead (plus the item's
own changes, in the item's repository). The item's builds run in its own
repository's state -- the commit that lands -- and see the other repositories'
states as worktrees, like Zuul's ``required-projects``: every repository of the
queue's project group (a repository without a change ahead is at its branch tip),
and every repository with a change ahead.

The job gets them in its environment: ``GATEWATCH_PROJECTS`` is a JSON object
``{project: {"path", "commit", "branch", "repo", "changes"}}`` (the item's own project
included), and ``GATEWATCH_SRC_<NAME>`` the path of each project's worktree, ``NAME``
being the project name upper-cased with every run of other characters than letters
and digits made one ``_`` (``acme/widgets`` -> ``GATEWATCH_SRC_ACME_WIDGETS``); two
projects that would share a name get none (use the JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gatewatch.gate.git import ChangeRef, GitWorkspace, MergeConflict, MergeMode, PreparedState
from gatewatch.store.gate import GateChangeRecord

Workspaces = Callable[[str], GitWorkspace]


@dataclass(frozen=True, slots=True, kw_only=True)
class RepoState:
    """One repository's speculative state at an item's queue position."""

    project: str
    repo: str
    shown: str  # the repository as it may be shown (a password in its URL masked)
    prepared: PreparedState
    change_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemStates:
    """``own`` is what the item's builds test and what lands; ``others`` are what its jobs see."""

    own: RepoState
    others: tuple[RepoState, ...] = ()

    @property
    def all(self) -> tuple[RepoState, ...]:
        return (self.own, *self.others)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateProblem:
    """The states cannot be built: a change does not apply, or the target branch is missing."""

    repo: str
    change_id: str
    message: str


def prepare_item_states(
    workspace: Workspaces,
    *,
    stack: Sequence[GateChangeRecord],
    group: Mapping[str, str],
    mode: MergeMode,
    key: str,
) -> ItemStates | StateProblem:
    """Build every repository's state for the item whose own change ends ``stack``.

    ``stack`` is every change ahead (in queue order) and the item's own; ``group`` maps the
    projects of the queue's group to their repositories. A problem in any repository (a
    conflict, a missing branch) is the item's, as in Zuul; the states built so far are removed.
    """
    own = stack[-1]
    repos: dict[str, str] = {own.repo: own.project}
    for record in stack:
        repos.setdefault(record.repo, record.project)
    for project, repo in group.items():
        repos.setdefault(repo, project)
    built: list[RepoState] = []
    try:
        for repo, project in repos.items():
            records = [r for r in stack if r.repo == repo]
            ws = workspace(repo)
            result = _prepare_one(ws, records=records, branch=own.branch, mode=mode, key=key)
            if isinstance(result, MergeConflict):
                result = StateProblem(repo=repo, change_id=result.change_id, message=result.message)
            if isinstance(result, StateProblem):
                _remove(workspace, built, key)
                return result
            if result is not None:
                ids = tuple(r.change_id for r in records)
                built.append(
                    RepoState(project=project, repo=repo, shown=ws.shown, prepared=result, change_ids=ids)
                )
    except BaseException:  # an unreachable repository (GateError): leave no worktree behind
        _remove(workspace, built, key)
        raise
    return ItemStates(own=built[0], others=tuple(built[1:]))


def _remove(workspace: Workspaces, built: Sequence[RepoState], key: str) -> None:
    for state in built:
        workspace(state.repo).remove_state(key)


def _prepare_one(
    ws: GitWorkspace, *, records: Sequence[GateChangeRecord], branch: str, mode: MergeMode, key: str
) -> PreparedState | MergeConflict | StateProblem | None:
    """One repository's state; None for a group repository without ``branch`` and no change ahead."""
    changes = [ChangeRef(change_id=r.change_id, ref=r.ref, project=r.project) for r in records]
    ws.fetch()  # an unreachable repository raises GateError: the gate stops, the queue is kept
    if not ws.has_branch(branch):
        if not records:
            return None
        message = f"the target branch {branch!r} does not exist in {ws.shown}"
        return StateProblem(repo=ws.upstream, change_id=records[-1].change_id, message=message)
    return ws.prepare_state(branch=branch, changes=changes, mode=mode, key=key)


def render_environment(states: ItemStates) -> dict[str, str]:
    """The variables that show a job every repository's state (see the module docs)."""
    projects = {
        s.project: {
            "path": str(s.prepared.worktree),
            "commit": s.prepared.commit_sha,
            "branch": s.prepared.branch,
            "repo": s.shown,
            "changes": list(s.change_ids),
        }
        for s in states.all
    }
    env = {"GATEWATCH_PROJECTS": json.dumps(projects, sort_keys=True)}
    names: dict[str, list[RepoState]] = {}
    for state in states.all:
        names.setdefault(env_name(state.project), []).append(state)
    for name, members in names.items():
        if len(members) == 1:
            env[name] = str(members[0].prepared.worktree)
    return env


def env_name(project: str) -> str:
    """``acme/widgets`` -> ``GATEWATCH_SRC_ACME_WIDGETS``."""
    return "GATEWATCH_SRC_" + re.sub(r"[^A-Za-z0-9]+", "_", project).strip("_").upper()
