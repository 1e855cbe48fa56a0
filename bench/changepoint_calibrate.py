"""Calibrate the change-point detector's threshold by simulation (gatewatch only, no peers).

Run:  /work/venv/bin/python bench/changepoint_calibrate.py [--quick]

For each threshold (in noise SDs) and post-test level it prints false alarms per
1,000 points on pure Gaussian noise and on noise with 3% outlier runs (n = 100,
1,000, 10,000) and precision/recall/F1 on 2-5% and 5-20% steps, using the same
generator as bench/changepoint.py. The defaults in DetectorOptions come from this table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from changepoint import generate, score
from gatewatch.analyse.perf.detect import DetectorOptions, compute_change_points

NULL_PLAN = [(100, 400), (1000, 60), (10000, 8)]


def false_alarms(scenario: str, options: DetectorOptions, *, seed: int, scale: int) -> list[float]:
    rates = []
    for n, count in NULL_PLAN:
        rng = np.random.default_rng([seed, n, 99])
        series = [generate(scenario, n, rng)[0] for _ in range(max(1, count // scale))]
        found = sum(len(compute_change_points(xs, options=options).change_points) for xs in series)
        rates.append(found / (n * len(series)) * 1000)
    return rates


def quality(scenario: str, options: DetectorOptions, *, seed: int, scale: int) -> dict[str, float]:
    rng = np.random.default_rng([seed, 1000, 7])
    pairs = [generate(scenario, 1000, rng) for _ in range(max(1, 40 // scale))]
    found = [[c.index for c in compute_change_points(xs, options=options).change_points] for xs, _ in pairs]
    return score(found, [t for _, t in pairs], 1000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--thresholds", default="4.0,4.3,4.6,5.0")
    parser.add_argument("--p-values", default="0.01,0.001")
    args = parser.parse_args()
    scale = 4 if args.quick else 1
    print(
        "thr    p     | FA/1000 noise n=100,1k,10k | FA/1000 outliers n=100,1k,10k | F1 2-5% (P/R) | F1 5-20%"
    )
    for thr in (float(t) for t in args.thresholds.split(",")):
        for p in (float(v) for v in args.p_values.split(",")):
            opts = replace(DetectorOptions(), threshold_sd=thr, max_p_value=p)
            fa = false_alarms("no-change", opts, seed=args.seed, scale=scale)
            fo = false_alarms("outliers-only", opts, seed=args.seed, scale=scale)
            small = quality("steps-2-5", opts, seed=args.seed, scale=scale)
            large = quality("steps-5-20", opts, seed=args.seed, scale=scale)
            print(
                f"{thr:4.1f} {p:7.4f} | {fa[0]:6.2f} {fa[1]:6.2f} {fa[2]:6.2f}        "
                f"| {fo[0]:6.2f} {fo[1]:6.2f} {fo[2]:6.2f}           "
                f"| {small['f1']:.3f} ({small['precision']:.2f}/{small['recall']:.2f}) | {large['f1']:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
