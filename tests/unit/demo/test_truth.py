"""truth.json: render and parse round-trip; a bad file is an actionable error."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.demo.collect import TruthCollector
from gatewatch.demo.plan import DemoOptions
from gatewatch.demo.results import select_tests
from gatewatch.demo.truth import load_truth, parse_truth, render_truth
from gatewatch.demo.world import World
from gatewatch.errors import GatewatchError


def test_truth_round_trips_through_json() -> None:
    opts = DemoOptions(seed=3, small=True)
    world = World(opts)
    collector = TruthCollector(opts=opts)
    for day in world.plan_days():
        for plan in day.builds:
            collector.add(plan, len(select_tests(plan)))
    truth = collector.compute_truth(world)
    assert parse_truth(render_truth(truth)) == truth
    assert truth.builds > 0
    assert truth.regression.change > 0


@pytest.mark.parametrize("text", ["", "[]", '{"seed": 1}', "not json"])
def test_malformed_truth_is_reported_with_its_source(tmp_path: Path, text: str) -> None:
    path = tmp_path / "truth.json"
    path.write_text(text)
    with pytest.raises(GatewatchError, match=r"truth\.json"):
        load_truth(path)


def test_missing_truth_says_to_run_the_demo(tmp_path: Path) -> None:
    with pytest.raises(GatewatchError, match="gatewatch demo"):
        load_truth(tmp_path / "absent.json")
