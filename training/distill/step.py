"""One distillation step's loss, shared by training and the teacher-cache benchmark.

A batch is a list of caption rows (`DistillData.texts`). The step sorts captions with an image
first (a `DistillBatch` pairs caption i with image i for i < len(v)), encodes them with the
student — each rank its shard, gathered back into batch order — and hands the objectives the
teacher's outputs for the same rows. Where those come from is the step's one switch: the teacher
cache (training), or a live teacher forward (what the cache saves; `live_teacher_outputs`).

Two agreement terms may join the objective, for a student that should *behave* like its teacher
on any text, not only rank the batch's images alike: the feature term (FD's S(x)→T(x) cosine on
every row) and the gallery term (DR's text→image KL over every training image, so the whole
ranking is replicated, not only the order of the batch's 30-60 images). Both read only training
rows and training images.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..losses.base import DistillBatch, cosine_distance
from ..losses.combine import CombinedLoss
from ..losses.dr import kl_rows
from ..losses.hidden import hidden_relation_loss
from .data import DistillData
from .distributed import gather, to_device

# (caption rows, English rows, image rows) -> teacher outputs (T(x), T(e), V(v)), L2-normalised
TeacherOutputs = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def cached_teacher_outputs(data: DistillData, device: torch.device) -> TeacherOutputs:
    t_text, v_image = data.t_text.to(device), data.v_image.to(device)
    return lambda rows, eng, img: (t_text[rows.to(device)], t_text[eng.to(device)], v_image[img.to(device)])


def live_teacher_outputs(teacher, data: DistillData, with_images: bool = True) -> TeacherOutputs:
    """The teacher's outputs computed by forward passes, as a run without the cache would; an
    objective that reads no image embedding (FD, ED) skips the image forward (`with_images`)."""
    images = [str(data.root / p) if data.root else p for p in data.images]

    @torch.no_grad()
    def outputs(rows, eng, img):
        def text(ids):
            return F.normalize(teacher.text(**teacher.text.tokenize([data.texts[int(i)] for i in ids])), dim=-1)

        v = teacher.image(**teacher.image.prepare([images[int(i)] for i in img])) if with_images and len(img) else \
            torch.zeros(0, teacher.embed_dim)
        return text(rows), text(eng), F.normalize(v, dim=-1)

    return outputs


class DistillStep:
    def __init__(self, data: DistillData, teacher, loss: CombinedLoss, device: torch.device,
                 teacher_outputs: TeacherOutputs | None = None, hidden_weight: float = 0.0,
                 rank: int = 0, world: int = 1, feature_weight: float = 0.0, gallery_weight: float = 0.0):
        self.data, self.teacher, self.loss, self.device = data, teacher, loss, device
        self.teacher_outputs = teacher_outputs or cached_teacher_outputs(data, device)
        self.hidden_weight, self.rank, self.world = hidden_weight, rank, world
        if feature_weight < 0:
            raise ValueError(f"feature weight must be ≥ 0, got {feature_weight}")
        if gallery_weight < 0:
            raise ValueError(f"gallery weight must be ≥ 0, got {gallery_weight}")
        self.feature_weight, self.gallery_weight = feature_weight, gallery_weight
        # the training images: what a caption is ranked against in the gallery term (never val/test images)
        train_images = sorted({i for i in data.image_row if i >= 0})
        self.gallery = data.v_image[train_images].to(device) if gallery_weight > 0 else None
        self.scale = teacher.logit_scale.detach().clone().to(device)
        self.bias = teacher.logit_bias.detach().clone().to(device) if teacher.logit_bias is not None else None
        # the relation term compares hidden states token by token: a teacher forward every step
        self.teacher_backbone = teacher.text.backbone.to(device) if hidden_weight > 0 else None

    def encode(self, module, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One forward per step (DDP allows no more): each rank encodes its shard, then all
        ranks gather the whole batch back into its original order. With the relation term, also
        that term on this rank's shard (DDP averages the shards' gradients)."""
        world, rank = self.world, self.rank
        shard = texts if world == 1 else texts[rank::world]
        tower = module.module if world > 1 else module
        tokens = to_device(tower.tokenize(shard), self.device)
        relation = None
        if self.teacher_backbone is None:
            out = module(**tokens)
        else:
            out, hidden = module(**tokens, return_hidden=True)
            with torch.no_grad():
                t_hidden = self.teacher_backbone(**to_device(self.teacher.text.tokenize(shard), self.device)).last_hidden_state
            relation = hidden_relation_loss(hidden, t_hidden, tokens["attention_mask"])
        out = F.normalize(out, dim=-1)
        if world == 1:
            return out, relation
        order = [i for r in range(world) for i in range(r, len(texts), world)]  # gathered row -> batch row
        return gather(out, world)[torch.argsort(torch.tensor(order))], relation

    def __call__(self, module, batch: np.ndarray) -> torch.Tensor:
        data = self.data
        batch = sorted(np.asarray(batch).tolist(), key=lambda r: data.image_row[data.concept_of_row[r]] < 0)
        concepts = [data.concept_of_row[r] for r in batch]
        rows = torch.tensor(batch)
        eng = torch.tensor([data.english_row[c] if data.english_row[c] >= 0 else r for r, c in zip(batch, concepts)])
        img = torch.tensor([data.image_row[c] for c in concepts if data.image_row[c] >= 0], dtype=torch.long)
        texts = [data.texts[r] for r in batch]
        if self.loss.needs_student_english:
            texts += [data.texts[int(r)] for r in eng]
        s, relation = self.encode(module, texts)
        t_x, t_e, v = self.teacher_outputs(rows, eng, img)
        value = self.loss(DistillBatch(s_x=s[:len(batch)], t_x=t_x, t_e=t_e, v=v, logit_scale=self.scale,
                                       logit_bias=self.bias, family=self.teacher.family,
                                       s_e=s[len(batch):] if self.loss.needs_student_english else None))
        if self.feature_weight > 0:  # replicate T(x) on every row, text-only rows included
            value = value + self.feature_weight * cosine_distance(s[:len(batch)], t_x)
        if self.gallery is not None:  # replicate the teacher's ranking of every training image, not only the batch's
            scale = self.scale.exp()
            value = value + self.gallery_weight * kl_rows(scale * t_x @ self.gallery.T, scale * s[:len(batch)] @ self.gallery.T)
        return value if relation is None else value + self.hidden_weight * relation
