"""Run gate jobs as subprocesses under a node limit, and write each build in ingest's layout (I/O).

:class:`JobRunner` starts at most ``node_limit`` builds at once and queues the
rest in arrival order. Each build runs its job's argv in the speculative
worktree, in a new session (its own process group), only once it is
recorded as running (a marker in its build directory that
:meth:`JobRunner.recover_orphans` uses after a crash), with a minimal
environment (``PATH``, ``HOME``, ``LANG``, ``TMPDIR``, the job's ``env`` and
``GATEWATCH_*`` variables): the gate's own environment (store URLs, tokens)
never reaches a job. A timeout or :meth:`JobRunner.cancel` sends SIGTERM to the
whole group, then SIGKILL after ``kill_grace_s``; when the main process exits,
whatever it left running in its group is killed too.

Output (stdout and stderr, merged) is drained by a thread into
``<log_dir>/<build_id>/job-output.txt`` and capped at ``log_cap_bytes``: past
the cap it is read and discarded, so a job printing gigabytes never blocks on
a full pipe, and a marker line says how much was dropped. When the build ends,
the job's ``artifacts`` are copied from the worktree into the same directory
and ``build.json`` (the Zuul builds API shape) is written last, atomically, so
``gatewatch ingest <log_dir>`` only ever sees complete builds.

Threads rather than asyncio: one blocking reader and one waiter per running
build is the simplest correct way to drain pipes and reap processes with the
standard library, and the node limit keeps their number small. :meth:`poll`
blocks on a queue (no busy loop); :meth:`wait_all` blocks until every started
and queued build has finished.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from gatewatch.domain.builds import BuildResult
from gatewatch.errors import GateError
from gatewatch.gate.builddir import (
    LOG_NAME,
    RECORD_NAME,
    BuildContext,
    build_record,
    copy_artifacts,
    recover_orphans,
    save_record,
    save_running_marker,
)
from gatewatch.gate.jobs import (
    DEFAULT_CONFIG_NAME,
    JobConfig,
    JobConfigError,
    JobDefinition,
    parse_job_config,
)

DEFAULT_LOG_CAP_BYTES = 100 * 1024 * 1024
__all__ = ["BuildContext", "BuildFinished", "JobRunner", "load_job_config", "load_job_file"]
_CHUNK_BYTES = 64 * 1024
_BUILD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
Clock = Callable[[], datetime]
_LOG = logging.getLogger(__name__)
# Runs the job's argv verbatim ("$@", never re-parsed) once the runner has recorded the build as
# running, so no job ever runs untracked; if the runner dies first, the job never starts.
_TRAMPOLINE = 'read -r _ || exit 125; exec </dev/null; exec "$@"'


def load_job_config(worktree: Path, *, name: str = DEFAULT_CONFIG_NAME) -> JobConfig:
    """Read and parse the job definitions of a speculative state.

    A state whose changes deleted the file raises :class:`JobConfigError`:
    the item fails clearly instead of merging untested.
    """
    path = worktree / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise JobConfigError(
            "the job definition file is missing from the tested state",
            path=name,
            hint="a change in this state deleted or moved it; restore it or configure the jobs in the gate",
        ) from None
    except OSError as exc:
        raise JobConfigError(f"cannot read the job definitions: {exc.strerror}", path=name) from None
    return _parse_bytes(data, path=name)


def load_job_file(path: Path) -> JobConfig:
    """Read and parse a job definition file of the gate's own configuration (same schema)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JobConfigError(
            f"cannot read the gate's job definitions: {exc.strerror}",
            path=str(path),
            hint="check the jobs path in the [gate.projects] table of the config file",
        ) from None
    return _parse_bytes(data, path=str(path))


def _parse_bytes(data: bytes, *, path: str) -> JobConfig:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JobConfigError(f"not UTF-8 at byte {exc.start}", path=path) from None
    return parse_job_config(text, path=path)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildFinished:
    """One build's end: the event the gate loop feeds back to ``plan.step``.

    ``problem`` is set when the runner itself failed (result ERROR, no build.json).
    """

    build_id: str
    job_name: str
    result: BuildResult
    started_at: datetime
    ended_at: datetime
    log_path: Path
    build_dir: Path
    voting: bool = True
    exit_code: int | None = None
    problem: str = ""


