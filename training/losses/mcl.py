"""MCL — multilingual contrastive learning.

Contrast S(x) against the images V(v) and against the teacher's English embeddings T(e):
captions in any language are pulled to their image and to their English meaning, pushed from
the rest of the batch. The form follows the teacher family: softmax InfoNCE for CLIP, the
pairwise sigmoid loss for SigLIP, at the teacher's own temperature (and bias).
"""
from __future__ import annotations

import torch

from .base import DistillBatch, DistillLoss, no_images
from .contrastive import family_loss


class MultilingualContrastive(DistillLoss):
    name = "mcl"

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        image = no_images(b)
        if image is None:  # only the first len(v) captions have an image of their own
            image = family_loss(b.family, b.s_x[:len(b.v)], b.v, b.logit_scale, b.logit_bias)
        english = family_loss(b.family, b.s_x, b.t_e, b.logit_scale, b.logit_bias)
        return 0.5 * (image + english)
