"""A visitor's own images: checked, stored in the session's folder, embedded once per model."""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np

from core.index import GalleryIndex
from core.io import ImageError, atomic_path, load_image
from core.progress import mark

MAX_UPLOADS = 50
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def add_uploads(current: list[str], files: list[str] | None, store: Path) -> tuple[list[str], list[str]]:
    """Validate and copy uploaded files into this session's own folder; (kept, messages)."""
    kept, messages = list(current), []
    store.mkdir(parents=True, exist_ok=True)
    mark("uploads", 0, len(files or []))
    for done, f in enumerate(files or [], 1):
        name = Path(str(f)).name
        if len(kept) >= MAX_UPLOADS:
            messages.append(f"{name}: skipped, a session holds at most {MAX_UPLOADS} images.")
            continue
        try:
            size = Path(f).stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise ImageError(f"{size / 1e6:.1f} MB, over the {MAX_UPLOAD_BYTES // 2**20} MB limit")
            image = load_image(f)
        except (ImageError, OSError) as exc:
            messages.append(f"{name}: rejected — {exc}")
            continue
        dest = store / f"{uuid.uuid4().hex}.png"  # no placeholder file: the name appears only when complete
        with atomic_path(dest) as tmp:  # a kill mid-write never leaves a half image under its name
            image.save(tmp, format="PNG")
        kept.append(str(dest))
        messages.append(f"{name}: added.")
        mark("uploads", done, len(files))
    return kept, messages


class UploadIndex:
    """A session's uploads embedded by one model (each image once per model and backend), ranked by
    the same exact `GalleryIndex` as any gallery."""
    _cache: dict[tuple[str, str, str], np.ndarray] = {}

    @classmethod
    def for_model(cls, enc, paths: list[str], name: str, backend: str) -> GalleryIndex:
        missing = [p for p in paths if (name, backend, p) not in cls._cache]
        if missing:
            for p, e in zip(missing, enc.encode_image(missing)):
                cls._cache[(name, backend, p)] = e
        emb = np.stack([cls._cache[(name, backend, p)] for p in paths])
        index = GalleryIndex(emb.shape[1], exact=True)
        index.add(emb, list(paths))
        return index
