"""Seeded binary segmentation with a CUSUM statistic (the search for change points).

Method: Kovacs, Li, Buhlmann, Munk (2023), "Seeded binary segmentation: a general
methodology for fast and optimal changepoint detection", Biometrika 110(1).
A deterministic set of intervals is laid out in layers: layer k holds intervals
of length n * decay**k shifted by half their length, so every change point sits
well inside some interval that contains no other change point (the property Wild
Binary Segmentation, Fryzlewicz 2014, gets from random intervals, here without
randomness and with O(n log n) total work). In each interval the standardised
CUSUM statistic for a change in mean

    C(s, e, t) = sqrt((t-s)(e-t)/(e-s)) * |mean(x[s:t]) - mean(x[t:e])| / sigma

is computed for every split t with cumulative sums, all intervals of one layer at
once as a 2-D NumPy array. Change points are then picked greedily: the largest
statistic above the threshold wins, every interval containing it is dropped, and
so on (the "greedy selection" of Kovacs et al.).

The threshold is a constant number of noise SDs (calibrated by simulation, see
docs/perf.md): the number of intervals grows linearly with n, so a constant
threshold keeps false alarms per 1,000 points roughly constant for any length and
makes an analysis of a series' tail agree with an analysis of the whole series.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# Intervals reaching within this many points of a chosen split are dropped too: when the
# first-pass location is off by a point or two, an interval that only grazes the shift
# would otherwise yield a spurious split at its edge (the post-test removes those, at a cost).
EXCLUSION_MARGIN = 2
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Split:
    """One selected change point: the interval it was found in and its statistic."""

    index: int
    start: int
    end: int
    statistic: float


def compute_seeded_intervals(n: int, *, min_segment: int, decay: float) -> list[tuple[int, int]]:
    """(length, count) of each layer of seeded intervals over ``n`` points."""
    layers: list[tuple[int, int]] = []
    k = 0
    while True:
        length = int(np.ceil(n * decay**k))
        if length < 2 * min_segment:
            break
        count = 2 * int(np.ceil((1.0 / decay) ** k)) - 1
        layers.append((length, count))
        if length == 2 * min_segment:
            break
        k += 1
    return layers


@dataclass(frozen=True, slots=True)
class Layout:
    """Every candidate split of every seeded interval, flattened (depends only on n)."""

    split: IntArray
    start: IntArray
    end: IntArray
    weight: FloatArray
    inv_left: FloatArray
    inv_right: FloatArray
    owner: IntArray
    first: IntArray
    interval_start: IntArray
    interval_end: IntArray


@functools.lru_cache(maxsize=16)
def compute_layout(n: int, *, min_segment: int, decay: float) -> Layout:
    """Flattened candidate splits of all seeded intervals over ``n`` points (memoised)."""
    starts: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    lengths: list[IntArray] = [np.zeros(0, dtype=np.int64)]
    for size, count in compute_seeded_intervals(n, min_segment=min_segment, decay=decay):
        layer = np.unique(np.round(np.linspace(0, n - size, count)).astype(np.int64))
        starts.append(layer)
        lengths.append(np.full(layer.size, size, dtype=np.int64))
    start = np.concatenate(starts)
    length = np.concatenate(lengths)
    width = length - 2 * min_segment + 1
    first = np.concatenate(([0], np.cumsum(width)[:-1])).astype(np.int64)
    owner = np.repeat(np.arange(start.size, dtype=np.int64), width)
    offset = np.arange(owner.size, dtype=np.int64) - first[owner] + min_segment
    left_n = offset.astype(np.float64)
    right_n = length[owner] - left_n
    return Layout(
        split=start[owner] + offset,
        start=start[owner],
        end=(start + length)[owner],
        weight=np.sqrt(left_n * right_n / length[owner]),
        inv_left=1.0 / left_n,
        inv_right=1.0 / right_n,
        owner=owner,
        first=first,
        interval_start=start,
        interval_end=start + length,
    )


def compute_splits(
    values: FloatArray, *, noise_sd: float, threshold: float, min_segment: int, decay: float
) -> list[Split]:
    """Change points of ``values`` found by seeded binary segmentation, in index order."""
    n = values.size
    if n < 2 * min_segment or noise_sd <= 0:
        return []
    lay = compute_layout(n, min_segment=min_segment, decay=decay)
    csum = np.concatenate(([0.0], np.cumsum(values - float(np.mean(values)))))
    base = csum[lay.start]
    left = csum[lay.split] - base
    total = csum[lay.end] - base
    stat = np.abs(left * lay.inv_left - (total - left) * lay.inv_right) * lay.weight
    best = np.maximum.reduceat(stat, lay.first)
    over = best > threshold * noise_sd
    if not over.any():
        return []
    hits = np.flatnonzero(over[lay.owner] & (stat >= best[lay.owner]))
    hit_owner = lay.owner[hits]  # sorted: the layout is laid out interval by interval
    first = np.concatenate(([True], hit_owner[1:] != hit_owner[:-1]))
    owners = hit_owner[first]
    return _select_greedy(
        lay.split[hits[first]], best[owners] / noise_sd, lay.interval_start[owners], lay.interval_end[owners]
    )


def _select_greedy(tau: IntArray, stat: FloatArray, start: IntArray, end: IntArray) -> list[Split]:
    """Largest statistic first; drop every candidate whose interval holds (or nearly holds) a chosen point."""
    order = np.argsort(-stat, kind="stable")
    tau, stat, start, end = tau[order], stat[order], start[order], end[order]
    alive = np.ones(tau.size, dtype=bool)
    chosen: list[Split] = []
    while True:
        remaining = np.flatnonzero(alive)
        if remaining.size == 0:
            break
        i = int(remaining[0])
        chosen.append(
            Split(index=int(tau[i]), start=int(start[i]), end=int(end[i]), statistic=float(stat[i]))
        )
        alive &= ~((start < tau[i] + EXCLUSION_MARGIN) & (end > tau[i] - EXCLUSION_MARGIN))
        alive[i] = False
    return sorted(chosen, key=lambda s: s.index)


def compute_cusum_profile(values: FloatArray, *, start: int, end: int, min_segment: int) -> FloatArray:
    """Scaled |CUSUM| for every split of ``values[start:end]`` (NaN where not allowed)."""
    seg = values[start:end] - float(values[start:end].sum()) / (end - start)
    length = seg.size
    csum = np.cumsum(seg)[:-1]
    left_n = np.arange(1, length, dtype=np.float64)
    right_n = length - left_n
    stat = np.abs(csum / left_n + csum / right_n) * np.sqrt(left_n * right_n / length)
    out = np.full(length, np.nan)
    out[1:] = stat
    out[: min(min_segment, length)] = np.nan
    out[max(length - min_segment + 1, 0) :] = np.nan
    return out
