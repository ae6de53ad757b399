"""A MiniLM-style relation term on the last hidden states, beside the output objectives.

The five formulations only see pooled, projected embeddings. MiniLM (Wang et al., 2020/2021)
distils *relations* inside the last layer instead: for every token, the softmax over its scaled
dot products with the other tokens of the sentence. Matching those distributions (KL, teacher
→ student) transfers how the teacher's tokens relate to each other, and it does not care about
width, so a narrower student can use it too. It needs token-aligned inputs: the student must
cut text into the teacher's pieces (true for students built from the teacher's own tower, whose
vocabularies keep every piece of the training text).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def relation_logits(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, L, L] scaled token-token dot products, padding keys masked out."""
    scores = hidden @ hidden.transpose(1, 2) / hidden.shape[-1] ** 0.5
    return scores.masked_fill(~mask.bool()[:, None, :], torch.finfo(scores.dtype).min)


def hidden_relation_loss(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real query tokens of KL(teacher relation ‖ student relation); 0 when they agree."""
    if student.shape[:2] != teacher.shape[:2]:
        raise ValueError(f"student and teacher token sequences differ ({tuple(student.shape[:2])} vs "
                         f"{tuple(teacher.shape[:2])}): the relation term needs the teacher's tokenization")
    log_s = F.log_softmax(relation_logits(student, mask), dim=-1)
    log_t = F.log_softmax(relation_logits(teacher, mask), dim=-1)
    kl = (log_t.exp() * (log_t - log_s)).masked_fill(~mask.bool()[:, None, :], 0.0).sum(-1)  # [B, L]
    rows = mask.to(kl.dtype)
    return (kl * rows).sum() / rows.sum().clamp(min=1.0)
