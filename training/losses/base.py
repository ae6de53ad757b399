"""What every distillation loss sees: one batch of student and teacher embeddings.

Notation follows docs/design.md: a batch holds B concepts; x_i is a caption in some language,
e_i the English caption of the same concept, v_i its image. S is the student text tower,
T the teacher's, V the (shared, frozen) image tower. All embeddings are L2-normalised.
Teacher-side tensors come from the teacher cache and carry no gradient.

Some training text has no image (display names, `corpus.display_names`): such rows come
last, so `v` holds M ≤ B images and caption i is paired with image i only for i < M. Losses
that relate captions to images use all B captions against the M images; losses that need a
matching image use the first M rows; with M = 0 those terms are zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class DistillBatch:
    s_x: torch.Tensor  # [B, D] student(caption)
    t_x: torch.Tensor  # [B, D] teacher(caption)
    t_e: torch.Tensor  # [B, D] teacher(English twin)
    v: torch.Tensor  # [M, D] image tower(image) of the first M captions (M = B when every caption has one)
    logit_scale: torch.Tensor  # teacher's (log) temperature, fixed
    logit_bias: torch.Tensor | None  # teacher's SigLIP bias, fixed; None for CLIP
    family: str  # "clip" | "siglip"
    s_e: torch.Tensor | None = None  # [B, D] student(English twin), when a loss needs it


class DistillLoss:
    name: str = ""
    needs_student_english: bool = False

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        raise NotImplementedError


def no_images(b: DistillBatch) -> torch.Tensor | None:
    """A zero that keeps the graph, for image terms of a batch with no image in it; else None."""
    return 0.0 * b.s_x.sum() if len(b.v) == 0 else None


def cosine_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean of 1 - cos over rows; 0 when the rows coincide."""
    return (1 - (a * b).sum(-1)).mean()
