"""Fingerprint files: elastic-recheck's load unchanged; bad ones name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewatch.analyse.triage.fingerprints import bug_id_from_path, parse_fingerprint
from gatewatch.errors import FingerprintError

QUERIES = Path(__file__).resolve().parents[3] / "data" / "elastic-recheck-queries"


@pytest.mark.parametrize("path", sorted(QUERIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_elastic_recheck_file_loads_unchanged(path: Path) -> None:
    fp = parse_fingerprint(path.read_text(encoding="utf-8"), path=str(path))
    assert fp.bug_id == path.stem
    assert fp.query.strip()
    assert not fp.infra


def test_all_keys_are_read() -> None:
    text = """\
query: >
  message:"a b" AND tags:console
suppress-graph: true
suppress-notification: yes
allow-nonvoting: true
test_ids:
  - tempest.api.Test.test_x
resolved_at: 2019-01-01
title: Cannot ping
bug_url: https://bugs.launchpad.net/bugs/1
owner: qa
infra: false
"""
    fp = parse_fingerprint(text, path="dir/1.yaml")
    assert (fp.bug_id, fp.title, fp.owner, fp.source) == ("1", "Cannot ping", "qa", "dir/1.yaml")
    assert fp.suppress_graph
    assert fp.suppress_notification
    assert fp.allow_nonvoting
    assert not fp.infra
    assert fp.test_ids == ("tempest.api.Test.test_x",)
    assert fp.query == 'message:"a b" AND tags:console\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('query: message:"a"\nsupress-graph: true\n', 2, "unknown key 'supress-graph'"),
        ('query: message:"a"\ninfra: "yes please"\n', 2, "'infra' must be true or false"),
        ("query: 12\n", 1, "'query' must be a string"),
        ('query: message:"a"\ntest_ids: x\n', 2, "list of test ids"),
        ("title: x\n", 1, "missing 'query'"),
        ("- a\n- b\n", 1, "expected a mapping"),
        ('query: "unterminated\n', 2, "not valid YAML"),
        ('title: t\nquery: >\n  message:"open AND x\n', 2, "invalid query"),
    ],
)
def test_invalid_files_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(FingerprintError) as info:
        parse_fingerprint(text, path="fp/7.yaml")
    assert info.value.line == line
    assert info.value.path == "fp/7.yaml"
    assert words in str(info.value)
    assert str(info.value).startswith(f"fp/7.yaml:{line}:")


def test_bug_id_from_path() -> None:
    assert bug_id_from_path("a/b/1284371.yaml") == "1284371"
    assert bug_id_from_path("x.yml") == "x"
