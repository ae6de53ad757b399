"""FD — feature distillation: the student mimics the teacher on the same input, S(x_i) ≈ T(x_i)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import DistillBatch, DistillLoss, cosine_distance


class FeatureDistillation(DistillLoss):
    name = "fd"

    def __init__(self, metric: str = "cosine"):
        if metric not in ("cosine", "mse"):
            raise ValueError(f"FD metric must be 'cosine' or 'mse', got {metric!r}")
        self.metric = metric

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        if self.metric == "mse":
            return F.mse_loss(b.s_x, b.t_x)
        return cosine_distance(b.s_x, b.t_x)
