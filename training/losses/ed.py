"""ED — English-control distillation (Reimers & Gurevych 2020).

Both S(x_i) and S(e_i) regress onto the teacher's *English* embedding T(e_i): English, where
the teacher is strongest, anchors every language, so translations are pulled to one point.
"""
from __future__ import annotations

import torch

from .base import DistillBatch, DistillLoss, cosine_distance


class EnglishDistillation(DistillLoss):
    name = "ed"
    needs_student_english = True

    def __call__(self, b: DistillBatch) -> torch.Tensor:
        if b.s_e is None:
            raise ValueError("ED needs the student's embedding of the English twin (s_e)")
        return 0.5 * (cosine_distance(b.s_x, b.t_e) + cosine_distance(b.s_e, b.t_e))
