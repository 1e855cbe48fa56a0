from __future__ import annotations

import numpy as np

from gatewatch.analyse.health.columns import compute_columns
from gatewatch.analyse.health.runs import compute_group_flips, compute_run_table
from gatewatch.domain.health import BuildVerdict
from support.health_sim import observation as obs


def test_attempts_of_a_test_in_one_run_make_one_run() -> None:
    cols = compute_columns(
        [obs("t", 0, "fail"), obs("u", 0, "pass"), obs("t", 0, "pass", attempt=2), obs("t", 1, "skip")]
    )
    runs = compute_run_table(cols)
    table = sorted(
        zip(runs.test.tolist(), runs.run.tolist(), runs.passes.tolist(), runs.failures.tolist(), strict=True)
    )
    assert table == [(0, 0, 1, 1), (0, 1, 0, 0), (1, 0, 1, 0)]
    assert runs.mixed.sum() == 1
    assert runs.counted.sum() == 2
    # every row knows its run
    assert (runs.test[runs.row_run] == cols.test).all()


def test_infra_rows_are_left_out_of_runs() -> None:
    cols = compute_columns([obs("t", 0, "fail", build_verdict=BuildVerdict.INFRA), obs("t", 1, "pass")])
    runs = compute_run_table(cols)
    assert runs.run.tolist() == [1]
    assert runs.row_run.tolist() == [-1, 0]


def test_flips_are_counted_within_groups_only() -> None:
    outcomes = ["pass", "fail", "pass", "pass"]
    cols = compute_columns([obs("a", r, o) for r, o in enumerate(outcomes)] + [obs("b", 9, "fail")])
    runs = compute_run_table(cols)
    flips, pairs = compute_group_flips(test=runs.test, group=runs.test, runs=runs, n_tests=2)
    assert flips.tolist() == [2, 0]
    assert pairs.tolist() == [3, 0]
    assert np.all(flips <= pairs)
