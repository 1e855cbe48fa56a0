"""Parsers for the JSON output of pytest-benchmark, Google Benchmark, hyperfine, JMH and asv.

Each takes the decoded JSON document and returns ``BenchmarkSample`` records with
per-iteration values kept when the producer writes them:
- pytest-benchmark ``--benchmark-json``: ``benchmarks[].stats`` in seconds, ``stats.data``
  with ``--benchmark-save-data``; commit and time from ``commit_info``/``datetime``.
- Google Benchmark ``--benchmark_format=json``: ``benchmarks[]`` with ``run_type``
  ``iteration`` (one per repetition: kept as samples) or ``aggregate`` (mean/median/
  stddev/cv: the mean is used as value); ``real_time``/``cpu_time`` in ``time_unit``;
  ``bytes_per_second``/``items_per_second`` higher-is-better.
- hyperfine ``--export-json``: ``results[]`` with ``mean`` and ``times`` in seconds.
- JMH ``-rf json``: a list of runs; ``primaryMetric.score`` in ``scoreUnit``,
  ``rawData`` (forks x iterations) flattened to samples; mode ``thrpt`` is higher-is-better.
- asv results (``results/<machine>/<commit>-<env>.json``): version 2 files hold
  ``result_columns`` and one row per benchmark; version 1 files a dict per benchmark.
  Parameterised results expand to one series per parameter combination; ``null``
  results (failed benchmarks) are skipped. Units follow asv's name prefixes.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from gatewatch.domain.perf import BenchmarkSample, Direction
from gatewatch.ingest.bench_common import (
    Origin,
    check,
    field,
    mean,
    numbers,
    optional,
    parse_time,
)


def parse_pytest_benchmark(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    commit = optional(doc, "commit_info", dict, {}, source=src, path="")
    machine = optional(doc, "machine_info", dict, {}, source=src, path="")
    here = Origin(
        context=origin.context,
        source=src,
        commit_sha=optional(commit, "id", str, "", source=src, path="commit_info"),
        timestamp=parse_time(doc.get("datetime") or commit.get("time"), source=src, path="datetime"),
        environment=optional(machine, "node", str, "", source=src, path="machine_info"),
    )
    out = []
    for i, bench in enumerate(field(doc, "benchmarks", list, source=src, path="")):
        path = f"benchmarks[{i}]"
        name = optional(bench, "fullname", str, "", source=src, path=path) or field(
            bench, "name", str, source=src, path=path
        )
        stats = field(bench, "stats", dict, source=src, path=path)
        data = numbers(stats["data"], source=src, path=f"{path}.stats.data") if "data" in stats else []
        value = field(stats, "mean", float, source=src, path=f"{path}.stats")
        out.append(here.sample(benchmark=name, metric="time", value=value, unit="s", samples=data))
    return out


def parse_google_benchmark(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    context = field(doc, "context", dict, source=src, path="")
    here = Origin(
        context=origin.context,
        source=src,
        timestamp=parse_time(context.get("date"), source=src, path="context.date"),
        environment=optional(context, "host_name", str, "", source=src, path="context"),
    )
    runs: dict[str, list[dict[str, Any]]] = {}
    means: dict[str, dict[str, Any]] = {}
    for i, bench in enumerate(field(doc, "benchmarks", list, source=src, path="")):
        path = f"benchmarks[{i}]"
        name = optional(bench, "run_name", str, "", source=src, path=path) or field(
            bench, "name", str, source=src, path=path
        )
        if optional(bench, "error_occurred", bool, False, source=src, path=path):
            continue
        kind = optional(bench, "run_type", str, "iteration", source=src, path=path)
        if kind == "aggregate":
            if optional(bench, "aggregate_name", str, "", source=src, path=path) == "mean":
                means[name] = bench
            continue
        runs.setdefault(name, []).append(bench)
    out = []
    for name in dict.fromkeys([*runs, *means]):
        out.extend(_google_metrics(name, runs.get(name, []), means.get(name), here))
    return out


def _google_metrics(
    name: str, runs: list[dict[str, Any]], agg: dict[str, Any] | None, here: Origin
) -> list[BenchmarkSample]:
    src, first = here.source, (agg or runs[0])
    unit = optional(first, "time_unit", str, "ns", source=src, path=name)
    metrics = [
        ("real_time", unit),
        ("cpu_time", unit),
        ("bytes_per_second", "B/s"),
        ("items_per_second", "1/s"),
    ]
    out = []
    for metric, metric_unit in metrics:
        samples = [check(r[metric], float, source=src, path=f"{name}.{metric}") for r in runs if metric in r]
        if agg is not None and metric in agg:
            value = check(agg[metric], float, source=src, path=f"{name}.{metric}")
        elif samples:
            value = mean(samples)
        else:
            continue
        kept = samples if len(samples) > 1 else []
        out.append(here.sample(benchmark=name, metric=metric, value=value, unit=metric_unit, samples=kept))
    return out


def parse_hyperfine(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    out = []
    for i, result in enumerate(field(doc, "results", list, source=src, path="")):
        path = f"results[{i}]"
        command = field(result, "command", str, source=src, path=path)
        times = numbers(result["times"], source=src, path=f"{path}.times") if "times" in result else []
        value = field(result, "mean", float, source=src, path=path)
        out.append(origin.sample(benchmark=command, metric="time", value=value, unit="s", samples=times))
    return out


def parse_jmh(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    out = []
    for i, run in enumerate(check(doc, list, source=src, path="")):
        path = f"[{i}]"
        name = field(run, "benchmark", str, source=src, path=path)
        params = optional(run, "params", dict, {}, source=src, path=path)
        if params:
            name += "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
        mode = optional(run, "mode", str, "", source=src, path=path)
        metric = field(run, "primaryMetric", dict, source=src, path=path)
        raw = optional(metric, "rawData", list, [], source=src, path=f"{path}.primaryMetric")
        samples = [
            v for j, fork in enumerate(raw) for v in numbers(fork, source=src, path=f"{path}.rawData[{j}]")
        ]
        direction = Direction.HIGHER_IS_BETTER if mode == "thrpt" else Direction.LOWER_IS_BETTER
        out.append(
            origin.sample(
                benchmark=name,
                metric=mode or "score",
                value=field(metric, "score", float, source=src, path=f"{path}.primaryMetric"),
                unit=field(metric, "scoreUnit", str, source=src, path=f"{path}.primaryMetric"),
                direction=direction,
                samples=samples,
            )
        )
    return out


ASV_UNITS = (("time_", "s"), ("peakmem_", "bytes"), ("mem_", "bytes"), ("timeraw_", "s"), ("track_", ""))


def parse_asv(doc: Any, origin: Origin) -> list[BenchmarkSample]:
    src = origin.source
    params = optional(doc, "params", dict, {}, source=src, path="")
    here = Origin(
        context=origin.context,
        source=src,
        commit_sha=optional(doc, "commit_hash", str, "", source=src, path=""),
        timestamp=parse_time(doc.get("date"), source=src, path="date"),
        environment=str(params.get("machine", "")),
    )
    results = field(doc, "results", dict, source=src, path="")
    columns = optional(doc, "result_columns", list, [], source=src, path="")
    out = []
    for name, entry in results.items():
        row = _asv_row(entry, columns, source=src, path=f"results.{name}")
        out.extend(_asv_samples(str(name), row, here))
    return out


def _asv_row(entry: Any, columns: list[Any], *, source: str, path: str) -> dict[str, Any]:
    """Normalise the three asv shapes (v2 row, v1 dict, bare number) to a dict."""
    if columns:
        cells = check(entry, list, source=source, path=path)
        return dict(zip(columns, cells, strict=False))
    if isinstance(entry, dict):
        return entry
    return {"result": entry}


def _asv_samples(name: str, row: dict[str, Any], here: Origin) -> list[BenchmarkSample]:
    src = here.source
    result = row.get("result")
    if result is None:
        return []
    values = result if isinstance(result, list) else [result]
    params = [check(p, list, source=src, path=f"results.{name}.params") for p in row.get("params") or []]
    combos = [", ".join(map(str, c)) for c in itertools.product(*params)] if params else [""]
    samples = check(
        row.get("samples") or [None] * len(values), list, source=src, path=f"results.{name}.samples"
    )
    unit = next((u for prefix, u in ASV_UNITS if name.rsplit(".", maxsplit=1)[-1].startswith(prefix)), "")
    out = []
    for k, value in enumerate(values):
        if value is None:
            continue
        number = check(value, float, source=src, path=f"results.{name}[{k}]")
        if not math.isfinite(number):
            continue
        label = f"{name}({combos[k]})" if k < len(combos) and combos[k] else name
        raw = samples[k] if k < len(samples) and samples[k] else []
        kept = numbers(raw, source=src, path=f"results.{name}.samples[{k}]")
        out.append(here.sample(benchmark=label, metric="value", value=number, unit=unit, samples=kept))
    return out
