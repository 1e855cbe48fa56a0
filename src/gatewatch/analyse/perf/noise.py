"""Noise verdict: is this series actionable, and what is the smallest change it can reveal?

The variation is the robust noise SD (MAD of first differences, after outlier
runs are cleaned; see ``clean.py``) relative to the median level: a coefficient
of variation that level shifts and outlier runs do not inflate.

The smallest detectable change follows from the detector itself. With ``m``
commits on each side of a shift of size delta, the standardised CUSUM statistic
is delta / sigma * sqrt(m / 2); the detector reports the shift when that exceeds
``threshold_sd``, so at power ``power`` (one-sided normal quantile z):

    delta_min = (threshold_sd + z) * sigma * sqrt(2 / m)

This is the usual two-sample power calculation (e.g. Cohen 1988) with the
detector's calibrated threshold in place of the z of a single test.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from gatewatch.analyse.perf.detect import Analysis
from gatewatch.domain.perf import NoiseLevel, NoiseVerdict

QUIET_MAX_PCT = 5.0
NOISY_MAX_PCT = 15.0


def compute_min_detectable_pct(
    cv_pct: float, *, commits_per_side: int, threshold_sd: float, power: float = 0.8
) -> float:
    """Smallest shift (percent of the level) found with probability ``power``."""
    z = NormalDist().inv_cdf(power)
    return (threshold_sd + z) * cv_pct * float(np.sqrt(2.0 / commits_per_side))


def compute_noise_verdict(
    analysis: Analysis, *, runs_per_commit: int = 1, commits_per_side: int = 10, power: float = 0.8
) -> NoiseVerdict:
    """Robust CV, smallest detectable change and a plain sentence for one analysed series."""
    cleaned = np.asarray(analysis.cleaned, dtype=np.float64)
    level = float(np.median(cleaned)) if cleaned.size else 0.0
    if cleaned.size < 2 * analysis.options.min_segment or level == 0:
        return NoiseVerdict(
            level=NoiseLevel.UNKNOWN,
            cv_pct=float("nan"),
            min_detectable_pct=float("nan"),
            runs_per_commit=runs_per_commit,
            commits_per_side=commits_per_side,
            point_count=int(cleaned.size),
            sentence=f"only {cleaned.size} points (or a zero level): too few to judge the noise; "
            f"at least {2 * analysis.options.min_segment} are needed",
        )
    cv_pct = analysis.noise_sd / abs(level) * 100.0
    min_pct = compute_min_detectable_pct(
        cv_pct, commits_per_side=commits_per_side, threshold_sd=analysis.options.threshold_sd, power=power
    )
    runs = "run" if runs_per_commit == 1 else "runs"
    sentence = (
        f"this benchmark varies ±{cv_pct:.1f}% between identical runs; only changes above "
        f"{max(min_pct, 0.1):.1f}% can be detected with {runs_per_commit} {runs} per commit "
        f"({power:.0%} power, {commits_per_side} commits before and after the change)"
    )
    return NoiseVerdict(
        level=_level(min_pct),
        cv_pct=cv_pct,
        min_detectable_pct=min_pct,
        runs_per_commit=runs_per_commit,
        commits_per_side=commits_per_side,
        point_count=int(cleaned.size),
        sentence=sentence,
    )


def _level(min_detectable_pct: float) -> NoiseLevel:
    if min_detectable_pct <= QUIET_MAX_PCT:
        return NoiseLevel.QUIET
    if min_detectable_pct <= NOISY_MAX_PCT:
        return NoiseLevel.NOISY
    return NoiseLevel.UNUSABLE
