"""Robust preprocessing: flag outlier runs with a Hampel filter and estimate the noise.

A Hampel filter (Hampel 1974; Pearson et al. 2016, "Generalized Hampel filters",
EURASIP J. Adv. Signal Process.) compares each point with the median of its
centred window and flags it when it lies more than ``threshold`` robust standard
deviations (1.4826 x MAD) away. Flagged points are replaced by that local median,
so indices stay aligned with commits and one slow run (e.g. a noisy neighbour on
the CI node) never looks like a level shift. The scale used is the larger of the
local MAD and the global noise estimate, so a window that happens to be very
quiet does not flag ordinary points.

The noise estimate is the MAD of first differences divided by sqrt(2) (the mean
absolute difference when most differences are 0, e.g. quantised values): level
shifts only touch a few differences, so the median ignores them (the usual
difference-based estimator, e.g. Fryzlewicz 2014, Wild Binary Segmentation).
NumPy only, vectorised; no loops over points.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gatewatch.domain.perf import Outlier

MAD_TO_SD = 1.4826

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Cleaned:
    """Values with outliers replaced by their local median, and the outliers found."""

    values: FloatArray
    outliers: tuple[Outlier, ...]


def compute_noise_sd(values: FloatArray) -> float:
    """Robust standard deviation of the noise around a piecewise-constant level."""
    if values.size < 3:
        return 0.0
    diffs = np.abs(np.diff(values))
    robust = float(MAD_TO_SD * _median(diffs) / np.sqrt(2.0))
    if robust > 0:
        return robust
    # Over half the differences are 0: quantised values (integer milliseconds) or a
    # noiseless series. Fall back to the mean absolute difference (Gaussian-consistent).
    return float(np.mean(diffs) * np.sqrt(np.pi / 2.0) / np.sqrt(2.0))


def compute_rolling_median(values: FloatArray, half_window: int) -> tuple[FloatArray, FloatArray]:
    """Centred rolling median and MAD (edges use a reflected window)."""
    n = values.size
    width = 2 * half_window + 1
    if n < width:
        med = np.full(n, float(np.median(values)))
        mad = np.full(n, float(np.median(np.abs(values - med[0]))))
        return med, mad
    padded = np.concatenate((values[half_window:0:-1], values, values[-2 : -half_window - 2 : -1]))
    windows = np.sort(padded[_window_index(n, width)], axis=1)
    med = windows[:, half_window]
    mad = np.sort(np.abs(windows - med[:, None]), axis=1)[:, half_window]
    return med, mad


def _median(values: FloatArray) -> float:
    """np.median for 1-D input, without its generic-axis overhead (called per series)."""
    k = values.size // 2
    part = np.partition(values, k)
    return float(part[k]) if values.size % 2 else float((part[k] + part[:k].max()) / 2.0)


@functools.lru_cache(maxsize=16)
def _window_index(n: int, width: int) -> npt.NDArray[np.int64]:
    """Row i holds the positions of window i in the padded array (memoised per length)."""
    return np.arange(n, dtype=np.int64)[:, None] + np.arange(width, dtype=np.int64)[None, :]


def compute_cleaned(
    values: FloatArray, *, half_window: int, threshold: float, noise_sd: float, offset: int = 0
) -> Cleaned:
    """Flag points more than ``threshold`` robust SDs from their local median.

    ``offset`` is added to reported outlier indices (used when cleaning a tail).
    """
    if values.size < 3 or threshold <= 0:
        return Cleaned(values=values.copy(), outliers=())
    med, mad = compute_rolling_median(values, half_window)
    scale = np.maximum(MAD_TO_SD * mad, noise_sd)
    deviation = np.abs(values - med)
    flagged = np.flatnonzero((deviation > threshold * scale) & (scale > 0))
    cleaned = values.copy()
    cleaned[flagged] = med[flagged]
    outliers = tuple(
        Outlier(
            index=int(i) + offset,
            value=float(values[i]),
            expected=float(med[i]),
            deviation_pct=_pct(float(values[i]), float(med[i])),
        )
        for i in flagged
    )
    return Cleaned(values=cleaned, outliers=outliers)


def _pct(value: float, reference: float) -> float:
    if reference == 0:
        return 0.0
    return (value - reference) / abs(reference) * 100.0
