"""Search your own folder of images in any language, in three lines:

    from lingualens import ImageSearch
    search = ImageSearch("~/Pictures", model="lit-e5s-effl0-clip-half-dr")
    print(search("perro en la playa", k=5))  # [(path, score), …], best first

`model` is any zoo name, checkpoint directory or registered model (PyTorch), or an ONNX export
directory (`python -m export.onnx`; only onnxruntime runs then). The folder's images are embedded
once and cached under $LINGUALENS_HOME; a later run embeds only new or changed files. A query is
text in any language, or an image (a path or a PIL image) to find similar ones. Files Pillow
cannot open are skipped and listed in `search.skipped`. For very large collections, or to serve
them in the app, use `python -m search.build_index` instead (resumable, sharded, torchrun).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.feature_cache import cached_features
from core.index import GalleryIndex
from core.io import load_image
from export.runtime import OnnxEncoder, is_export
from search.build_index import embed_images, fingerprint, image_tower_files, list_images
from zoo import load_model

__all__ = ["ImageSearch"]


def _image_key(encoder: Any, model: str) -> str:
    """What the cached folder embeddings belong to: the image tower's file hashes where known."""
    return fingerprint(image_tower_files(encoder) or {"model": model})[:16]


class ImageSearch:
    def __init__(self, folder: str | Path, model: str = "lit-e5s-effl0-clip-half-dr", progress: bool = True):
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        path = Path(model).expanduser()
        self.encoder = OnnxEncoder(path) if is_export(path) else load_model(model)
        files = list_images(self.folder)
        if not files:
            raise ValueError(f"no images under {self.folder}")
        reasons: dict[str, str] = {}

        def embed(batch: list[str]) -> np.ndarray:
            vectors, _, skipped = embed_images(self.encoder, [item.split("\t")[0] for item in batch], self.folder)
            reasons.update(skipped)
            return vectors

        # one cache row per file version (path, size, time): a changed file is embedded again; an
        # unreadable one is cached as a zero row, so later runs skip it without opening it
        stats = [(self.folder / n).stat() for n in files]
        items = [f"{self.folder / n}\t{st.st_size}\t{st.st_mtime_ns}" for n, st in zip(files, stats)]
        vectors = cached_features(f"folder-{_image_key(self.encoder, model)}", items, embed, 32,
                                  f"embedding {len(items)} images", progress)
        ok = np.linalg.norm(vectors, axis=1) > 0
        self.skipped = {n: reasons.get(n, "could not be read as an image (on an earlier run)")
                        for n, good in zip(files, ok) if not good}
        self.paths = [str(self.folder / n) for n, good in zip(files, ok) if good]
        if not self.paths:
            raise ValueError(f"none of the {len(files)} images under {self.folder} could be read: {self.skipped}")
        self.index = GalleryIndex(vectors.shape[1])
        self.index.add(vectors[ok], self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __call__(self, query: Any, k: int = 10) -> list[tuple[str, float]]:
        """The k images nearest to `query` (text, an image path or a PIL image), best first."""
        if isinstance(query, str) and not Path(query).expanduser().is_file():
            if not query.strip():
                raise ValueError("type something to search for")
            vector = self.encoder.encode_text([query])
        else:
            vector = self.encoder.encode_image([load_image(query)])
        scores, ids = self.index.search(np.asarray(vector, np.float32), k)
        return [(self.index.payloads[i], float(s)) for s, i in zip(scores[0], ids[0])]
