"""The known-bug fingerprints of the demo: the real elastic-recheck query files its race bugs match.

Unmodified copies of ``queries/<bug>.yaml`` from elastic-recheck (Apache-2.0); see NOTICE.md.
``gatewatch demo`` triages with these plus the built-in infra fingerprints.
"""
