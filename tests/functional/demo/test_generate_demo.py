"""The small demo, written to disk: determinism, counts, and the planted truth against the files.

The elastic-recheck check evaluates every real query of ../shared/data/elastic-recheck-queries
line by line (one document per log line, as Logstash indexed them): a query may match only
the builds its bug was planted in, and must match each of them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import subunit
import testtools
import yaml
from luqum.parser import parser as lucene
from luqum.tree import AndOperation, FieldGroup, Group, Not, OrOperation, Phrase, Prohibit, SearchField, Word
from lxml import etree

from gatewatch.demo import DemoOptions, DemoTruth, generate_demo, load_truth

Small = tuple[Path, DemoTruth, list[Any]]
QUERIES = Path(__file__).resolve().parents[4] / "shared" / "data" / "elastic-recheck-queries"
if not QUERIES.is_dir():
    Small = tuple[Path, DemoTruth, list[Any]]
QUERIES = Path("/work/shared/data/elastic-recheck-queries")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoTruth, list[Any]]:
    out = tmp_path_factory.mktemp("demo")
    batches = list(generate_demo(out, DemoOptions(seed=7, small=True)))
    return out, load_truth(out / "truth.json"), batches


def _tree_digest(root: Path) -> dict[str, str]:
    files = (p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _builds(out: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in out.glob("*/*/build.json")}


def test_same_seed_writes_byte_identical_files(tmp_path: Path, small: Small) -> None:
    out, _, _ = small
    again = tmp_path / "again"
    list(generate_demo(again, DemoOptions(seed=7, small=True)))
    assert _tree_digest(again) == _tree_digest(out)


def test_other_seed_writes_another_history(tmp_path: Path, small: Small) -> None:
    out, _, _ = small
    other = tmp_path / "other"
    list(generate_demo(other, DemoOptions(seed=8, small=True)))
    assert set(_builds(other)) != set(_builds(out))


def test_batches_count_what_was_written(small: Small) -> None:
    out, truth, batches = small
    builds = _builds(out)
    assert sum(b.builds for b in batches) == len(builds) == truth.builds
    assert 150 <= len(builds) <= 700
    for batch in batches:
        assert batch.builds == len(list(batch.path.glob("*/build.json")))
    assert sum(b.test_results for b in batches) == truth.test_results == _count_results(out)


def _count_results(out: Path) -> int:
    total = 0
    for path in out.glob("*/*/junit.xml"):
        total += len(etree.parse(str(path)).findall(".//testcase"))
    for path in out.glob("*/*/testrepository.subunit"):
        total += len(_subunit_attempts(path))
    return total


def _subunit_attempts(path: Path) -> list[tuple[str, str]]:
    """(test id, final status) of every attempt in a subunit v2 stream, via python-subunit."""
    found: list[tuple[str, str]] = []

    def on_test(test: dict[str, Any]) -> None:
        found.append((test["id"], test["status"]))

    result = testtools.StreamToDict(on_test)
    result.startTestRun()
    subunit.ByteStreamToStreamResult(io.BytesIO(path.read_bytes())).run(result)
    result.stopTestRun()
    return found


def test_every_failed_build_has_a_planted_cause(small: Small) -> None:
    out, truth, _ = small
    for uuid, path in _builds(out).items():
        record = json.loads((path / "build.json").read_text())
        if record["result"] == "SUCCESS":
            assert uuid not in truth.failed_builds
        else:
            assert truth.failed_builds[uuid].result == record["result"]
            assert truth.failed_builds[uuid].causes


def test_planted_builds_exist_with_the_claimed_result(small: Small) -> None:
    out, truth, _ = small
    builds = _builds(out)
    planted = [*truth.regression.builds, *(u for b in truth.bugs for u in b.builds)]
    planted += [u for uuids in truth.infra.values() for u in uuids]
    planted += [u for uuids in truth.broken_jobs.values() for u in uuids]
    assert planted
    for uuid in planted:
        assert uuid in builds
        assert json.loads((builds[uuid] / "build.json").read_text())["result"] != "SUCCESS"
    for uuid in truth.infra["node-failure"]:
        assert sorted(p.name for p in builds[uuid].iterdir()) == ["build.json"]


def _read_logs(build: Path) -> dict[str, list[str]]:
    logs = {}
    for path in [build / "job-output.txt.gz", *sorted((build / "logs").glob("*.gz"))]:
        if path.exists():
            logs[path.name.removesuffix(".gz")] = gzip.decompress(path.read_bytes()).decode().splitlines()
    return logs


@pytest.fixture(scope="module")
def logs(small: Small) -> dict[str, dict[str, list[str]]]:
    out, _, _ = small
    return {uuid: _read_logs(path) for uuid, path in _builds(out).items()}


def test_infra_phrases_appear_only_in_their_builds(
    small: Small, logs: dict[str, dict[str, list[str]]]
) -> None:
    _, truth, _ = small
    for kind, phrase in truth.infra_phrases.items():
        if not phrase:
            continue
        having = {u for u, files in logs.items() if any(phrase in ln for ls in files.values() for ln in ls)}
        assert having == set(truth.infra[kind]), kind


def test_ssh_timeout_appears_only_in_its_builds(small: Small, logs: dict[str, dict[str, list[str]]]) -> None:
    _, truth, _ = small
    consoles = {u: files.get("job-output.txt", []) for u, files in logs.items()}
    having = {u for u, lines in consoles.items() if any("via SSH timed out" in line for line in lines)}
    assert having == set(truth.uncategorized["ssh-timeout-floating-ip"])


# ------------------------------------------------------------- elastic-recheck queries


def _norm(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "


_TAGS = {"job-output.txt": {"console", "console.html", "job-output.txt"}}


def _matches(node: Any, doc: dict[str, Any]) -> bool:
    if isinstance(node, AndOperation):
        return all(_matches(c, doc) for c in node.children)
    if isinstance(node, OrOperation):
        return any(_matches(c, doc) for c in node.children)
    if isinstance(node, Not | Prohibit):
        return not _matches(node.a, doc)
    if isinstance(node, Group | FieldGroup):
        return _matches(node.expr, doc)
    assert isinstance(node, SearchField), node
    assert isinstance(node.expr, Phrase | Word), node
    value = node.expr.value.strip('"').replace("\\n", " ").replace('\\"', '"')
    if node.name in ("message", "module"):
        return _norm(value) in doc["message"]
    if node.name in ("tags", "filename"):
        return value in doc["tags"]
    return value == doc.get(node.name)


def _phrases(node: Any) -> list[str]:
    if isinstance(node, SearchField):
        if node.name in ("message", "module"):
            return [_norm(node.expr.value.strip('"').replace("\\n", " "))]
        return []
    return [p for child in node.children for p in _phrases(child)]


def _queries() -> dict[str, tuple[Any, list[str]]]:
    """Every query with its message phrases (a line holding none of them cannot match)."""
    found = {}
    for path in sorted(QUERIES.glob("*.yaml")):
        tree = lucene.parse(yaml.safe_load(path.read_text())["query"])
        found[path.stem] = (tree, _phrases(tree))
    return found


def test_queries_match_exactly_the_planted_bug_builds(
    small: Small, logs: dict[str, dict[str, list[str]]]
) -> None:
    out, truth, _ = small
    queries = _queries()
    assert len(queries) >= 90
    builds = _builds(out)
    any_phrase = re.compile("|".join(re.escape(p) for _, ps in queries.values() for p in ps))
    hits: dict[str, set[str]] = defaultdict(set)
    for uuid, files in logs.items():
        record = json.loads((builds[uuid] / "build.json").read_text())
        base = {"build_name": record["job_name"], "build_status": record["result"],
                "project": record["project"], "build_queue": record["pipeline"],
                "build_branch": record["branch"], "build_node": record["node_name"]}  # fmt: skip
        for name, lines in files.items():
            tags = _TAGS.get(name, {name})
            for line in lines:
                text = _norm(line)
                if not any_phrase.search(text):
                    continue
                doc = {**base, "message": text, "tags": tags}
                for bug, (query, phrases) in queries.items():
                    if any(p in text for p in phrases) and _matches(query, doc):
                        hits[bug].add(uuid)
    expected = {b.bug: set(b.builds) for b in truth.bugs if b.builds}
    assert expected, "the small demo plants at least one race bug"
    assert dict(hits) == expected


def test_regression_traceback_appears_only_in_its_builds(
    small: Small, logs: dict[str, dict[str, list[str]]]
) -> None:
    _, truth, _ = small
    consoles = {u: files.get("job-output.txt", []) for u, files in logs.items()}
    having = {u for u, lines in consoles.items() if any("KeyError: 'next_marker'" in line for line in lines)}
    assert having == set(truth.regression.builds)
    assert having


def _failed_attempts(out: Path) -> dict[str, dict[str, int]]:
    """Per build uuid: failed attempts per test id, read back from junit.xml and subunit files."""
    found: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in out.glob("*/*/junit.xml"):
        for case in etree.parse(str(path)).iter("testcase"):
            if case.find("failure") is not None:
                found[path.parent.name][f"{case.get('classname')}.{case.get('name')}"] += 1
    for path in out.glob("*/*/testrepository.subunit"):
        for test_id, status in _subunit_attempts(path):
            if status == "fail":
                found[path.parent.name][test_id] += 1
    return found


def test_flaky_failures_in_the_files_match_the_truth(small: Small) -> None:
    out, truth, _ = small
    failed = _failed_attempts(out)
    for flaky in truth.flaky_tests:
        in_files = sum(tests.get(flaky.test_id, 0) for tests in failed.values())
        assert in_files == flaky.failed_attempts, flaky.test_id
        for uuid in flaky.failed_builds:
            assert f"flaky:{flaky.test_id}" in truth.failed_builds[uuid].causes
