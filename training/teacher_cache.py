"""Teacher embeddings for every caption and image, computed once per (teacher, corpus).

Distillation reads T(x), T(e) and V(v) every step. Forwarding a 12-layer teacher for that
costs more than the student's own step; reading a row from a cached matrix costs nothing.
The cache key joins the teacher's identity (its weight-file hashes for zoo checkpoints) with
a hash of the exact inputs, so a retrained teacher or a changed corpus is never read stale.

For teachers whose towers are an HF text backbone and a timm image backbone with heads (the
embedded LiT teachers), the expensive backbone features come from the frozen-feature cache
and only the heads are applied here, so a new teacher of the same towers costs seconds.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from core.feature_cache import cached_features
from zoo.image_tower import TimmImageTower
from zoo.info import info_of
from zoo.text_tower import HFTextTower

from .features import head_inputs, image_backbone_features, text_backbone_features


def checkpoint_key(cfg: dict) -> str:
    """The identity of a zoo checkpoint from its config alone (weight-file hashes and settings)."""
    ident = {"files": cfg["files"], "text": cfg.get("text"), "image": cfg.get("image")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def teacher_key(teacher) -> str:
    """A stable identity for a teacher's weights and input settings."""
    cfg = info_of(teacher).config
    if cfg and "files" in cfg:
        return checkpoint_key(cfg)
    h = hashlib.sha256()
    for name, tensor in sorted(teacher.state_dict().items()):
        if not name.endswith("position_ids"):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    ident = {"weights": h.hexdigest(), "name": getattr(teacher, "name", "")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def _frozen(teacher, side: str) -> str | None:
    """The frozen-feature cache key of a tower that LinguaLens kept frozen, as its checkpoint
    records (`info.frozen_towers`); None for anything fine-tuned or unknown."""
    return info_of(teacher).frozen_towers.get(side)


@torch.inference_mode()
def _heads_text(tower: HFTextTower, feats: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(feats)
    x = tower.projection(x) if tower.projection is not None else x
    return torch.nn.functional.normalize(x, dim=-1).numpy()


@torch.inference_mode()
def _heads_image(tower: TimmImageTower, feats: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(feats)
    x = tower.head(x) if tower.head is not None else x
    return torch.nn.functional.normalize(x, dim=-1).numpy()


def teacher_text_embeddings(teacher, texts: Sequence[str], progress: bool = True) -> np.ndarray:
    texts = list(texts)
    key = f"teacher-{teacher_key(teacher)}-text"
    backbone = _frozen(teacher, "text")
    if backbone is None or not isinstance(teacher.text, HFTextTower):
        return cached_features(key, texts, lambda b: teacher.encode_text(b, batch_size=64), 64,
                               "teacher text embeddings (cached once)", progress)
    feats = cached_features(backbone, texts, text_backbone_features(teacher.text), 64,
                            "teacher text backbone (cached once)", progress)
    index = {t: i for i, t in enumerate(texts)}
    return cached_features(key, texts, lambda b: _heads_text(teacher.text, feats[[index[t] for t in b]]),
                           8192, "teacher text embeddings", False)


def teacher_image_embeddings(teacher, images: Sequence[str], root: Path, corpus_hash: str,
                             progress: bool = True) -> np.ndarray:
    key = f"teacher-{teacher_key(teacher)}-image-{corpus_hash[:16]}"
    backbone = _frozen(teacher, "image")
    if backbone is not None and isinstance(teacher.image, TimmImageTower):
        feats = cached_features(f"{backbone}-{corpus_hash[:16]}", list(images),
                                image_backbone_features(teacher.image, root), 4,
                                "image backbone (cached once)", progress)
        return _heads_image(teacher.image, head_inputs(teacher.image, feats, list(images), root, corpus_hash[:16], progress))
    return cached_features(key, list(images),
                           lambda b: teacher.encode_image([str(Path(root) / p) for p in b], batch_size=16), 16,
                           "teacher image embeddings (cached once)", progress)


__all__ = ["teacher_key", "teacher_text_embeddings", "teacher_image_embeddings"]
