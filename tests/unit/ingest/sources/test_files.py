"""iter_units: build directories, loose files, archives, stdin, and what cannot be read."""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from gatewatch.ingest.sources import BuildUnit, FileUnit, Limits, SourceProblem, iter_units, read_member

RECORD = json.dumps({"uuid": "u1", "job_name": "tempest", "result": "FAILURE"}).encode()
JUNIT = b'<testsuite><testcase name="t"/></testsuite>'


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


BUILD_FILES = {
    "builds/b1/build.json": RECORD,
    "builds/b1/job-output.txt": b"log line\n",
    "builds/b1/logs/controller/screen-n-cpu.txt.gz": gzip.compress(b"cpu\n"),
    "builds/b1/logs/testr_results.subunit": b"\xb3",
    "builds/b1/nested/build.json": RECORD,  # inside a build: just a member
    "builds/b2/build.json": RECORD,
    "loose/junit.xml": JUNIT,
}


def _summary(items: list[object]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for item in items:
        if isinstance(item, BuildUnit):
            out.append(("build", item.root.rsplit("/", 1)[-1], *sorted(m.name for m in item.members)))
        elif isinstance(item, FileUnit):
            out.append(("file", item.member.name.rsplit("/", 1)[-1]))
        else:
            assert isinstance(item, SourceProblem)
            out.append(("problem", os.path.basename(item.path), item.reason))
    return out


EXPECTED = [
    (
        "build",
        "b1",
        "job-output.txt",
        "logs/controller/screen-n-cpu.txt.gz",
        "logs/testr_results.subunit",
        "nested/build.json",
    ),
    ("build", "b2"),
    ("file", "junit.xml"),
]


def test_directory_walk(tmp_path: Path) -> None:
    root = _tree(tmp_path / "in", BUILD_FILES)
    items = list(iter_units([str(root)], limits=Limits()))
    assert _summary(items) == EXPECTED
    build = items[0]
    assert isinstance(build, BuildUnit)
    assert read_member(build.record, limits=Limits()) == RECORD
    cpu = next(m for m in build.members if m.name.endswith("screen-n-cpu.txt.gz"))
    assert read_member(cpu, limits=Limits()) == b"cpu\n"


def test_a_build_directory_given_directly_is_one_unit(tmp_path: Path) -> None:
    root = _tree(tmp_path, BUILD_FILES)
    (unit,) = iter_units([str(root / "builds" / "b2")], limits=Limits())
    assert isinstance(unit, BuildUnit)
    assert unit.members == ()


def _tar(path: Path, files: dict[str, bytes], mode: str) -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _archive(tmp_path: Path, suffix: str, files: dict[str, bytes]) -> Path:
    path = tmp_path / f"in{suffix}"
    if suffix == ".zip":
        return _zip(path, files)
    if suffix == ".tar.zst":
        plain = _tar(tmp_path / "plain.tar", files, "w")
        path.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
        return path
    mode = {".tar": "w", ".tar.gz": "w:gz", ".tgz": "w:gz", ".tar.xz": "w:xz", ".tar.bz2": "w:bz2"}[suffix]
    return _tar(path, files, mode)


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".tar.bz2", ".zip"])
def test_archives_walk_like_directories(tmp_path: Path, suffix: str) -> None:
    path = _archive(tmp_path, suffix, BUILD_FILES)
    items = list(iter_units([str(path)], limits=Limits()))
    assert _summary(items) == EXPECTED
    build = items[0]
    assert isinstance(build, BuildUnit)
    assert build.root == f"{path}!builds/b1"
    cpu = next(m for m in build.members if m.name.endswith("screen-n-cpu.txt.gz"))
    assert read_member(cpu, limits=Limits()) == b"cpu\n"
    assert cpu.origin == f"{path}!builds/b1/logs/controller/screen-n-cpu.txt.gz"


def test_archive_inside_a_plain_directory_is_walked(tmp_path: Path) -> None:
    _archive(tmp_path, ".tar.gz", {"b/build.json": RECORD})
    (unit,) = iter_units([str(tmp_path)], limits=Limits())
    assert isinstance(unit, BuildUnit)


