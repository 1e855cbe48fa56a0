"""Test results: one execution of a test suite (a run) and one attempt of one test."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Outcome(enum.StrEnum):
    """The outcome of one attempt of one test."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    XFAIL = "xfail"
    XPASS = "xpass"

    @property
    def is_failure(self) -> bool:
        """True for outcomes that mean the test did not do what it should."""
        return self in (Outcome.FAIL, Outcome.ERROR, Outcome.XPASS)


class ResultFormat(enum.StrEnum):
    """The producer format a run was parsed from."""

    JUNIT = "junit"
    SUBUNIT = "subunit"
    GOTEST = "gotest"


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResult:
    """One attempt of one test.

    Retries and reruns are separate records with increasing ``attempt``
    (1-based, in the order the producer reported them): nothing is merged away.
    ``test_id`` is the stable identity used for history (for JUnit
    ``classname.name``; for subunit the test id; for go ``package/Test/sub``).
    """

    __test__ = False  # not a pytest test class

    test_id: str
    suite: str = ""
    classname: str = ""
    name: str = ""
    outcome: Outcome
    attempt: int = 1
    duration_s: float | None = None
    started_at: datetime | None = None
    message: str = ""
    traceback: str = ""
    worker: str = ""
    properties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One execution of a test suite, as parsed from one result file or stream.

    ``content_hash`` is the sha256 of the bytes the run was parsed from; it makes
    re-ingesting the same input a no-op. ``source`` names the file (for errors
    and provenance).
    """

    format: ResultFormat
    source: str
    content_hash: str
    results: tuple[TestResult, ...]
    name: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None
    properties: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def failure_count(self) -> int:
        return sum(1 for r in self.results if r.outcome.is_failure)
