"""Real speculative states on git: a mirror, one worktree per queue item, and a fast-forward land (I/O).

:class:`GitWorkspace` keeps a bare mirror of the upstream repository under
``root/mirror.git`` and builds each speculative state (the target branch tip
plus the changes ahead of an item, plus the item) as real merge commits or
cherry-picks in a detached worktree under ``root/worktrees/``. The target
branch is only ever moved by :meth:`GitWorkspace.land`, which pushes exactly
the tested commit to the upstream repository as a fast-forward, atomically
compared against the base the state was built on.

Safety: ``git`` runs with argument lists (never a shell), user-controlled
values come after ``--`` or are resolved to commit ids first, ref names are
checked with ``git check-ref-format``, only the ``file``, ``git``, ``ssh``,
``http`` and ``https`` transports are allowed, and commits get a fixed
identity and date (see :meth:`prepare_state`) so they never depend on the
machine's git configuration. One gate process owns a root (a lock file
enforces it); the class is not thread-safe.

Why subprocess ``git`` rather than a library (pygit2, dulwich, GitPython):
merges, cherry-picks and worktrees must behave exactly as the git that
developers use, and ``git`` itself is the only implementation with identical
merge and rename detection; its CLI is a stable interface.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from gatewatch.errors import GateError

MergeMode = Literal["merge", "cherry-pick"]
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_GIT_TIMEOUT_S = 600.0
# How to reach the upstream (ssh command, askpass helper, TLS settings, tracing) is the operator's;
# every other GIT_* variable (GIT_DIR, GIT_INDEX_FILE, identities, dates...) is dropped.
_GIT_ENV_KEPT = (
    "GIT_SSH",
    "GIT_ASKPASS",
    "GIT_SSL_",
    "GIT_HTTP_",
    "GIT_PROXY",
    "GIT_TRACE",
    "GIT_CURL_VERBOSE",
)
_SAFE_CONFIG = (
    "-c", "commit.gpgsign=false",
    "-c", "tag.gpgsign=false",
    "-c", "rerere.enabled=false",
    "-c", "core.autocrlf=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    "-c", "merge.renames=true",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeRef:
    """A change to test: ``ref`` is a ref of the upstream repository (``refs/changes/..``,
    ``refs/pull/1/head``, a branch name) or a full commit id."""

    change_id: str
    ref: str
    project: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitIdentity:
    """Author and committer of the merge commits the gate creates."""

    name: str = "gatewatch"
    email: str = "gatewatch@localhost"


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedState:
    """A speculative state ready to test: ``commit_sha`` in ``worktree``, built on ``base_sha``.

    ``change_commits`` maps each change, in order, to the commit after it was applied.
    """

    key: str
    branch: str
    base_sha: str
    commit_sha: str
    worktree: Path
    change_commits: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class MergeConflict:
    """The state could not be built: ``change_id`` did not apply (conflict or unknown ref)."""

    key: str
    change_id: str
    message: str
    base_sha: str = ""
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LandResult:
    """What :meth:`GitWorkspace.land` did; ``reason`` is landed, already, stale or not-fast-forward."""

    landed: bool
    reason: str
    branch_sha: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Problem:
    change_id: str
    message: str
    paths: tuple[str, ...] = ()


class _GitFailed(Exception):
    def __init__(self, args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> None:
        super().__init__(proc.stderr.strip() or proc.stdout.strip())
        self.argv = tuple(args)
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr


def _git_env(identity: CommitIdentity, when: datetime | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k.startswith(_GIT_ENV_KEPT)}
    env.update(
        GIT_AUTHOR_NAME=identity.name,
        GIT_AUTHOR_EMAIL=identity.email,
        GIT_COMMITTER_NAME=identity.name,
        GIT_COMMITTER_EMAIL=identity.email,
        GIT_TERMINAL_PROMPT="0",
        GIT_ALLOW_PROTOCOL="file:git:ssh:http:https",
        GIT_CONFIG_NOSYSTEM="1",
        LC_ALL="C",
    )
    if when is not None:
        stamp = f"@{int(when.timestamp())} +0000"
        env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
    return env


def _without_password(url: str) -> str:
    """``url`` as it may be shown: a password or token in it is masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _ref_name(ref: str) -> str:
    """A change's ref as a full ref name: ``feature`` is the branch ``refs/heads/feature``."""
    return ref if ref.startswith("refs/") else f"refs/heads/{ref}"


