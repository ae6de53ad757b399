"""Search behind the app: models by name and backend, galleries and their indexes, uploads.

`app.py` is only the UI; everything it shows comes from here, so the same code answers the
browser, the Gradio API and the tests. A model that fails to load becomes an error *value*
for its panel — the other model keeps answering.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.feature_cache import cached_features
from core.index import GalleryIndex
from core.io import ImageError, atomic_path, load_image
from core.languages import english_name, normalize_language
from core.paths import export_path, zoo_checkpoint
from core.progress import mark
from export.runtime import OnnxEncoder, is_export, read_export_config
from training.data.corpus import corpus_hash, default_corpus_path, load_corpus
from training.evaluate import default_out
from zoo import load_model
from zoo.checkpoint import read_config, read_info
from zoo.factory import local_zoo_names, registered, status
from zoo.registry import UnknownModelError

from .build_index import fingerprint, image_identity, image_tower_files, read_index
from .language_id import LanguageGuess, LanguageGuesser

BACKENDS = ("PyTorch", "ONNX", "ONNX int8")
BACKEND_CHECK_S = 5.0  # how long a model's exports are taken as known (the background build adds some)
MAX_UPLOADS = 50
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
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
    def __init__(self, corpus_root: Path | None = None, max_models: int = 4, user_index: Path | None = None,
                 onnx_threads: int | None = None):
        """`user_index`: a directory from `python -m search.build_index`; its images replace the
        corpus gallery, for the models that share the image tower it was embedded with.
        `onnx_threads`: onnxruntime threads per ONNX model (None: onnxruntime's default)."""
        self.root = Path(corpus_root) if corpus_root else default_corpus_path()
        self.records = load_corpus(self.root)
        english = {}
        for r in self.records:
            if r.language == "en":
                english.setdefault(r.image, r.caption)
        # Every corpus image: people search for cats and dogs, wherever the split put them.
        # (Held-out evaluation lives in `training.evaluate`; the app is for looking.)
        gallery = sorted({r.image for r in self.records if r.kind in ("emoji", "flag", "photo")})
        self.gallery = [str(self.root / p) for p in gallery]
        self.gallery_captions = {str(self.root / p): english.get(p, Path(p).stem) for p in gallery}
        self._models: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._indexes: dict[tuple[str, str], GalleryIndex] = {}
        self._captions: dict[tuple[str, str, str], tuple[list[str], np.ndarray]] = {}
        self._lock = threading.RLock()
        self.max_models, self.onnx_threads = max_models, onnx_threads
        self._identities: dict[str, str] = {}
        self._backends: dict[tuple[str, str], float] = {}  # (name, backend) -> when it was last seen available
        self._report_paths: dict[str, tuple[float, str | None, Path | None]] = {}  # student -> (when, teacher, report folder)
        self._reports: dict[Path, tuple[float, dict]] = {}  # every-language reports: (mtime, content)
        self._guesser: LanguageGuesser | None = None
        self._zoo_listing: tuple[float, dict[str, list[str]]] | None = None  # (when, zoo_models())
        self.user_index = None
        if user_index is not None:
            meta, index = read_index(user_index)
            self.user_index, self._user_gallery = meta, index
            self.gallery = list(index.payloads)
            self.gallery_captions = {p: Path(p).name for p in self.gallery}
            self.gallery_root = Path(meta["root"])

    # -- models ------------------------------------------------------------------------
    @staticmethod
    def offered_models() -> list[str]:
        """Every name the app may load: the zoo's checkpoints and the registered models that are
        ready without a download. Nothing else is ever opened on a visitor's request."""
        ready = [n for n, spec in registered().items() if status(spec).startswith("ready")]
        return sorted(set(ready) | set(local_zoo_names()))

    def require_offered(self, name: Any, zoo_only: bool = False) -> str:
        """`name` if the app offers it (a zoo checkpoint with `zoo_only`); otherwise a refusal
        that names the choices, raised before any file is opened."""
        names = local_zoo_names() if zoo_only else self.offered_models()
        if not isinstance(name, str) or name not in names:
            shown = repr(name)[:80]
            raise UnknownModelError(f"unknown model {shown}; this app offers: {', '.join(names) or 'nothing yet'}")
        return name

    def encoder(self, name: str, backend: str):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        key = (name, backend)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
            self.require_offered(name)
            if backend == "PyTorch":
                model = load_model(name)
            else:
                path = export_path(name)
                if not path.is_dir():
                    raise FileNotFoundError(f"no ONNX export of {name} yet (python -m export.onnx --model {name} --int8)")
                model = OnnxEncoder(path, variant="int8" if backend == "ONNX int8" else "fp32", threads=self.onnx_threads)
            self._models[key] = model
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
            return model

    def has_backend(self, name: str, backend: str) -> bool:
        """Whether `name` can run on `backend`: PyTorch always; ONNX with an export, int8 with a
        published one. A yes is remembered for BACKEND_CHECK_S (a no is not: the background build
        may export the model any moment): it is asked twice per query, and the check reads the
        zoo's listing and the export's config from disk."""
        if backend == "PyTorch":
            return True
        key = (name, backend)
        since = self._backends.get(key)
        if since is not None and time.monotonic() - since < BACKEND_CHECK_S:
            return True
        path = export_path(self.require_offered(name))
        ok = is_export(path) and (backend != "ONNX int8" or bool(read_export_config(path).get("int8", {}).get("published")))
        if ok:
            self._backends[key] = time.monotonic()
        return ok

    def panel_backend(self, name: str, backend: str) -> tuple[str, str | None]:
        """The backend a panel runs: the one asked for, or PyTorch, said in the panel, when `name`
        has no such export yet (a teacher is exported after its students on a first start)."""
        try:
            if backend not in BACKENDS or self.has_backend(name, backend):
                return backend, None
        except (UnknownModelError, ValueError, OSError):
            return backend, None  # the panel's own error says what is wrong with the name
        return "PyTorch", f"PyTorch: no {backend} export of {name} yet"

    def best_backend(self, names: list[str]) -> str:
        """The fastest backend every one of `names` has: the app's default."""
        for backend in ("ONNX int8", "ONNX"):
            if names and all(self.has_backend(n, backend) for n in names):
                return backend
        return "PyTorch"

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
                emb = self._gallery_embeddings(encoder, backend)
                index = GalleryIndex(emb.shape[1])
                index.add(emb, self.gallery)
                self._indexes[key] = index
            return self._indexes[key]

    def _gallery_embeddings(self, encoder, backend: str) -> np.ndarray:
        """From disk when this exact model has embedded this exact gallery before (later starts)."""
        image_files = image_tower_files(encoder)
        if not image_files:
            return encoder.encode_image(self.gallery)
        # Keyed on the image weights alone: a student shares its teacher's image tower, so it
        # shares the teacher's gallery embeddings instead of recomputing them on its first query.
        ident = fingerprint([image_files, backend, corpus_hash(self.root)])[:16]
        return cached_features(f"gallery-{ident}", self.gallery, lambda b: encoder.encode_image(b), 32,
                               "gallery embeddings", False)

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
            scores, ids = index.search(q, k)
            hits = [(index.payloads[i], float(s)) for i, s in zip(ids[0], scores[0])]
            if uploads:
                up = UploadIndex.for_model(enc, uploads, name, backend)
                hits = sorted(hits + up.search(q, k), key=lambda h: -h[1])[:k]
            panel.ms = 1000 * (time.perf_counter() - start)
            panel.index_kind, panel.backend = index.kind, backend
            panel.hits = [(p, f"{self.gallery_captions.get(p, Path(p).name)} · {s:.3f}") for p, s in hits]
            panel.ids = [p for p, _ in hits]
            panel.notice = notice
        except Exception as exc:  # shown in that panel; the other panel is unaffected
            panel.error = f"{type(exc).__name__}: {exc}"
        return panel

    # -- what a query's language means for the student ----------------------------------------
    def warm_language_guesser(self) -> LanguageGuesser:
        """Build the guesser (≈4 s over the corpus's training captions); the app does it in a thread
        after the page is up, and queries until then simply get no language line."""
        guesser = LanguageGuesser(self.records)
        self._guesser = guesser
        return guesser

    def query_language(self, query: str) -> LanguageGuess | None:
        guesser = self._guesser
        return guesser.guess(query) if guesser is not None and query.strip() else None

    def language_ratio(self, student: str, language: str) -> dict | None:
        """The student's measured R@10 ratio to its own teacher in `language` (test split, 95%
        interval, language group), from the every-language report beside its card; None if not measured."""
        rep, teacher = self._language_report(student)
        ratio = (rep.get("ratios") or {}).get(student, {}).get(language) if rep else None
        if not ratio:
            return None
        return {**ratio, "teacher": teacher, "group": rep["languages"].get(language, {}).get("group", ""),
                "overlap": self.language_overlap(student, language)}

    def language_overlap(self, student: str, language: str, kind: str = "keywords") -> dict | None:
        """How many of the student's top 10 the teacher's top 10 also holds, on the app's gallery, for
        one-word queries (`kind`) in `language` (test split, 95% interval); None if not measured."""
        rep, _ = self._language_report(student, "agreement.json")
        try:
            return rep["results"]["app"][kind]["per_language"][student][language]["overlap@10"] if rep else None
        except (KeyError, TypeError):
            return None

    def _language_report(self, student: str, file: str = "multilingual.json") -> tuple[dict | None, str | None]:
        """The student's every-language report and its teacher. Which teacher and file is looked up
        at most every BACKEND_CHECK_S per student; the file is re-read only when it changes."""
        now = time.monotonic()
        with self._lock:
            hit = self._report_paths.get(student)
        if hit is None or now - hit[0] >= BACKEND_CHECK_S:
            teacher = path = None
            try:
                info = read_info(zoo_checkpoint(self.require_offered(student, zoo_only=True)))
                if info.role == "student" and info.teacher:
                    teacher, path = info.teacher, default_out(student, "test", info.teacher)
            except (ValueError, FileNotFoundError, KeyError, OSError):
                pass
            hit = (now, teacher, path)
            with self._lock:
                self._report_paths[student] = hit
        _, teacher, folder = hit
        if folder is None:
            return None, teacher
        path = folder / file
        try:
            stamp = path.stat().st_mtime
            with self._lock:
                cached = self._reports.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, json.loads(path.read_text(encoding="utf-8")))
                with self._lock:
                    self._reports[path] = cached
        except (OSError, ValueError):
            return None, teacher
        return cached[1], teacher

    def language_note(self, query: str, student: str) -> tuple[str, str]:
        """(the query's language, the student's measured ratio there): two short Markdown lines."""
        guess = self.query_language(query or "")
        if guess is None:
            return "", ""
        said = f"Query language: {guess.describe()}."
        if not student or not guess.languages or guess.others:
            return said, ""
        parts = []
        for lang in guess.languages:
            r = self.language_ratio(student, lang)
            if r is None:
                parts.append(f"{english_name(lang)}: not measured")
            else:
                group = f", {r['group']}" if r["group"] else ""
                agree = r.get("overlap")
                agree = (f"; shares **{10 * agree['value']:.1f}** of its top 10 with the teacher's on single words"
                         if agree else "")
                parts.append(f"{english_name(lang)}: keeps **{r['value']:.2f}** [{r['lo']:.2f}, {r['hi']:.2f}] of "
                             f"`{r['teacher']}`'s R@10{group}{agree}")
        return said, f"{student} (test split) — " + "; ".join(parts)

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
        language = normalize_language(language)
        enc = self.encoder(name, backend)
        key = (name, backend, language)
        with self._lock:
            if key not in self._captions:
                texts = sorted({r.caption for r in self.records if r.language == language})
                self._captions[key] = (texts, enc.encode_text(texts) if texts else np.zeros((0, 1), np.float32))
        texts, emb = self._captions[key]
        if not texts:
            return []
        scores = emb @ image_vector
        top = np.argsort(-scores)[:k]
        return [(texts[i], float(scores[i])) for i in top]

    # -- uploads -----------------------------------------------------------------------
    @staticmethod
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

    # -- zoo ---------------------------------------------------------------------------
    def zoo_models(self) -> dict[str, list[str]]:
        """The zoo's checkpoints by role. Every open page asks every 5 s (new models appear by
        themselves), so one scan of the zoo — a config read per checkpoint — serves them all for
        BACKEND_CHECK_S."""
        now = time.monotonic()
        with self._lock:
            if self._zoo_listing is not None and now - self._zoo_listing[0] < BACKEND_CHECK_S:
                return {role: list(names) for role, names in self._zoo_listing[1].items()}
        out: dict[str, list[str]] = {"teacher": [], "student": [], "baseline": []}
        for name in local_zoo_names():
            out.setdefault(read_info(zoo_checkpoint(name)).role or "student", []).append(name)
        with self._lock:
            self._zoo_listing = (now, out)
        return {role: list(names) for role, names in out.items()}

    def zoo_entry(self, name: str) -> dict:
        path = zoo_checkpoint(self.require_offered(name, zoo_only=True))
        cfg = read_config(path)
        card = (path / "README.md").read_text()
        body = card.split("---", 2)[2] if card.startswith("---") else card
        # the build's quick comparison (reports/test) and the every-language report beside it
        plots = sorted(str(p) for p in (path / "reports").glob("*/*.png"))
        export = export_path(name)
        onnx = read_export_config(export) if is_export(export) else None
        return {"card": body, "plots": plots, "parameters": cfg.get("parameters", {}), "onnx": onnx,
                "checkpoint": path, "export": export if onnx else None}

    @staticmethod
    def zip_dir(path: Path, name: str, workdir: Path) -> str:
        """A zip of `path`, rebuilt only when something in it is newer than the last zip."""
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / f"{name}.zip"
        newest = max((p.stat().st_mtime for p in Path(path).rglob("*") if p.is_file()), default=0)
        if target.is_file() and target.stat().st_mtime >= newest:
            return str(target)
        files = sorted(p for p in Path(path).rglob("*") if p.is_file())
        tmp = workdir / f".{name}.partial.zip"
        mark("zip", 0, len(files))
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:  # make_archive's format, one file at a time
            for i, p in enumerate(files, 1):
                zf.write(p, p.relative_to(path).as_posix())
                mark("zip", i, len(files))
        tmp.replace(target)
        return str(target)


def overlap(panels: list[Panel], k: int) -> float | None:
    if len(panels) != 2 or any(p.error for p in panels) or not k:
        return None
    a, b = set(panels[0].ids[:k]), set(panels[1].ids[:k])
    return len(a & b) / max(1, min(k, len(panels[0].ids), len(panels[1].ids)))


class UploadIndex:
    """A session's uploads embedded by one model; small, so exact search in numpy."""
    _cache: dict[tuple[str, str, str], np.ndarray] = {}

    def __init__(self, paths: list[str], emb: np.ndarray):
        self.paths, self.emb = paths, emb

    @classmethod
    def for_model(cls, enc, paths: list[str], name: str, backend: str) -> "UploadIndex":
        missing = [p for p in paths if (name, backend, p) not in cls._cache]
        if missing:
            for p, e in zip(missing, enc.encode_image(missing)):
                cls._cache[(name, backend, p)] = e
        return cls(paths, np.stack([cls._cache[(name, backend, p)] for p in paths]))

    def search(self, q: np.ndarray, k: int) -> list[tuple[str, float]]:
        scores = self.emb @ q[0]
        return [(self.paths[i], float(scores[i])) for i in np.argsort(-scores)[:k]]
