"""Paired bootstrap intervals of a mean Dice difference over cases (no torch).

Used by the regression gate (intact vs broken pipelines) and by Table 1 (stage vs stage): the
same cases scored two ways, resampled with replacement as pairs, with a fixed seed so that a
rerun prints the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 10000


def paired_bootstrap(
    first: Sequence[float], second: Sequence[float], *, resamples: int = RESAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of ``first − second`` over paired cases and its percentile bootstrap 95 % interval.

    Returns:
        ``(mean, low, high)``.

    Raises:
        ValueError: no cases, or sequences of different lengths.
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"need paired, non-empty scores; got {a.size} and {b.size}")
    difference = a - b
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, difference.size, size=(resamples, difference.size))
    means = difference[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(difference.mean()), float(low), float(high)
