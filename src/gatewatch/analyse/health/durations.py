"""Duration trends: a fast screen over every test, confirmed by the perf change-point detector.

Two stages, so that health stays fast over thousands of tests and a reported step carries
the same evidence as a performance regression:

1. **Screen** (all series at once, numpy): sliding medians, below. Cheap, and it rejects
   almost every series.
2. **Confirm** (only the screened candidates): ``analyse.perf``'s calibrated change-point
   detector (issue #5: outlier cleaning, CUSUM segmentation, a rank test with
   autocorrelation correction) must find a slow-down there (a ``regression`` for a
   lower-is-better metric; ``improvement`` for ``direction="down"``) with
   p <= ``max_p_value`` and a change >= ``min_ratio``. The step is placed where that
   detector puts it and carries its p-value.

Screen: at each split point i, compare the median of the ``window`` durations after i with
the median of the ``window`` before. The noise scale is the pooled median absolute
deviation (MAD, x1.4826 to estimate a standard deviation) of both windows around their own
medians, floored at ``min_relative_noise`` of the earlier median so a perfectly constant
series does not alarm on a jitter. The best split is the one with the largest score
``(after - before) / scale``; it is reported when the score >= ``threshold`` and the
relative change >= ``min_ratio``. Medians and MADs ignore up to half the window of outliers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from gatewatch.analyse.perf.detect import DetectorOptions, compute_change_points
from gatewatch.domain.health import DurationStep
from gatewatch.domain.perf import ChangeKind, ChangePoint

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True, kw_only=True)
class DurationStepOptions:
    """``direction`` is ``up`` (slower, the default), ``down`` or ``both``."""

    window: int = 10
    threshold: float = 5.0
    min_ratio: float = 1.2
    min_relative_noise: float = 0.02
    direction: str = "up"
    max_p_value: float = 0.001


def _scores(x: np.ndarray, options: DurationStepOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Medians before/after and scores at every split of each row of ``x`` (k series x n)."""
    w = options.window
    windows = sliding_window_view(x, w, axis=1)
    med = np.median(windows, axis=2)
    mad = np.median(np.abs(windows - med[:, :, None]), axis=2)
    before, after = med[:, :-w], med[:, w:]
    noise = MAD_TO_SIGMA * np.sqrt((mad[:, :-w] ** 2 + mad[:, w:] ** 2) / 2.0)
    scale = np.maximum(np.maximum(noise, options.min_relative_noise * np.abs(before)), 1e-12)
    score = (after - before) / scale
    if options.direction == "down":
        score = -score
    elif options.direction == "both":
        score = np.abs(score)
    return before, after, score


def _best(
    before: np.ndarray, after: np.ndarray, score: np.ndarray, options: DurationStepOptions
) -> DurationStep | None:
    # a clean step scores the same at every split within half a window of it: take the
    # middle of the plateau of best scores
    top = float(np.max(score))
    plateau = np.flatnonzero(score >= top - 1e-9 * abs(top))
    best = int(plateau[plateau.size // 2])
    b, a = float(before[best]), float(after[best])
    ratio = a / b if b > 0 else float("inf")
    change = max(ratio, 1.0 / ratio) if ratio > 0 else float("inf")
    if top < options.threshold or change < options.min_ratio:
        return None
    return DurationStep(index=best + options.window, before_s=b, after_s=a, ratio=ratio, score=top)


def detect_duration_steps(
    series: Sequence[Sequence[float] | npt.NDArray[np.float64]],
    *,
    options: DurationStepOptions = DurationStepOptions(),
) -> list[DurationStep | None]:
    """:func:`detect_duration_step` for many series at once (series of equal length after
    dropping non-finite values are scored in one numpy batch)."""
    clean = [np.asarray(s, dtype=np.float64) for s in series]
    clean = [x[np.isfinite(x)] for x in clean]
    out: list[DurationStep | None] = [None] * len(clean)
    by_length: dict[int, list[int]] = {}
    for i, x in enumerate(clean):
        if options.window >= 2 and x.size >= 2 * options.window:
            by_length.setdefault(x.size, []).append(i)
    for indices in by_length.values():
        before, after, score = _scores(np.stack([clean[i] for i in indices]), options)
        for row, i in enumerate(indices):
            candidate = _best(before[row], after[row], score[row], options)
            out[i] = None if candidate is None else _confirm(clean[i], candidate, options)
    return out


def _confirm(x: np.ndarray, candidate: DurationStep, options: DurationStepOptions) -> DurationStep | None:
    """The screened step as the perf detector sees it, or None when it does not confirm it."""
    detector = DetectorOptions(min_segment=max(3, options.window // 2), max_p_value=options.max_p_value)
    wanted = {"up": {ChangeKind.REGRESSION}, "down": {ChangeKind.IMPROVEMENT}}.get(
        options.direction, {ChangeKind.REGRESSION, ChangeKind.IMPROVEMENT}
    )
    points = [
        p
        for p in compute_change_points(x.tolist(), options=detector).change_points
        if p.kind in wanted and p.p_value <= options.max_p_value and _change(p) >= options.min_ratio
    ]
    if not points:
        return None
    point = min(points, key=lambda p: (abs(p.index - candidate.index), p.p_value))
    return DurationStep(
        index=point.index,
        before_s=candidate.before_s,
        after_s=candidate.after_s,
        ratio=candidate.ratio,
        score=candidate.score,
        p_value=point.p_value,
    )


def _change(point: ChangePoint) -> float:
    """The size of a change as a ratio >= 1 (1.2: 20 % slower or faster)."""
    if point.mean_before <= 0 or point.mean_after <= 0:
        return float("inf")
    ratio = point.mean_after / point.mean_before
    return max(ratio, 1.0 / ratio)


def detect_duration_step(
    durations: Sequence[float], *, options: DurationStepOptions = DurationStepOptions()
) -> DurationStep | None:
    """The largest step in ``durations`` (in run order), or None when there is none.

    ``index`` is the first run after the step. Non-finite values are dropped first
    (indices refer to the finite values).
    """
    return detect_duration_steps([durations], options=options)[0]
