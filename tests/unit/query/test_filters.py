"""Build-level prefilters for the store."""

from __future__ import annotations

import pytest

from gatewatch.domain.triage import BuildFacts
from gatewatch.query.filters import BuildFilter, FieldConstraint, build_filter


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('message:"x"', ()),
        (
            'message:"x" AND (build_queue:gate OR build_queue:"check") AND build_name:tempest-*',
            (
                FieldConstraint(field="build_queue", values=("gate", "check")),
                FieldConstraint(field="build_name", globs=("tempest-*",)),
            ),
        ),
        ('build_status:"FAILURE"', (FieldConstraint(field="build_status", values=("FAILURE",)),)),
        ("message:x AND (build_name:a OR project:b)", ()),
        ("message:x OR build_name:a", ()),
        ("message:x AND NOT build_name:a", ()),
        ("message:x AND (tags:console OR tags:y)", ()),
    ],
)
def test_build_filter_keeps_top_level_build_constraints(
    query: str, expected: tuple[FieldConstraint, ...]
) -> None:
    assert build_filter(query) == BuildFilter(constraints=expected)


def test_filter_admits_only_possible_builds() -> None:
    found = build_filter('message:"x" AND build_name:tempest-* AND voting:1')
    assert found.admits(BuildFacts(build_name="tempest-full", voting="1"))
    assert not found.admits(BuildFacts(build_name="tempest-full", voting="0"))
    assert not found.admits(BuildFacts(build_name="nova", voting="1"))
