from __future__ import annotations

import pytest

from gatewatch.errors import GateError
from gatewatch.gate.plan_json import state_from_json, state_to_json
from support.gate_harness import GateHarness


def test_a_busy_state_round_trips() -> None:
    gate = GateHarness()
    gate.enqueue("A", "B", "C")
    gate.release("B", fail=True)
    text = state_to_json(gate.state)
    assert state_from_json(text) == gate.state
    assert '"failing": true' in text


@pytest.mark.parametrize(
    "text",
    ["not json", '{"version": 99, "state": {}}', '{"version": 1, "state": {"queues": [{"name": 3}]}}'],
)
def test_malformed_state_raises_gate_error(text: str) -> None:
    with pytest.raises(GateError):
        state_from_json(text)
