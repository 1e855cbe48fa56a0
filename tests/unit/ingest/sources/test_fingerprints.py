"""Loading fingerprint directories and the built-in infra fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.analyse.triage.matcher import compile_fingerprints
from gatewatch.errors import FingerprintError
from gatewatch.ingest.sources.fingerprints import (
    check_fingerprints,
    load_builtin_fingerprints,
    load_fingerprints,
)

QUERIES = Path(__file__).resolve().parents[3] / "data" / "elastic-recheck-queries"
REPO_INFRA = Path(__file__).resolve().parents[4] / "fingerprints" / "infra"


def test_load_the_real_directory() -> None:
    fps = load_fingerprints(QUERIES)
    assert len(fps) == 91
    assert fps[0].bug_id == "1260311"


def test_builtin_infra_fingerprints_load_from_the_package_and_compile() -> None:
    fps = load_builtin_fingerprints()
    assert {"infra-node-failure", "infra-retry-limit", "infra-post-failure", "infra-disk-full"} <= {
        f.bug_id for f in fps
    }
    assert all(f.infra and f.builtin for f in fps)
    compile_fingerprints(fps)


def test_repo_infra_folder_is_the_packaged_one() -> None:
    assert sorted(p.name for p in REPO_INFRA.glob("*.yaml")) == sorted(
        f.source.removeprefix("builtin/") for f in load_builtin_fingerprints()
    )


def test_check_reports_every_bad_file(tmp_path: Path) -> None:
    (tmp_path / "1.yaml").write_text('query: message:"ok"\n', encoding="utf-8")
    (tmp_path / "2.yaml").write_text('query: message:"ok"\nbogus: 1\n', encoding="utf-8")
    (tmp_path / "3.yaml").write_bytes(b"\xff\xfe")
    fps, errors = check_fingerprints(tmp_path)
    assert [f.bug_id for f in fps] == ["1"]
    assert [(Path(e.path).name, e.line) for e in errors] == [("2.yaml", 2), ("3.yaml", None)]
    with pytest.raises(FingerprintError):
        load_fingerprints(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FingerprintError, match="not a directory"):
        load_fingerprints(tmp_path / "nope")
