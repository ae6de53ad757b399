"""Frozen-tower features: what the teacher builder, the teacher cache and distillation compute
through the disk cache (`core.feature_cache`) — backbone outputs, image flatness, head inputs."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from core.feature_cache import cached_features
from zoo.heads import flatness


def text_backbone_features(tower) -> Callable[[list[str]], np.ndarray]:
    """Pooled, un-projected features of an HFTextTower (its projection is skipped)."""
    def compute(texts: list[str]) -> np.ndarray:
        with torch.inference_mode():
            batch = tower.tokenize(texts)
            hidden = tower.backbone(**batch).last_hidden_state
            return tower.pool(hidden, batch["attention_mask"]).float().numpy()

    return compute


def _under(root: Path | None, paths: list[str]) -> list[str]:
    """Corpus-relative image paths made openable (absolute ones kept)."""
    return [p if root is None or Path(p).is_absolute() else str(Path(root) / p) for p in paths]


def image_backbone_features(tower, root: Path | None) -> Callable[[list[str]], np.ndarray]:
    """Pooled features of a TimmImageTower's backbone, channels_last (≈2x faster on CPU)."""
    backbone = tower.backbone.to(memory_format=torch.channels_last)

    def compute(paths: list[str]) -> np.ndarray:
        with torch.inference_mode():
            x = tower.prepare(_under(root, paths))["pixel_values"].contiguous(memory_format=torch.channels_last)
            return backbone(x).float().numpy()

    return compute


def flatness_features(tower, images: list[str], root: Path | None, key: str, progress: bool = True) -> np.ndarray:
    """[N, 1] flatness of each image as the tower preprocesses it (`zoo.heads.flatness`), cached
    under the preprocessing settings and `key` (the corpus content for corpus images)."""
    def compute(paths: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return flatness(tower.prepare(_under(root, paths))["pixel_values"]).reshape(-1, 1).float().numpy()

    settings = hashlib.sha256(json.dumps(tower.preprocess.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return cached_features(f"flatness-{settings}-{key}", list(images), compute, 16, "image flatness (cached once)", progress)


def head_inputs(tower, feats: np.ndarray, images: list[str], root: Path | None, key: str,
                progress: bool = True) -> np.ndarray:
    """Cached pooled features as the tower's head reads them: a photo-aware head also reads each
    image's flatness."""
    if not getattr(tower.head, "needs_flatness", False):
        return feats
    flat = flatness_features(tower, images, root, key, progress)
    return np.concatenate([feats, flat.astype(feats.dtype)], axis=1)
