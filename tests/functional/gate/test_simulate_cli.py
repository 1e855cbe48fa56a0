"""`gatewatch gate simulate`: each strategy's distance to the oracle is always measured."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gatewatch.cli.main import cli


def _simulate(*args: str) -> str:
    argv = ["gate", "simulate", "--preset", "github-typical", "--seeds", "2", *args]
    result = CliRunner().invoke(cli, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_oracle_runs_as_the_reference_even_when_not_chosen() -> None:
    rows = _simulate("--strategies", "zuul").splitlines()[3:]
    assert [row.split()[0] for row in rows] == ["zuul", "oracle"]
    shares = [row.split()[2] for row in rows]
    assert all(share.endswith("%") for share in shares), shares
    assert shares[1] == "100%"


def test_json_gives_each_strategy_its_share_of_the_oracle() -> None:
    document = json.loads(_simulate("--strategies", "serial,zuul", "--json"))
    by_name = {s["strategy"]: s for s in document["strategies"]}
    assert list(by_name) == ["serial", "zuul", "oracle"]
    oracle = by_name["oracle"]["merged_per_h"][0]
    for name in ("serial", "zuul"):
        assert by_name[name]["vs_oracle"] == pytest.approx(by_name[name]["merged_per_h"][0] / oracle)
    assert by_name["oracle"]["vs_oracle"] == 1.0


def test_unknown_strategy_is_refused_before_any_work() -> None:
    result = CliRunner().invoke(cli, ["gate", "simulate", "--strategies", "zuul,nope", "--seeds", "1"])
    assert result.exit_code != 0
    assert "nope" in result.output
    assert "Traceback" not in result.output
