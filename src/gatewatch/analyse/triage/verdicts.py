"""Classify a build: infrastructure failure, known bug(s), or unknown, with evidence.

Rules, in order: a build that did not fail gets ``NOT_FAILED``; any infra
fingerprint match makes it ``INFRA`` (the change is not at fault, whatever else
matched); otherwise counted known-bug matches make it ``KNOWN_BUG``; otherwise
``UNKNOWN``. A known bug counts on a voting build, or on a non-voting one when
its fingerprint has ``allow-nonvoting`` (elastic-recheck's rule); other matches
are kept as ``uncounted_bug_ids`` so the reader still sees them.

Build-level fingerprints (result rules like ``build_status:"NODE_FAILURE"``)
are evaluated here too, so callers only pass the line matches from scanning.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from gatewatch.domain.builds import Build
from gatewatch.domain.triage import BuildFacts, Fingerprint, Match, Verdict, VerdictKind
from gatewatch.query.compile import CompiledQuery, compile_query, evaluate

EVIDENCE_PER_FINGERPRINT = 3


@lru_cache(maxsize=4096)
def _compiled(query: str) -> CompiledQuery:
    return compile_query(query)


def match_build_rules(build: Build, fingerprints: Sequence[Fingerprint]) -> list[Match]:
    """Matches of the fingerprints that test only build fields (no log needed)."""
    facts = BuildFacts.from_build(build)
    found: list[Match] = []
    for fp in fingerprints:
        query = _compiled(fp.query)
        if query.level != "build":
            continue
        if evaluate(query.formula, atom=lambda _: False, test=lambda t: t.accepts_build(facts)):
            found.append(Match(bug_id=fp.bug_id, build_uuid=build.uuid))
    return found


def classify_build(build: Build, matches: Sequence[Match], fingerprints: Sequence[Fingerprint]) -> Verdict:
    """The verdict for ``build`` given the matches found in its logs."""
    if not build.result.is_failure:
        return Verdict(build_uuid=build.uuid, job_name=build.job_name, kind=VerdictKind.NOT_FAILED)
    by_id = {fp.bug_id: fp for fp in fingerprints}
    found = [m for m in matches if m.bug_id in by_id and m.build_uuid in ("", build.uuid)]
    found += [m for m in match_build_rules(build, fingerprints) if m not in found]
    matched_ids = list(dict.fromkeys(m.bug_id for m in found))
    infra = tuple(i for i in matched_ids if by_id[i].infra)
    counted = tuple(
        i for i in matched_ids if not by_id[i].infra and (build.voting or by_id[i].allow_nonvoting)
    )
    uncounted = tuple(i for i in matched_ids if i not in infra and i not in counted)
    if infra:
        kind = VerdictKind.INFRA
    elif counted:
        kind = VerdictKind.KNOWN_BUG
    else:
        kind = VerdictKind.UNKNOWN
    return Verdict(
        build_uuid=build.uuid,
        job_name=build.job_name,
        kind=kind,
        infra_ids=infra,
        bug_ids=counted,
        uncounted_bug_ids=uncounted,
        evidence=_evidence(found, matched_ids),
    )


def _evidence(found: list[Match], ids: list[str]) -> tuple[Match, ...]:
    kept: list[Match] = []
    for bug_id in ids:
        ordered = sorted((m for m in found if m.bug_id == bug_id), key=lambda m: (m.file_name, m.line_number))
        kept.extend(ordered[:EVIDENCE_PER_FINGERPRINT])
    return tuple(kept)
