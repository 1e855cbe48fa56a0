"""Change-point detection: gatewatch side by side with apache-otava and MongoDB's E-Divisive.

Run:  /work/venv/bin/python bench/changepoint.py [--quick] [--json out.json] [--seed N]

Each peer is installed by this script into its own throwaway venv under
bench/.venvs/ (their numpy pins conflict) and driven by a small script over stdin/
stdout on IDENTICAL generated series:
  steps-5-20   level shifts of 5-20% (random sign), Gaussian noise SD 2% of level
  steps-2-5    level shifts of 2-5%, same noise
  no-change    pure Gaussian noise (false alarms per 1,000 points)
  outliers     5-20% shifts plus 3% of runs 2-3x slower (precision must hold)
  outliers-only  no shift, 3% outlier runs (false alarms)
Segments between shifts are 40-120 points long. A detection counts if it is
within +-5 points of a true shift (one-to-one matching). Timing: every tool runs
the whole batch once per repetition, tools interleaved (A B C A B C ...); the
figure is the median over repetitions of (batch seconds / series).
signal-processing-algorithms builds an n x n distance matrix and runs permutation
tests: it is capped (fewer series at n=1,000, skipped at n=10,000; printed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gatewatch.analyse.perf.detect import compute_change_points, update_analysis  # noqa: E402

VENVS = ROOT / "bench" / ".venvs"
PEERS = {
    "otava": ("apache-otava==0.8.0", "apache-otava"),
    "e-divisive": ("signal-processing-algorithms==2.1.6", "signal-processing-algorithms"),
}
TOLERANCE = 5
SCENARIOS = ("steps-5-20", "steps-2-5", "no-change", "outliers", "outliers-only")

DRIVER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
peer = sys.argv[1]
if peer == "otava":
    from otava.analysis import compute_change_points
    def detect(xs):
        cps, _ = compute_change_points(xs)
        return [int(c.index) for c in cps]
else:
    from signal_processing_algorithms.energy_statistics.energy_statistics import e_divisive
    def detect(xs):
        return sorted(int(i) for i in e_divisive(xs, pvalue=0.05, permutations=100))
batch = json.load(sys.stdin)
found = []
start = time.perf_counter()
for xs in batch:
    found.append(detect(xs))
json.dump({"seconds": time.perf_counter() - start, "found": found}, sys.stdout)
"""


def generate(scenario: str, n: int, rng: np.random.Generator) -> tuple[list[float], list[int]]:
    """One series and its true change points."""
    level = np.empty(n)
    truth: list[int] = []
    current, pos = 100.0, 0
    steps = scenario in ("steps-5-20", "steps-2-5", "outliers")
    low, high = (0.02, 0.05) if scenario == "steps-2-5" else (0.05, 0.20)
    while pos < n:
        length = int(rng.integers(40, 121))
        level[pos : pos + length] = current
        pos += length
        if steps and pos < n - 20:
            truth.append(pos)
            current *= 1 + rng.choice([-1.0, 1.0]) * rng.uniform(low, high)
    values = level * (1 + rng.normal(0, 0.02, n))
    if scenario.startswith("outliers"):
        hit = rng.random(n) < 0.03
        values[hit] *= rng.uniform(2, 3, int(hit.sum()))
    return values.tolist(), truth


def match(found: list[int], truth: list[int]) -> int:
    """Number of detections within +-TOLERANCE of a distinct true change point."""
    free = sorted(truth)
    hits = 0
    for f in sorted(found):
        near = [t for t in free if abs(t - f) <= TOLERANCE]
        if near:
            free.remove(min(near, key=lambda t: abs(t - f)))
            hits += 1
    return hits


def ensure_peer(name: str) -> Path:
    spec, _ = PEERS[name]
    env = VENVS / name
    python = env / "bin" / "python"
    marker = env / ".installed"
    if not marker.exists() or marker.read_text() != spec:
        print(f"installing {spec} into {env} ...", flush=True)
        venv.create(env, with_pip=True, clear=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
        marker.write_text(spec)
    (VENVS / "driver.py").write_text(DRIVER)
    return python


def peer_version(python: Path, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}), m.version('numpy'))"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return f"{dist} {out[0]} (numpy {out[1]})"


def run_gatewatch(batch: list[list[float]]) -> dict[str, object]:
    start = time.perf_counter()
    found = [[c.index for c in compute_change_points(xs, seed=0).change_points] for xs in batch]
    return {"seconds": time.perf_counter() - start, "found": found}


