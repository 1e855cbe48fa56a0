"""Triage records: known-failure fingerprints, their matches, and verdicts for failed builds.

A fingerprint is elastic-recheck's "query" plus our metadata (title, owner,
``infra``). A match is one piece of evidence (a log line, or the build itself
for result-based rules). A verdict says why one failed build failed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from gatewatch.domain.builds import Build


@dataclass(frozen=True, slots=True, kw_only=True)
class Fingerprint:
    """One known failure: a query in the Lucene subset of docs/query-language.md.

    ``bug_id`` is the file stem (``1284371`` for ``1284371.yaml``); ``infra``
    marks infrastructure failures (not the change's fault). ``allow_nonvoting``
    makes hits on non-voting builds count (elastic-recheck's rule: by default
    only voting builds count). ``source`` names the file it was read from.
    """

    bug_id: str
    query: str
    title: str = ""
    bug_url: str = ""
    owner: str = ""
    infra: bool = False
    suppress_graph: bool = False
    suppress_notification: bool = False
    allow_nonvoting: bool = False
    test_ids: tuple[str, ...] = ()
    source: str = ""
    builtin: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildFacts:
    """The build-level fields a query can test, as strings (elastic-recheck's names).

    ``voting`` is ``"1"`` or ``"0"``; absent values are ``""`` (and match nothing).
    """

    build_uuid: str = ""
    build_name: str = ""
    build_status: str = ""
    build_queue: str = ""
    project: str = ""
    build_branch: str = ""
    build_change: str = ""
    build_patchset: str = ""
    build_ref: str = ""
    build_node: str = ""
    node_provider: str = ""
    voting: str = "1"
    log_url: str = ""

    @classmethod
    def from_build(cls, build: Build) -> BuildFacts:
        props = dict(build.properties)
        return cls(
            build_uuid=build.uuid,
            build_name=build.job_name,
            build_status=str(build.result),
            build_queue=build.pipeline,
            project=build.project,
            build_branch=build.branch,
            build_change="" if build.change is None else str(build.change),
            build_patchset="" if build.patchset is None else str(build.patchset),
            build_ref=build.ref,
            build_node=build.node_label,
            node_provider=props.get("node_provider", ""),
            voting="1" if build.voting else "0",
            log_url=build.log_url,
        )

    def value(self, field: str) -> str | None:
        """The value of a build-level field, or None if ``field`` is not one."""
        if field == "build_short_uuid":
            return self.build_uuid[:7]
        if field in BUILD_FIELDS:
            text: str = getattr(self, field)
            return text
        return None


BUILD_FIELDS: frozenset[str] = frozenset(
    {
        "build_uuid",
        "build_short_uuid",
        "build_name",
        "build_status",
        "build_queue",
        "project",
        "build_branch",
        "build_change",
        "build_patchset",
        "build_ref",
        "build_node",
        "node_provider",
        "voting",
        "log_url",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Match:
    """One piece of evidence that a fingerprint matched a build.

    ``line_number`` is 1-based; 0 with ``file_name == ""`` means the build
    itself matched (a result-based rule such as ``build_status:NODE_FAILURE``).
    ``text`` is the line, decoded, ANSI-stripped and cut to a bounded length.
    """

    bug_id: str
    build_uuid: str = ""
    file_name: str = ""
    line_number: int = 0
    text: str = ""


class VerdictKind(enum.StrEnum):
    """Why a build failed."""

    INFRA = "infra"
    KNOWN_BUG = "known-bug"
    UNKNOWN = "unknown"
    NOT_FAILED = "not-failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The classification of one build.

    ``infra_ids``: infra fingerprints that matched. ``bug_ids``: known bugs
    that matched and count (voting build, or the fingerprint allows
    non-voting). ``uncounted_bug_ids``: known bugs that matched a non-voting
    build without ``allow-nonvoting`` (shown, but not counted, as in
    elastic-recheck). ``evidence``: the matches behind the ids, bounded.
    """

    build_uuid: str
    kind: VerdictKind
    job_name: str = ""
    infra_ids: tuple[str, ...] = ()
    bug_ids: tuple[str, ...] = ()
    uncounted_bug_ids: tuple[str, ...] = ()
    evidence: tuple[Match, ...] = ()

    @property
    def is_classified(self) -> bool:
        """True when the failure is explained (infra or a counted known bug)."""
        return self.kind in (VerdictKind.INFRA, VerdictKind.KNOWN_BUG)
