"""Which tags and file names a log file answers to."""

from __future__ import annotations

import pytest

from gatewatch.analyse.triage.tags import derive_file_tags, file_name_candidates


@pytest.mark.parametrize(
    ("name", "extra", "tags"),
    [
        ("job-output.txt", (), ("job-output.txt", "console", "console.html")),
        ("console.html.gz", (), ("console.html", "console", "job-output.txt")),
        ("controller/logs/screen-n-cpu.txt.gz", (), ("screen-n-cpu.txt",)),
        ("syslog.txt", ("syslog",), ("syslog", "syslog.txt")),
        ("", (), ()),
    ],
)
def test_derive_file_tags(name: str, extra: tuple[str, ...], tags: tuple[str, ...]) -> None:
    assert derive_file_tags(name, extra) == tags


@pytest.mark.parametrize(
    ("name", "candidates"),
    [
        ("job-output.txt", ("job-output.txt",)),
        (
            "controller/logs/syslog.txt.gz",
            (
                "controller/logs/syslog.txt.gz",
                "syslog.txt.gz",
                "logs/syslog.txt.gz",
                "controller/logs/syslog.txt",
                "syslog.txt",
                "logs/syslog.txt",
            ),
        ),
        ("blogs/x.txt", ("blogs/x.txt", "x.txt")),
    ],
)
def test_file_name_candidates(name: str, candidates: tuple[str, ...]) -> None:
    assert file_name_candidates(name) == candidates
