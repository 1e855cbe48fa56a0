"""A real upstream repository with gate jobs, for the loop's and the CLI's end-to-end tests.

``check`` fails on any state holding a change marked BAD; ``flaky`` fails at
random with a seeded rate (the seed is the build's, so a run is reproducible);
``check`` touches ``$HOME/gate-marks/check-<build id>`` when that directory exists
and waits while ``$HOME/gate-hold`` exists, so a test can wait for a running job
(a marker, not a sleep) and hold it.
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
    env: {FLAKY_RATE: "0.25"}
"""
CHECK = """\
#!/bin/sh
if [ -d "$HOME/gate-marks" ]; then : > "$HOME/gate-marks/check-$GATEWATCH_BUILD_ID"; fi
while [ -e "$HOME/gate-hold" ]; do sleep 0.05; done
if grep -q BAD MARKER-* 2>/dev/null; then echo "bad change in this state"; exit 1; fi
echo "all good"
"""
FLAKY = """\
#!/bin/sh
exec awk -v seed="$GATEWATCH_BUILD_SEED" -v rate="$FLAKY_RATE" 'BEGIN { srand(seed); exit (rand() < rate) }'
"""


def make_project(tmp: Path) -> Upstream:
    return Upstream(tmp, {".gatewatch.yaml": JOBS, "check.sh": CHECK, "flaky.sh": FLAKY})


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
