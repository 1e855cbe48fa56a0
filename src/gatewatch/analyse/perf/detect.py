"""Change-point detection on one benchmark series: full and incremental.

Pipeline (pure, NumPy-vectorised, deterministic):
1. noise SD from first differences; Hampel filter flags outlier runs and replaces
   them by their local median (``clean.py``);
2. seeded binary segmentation with a CUSUM statistic and a calibrated constant
   threshold finds the change points (``segment.py``); when the residuals around
   them are positively autocorrelated, the noise SD is inflated to the long-run SD
   and the search runs again (drifting noise must not look like shifts);
3. each change point gets before/after statistics, a two-sided Mann-Whitney
   p-value (rank-based, as Mozilla Perfherder's and Hunter's post-tests are
   location tests) between the segments that surround it, a direction (regression
   or improvement given the metric's direction) and a likely index range.

``update_analysis`` reanalyses only the tail that starts at the last confirmed
change point (one that has at least ``confirm_points`` points after it).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from gatewatch.analyse.perf.clean import FloatArray, compute_cleaned, compute_noise_sd
from gatewatch.analyse.perf.segment import Split, compute_cusum_profile, compute_splits
from gatewatch.analyse.perf.stats import compute_change_point
from gatewatch.domain.perf import ChangePoint, Direction, Outlier
from gatewatch.errors import PerfError


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectorOptions:
    """Detector settings; the defaults are the calibrated ones (docs/perf.md)."""

    threshold_sd: float = 4.0
    min_segment: int = 5
    decay: float = 0.7071067811865476
    outlier_threshold_sd: float = 5.0
    outlier_half_window: int = 5
    max_p_value: float = 0.001
    min_magnitude_pct: float = 0.0
    confirm_points: int = 30
    autocorrelation_correction: bool = True
    direction: Direction = Direction.LOWER_IS_BETTER


@dataclass(frozen=True, slots=True, kw_only=True)
class Analysis:
    """The result of analysing one series; ``update_analysis`` extends it."""

    values: tuple[float, ...]
    cleaned: tuple[float, ...]
    change_points: tuple[ChangePoint, ...]
    outliers: tuple[Outlier, ...]
    noise_sd: float
    options: DetectorOptions = field(default_factory=DetectorOptions)
    seed: int = 0
    analysed_from: int = 0


def _as_array(values: Sequence[float]) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise PerfError("a series must be one-dimensional", hint="pass one value per commit")
    if array.size and not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise PerfError(
            f"value at position {bad} is not a finite number ({array[bad]})",
            hint="drop NaN/inf values first (compute_series does and reports them)",
        )
    return array


def compute_change_points(
    values: Sequence[float], *, options: DetectorOptions | None = None, seed: int = 0
) -> Analysis:
    """Find change points and outlier runs in ``values`` (one value per commit, in order).

    ``seed`` is recorded for reproducibility; the current method is deterministic.
    """
    opts = options or DetectorOptions()
    raw = _as_array(values)
    noise_sd = compute_noise_sd(raw)
    cleaned = compute_cleaned(
        raw, half_window=opts.outlier_half_window, threshold=opts.outlier_threshold_sd, noise_sd=noise_sd
    )
    noise_sd = compute_noise_sd(cleaned.values)
    splits = _detect(cleaned.values, noise_sd=noise_sd, opts=opts)
    if opts.autocorrelation_correction:
        inflation = compute_autocorrelation_inflation(cleaned.values, splits)
        if inflation > 1.0:
            noise_sd *= inflation
            splits = _detect(cleaned.values, noise_sd=noise_sd, opts=opts)
    points = _describe(cleaned.values, splits, opts=opts, noise_sd=noise_sd)
    return Analysis(
        values=tuple(raw.tolist()),
        cleaned=tuple(cleaned.values.tolist()),
        change_points=points,
        outliers=cleaned.outliers,
        noise_sd=noise_sd,
        options=opts,
        seed=seed,
    )


def compute_autocorrelation_inflation(values: FloatArray, splits: Sequence[Split]) -> float:
    """Factor for the noise SD when residuals are positively autocorrelated (else 1).

    Differences estimate sigma * sqrt(1 - phi) for AR(1) noise, while the CUSUM's scale is
    the long-run SD sigma * sqrt((1 + phi) / (1 - phi)); the ratio is sqrt(1 + phi) / (1 - phi).
    phi is the lag-1 autocorrelation of the residuals around the first pass's segment means,
    used only when above 2 / sqrt(n) (its null standard error is 1 / sqrt(n)).
    """
    n = values.size
    if n < 20:
        return 1.0
    bounds = [0, *(s.index for s in splits), n]
    residuals = np.concatenate(
        [values[a:b] - float(values[a:b].sum()) / (b - a) for a, b in itertools.pairwise(bounds)]
    )
    energy = float(residuals @ residuals)
    if energy == 0:
        return 1.0
    phi = min(float(residuals[1:] @ residuals[:-1]) / energy, 0.8)
    if phi <= 2.0 / np.sqrt(n):
        return 1.0
    return float(np.sqrt(1.0 + phi) / (1.0 - phi))


def _detect(values: FloatArray, *, noise_sd: float, opts: DetectorOptions, offset: int = 0) -> list[Split]:
    splits = compute_splits(
        values,
        noise_sd=noise_sd,
        threshold=opts.threshold_sd,
        min_segment=opts.min_segment,
        decay=opts.decay,
    )
    return [
        Split(index=s.index + offset, start=s.start + offset, end=s.end + offset, statistic=s.statistic)
        for s in splits
    ]


def _next(splits: Sequence[Split], i: int, size: int) -> int:
    return splits[i + 1].index if i + 1 < len(splits) else size


def _describe(
    values: FloatArray,
    splits: Sequence[Split],
    *,
    opts: DetectorOptions,
    noise_sd: float,
    first_start: int = 0,
) -> tuple[ChangePoint, ...]:
    """Turn splits into change points, dropping those that fail the post-test.

    Like Hunter's merge step (Fleming et al. 2023): the weakest failing point is
    removed and only its two neighbours are re-described, until all pass.
    """
    kept = _refine(values, list(splits), first_start=first_start, min_segment=opts.min_segment)

    def describe(i: int) -> ChangePoint:
        return compute_change_point(
            values,
            split=kept[i],
            bounds=(kept[i - 1].index if i else first_start, _next(kept, i, values.size)),
            direction=opts.direction,
            min_segment=opts.min_segment,
            noise_sd=noise_sd,
        )

    points = [describe(i) for i in range(len(kept))]
    while True:
        weak = [i for i, p in enumerate(points) if not _passes(p, opts)]
        if not weak:
            return tuple(points)
        worst = max(weak, key=lambda i: points[i].p_value)
        del kept[worst], points[worst]
        for i in (worst - 1, worst):
            if 0 <= i < len(kept):
                points[i] = describe(i)


def _refine(values: FloatArray, splits: list[Split], *, first_start: int, min_segment: int) -> list[Split]:
    """Move each split to the CUSUM maximum between its neighbours (one pass, left to right).

    The greedy search locates a split inside a seeded interval that may overlap a
    neighbouring shift; between the neighbours there is exactly one shift, where the
    CUSUM argmax is the least-squares location.
    """
    refined = list(splits)
    for i, split in enumerate(refined):
        start = refined[i - 1].index if i else first_start
        end = _next(refined, i, values.size)
        if end - start < 2 * min_segment:
            continue
        profile = compute_cusum_profile(values, start=start, end=end, min_segment=min_segment)
        best = start + int(np.nanargmax(profile))
        refined[i] = Split(index=best, start=start, end=end, statistic=split.statistic)
    return refined


def _passes(point: ChangePoint, opts: DetectorOptions) -> bool:
    return point.p_value <= opts.max_p_value and abs(point.magnitude_pct) >= opts.min_magnitude_pct


def update_analysis(previous: Analysis, new_values: Sequence[float]) -> Analysis:
    """Extend ``previous`` with ``new_values``, reanalysing only the unconfirmed tail.

    Change points that already had at least ``confirm_points`` points after them in
    ``previous`` are kept as they are; detection restarts at the last of them. A point
    seen with fewer points after it is not trusted yet (its location may still move), so
    it is found again together with the new values.
    """
    opts = previous.options
    added = _as_array(new_values)
    raw = np.concatenate((np.asarray(previous.values, dtype=np.float64), added))
    known = len(previous.values)
    confirmed = [p for p in previous.change_points if known - p.index >= opts.confirm_points]
    start = confirmed[-1].index if confirmed else 0
    if start == 0:
        return compute_change_points(raw.tolist(), options=opts, seed=previous.seed)
    reclean_from = max(start, len(previous.values) - opts.outlier_half_window) - opts.outlier_half_window
    noise_sd = previous.noise_sd
    tail = compute_cleaned(
        raw[reclean_from:],
        half_window=opts.outlier_half_window,
        threshold=opts.outlier_threshold_sd,
        noise_sd=noise_sd,
        offset=reclean_from,
    )
    cleaned = np.concatenate((np.asarray(previous.cleaned[:reclean_from]), tail.values))
    outliers = tuple(o for o in previous.outliers if o.index < reclean_from) + tail.outliers
    last = confirmed[-1]
    new_splits = _detect(cleaned[start:], noise_sd=noise_sd, opts=opts, offset=start)
    head_end = confirmed[-2].index if len(confirmed) > 1 else 0
    tail_points = _describe(
        cleaned,
        [Split(index=last.index, start=0, end=0, statistic=last.statistic), *new_splits],
        opts=opts,
        noise_sd=noise_sd,
        first_start=head_end,
    )
    points = tuple(confirmed[:-1]) + tail_points
    return Analysis(
        values=tuple(raw.tolist()),
        cleaned=tuple(cleaned.tolist()),
        change_points=points,
        outliers=outliers,
        noise_sd=noise_sd,
        options=opts,
        seed=previous.seed,
        analysed_from=start,
    )
