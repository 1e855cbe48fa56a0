"""Speculative states and landing on real git repositories (gate/git.py)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gatewatch.errors import GateError
from gatewatch.gate.git import ChangeRef, GitWorkspace, MergeConflict, PreparedState
from support.gitrepo import Upstream, git

WHEN = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


def _refs(*names: str) -> list[ChangeRef]:
    return [ChangeRef(change_id=name, ref=f"refs/changes/{name}", project="acme/widgets") for name in names]


def _prepare(ws: GitWorkspace, names: str, **kwargs: object) -> PreparedState:
    state = ws.prepare_state(branch="main", changes=_refs(*names), key=kwargs.pop("key", names), **kwargs)  # type: ignore[arg-type]
    assert isinstance(state, PreparedState), state
    return state


def _parents(sha: str, cwd: Path) -> list[str]:
    return git("rev-list", "--parents", "-n", "1", sha, cwd=cwd).split()[1:]


def _tree(worktree: Path) -> dict[str, str]:
    return {p.name: p.read_text().strip() for p in worktree.iterdir() if p.is_file() and p.name != ".git"}


def _worktrees(ws: GitWorkspace) -> list[str]:
    lines = git("worktree", "list", "--porcelain", cwd=ws.mirror).splitlines()
    return [line.split(" ", 1)[1] for line in lines if line.startswith("worktree ")]


def test_merge_mode_stacks_a_real_merge_commit_per_change(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    shas = {name: upstream.change(name, {f"{name}.txt": f"change {name}\n"}) for name in "ABC"}
    base = upstream.sha()

    state = _prepare(workspace, "ABC", commit_time=WHEN)

    assert state.base_sha == base
    assert [change for change, _ in state.change_commits] == ["A", "B", "C"]
    assert state.commit_sha == state.change_commits[-1][1]
    previous = base
    for change, merge in state.change_commits:
        assert _parents(merge, workspace.mirror) == [previous, shas[change]]
        previous = merge
    files = upstream.files_at(base) | {f"{n}.txt": f"change {n}" for n in "ABC"}
    assert _tree(state.worktree) == {k: v.strip() for k, v in files.items()}
    assert git("rev-parse", "HEAD", cwd=state.worktree) == state.commit_sha
    assert upstream.sha() == base, "preparing a state never moves the target branch"


def test_same_inputs_give_the_same_commit_and_another_time_another(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    for name in "AB":
        upstream.change(name, {f"{name}.txt": name})
    first = _prepare(workspace, "AB", key="one", commit_time=WHEN)
    again = _prepare(workspace, "AB", key="two", commit_time=WHEN)
    later = _prepare(workspace, "AB", key="three", commit_time=WHEN.replace(hour=5))
    default_a = _prepare(workspace, "AB", key="four")
    default_b = _prepare(workspace, "AB", key="five")

    assert first.commit_sha == again.commit_sha
    assert later.commit_sha != first.commit_sha
    assert default_a.commit_sha == default_b.commit_sha
    assert git("log", "-1", "--format=%an <%ae> %cI", first.commit_sha, cwd=workspace.mirror) == (
        "gatewatch <gatewatch@localhost> 2026-11-22T04:00:00+00:00"
    )


def test_cherry_pick_mode_gives_linear_history_keeping_authors(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    for name in "ABC":
        upstream.change(name, {f"{name}.txt": name})
    base = upstream.sha()

    state = _prepare(workspace, "ABC", mode="cherry-pick", commit_time=WHEN)

    previous = base
    for _, commit in state.change_commits:
        assert _parents(commit, workspace.mirror) == [previous]
        assert git("log", "-1", "--format=%an", commit, cwd=workspace.mirror) == "Dev Eloper"
        previous = commit
    assert sorted(_tree(state.worktree)) == ["A.txt", "B.txt", "C.txt", "README", "shared.txt"]


@pytest.mark.parametrize("mode", ["merge", "cherry-pick"])
def test_conflict_names_the_change_and_leaves_no_worktree(
    upstream: Upstream, workspace: GitWorkspace, mode: str
) -> None:
    upstream.change("A", {"shared.txt": "one\nTWO by A\nthree\n"})
    upstream.change("B", {"other.txt": "fine"})
    upstream.change("C", {"shared.txt": "one\nTWO by C\nthree\n"})

    result = workspace.prepare_state(branch="main", changes=_refs("A", "B", "C"), mode=mode, key="q")  # type: ignore[arg-type]

    assert isinstance(result, MergeConflict)
    assert (result.change_id, result.paths, result.base_sha) == ("C", ("shared.txt",), upstream.sha())
    assert "C" in result.message
    assert "shared.txt" in result.message
    assert not workspace.state_path("q").exists()
    assert _worktrees(workspace) == [str(workspace.mirror)]


def test_unknown_or_hostile_ref_is_a_conflict_of_that_change(
    upstream: Upstream, workspace: GitWorkspace, tmp_path: Path
) -> None:
    upstream.change("A", {"A.txt": "A"})
    marker = tmp_path / "pwned"
    for ref in ("refs/changes/missing", f"--upload-pack=touch {marker}", "0" * 40, "bad..ref"):
        changes = [*_refs("A"), ChangeRef(change_id="X", ref=ref)]
        result = workspace.prepare_state(branch="main", changes=changes, key="q")
        assert isinstance(result, MergeConflict), ref
        assert result.change_id == "X"
        assert "not found" in result.message
    assert not marker.exists()


def test_same_change_twice_is_applied_once(upstream: Upstream, workspace: GitWorkspace) -> None:
    upstream.change("A", {"A.txt": "A"})
    for mode in ("merge", "cherry-pick"):
        state = _prepare(workspace, "AA", mode=mode, key=mode)
        assert [c for c, _ in state.change_commits] == ["A", "A"]
        assert state.change_commits[0][1] == state.change_commits[1][1] == state.commit_sha


def test_change_already_merged_upstream_adds_nothing(upstream: Upstream, workspace: GitWorkspace) -> None:
    sha = upstream.change("A", {"A.txt": "A"})
    git("push", "--quiet", "origin", f"{sha}:refs/heads/main", cwd=upstream.dev)

    state = _prepare(workspace, "A")

    assert state.commit_sha == state.base_sha == upstream.sha()


def test_land_fast_forwards_upstream_to_exactly_the_tested_commit(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    for name in "AB":
        upstream.change(name, {f"{name}.txt": name})
    state = _prepare(workspace, "AB")

    landed = workspace.land(branch="main", tested_commit=state.commit_sha, expected_base=state.base_sha)
    again = workspace.land(branch="main", tested_commit=state.commit_sha, expected_base=state.base_sha)

    assert (landed.landed, landed.reason, landed.branch_sha) == (True, "landed", state.commit_sha)
    assert upstream.sha() == state.commit_sha
    assert (again.landed, again.reason) == (True, "already")


def test_land_after_a_crash_sees_the_change_already_merged_even_under_newer_commits(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    upstream.change("A", {"A.txt": "A"})
    state = _prepare(workspace, "A")
    assert workspace.land(branch="main", tested_commit=state.commit_sha, expected_base=state.base_sha).landed
    on_top = upstream.push_main({"direct.txt": "x"})  # the gate crashed before recording; others landed since

    result = workspace.land(branch="main", tested_commit=state.commit_sha, expected_base=state.base_sha)

    assert (result.landed, result.reason, result.branch_sha) == (True, "already", on_top)
    assert upstream.sha() == on_top


def test_land_refuses_a_branch_someone_else_moved(upstream: Upstream, workspace: GitWorkspace) -> None:
    upstream.change("A", {"A.txt": "A"})
    state = _prepare(workspace, "A")
    pushed = upstream.push_main({"direct.txt": "x"})

    result = workspace.land(branch="main", tested_commit=state.commit_sha, expected_base=state.base_sha)

    assert (result.landed, result.reason, result.branch_sha) == (False, "stale", pushed)
    assert upstream.sha() == pushed


def test_land_refuses_a_commit_that_is_not_a_fast_forward(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    old_base = upstream.sha()
    side = upstream.change("A", {"A.txt": "A"})
    new_base = upstream.push_main({"direct.txt": "x"})
    assert git("merge-base", old_base, side, cwd=upstream.bare) == old_base

    result = workspace.land(branch="main", tested_commit=side, expected_base=new_base)

    assert (result.landed, result.reason) == (False, "not-fast-forward")
    assert upstream.sha() == new_base


def test_upstream_that_disappears_is_a_gate_error(upstream: Upstream, workspace: GitWorkspace) -> None:
    upstream.change("A", {"A.txt": "A"})
    state = _prepare(workspace, "A")
    shutil.rmtree(upstream.bare)

    with pytest.raises(GateError, match="cannot fetch from the upstream repository"):
        workspace.prepare_state(branch="main", changes=_refs("A"), key="again")
    with pytest.raises(GateError, match="upstream"):
        workspace.land(branch="main", tested_commit=state.commit_sha, expected_base=state.base_sha)
    assert not workspace.state_path("again").exists()


@pytest.mark.parametrize("branch", ["-main", "ma..in", "main.lock", "", "missing"])
def test_bad_or_missing_branch_is_a_gate_error(
    upstream: Upstream, workspace: GitWorkspace, branch: str
) -> None:
    with pytest.raises(GateError, match="branch"):
        workspace.prepare_state(branch=branch, changes=[], key="q")


def test_keys_map_to_distinct_directories_inside_the_workspace(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    keys = ["../../escape", "acme/widgets main #3", "acme_widgets_main__3", ".hidden"]
    paths = {key: _prepare(workspace, "", key=key).worktree for key in keys}

    assert len(set(paths.values())) == len(keys)
    assert all(path.parent == workspace.worktrees for path in paths.values())


def test_remove_state_and_cleanup_drop_worktrees(upstream: Upstream, workspace: GitWorkspace) -> None:
    upstream.change("A", {"A.txt": "A"})
    one, two = _prepare(workspace, "A", key="one"), _prepare(workspace, "A", key="two")

    workspace.remove_state("one")
    workspace.remove_state("one")
    assert not one.worktree.exists()
    assert two.worktree.exists()
    workspace.cleanup()
    assert not two.worktree.exists()
    assert _worktrees(workspace) == [str(workspace.mirror)]


def test_one_gate_process_per_workspace(tmp_path: Path, upstream: Upstream, workspace: GitWorkspace) -> None:
    with pytest.raises(GateError, match="another gate process"):
        GitWorkspace(tmp_path / "gate", str(upstream.bare))


def test_reopened_workspace_rebuilds_a_state_after_a_crash(tmp_path: Path, upstream: Upstream) -> None:
    upstream.change("A", {"A.txt": "A"})
    first = GitWorkspace(tmp_path / "gate", str(upstream.bare))
    state = _prepare(first, "A", key="item", commit_time=WHEN)
    (first.mirror / "refs" / "heads" / "main.lock").write_text("left by a killed git\n")
    first.close()  # the process died; its worktree is still on disk

    with GitWorkspace(tmp_path / "gate", str(upstream.bare)) as second:
        rebuilt = _prepare(second, "A", key="item", commit_time=WHEN)

    assert rebuilt.commit_sha == state.commit_sha
    assert rebuilt.worktree == state.worktree


def test_read_file_at_a_commit(upstream: Upstream, workspace: GitWorkspace) -> None:
    state = _prepare(workspace, "")
    assert workspace.read_file(state.commit_sha, "README") == b"widgets\n"
    assert workspace.read_file(state.commit_sha, "missing") is None


def test_push_is_a_compare_and_swap_even_if_the_branch_moves_after_the_check(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    # land() checks the tip, then pushes; force the window between the two open.
    upstream.change("A", {"A.txt": "A"})
    state = _prepare(workspace, "A")
    pushed = upstream.push_main({"direct.txt": "x"})

    result = workspace._push("refs/heads/main", tested_commit=state.commit_sha, expected_base=state.base_sha)

    assert (result.landed, result.reason, result.branch_sha) == (False, "stale", pushed)
    assert upstream.sha() == pushed


def test_password_in_the_upstream_url_never_shows(tmp_path: Path) -> None:
    url = "https://gate:s3cret@127.0.0.1:9/acme/widgets.git"
    with GitWorkspace(tmp_path / "gate", url) as ws, pytest.raises(GateError) as info:
        ws.prepare_state(branch="main", changes=[], key="q")
    assert "s3cret" not in str(info.value)
    assert "gate:***@127.0.0.1:9" in str(info.value)


def test_only_the_named_change_refs_are_mirrored_and_kept_current(
    upstream: Upstream, workspace: GitWorkspace
) -> None:
    upstream.change("A", {"A.txt": "first patchset"})
    upstream.change("B", {"B.txt": "B"})
    first = _prepare(workspace, "A")
    second_patchset = upstream.change("A", {"A.txt": "second patchset"})

    again = _prepare(workspace, "A")

    mirrored = git("for-each-ref", "--format=%(refname)", "refs/changes", cwd=workspace.mirror).split()
    assert mirrored == ["refs/changes/A"]
    assert _parents(again.commit_sha, workspace.mirror) == [again.base_sha, second_patchset]
    assert (again.worktree / "A.txt").read_text() == "second patchset"
    assert again.commit_sha != first.commit_sha


def test_the_callers_git_environment_does_not_leak_in(
    upstream: Upstream, workspace: GitWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream.change("A", {"A.txt": "A"})
    for name, value in {"GIT_DIR": "/nonexistent", "GIT_INDEX_FILE": "/nonexistent/index"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Somebody Else")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-01-01T00:00:00")

    state = _prepare(workspace, "A", commit_time=WHEN)

    for name in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_AUTHOR_NAME", "GIT_COMMITTER_DATE"):
        monkeypatch.delenv(name)
    assert git("log", "-1", "--format=%an %cI", state.commit_sha, cwd=workspace.mirror) == (
        "gatewatch 2026-11-22T04:00:00+00:00"
    )
