"""`GalleryIndex`: inner-product search over L2-normalised embeddings with FAISS.

Small galleries get an exact flat index; past `hnsw_threshold` items an HNSW graph is built
instead (approximate, much faster at that size). The choice is automatic and reported by
`kind`, so the app can show which one answered and the evaluation can insist on exact.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

HNSW_THRESHOLD = 50_000
HNSW_M = 32


class GalleryIndex:
    def __init__(self, dim: int, hnsw_threshold: int = HNSW_THRESHOLD, exact: bool = False):
        self.dim, self.hnsw_threshold, self.exact = int(dim), int(hnsw_threshold), exact
        self.payloads: list = []
        self._vectors: list[np.ndarray] = []
        self._index = None

    @property
    def kind(self) -> str:
        return "hnsw" if (not self.exact and len(self) >= self.hnsw_threshold) else "exact"

    def __len__(self) -> int:
        return len(self.payloads)

    def add(self, embeddings: np.ndarray, payloads: Sequence | None = None) -> None:
        emb = np.ascontiguousarray(embeddings, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.dim:
            raise ValueError(f"embeddings of shape {emb.shape} do not match this {self.dim}-d gallery")
        if payloads is not None and len(payloads) != len(emb):
            raise ValueError(f"{len(payloads)} payloads for {len(emb)} embeddings")
        self._vectors.append(emb)
        self.payloads.extend(payloads if payloads is not None else range(len(self), len(self) + len(emb)))
        self._index = None  # rebuilt lazily: the kind may change with the size

    def _build(self):
        import faiss

        data = np.concatenate(self._vectors) if self._vectors else np.zeros((0, self.dim), np.float32)
        if self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 128
        else:
            index = faiss.IndexFlatIP(self.dim)
        index.add(data)
        self._index = index

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores [Q, k'], ids [Q, k']) with k' = min(k, len(self)); best first."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries of shape {q.shape} do not match this {self.dim}-d gallery "
                             "(was the gallery built with another model?)")
        k = min(int(k), len(self))
        if k <= 0 or len(q) == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        if self._index is None:
            self._build()
        scores, ids = self._index.search(q, k)
        return scores, ids
