"""The job environment that shows every repository's speculative state (gate/states.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatewatch.gate.git import PreparedState
from gatewatch.gate.states import ItemStates, RepoState, env_name, render_environment


def _state(project: str, *changes: str) -> RepoState:
    prepared = PreparedState(
        key="A@3",
        branch="main",
        base_sha="b" * 40,
        commit_sha=(project[:1] or "x") * 40,
        worktree=Path("/gate/repos") / project.replace("/", "_") / "A_3",
        change_commits=tuple((c, "c" * 40) for c in changes),
    )
    return RepoState(
        project=project, repo=f"https://git.example.org/{project}", shown=f"https://git.example.org/{project}",
        prepared=prepared, change_ids=changes,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("project", "name"),
    [
        ("nova", "GATEWATCH_SRC_NOVA"),
        ("openstack/nova", "GATEWATCH_SRC_OPENSTACK_NOVA"),
        ("acme/widgets-ng.v2", "GATEWATCH_SRC_ACME_WIDGETS_NG_V2"),
        ("/x//y/", "GATEWATCH_SRC_X_Y"),
    ],
)
def test_env_name(project: str, name: str) -> None:
    assert env_name(project) == name


def test_environment_names_every_projects_worktree_and_describes_them_in_json() -> None:
    states = ItemStates(own=_state("acme/widgets", "W1", "A"), others=(_state("acme/gadgets", "G1"),))
    env = render_environment(states)
    assert env["GATEWATCH_SRC_ACME_WIDGETS"] == "/gate/repos/acme_widgets/A_3"
    assert env["GATEWATCH_SRC_ACME_GADGETS"] == "/gate/repos/acme_gadgets/A_3"
    projects = json.loads(env["GATEWATCH_PROJECTS"])
    assert projects["acme/widgets"]["changes"] == ["W1", "A"]
    assert projects["acme/gadgets"] == {
        "path": "/gate/repos/acme_gadgets/A_3",
        "commit": "a" * 40,
        "branch": "main",
        "repo": "https://git.example.org/acme/gadgets",
        "changes": ["G1"],
    }


def test_projects_that_would_share_a_variable_get_none_but_stay_in_the_json() -> None:
    states = ItemStates(own=_state("acme/widgets", "A"), others=(_state("acme-widgets"), _state("nova")))
    env = render_environment(states)
    assert "GATEWATCH_SRC_ACME_WIDGETS" not in env
    assert "GATEWATCH_SRC_NOVA" in env
    assert sorted(json.loads(env["GATEWATCH_PROJECTS"])) == ["acme-widgets", "acme/widgets", "nova"]