def test_archive_member_names_cannot_escape(tmp_path: Path) -> None:
    path = _archive(tmp_path, ".tar", {"../../etc/evil.xml": JUNIT, "/abs/x.xml": JUNIT})
    names = sorted(u.member.name for u in iter_units([str(path)], limits=Limits()) if isinstance(u, FileUnit))
    assert names == ["abs/x.xml", "etc/evil.xml"]


def test_zip_bomb_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"big.txt": bytes(32 << 20), "ok.xml": JUNIT})
    items = list(iter_units([str(path)], limits=Limits(max_file_bytes=1 << 20)))
    assert items == [
        SourceProblem(path=str(path), reason=f"decompressed size exceeds {1 << 20} bytes (member 'big.txt')")
    ]


def test_zip_bomb_ratio_is_caught(tmp_path: Path) -> None:
    path = _zip(tmp_path / "bomb.zip", {"big.txt": bytes(32 << 20)})
    (problem,) = iter_units([str(path)], limits=Limits(max_ratio=100, ratio_floor_bytes=1 << 20))
    assert isinstance(problem, SourceProblem)
    assert "ratio exceeds 100:1" in problem.reason


def test_tar_gz_bomb_is_caught_by_the_archive_total(tmp_path: Path) -> None:
    path = _archive(tmp_path, ".tar.gz", {f"f{i}.txt": bytes(4 << 20) for i in range(8)})
    (problem,) = iter_units([str(path)], limits=Limits(max_archive_bytes=16 << 20))
    assert isinstance(problem, SourceProblem)
    assert "exceeds" in problem.reason


def test_too_many_members(tmp_path: Path) -> None:
    path = _archive(tmp_path, ".tar", {f"f{i}.xml": JUNIT for i in range(5)})
    (problem,) = iter_units([str(path)], limits=Limits(max_members=3))
    assert isinstance(problem, SourceProblem)
    assert "more than 3 members" in problem.reason


@pytest.mark.parametrize(
    "data", [b"not an archive at all", b"PK\x03\x04broken zip"], ids=["garbage", "bad-zip"]
)
def test_corrupt_archive_is_a_problem(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / ("x.zip" if data.startswith(b"PK") else "x.tar.gz")
    path.write_bytes(data)
    (problem,) = iter_units([str(path)], limits=Limits())
    assert isinstance(problem, SourceProblem)
    assert problem.path == str(path)


def test_unreadable_entries_are_reported_and_the_walk_goes_on(tmp_path: Path) -> None:
    # We run as root, which ignores permission bits (chmod 000 would still read), so unreadable
    # entries are made the ways root also cannot read: a dangling symlink and a FIFO (never opened).
    root = _tree(tmp_path / "in", {"a.xml": JUNIT, "z.xml": JUNIT, "sub/dir.xml": JUNIT})
    (root / "dangling.xml").symlink_to(root / "missing.xml")
    os.mkfifo(root / "pipe.xml")
    (root / "linkdir").symlink_to(root / "sub", target_is_directory=True)
    summary = _summary(list(iter_units([str(root)], limits=Limits())))
    assert summary == [
        ("file", "a.xml"),
        ("problem", "dangling.xml", "dangling symlink (its target does not exist)"),
        ("problem", "linkdir", "symlink to a directory, not followed"),
        ("problem", "pipe.xml", "not a regular file (FIFO), skipped"),
        ("file", "dir.xml"),
        ("file", "z.xml"),
    ]


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    (problem,) = iter_units([str(tmp_path / "nope")], limits=Limits())
    assert isinstance(problem, SourceProblem)
    assert "No such file" in problem.reason


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_stdin_file(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, gzip.compress(JUNIT))
    (unit,) = iter_units(["-"], limits=Limits())
    assert isinstance(unit, FileUnit)
    assert read_member(unit.member, limits=Limits()) == JUNIT


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".zip"])
def test_stdin_archive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, suffix: str) -> None:
    _stdin(monkeypatch, _archive(tmp_path, suffix, BUILD_FILES).read_bytes())
    assert _summary(list(iter_units(["-"], limits=Limits()))) == EXPECTED


def test_stdin_past_the_limit_is_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, b"x" * 100)
    (problem,) = iter_units(["-"], limits=Limits(max_archive_bytes=10))
    assert problem == SourceProblem(path="<stdin>", reason="input exceeds 10 bytes")
