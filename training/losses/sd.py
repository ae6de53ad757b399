"""SD — similarity distillation: match the teacher's in-batch similarity structure.

S(x)S(x)ᵀ ≈ T(x)T(x)ᵀ (how captions relate to each other) and S(x)V(v)ᵀ ≈ T(x)V(v)ᵀ (how
captions relate to images). Only relations are matched, so the student is free to rotate its
space — the cross-modal term keeps it aligned with the image tower.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import DistillBatch, DistillLoss, no_images


class SimilarityDistillation(DistillLoss):
    name = "sd"

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        text = F.mse_loss(b.s_x @ b.s_x.T, b.t_x @ b.t_x.T)
        cross = no_images(b)
        if cross is None:
            cross = F.mse_loss(b.s_x @ b.v.T, b.t_x @ b.v.T)
        return text + cross
