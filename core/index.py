"""`GalleryIndex`: inner-product search over L2-normalised embeddings with FAISS.

Small galleries get an exact flat index; past `approximate_threshold` items an inverted-file
index (IVF-Flat: 4·√n k-means lists, full vectors, IVF_NPROBE lists searched) is built instead.
`python -m benchmarks.index_scale` chose it: at 100k and 1M vectors, with near-duplicates as photo
collections have them, HNSW (M=32) reached recall@10 0.98 at 100k only with efSearch=1024 and
0.57 at 1M; IVF-PQ stayed at 0.55–0.71 (its codes cannot tell near-duplicates apart); IVF-Flat
with 64 probes kept 0.98 at 100k and 0.99 at 1M (p50 1.8 ms on one thread, 1.04 GB). The choice is automatic and reported
by `kind`, so the app can show which one answered and the evaluation can insist on exact.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from core.io import atomic_path

APPROXIMATE_THRESHOLD = 50_000
IVF_NPROBE = 64
IVF_TRAIN_PER_LIST = 64  # k-means points per list: faiss wants ≥ 39; all of 1M would take most of an hour on 2 cores


class GalleryIndex:
    def __init__(self, dim: int, approximate_threshold: int = APPROXIMATE_THRESHOLD, exact: bool = False):
        self.dim, self.approximate_threshold, self.exact = int(dim), int(approximate_threshold), exact
        self.payloads: list = []
        self._vectors: list[np.ndarray] = []
        self._index = None
        self._loaded = False  # from a file: its vectors live only inside the FAISS index

    @property
    def kind(self) -> str:
        return "ivf" if (not self.exact and len(self) >= self.approximate_threshold) else "exact"

    def __len__(self) -> int:
        return len(self.payloads)

    def add(self, embeddings: np.ndarray, payloads: Sequence | None = None) -> None:
        if self._loaded:
            raise ValueError("an index loaded from a file is read-only: build a new one to add images")
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
        if self.kind == "ivf":
            nlist = max(1, int(4 * np.sqrt(len(data))))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.dim), self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            sample = np.random.default_rng(0).permutation(len(data))[:IVF_TRAIN_PER_LIST * nlist]
            index.train(data[np.sort(sample)])
            index.nprobe = IVF_NPROBE
        else:
            index = faiss.IndexFlatIP(self.dim)
        index.add(data)
        self._index = index

    def save(self, path: Path) -> None:
        """The FAISS index, written atomically (payloads are the caller's to keep)."""
        import faiss

        if self._index is None:
            self._build()
        with atomic_path(path) as tmp:
            faiss.write_index(self._index, str(tmp))

    @classmethod
    def load(cls, path: Path, payloads: Sequence) -> "GalleryIndex":
        """An index written by `save`, with one payload per vector; its kind is read from the file."""
        import faiss

        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise ValueError(f"{path} is not a readable FAISS index ({str(exc).splitlines()[0][:200]})") from exc
        if index.ntotal != len(payloads):
            raise ValueError(f"{path} holds {index.ntotal} vectors for {len(payloads)} payloads")
        approximate = isinstance(index, faiss.IndexIVF)
        if approximate:
            index.nprobe = IVF_NPROBE
        gallery = cls(index.d, approximate_threshold=0 if approximate else len(payloads) + 1, exact=not approximate)
        gallery.payloads = list(payloads)
        gallery._index, gallery._loaded = index, True
        return gallery

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

    def top(self, query: np.ndarray, k: int) -> list[tuple[Any, float]]:
        """The best `k` (payload, score) pairs for one query vector: the one ranking path every
        gallery, upload list and caption list goes through."""
        scores, ids = self.search(np.asarray(query, np.float32).reshape(1, -1), k)
        return [(self.payloads[i], float(s)) for i, s in zip(ids[0], scores[0])]
