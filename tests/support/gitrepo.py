"""Real git repositories in temporary directories, for the gate's tests.

``Upstream`` is a bare repository (what Gerrit or a forge serves) plus a
developer clone that pushes the target branch and change refs
(``refs/changes/<name>``) to it. Git identity comes from the environment of
each call, so the tests work on a machine without a global git identity.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

IDENTITY = {
    "GIT_AUTHOR_NAME": "Dev Eloper",
    "GIT_AUTHOR_EMAIL": "dev@example.org",
    "GIT_COMMITTER_NAME": "Dev Eloper",
    "GIT_COMMITTER_EMAIL": "dev@example.org",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, **IDENTITY}
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}"
    return proc.stdout.strip()


class Upstream:
    """A bare upstream repository with a ``main`` branch, and a clone to push changes from."""

    def __init__(self, tmp: Path, files: Mapping[str, str]) -> None:
        self.bare = tmp / "upstream.git"
        self.dev = tmp / "dev"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare), cwd=tmp)
        git("init", "--quiet", "--initial-branch=main", str(self.dev), cwd=tmp)
        git("remote", "add", "origin", str(self.bare), cwd=self.dev)
        self._write(files)
        git("commit", "--quiet", "-m", "Initial import", cwd=self.dev)
        git("push", "--quiet", "origin", "main", cwd=self.dev)

    def _write(self, files: Mapping[str, str | None]) -> None:
        for name, content in files.items():
            path = self.dev / name
            if content is None:
                git("rm", "--quiet", "--", name, cwd=self.dev)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            if name.endswith(".sh"):
                path.chmod(0o755)
            git("add", "--", name, cwd=self.dev)

    def change(self, name: str, files: Mapping[str, str | None], *, base: str = "main") -> str:
        """Push a one-commit change to ``refs/changes/<name>``, based on ``base``; its sha."""
        git("checkout", "--quiet", "--detach", base, cwd=self.dev)
        self._write(files)
        git("commit", "--quiet", "--allow-empty", "-m", f"Change {name}", cwd=self.dev)
        git("push", "--quiet", "origin", f"+HEAD:refs/changes/{name}", cwd=self.dev)
        return git("rev-parse", "HEAD", cwd=self.dev)

    def push_main(self, files: Mapping[str, str | None]) -> str:
        """Someone else pushes a commit directly to main; its sha."""
        git("fetch", "--quiet", "origin", cwd=self.dev)
        git("checkout", "--quiet", "--detach", "origin/main", cwd=self.dev)
        self._write(files)
        git("commit", "--quiet", "-m", "Direct push", cwd=self.dev)
        git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=self.dev)
        return git("rev-parse", "HEAD", cwd=self.dev)

    def sha(self, ref: str = "refs/heads/main") -> str:
        return git("rev-parse", "--verify", ref, cwd=self.bare)

    def files_at(self, sha: str) -> dict[str, str]:
        names = git("ls-tree", "-r", "--name-only", sha, cwd=self.bare).split()
        return {name: git("show", f"{sha}:{name}", cwd=self.bare) for name in names}
