"""Fingerprint matching: gatewatch's matcher against ripgrep on the same patterns and text.

Generates seeded CI log text (>= 200 MB; ``--quick``: 24 MB) into bench/.work/,
takes every message phrase of the elastic-recheck queries, converts each to the
same case-insensitive regex gatewatch uses (tokens joined by non-word
separators), and times, interleaved (A B A B ...), the median of:

* ripgrep ``rg -i -c --no-unicode -j1 -f patterns.txt`` (lines matching any pattern),
* ripgrep over gatewatch's own prefilter patterns (``rg-prefilters``: what rg would
  do in gatewatch's place, before the exact per-line check),
* raw Hyperscan over the same patterns (one database, block mode, 1 MiB blocks),
* gatewatch's matcher (``compile_fingerprints`` + ``scan_log``) with all 91
  fingerprints: the complete answer (which fingerprint matched which line, AND /
  NOT / tags evaluated), scanning each fingerprint's trigger phrases through a
  two-token prefilter and confirming candidate lines exactly,

then the re-scan figure: the same text stored as zstd blobs (4 MiB of log per
blob, level 3), decompressed and scanned in one process: MB of log text per
second per core (target >= 200), beside the cost of decompression alone.

    PYTHONPATH=src python bench/matching.py [--quick] [--json out.json] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
import zstandard

from gatewatch.analyse.triage.backends import HyperscanBackend, hyperscan_available
from gatewatch.analyse.triage.fingerprints import parse_fingerprint
from gatewatch.analyse.triage.matcher import compile_fingerprints, iter_blocks
from gatewatch.domain.triage import BuildFacts, Fingerprint
from gatewatch.query.analysis import phrase_regex
from gatewatch.query.compile import compile_query

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / ".work"
QUERIES = ROOT / "tests" / "data" / "elastic-recheck-queries"
MB = 1_000_000

TEMPLATES = [
    "{ts} | controller | ok: [controller] => (item={word})",
    "{ts} | controller | TASK [{word} : Run {word} {n}]",
    "{ts} | controller | changed: [controller]",
    "{ts} | {n} INFO nova.compute.manager [req-{hex}] [instance: {uuid}] Took {f} s to spawn",
    '{ts} | {n} DEBUG oslo_concurrency.lockutils [-] Lock "compute_resources" acquired by {word}',
    "{ts} | {n} WARNING neutron.agent.linux.utils [-] Unable to {word} {uuid}: size {n}",
    "{ts} | {n} ERROR cinder.volume.manager [req-{hex}] Failed to {word} volume {uuid}: backup group failed",
    "{ts} | {{0}} tempest.api.compute.servers.test_{word}.ServersTest.test_{word} [{f}s] ... ok",
    "{ts} | {{1}} tempest.api.volume.test_{word}.VolumesTest.test_{word}_{n} [{f}s] ... FAILED",
    "{ts} | Traceback (most recent call last):",
    '{ts} |   File "/opt/stack/nova/nova/{word}.py", line {n}, in {word}',
    "{ts} | Timeout waiting for {word} after {n} seconds",
    "{ts} | 2026-11-22 10:{n}:00.{n} | Collecting {word}==1.{n}.0 (from -r requirements.txt (line {n}))",
    "{ts} | Get:{n} http://mirror.dfw.rax.opendev.org/ubuntu jammy/main amd64 {word} amd64 1.{n} [{n} kB]",
    "{ts} | + functions-common:{word}:{n} :   sudo systemctl start devstack@{word}.service",
    "{ts} | \x1b[0;32mok: [subnode-2]\x1b[0m",
    "{ts} | {word} {word} {word} {word} {word} {word} {word} {word}",
]
_WORD_TEXT = (
    "server volume image network port subnet router flavor keypair snapshot attach detach migrate resize "
    "rebuild shelve backup group size status error failed timeout instance compute scheduler api agent "
    "placement allocation libvirt qemu ovs bridge mysql rabbit keystone glance swift heat"
)
WORDS = _WORD_TEXT.split()


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        ts=f"2026-11-22 10:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(10**6):06d}",
        n=rng.randrange(10_000),
        f=f"{rng.random() * 100:.3f}",
        hex=f"{rng.getrandbits(64):016x}",
        uuid=f"{rng.getrandbits(128):032x}",
        word=rng.choice(WORDS),
    )


def message_phrases() -> list[str]:
    """The raw text of every ``message:`` clause of the real queries."""
    phrases: list[str] = []
    for path in sorted(QUERIES.glob("*.yaml")):
        query = yaml.safe_load(path.read_text(encoding="utf-8"))["query"]
        for atom in compile_query(query).atoms:
            phrases.append(" ".join(atom.tokens))
    return phrases


def generate(path: Path, size_bytes: int, seed: int, phrases: list[str]) -> int:
    """Seeded log text: a pool of filled templates, sampled; 1 line in 20,000 carries a phrase."""
    rng = random.Random(seed)
    pool = [_fill(rng, t) for t in TEMPLATES for _ in range(3000)]
    planted = 0
    with path.open("wb") as out:
        written = 0
        while written < size_bytes:
            lines = rng.choices(pool, k=20_000)
            lines[rng.randrange(len(lines))] = f"2026-11-22 | ERROR {rng.choice(phrases)} (planted)"
            planted += 1
            data = ("\n".join(lines) + "\n").encode("utf-8")
            out.write(data)
            written += len(data)
    return planted


def full_phrase_regexes(fps: list[Fingerprint]) -> list[bytes]:
    """Every message phrase as one regex: all its tokens joined by non-word separators."""
    found = set()
    for fp in fps:
        for atom in compile_query(fp.query).atoms:
            found.add(phrase_regex(atom.tokens, window=len(atom.tokens)) if atom.tokens else atom.regex)
    return sorted(found)


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall-clock seconds, and CPU seconds of this process plus its children (ripgrep)."""

    wall_s: float
    cpu_s: float


