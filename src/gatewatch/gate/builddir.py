"""A build's directory in gatewatch's ingest layout, and the marker of a running build (I/O).

``<log_dir>/<build_id>/`` holds ``job-output.txt``, the job's artifacts and,
written last and atomically, ``build.json`` in the shape of Zuul's builds API,
so ``gatewatch ingest <log_dir>`` only ever sees complete builds. While the
build runs, ``.gatewatch-running.json`` records its process group and start
time; :func:`recover_orphans` uses it after the gate was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from gatewatch.domain.builds import BuildResult

LOG_NAME = "job-output.txt"
RECORD_NAME = "build.json"
RUNNING_NAME = ".gatewatch-running.json"
_RESERVED = frozenset({LOG_NAME, RECORD_NAME, RUNNING_NAME})


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildContext:
    """What the build record says about the tested state (Zuul's builds API fields)."""

    project: str = ""
    branch: str = ""
    change: int | None = None
    patchset: int | str | None = None
    ref: str = ""
    newrev: str = ""
    buildset_uuid: str = ""
    pipeline: str = "gate"
    seed: int | None = None


def build_record(
    *,
    build_id: str,
    job_name: str,
    voting: bool,
    context: BuildContext,
    result: BuildResult,
    started_at: datetime,
    ended_at: datetime,
) -> dict[str, object]:
    """The build as one object of Zuul's builds API (the flat shape ingest reads)."""
    return {
        "uuid": build_id,
        "job_name": job_name,
        "result": result.value,
        "voting": voting,
        "project": context.project,
        "branch": context.branch,
        "change": context.change,
        "patchset": context.patchset,
        "ref": context.ref,
        "newrev": context.newrev,
        "pipeline": context.pipeline,
        "start_time": _iso(started_at),
        "end_time": _iso(ended_at),
        "duration": round((ended_at - started_at).total_seconds(), 3),
        "log_url": LOG_NAME,
        "buildset": {"uuid": context.buildset_uuid},
    }


def save_record(build_dir: Path, record: dict[str, object]) -> None:
    """Write ``build.json`` atomically, then drop the running marker: the build is complete."""
    _write_atomically(build_dir / RECORD_NAME, json.dumps(record, indent=2).encode() + b"\n")
    (build_dir / RUNNING_NAME).unlink(missing_ok=True)


def save_running_marker(build_dir: Path, *, pgid: int, record: dict[str, object]) -> None:
    """Record that this process runs the build in process group ``pgid`` (see recover_orphans)."""
    info = {
        "runner": [os.getpid(), _start_ticks(os.getpid())],
        "pgid": [pgid, _start_ticks(pgid)],
        "record": record,
    }
    _write_atomically(build_dir / RUNNING_NAME, json.dumps(info).encode())


def recover_orphans(log_dir: Path, *, now: datetime) -> list[str]:
    """Stop the builds a killed runner left running and record them as ABORTED; their ids.

    For every running marker whose runner process is dead, kill the build's
    process group (unless its id now names another process), write
    ``build.json`` with result ABORTED (the item is retested) and drop the marker.
    """
    recovered = []
    for marker in sorted(log_dir.glob(f"*/{RUNNING_NAME}")):
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            owner, group, record = info["runner"], info["pgid"], dict(info["record"])
            pgid = int(group[0])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            marker.unlink(missing_ok=True)
            continue
        if _alive(owner):
            continue  # a live runner owns this build
        # Kill the group if its leader is ours, or gone: a pid used as a group id is never reused.
        if _alive(group) or _start_ticks(pgid) is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
        if (marker.parent / RECORD_NAME).exists():
            marker.unlink(missing_ok=True)
            continue
        record.update(result=BuildResult.ABORTED.value, end_time=_iso(now))
        record.pop("duration", None)
        with (marker.parent / LOG_NAME).open("ab") as log:
            log.write(b"\n[gatewatch] the gate stopped while this build ran; it was aborted\n")
        save_record(marker.parent, record)
        recovered.append(marker.parent.name)
    return recovered


def copy_artifacts(patterns: Sequence[str], *, worktree: Path, build_dir: Path, log: IO[bytes]) -> None:
    """Copy the job's result files (globs relative to the worktree) into the build directory."""
    root = worktree.resolve()
    for pattern in patterns:
        matches = sorted(p for p in root.glob(pattern) if p.is_file())
        if not matches:
            log.write(f"[gatewatch] artifact {pattern!r} not found in the worktree\n".encode())
        for source in matches:
            real = source.resolve()
            relative = source.relative_to(root)
            if not real.is_relative_to(root) or relative.as_posix() in _RESERVED:
                note = f"[gatewatch] artifact {relative.as_posix()!r} skipped (outside the worktree)\n"
                log.write(note.encode())
                continue
            target = build_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, target)


def _iso(moment: datetime) -> str:
    """UTC without a zone, as Zuul writes times."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _start_ticks(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive(process: object) -> bool:
    """True if ``[pid, start_ticks]`` still names the same running process (not a reused pid)."""
    if not isinstance(process, list) or len(process) != 2 or not isinstance(process[0], int):
        return False
    return process[1] is not None and _start_ticks(process[0]) == process[1]


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
