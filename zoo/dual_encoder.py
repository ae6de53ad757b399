"""`DualEncoder`: the one interface every LinguaLens model exposes.

    encode_text(texts, language=None) -> float32 [N, D], L2-normalised
    encode_image(images)              -> float32 [N, D], L2-normalised

Teachers, students, baselines, open_clip and transformers models, and the ONNX runtime
encoder all answer these two calls, so evaluation, the app and the exporter never care where
a model came from.

Defined edge cases (documented, tested):
- an empty list gives an empty `[0, D]` array;
- an empty or whitespace-only text is encoded as the empty string (for e5 that is the prefix
  alone), a valid vector, never an error;
- texts longer than the tower's `max_length` tokens are truncated, never an error;
- images may be paths, bytes or PIL images in any mode; > 50 MP is refused with a message.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .towers import ImageTower, TextTower, as_numpy

FAMILIES = ("clip", "siglip")


class DualEncoder(nn.Module):
    def __init__(self, text: TextTower, image: ImageTower, family: str = "clip",
                 logit_scale: float = math.log(1 / 0.07), logit_bias: float | None = None,
                 name: str = "", meta: dict | None = None):
        super().__init__()
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
        if text.output_dim != image.output_dim:
            raise ValueError(f"text tower outputs {text.output_dim}-d but image tower "
                             f"{image.output_dim}-d; add a projection so they share one space")
        self.text, self.image, self.family, self.name = text, image, family, name
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)))
        self.logit_bias = nn.Parameter(torch.tensor(float(logit_bias))) if logit_bias is not None else None
        self.meta = dict(meta or {})
        self.eval()

    @property
    def embed_dim(self) -> int:
        return int(self.text.output_dim)

    # -- the public, batched, no-grad interface -------------------------------------------
    @torch.inference_mode()
    def encode_text(self, texts: str | Iterable[str], language: str | None = None,
                    batch_size: int = 64) -> np.ndarray:
        if language is not None:
            from training.data.languages import normalize_language

            normalize_language(language)  # unknown codes fail loudly, never silently
        texts = _clean_texts([texts] if isinstance(texts, str) else list(texts))
        if not texts:
            return np.zeros((0, self.embed_dim), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # length-sorted batches
        out = np.zeros((len(texts), self.embed_dim), np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start:start + batch_size]
            feats = self.text(**self.text.tokenize([texts[i] for i in idx]))
            out[idx] = as_numpy(F.normalize(feats.float(), dim=-1))
        return out

    @torch.inference_mode()
    def encode_image(self, images: Any | Iterable[Any], batch_size: int = 32) -> np.ndarray:
        images = list(images) if isinstance(images, (list, tuple)) else [images]
        if not images:
            return np.zeros((0, self.embed_dim), np.float32)
        chunks = []
        for start in range(0, len(images), batch_size):
            feats = self.image(**self.image.prepare(images[start:start + batch_size]))
            chunks.append(as_numpy(F.normalize(feats.float(), dim=-1)))
        return np.concatenate(chunks)

    def logits(self, text_emb: torch.Tensor, image_emb: torch.Tensor) -> torch.Tensor:
        """Similarity logits as the family defines them (softmax CLIP, sigmoid SigLIP)."""
        out = self.logit_scale.exp() * text_emb @ image_emb.T
        return out + self.logit_bias if self.logit_bias is not None else out

    def num_parameters(self) -> dict[str, int]:
        text, image = self.text.num_parameters(), self.image.num_parameters()
        return {"text": text, "image": image, "total": text + image}


def _clean_texts(texts: Sequence[Any]) -> list[str]:
    out = []
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"text #{i} is {type(t).__name__}, expected str")
        out.append(" ".join(t.split()))
    return out
