"""zoo: everything that *is* a model — towers, sources, the registry, checkpoints, cards.

    from zoo import load_model
    model = load_model("lit-e5s-effl0-clip")     # or a path, "open_clip:…", "transformers:…"
    model.encode_text(["perro", "犬", "собака"])  # float32 [3, D], L2-normalised
    model.encode_image(["cat.jpg"])
"""
from .dual_encoder import DualEncoder
from .registry import (ModelNotReadyError, ModelSpec, UnknownModelError, load_model, register_model,
                       registered, status)

__all__ = ["DualEncoder", "ModelNotReadyError", "ModelSpec", "UnknownModelError", "load_model",
           "register_model", "registered", "status"]
