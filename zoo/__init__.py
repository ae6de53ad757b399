"""zoo: everything that *is* a model — towers, sources, the registry, checkpoints, cards.

    from zoo import load_model
    model = load_model("lit-e5s-effl0-clip")     # or a path, "open_clip:…", "transformers:…"
    model.encode_text(["perro", "犬", "собака"])  # float32 [3, D], L2-normalised
    model.encode_image(["cat.jpg"])

Imports are lazy so that torch-free parts (`zoo.preprocess`, and everything in `core`) can serve
the ONNX runtime without pulling in PyTorch.
"""
from __future__ import annotations

from typing import Any

_LAZY = {
    "DualEncoder": "dual_encoder", "ModelInfo": "info", "ModelNotReadyError": "registry",
    "ModelSpec": "registry", "UnknownModelError": "registry", "load_model": "factory",
    "register_model": "registry", "registered": "factory", "status": "factory",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