def _slug(key: str) -> str:
    """A directory name for ``key``: readable, safe, and unique (a hash suffix)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", key)[:60].lstrip(".") or "state"
    return f"{safe}-{hashlib.sha256(key.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}"


class GitWorkspace:
    """A mirror of ``upstream`` under ``root``, speculative worktrees, and fast-forward landing."""

    def __init__(self, root: Path, upstream: str, *, identity: CommitIdentity | None = None) -> None:
        if not upstream or upstream.startswith("-"):
            raise GateError(f"invalid upstream repository {upstream!r}", hint="give a path or a git URL")
        self.root = Path(root).resolve()
        self.upstream = (
            str(Path(upstream).resolve()) if "://" not in upstream and ":" not in upstream else upstream
        )
        self.shown = _without_password(self.upstream)
        self.identity = identity or CommitIdentity()
        self.mirror = self.root / "mirror.git"
        self.worktrees = self.root / "worktrees"
        self._valid_refs: set[str] = set()
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._take_lock()
        self._open_mirror()

    # -- plumbing -----------------------------------------------------------------------------

    def _take_lock(self) -> int:
        fd = os.open(self.root / ".gatewatch-gate.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise GateError(
                f"another gate process owns {self.root}", hint="run one gate per workspace directory"
            ) from None
        return fd

    def _git(
        self,
        *args: str,
        cwd: Path | None = None,
        when: datetime | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        argv = ["git", *_SAFE_CONFIG, *args]
        try:
            proc = subprocess.run(
                argv,
                cwd=cwd or self.mirror,
                env=_git_env(self.identity, when),
                capture_output=True,
                text=True,
                errors="replace",
                timeout=_GIT_TIMEOUT_S,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GateError(f"git {args[0]} could not run: {exc}", hint="is git installed?") from None
        if check and proc.returncode != 0:
            raise _GitFailed(argv, proc)
        return proc

    def _redact(self, text: str) -> str:
        return text.replace(self.upstream, self.shown)

    def _run(self, *args: str, what: str, cwd: Path | None = None) -> str:
        """Run git; any failure is a GateError saying ``what`` failed."""
        try:
            return self._git(*args, cwd=cwd).stdout.strip()
        except _GitFailed as exc:
            raise GateError(
                f"{what} failed: {self._redact(str(exc))}", hint=f"upstream {self.shown}"
            ) from None

    def _open_mirror(self) -> None:
        if not (self.mirror / "HEAD").exists():
            self.mirror.mkdir(parents=True, exist_ok=True)
            self._run(
                "init", "--bare", "--quiet", str(self.mirror), what="creating the mirror", cwd=self.root
            )
        self._clear_stale_locks()
        self._run("worktree", "prune", what="pruning worktrees")

    def _clear_stale_locks(self) -> None:
        """A killed git leaves ``*.lock`` files; we own the root (flock), so they are stale."""
        for lock in [
            self.mirror / "packed-refs.lock",
            self.mirror / "index.lock",
            *self.mirror.glob("refs/**/*.lock"),
        ]:
            lock.unlink(missing_ok=True)

    def fetch(self, refs: Sequence[str] = ()) -> None:
        """Update the mirror's branches and tags from upstream, and the change ``refs`` named.

        Only named change refs are fetched (a Gerrit server holds millions under
        ``refs/changes``). A ref missing upstream is simply absent afterwards;
        an unreachable upstream raises GateError.
        """
        wanted = [f"+{ref}:{ref}" for ref in dict.fromkeys(refs) if self._valid_ref(ref)]
        if self._fetch("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*", *wanted) is None:
            return
        problem = self._fetch("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
        if problem is not None:
            raise GateError(
                f"cannot fetch from the upstream repository {self.shown}: {self._redact(problem)}",
                hint="check that the repository exists and is readable",
            )
        for spec in wanted:  # one of them is missing upstream: fetch the others one by one
            self._fetch(spec)

    def _fetch(self, *refspecs: str) -> str | None:
        """Fetch ``refspecs`` from upstream; the error text, or None on success."""
        try:
            self._git("fetch", "--prune", "--quiet", "--no-write-fetch-head", "--", self.upstream, *refspecs)
        except _GitFailed as exc:
            return str(exc)
        return None

    def _valid_ref(self, name: str) -> bool:
        """``git check-ref-format NAME``, remembered (the same names come back for every state)."""
        if name not in self._valid_refs:
            if self._git("check-ref-format", name, check=False).returncode != 0:
                return False
            self._valid_refs.add(name)
        return True

    def _check_branch(self, branch: str) -> str:
        ref = f"refs/heads/{branch}"
        if branch.startswith("-") or not self._valid_ref(ref):
            raise GateError(f"invalid branch name {branch!r}", hint="see git check-ref-format")
        return ref

    def _resolve(self, ref: str) -> str | None:
        """The commit id ``ref`` names in the mirror, or None."""
        is_sha = _SHA.fullmatch(ref) is not None
        name = ref if is_sha else _ref_name(ref)
        if not is_sha and not self._valid_ref(name):
            return None
        proc = self._git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}", check=False
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def has_branch(self, branch: str) -> bool:
        """Whether the mirror has ``branch`` (False for an invalid name; call :meth:`fetch` first)."""
        ref = f"refs/heads/{branch}"
        if branch.startswith("-") or not self._valid_ref(ref):
            return False
        return self._resolve(ref) is not None

    def branch_sha(self, branch: str) -> str:
        """The current tip of ``branch`` in the mirror (call :meth:`fetch` first to be current)."""
        sha = self._resolve(self._check_branch(branch))
        if sha is None:
            raise GateError(f"branch {branch!r} does not exist in {self.shown}")
        return sha

    def state_path(self, key: str) -> Path:
        return self.worktrees / _slug(key)

    # -- speculative states -------------------------------------------------------------------

    def prepare_state(
        self,
        *,
        branch: str,
        changes: Sequence[ChangeRef],
        mode: MergeMode = "merge",
        key: str,
        commit_time: datetime | None = None,
    ) -> PreparedState | MergeConflict:
        """Fetch, then apply ``changes`` in order on the tip of ``branch`` in ``key``'s worktree.

        Merge commits (``merge``: ``git merge --no-ff``) or cherry-picks get the
        workspace identity and ``commit_time`` (default: the base commit's
        committer date), so the same base and changes always give the same
        commit id: a state rebuilt after a crash is recognisably the one tested.
        A change that does not apply yields a :class:`MergeConflict` and no
        worktree is left behind. A change listed twice is applied once.
        """
        if mode not in ("merge", "cherry-pick"):
            raise GateError(f"unknown merge mode {mode!r}", hint="use 'merge' or 'cherry-pick'")
        self.fetch([_ref_name(change.ref) for change in changes if not _SHA.fullmatch(change.ref)])
        base = self.branch_sha(branch)
        when = commit_time or self._commit_time(base)
        path = self._new_worktree(key, base)
        try:
            result = self._apply_all(path, changes, mode=mode, when=when)
        except BaseException:
            self.remove_state(key)
            raise
        if isinstance(result, _Problem):
            self.remove_state(key)
            return MergeConflict(
                key=key, change_id=result.change_id, message=result.message, base_sha=base, paths=result.paths
            )
        head = result[-1][1] if result else base
        return PreparedState(
            key=key, branch=branch, base_sha=base, commit_sha=head, worktree=path, change_commits=result
        )

    def _new_worktree(self, key: str, base: str) -> Path:
        """A fresh detached worktree for ``key`` at ``base`` (any earlier one is removed)."""
        self.remove_state(key)
        path = self.state_path(key)
        self.worktrees.mkdir(parents=True, exist_ok=True)
        args = ("worktree", "add", "--detach", "--force", "--quiet", "--", str(path), base)
        self._run(*args, what="creating a worktree")
        return path

    def _commit_time(self, sha: str) -> datetime:
        stamp = self._run("show", "-s", "--format=%ct", sha, what="reading the base commit")
        return datetime.fromtimestamp(int(stamp), tz=UTC)

    def _apply_all(
        self, path: Path, changes: Sequence[ChangeRef], *, mode: MergeMode, when: datetime
    ) -> tuple[tuple[str, str], ...] | _Problem:
        applied: dict[str, str] = {}
        commits: list[tuple[str, str]] = []
        for change in changes:
            if change.change_id in applied:
                commits.append((change.change_id, applied[change.change_id]))
                continue
            sha = self._resolve(change.ref)
            if sha is None:
                message = f"change {change.change_id}: ref {change.ref!r} not found upstream"
                return _Problem(change_id=change.change_id, message=message)
            problem = self._apply_one(path, change, sha, mode=mode, when=when)
            if problem is not None:
                return problem
            head = self._run("rev-parse", "HEAD", what="reading the speculative state", cwd=path)
            applied[change.change_id] = head
            commits.append((change.change_id, head))
        return tuple(commits)

    def _apply_one(
        self, path: Path, change: ChangeRef, sha: str, *, mode: MergeMode, when: datetime
    ) -> _Problem | None:
        if mode == "merge":
            trailers = f"Gatewatch-Change: {change.change_id}\nGatewatch-Commit: {sha}"
            message = f"Merge change {change.change_id}\n\n{trailers}"
            args = ["merge", "--no-ff", "--no-edit", "--no-gpg-sign", "--quiet", "-m", message, sha]
        else:
            args = ["cherry-pick", "--keep-redundant-commits", "--allow-empty", "--no-gpg-sign", sha]
        proc = self._git(*args, cwd=path, when=when, check=False)
        if proc.returncode == 0:
            return None
        unmerged = self._git("diff", "--name-only", "--diff-filter=U", cwd=path, check=False).stdout.split()
        self._git("merge" if mode == "merge" else "cherry-pick", "--abort", cwd=path, check=False)
        detail = (proc.stdout + proc.stderr).strip().splitlines()
        summary = (
            f"conflict in {', '.join(unmerged)}" if unmerged else (detail[-1] if detail else "git failed")
        )
        message = f"change {change.change_id} does not apply ({mode}): {summary}"
        return _Problem(change_id=change.change_id, message=message, paths=tuple(unmerged))

    def remove_state(self, key: str) -> None:
        """Delete ``key``'s worktree, if any (idempotent)."""
        path = self.state_path(key)
        if (
            path.exists()
            and self._git("worktree", "remove", "--force", "--force", "--", str(path), check=False).returncode
        ):
            shutil.rmtree(path, ignore_errors=True)  # git could not remove it (damaged): forget it by hand
            self._git("worktree", "prune", check=False)

    def cleanup(self) -> None:
        """Delete every speculative worktree; the mirror stays as a cache."""
        if self.worktrees.exists():
            for path in sorted(self.worktrees.iterdir()):
                self._git("worktree", "remove", "--force", "--force", "--", str(path), check=False)
                shutil.rmtree(path, ignore_errors=True)
        self._git("worktree", "prune", check=False)

    def close(self) -> None:
        """Release the workspace lock (worktrees are kept; call :meth:`cleanup` to drop them)."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    # -- landing ------------------------------------------------------------------------------

    def land(self, *, branch: str, tested_commit: str, expected_base: str) -> LandResult:
        """Move ``branch`` upstream to exactly ``tested_commit``, if it still points at ``expected_base``.

        A fast-forward only, as an atomic compare-and-swap (``git push
        --force-with-lease``): if someone moved the branch, nothing happens and
        the result is ``stale`` (retest the item). If the branch already contains
        ``tested_commit`` (a crash after the push; others may have landed on top
        since), the result is ``already``: the item merged, do not merge it again.
        """
        ref = self._check_branch(branch)
        for sha in (tested_commit, expected_base):
            if not _SHA.fullmatch(sha):
                raise GateError(f"land needs full commit ids, got {sha!r}")
        self.fetch()
        current = self._resolve(ref)
        if current is None:
            raise GateError(f"branch {branch!r} does not exist in {self.shown}")
        if current != expected_base and self._is_ancestor(tested_commit, current):
            return LandResult(landed=True, reason="already", branch_sha=current)
        if current != expected_base:
            return LandResult(landed=False, reason="stale", branch_sha=current)
        if not self._is_ancestor(expected_base, tested_commit):
            return LandResult(landed=False, reason="not-fast-forward", branch_sha=current)
        return self._push(ref, tested_commit=tested_commit, expected_base=expected_base)

    def _is_ancestor(self, ancestor: str, descendant: str) -> bool:
        proc = self._git("merge-base", "--is-ancestor", ancestor, descendant, check=False)
        return proc.returncode == 0

    def _push(self, ref: str, *, tested_commit: str, expected_base: str) -> LandResult:
        lease = f"--force-with-lease={ref}:{expected_base}"
        proc = self._git(
            "push",
            "--porcelain",
            "--quiet",
            lease,
            "--",
            self.upstream,
            f"{tested_commit}:{ref}",
            check=False,
        )
        if proc.returncode == 0:
            self._git("update-ref", ref, tested_commit, check=False)
            return LandResult(landed=True, reason="landed", branch_sha=tested_commit)
        text = proc.stdout + proc.stderr
        if "stale info" in text or "fetch first" in text or "non-fast-forward" in text:
            self.fetch()
            return LandResult(landed=False, reason="stale", branch_sha=self._resolve(ref) or "")
        raise GateError(f"pushing {tested_commit} to {self.shown} {ref} failed: {self._redact(text.strip())}")

    def read_file(self, commit: str, path: str) -> bytes | None:
        """The content of ``path`` at ``commit``, or None when the file does not exist there."""
        if not _SHA.fullmatch(commit) or path.startswith("-"):
            raise GateError(f"read_file needs a full commit id and a path, got {commit!r}, {path!r}")
        try:
            return subprocess.run(
                ["git", "cat-file", "blob", f"{commit}:{path}"],
                cwd=self.mirror,
                env=_git_env(self.identity, None),
                capture_output=True,
                check=True,
                timeout=_GIT_TIMEOUT_S,
            ).stdout
        except subprocess.CalledProcessError:
            return None

    def __enter__(self) -> GitWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
