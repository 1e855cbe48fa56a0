"""Triage (pure): fingerprints, the multi-pattern matcher, verdicts, statistics and comments.

Public API::

    parse_fingerprint(text, *, path) -> Fingerprint                      (fingerprints.py)
    compile_fingerprints(fps, *, backend="auto") -> CompiledMatcher      (matcher.py)
    CompiledMatcher.scan_log(chunks, *, file_name, build, file_tags=()) -> list[Match]
    CompiledMatcher.scan_build(build_facts) -> list[Match]
    classify_build(build, matches, fingerprints) -> Verdict              (verdicts.py)
    compute_triage_stats(*, builds, verdicts, fingerprints, now, days=10) -> TriageStats  (stats.py)
    rank_by_impact(stats) -> list[FingerprintStats]
    render_change_comment(verdicts, stats) -> str                        (comment.py)

Loading from disk is in ``gatewatch.ingest.sources.fingerprints``.
"""
