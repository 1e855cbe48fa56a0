"""Archive helpers: member name normalisation and archive recognition by name."""

from __future__ import annotations

import pytest

from gatewatch.ingest.sources.archives import is_archive_name, normalise_name


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("logs/job-output.txt", "logs/job-output.txt"),
        ("./logs//x.txt", "logs/x.txt"),
        ("../../etc/passwd", "etc/passwd"),
        ("/abs/path.xml", "abs/path.xml"),
        ("a/b/../../../c", "c"),
        ("win\\style\\name.xml", "win/style/name.xml"),
    ],
)
def test_normalise_name(name: str, normal: str) -> None:
    assert normalise_name(name) == normal


@pytest.mark.parametrize(
    ("name", "archive"),
    [
        ("logs.tar", True),
        ("logs.TAR.GZ", True),
        ("logs.tgz", True),
        ("logs.tar.zst", True),
        ("logs.zip", True),
        ("job-output.txt.gz", False),
        ("results.xml", False),
    ],
)
def test_is_archive_name(name: str, archive: bool) -> None:
    assert is_archive_name(name) is archive
