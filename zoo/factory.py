"""Build and load models by name (timm's `_factory`): the one entry point, `load_model`.

`load_model` accepts a registered name, a zoo checkpoint name, a local path, or a
source-prefixed id (`open_clip:…`, `transformers:…`, `hf-hub:…`), so a local path works
wherever a name does.
"""
from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from core.paths import check_name, zoo_checkpoint, zoo_dir

from . import models  # noqa: F401  (registers the built-in models)
from .checkpoint import is_checkpoint
from .dual_encoder import DualEncoder
from .hub import is_cached
from .registry import ModelNotReadyError, ModelSpec, UnknownModelError, entries
from .sources.open_clip_source import CONFIG_FILE as OPEN_CLIP_CONFIG
from .sources.open_clip_source import LOCAL_DIR as OPEN_CLIP_LOCAL_DIR
from .sources.open_clip_source import load_open_clip
from .sources.transformers_source import load_transformers

__all__ = ["ModelNotReadyError", "UnknownModelError", "closest_names", "load_model", "local_zoo_names",
           "registered", "status"]


def registered() -> dict[str, ModelSpec]:
    return entries()


def local_zoo_names() -> list[str]:
    root = zoo_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_checkpoint(p))


def status(spec: ModelSpec) -> str:
    if spec.needs == "training":
        return "ready" if is_checkpoint(zoo_checkpoint(spec.name)) else "needs training"
    if spec.needs == "download":
        return "ready (cached)" if spec.hub_id and is_cached(spec.hub_id, spec.source) else "needs download"
    return "ready"


def closest_names(name: str, n: int = 5) -> list[str]:
    names = list(registered()) + local_zoo_names()
    return difflib.get_close_matches(name, names, n=n, cutoff=0.4) or sorted(names)[:n]


def load_checkpoint(path: Path | str, verify: bool = True) -> DualEncoder:
    """A checkpoint directory, with an image tower stored by reference resolved by name."""
    return DualEncoder.from_pretrained(path, verify=verify, resolve_reference=load_model)


def load_model(name_or_path: str | os.PathLike, allow_untrained: bool = False, **kwargs: Any) -> DualEncoder:
    """Resolve and build a `DualEncoder`. See the module docstring for what is accepted."""
    ref = str(name_or_path)
    for prefix, source in (("open_clip:", "open_clip"), ("transformers:", "transformers")):
        if ref.startswith(prefix):
            return _load_from_source(source, ref[len(prefix):], **kwargs)
    if ref.startswith("hf-hub:"):
        return _load_from_source("open_clip", ref, **kwargs)
    path = Path(ref).expanduser()
    looks_like_path = isinstance(name_or_path, os.PathLike) or os.sep in ref or ref.startswith(".")
    if path.exists() and (looks_like_path or ref not in registered()):
        return _load_local_path(path, **kwargs)
    if looks_like_path:
        raise FileNotFoundError(f"no model at path {ref!r}")
    specs = registered()
    if ref in specs:
        spec = specs[ref]
        ckpt = zoo_checkpoint(ref)
        if is_checkpoint(ckpt):
            return load_checkpoint(ckpt)
        if spec.needs == "training" and not allow_untrained:
            raise ModelNotReadyError(f"model {ref!r} needs training first: {spec.make_ready}")
        return spec.builder(**kwargs)
    check_name(ref, "model name")
    if is_checkpoint(zoo_checkpoint(ref)):
        return load_checkpoint(zoo_checkpoint(ref))
    raise UnknownModelError(f"unknown model {ref!r}; closest registered names: {', '.join(closest_names(ref))}")


def _load_local_path(path: Path, **kwargs: Any) -> DualEncoder:
    if path.is_dir() and is_checkpoint(path):
        return load_checkpoint(path)
    if path.is_dir() and (path / OPEN_CLIP_CONFIG).is_file():  # before config.json: its text model's config may sit beside it
        return _load_from_source("open_clip", f"{OPEN_CLIP_LOCAL_DIR}{path}", **kwargs)
    if path.is_dir() and (path / "config.json").is_file():
        model_type = json.loads((path / "config.json").read_text()).get("model_type", "")
        if model_type in ("clip", "siglip", "siglip2"):
            return _load_from_source("transformers", str(path), **kwargs)
    if path.is_file() and path.suffix == ".json":
        return _load_from_source("open_clip", str(path), **kwargs)
    raise ValueError(f"{path} is neither a LinguaLens checkpoint, a transformers CLIP/SigLIP/SigLIP2 "
                     f"directory, an open_clip model folder ({OPEN_CLIP_CONFIG}) nor an open_clip JSON config; for an open_clip weight file use "
                     "load_model('open_clip:ARCH', pretrained=PATH)")


def _load_from_source(source: str, ref: str, **kwargs: Any) -> DualEncoder:
    return load_open_clip(ref, **kwargs) if source == "open_clip" else load_transformers(ref, **kwargs)
