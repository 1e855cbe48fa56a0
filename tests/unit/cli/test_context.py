"""--json output is strict JSON: NaN and infinities (a mean of nothing, rechecks of a job
that never passes) become null, nested anywhere; other values pass through."""

from __future__ import annotations

import json
import math
from datetime import date

import click
import pytest
from click.testing import CliRunner

from gatewatch.cli.context import echo_json


@click.command()
@click.argument("case")
def _emit(case: str) -> None:
    echo_json(CASES[case][0])


CASES = {
    "flat": ({"a": math.nan, "b": 1.5, "c": math.inf}, {"a": None, "b": 1.5, "c": None}),
    "nested": ({"rows": [{"x": -math.inf}, (1, math.nan)]}, {"rows": [{"x": None}, [1, None]]}),
    "other": ({"day": date(2026, 11, 22), "n": 3, "s": "NaN"}, {"day": "2026-11-22", "n": 3, "s": "NaN"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_output_is_strict(case: str) -> None:
    result = CliRunner().invoke(_emit, [case])
    assert result.exit_code == 0, result.output
    strict = json.loads(result.output, parse_constant=lambda name: pytest.fail(f"non-strict {name}"))
    assert strict == CASES[case][1]
