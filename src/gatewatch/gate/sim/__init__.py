"""gatewatch.gate.sim."""
