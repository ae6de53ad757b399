"""The embedded corpus seen through the packaged frozen towers, features cached once.

Both teacher alignment and distillation start here: every caption's e5 feature (pooled,
un-projected) and every image's EfficientNet feature, computed once per corpus.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.feature_cache import cached_features
from core.records import Record
from corpus.corpus import corpus_hash, default_corpus_path, load_corpus
from evaluation.cached import CachedEncoder
from evaluation.suite import texts_to_encode
from zoo.heads import with_flatness
from zoo.sources.packaged import e5_small_text_tower, efficientnet_lite0_tower

from .features import flatness_features, image_backbone_features, text_backbone_features
from .selection import DEFAULT_TRAIN_SOURCES, training_texts, training_view

TEXT_KEY = "e5-small-mean-query128"
IMAGE_KEY = "effnet-lite0-224"
RETRIEVAL_KINDS = ("emoji", "flag")


@dataclass
class EmbeddedFeatures:
    root: Path
    records: list[Record]
    texts: list[str]
    text_feats: np.ndarray  # [T, 384]
    images: list[str]
    image_feats: np.ndarray  # [I, 1280]
    image_flat: np.ndarray  # [I, 1] flatness (what the photo-aware head reads beside the features)

    def __post_init__(self):
        self.text_index = {t: i for i, t in enumerate(self.texts)}
        self.image_index = {p: i for i, p in enumerate(self.images)}


def load_embedded_features(corpus: Path | None = None, languages: tuple[str, ...] = (),
                           progress: bool = True, sources: tuple[str, ...] = DEFAULT_TRAIN_SOURCES) -> EmbeddedFeatures:
    """Features of the corpus rows a teacher may train on (`training_view`: no held-out language)."""
    root = Path(corpus) if corpus else default_corpus_path()
    records = training_view(load_corpus(root), sources, languages)
    # Train-split captions are cached apart from evaluation texts: the features a head or a
    # student trains on never depend on val/test text (not even through batch padding), and
    # distillation reuses these rows for the captions it shares with the teacher.
    train_texts = training_texts(records)
    eval_texts = sorted(set(texts_to_encode(records)) - set(train_texts))
    texts = train_texts + eval_texts
    images = sorted({r.image for r in records})
    text_tower = e5_small_text_tower()
    text_feats = np.concatenate([
        cached_features(TEXT_KEY, part, text_backbone_features(text_tower), 64, f"e5 features, {what} (cached once)", progress)
        for part, what in ((train_texts, "training text"), (eval_texts, "evaluation text")) if part])
    del text_tower
    # image paths are relative, so the corpus content hash goes into the key
    tower = efficientnet_lite0_tower()
    image_feats = cached_features(f"{IMAGE_KEY}-{corpus_hash(root)[:16]}", images,
                                  image_backbone_features(tower, root), 4,
                                  "EfficientNet features (cached once)", progress)
    image_flat = flatness_features(tower, images, root, corpus_hash(root)[:16], progress)  # the teacher cache's key too
    return EmbeddedFeatures(root, records, texts, text_feats, images, image_feats, image_flat)


def heads_encoder(feats: EmbeddedFeatures, text_head: torch.nn.Module, image_head: torch.nn.Module) -> CachedEncoder:
    """encode_text / encode_image over cached backbone features through trainable heads.

    Numerically the same as the full DualEncoder built from these heads (checked after
    training), but each call is a matrix lookup plus a small MLP instead of a transformer.
    """
    @torch.inference_mode()
    def encode_texts(texts: list[str]) -> np.ndarray:
        x = torch.from_numpy(feats.text_feats[[feats.text_index[t] for t in texts]])
        return torch.nn.functional.normalize(text_head(x), dim=-1).numpy()

    @torch.inference_mode()
    def image_rows(rows: list[int]) -> np.ndarray:
        x = torch.from_numpy(feats.image_feats[rows])
        if getattr(image_head, "needs_flatness", False):
            x = with_flatness(x, torch.from_numpy(feats.image_flat[rows]))
        return torch.nn.functional.normalize(image_head(x), dim=-1).numpy()

    return CachedEncoder(encode_texts, feats.images, image_rows, feats.root)
