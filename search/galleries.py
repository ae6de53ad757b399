"""What the app searches: the corpus gallery (or a user's own index), one FAISS index per model and
backend, and each language's captions for image queries; every ranking goes through `GalleryIndex`."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from core.feature_cache import cached_features
from core.index import GalleryIndex
from core.languages import normalize_language
from core.records import Record
from corpus.corpus import app_gallery

from .build_index import fingerprint, image_identity, image_tower_files, read_index


class Galleries:
    def __init__(self, root: Path, records: list[Record], corpus_key: str, user_index: Path | None = None):
        """`user_index`: a directory from `python -m search.build_index`; its images replace the
        corpus gallery, for the models that share the image tower it was embedded with."""
        self.root, self.records, self.corpus_key = root, records, corpus_key
        gallery, english = app_gallery(records)  # every corpus image, wherever the split put it
        self.paths = [str(root / p) for p in gallery]
        self.captions = {str(root / p): english[p] for p in gallery}
        self._indexes: dict[tuple[str, str], GalleryIndex] = {}
        self._caption_indexes: dict[tuple[str, str, str], GalleryIndex] = {}
        self._identities: dict[str, str] = {}
        self._lock = threading.RLock()
        self.user_index = None
        if user_index is not None:
            meta, index = read_index(user_index)
            self.user_index, self._user_gallery = meta, index
            self.paths = list(index.payloads)
            self.captions = {p: Path(p).name for p in self.paths}
            self.user_root = Path(meta["root"])

    def index(self, name: str, backend: str, encoder) -> GalleryIndex:
        if self.user_index is not None:
            if name not in self._identities:
                self._identities[name] = image_identity(name)
            if self._identities[name] != self.user_index["image_identity"]:
                raise ValueError(f"this gallery was embedded with {self.user_index['model']}'s image tower and {name} "
                                 f"has another: choose {self.user_index['model']} or a student distilled from it")
            return self._user_gallery
        key = (name, backend)
        with self._lock:
            if key not in self._indexes:
                emb = self._embeddings(encoder, backend)
                index = GalleryIndex(emb.shape[1])
                index.add(emb, self.paths)
                self._indexes[key] = index
            return self._indexes[key]

    def _embeddings(self, encoder, backend: str) -> np.ndarray:
        """From disk when this exact model has embedded this exact gallery before (later starts)."""
        image_files = image_tower_files(encoder)
        if not image_files:
            return encoder.encode_image(self.paths)
        # Keyed on the image weights alone: a student shares its teacher's image tower, so it
        # shares the teacher's gallery embeddings instead of recomputing them on its first query.
        ident = fingerprint([image_files, backend, self.corpus_key])[:16]
        return cached_features(f"gallery-{ident}", self.paths, lambda b: encoder.encode_image(b), 32,
                               "gallery embeddings", False)

    def best_captions(self, name: str, backend: str, encoder, image_vector: np.ndarray, language: str,
                      k: int = 5) -> list[tuple[str, float]]:
        """The corpus captions in `language` closest to an image, best first."""
        language = normalize_language(language)
        key = (name, backend, language)
        with self._lock:
            if key not in self._caption_indexes:
                texts = sorted({r.caption for r in self.records if r.language == language})
                index = GalleryIndex(len(image_vector), exact=True)
                if texts:
                    index.add(encoder.encode_text(texts), texts)
                self._caption_indexes[key] = index
        return self._caption_indexes[key].top(image_vector, k)
