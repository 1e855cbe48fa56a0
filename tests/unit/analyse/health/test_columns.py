from __future__ import annotations

import math

import pytest

from gatewatch.analyse.health.columns import (
    FAIL,
    PASS,
    SKIP,
    apply_renames,
    compute_code_key,
    compute_columns,
    compute_resolved_renames,
    select_observations,
)
from gatewatch.analyse.health.per_test import compute_test_health
from gatewatch.domain.health import BuildVerdict
from gatewatch.errors import HealthError
from support.health_sim import at_hour
from support.health_sim import observation as obs


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ({"change": 5, "patchset": 2, "commit_sha": "abc"}, "c:5,2"),
        ({"change": None, "patchset": None, "commit_sha": "abc"}, "sha:abc"),
        ({"change": 5, "patchset": None, "commit_sha": ""}, "run:run-0"),
        ({"change": None, "patchset": None, "commit_sha": ""}, "run:run-0"),
    ],
)
def test_code_key_prefers_change_and_patchset_then_commit(fields: dict[str, object], key: str) -> None:
    assert compute_code_key(obs("t", 0, "pass", **fields)) == key


def test_columns_encode_outcomes_verdicts_and_missing_values() -> None:
    cols = compute_columns(
        [
            obs("a", 0, "pass", duration_s=1.5),
            obs("b", 0, "xfail"),
            obs("a", 1, "error", build_verdict=BuildVerdict.INFRA),
            obs("a", 2, "xpass", build_verdict=BuildVerdict.KNOWN, started_at=None),
            obs("b", 2, "skip"),
        ]
    )
    assert cols.test_ids == ("a", "b")
    assert cols.outcome.tolist() == [PASS, PASS, FAIL, FAIL, SKIP]
    assert cols.infra.tolist() == [False, False, True, False, False]
    assert cols.known.tolist() == [False, False, False, True, False]
    assert math.isnan(cols.time_s[3])
    assert cols.duration_s[0] == 1.5
    assert math.isnan(cols.duration_s[1])


@pytest.mark.parametrize(
    ("renames", "resolved"),
    [
        ({"a": "b"}, {"a": "b"}),
        ({"a": "b", "b": "c"}, {"a": "c", "b": "c"}),
        ({"a": "a"}, {}),
        ({}, {}),
    ],
)
def test_renames_follow_chains(renames: dict[str, str], resolved: dict[str, str]) -> None:
    assert compute_resolved_renames(renames) == resolved


def test_a_rename_cycle_is_an_actionable_error() -> None:
    with pytest.raises(HealthError, match="cycle: a -> b -> a"):
        compute_resolved_renames({"a": "b", "b": "a"})


def test_renamed_test_history_merges_under_the_new_id() -> None:
    history = [obs("old_name", r, "pass") for r in range(3)] + [
        obs("new_name", r, "pass") for r in range(3, 5)
    ]
    merged = compute_test_health(apply_renames(history, {"old_name": "new_name"}))
    assert [(h.test_id, h.runs) for h in merged] == [("new_name", 5)]


def test_selection_by_branch_pipeline_job_and_window() -> None:
    history = [
        obs("t", 0, "pass", branch="main", pipeline="gate", job_name="unit"),
        obs("t", 1, "pass", branch="stable", pipeline="gate", job_name="unit"),
        obs("t", 2, "pass", branch="main", pipeline="check", job_name="unit"),
        obs("t", 3, "pass", branch="main", pipeline="gate", job_name="func"),
        obs("t", 4, "pass", branch="main", pipeline="gate", job_name="unit", started_at=None),
        obs("t", 5, "pass", branch="main", pipeline="gate", job_name="unit"),
    ]
    keys = lambda obs: [o.run_key for o in obs]  # noqa: E731
    assert keys(select_observations(history, branch="main", pipeline="gate", job_name="unit")) == [
        "run-0",
        "run-4",
        "run-5",
    ]
    # a window leaves out what cannot be placed in it
    assert keys(select_observations(history, since=at_hour(1), until=at_hour(5))) == [
        "run-1",
        "run-2",
        "run-3",
    ]
