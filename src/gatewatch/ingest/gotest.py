"""Parse ``go test -json`` output (pure): one JSON event per line (test2json).

Events: ``start``, ``run``, ``pause``, ``cont``, ``output``, ``pass``, ``fail``,
``skip``, ``bench``, and (Go >= 1.24) ``build-output``/``build-fail`` keyed by
``ImportPath``. A test is identified as ``<package>/<Test>`` (subtests keep
their ``Test/sub`` path). Its output lines are collected; a failing test's
output is its ``traceback`` and the output without the ``=== RUN``/``--- FAIL``
framing is its ``message``.

Edge cases:

- a test that started but got no verdict when its package failed (a panic or
  timeout killed the test binary) -> FAIL with the output so far (the panic);
- a package that failed with no failing test (build failure ``FAIL pkg
  [build failed]``, setup failure, TestMain exit) -> one synthetic ERROR
  result ``<package>/[package]`` carrying the package and build output;
- lines that are not JSON (``go vet`` or compiler text mixed into the stream)
  are skipped and counted in ``Run.warnings``; invalid UTF-8 becomes U+FFFD; a line that starts like JSON
  but does not parse raises IngestError with its line number.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatewatch.domain.results import Outcome, ResultFormat, Run, TestResult
from gatewatch.errors import IngestError
from gatewatch.ingest.timestamps import parse_timestamp

MAX_OUTPUT_CHARS = 256 << 10
"""Characters of output kept per test (the tail: the end holds the failure)."""
PACKAGE_TEST = "[package]"
_VERDICTS = {"pass": Outcome.PASS, "fail": Outcome.FAIL, "skip": Outcome.SKIP}
_PLAIN_BUILD_FAILURE = re.compile(r"^FAIL\s+(\S+)\s+\[(?:build|setup) failed\]")
_FRAMING = ("=== RUN", "=== PAUSE", "=== CONT", "=== NAME", "--- FAIL", "--- PASS", "--- SKIP")


@dataclass(slots=True)
class _Test:
    package: str
    name: str
    started_at: datetime | None = None
    output: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _State:
    source: str
    running: dict[tuple[str, str], _Test] = field(default_factory=dict)
    package_output: dict[str, list[str]] = field(default_factory=dict)
    results: list[TestResult] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    failed_tests: set[str] = field(default_factory=set)
    plain_failures: list[str] = field(default_factory=list)
    skipped_lines: int = 0


def _message(output: str) -> str:
    lines = [line.strip() for line in output.splitlines()]
    kept = [line for line in lines if line and not line.startswith(_FRAMING)]
    return "\n".join(kept)[:4096]


def _add(state: _State, test: _Test, outcome: Outcome, elapsed: Any) -> None:
    test_id = f"{test.package}/{test.name}"
    attempt = state.attempts.get(test_id, 0) + 1
    state.attempts[test_id] = attempt
    output = "".join(test.output)[-MAX_OUTPUT_CHARS:]
    failing = outcome.is_failure
    if failing:
        state.failed_tests.add(test.package)
    state.results.append(
        TestResult(
            test_id=test_id,
            suite=test.package,
            classname=test.package,
            name=test.name,
            outcome=outcome,
            attempt=attempt,
            duration_s=float(elapsed) if isinstance(elapsed, int | float) else None,
            started_at=test.started_at,
            message=_message(output) if failing or outcome is Outcome.SKIP else "",
            traceback=output if failing else "",
        )
    )


def _test_event(state: _State, event: dict[str, Any], when: datetime | None) -> None:
    package, name, action = str(event.get("Package", "")), str(event["Test"]), event.get("Action")
    key = (package, name)
    test = state.running.get(key)
    if test is None:
        test = state.running[key] = _Test(package, name, started_at=when)
    if action == "output":
        test.output.append(str(event.get("Output", "")))
    elif action in _VERDICTS:
        del state.running[key]
        _add(state, test, _VERDICTS[action], event.get("Elapsed"))


def _package_failed(state: _State, package: str, elapsed: Any) -> None:
    unfinished = [t for key, t in list(state.running.items()) if key[0] == package]
    for test in unfinished:
        del state.running[(package, test.name)]
        _add(state, test, Outcome.FAIL, None)
    if package in state.failed_tests:
        return
    text = "".join(state.package_output.get(package, []))
    _add(state, _Test(package, PACKAGE_TEST, output=[text or f"FAIL {package}\n"]), Outcome.ERROR, elapsed)


def _event(state: _State, event: dict[str, Any]) -> None:
    action = event.get("Action")
    when = parse_timestamp(str(event["Time"])) if event.get("Time") else None
    if event.get("Test"):
        _test_event(state, event, when)
        return
    package = str(event.get("Package") or event.get("ImportPath") or "")
    if action in ("output", "build-output"):
        state.package_output.setdefault(package, []).append(str(event.get("Output", "")))
    elif action == "fail":
        _package_failed(state, package, event.get("Elapsed"))


def _decode(line: bytes, number: int, source: str) -> dict[str, Any] | None:
    stripped = line.strip()
    if not stripped.startswith(b"{"):
        return None
    try:
        event = json.loads(stripped.decode("utf-8", "replace"))  # a stray bad byte is not fatal
    except json.JSONDecodeError as exc:
        column = exc.colno
        raise IngestError(
            f"invalid go test JSON event: {exc}", path=source, line=number, column=column
        ) from None
    if not isinstance(event, dict) or "Action" not in event:
        raise IngestError("go test JSON line is not an event (no 'Action')", path=source, line=number)
    return event


def _plain_line(state: _State, line: bytes) -> None:
    """A non-JSON line: counted, and a ``FAIL pkg [build failed]`` line fails its package."""
    if not line.strip():
        return
    state.skipped_lines += 1
    match = _PLAIN_BUILD_FAILURE.match(line.decode("utf-8", "replace"))
    if match is not None:
        package = match.group(1)
        state.package_output.setdefault(package, []).append(line.decode("utf-8", "replace") + "\n")
        state.plain_failures.append(package)


def parse_gotest(data: bytes, *, source: str) -> Run:
    """A :class:`Run` from ``go test -json`` output; raises IngestError with a line number."""
    state = _State(source=source)
    events = 0
    for number, line in enumerate(data.splitlines(), start=1):
        event = _decode(line, number, source)
        if event is None:
            _plain_line(state, line)
            continue
        events += 1
        _event(state, event)
    for package in state.plain_failures:  # build failures printed as text, with no JSON verdict
        if f"{package}/{PACKAGE_TEST}" not in state.attempts:
            _package_failed(state, package, None)
    if not events and not state.plain_failures:
        raise IngestError("no go test JSON events found", path=source, line=1)
    for test in list(state.running.values()):  # stream cut off: no verdict and no package verdict
        _add(state, test, Outcome.ERROR, None)
    warnings = (f"{state.skipped_lines} non-JSON line(s) skipped",) if state.skipped_lines else ()
    starts = [r.started_at for r in state.results if r.started_at is not None]
    return Run(
        format=ResultFormat.GOTEST,
        source=source,
        content_hash=hashlib.sha256(data).hexdigest(),
        results=tuple(state.results),
        started_at=min(starts) if starts else None,
        warnings=warnings,
    )
