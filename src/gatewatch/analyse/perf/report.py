"""Place change points on commits: the findings behind the regressions list.

A change point's likely range ``first_index..last_index`` means the level moved
after commit ``first_index - 1`` and by commit ``last_index``; the suspects are the
commits from ``first_index`` to ``last_index``.
"""

from __future__ import annotations

from datetime import datetime

from gatewatch.analyse.perf.detect import Analysis
from gatewatch.analyse.perf.series import PreparedSeries
from gatewatch.domain.perf import ChangeKind, PerfFinding
from gatewatch.errors import PerfError


def compute_findings(
    series: PreparedSeries, analysis: Analysis, *, now: datetime | None = None
) -> list[PerfFinding]:
    """One finding per change point, regressions first then improvements, each by index."""
    if len(series.values) != len(analysis.values):
        raise PerfError(
            f"series {series.key.render()} has {len(series.values)} points but the analysis "
            f"{len(analysis.values)}",
            hint="analyse the prepared series' values",
        )
    findings = [
        PerfFinding(
            key=series.key,
            kind=point.kind,
            index=point.index,
            last_good_commit=series.commits[point.first_index - 1] if point.first_index > 0 else "",
            first_bad_commit=series.commits[point.last_index],
            suspect_commits=tuple(series.commits[point.first_index : point.last_index + 1]),
            magnitude_pct=point.magnitude_pct,
            p_value=point.p_value,
            mean_before=point.mean_before,
            mean_after=point.mean_after,
            spread_before=point.spread_before,
            spread_after=point.spread_after,
            unit=series.unit,
            detected_at=now,
        )
        for point in analysis.change_points
    ]
    return sorted(findings, key=lambda f: (f.kind is not ChangeKind.REGRESSION, f.index))
