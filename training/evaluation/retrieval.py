"""Recall@k and MRR@10 with any number of positives per query.

A query is a hit at k if any of its positives is among its top-k results. When the gallery
holds fewer than k items, R@k is computed over the items available (top-min(k, n)), so it is
1.0 whenever a positive exists — defined, not a division by zero. MRR@10 is the mean of
1/rank of the first positive within the top 10, 0 beyond.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from search import GalleryIndex

KS = (1, 5, 10)
MRR_K = 10


def retrieval_metrics(queries: np.ndarray, gallery: np.ndarray, positives: Sequence[set[int]],
                      ks: Sequence[int] = KS) -> dict[str, float]:
    if len(queries) != len(positives):
        raise ValueError(f"{len(queries)} queries but {len(positives)} positive sets")
    if queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"query embeddings are {queries.shape[1]}-d but the gallery's are {gallery.shape[1]}-d; "
                         "queries and gallery must come from the same model")
    index = GalleryIndex(gallery.shape[1], exact=True)
    index.add(gallery)
    depth = max(max(ks), MRR_K)
    _, ids = index.search(queries, depth)
    out = {}
    first_hit = np.full(len(queries), np.inf)
    for qi, (row, pos) in enumerate(zip(ids, positives)):
        for rank, gid in enumerate(row, 1):
            if int(gid) in pos:
                first_hit[qi] = rank
                break
    for k in ks:
        out[f"R@{k}"] = float(np.mean(first_hit <= k)) if len(queries) else float("nan")
    rr = np.where(first_hit <= MRR_K, 1.0 / first_hit, 0.0)
    out[f"MRR@{MRR_K}"] = float(rr.mean()) if len(queries) else float("nan")
    out["queries"] = int(len(queries))
    out["gallery"] = int(len(gallery))
    return out
