"""Bootstrap intervals that resample concepts, and paired intervals for ratios.

The unit of resampling is the concept (an emoji, a flag), not the query: the captions of one
concept in one language, or its name in 99 languages, are not independent draws, and treating
them as such would make intervals look narrower than the data allows. One draw of concept
weights (how often each concept appears in a resample) is shared by every language, every metric
and every model of a run, so a student ÷ teacher ratio is *paired*: both sides of each
resample see the same concepts, and their shared difficulty cancels.

For a statistic that is a mean over queries, a resample's value is
    Σ_c w_c · sum_c / Σ_c w_c · n_c
with w_c the count of concept c in the resample, sum_c the statistic summed over c's queries and
n_c their number — a matrix product for all resamples at once.
"""
from __future__ import annotations

import numpy as np

N_BOOT = 1000
LEVEL = 0.95


def concept_weights(n_concepts: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """[n_boot, n_concepts] multiplicities: each row is one resample of n_concepts with replacement."""
    if n_concepts <= 0:
        return np.zeros((n_boot, 0))
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_concepts, np.full(n_concepts, 1.0 / n_concepts), size=n_boot).astype(np.float64)


def per_concept(values: np.ndarray, concept_index: np.ndarray, n_concepts: int) -> tuple[np.ndarray, np.ndarray]:
    """(sum of values, number of queries) per concept."""
    values = np.asarray(values, np.float64)
    sums = np.bincount(concept_index, weights=values, minlength=n_concepts)
    counts = np.bincount(concept_index, minlength=n_concepts).astype(np.float64)
    return sums, counts


def resampled_means(sums: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """[n_boot] query means under each resample; NaN where a resample holds none of the queries."""
    return ratio_samples(weights @ sums, weights @ counts)


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval, ignoring resamples where the statistic is undefined."""
    samples = np.asarray(samples, np.float64)
    samples = samples[np.isfinite(samples)]
    if not len(samples):
        return float("nan"), float("nan")
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def ratio_samples(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Paired per-resample ratios; undefined (NaN) where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def estimate(point: float, samples: np.ndarray, level: float = LEVEL) -> dict[str, float]:
    lo, hi = interval(samples, level)
    return {"value": float(point), "lo": lo, "hi": hi}