@dataclass(slots=True, kw_only=True)
class _Build:
    build_id: str
    job: JobDefinition
    worktree: Path
    context: BuildContext
    build_dir: Path
    env: tuple[tuple[str, str], ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    outcome: BuildResult | None = None  # set by a timeout or a cancel
    reaped: bool = False
    timers: list[threading.Timer] = field(default_factory=list)


class JobRunner:
    """Runs builds, at most ``node_limit`` at once; see the module docs."""

    def __init__(
        self,
        node_limit: int,
        log_dir: Path,
        *,
        log_cap_bytes: int = DEFAULT_LOG_CAP_BYTES,
        kill_grace_s: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        if node_limit < 1:
            raise GateError(f"node_limit must be at least 1, got {node_limit}")
        self.node_limit = node_limit
        self.log_dir = Path(log_dir)
        self.log_cap_bytes = log_cap_bytes
        self.kill_grace_s = kill_grace_s
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._pending: deque[_Build] = deque()
        self._running: dict[str, _Build] = {}
        self._known: set[str] = set()
        self._finished: queue.Queue[BuildFinished] = queue.Queue()

    # -- public API ---------------------------------------------------------------------------

    def start(
        self,
        build_id: str,
        job: JobDefinition,
        worktree: Path,
        *,
        context: BuildContext | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Queue ``job`` to run in ``worktree``; it starts as soon as a node is free.

        ``env`` adds variables to the job's environment (the gate loop passes the other
        repositories' speculative states); the runner's own ``GATEWATCH_*`` values win.
        """
        if not _BUILD_ID.fullmatch(build_id):
            raise GateError(f"invalid build id {build_id!r}", hint="letters, digits, '.', '_' and '-'")
        if not Path(worktree).is_dir():
            raise GateError(f"build {build_id}: worktree {worktree} does not exist")
        build_dir = self.log_dir / build_id
        build = _Build(
            build_id=build_id,
            job=job,
            worktree=Path(worktree),
            context=context or BuildContext(),
            build_dir=build_dir,
            env=tuple((env or {}).items()),
        )
        with self._lock:
            if build_id in self._known:
                raise GateError(f"build {build_id} was already started by this runner")
            self._known.add(build_id)
            self._pending.append(build)
            self._start_ready()

    def cancel(self, build_id: str) -> bool:
        """Cancel a queued or running build (its process group is killed); False if it is not active."""
        with self._lock:
            for build in self._pending:
                if build.build_id == build_id:
                    self._pending.remove(build)
                    break
            else:
                running = self._running.get(build_id)
                if running is None:
                    return False
                self._stop(running, BuildResult.CANCELED)
                return True
        now = self._clock()
        self._finish(build, BuildResult.CANCELED, started_at=now, ended_at=now, exit_code=None)
        return True

    def poll(self, timeout_s: float | None = 0.0) -> list[BuildFinished]:
        """Builds finished since the last poll; waits up to ``timeout_s`` (None: forever) for the first."""
        events: list[BuildFinished] = []
        try:
            if timeout_s is None:
                events.append(self._finished.get())
            elif timeout_s > 0:
                events.append(self._finished.get(timeout=timeout_s))
            else:
                events.append(self._finished.get_nowait())
        except queue.Empty:
            return events
        while True:
            try:
                events.append(self._finished.get_nowait())
            except queue.Empty:
                return events

    def wait_all(self, timeout_s: float | None = None) -> list[BuildFinished]:
        """Block until every queued and running build has finished; return all their events."""
        events = self.poll(0)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self.active():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise GateError(f"builds still running after {timeout_s} s: {sorted(self.active())}")
            events.extend(self.poll(remaining))
        return events + self.poll(0)

    def active(self) -> tuple[str, ...]:
        """Ids of the builds queued or running, in start order."""
        with self._lock:
            return tuple(self._running) + tuple(b.build_id for b in self._pending)

    def pending(self) -> tuple[str, ...]:
        """Ids of the builds waiting for a node."""
        with self._lock:
            return tuple(b.build_id for b in self._pending)

    def running(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._running)

    def shutdown(self) -> list[BuildFinished]:
        """Cancel everything and wait for the builds to end (used when the gate stops)."""
        for build_id in self.active():
            self.cancel(build_id)
        return self.wait_all()

    def recover_orphans(self) -> list[str]:
        """After a gate was killed: stop the builds it left running, record them as ABORTED.

        Jobs run in their own sessions, so they outlive a killed gate; call this
        before starting builds. Returns the ids of the builds recovered.
        """
        return recover_orphans(self.log_dir, now=self._clock())

    # -- scheduling (called with the lock held) -------------------------------------------------

    def _start_ready(self) -> None:
        while self._pending and len(self._running) < self.node_limit:
            build = self._pending.popleft()
            self._running[build.build_id] = build
            threading.Thread(
                target=self._execute, args=(build,), name=f"build-{build.build_id}", daemon=True
            ).start()

    def _stop(self, build: _Build, outcome: BuildResult) -> None:
        """Record why the build stops and signal its group: TERM now, KILL after the grace period."""
        if build.outcome is None:
            build.outcome = outcome
        self._signal(build, signal.SIGTERM)
        self._arm(build, self.kill_grace_s, self._kill_late)

    @staticmethod
    def _arm(build: _Build, delay_s: float, action: Callable[[_Build], None]) -> None:
        timer = threading.Timer(delay_s, action, args=(build,))
        timer.daemon = True
        build.timers.append(timer)
        timer.start()

    def _signal(self, build: _Build, signum: int) -> None:
        # The group leader is not reaped before ``reaped`` is set under the lock, so its pid
        # (the group id) cannot have been reused.
        if build.proc is not None and not build.reaped:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(build.proc.pid, signum)

    def _kill_late(self, build: _Build) -> None:
        with self._lock:
            self._signal(build, signal.SIGKILL)

    def _expire(self, build: _Build) -> None:
        with self._lock:
            if not build.reaped:
                self._stop(build, BuildResult.TIMED_OUT)

    # -- one build (its own thread) -------------------------------------------------------------

    def _execute(self, build: _Build) -> None:
        """The top of a build's thread: whatever happens, the build finishes with an event."""
        started_at = self._clock()
        try:
            build.build_dir.mkdir(parents=True, exist_ok=True)
            (build.build_dir / RECORD_NAME).unlink(missing_ok=True)  # a stale record of an earlier run
            with (build.build_dir / LOG_NAME).open("wb") as log:
                exit_code = self._run_process(build, log, started_at=started_at)
            result = self._result(build, exit_code)
            self._finish(build, result, started_at=started_at, ended_at=self._clock(), exit_code=exit_code)
        except Exception as exc:  # the top of a build's thread: it must always report an end
            _LOG.exception("build %s (job %s) failed in the runner", build.build_id, build.job.name)
            with self._lock:
                self._signal(build, signal.SIGKILL)
            self._result(build, None)
            self._report(build, _event(build, BuildResult.ERROR, started_at, self._clock(), None), str(exc))

    def _run_process(self, build: _Build, log: IO[bytes], *, started_at: datetime) -> int | None:
        """Run the job to its end; its exit status, or None if it never started."""
        env = self._environment(build)
        problem = _cannot_start(build.job.argv[0], cwd=build.worktree, path=env["PATH"])
        if not problem:
            try:
                proc = self._spawn(build, env, started_at=started_at)
            except OSError as exc:
                problem = exc.strerror or str(exc)
        if problem:
            log.write(f"[gatewatch] cannot start {build.job.argv[0]!r}: {problem}\n".encode())
            return None
        return None if proc is None else self._wait(build, proc, log)

    def _spawn(
        self, build: _Build, env: dict[str, str], *, started_at: datetime
    ) -> subprocess.Popen[bytes] | None:
        """Start the job, record it as running, then let it go; None if it was canceled first."""
        hold, release = os.pipe()  # the job's stdin until it is recorded as running, then /dev/null
        try:
            with self._lock:
                if build.outcome is not None:
                    return None
                proc = build.proc = subprocess.Popen(
                    ["/bin/sh", "-c", _TRAMPOLINE, "gatewatch-job", *build.job.argv],
                    cwd=build.worktree,
                    env=env,
                    stdin=hold,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                record = self._record(build, BuildResult.ABORTED, started_at=started_at, ended_at=started_at)
                try:
                    save_running_marker(build.build_dir, pgid=proc.pid, record=record)
                except OSError:
                    os.close(release)  # the held job reads end-of-file and exits without running
                    release = -1
                    build.reaped = True
                    proc.communicate()
                    raise
                os.write(release, b"go\n")
                self._arm(build, build.job.timeout_s, self._expire)
            return proc
        finally:
            os.close(hold)
            if release >= 0:
                os.close(release)

    def _wait(self, build: _Build, proc: subprocess.Popen[bytes], log: IO[bytes]) -> int:
        """Drain the output while the job runs; once it exits, kill what it left in its group."""
        assert proc.stdout is not None
        reader = threading.Thread(target=_drain, args=(proc.stdout, log, self.log_cap_bytes), daemon=True)
        reader.start()
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
        with self._lock:
            self._signal(build, signal.SIGKILL)  # whatever the job left behind in its group
            build.reaped = True
            exit_code = proc.wait()
        reader.join(timeout=max(self.kill_grace_s, 1.0))
        if reader.is_alive():  # a process escaped the group and holds the pipe: leave the fd to it
            log.write(b"\n[gatewatch] a process left the job's process group; its output is not collected\n")
        else:
            proc.stdout.close()
        return exit_code

    def _environment(self, build: _Build) -> dict[str, str]:
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        env.update(build.job.env)
        env.update(build.env)
        seed = build.context.seed
        if seed is None:
            seed = zlib.crc32(build.build_id.encode())
        env.update(
            GATEWATCH_BUILD_ID=build.build_id,
            GATEWATCH_BUILD_SEED=str(seed),
            GATEWATCH_JOB=build.job.name,
            GATEWATCH_PROJECT=build.context.project,
            GATEWATCH_BRANCH=build.context.branch,
            GATEWATCH_CHANGE="" if build.context.change is None else str(build.context.change),
            GATEWATCH_COMMIT=build.context.newrev,
            GATEWATCH_BUILD_DIR=str(build.build_dir.resolve()),
        )
        return env

    def _result(self, build: _Build, exit_code: int | None) -> BuildResult:
        with self._lock:
            for timer in build.timers:
                timer.cancel()
            if build.outcome is not None:
                return build.outcome
        if exit_code is None:
            return BuildResult.ERROR
        return BuildResult.SUCCESS if exit_code == 0 else BuildResult.FAILURE

    def _finish(
        self,
        build: _Build,
        result: BuildResult,
        *,
        started_at: datetime,
        ended_at: datetime,
        exit_code: int | None,
    ) -> None:
        build.build_dir.mkdir(parents=True, exist_ok=True)
        with (build.build_dir / LOG_NAME).open("ab") as log:
            if result in (BuildResult.SUCCESS, BuildResult.FAILURE):
                copy_artifacts(
                    build.job.artifacts, worktree=build.worktree, build_dir=build.build_dir, log=log
                )
            log.write(f"[gatewatch] build {build.build_id} {result.value} (exit code {exit_code})\n".encode())
        save_record(build.build_dir, self._record(build, result, started_at=started_at, ended_at=ended_at))
        self._report(build, _event(build, result, started_at, ended_at, exit_code))

    @staticmethod
    def _record(
        build: _Build, result: BuildResult, *, started_at: datetime, ended_at: datetime
    ) -> dict[str, object]:
        return build_record(
            build_id=build.build_id,
            job_name=build.job.name,
            voting=build.job.voting,
            context=build.context,
            result=result,
            started_at=started_at,
            ended_at=ended_at,
        )

    def _report(self, build: _Build, event: BuildFinished, problem: str = "") -> None:
        """Free the build's node, start the next queued build, and publish the event."""
        if problem:
            event = replace(event, problem=problem)
        with self._lock:
            self._running.pop(build.build_id, None)
            self._start_ready()
            self._finished.put(event)


def _event(
    build: _Build, result: BuildResult, started_at: datetime, ended_at: datetime, exit_code: int | None
) -> BuildFinished:
    return BuildFinished(
        build_id=build.build_id,
        job_name=build.job.name,
        voting=build.job.voting,
        result=result,
        started_at=started_at,
        ended_at=ended_at,
        log_path=build.build_dir / LOG_NAME,
        build_dir=build.build_dir,
        exit_code=exit_code,
    )


def _drain(stream: IO[bytes], log: IO[bytes], cap_bytes: int) -> None:
    """Copy ``stream`` to ``log`` up to ``cap_bytes``; read and drop the rest, then say how much.

    The pipe is always read to its end, even when the log cannot be written (disk full), so the
    job never blocks on a full pipe.
    """
    written = dropped = 0
    try:
        while chunk := os.read(stream.fileno(), _CHUNK_BYTES):
            keep = max(0, min(len(chunk), cap_bytes - written))
            if keep and not _write(log, chunk[:keep]):
                cap_bytes, keep = written, 0  # the log takes no more: drop the rest
            written += keep
            dropped += len(chunk) - keep
    except (OSError, ValueError):  # the pipe was given up (a process escaped the job's group)
        return
    if dropped:
        _write(
            log,
            f"\n[gatewatch] output truncated at {written} bytes: {dropped} more bytes discarded\n".encode(),
        )
    _write(log, b"")


def _write(log: IO[bytes], data: bytes) -> bool:
    try:
        log.write(data)
        log.flush()
    except (OSError, ValueError):
        return False
    return True


def _cannot_start(program: str, *, cwd: Path, path: str) -> str:
    """Why ``program`` cannot be executed from ``cwd`` with ``PATH=path``, or ''."""
    if "/" in program:
        target = cwd / program
        if not target.is_file():
            return "No such file"
        return "" if os.access(target, os.X_OK) else "Permission denied (not executable)"
    return "" if shutil.which(program, path=path) else f"not found in PATH={path}"
