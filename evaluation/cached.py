"""`CachedEncoder`: the evaluation interface over embeddings that already exist.

Training evaluates models that are not yet DualEncoders — heads over cached backbone features,
a student text tower beside the teacher's cached image embeddings, the teacher through its
cache. All of them answer `encode_text` with a function and `encode_image` by looking up each
image's row among the corpus images, so that is the one class they share.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .suite import relative_image


class CachedEncoder:
    def __init__(self, encode_texts: Callable[[list[str]], np.ndarray], images: Sequence[str],
                 image_rows: Callable[[list[int]], np.ndarray], root: Path | None):
        """`images` are corpus-relative paths; `image_rows(rows)` gives the L2-normalised
        embeddings of those images (rows index `images`)."""
        self._encode_texts, self._image_rows, self.root = encode_texts, image_rows, root
        self.index = {p: i for i, p in enumerate(images)}

    def encode_text(self, texts: list[str], batch_size: int = 0) -> np.ndarray:
        return self._encode_texts(list(texts))

    def encode_image(self, images: list, batch_size: int = 0) -> np.ndarray:
        rows = []
        for p in images:
            rel = relative_image(self.root, p)
            if rel not in self.index:
                raise KeyError(f"image {rel!r} has no cached embedding (not in this corpus)")
            rows.append(self.index[rel])
        return self._image_rows(rows)
