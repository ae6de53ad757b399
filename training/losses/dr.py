"""DR — distributional replication.

The teacher's softmax distribution over the batch's images for each caption (and over the
captions for each image) is the target; the student's is matched by KL(P_T || P_S) in both
directions, at the teacher's temperature. The teacher side uses T(x) (same-language input) by
default, or T(e) (the English anchor) with `teacher_side="english"`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import DistillBatch, DistillLoss, no_images


def kl_rows(teacher_logits: torch.Tensor, student_logits: torch.Tensor) -> torch.Tensor:
    """Mean over rows of KL(softmax(teacher) || softmax(student))."""
    return F.kl_div(F.log_softmax(student_logits, -1), F.log_softmax(teacher_logits, -1),
                    log_target=True, reduction="batchmean")


class DistributionalReplication(DistillLoss):
    name = "dr"

    def __init__(self, teacher_side: str = "same"):
        if teacher_side not in ("same", "english"):
            raise ValueError(f"DR teacher_side must be 'same' or 'english', got {teacher_side!r}")
        self.teacher_side = teacher_side

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        zero = no_images(b)
        if zero is not None:
            return zero
        scale = b.logit_scale.exp()
        teacher_text = b.t_x if self.teacher_side == "same" else b.t_e
        t = scale * teacher_text @ b.v.T
        s = scale * b.s_x @ b.v.T
        return 0.5 * (kl_rows(t, s) + kl_rows(t.T, s.T))
