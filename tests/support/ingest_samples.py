"""Paths to the real result samples copied into tests/data (see its NOTICE.md)."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "result-samples"


def sample_bytes(relative: str) -> bytes:
    """The bytes of one sample file, e.g. ``pytest/python-xunit-pytest.xml``."""
    return (SAMPLES / relative).read_bytes()
