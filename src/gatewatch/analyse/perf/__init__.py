"""Performance analysis: change points, outlier runs and noise verdicts on benchmark series.

Pure and deterministic. Typical use (services do the I/O around it)::

    series = compute_series(samples)                 # validate, sort, aggregate per commit
    options = DetectorOptions(direction=series.direction)
    analysis = compute_change_points(series.values, options=options, seed=0)
    analysis = update_analysis(analysis, new_values)  # later: only the tail is reanalysed
    verdict = compute_noise_verdict(analysis, runs_per_commit=series.runs_per_commit)
    findings = compute_findings(series, analysis, now=now)
"""

from gatewatch.analyse.perf.detect import Analysis, DetectorOptions, compute_change_points, update_analysis
from gatewatch.analyse.perf.noise import compute_noise_verdict
from gatewatch.analyse.perf.report import compute_findings
from gatewatch.analyse.perf.series import DroppedValue, PreparedSeries, compute_series

__all__ = [
    "Analysis",
    "DetectorOptions",
    "DroppedValue",
    "PreparedSeries",
    "compute_change_points",
    "compute_findings",
    "compute_noise_verdict",
    "compute_series",
    "update_analysis",
]
