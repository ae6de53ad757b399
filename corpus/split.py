"""Concept-group splits: seeded, deterministic, and disjoint by construction.

Splitting by caption would put "cat" in train and "gato" in test — the model would be tested
on images it was trained on. Splitting by single emoji leaks near-duplicates ("man
astronaut" / "woman astronaut"). We split by concept *group*, per kind, so each kind gets its
own proportional held-out set.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def assign_splits(groups: Iterable[str], seed: int = 0,
                  fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> dict[str, str]:
    """Map each distinct group to train/val/test; the same inputs always give the same map."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {fractions}")
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    n_train = int(round(fractions[0] * len(unique)))
    n_val = int(round(fractions[1] * len(unique)))
    out = {}
    for rank, idx in enumerate(order):
        out[unique[idx]] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return out
