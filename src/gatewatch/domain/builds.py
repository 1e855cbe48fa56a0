"""CI builds, in Zuul's vocabulary: a build is one job run for one buildset."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class BuildResult(enum.StrEnum):
    """A build's final result, as Zuul reports it."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    TIMED_OUT = "TIMED_OUT"
    NODE_FAILURE = "NODE_FAILURE"
    RETRY_LIMIT = "RETRY_LIMIT"
    POST_FAILURE = "POST_FAILURE"
    SKIPPED = "SKIPPED"
    ABORTED = "ABORTED"
    CANCELED = "CANCELED"
    MERGE_CONFLICT = "MERGE_CONFLICT"
    ERROR = "ERROR"
    RETRY = "RETRY"

    @property
    def is_failure(self) -> bool:
        """True for results a triager must explain (not success, skip or cancel)."""
        return self not in (
            BuildResult.SUCCESS,
            BuildResult.SKIPPED,
            BuildResult.ABORTED,
            BuildResult.CANCELED,
            BuildResult.RETRY,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Build:
    """One job run, in the shape of Zuul's builds API.

    ``uuid`` is the identity: re-ingesting a build with the same uuid replaces
    it. ``change``/``patchset`` are None for periodic or post builds;
    ``commit_sha`` is the commit (or speculative merge) that was tested.
    """

    uuid: str
    project: str
    job_name: str
    result: BuildResult
    voting: bool = True
    pipeline: str = ""
    branch: str = ""
    change: int | None = None
    patchset: int | None = None
    ref: str = ""
    commit_sha: str = ""
    buildset_uuid: str = ""
    event_id: str = ""
    node_label: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    attempt: int = 1
    log_url: str = ""
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def duration_s(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()
