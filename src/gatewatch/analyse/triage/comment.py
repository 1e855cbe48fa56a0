"""The text of a comment on a change whose builds failed: what failed, why, and whether to recheck.

Pure: verdicts and statistics in, text out; the caller posts it. Examples:

    Build tempest-full (1a2b3c4) failed: known bug 1284371 (Cannot ping server), which hits 2.4% of
    tempest-full runs in the last 10 days (95% CI 1.1–5.0%). Recheck is safe.
    Build nova-tox-py3 (5d6e7f8) failed: unknown failure, see job-output.txt lines 812, 813.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gatewatch.analyse.triage.stats import FingerprintStats, TriageStats, race_for
from gatewatch.domain.triage import Match, Verdict, VerdictKind

MAX_LINES = 5


def _name(verdict: Verdict) -> str:
    short = verdict.build_uuid[:7]
    return f"{verdict.job_name} ({short})" if verdict.job_name else short


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _bug_text(bug_id: str, verdict: Verdict, stats: TriageStats | None) -> str:
    found: FingerprintStats | None = None
    if stats is not None:
        found = next((s for s in stats.fingerprints if s.bug_id == bug_id), None)
    text = f"known bug {bug_id}" + (f" ({found.title})" if found and found.title else "")
    if found is None or stats is None:
        return text
    rate = race_for(found, verdict.job_name)
    if rate is not None and rate.total:
        return (
            f"{text}, which hits {_pct(rate.fraction)} of {verdict.job_name} runs in the last "
            f"{stats.days} days (95% CI {_pct(rate.low)}–{_pct(rate.high)})"
        )
    return f"{text}, seen in {found.builds_hit} builds in the last {stats.days} days"


def _lines(evidence: Sequence[Match]) -> str:
    by_file: dict[str, list[int]] = {}
    for m in evidence:
        if m.file_name:
            by_file.setdefault(m.file_name, []).append(m.line_number)
    parts = [f"{name} lines {', '.join(map(str, sorted(set(n))[:MAX_LINES]))}" for name, n in by_file.items()]
    return "; ".join(parts)


def render_verdict_line(verdict: Verdict, stats: TriageStats | None = None, tests: str = "") -> str:
    """One sentence for one build; ``tests`` is what the failed tests' history says (health), used
    for an unknown failure instead of the plain "Please look before rechecking"."""
    name = _name(verdict)
    if verdict.kind is VerdictKind.NOT_FAILED:
        return f"Build {name} did not fail."
    if verdict.kind is VerdictKind.INFRA:
        what = ", ".join(verdict.infra_ids)
        where = _lines(verdict.evidence)
        return (
            f"Build {name} failed: infrastructure problem ({what})"
            + (f", see {where}" if where else "")
            + ". Not caused by this change; recheck is safe."
        )
    if verdict.kind is VerdictKind.KNOWN_BUG:
        bugs = "; ".join(_bug_text(b, verdict, stats) for b in verdict.bug_ids)
        return f"Build {name} failed: {bugs}. Recheck is safe."
    where = _lines(verdict.evidence)
    text = f"Build {name} failed: unknown failure" + (f", see {where}" if where else ", see its logs")
    if verdict.uncounted_bug_ids:
        ids = ", ".join(verdict.uncounted_bug_ids)
        text += f" (it matches known bug {ids}, which does not count non-voting jobs)"
    return text + (f"; {tests}." if tests else ". Please look before rechecking.")


def render_change_comment(
    verdicts: Sequence[Verdict], stats: TriageStats | None = None, tests: Mapping[str, str] | None = None
) -> str:
    """The whole comment: one line per failed build, most actionable (unknown) first; ``tests``
    maps a build uuid to what its failed tests' history says (see ``render_verdict_line``)."""
    order = {
        VerdictKind.UNKNOWN: 0,
        VerdictKind.KNOWN_BUG: 1,
        VerdictKind.INFRA: 2,
    }
    failed = [v for v in verdicts if v.kind in order]
    if not failed:
        return "All builds passed."
    ordered = sorted(failed, key=lambda v: (order[v.kind], v.job_name, v.build_uuid))
    notes = tests or {}
    return "\n".join(render_verdict_line(v, stats, notes.get(v.build_uuid, "")) for v in ordered)