def run_peer(python: Path, name: str, batch: list[list[float]]) -> dict[str, object]:
    proc = subprocess.run(
        [str(python), str(VENVS / "driver.py"), name],
        input=json.dumps(batch),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def score(found: list[list[int]], truths: list[list[int]], n: int) -> dict[str, float]:
    detected = sum(len(f) for f in found)
    true = sum(len(t) for t in truths)
    hits = sum(match(f, t) for f, t in zip(found, truths, strict=True))
    precision = hits / detected if detected else float("nan") if true == 0 else 1.0
    recall = hits / true if true else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if true and precision + recall > 0 else float("nan")
    return {
        "detected": detected,
        "true": true,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "false_alarms_per_1000": (detected - hits) / (n * len(found)) * 1000,
    }


def plan(quick: bool) -> list[tuple[int, int, int]]:
    """(n, series per scenario, series for e-divisive) per size."""
    if quick:
        return [(100, 10, 5), (1000, 3, 1), (10000, 1, 0)]
    return [(100, 60, 20), (1000, 20, 3), (10000, 3, 0)]


def bench_size(
    n: int, count: int, ed_count: int, *, seed: int, reps: int, pythons: dict[str, Path]
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for k, scenario in enumerate(SCENARIOS):
        rng = np.random.default_rng([seed, n, k])
        pairs = [generate(scenario, n, rng) for _ in range(count)]
        batch, truths = [p[0] for p in pairs], [p[1] for p in pairs]
        tools: dict[str, list[list[float]]] = {"gatewatch": batch, "otava": batch}
        if ed_count:
            tools["e-divisive"] = batch[:ed_count]
        times: dict[str, list[float]] = {t: [] for t in tools}
        found: dict[str, list[list[int]]] = {}
        for _ in range(reps):
            for tool, series in tools.items():
                result = (
                    run_gatewatch(series) if tool == "gatewatch" else run_peer(pythons[tool], tool, series)
                )
                times[tool].append(float(result["seconds"]) / len(series))  # type: ignore[arg-type]
                found.setdefault(tool, result["found"])  # type: ignore[arg-type]
        for tool, series in tools.items():
            stats = score(found[tool], truths[: len(series)], n)
            rows.append(
                {
                    "n": n,
                    "scenario": scenario,
                    "tool": tool,
                    "series": len(series),
                    "s_per_series": statistics.median(times[tool]),
                    **stats,
                }
            )
    return rows


def print_rows(rows: list[dict[str, object]]) -> None:
    head = f"{'n':>6} {'scenario':<14} {'tool':<11} {'series':>6} {'prec':>6} {'recall':>6} {'F1':>6} "
    print(head + f"{'FA/1000':>8} {'s/series':>10}")
    for r in rows:
        print(
            f"{r['n']:>6} {r['scenario']:<14} {r['tool']:<11} {r['series']:>6} {r['precision']:>6.3f} "
            f"{r['recall']:>6.3f} {r['f1']:>6.3f} {r['false_alarms_per_1000']:>8.3f} "
            f"{r['s_per_series']:>10.5f}"
        )


def print_ratios(rows: list[dict[str, object]]) -> dict[str, float]:
    ratios: dict[str, float] = {}
    for n in sorted({int(r["n"]) for r in rows}):  # type: ignore[call-overload]
        t = {
            tool: [float(r["s_per_series"]) for r in rows if r["n"] == n and r["tool"] == tool]  # type: ignore[arg-type]
            for tool in ("gatewatch", "otava", "e-divisive")
        }
        gw = statistics.median(t["gatewatch"])
        line = f"n={n}: gatewatch {gw:.5f} s/series"
        for peer in ("otava", "e-divisive"):
            if t[peer]:
                ratio = statistics.median(t[peer]) / gw
                ratios[f"{peer}/gatewatch@{n}"] = ratio
                line += f"; {peer} {statistics.median(t[peer]):.5f} s ({ratio:.1f}x slower)"
        print(line)
    return ratios


def bench_incremental(*, seed: int, reps: int, n: int = 10000) -> dict[str, float]:
    """Seconds to append one point to an analysed n-point series, against a full recompute."""
    values, _ = generate("steps-5-20", n + reps, np.random.default_rng([seed, n, 42]))
    base = compute_change_points(values[:n])
    full, step = [], []
    for k in range(reps):
        start = time.perf_counter()
        compute_change_points(values[: n + k + 1])
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        update_analysis(base, values[n : n + k + 1])
        step.append(time.perf_counter() - start)
    result = {"n": n, "full_s": statistics.median(full), "append_s": statistics.median(step)}
    print(
        f"incremental: append to a {n}-point analysis {result['append_s']:.4f} s "
        f"vs full recompute {result['full_s']:.4f} s ({result['full_s'] / result['append_s']:.0f}x)"
    )
    return result


def git_sha() -> str:
    proc = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few small series: a smoke run")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--seed", type=int, default=20260522)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    pythons = {name: ensure_peer(name) for name in PEERS}
    versions = {name: peer_version(py, PEERS[name][1]) for name, py in pythons.items()}
    print(f"seed {args.seed}; reps {args.reps} (interleaved); tolerance +-{TOLERANCE} points")
    print("peers: " + "; ".join(versions.values()) + f"; gatewatch numpy {np.__version__}")
    rows: list[dict[str, object]] = []
    for n, count, ed_count in plan(args.quick):
        print(f"n={n}: {count} series per scenario; e-divisive on {ed_count or 'none (capped)'}", flush=True)
        rows += bench_size(n, count, ed_count, seed=args.seed, reps=args.reps, pythons=pythons)
    print_rows(rows)
    ratios = print_ratios(rows)
    incremental = bench_incremental(seed=args.seed, reps=max(args.reps, 5))
    if args.json:
        record = {
            "git_sha": git_sha(),
            "seed": args.seed,
            "peers": versions,
            "rows": rows,
            "ratios": ratios,
            "incremental": incremental,
        }
        args.json.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
