"""Benchmark parsers: every producer's sample file, detection, and malformed input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewatch.domain.perf import BenchmarkSample, Direction
from gatewatch.errors import IngestError
from gatewatch.ingest.benchmarks import (
    BenchContext,
    BenchFormat,
    detect_format,
    looks_like_benchmark,
    parse_benchmarks,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "benchmarks"
CONTEXT = BenchContext(
    project="nova",
    commit_sha="ctx0000",
    timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    environment="",
    build_uuid="build-1",
)


def _parse(name: str, context: BenchContext = CONTEXT) -> dict[tuple[str, str], BenchmarkSample]:
    samples = parse_benchmarks((DATA / name).read_bytes(), source=name, context=context)
    by_key = {(s.key.benchmark, s.key.metric): s for s in samples}
    assert len(by_key) == len(samples), "one sample per (benchmark, metric) in these files"
    return by_key


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("rally-report-1.2.json", BenchFormat.RALLY),
        ("rally-task-results-legacy.json", BenchFormat.RALLY_LEGACY),
        ("pytest-benchmark.json", BenchFormat.PYTEST_BENCHMARK),
        ("google-benchmark.json", BenchFormat.GOOGLE_BENCHMARK),
        ("asv-results-v2.json", BenchFormat.ASV),
        ("hyperfine.json", BenchFormat.HYPERFINE),
        ("jmh.json", BenchFormat.JMH),
    ],
)
def test_format_is_detected_from_content(name: str, fmt: BenchFormat) -> None:
    data = (DATA / name).read_bytes()
    assert detect_format(json.loads(data)) is fmt
    assert looks_like_benchmark(data[:2048])


@pytest.mark.parametrize(
    "head",
    [b"", b"<?xml version='1.0'?><testsuite/>", b'{"tests": []}', b"\xb3)\x01", b"name,value\nx,1\n"],
)
def test_other_files_do_not_look_like_benchmarks(head: bytes) -> None:
    assert not looks_like_benchmark(head)


def test_rally_report_keeps_iterations_and_skips_failed_ones() -> None:
    got = _parse("rally-report-1.2.json")
    boot = got[("NovaServers.boot_and_delete_server", "duration")]
    assert boot.samples == (4.581, 5.294, 4.902)
    assert boot.value == pytest.approx((4.581 + 5.294 + 4.902) / 3)
    assert (boot.unit, boot.direction) == ("s", Direction.LOWER_IS_BETTER)
    assert boot.key.environment == "devstack"
    assert boot.timestamp == datetime.fromtimestamp(1768385576.123456, tz=UTC)
    assert (boot.commit_sha, boot.build_uuid, boot.key.project) == ("ctx0000", "build-1", "nova")
    atomic = got[("NovaServers.boot_and_delete_server", "atomic:nova.boot_server")]
    assert atomic.samples == pytest.approx((3.77, 4.2, 3.9))
    assert set(got) == {
        ("NovaServers.boot_and_delete_server", "duration"),
        ("NovaServers.boot_and_delete_server", "atomic:nova.boot_server"),
        ("NovaServers.boot_and_delete_server", "atomic:nova.delete_server"),
        ("NovaServers.list_servers", "duration"),
        ("NovaServers.list_servers", "atomic:nova.list_servers"),
    }


def test_legacy_rally_separates_repeated_scenarios() -> None:
    got = _parse("rally-task-results-legacy.json")
    assert got[("KeystoneBasic.create_delete_user#0", "duration")].samples == (0.83, 0.79, 0.91)
    assert got[("KeystoneBasic.create_delete_user#1", "atomic:keystone.create_user")].samples == (0.50, 0.47)
    assert got[("KeystoneBasic.create_delete_user#0", "duration")].timestamp == datetime(
        2016, 3, 16, 10, 46, 53, tzinfo=UTC
    )


def test_pytest_benchmark_takes_commit_and_time_from_the_file() -> None:
    got = _parse("pytest-benchmark.json")
    first = got[("tests/bench/test_ingest.py::test_parse_subunit", "time")]
    assert first.value == 0.01284
    assert first.samples == (0.0121, 0.0128, 0.0139, 0.0124, 0.013)
    assert first.commit_sha == "9f2c1e7b4a6d8c0e2f4a6b8c0d2e4f6a8b0c2d4e"
    assert first.timestamp == datetime(2026, 1, 13, 17, 5, 2, 118000, tzinfo=UTC)
    assert first.key.environment == "ci-node-17"
    assert got[("tests/bench/test_match.py::test_match[hyperscan]", "time")].samples == ()


def test_context_environment_wins_over_host_names() -> None:
    context = BenchContext(project="nova", environment="ubuntu-noble")
    got = _parse("pytest-benchmark.json", context)
    assert {s.key.environment for s in got.values()} == {"ubuntu-noble"}


def test_google_benchmark_uses_mean_aggregate_and_repetitions() -> None:
    got = _parse("google-benchmark.json")
    real = got[("BM_Hash/64/repeats:3", "real_time")]
    assert (real.value, real.unit, real.samples) == (61.63, "ns", (61.2, 62.8, 60.9))
    rate = got[("BM_Hash/64/repeats:3", "bytes_per_second")]
    assert rate.direction is Direction.HIGHER_IS_BETTER
    sort = got[("BM_Sort/1024", "cpu_time")]
    assert (sort.value, sort.unit, sort.samples) == (17.0, "us", ())
    assert got[("BM_Sort/1024", "items_per_second")].direction is Direction.HIGHER_IS_BETTER
    assert not any(b == "BM_Broken" for b, _ in got)
    assert real.timestamp == datetime(2026, 1, 13, 17, 10, 22, tzinfo=UTC)


def test_asv_expands_parameters_and_skips_failures() -> None:
    got = _parse("asv-results-v2.json")
    assert set(got) == {
        ("bench_core.Core.time_array_1", "value"),
        ("bench_ufunc.UFunc.time_ufunc_types('add')", "value"),
        ("bench_ufunc.UFunc.time_ufunc_types('subtract')", "value"),
        ("bench_mem.Mem.peakmem_load", "value"),
    }
    core = got[("bench_core.Core.time_array_1", "value")]
    assert (core.value, core.unit, core.samples) == (1.71e-07, "s", (1.7e-07, 1.71e-07, 1.73e-07, 1.69e-07))
    assert core.commit_sha == "3b1f0c9e7d5a3b1f0c9e7d5a3b1f0c9e7d5a3b1f"
    assert core.timestamp == datetime.fromtimestamp(1768323600, tz=UTC)
    assert got[("bench_mem.Mem.peakmem_load", "value")].unit == "bytes"


def test_asv_version_1_results() -> None:
    doc = {
        "commit_hash": "abc",
        "date": 1500000000000,
        "params": {"machine": "m1"},
        "results": {"b.time_x": {"result": [0.5], "params": []}, "b.track_y": 3.0, "b.time_z": None},
        "version": 1,
    }
    samples = parse_benchmarks(json.dumps(doc).encode(), source="r.json", context=CONTEXT)
    assert [(s.key.benchmark, s.value, s.unit) for s in samples] == [
        ("b.time_x", 0.5, "s"),
        ("b.track_y", 3.0, ""),
    ]


def test_hyperfine_keeps_times() -> None:
    got = _parse("hyperfine.json")
    run = got[("gatewatch ingest tests/data/subunit", "time")]
    assert (run.value, run.unit, len(run.samples)) == (0.41837, "s", 6)


def test_jmh_modes_set_direction_and_flatten_forks() -> None:
    got = _parse("jmh.json")
    parse = got[("org.example.JsonBench.parse(size=1024)", "thrpt")]
    assert (parse.value, parse.unit, parse.direction) == (152331.27, "ops/s", Direction.HIGHER_IS_BETTER)
    assert len(parse.samples) == 6
    render = got[("org.example.JsonBench.render", "avgt")]
    assert (render.unit, render.direction, render.samples) == (
        "us/op",
        Direction.LOWER_IS_BETTER,
        (8.31, 8.514),
    )


def test_csv_columns_become_metrics_with_units() -> None:
    samples = parse_benchmarks((DATA / "otava.csv").read_bytes(), source="perf/otava.csv", context=CONTEXT)
    rows = [(s.key.benchmark, s.key.metric, s.unit, s.value, s.commit_sha) for s in samples]
    assert rows[:3] == [
        ("otava", "throughput", "ops/s", 10210.5, "a1b2c3d"),
        ("otava", "p99", "ms", 12.1, "a1b2c3d"),
        ("otava", "alloc", "", 3.2e6, "a1b2c3d"),
    ]
    assert len(samples) == 8
    assert samples[0].direction is Direction.HIGHER_IS_BETTER
    assert samples[1].direction is Direction.LOWER_IS_BETTER
    assert samples[-1].timestamp == datetime(2026, 1, 12, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message", "position"),
    [
        (b'{"benchmarks": [', "malformed JSON", "line 1, column 17"),
        (b'{\n  "results": [{"command": "x", "mean": "fast"}]}', "expected float", ""),
        (b'{"results": [{"mean": 1.0}]}', "missing field at results[0].command", ""),
        (b'{"machine_info": {}, "benchmarks": [{"name": "x"}]}', "missing field at benchmarks[0].stats", ""),
        (b'{"context": {}, "benchmarks": 3}', "expected list", ""),
        (
            b'{"info": {}, "tasks": [{"subtasks": [{"workloads": [{"scenario": {}, "data": []}]}]}]}',
            "scenario",
            "",
        ),
        (
            b'[{"key": {"name": "x"}, "result": [{"error": []}]}]',
            "missing field at [0].result[0].duration",
            "",
        ),
        (b'[{"jmhVersion": "1", "benchmark": "b", "primaryMetric": {"score": 1}}]', "scoreUnit", ""),
        (b'{"some": "thing"}', "not a known benchmark format", ""),
        (b"[1, 2]", "not a known benchmark format", ""),
        (b"\xff\xfe{", "not UTF-8", "byte 0"),
        (b"time,commit,x\n2026-01-01,a,1\n2026-01-02,b,slow\n", "'slow' is not a number", "line 3, column 3"),
        (b"time,commit,x\n2026-01-01,a\n", "2 fields", "line 2"),
        (b"time,commit,x\nyesterday,a,1\n", "not a date/time", "line 2"),
        (b"commit,x\na,1\n", "no time column", "line 1"),
        (b"\n", "no header", "line 1"),
    ],
)
def test_malformed_input_is_reported_with_position(data: bytes, message: str, position: str) -> None:
    with pytest.raises(IngestError) as caught:
        parse_benchmarks(data, source="results/x.json", context=CONTEXT)
    assert message in str(caught.value)
    assert caught.value.path == "results/x.json"
    assert caught.value.position == position


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir() if p.suffix == ".json"))
@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.99])
def test_truncated_json_is_reported_with_position(name: str, fraction: float) -> None:
    data = (DATA / name).read_bytes()
    with pytest.raises(IngestError, match="malformed JSON") as caught:
        parse_benchmarks(data[: int(len(data) * fraction)], source=name, context=CONTEXT)
    assert caught.value.path == name
    assert caught.value.line is not None


def test_truncated_csv_row_is_reported() -> None:
    data = (DATA / "otava.csv").read_bytes()
    with pytest.raises(IngestError, match="fields") as caught:
        parse_benchmarks(data[:-20], source="otava.csv", context=CONTEXT)
    assert caught.value.line == 4


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**15) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
SKELETON_KEYS = [
    "tasks",
    "info",
    "subtasks",
    "workloads",
    "scenario",
    "data",
    "duration",
    "error",
    "atomic_actions",
    "key",
    "result",
    "name",
    "pos",
    "benchmarks",
    "machine_info",
    "commit_info",
    "stats",
    "mean",
    "context",
    "run_type",
    "aggregate_name",
    "real_time",
    "results",
    "command",
    "times",
    "commit_hash",
    "result_columns",
    "params",
    "samples",
    "primaryMetric",
    "jmhVersion",
    "score",
    "scoreUnit",
    "rawData",
    "benchmark",
    "started_at",
    "finished_at",
    "datetime",
    "date",
    "time_unit",
    "position",
    "start_time",
    "created_at",
]
shaped = st.recursive(
    json_values,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(SKELETON_KEYS), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(derandomize=True, max_examples=400, deadline=None)
@given(shaped)
def test_any_json_gives_samples_or_an_ingest_error(doc: object) -> None:
    outcome = _outcome(json.dumps(doc).encode(), "fuzz.json")
    if isinstance(outcome, IngestError):
        assert outcome.path == "fuzz.json"
    else:
        assert all(isinstance(s, BenchmarkSample) for s in outcome)


@settings(derandomize=True, max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_samples_or_an_ingest_error(data: bytes) -> None:
    outcome = _outcome(b"time,commit,x\n" + data, "fuzz.csv")
    if isinstance(outcome, IngestError):
        assert outcome.path == "fuzz.csv"
    else:
        assert all(s.key.metric == "x" for s in outcome)


def _outcome(data: bytes, source: str) -> list[BenchmarkSample] | IngestError:
    try:
        return parse_benchmarks(data, source=source, context=CONTEXT)
    except IngestError as exc:
        return exc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"commit_hash": "a", "date": 1e300, "results": {}}, "time out of range"),
        ({"commit_hash": "a", "results": {"b.time_x": {"result": [1.0], "params": [3]}}}, "expected list"),
        ({"commit_hash": "a", "results": {"b.time_x": {"result": [1.0], "samples": 3}}}, "expected list"),
    ],
)
def test_asv_oddities_are_reported(doc: dict[str, object], message: str) -> None:
    with pytest.raises(IngestError, match=message):
        parse_benchmarks(json.dumps(doc).encode(), source="r.json", context=CONTEXT)
