"""Recall@k and MRR@10 with any number of positives per query.

A query is a hit at k if any of its positives is among its top-k results. When the gallery
holds fewer than k items, R@k is computed over the items available (top-min(k, n)), so it is
1.0 whenever a positive exists — defined, not a division by zero. MRR@10 is the mean of
1/rank of the first positive within the top 10, 0 beyond.

Ties count against the model: a positive that scores exactly as high as a negative ranks below
it (rank = 1 + items scoring higher + negatives scoring the same). A nearest-neighbour index
breaks ties in an arbitrary order, which made a duplicated image's rank depend on where it sat
in the gallery; this rule does not, and it never rewards a model for failing to tell two items
apart. Scores are exact inner products, computed in blocks.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

KS = (1, 5, 10)
MRR_K = 10
BLOCK = 1024  # queries scored at a time: a [1024, gallery] float32 block


def first_hit_ranks(queries: np.ndarray, gallery: np.ndarray, positives: Sequence[set[int]],
                    depth: int = MRR_K) -> np.ndarray:
    """Per query, the 1-based rank of its first positive within the top `depth`; inf beyond.
    Per-query values are what bootstrap intervals resample. A negative scoring exactly as the best
    positive is ranked above it: a tie counts against the query."""
    return first_hit_rank_range(queries, gallery, positives, depth)[0]


def first_hit_rank_range(queries: np.ndarray, gallery: np.ndarray, positives: Sequence[set[int]],
                         depth: int = MRR_K) -> tuple[np.ndarray, np.ndarray]:
    """(ranks with every exact tie lost, ranks with every tie won), from one scoring pass: where a
    negative scores exactly as the best positive, any tie-breaking rule lands between the two."""
    if len(queries) != len(positives):
        raise ValueError(f"{len(queries)} queries but {len(positives)} positive sets")
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"query embeddings are {queries.shape[1]}-d but the gallery's are {gallery.shape[1]}-d; "
                         "queries and gallery must come from the same model")
    lost, won = np.full(len(queries), np.inf), np.full(len(queries), np.inf)
    gallery = np.asarray(gallery, np.float32)
    for start in range(0, len(queries), BLOCK):
        scores = np.asarray(queries[start:start + BLOCK], np.float32) @ gallery.T
        for qi, row in enumerate(scores, start):
            pos = np.fromiter(positives[qi], dtype=np.int64)
            if not len(pos):
                continue
            best = row[pos].max()
            negative = np.ones(len(row), bool)
            negative[pos] = False
            above = 1 + int((row > best).sum())
            rank = above + int((negative & (row == best)).sum())
            if rank <= depth:
                lost[qi] = rank
            if above <= depth:
                won[qi] = above
    return lost, won


def hit_table(first_hit: np.ndarray, ks: Sequence[int] = KS) -> dict[str, np.ndarray]:
    """Per-query R@k indicators and reciprocal ranks (MRR@10) from first-hit ranks."""
    out = {f"R@{k}": (first_hit <= k).astype(np.float64) for k in ks}
    out[f"MRR@{MRR_K}"] = np.where(first_hit <= MRR_K, 1.0 / first_hit, 0.0)
    return out


def retrieval_metrics(queries: np.ndarray, gallery: np.ndarray, positives: Sequence[set[int]],
                      ks: Sequence[int] = KS) -> dict[str, float]:
    first_hit = first_hit_ranks(queries, gallery, positives, max(max(ks), MRR_K))
    out = {k: (float(v.mean()) if len(queries) else float("nan")) for k, v in hit_table(first_hit, ks).items()}
    out["queries"] = int(len(queries))
    out["gallery"] = int(len(gallery))
    return out
