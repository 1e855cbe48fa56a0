"""A real upstream repository with gate jobs, for the loop's and the CLI's end-to-end tests.

``check`` fails on any state holding a change marked BAD; ``flaky`` fails at
random with a seeded rate (the seed is the build's, so a run is reproducible);
When the named pipe ``$HOME/gate-fifo`` exists, ``check`` writes its build id to
it and blocks until someone reads: a test waits for a running job by reading
the pipe (no sleep) and holds every other job in flight meanwhile.
"""

from __future__ import annotations

from pathlib import Path

from support.gitrepo import Upstream, git

JOBS = """\
jobs:
  - name: check
    command: [./check.sh]
    timeout_s: 30
  - name: flaky
    command: [./flaky.sh]
    timeout_s: 30
    env: {FLAKY_RATE: "@RATE@"}
"""
CHECK = """\
#!/bin/sh
if [ -p "$HOME/gate-fifo" ]; then echo "$GATEWATCH_BUILD_ID" > "$HOME/gate-fifo"; fi
if grep -q BAD MARKER-* 2>/dev/null; then echo "bad change in this state"; exit 1; fi
echo "all good"
"""
FLAKY = """\
#!/bin/sh
exec awk -v seed="$GATEWATCH_BUILD_SEED" -v rate="$FLAKY_RATE" 'BEGIN { srand(seed); exit (rand() < rate) }'
"""


FIXED_DATES = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
"""Set these (monkeypatch.setenv) before make_project: the same commits, hence the same job seeds, every run."""


def make_project(tmp: Path, *, flaky_rate: float = 0.2) -> Upstream:
    jobs = JOBS.replace("@RATE@", str(flaky_rate))
    return Upstream(tmp, {".gatewatch.yaml": jobs, "check.sh": CHECK, "flaky.sh": FLAKY})


def add_change(project: Upstream, name: str, *, bad: bool = False) -> str:
    """Push change ``name`` (its own file and marker) to refs/changes/<name>; the ref."""
    project.change(name, {f"{name}.txt": name, f"MARKER-{name}": "BAD" if bad else "ok"})
    return f"refs/changes/{name}"


def landed_changes(project: Upstream, count: int) -> list[tuple[str, str]]:
    """(change name, landed commit) of the last ``count`` first-parent commits of main, oldest first."""
    shas = git("rev-list", "--first-parent", f"-{count}", "refs/heads/main", cwd=project.bare).split()
    out = []
    for sha in reversed(shas):
        subject = git("log", "-1", "--format=%s", sha, cwd=project.bare)
        out.append((subject.removeprefix("Merge change "), sha))
    return out
