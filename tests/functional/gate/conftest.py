"""Fixtures for the gate's functional tests: a real upstream repository and a gate workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewatch.gate.git import GitWorkspace
from support.gitrepo import Upstream


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return Upstream(tmp_path, {"README": "widgets\n", "shared.txt": "one\ntwo\nthree\n"})


@pytest.fixture
def workspace(tmp_path: Path, upstream: Upstream) -> Iterator[GitWorkspace]:
    with GitWorkspace(tmp_path / "gate", str(upstream.bare)) as ws:
        yield ws