def _cpu_now() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def time_it(fn: Callable[[], object]) -> tuple[Timing, object]:
    wall, cpu = time.perf_counter(), _cpu_now()
    result = fn()
    return Timing(wall_s=time.perf_counter() - wall, cpu_s=_cpu_now() - cpu), result


def run_ripgrep(pattern_file: Path, text: Path) -> int:
    proc = subprocess.run(
        ["rg", "-i", "-c", "--no-unicode", "-j1", "-f", str(pattern_file), str(text)],
        capture_output=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ripgrep failed: {proc.stderr.decode(errors='replace')}")
    return int(proc.stdout or b"0")


def read_blocks(text: Path) -> list[bytes]:
    with text.open("rb") as f:
        return list(iter_blocks(iter(lambda: f.read(1 << 22), b""), 1 << 20))


def run_raw_hyperscan(backend: HyperscanBackend, blocks: list[bytes]) -> int:
    return sum(len(backend.scan(b)) for b in blocks)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="24 MB of text, one repetition")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size-mb", type=int, default=None, help="text size (default 210, quick 24)")
    parser.add_argument("--repeat", type=int, default=None, help="interleaved repetitions (default 3)")
    return parser.parse_args(argv)


def _prepare_text(size_mb: int, seed: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    text = WORK / f"ci-logs-{size_mb}mb-seed{seed}.txt"
    if not text.exists():
        print(f"generating {size_mb} MB of CI log text into {text} ...")
        generate(text, size_mb * MB, seed, message_phrases())
    return text


def _compare(
    runs: list[tuple[str, Callable[[], object]]], *, size: int, repeat: int
) -> dict[str, tuple[float, float]]:
    """Run every contender ``repeat`` times, interleaved (A B C A B C ...); print MB/s."""
    times: dict[str, list[Timing]] = {name: [] for name, _ in runs}
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, fn in runs:
            timing, results[name] = time_it(fn)
            times[name].append(timing)
    speeds = {k: _speeds(size, v) for k, v in times.items()}
    print("  (MB/s by CPU time, which a loaded shared machine distorts least; wall-clock in brackets)")
    for name, (cpu_speed, wall_speed) in speeds.items():
        what = f"median of {repeat}; result {results[name]}"
        print(f"  {name:14s} {cpu_speed:8.1f} MB/s  [{wall_speed:7.1f}]  {what}")
    return speeds


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if shutil.which("rg") is None:
        print("ripgrep (rg) is not installed: apt-get install -y ripgrep  (or cargo install ripgrep)")
        return 2
    if not hyperscan_available():
        print("note: hyperscan is not importable; gatewatch falls back to RE2")
    repeat = args.repeat or (1 if args.quick else 3)
    text = _prepare_text(args.size_mb or (24 if args.quick else 210), args.seed)
    size = text.stat().st_size
    files = sorted(QUERIES.glob("*.yaml"))
    fps = [parse_fingerprint(p.read_text(encoding="utf-8"), path=str(p)) for p in files]
    regexes = full_phrase_regexes(fps)
    matcher = compile_fingerprints(fps)
    (WORK / "patterns.txt").write_bytes(b"\n".join(regexes) + b"\n")
    (WORK / "prefilters.txt").write_bytes(b"\n".join(matcher.patterns) + b"\n")
    version = subprocess.run(["rg", "--version"], capture_output=True, text=True, check=False)
    rg_version = version.stdout.split("\n")[0]
    print(f"text: {size / MB:.1f} MB, {len(message_phrases())} message phrases -> {len(regexes)} regexes")
    print(f"peer: {rg_version}")
    blocks = read_blocks(text)
    build = BuildFacts(build_uuid="bench", build_name="tempest-full", build_status="FAILURE")
    runs: list[tuple[str, Callable[[], object]]] = [
        ("ripgrep", lambda: run_ripgrep(WORK / "patterns.txt", text)),
        ("rg-prefilters", lambda: run_ripgrep(WORK / "prefilters.txt", text)),
    ]
    if hyperscan_available():
        raw = HyperscanBackend(regexes)
        runs.append(("hyperscan-raw", lambda: run_raw_hyperscan(raw, blocks)))
    runs.append(("gatewatch", lambda: len(matcher.scan_log(blocks, file_name="job-output.txt", build=build))))
    speeds = _compare(runs, size=size, repeat=repeat)
    ratio = speeds["gatewatch"][0] / speeds["ripgrep"][0]
    wall_ratio = speeds["gatewatch"][1] / speeds["ripgrep"][1]
    print(f"  ratio gatewatch / ripgrep: {ratio:.2f}x by CPU time, {wall_ratio:.2f}x wall (target >= 1.0x)")
    rescan = measure_rescan(text, matcher, build, repeat)
    _print_rescan(rescan)
    if args.json:
        record = {
            "benchmark": "matching",
            "git_sha": _git_sha(),
            "seed": args.seed,
            "text_bytes": size,
            "patterns": len(regexes),
            "peer": rg_version,
            "backend": matcher.backend.name,
            "mb_per_s_cpu": {k: v[0] for k, v in speeds.items()},
            "mb_per_s_wall": {k: v[1] for k, v in speeds.items()},
            "ratio_vs_ripgrep_cpu": ratio,
            "ratio_vs_ripgrep_wall": wall_ratio,
            "load_average": os.getloadavg(),
            "rescan": rescan,
        }
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return 0


def _print_rescan(rescan: dict[str, float]) -> None:
    print(
        f"re-scan of zstd blobs: {rescan['mb_per_s']:.1f} MB of log text per CPU-second "
        f"[{rescan['mb_per_s_wall']:.1f} wall] "
        f"({rescan['mb_per_s'] * 60 / 1000:.1f} GB/min; target >= 200 MB/s); "
        f"decompression alone {rescan['decompress_mb_per_s']:.1f} MB/s; "
        f"compressed {rescan['compressed_bytes'] / MB:.1f} MB"
    )


def _speeds(size: int, timings: list[Timing]) -> tuple[float, float]:
    cpu = statistics.median(t.cpu_s for t in timings)
    wall = statistics.median(t.wall_s for t in timings)
    return size / MB / cpu, size / MB / wall


def measure_rescan(text: Path, matcher: object, build: BuildFacts, repeat: int) -> dict[str, float]:
    """Compress the text as 4 MiB blobs, then time decompress+scan and decompress alone."""
    from gatewatch.analyse.triage.matcher import CompiledMatcher

    assert isinstance(matcher, CompiledMatcher)
    raw = text.read_bytes()
    compressor = zstandard.ZstdCompressor(level=3)
    blobs = [compressor.compress(raw[i : i + (4 << 20)]) for i in range(0, len(raw), 4 << 20)]
    del raw

    def decompress_only() -> int:
        total = 0
        d = zstandard.ZstdDecompressor()
        for blob in blobs:
            with d.stream_reader(blob) as reader:
                while chunk := reader.read(1 << 20):
                    total += len(chunk)
        return total

    def decompress_and_scan() -> int:
        found = 0
        d = zstandard.ZstdDecompressor()
        for blob in blobs:
            with d.stream_reader(blob) as reader:
                found += len(matcher.scan_log(_chunks(reader), file_name="job-output.txt", build=build))
        return found

    scan_t: list[Timing] = []
    dec_t: list[Timing] = []
    total = 0
    for _ in range(repeat):
        t, _found = time_it(decompress_and_scan)
        scan_t.append(t)
        t, n = time_it(decompress_only)
        dec_t.append(t)
        total = int(n)  # type: ignore[call-overload]
    scan_cpu, scan_wall = _speeds(total, scan_t)
    dec_cpu, dec_wall = _speeds(total, dec_t)
    return {
        "mb_per_s": scan_cpu,
        "mb_per_s_wall": scan_wall,
        "decompress_mb_per_s": dec_cpu,
        "decompress_mb_per_s_wall": dec_wall,
        "compressed_bytes": float(sum(len(b) for b in blobs)),
    }


def _chunks(reader: Any) -> Iterator[bytes]:
    while chunk := reader.read(1 << 20):
        yield chunk


def _git_sha() -> str:
    proc = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT, check=False)
    return proc.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
