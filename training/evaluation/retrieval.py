"""Recall@k and MRR@10 with any number of positives per query.

A query is a hit at k if any of its positives is among its top-k results. When the gallery
holds fewer than k items, R@k is computed over the items available (top-min(k, n)), so it is
1.0 whenever a positive exists — defined, not a division by zero. MRR@10 is the mean of
1/rank of the first positive within the top 10, 0 beyond.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from core.index import GalleryIndex

KS = (1, 5, 10)
MRR_K = 10


def first_hit_ranks(queries: np.ndarray, gallery: np.ndarray, positives: Sequence[set[int]],
                    depth: int = MRR_K) -> np.ndarray:
    """Per query, the 1-based rank of its first positive within the top `depth`; inf beyond.
    Per-query values are what bootstrap intervals resample."""
    if len(queries) != len(positives):
        raise ValueError(f"{len(queries)} queries but {len(positives)} positive sets")
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"query embeddings are {queries.shape[1]}-d but the gallery's are {gallery.shape[1]}-d; "
                         "queries and gallery must come from the same model")
    index = GalleryIndex(gallery.shape[1], exact=True)
    index.add(gallery)
    _, ids = index.search(queries, depth)
    first_hit = np.full(len(queries), np.inf)
    for qi, (row, pos) in enumerate(zip(ids, positives)):
        for rank, gid in enumerate(row, 1):
            if int(gid) in pos:
                first_hit[qi] = rank
                break
    return first_hit


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
