"""The two contrastive losses the teacher families are defined by.

CLIP: symmetric softmax cross-entropy over the in-batch similarity matrix (Radford et al. 2021).
SigLIP: independent sigmoid per pair, +1 on the diagonal and -1 elsewhere, summed over the
batch and divided by the batch size (Zhai et al. 2023). Inputs are L2-normalised embeddings;
row i of `a` matches row i of `b`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def clip_loss(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor) -> torch.Tensor:
    logits = logit_scale.exp() * a @ b.T
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def siglip_loss(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor, logit_bias: torch.Tensor) -> torch.Tensor:
    logits = logit_scale.exp() * a @ b.T + logit_bias
    labels = 2 * torch.eye(len(a), device=a.device, dtype=logits.dtype) - 1
    return -F.logsigmoid(labels * logits).sum() / len(a)


def family_loss(family: str, a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor,
                logit_bias: torch.Tensor | None = None) -> torch.Tensor:
    if family == "siglip":
        if logit_bias is None:
            raise ValueError("the SigLIP loss needs a logit bias")
        return siglip_loss(a, b, logit_scale, logit_bias)
    return clip_loss(a, b, logit_scale)
