"""parse_build_record: Zuul's flat and nested build shapes, required fields, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gatewatch.domain.builds import BuildResult
from gatewatch.errors import IngestError
from gatewatch.ingest.builds import parse_build_record

FLAT: dict[str, Any] = {
    "uuid": "5bae5f3f8d4c4e1b9f1e0b7c1d2e3f40",
    "job_name": "tempest-full-py3",
    "result": "FAILURE",
    "held": False,
    "start_time": "2024-03-01T10:00:00",
    "end_time": "2024-03-01T11:30:15",
    "duration": 5415.0,
    "voting": True,
    "log_url": "https://logs.example.org/42/123/1/check/tempest-full-py3/5bae5f3/",
    "node_name": None,
    "error_detail": None,
    "final": True,
    "artifacts": [],
    "provides": [],
    "project": "openstack/nova",
    "branch": "master",
    "pipeline": "check",
    "change": 912345,
    "patchset": "3",
    "ref": "refs/changes/45/912345/3",
    "newrev": None,
    "ref_url": "https://review.opendev.org/912345",
    "event_id": "e1b2c3",
    "buildset": {"uuid": "bs-1"},
}

NESTED: dict[str, Any] = {
    "uuid": "aa11",
    "job_name": "openstack-tox-py311",
    "result": "SUCCESS",
    "voting": False,
    "start_time": "2025-01-02T03:04:05+00:00",
    "end_time": "2025-01-02T03:14:05Z",
    "log_url": "https://logs.example.org/aa11/",
    "nodeset": "ubuntu-jammy",
    "pipeline": "gate",
    "event_id": "ev-9",
    "ref": {
        "project": "openstack/neutron",
        "branch": "stable/2024.2",
        "change": "900001",
        "patchset": 7,
        "ref": "refs/changes/01/900001/7",
        "oldrev": None,
        "newrev": "0123456789abcdef0123456789abcdef01234567",
        "ref_url": "https://review.opendev.org/900001",
    },
    "buildset": {"uuid": "bs-2"},
}


def _parse(record: Any) -> Any:
    return parse_build_record(json.dumps(record).encode(), source="build.json")


def test_flat_shape() -> None:
    build = _parse(FLAT)
    assert (build.uuid, build.project, build.job_name, build.result) == (
        FLAT["uuid"],
        "openstack/nova",
        "tempest-full-py3",
        BuildResult.FAILURE,
    )
    assert (build.change, build.patchset, build.pipeline, build.branch) == (912345, 3, "check", "master")
    assert (build.buildset_uuid, build.event_id, build.ref) == ("bs-1", "e1b2c3", "refs/changes/45/912345/3")
    assert build.start_time == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    assert build.duration_s == 5415.0
    assert build.voting is True
    assert ("ref_url", "https://review.opendev.org/912345") in build.properties


def test_nested_ref_shape() -> None:
    build = _parse(NESTED)
    assert (build.project, build.branch, build.change, build.patchset) == (
        "openstack/neutron",
        "stable/2024.2",
        900001,
        7,
    )
    assert build.commit_sha == "0123456789abcdef0123456789abcdef01234567"
    assert (build.voting, build.node_label, build.pipeline) == (False, "ubuntu-jammy", "gate")
    assert build.duration_s == 600.0


def test_pipeline_and_event_may_live_on_the_buildset() -> None:
    record = {k: v for k, v in NESTED.items() if k not in ("pipeline", "event_id")}
    record["buildset"] = {"uuid": "bs-3", "pipeline": "periodic", "event_id": "ev-3"}
    build = _parse(record)
    assert (build.pipeline, build.event_id) == ("periodic", "ev-3")


def test_periodic_build_has_no_change_and_github_patchset_is_kept_as_property() -> None:
    build = _parse({**FLAT, "change": None, "patchset": None})
    assert (build.change, build.patchset) == (None, None)
    github = _parse({**FLAT, "change": 17, "patchset": "9f8e7d6c5b4a"})
    assert github.patchset is None
    assert ("patchset", "9f8e7d6c5b4a") in github.properties


def test_unknown_result_becomes_error_and_keeps_the_original() -> None:
    build = _parse({**FLAT, "result": "DISK_FULL"})
    assert build.result is BuildResult.ERROR
    assert ("zuul_result", "DISK_FULL") in build.properties


def test_one_element_list_is_accepted() -> None:
    assert _parse([FLAT]).uuid == FLAT["uuid"]


@pytest.mark.parametrize("field", ["uuid", "job_name", "result"])
def test_missing_required_field_is_named(field: str) -> None:
    record = {k: v for k, v in FLAT.items() if k != field}
    with pytest.raises(IngestError, match=f"'{field}'"):
        _parse(record)
    with pytest.raises(IngestError, match=f"'{field}'"):
        _parse({**FLAT, field: None})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"uuid": "a",', "not valid JSON"),
        (b"[1, 2]", "one JSON object"),
        (b"\xff\xfe\x00", "not"),
        (json.dumps({**FLAT, "start_time": "yesterday"}).encode(), "ISO 8601"),
        (json.dumps({**FLAT, "change": "abc"}).encode(), "not a number"),
    ],
    ids=["truncated", "list", "binary", "bad-time", "bad-change"],
)
def test_bad_records_raise(data: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message) as caught:
        parse_build_record(data, source="build.json")
    assert caught.value.path == "build.json"
