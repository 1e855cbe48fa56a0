"""Test and job health (pure): pass rates, failure probabilities with Wilson intervals,
flip rates, flaky verdicts with evidence, duration steps, rollups and quarantine export.

Modules: ``columns`` (records -> numpy columns, renames, selection), ``runs`` (attempts ->
runs, flips), ``per_test`` (per-test health over raw history), ``evidence`` (the runs behind
a flaky verdict), ``rollups`` (daily pre-aggregates and health from them), ``jobs`` (job
health), ``durations`` (duration step detector), ``stats`` (Wilson, histograms),
``quarantine`` (JSON and exclude lists). Formulas: docs/health.md.
"""

from gatewatch.analyse.health.columns import (
    ObservationColumns,
    apply_renames,
    compute_columns,
    select_observations,
)
from gatewatch.analyse.health.durations import DurationStepOptions, detect_duration_step
from gatewatch.analyse.health.jobs import (
    JobHealthOptions,
    classify_job_status,
    compute_attention_order,
    compute_daily_job_rollups,
    compute_job_health,
    compute_job_rates_from_rollups,
    merge_job_rollups,
    render_job_verdict,
)
from gatewatch.analyse.health.per_test import (
    HealthOptions,
    compute_flaky_tests,
    compute_test_health,
    compute_test_health_by_job,
)
from gatewatch.analyse.health.quarantine import render_exclude_list, render_quarantine_json
from gatewatch.analyse.health.rollup_health import (
    RollupHealthOptions,
    compute_test_health_by_job_from_rollups,
    compute_test_health_from_rollups,
)
from gatewatch.analyse.health.rollups import (
    compute_affected_rollup_keys,
    compute_daily_test_rollups,
    merge_rollup_pair,
    merge_rollups,
)
from gatewatch.analyse.health.stats import compute_flakiness_score, wilson_interval

__all__ = [
    "DurationStepOptions",
    "HealthOptions",
    "JobHealthOptions",
    "ObservationColumns",
    "RollupHealthOptions",
    "apply_renames",
    "classify_job_status",
    "compute_affected_rollup_keys",
    "compute_attention_order",
    "compute_columns",
    "compute_daily_job_rollups",
    "compute_daily_test_rollups",
    "compute_flakiness_score",
    "compute_flaky_tests",
    "compute_job_health",
    "compute_job_rates_from_rollups",
    "compute_test_health",
    "compute_test_health_by_job",
    "compute_test_health_by_job_from_rollups",
    "compute_test_health_from_rollups",
    "detect_duration_step",
    "merge_job_rollups",
    "merge_rollup_pair",
    "merge_rollups",
    "render_exclude_list",
    "render_job_verdict",
    "render_quarantine_json",
    "select_observations",
    "wilson_interval",
]
