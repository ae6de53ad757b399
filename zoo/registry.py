"""One registry for every named model: teachers, students, baselines, hub models.

Models are registered once with `@register_model` (timm's habit): the decorated function builds
the model, the decorator records what a user needs to know before building it (family, role,
source, languages, and how to make it ready). `load_model` accepts a registered name, a zoo
checkpoint name, a local path, or a source-prefixed id (`open_clip:…`, `transformers:…`,
`hf-hub:…`), so a local path works wherever a name does.
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .paths import check_name, safe_child, zoo_dir

ROLES = ("teacher", "student", "baseline")
SOURCES = ("packaged", "open_clip", "transformers", "zoo")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str  # clip | siglip
    role: str  # teacher | student | baseline
    source: str  # packaged | open_clip | transformers | zoo
    description: str
    languages: str  # human summary, e.g. "~100 (XLM-R)"
    builder: Callable[..., Any] = field(repr=False)
    needs: str | None = None  # None (ready once built) | "training" | "download"
    make_ready: str = ""  # the command that makes it ready
    hub_id: str | None = None
    text_params: int | None = None  # known sizes, for `zoo list` without building
    image_params: int | None = None


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    check_name(name, "model name")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name=name, builder=fn, **meta)
        return fn

    return decorate


def registered() -> dict[str, ModelSpec]:
    from . import models  # noqa: F401  (registers the built-in models on first use)

    return dict(_REGISTRY)


class UnknownModelError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; we want it readable
        return str(self.args[0])


class ModelNotReadyError(RuntimeError):
    pass


def zoo_checkpoint(name: str) -> Path:
    """Where a zoo model named `name` lives; refuses names that would leave the zoo."""
    return safe_child(zoo_dir(), name, "model name")


def local_zoo_names() -> list[str]:
    from .checkpoint import is_checkpoint

    root = zoo_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and is_checkpoint(p))


def status(spec: ModelSpec) -> str:
    from .checkpoint import is_checkpoint

    if spec.needs == "training":
        return "ready" if is_checkpoint(zoo_checkpoint(spec.name)) else "needs training"
    if spec.needs == "download":
        from .hub import is_cached

        return "ready (cached)" if spec.hub_id and is_cached(spec.hub_id, spec.source) else "needs download"
    return "ready"


def closest_names(name: str, n: int = 5) -> list[str]:
    names = list(registered()) + local_zoo_names()
    return difflib.get_close_matches(name, names, n=n, cutoff=0.4) or sorted(names)[:n]


def load_model(name_or_path: str | os.PathLike, allow_untrained: bool = False, **kwargs: Any):
    """Resolve and build a `DualEncoder`. See the module docstring for what is accepted."""
    from .checkpoint import is_checkpoint, load_checkpoint

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


def _load_local_path(path: Path, **kwargs: Any):
    import json

    from .checkpoint import is_checkpoint, load_checkpoint

    if path.is_dir() and is_checkpoint(path):
        return load_checkpoint(path)
    if path.is_dir() and (path / "config.json").is_file():
        model_type = json.loads((path / "config.json").read_text()).get("model_type", "")
        if model_type in ("clip", "siglip", "siglip2"):
            return _load_from_source("transformers", str(path), **kwargs)
    if path.is_file() and path.suffix == ".json":
        return _load_from_source("open_clip", str(path), **kwargs)
    raise ValueError(f"{path} is neither a LinguaLens checkpoint, a transformers CLIP/SigLIP/SigLIP2 "
                     "directory nor an open_clip JSON config; for an open_clip weight file use "
                     "load_model('open_clip:ARCH', pretrained=PATH)")


def _load_from_source(source: str, ref: str, **kwargs: Any):
    if source == "open_clip":
        from .sources.open_clip_source import load_open_clip

        return load_open_clip(ref, **kwargs)
    from .sources.transformers_source import load_transformers

    return load_transformers(ref, **kwargs)
