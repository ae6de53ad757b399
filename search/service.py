"""Search behind the app, composed of one small part per job: models by name and backend
(`models.ModelCache`), the gallery and its indexes (`galleries.Galleries`), a visitor's uploads
(`uploads`), what a query's language means for the student (`language_reports.LanguageReports`) and
the zoo as listed (`zoo_listing.ZooListing`). This module only answers queries with them.

`app.py` is only the UI; everything it shows comes from here, so the same code answers the
browser, the Gradio API and the tests. A model that fails to load becomes an error *value*
for its panel — the other model keeps answering.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.io import ImageError, load_image
from corpus.corpus import corpus_hash, default_corpus_path, load_corpus

from .galleries import Galleries
from .language_reports import LanguageReports
from .models import BACKENDS, ModelCache
from .uploads import MAX_UPLOAD_BYTES, MAX_UPLOADS, UploadIndex, add_uploads
from .zoo_listing import ZooListing, zip_dir

__all__ = ["BACKENDS", "DEFAULT_K", "MAX_QUERY_CHARS", "MAX_UPLOADS", "MAX_UPLOAD_BYTES", "Panel", "SearchService"]

MAX_QUERY_CHARS = 10_000
DEFAULT_K = 8


@dataclass
class Panel:
    """One side of the comparison: the hits of one model, or why there are none."""
    model: str
    hits: list[tuple[str, str]] = field(default_factory=list)  # (image path, caption with score)
    ids: list[str] = field(default_factory=list)
    ms: float | None = None
    error: str | None = None
    notice: str | None = None
    index_kind: str = ""
    backend: str = "PyTorch"
    query: np.ndarray | None = field(default=None, repr=False)  # the query's embedding, reused for captions


class SearchService:
    add_uploads = staticmethod(add_uploads)
    zip_dir = staticmethod(zip_dir)

    def __init__(self, corpus_root: Path | None = None, max_models: int = 4, user_index: Path | None = None,
                 onnx_threads: int | None = None, operator_models: tuple[str, ...] = ()):
        """`user_index`: a directory from `python -m search.build_index`; its images replace the
        corpus gallery, for the models that share the image tower it was embedded with.
        `onnx_threads`: onnxruntime threads per ONNX model (None: onnxruntime's default).
        `operator_models`: models named on the app's command line, offered beside the zoo (a teacher folder)."""
        self.root = Path(corpus_root) if corpus_root else default_corpus_path()
        self.records = load_corpus(self.root)
        self.models = ModelCache(max_models, onnx_threads, operator_models)
        self.galleries = Galleries(self.root, self.records, corpus_hash(self.root), user_index)
        self.languages = LanguageReports(self.records, self.models.require_offered)
        self.zoo = ZooListing(self.models.require_offered)
        self.user_index = self.galleries.user_index
        self.gallery, self.gallery_captions = self.galleries.paths, self.galleries.captions
        if self.user_index is not None:
            self.gallery_root = self.galleries.user_root
        # the parts' answers, under the names the app, the API and the tests have always used
        self.offered_models, self.require_offered = self.models.offered_models, self.models.require_offered
        self.encoder, self.has_backend = self.models.encoder, self.models.has_backend
        self.panel_backend, self.best_backend = self.models.panel_backend, self.models.best_backend
        self.index = self.galleries.index
        self.warm_language_guesser, self.query_language = self.languages.warm_guesser, self.languages.query_language
        self.language_ratio, self.language_overlap = self.languages.ratio, self.languages.overlap
        self.language_note = self.languages.note
        self.zoo_models, self.zoo_entry = self.zoo.models, self.zoo.entry

    # -- queries -----------------------------------------------------------------------
    @staticmethod
    def check_query(query: str) -> tuple[str | None, str | None]:
        """(cleaned query or None, message)."""
        if not isinstance(query, str) or not query.strip():
            return None, "Type something to search for — any language, any script."
        notice = None
        if len(query) > MAX_QUERY_CHARS:
            query, notice = query[:MAX_QUERY_CHARS], f"Query cut to its first {MAX_QUERY_CHARS:,} characters."
        return query.strip(), notice

    @staticmethod
    def truncation_notice(encoder, query: str) -> str | None:
        tower = getattr(encoder, "text", encoder)
        tok, prefix = getattr(tower, "tokenizer", None), getattr(tower, "prefix", "")
        max_len = getattr(tower, "max_length", None)
        if tok is None or not max_len or not hasattr(tok, "encode"):
            return None
        try:
            enc = tok.encode(prefix + query)
        except Exception:
            return None
        if enc.overflowing:
            return f"Long query: truncated to the model's {max_len} tokens."
        return None

    def _search(self, name: str, backend: str, vectors_fn, k: int, uploads: list[str], notice: str | None) -> Panel:
        panel = Panel(model=name or "student")
        if not name:
            panel.error = ("no model chosen yet — on a first start the student is distilled in the background "
                           "and appears here by itself in a few minutes")
            return panel
        try:
            enc = self.encoder(name, backend)
            index = self.index(name, backend, enc)
            start = time.perf_counter()
            q = panel.query = vectors_fn(enc)
            hits = index.top(q[0], k)
            if uploads:  # the session's images, ranked by the same index type, merged by score
                hits = sorted(hits + UploadIndex.for_model(enc, uploads, name, backend).top(q[0], k),
                              key=lambda h: -h[1])[:k]
            panel.ms = 1000 * (time.perf_counter() - start)
            panel.index_kind, panel.backend = index.kind, backend
            panel.hits = [(p, f"{self.gallery_captions.get(p, Path(p).name)} · {s:.3f}") for p, s in hits]
            panel.ids = [p for p, _ in hits]
            panel.notice = notice
        except Exception as exc:  # shown in that panel; the other panel is unaffected
            panel.error = f"{type(exc).__name__}: {exc}"
        return panel

    def search_text(self, query: str, teacher: str, student: str, backend: str = "PyTorch", k: int = DEFAULT_K,
                    uploads: list[str] | None = None) -> dict:
        query, message = self.check_query(query)
        if query is None:
            return {"message": message, "panels": [], "overlap": None}
        panels = []
        for name in (teacher, student):
            which, fallback = self.panel_backend(name, backend)
            notice = " ".join(n for n in (message, fallback) if n) or None
            try:
                enc = self.encoder(name, which)
                notice = " ".join(n for n in (notice, self.truncation_notice(enc, query)) if n) or None
            except Exception:
                pass
            panels.append(self._search(name, which, lambda e: e.encode_text([query]), k, uploads or [], notice))
        return {"message": None, "panels": panels, "overlap": overlap(panels, k)}

    def search_image(self, image: Any, teacher: str, student: str, backend: str = "PyTorch", k: int = DEFAULT_K,
                     language: str = "en", uploads: list[str] | None = None) -> dict:
        try:
            picture = load_image(image)
        except ImageError as exc:  # named by its file name: the server's paths are not the visitor's business
            why = str(exc).replace(str(image), Path(image).name) if isinstance(image, (str, Path)) else str(exc)
            return {"message": f"That image cannot be used: {why}", "panels": [], "captions": [], "overlap": None}
        panels, captions = [], []
        for name in (teacher, student):
            which, fallback = self.panel_backend(name, backend)
            panel = self._search(name, which, lambda e: e.encode_image([picture]), k, uploads or [], fallback)
            panels.append(panel)
            captions.append(self.best_captions(name, which, panel.query[0], language) if not panel.error else [])
        return {"message": None, "panels": panels, "captions": captions, "overlap": overlap(panels, k)}

    def best_captions(self, name: str, backend: str, image_vector: np.ndarray, language: str,
                      k: int = 5) -> list[tuple[str, float]]:
        return self.galleries.best_captions(name, backend, self.encoder(name, backend), image_vector, language, k)


def overlap(panels: list[Panel], k: int) -> float | None:
    if len(panels) != 2 or any(p.error for p in panels) or not k:
        return None
    a, b = set(panels[0].ids[:k]), set(panels[1].ids[:k])
    return len(a & b) / max(1, min(k, len(panels[0].ids), len(panels[1].ids)))
